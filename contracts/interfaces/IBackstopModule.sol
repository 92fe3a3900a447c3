// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

import {IERC7540Redeem} from "./IERC7540.sol";

/// @title IBackstopModule
/// @notice Stakers' capital that covers bankrupt positions' shortfall before any loss is socialized.
/// An ERC-4626 vault over the collateral token whose value comes from its own stored accounting.
/// @dev Covers are limited over every interval of `coverWindow` (W), not per call nor per fixed window: a
/// cover at time t may bring the covers of (t - W, t] up to `maxCoverRatio` of a base that is the assets
/// now plus what left in that interval by covers and by held exits (below). Covers are kept as a
/// cumulative history keyed by timestamp (OpenZeppelin Checkpoints), so the sum over (t - W, t] is exact
/// to the second whatever the split across calls, blocks and edges. The property that holds (proved in
/// test/solidity/CoverWindow.t.sol): for every s, the covers paid in (s, s + W] are at most
/// `maxCoverRatio x (A(s) + in(s, s + W])`, where A(s) is `totalAssets()` at the end of second s and
/// in(...) the stake deposited and the income vested in that interval. An exit leaves the base (lowers
/// later capacity) only if no cover lay within the last W when it left; while one does, exits must leave
/// the remaining capacity plus `minAssetsRemaining` behind and stay in the base until they leave the
/// interval, so that nobody leaving mid-crash shifts more of it onto the LPs. A cover exactly W after an
/// earlier one no longer counts it (the interval is open at its start).
/// Income vests by epochs of `incomePeriod` aligned to the Unix epoch: income notified during epoch k
/// vests linearly over epoch k + 1, so the schedule depends on when income arrives, never on how often it
/// is notified.
///
/// Leaving is ERC-7540's asynchronous redeem (deposits stay synchronous ERC-4626), with the cooldown as the
/// fulfilment: `requestRedeem` moves the shares into the module's custody (they stay in the supply, so
/// they keep covering losses and nobody can move them to dodge a cover); the request is pending for
/// `cooldownPeriod`, then claimable during `unstakeWindow` (both fixed at the request). Where the module
/// departs from the standard, or adds to it:
/// - the payout is not a price fixed at fulfilment: a claim pays the lesser of the shares' value at the
///   request and their value at the claim, so a cover during the cooldown lowers it and income does not
///   raise it;
/// - claims are accepted only inside the window and under the cover-window limits (`maxRedeem`,
///   `maxWithdraw`); after the window the request is neither pending nor claimable: its shares wait in
///   custody until `cancelRedeemRequest` returns them (or a new request adds to them and restarts the clock);
/// - a request that adds to a controller's request adds its shares and value and restarts the clock from
///   now (nobody shortens a cooldown by topping it up), and only the controller or its operator may do it;
/// - cancellation (ERC-7887's names) is synchronous: `cancelRedeemRequest` returns the shares at once, so
///   there is never a pending or claimable cancellation and no claim function (ERC-7887's interface id is
///   not claimed);
/// - `previewRedeem` and `previewWithdraw` revert as ERC-7540 requires; `previewRedeemFor` and
///   `previewWithdrawFor` quote a controller's claim.
interface IBackstopModule is IERC4626, IERC7540Redeem {
    /// @notice A controller's redeem request, fixed when it is made (one storage slot).
    /// @param start When the request was made or last topped up (uint32: fits until 2106).
    /// @param rulesVersion The leaving rules (`cooldownPeriod`, `unstakeWindow`) in force at `start`: the
    /// window is computed from them, whatever the admin sets later.
    /// @param shares Shares in custody for this request, which may leave in the window.
    /// @param value The most those shares can still take out: their value at the request (summed over
    /// top-ups), less what partial claims already paid. uint96: a request carries at most 2^96 - 1 units,
    /// about 7.9e10 tokens at 18 decimals (7.9e22 at 6); a request of more reverts (SafeCast).
    struct Cooldown {
        uint32 start;
        uint16 rulesVersion;
        uint112 shares;
        uint96 value;
    }

    /// @notice Losses socialized to the LPs and not yet repaid, and everything repaid so far (one slot).
    struct Recovery {
        uint128 outstanding;
        uint128 recovered;
    }

