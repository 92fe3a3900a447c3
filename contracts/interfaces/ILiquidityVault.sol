// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @title ILiquidityVault
/// @notice LPs' shares in the pool that is the traders' counterparty. The pool's tokens and ledger live in
/// the PerpEngine; this vault is its ERC-4626 face, marked to the oracle from the engine's storage
/// (`EngineStorage`, `MarketLib`).
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

    /// @notice An executed redemption held for `EXIT_HOLD`: its `shares` stay in the supply (held by the vault)
    /// and the `assets` it was priced at wait beside the pool, so that a loss landing in the pool during the hold
    /// (a socialization the mark could not see) reaches them as it reaches every share; their owner then claims
    /// the lesser of `assets` and what the shares are worth (`claimExit`). One word: 2^112 shares are 5.2e9 tokens
    /// of an 18-decimal asset at the vault's 6-decimal offset, and 2^96 units 7.9e10 such tokens; a redemption
    /// beyond either is refused (`SafeCastOverflowedUintDowncast`) and can be split.
    struct LpExit {
        uint112 shares;
        uint96 assets;
        uint48 claimableAt;
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

    /// @notice `owner`'s executed redemption now holds `shares` and `assets` in all (a second one adds to the
    /// first), claimable from `claimableAt`.
    event LpExitHeld(address indexed owner, uint256 shares, uint256 assets, uint256 claimableAt);
    /// @notice `owner` claimed: `shares` burned, `paid` to `receiver`, the rest of the `held` assets back to the pool.
    event LpExitClaimed(address indexed owner, address receiver, uint256 shares, uint256 held, uint256 paid);

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
    error NoLpExit(address owner);
    error LpExitNotClaimable(address owner, uint256 claimableAt);
    error ZeroReceiver();

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
    /// redemption sells at the lower, and is then held for `EXIT_HOLD` (`LpExit`, `claimExit`): the assets
    /// leave the pool's free liquidity at once, the shares stay in the supply until claimed. Shares and assets
    /// round down, as ERC-4626 does. Below the owner's limit
    /// the request is cancelled and its escrow returned (`LpRequestRefused`). Either way the caller is paid the
    /// execution fee.
    /// @return out Shares minted (a deposit) or assets held (a redemption); zero when refused.
    function executeRequest(address owner, uint80[] calldata roundIds) external returns (uint256 out);

    /// @notice Pays the caller's held redemption to `receiver`, from `claimableAt` on: the lesser of the assets it
    /// was executed at and what its shares are worth now (`totalAssets`, at the current prices), so that a loss
    /// that landed during the hold is shared and a gain stays with the pool. The shares are burned and what is
    /// not paid goes back to the pool. Only the owner claims (the moment can only lower what they get).
    /// @return paid The assets sent to `receiver`.
    function claimExit(address receiver) external returns (uint256 paid);

    /// @notice The caller's held redemption, if any.
    function lpExit(address owner) external view returns (LpExit memory);

    /// @notice The assets of all held redemptions, counted in `totalAssets` until claimed.
    function heldAssets() external view returns (uint256);

    /// @notice How long an executed redemption is held before its owner can claim it.
    function EXIT_HOLD() external view returns (uint256);

    /// @notice Returns an expired request's escrow and execution fee to its owner (anyone may, strictly after
    /// `expiresAt`: at `expiresAt` an executor may still execute it). Collateral goes through the order book's
    /// `refund`, so that a refund the token refuses waits in the book's `claimable` instead of reverting.
    function cancelRequest(address owner) external;

    function lpRequest(address owner) external view returns (LpRequest memory);

    /// @notice The engine that holds the pool's tokens and books its PnL.
    function engine() external view returns (address);
}
