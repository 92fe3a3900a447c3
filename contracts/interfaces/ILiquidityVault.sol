// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @title ILiquidityVault
/// @notice LPs' shares in the pool that is the traders' counterparty. The pool's tokens and ledger live in
/// the PerpEngine; this vault is its ERC-4626 face, marked to the oracle from the engine's storage (`MarketLib`).
interface ILiquidityVault is IERC4626 {
    error DepositsPaused();
    error ZeroAmount();
    error TransferAmountMismatch(uint256 expected, uint256 received);

    /// @notice The engine that holds the pool's tokens and books its PnL.
    function engine() external view returns (address);
}