    /// @notice Everything a staker's front end shows about a cooldown.
    /// @dev `windowStart` and `windowEnd` are the window fixed at the request (both ends inclusive).
    struct CooldownStatus {
        uint256 start;
        uint256 windowStart;
        uint256 windowEnd;
        uint256 shares;
        uint256 valueAtRequest;
        uint256 valueNow;
        bool inWindow;
    }

    /// @notice The rolling cover limit as a keeper or staker sees it now: the interval (since, now].
    /// @param since The interval's start, `now - coverWindow` (exclusive: a cover at `since` is out).
    /// @param base The assets now plus what covers and held exits took out during the interval: the
    /// assets at `since` plus the stake and income that came in since, less the exits that were free.
    /// @param limit What the interval's covers may take in all: `base x maxCoverRatio`, rounded down.
    /// @param used What covers paid during the interval.
    /// @param remaining `limit - used` (0 if the ratio was lowered below what was used). A cover also
    /// never takes the backstop below `minAssetsRemaining`: `maxCover()` applies both. Capacity comes back
    /// as covers leave the interval, each exactly `coverWindow` after it was paid.
    /// @param exitsHeldUntil While a cover lies within the last `coverWindow`: the second from which exits
    /// are free again (the latest cover's time + `coverWindow`); 0 when exits are free now.
    struct CoverWindow {
        uint256 since;
        uint256 base;
        uint256 limit;
        uint256 used;
        uint256 remaining;
        uint256 exitsHeldUntil;
    }

    /// @notice `controller`'s request now holds `shares` worth at most `value`, claimable over
    /// [windowStart, windowEnd]: the whole request after a top-up (ERC-7540's `RedeemRequest`, emitted
    /// before it, carries the shares just added).
    event CooldownStarted(
        address indexed controller,
        uint256 shares,
        uint256 value,
        uint256 windowStart,
        uint256 windowEnd
    );
    /// @notice ERC-7887: `sender` cancelled `controller`'s redeem request.
    event CancelRedeemRequest(address indexed controller, uint256 indexed requestId, address sender);
    /// @notice ERC-7887: the cancelled request's `shares` went back to `receiver` (the controller) in the
    /// same call.
    event CancelRedeemClaim(
        address indexed controller,
        address indexed receiver,
        uint256 indexed requestId,
        address sender,
        uint256 shares
    );
    event Covered(uint256 requested, uint256 paid, uint256 assetsAfter);
    /// @notice A cover asked for more than the rolling limit left: it paid up to the limit (the engine
    /// socializes the rest). Over the interval (since, now], `used` is what covers took, this one included,
    /// of `limit` = `base x maxCoverRatio`.
    event CoverLimitReached(uint256 since, uint256 base, uint256 limit, uint256 used);
    /// @notice An exit of `assets` while a cover lay within the last `coverWindow`: it stays in the
    /// rolling base until it leaves the interval (`totalHeld` is the cumulative of such exits).
    event ExitHeldInBase(uint256 assets, uint256 totalHeld);
    /// @notice `amount` of income booked; it vests linearly over [vestsFrom, vestsUntil) (the next epoch).
    event IncomeAdded(uint256 amount, uint256 vestsFrom, uint256 vestsUntil);
    /// @notice `incomePeriod` changed: the `amount` pending now vests over [vestsFrom, vestsUntil).
    event IncomeRescheduled(uint256 amount, uint256 vestsFrom, uint256 vestsUntil);
    /// @notice A cover that left `amount` socialized to the LPs; it is owed back from later income.
    event LossRecorded(uint256 amount, uint256 outstanding);
    /// @notice `amount` of income repaid to the LP pool; `outstanding` is still owed.
    event LossRecovered(uint256 amount, uint256 outstanding);
    event RecoveryShareUpdated(uint256 share);
    event ParametersUpdated(
        uint256 cooldownPeriod,
        uint256 unstakeWindow,
        uint256 maxCoverRatio,
        uint256 minAssetsRemaining,
        uint256 incomePeriod
    );
    /// @notice The leaving rules changed: cooldowns requested from now on use `rulesVersion`.
    event LeaveRulesVersioned(uint256 rulesVersion, uint256 cooldownPeriod, uint256 unstakeWindow);
    event CoverWindowUpdated(uint256 coverWindow);

