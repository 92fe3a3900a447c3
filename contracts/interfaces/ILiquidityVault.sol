// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

import {IERC7540Deposit, IERC7540Operator, IERC7540Redeem, IERC7575} from "./IERC7540.sol";

/// @title ILiquidityVault
/// @notice LPs' shares in the pool that is the traders' counterparty. The pool's tokens and ledger live in
/// the PerpEngine; this vault is its face: ERC-4626 shares marked to the oracle from the engine's storage
/// (`EngineStorage`, `MarketLib`), entered and left only through ERC-7540 requests (asynchronous deposit and
/// redeem, one aggregated request per controller, request id 0).
/// @dev Where the project's rules go beyond the standard: a request carries the least its controller accepts
/// and an execution fee (the standard's requests pay the order book's minimum fee and accept any amount;
/// `requestDepositWithLimit`/`requestRedeemWithLimit` set both); only the order book's executors fulfil
/// requests (`executeRequest`), each at the worse for the LP of the first oracle round after the book's delay
/// and the current mark; an executed redemption is
/// pending for `EXIT_HOLD` more and then claimed at the lesser of its price and what its shares are worth at
/// the claim, not at a price fixed at fulfilment; a controller with a held redemption requests no other until
/// it is claimed (claimable shares never become pending again). Everything a request escrowed goes back to its
/// controller when it is refused or cancelled.
interface ILiquidityVault is IERC4626, IERC7540Operator, IERC7540Deposit, IERC7540Redeem, IERC7575 {
    /// @notice A controller's pending request: a deposit of `amount` assets or a redemption of `amount` shares,
    /// both escrowed in the vault, priced by the first round of each market's feed at or after `notBefore`, and
    /// executable until `expiresAt`; `limit` is the least the controller accepts out (shares for a deposit,
    /// assets for a redemption; zero for none); `executionFee` (collateral, escrowed beside) pays the executor.
    struct LpRequest {
        uint128 amount;
        uint32 notBefore;
        uint32 expiresAt;
        bool redeem;
        uint128 limit;
        uint96 executionFee;
    }

    /// @notice An executed deposit waiting for its controller's claim (`deposit`/`mint` with the controller):
    /// `shares` minted to the vault for `assets` already in the pool. Executions add up; claims take a part
    /// at the executions' average price.
    struct LpDeposit {
        uint128 assets;
        uint128 shares;
    }

    /// @notice An executed redemption held for `EXIT_HOLD`: its `shares` stay in the supply (held by the vault)
    /// and the `assets` it was priced at wait beside the pool, so that a loss landing in the pool during the hold
    /// (a socialization the mark could not see) reaches them as it reaches every share; from `claimableAt` its
    /// controller claims (`redeem`/`withdraw` with the controller) the lesser of `assets` and what the shares are
    /// worth then, pro rata for a part. One word: 2^112 shares are 5.2e9 tokens of an 18-decimal asset at the
    /// vault's 6-decimal offset, and 2^96 units 7.9e10 such tokens; a redemption beyond either is refused
    /// (`SafeCastOverflowedUintDowncast`) and can be split.
    struct LpExit {
        uint112 shares;
        uint96 assets;
        uint48 claimableAt;
    }

    /// @notice The project's record of a request (beside the standard's `DepositRequest`/`RedeemRequest`): its
    /// terms, which keepers and the execution upkeep read.
    event LpRequested(
        address indexed controller,
        bool redeem,
        uint256 amount,
        uint256 limit,
        uint256 executionFee,
        uint256 notBefore,
        uint256 expiresAt
    );
    /// @notice The request would have paid `out`, below its controller's `limit`: it is cancelled and its escrow
    /// returned in full to the controller; the executor, who carried it out, is paid `executionFee`.
    event LpRequestRefused(address indexed controller, bool redeem, uint256 out, uint256 limit, uint256 executionFee);
    /// @notice The executor (the caller) was paid `executionFee`; a deposit's shares are now claimable, a
    /// redemption's assets held (`LpExitHeld`).
    event LpRequestExecuted(
        address indexed controller,
        bool redeem,
        uint256 assets,
        uint256 shares,
        uint256 pricedAt,
        uint256 executionFee
    );
    /// @notice The expired request's escrow and its `executionFee` went back to the controller (collateral
    /// through the order book, into its `claimable` if the token refused it).
    event LpRequestCancelled(address indexed controller, bool redeem, uint256 amount, uint256 executionFee);

    /// @notice `controller`'s executed redemption holds `shares` and `assets`, claimable from `claimableAt`.
    event LpExitHeld(address indexed controller, uint256 shares, uint256 assets, uint256 claimableAt);
    /// @notice A claim of `controller`'s held redemption: `shares` burned, `paid` to `receiver`, the rest of
    /// the `held` assets back to the pool.
    event LpExitClaimed(address indexed controller, address receiver, uint256 shares, uint256 held, uint256 paid);

