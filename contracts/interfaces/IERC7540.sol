// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title ERC-7540 (asynchronous ERC-4626 vaults) and ERC-7575 (the share token's address)
/// @notice The standard's interfaces as both Bulwark vaults implement them. Every request of a controller is
/// one aggregated request: its id is always 0 (the standard's "fungible requests").
/// ERC-165 ids: operators 0xe3bc4e65, asynchronous deposit 0xce3bbe50 (the three request functions and the
/// claiming `deposit`/`mint` overloads), asynchronous redeem 0x620ee8e4, ERC-7575 0x2f0a18c5.
interface IERC7540Operator {
    event OperatorSet(address indexed controller, address indexed operator, bool approved);

    /// @notice Lets `operator` request and claim for the caller (or stops it). Returns true.
    function setOperator(address operator, bool approved) external returns (bool);

    function isOperator(address controller, address operator) external view returns (bool status);
}

interface IERC7540Deposit {
    event DepositRequest(
        address indexed controller,
        address indexed owner,
        uint256 indexed requestId,
        address sender,
        uint256 assets
    );

    function requestDeposit(uint256 assets, address controller, address owner) external returns (uint256 requestId);

    function pendingDepositRequest(uint256 requestId, address controller) external view returns (uint256 assets);

    function claimableDepositRequest(uint256 requestId, address controller) external view returns (uint256 assets);

    function deposit(uint256 assets, address receiver, address controller) external returns (uint256 shares);

    function mint(uint256 shares, address receiver, address controller) external returns (uint256 assets);
}

interface IERC7540Redeem {
    event RedeemRequest(
        address indexed controller,
        address indexed owner,
        uint256 indexed requestId,
        address sender,
        uint256 shares
    );

    function requestRedeem(uint256 shares, address controller, address owner) external returns (uint256 requestId);

    function pendingRedeemRequest(uint256 requestId, address controller) external view returns (uint256 shares);

    function claimableRedeemRequest(uint256 requestId, address controller) external view returns (uint256 shares);
}

interface IERC7575 {
    /// @notice The share token: the vault itself for both Bulwark vaults.
    function share() external view returns (address);
}
