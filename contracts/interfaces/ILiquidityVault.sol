// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @title ILiquidityVault
/// @notice LPs' shares in the pool that is the traders' counterparty. The pool's tokens and ledger live in
/// the PerpEngine; this vault is its ERC-4626 face, marked to the oracle from the engine's storage (`MarketLib`).
interface ILiquidityVault is IERC4626 {
    /// @notice An LP's pending request: a deposit of `amount` assets or a redemption of `amount` shares, both
    /// escrowed in the vault, priced by the first round of each market's feed at or after `notBefore`, and
    /// executable until `expiresAt`; `limit` is the least the owner accepts out (shares for a deposit,
    /// assets for a redemption; zero for none); `executionFee` (collateral, escrowed beside) pays the executor.
    struct LpRequest {
        uint128 amount;
        uint32 notBefore;
        uint32 expiresAt;
        bool redeem;
        uint128 limit;
        uint96 executionFee;
    }

    event LpRequested(
        address indexed owner,
        bool redeem,
        uint256 amount,
        uint256 limit,
        uint256 executionFee,
        uint256 notBefore,
        uint256 expiresAt
    );
    /// @notice The request would have paid `out`, below its owner's `limit`: it is cancelled and its escrow
    /// returned in full (the owner set the bound); the executor, who carried it out, is paid `executionFee`.
    event LpRequestRefused(address indexed owner, bool redeem, uint256 out, uint256 limit, uint256 executionFee);
    /// @notice The executor (the caller) was paid `executionFee`.
    event LpRequestExecuted(
        address indexed owner,
        bool redeem,
        uint256 assets,
        uint256 shares,
        uint256 pricedAt,
        uint256 executionFee
    );
    /// @notice The expired request's escrow and its `executionFee` went back to the owner (collateral through
    /// the order book, into its `claimable` if the token refused it).
    event LpRequestCancelled(address indexed owner, bool redeem, uint256 amount, uint256 executionFee);

    /// @notice Deposits and withdrawals in one transaction are open only while no market has positions:
    /// otherwise they go through `requestDeposit` / `requestRedeem`.
    error UseRequests();
    error LpRequestPending(address owner);
    error NoLpRequest(address owner);
    error LpRequestExpired(address owner, uint256 expiredAt);
    error LpRequestNotExpired(address owner, uint256 expiresAt);
    error RoundCount(uint256 given, uint256 markets);
    /// @notice Only the order book's executors (`IOrderBook.isExecutor`) may execute an LP request.
    error NotExecutor(address account);
    error DepositsPaused();
    error ZeroAmount();
    error TransferAmountMismatch(uint256 expected, uint256 received);

    /// @notice Escrows `assets` plus `executionFee` for a deposit priced at a later oracle round (see
    /// `executeRequest`), for at least `minShares` (zero for no bound): fewer cancels the request at execution
    /// and returns the assets. The fee must be at least the order book's `minimumFee(ExecutionClass.Lp)` at this
    /// transaction's gas price (the book reverts `ExecutionFeeTooLow`); the delay and life are the book's.
    function requestDeposit(uint256 assets, uint256 minShares, uint256 executionFee) external;

    /// @notice Escrows `shares`, and `executionFee` in collateral, for a redemption priced at a later oracle
    /// round, for at least `minAssets` (zero for no bound): fewer cancels the request at execution and returns
    /// the shares. The fee as for `requestDeposit`.
    function requestRedeem(uint256 shares, uint256 minAssets, uint256 executionFee) external;

    /// @notice Executes `owner`'s request: only an executor of the order book may (`IOrderBook.isExecutor`),
    /// from `notBefore` until `expiresAt` inclusive. `roundIds[id]` must be, for each market `id` with open
    /// positions, the first round of its feed at or after the request's `notBefore` (entries for other
    /// markets are ignored). The pool is marked twice, at those rounds' answers and at the current prices,
    /// and the request gets the worse of the two for its owner: a deposit buys at the higher mark, a
    /// redemption sells at the lower. Shares and assets round down, as ERC-4626 does. Below the owner's limit
    /// the request is cancelled and its escrow returned (`LpRequestRefused`). Either way the caller is paid the
    /// execution fee.
    /// @return out Shares minted (a deposit) or assets paid (a redemption); zero when refused.
    function executeRequest(address owner, uint80[] calldata roundIds) external returns (uint256 out);

    /// @notice Returns an expired request's escrow and execution fee to its owner (anyone may, strictly after
    /// `expiresAt`: at `expiresAt` an executor may still execute it). Collateral goes through the order book's
    /// `refund`, so that a refund the token refuses waits in the book's `claimable` instead of reverting.
    function cancelRequest(address owner) external;

    function lpRequest(address owner) external view returns (LpRequest memory);

    /// @notice The engine that holds the pool's tokens and books its PnL.
    function engine() external view returns (address);
}