    error OnlyEngine(address caller);
    error ZeroAmount();
    error NoCooldown(address controller);
    /// @notice A redeem request named no controller.
    error ZeroController();
    /// @notice Only request 0 exists: every request of a controller is one aggregated request.
    error UnknownRequestId(uint256 requestId);
    /// @notice `previewRedeem` and `previewWithdraw` cannot quote an asynchronous redeem (ERC-7540); use
    /// `previewRedeemFor` and `previewWithdrawFor`.
    error AsyncRedeem();
    error OutsideUnstakeWindow(uint256 timestamp, uint256 windowStart, uint256 windowEnd);
    error ExceedsCooldownShares(uint256 shares, uint256 cooldownShares);
    error ExceedsCooldownAssets(uint256 assets, uint256 maxAssets);
    /// @notice A redeem of `shares` would pay nothing (their value rounds down to zero): refused, so that
    /// no shares are burnt for nothing.
    error ExitPaysNothing(uint256 shares);
    /// @notice An exit of `assets` while a cover lies within the last `coverWindow` would leave less than
    /// the remaining capacity plus `minAssetsRemaining`; at most `available` may leave now (see
    /// `coverWindowStatus().exitsHeldUntil`).
    error ExitExceedsCoverReserve(uint256 assets, uint256 available);
    error InsufficientShares(uint256 shares, uint256 balance);
    error ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    /// @notice The leaving rules have been changed 65,535 times: the version counter is full.
    error LeaveRulesExhausted();
    error TransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice `coveredBetween(from, to)` with `from` after `to`.
    error InvalidInterval(uint256 from, uint256 to);

    /// @notice Requests the redemption of `shares` of `owner` for `controller`: the shares move into the
    /// module's custody and the controller's cooldown starts, fixing their value and the window
    /// (`cooldownPeriod` and `unstakeWindow` as they are now). Returns request id 0.
    /// @dev The caller is `owner`, an operator of `owner`, or spends its ERC-20 allowance over `owner`'s
    /// shares. If `controller` already has a request (pending, claimable or lapsed), the shares and their
    /// value add to it and its clock restarts from now, under the rules in force now: topping up never
    /// shortens a cooldown, and only the controller or its operator may do it (NotControllerOrOperator), so
    /// that nobody restarts another's clock. The shares keep covering losses during the cooldown and the
    /// window; a claim pays the lesser of the value fixed here and the value then. Emits `RedeemRequest`
    /// and `CooldownStarted`. Reverts with ZeroAmount, ZeroController, InsufficientShares, and (SafeCast)
    /// if the request's value would exceed 2^96 - 1 units or its shares 2^112 - 1.
    function requestRedeem(
        uint256 shares,
        address controller,
        address owner
    ) external override returns (uint256 requestId);

    /// @notice Cancels `controller`'s redeem request (id 0) and returns all its shares to the controller at
    /// once, at any time: while cooling down, in the window or after it. The caller is the controller or its
    /// operator.
    /// @dev ERC-7887's cancellation, synchronous: the request goes straight to claimed, emitting
    /// `CancelRedeemRequest` and `CancelRedeemClaim`. The shares bore covers all along, so cancelling escapes
    /// nothing; requesting again starts a full cooldown. Reverts with UnknownRequestId for another id and
    /// NoCooldown without a request.
    function cancelRedeemRequest(uint256 requestId, address controller) external;

    /// @notice ERC-7887: always false, cancellation being synchronous.
    function pendingCancelRedeemRequest(uint256 requestId, address controller) external view returns (bool);

    /// @notice ERC-7887: always 0, a cancellation's shares having gone back in the cancelling call.
    function claimableCancelRedeemRequest(uint256 requestId, address controller) external view returns (uint256);

    /// @notice `controller`'s request as stored: start, rules version, shares in custody, value left.
    function cooldowns(
        address controller
    ) external view returns (uint32 start, uint16 rulesVersion, uint112 shares, uint96 value);

    /// @notice Pays up to `amount` of a shortfall to the engine. Only the engine may call it.
    /// @dev Pays at most what the rolling limit leaves over (now - coverWindow, now]. Emits
    /// `CoverLimitReached` when that limit, not `amount` or the floor, decides what is paid. Covers of
    /// one second update one checkpoint of the history.
    /// @return paid `min(amount, maxCover())`: the window's remaining capacity, never below the minimum
    /// left behind. The engine socializes the rest, which the backstop records as owed to the LPs
    /// (`recoveryOutstanding`, event `LossRecorded`).
    function cover(uint256 amount) external returns (uint256 paid);

