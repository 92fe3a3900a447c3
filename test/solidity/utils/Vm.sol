// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @notice The subset of the Foundry/EDR cheatcodes these tests use (forge-std is not installable here).
/// @notice A log captured by `recordLogs` (Foundry's Vm.Log).
struct Log {
    bytes32[] topics;
    bytes data;
    address emitter;
}

interface Vm {
    function warp(uint256 timestamp) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function assume(bool condition) external pure;
    function expectRevert(bytes calldata revertData) external;
    function label(address account, string calldata newLabel) external;
    function recordLogs() external;
    function getRecordedLogs() external returns (Log[] memory);
    /// @dev `prank` that also sets tx.origin for the next call (an Automation check simulated from the zero address).
    function prank(address sender, address origin) external;
    function roll(uint256 blockNumber) external;
    function skip(bool skipTest) external;
}

/// @dev The address at which Hardhat's EDR serves the cheatcodes.
Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
