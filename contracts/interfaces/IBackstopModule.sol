// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

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
interface IBackstopModule is IERC4626 {
    /// @notice A staker's request to leave, fixed when it is made (one storage slot).
    /// @param start When `cooldown` was called (uint32: fits until 2106).
    /// @param rulesVersion The leaving rules (`cooldownPeriod`, `unstakeWindow`) in force at `start`: the
    /// window is computed from them, whatever the admin sets later.
    /// @param shares Shares that may leave in the window (reduced if the staker transfers shares away).
    /// @param value The most those shares can still take out: their value at the request, less what
    /// partial exits already paid. uint96: a cooldown carries at most 2^96 - 1 units, about 7.9e10 tokens
    /// at 18 decimals (7.9e22 at 6); `cooldown` of more reverts (SafeCast) and the staker cools down less.
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

    event CooldownStarted(
        address indexed account,
        uint256 shares,
        uint256 value,
        uint256 windowStart,
        uint256 windowEnd
    );
    event CooldownReduced(address indexed account, uint256 shares, uint256 value);
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
    error NoCooldown(address account);
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

    /// @notice Starts (or restarts) the caller's cooldown for `shares`, fixing their value and the window
    /// (`cooldownPeriod` and `unstakeWindow` as they are now) at this moment.
    /// @dev The shares keep covering losses during the cooldown and the window; at withdrawal the staker
    /// receives the lesser of the value fixed here and the value then. Reverts (SafeCast) if the value
    /// exceeds 2^96 - 1 units or the shares 2^112 - 1.
    function cooldown(uint256 shares) external;

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

    /// @notice What `redeem(shares, _, owner)` would pay in this transaction, ignoring the window and
    /// the limits that `maxRedeem` reports: the lesser of the shares' value now and their part of the
    /// cooldown's value (at the current price if `owner` has no cooldown).
    function previewRedeemFor(address owner, uint256 shares) external view returns (uint256 assets);

    /// @notice The shares `withdraw(assets, _, owner)` would burn in this transaction, ignoring the
    /// window and the limits that `maxWithdraw` reports (at the current price if `owner` has no cooldown).
    function previewWithdrawFor(address owner, uint256 assets) external view returns (uint256 shares);

    /// @notice The caller-independent state of `account`'s cooldown, with the window fixed at its request.
    function cooldownStatus(address account) external view returns (CooldownStatus memory);

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
    /// @notice The version of the leaving rules in force; a cooldown requested now records it.
    function rulesVersion() external view returns (uint16);
}