    /// @notice Books `amount` of protocol income (trading fees' backstop share and liquidation penalties).
    /// First, `recoveryShare` of it repays losses socialized to the LPs while any are outstanding: that
    /// part is returned, and the engine keeps it for the LP pool (event `LossRecovered`). The rest waits
    /// for the running income epoch (`incomePeriod` long, aligned to the Unix epoch) to end, then vests
    /// linearly over the next epoch; the engine transfers it in the same transaction. Only the engine.
    /// @dev Income already streaming keeps its schedule whatever is notified later, and one notification
    /// or many within one epoch vest identically: nobody changes the vesting by calling often.
    /// @return toLps The part of `amount` that repays the LPs.
    function notifyIncome(uint256 amount) external returns (uint256 toLps);

    /// @notice Sets the share of income that repays socialized losses, at most `MAX_RECOVERY_SHARE` (80 %),
    /// so that stakers keep at least a fifth of their income while a debt is outstanding. Only the admin.
    function setRecoveryShare(uint256 share) external;

    /// @notice Losses socialized to the LPs (bad debt the backstop could not cover) not yet repaid.
    function recoveryOutstanding() external view returns (uint256);

    /// @notice Everything repaid to the LPs so far. Socialized in all = outstanding + recovered.
    function totalRecovered() external view returns (uint256);

    /// @notice The share of income that repays socialized losses while any are outstanding (18 decimals).
    function recoveryShare() external view returns (uint64);

    /// @notice Sets the rolling interval's length, within ConstantsLib's bounds. Only the admin.
    /// @dev Applies at once: the history is kept, so the next cover sums the covers of the new interval.
    function setCoverWindow(uint256 coverWindow_) external;

    /// @notice The most one cover can pay now: the rolling limit's remaining capacity, never taking the
    /// assets below `minAssetsRemaining`.
    function maxCover() external view returns (uint256);

    /// @notice The rolling limit now: the interval's start, base, limit, used and remaining capacity, and
    /// until when exits are held.
    function coverWindowStatus() external view returns (CoverWindow memory);

    /// @notice What covers paid in (from, to], exact to the second (a `to` in the future reads now).
    function coveredBetween(uint256 from, uint256 to) external view returns (uint256);

    /// @notice What claiming `shares` of `controller`'s request (`redeem(shares, _, controller)`) would pay
    /// in this transaction, ignoring the window and the limits that `maxRedeem` reports: the lesser of the
    /// shares' value now and their part of the request's value (at the current price without a request).
    /// @dev The project's quote, whoever calls: `previewRedeem` reverts for an asynchronous redeem.
    function previewRedeemFor(address controller, uint256 shares) external view returns (uint256 assets);

    /// @notice The shares claiming `assets` from `controller`'s request (`withdraw(assets, _, controller)`)
    /// would burn in this transaction, ignoring the window and the limits that `maxWithdraw` reports (at the
    /// current price without a request, or with one worth nothing, which cannot withdraw).
    function previewWithdrawFor(address controller, uint256 assets) external view returns (uint256 shares);

    /// @notice The caller-independent state of `controller`'s request, with the window fixed at its start.
    function cooldownStatus(address controller) external view returns (CooldownStatus memory);

    /// @notice Income booked but not yet in the share price (streaming now or pending its epoch's end).
    function incomeStreaming() external view returns (uint256);

    /// @notice The income schedule now: `vesting` streams linearly over [vestingStart, vestingEnd) (all
    /// of it, vested part included); `pending` vests over the epoch from `pendingStart` (0 if none).
    function incomeSchedule()
        external
        view
        returns (uint256 vesting, uint256 vestingStart, uint256 vestingEnd, uint256 pending, uint256 pendingStart);

    /// @notice Everything covers have paid since deployment.
    function totalCovered() external view returns (uint256);
    /// @notice What the latest cover paid.
    function lastCoverAmount() external view returns (uint256);
    /// @notice When the latest cover was paid.
    function lastCoverTime() external view returns (uint256);
    function engine() external view returns (address);
    function cooldownPeriod() external view returns (uint32);
    function unstakeWindow() external view returns (uint32);
    function maxCoverRatio() external view returns (uint64);
    function minAssetsRemaining() external view returns (uint256);
    function incomePeriod() external view returns (uint32);
    /// @notice The rolling cover interval's length (24 hours by default).
    function coverWindow() external view returns (uint32);
    /// @notice The version of the leaving rules in force; a request made now records it.
    function rulesVersion() external view returns (uint16);
}