    error LpRequestPending(address controller);
    error NoLpRequest(address controller);
    error LpRequestExpired(address controller, uint256 expiredAt);
    error LpRequestNotExpired(address controller, uint256 expiresAt);
    error RoundCount(uint256 given, uint256 markets);
    /// @notice Only the order book's executors (`IOrderBook.isExecutor`) may execute an LP request.
    error NotExecutor(address account);
    error DepositsPaused();
    error ZeroAmount();
    error ZeroController();
    /// @notice A claim would pay the zero address.
    error ZeroReceiver();
    error TransferAmountMismatch(uint256 expected, uint256 received);
    error NoLpExit(address controller);
    error LpExitNotClaimable(address controller, uint256 claimableAt);
    /// @notice A redemption is requested while `controller` still has a held one: claim it first.
    error LpExitUnclaimed(address controller);
    /// @notice A claim of `amount` (assets or shares) beyond the `claimable` of `controller`.
    error ExceedsClaimable(address controller, uint256 amount, uint256 claimable);
    /// @notice Previews have no meaning for requests priced later (ERC-7540 makes them revert).
    error AsyncFlow();

    /// @notice Escrows `assets` of `owner`, plus `executionFee` (from the caller), for a deposit priced at a
    /// later oracle round (see `executeRequest`) and then claimable by `controller`, for at least `minShares`
    /// (zero for no bound): fewer cancels the request at execution and returns the assets to `controller`. The
    /// caller must be `owner` or its operator. The fee must be at least the order book's
    /// `minimumFee(ExecutionClass.Lp)` at this transaction's gas price (the book reverts `ExecutionFeeTooLow`);
    /// the delay and life are the book's. ERC-7540's `requestDeposit(assets, controller, owner)` is this with no
    /// bound and the minimum fee.
    /// @return requestId Always 0.
    function requestDepositWithLimit(
        uint256 assets,
        address controller,
        address owner,
        uint256 minShares,
        uint256 executionFee
    ) external returns (uint256 requestId);

    /// @notice Escrows `shares` of `owner` (the caller must be `owner`, its operator, or hold an allowance over
    /// the shares), and `executionFee` in collateral from the caller, for a redemption priced at a later oracle
    /// round for `controller`, for at least `minAssets` (zero for no bound): fewer cancels the request at
    /// execution and returns the shares to `controller`. The fee as for `requestDeposit`. ERC-7540's
    /// `requestRedeem(shares, controller, owner)` is this with no bound and the minimum fee.
    /// @return requestId Always 0.
    function requestRedeemWithLimit(
        uint256 shares,
        address controller,
        address owner,
        uint256 minAssets,
        uint256 executionFee
    ) external returns (uint256 requestId);

    /// @notice Executes `controller`'s request: only an executor of the order book may (`IOrderBook.isExecutor`),
    /// until `expiresAt` inclusive. `roundIds[id]` must be, for each market `id` with open positions, the first
    /// round of its feed at or after the request's `notBefore` (entries for other markets are ignored). The pool
    /// is marked twice, at those rounds' answers and at the current prices, and the request gets the worse of the
    /// two for the LP: a deposit buys at the higher mark (its shares are minted to the vault and become
    /// claimable by the controller), a redemption sells at the lower and is held for `EXIT_HOLD` (`LpExit`): the
    /// assets leave the pool's free liquidity at once, the shares stay in the supply until claimed. Shares and
    /// assets round down, as ERC-4626 does. Below the controller's limit the request is cancelled and its escrow
    /// returned (`LpRequestRefused`). Either way the caller is paid the execution fee.
    /// @return out Shares made claimable (a deposit) or assets held (a redemption); zero when refused.
    function executeRequest(address controller, uint80[] calldata roundIds) external returns (uint256 out);

    /// @notice `controller`'s held redemption, if any.
    function lpExit(address controller) external view returns (LpExit memory);

    /// @notice `controller`'s executed deposits not yet claimed.
    function lpDeposit(address controller) external view returns (LpDeposit memory);

    /// @notice The assets of all held redemptions, counted in `totalAssets` until claimed.
    function heldAssets() external view returns (uint256);

    /// @notice How long an executed redemption is held before its controller can claim it.
    function EXIT_HOLD() external view returns (uint256);

    /// @notice Returns an expired request's escrow and execution fee to its controller (anyone may, strictly
    /// after `expiresAt`: at `expiresAt` an executor may still execute it). Collateral goes through the order
    /// book's `refund`, so that a refund the token refuses waits in the book's `claimable` instead of reverting.
    function cancelRequest(address controller) external;

    function lpRequest(address controller) external view returns (LpRequest memory);

    /// @notice The engine that holds the pool's tokens and books its PnL.
    function engine() external view returns (address);
}
