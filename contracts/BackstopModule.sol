// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";

import {ERC7540Operators} from "./base/ERC7540Operators.sol";
import {IBackstopModule} from "./interfaces/IBackstopModule.sol";
import {IERC7540Redeem} from "./interfaces/IERC7540.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {MathLib} from "./libraries/MathLib.sol";

/// @title BackstopModule
/// @notice Stakers' capital, first to cover a bankrupt position's shortfall. ERC-4626 deposits over the
/// collateral token, ERC-7540 asynchronous redeems; its value is its own stored accounting (a donation
/// moves nothing) plus income streamed in linearly (so staking just before income arrives earns only its
/// time-weighted part).
/// @dev Leaving is an ERC-7540 redeem request whose fulfilment is the clock: `requestRedeem` moves the
/// shares into the module's custody (still in the supply, so they keep bearing covers) and fixes their
/// value and the window (the leaving rules in force then); the request is pending during the cooldown and
/// claimable during the window, where the shares may leave for the lesser of that value and their value
/// then. Where this differs from the standard is listed in IBackstopModule. Covers are limited over every
/// interval of `coverWindow` (a rolling limit, IBackstopModule), and while covers lie within the last
/// `coverWindow`, exits leave the remaining capacity behind. Income vests by epochs of `incomePeriod`:
/// what is notified during one epoch vests linearly over the next, whatever the number of notifications.
contract BackstopModule is IBackstopModule, ERC7540Operators, ERC4626, AccessControl {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using MathLib for uint256;
    using Checkpoints for Checkpoints.Trace224;

    /// @dev The leaving rules of an earlier version, kept for the cooldowns requested under them.
    struct LeaveRules {
        uint32 cooldownPeriod;
        uint32 unstakeWindow;
    }

    /// @dev Income streaming now and income waiting for its epoch to end (two slots; timestamps fit uint32
    /// until 2106). The streaming part vests linearly over [vestingStart, vestingEnd); the pending part is
    /// what was notified during the running epoch, which vests over [pendingStart, pendingStart +
    /// incomePeriod) once that epoch has ended. `pendingStart` is 0 while nothing is pending.
    struct IncomeStreams {
        uint128 vestingAmount;
        uint32 vestingStart;
        uint32 vestingEnd;
        uint32 pendingStart;
        uint128 pendingAmount;
    }

    /// @dev The rolling cover limit's history: cumulative covers paid, and cumulative exits that were held
    /// to the reserve, each keyed by timestamp (every cover and held exit of one second updates one
    /// checkpoint); and the latest cover.
    struct CoverHistory {
        Checkpoints.Trace224 covered;
        Checkpoints.Trace224 heldExits;
        LastCover last;
    }

    /// @dev One slot, written by each cover that pays.
    struct LastCover {
        uint32 time;
        uint128 amount;
    }

    /// @inheritdoc IBackstopModule
    address public immutable engine;

    /// @dev Every request of a controller is one aggregated request (ERC-7540's fungible requests).
    uint256 private constant REQUEST_ID = 0;

    // One slot that a request, a claim and a cover each read once: the parameters (durations fit uint32,
    // ConstantsLib bounds them to days) and the leaving rules' version.
    /// @inheritdoc IBackstopModule
    uint32 public cooldownPeriod = 7 days;
    /// @inheritdoc IBackstopModule
    uint32 public unstakeWindow = 2 days;
    /// @inheritdoc IBackstopModule
    uint32 public incomePeriod = 7 days;
    /// @inheritdoc IBackstopModule
    uint32 public coverWindow = 1 days;
    /// @inheritdoc IBackstopModule
    uint64 public maxCoverRatio = 0.3e18;
    /// @inheritdoc IBackstopModule
    uint16 public rulesVersion;

    // One slot that every cover and every income booking writes: the assets in the share price, and how
    // much of the streaming income is already in them.
    uint128 private _storedAssets; // staked plus income already in the share price, less covers and exits
    uint128 private _vestingBooked; // the part of `_income.vestingAmount` already in `_storedAssets`

    IncomeStreams private _income;
    CoverHistory private _history;

    /// @inheritdoc IBackstopModule
    uint256 public minAssetsRemaining;

    // Written only when a cover leaves something socialized and when income repays it.
    Recovery private _recovery;
    /// @inheritdoc IBackstopModule
    uint64 public recoveryShare = 0.5e18;

    mapping(uint16 version => LeaveRules) private _pastRules;
    /// @inheritdoc IBackstopModule
    mapping(address controller => Cooldown) public cooldowns;

    constructor(
        IERC20Metadata asset_,
        address engine_,
        address admin,
        string memory name_,
        string memory symbol_
    ) ERC20(name_, symbol_) ERC4626(asset_) {
        engine = engine_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    modifier onlyEngine() {
        if (msg.sender != engine) revert OnlyEngine(msg.sender);
        _;
    }

    // ================================================================ stakers

    /// @notice Stored assets plus the part of streaming income that has vested.
    function totalAssets() public view override(ERC4626, IERC4626) returns (uint256) {
        (, , uint256 vested, ) = _incomeNow();
        return _storedAssets + vested;
    }

    /// @inheritdoc IBackstopModule
    function requestRedeem(uint256 shares, address controller, address owner) external returns (uint256) {
        if (shares == 0) revert ZeroAmount();
        if (controller == address(0)) revert ZeroController();
        if (msg.sender != owner && !isOperator[owner][msg.sender]) _spendAllowance(owner, msg.sender, shares);
        uint256 balance = balanceOf(owner);
        if (shares > balance) revert InsufficientShares(shares, balance);
        Cooldown memory cd = cooldowns[controller];
        // A top-up restarts the controller's clock: only they (or their operator) may choose that.
        if (cd.shares != 0) _checkOperator(controller);
        uint256 value = _convertToAssets(shares, Math.Rounding.Floor);
        uint256 total = cd.shares + shares;
        uint256 totalValue = cd.value + value;
        cooldowns[controller] = Cooldown(
            block.timestamp.toUint32(),
            rulesVersion,
            total.toUint112(),
            totalValue.toUint96()
        );
        _transfer(owner, address(this), shares);
        uint256 windowStart = block.timestamp + cooldownPeriod;
        emit RedeemRequest(controller, owner, REQUEST_ID, msg.sender, shares);
        emit CooldownStarted(controller, total, totalValue, windowStart, windowStart + unstakeWindow);
        return REQUEST_ID;
    }

    /// @notice ERC-7540: the shares of `controller`'s request (id 0) while its cooldown runs; 0 from the
    /// window's opening on, for a controller without a request and for any other id.
    function pendingRedeemRequest(uint256 requestId, address controller) external view returns (uint256) {
        Cooldown memory cd = cooldowns[controller];
        if (requestId != REQUEST_ID || cd.shares == 0) return 0;
        (uint256 windowStart, ) = _windowOf(cd);
        return block.timestamp < windowStart ? cd.shares : 0;
    }

    /// @notice ERC-7540: the shares of `controller`'s request (id 0) inside its window (both ends included),
    /// whatever the cover-window limits let leave now (`maxRedeem`); 0 before and after it, and for any
    /// other id. A lapsed request is neither pending nor claimable: its shares wait in custody until
    /// `cancelRedeemRequest` or a new request.
    function claimableRedeemRequest(uint256 requestId, address controller) external view returns (uint256) {
        if (requestId != REQUEST_ID) return 0;
        Cooldown memory cd = cooldowns[controller];
        return _inWindow(cd) ? cd.shares : 0;
    }

    /// @inheritdoc IBackstopModule
    function cancelRedeemRequest(uint256 requestId, address controller) external {
        if (requestId != REQUEST_ID) revert UnknownRequestId(requestId);
        _checkOperator(controller);
        uint256 shares = cooldowns[controller].shares;
        if (shares == 0) revert NoCooldown(controller);
        delete cooldowns[controller];
        _transfer(address(this), controller, shares);
        emit CancelRedeemRequest(controller, REQUEST_ID, msg.sender);
        emit CancelRedeemClaim(controller, controller, REQUEST_ID, msg.sender, shares);
    }

    /// @inheritdoc IBackstopModule
    function pendingCancelRedeemRequest(uint256, address) external pure returns (bool) {
        return false;
    }

    /// @inheritdoc IBackstopModule
    function claimableCancelRedeemRequest(uint256, address) external pure returns (uint256) {
        return 0;
    }

    /// @notice Shares `controller` may claim now: their request's shares inside its window, else zero;
    /// while covers lie within the last `coverWindow`, no more than leaves the remaining capacity behind;
    /// zero if they would pay nothing.
    function maxRedeem(address controller) public view override(ERC4626, IERC4626) returns (uint256) {
        Cooldown memory cd = cooldowns[controller];
        if (!_inWindow(cd)) return 0;
        uint256 shares = cd.shares;
        uint256 available = _exitCapacity();
        if (available != type(uint256).max) shares = shares.min(_convertToShares(available, Math.Rounding.Floor));
        return _assetsOut(cd, shares) == 0 ? 0 : shares;
    }

    /// @notice Assets `controller` may claim now: the lesser of the requested shares' value now and the
    /// request's value, inside its window (else zero); while covers lie within the last `coverWindow`, no
    /// more than leaves the remaining capacity plus the floor behind.
    function maxWithdraw(address controller) public view override(ERC4626, IERC4626) returns (uint256) {
        Cooldown memory cd = cooldowns[controller];
        if (!_inWindow(cd)) return 0;
        return _assetsOut(cd, cd.shares).min(_exitCapacity());
    }

    /// @notice Reverts (`AsyncRedeem`): ERC-7540 forbids the synchronous preview of an asynchronous redeem.
    /// Quotes: `previewRedeemFor(controller, shares)`.
    function previewRedeem(uint256) public pure override(ERC4626, IERC4626) returns (uint256) {
        revert AsyncRedeem();
    }

    /// @notice Reverts (`AsyncRedeem`), as `previewRedeem`. Quotes: `previewWithdrawFor(controller, assets)`.
    function previewWithdraw(uint256) public pure override(ERC4626, IERC4626) returns (uint256) {
        revert AsyncRedeem();
    }

    /// @inheritdoc IBackstopModule
    function previewRedeemFor(address controller, uint256 shares) public view returns (uint256) {
        Cooldown memory cd = cooldowns[controller];
        if (cd.shares == 0) return _convertToAssets(shares, Math.Rounding.Floor);
        return _assetsOut(cd, shares);
    }

    /// @inheritdoc IBackstopModule
    function previewWithdrawFor(address controller, uint256 assets) public view returns (uint256) {
        Cooldown memory cd = cooldowns[controller];
        if (cd.value == 0) return _convertToShares(assets, Math.Rounding.Ceil);
        return _sharesIn(cd, assets);
    }

    /// @notice Claims `shares` of `controller`'s request inside its window, paying `receiver`; refuses a
    /// claim that would pay 0. The caller is the controller or its operator.
    function redeem(
        uint256 shares,
        address receiver,
        address controller
    ) public override(ERC4626, IERC4626) returns (uint256 assets) {
        _checkOperator(controller);
        Cooldown memory cd = _checkWindow(controller);
        if (shares == 0) revert ZeroAmount();
        if (shares > cd.shares) revert ExceedsCooldownShares(shares, cd.shares);
        assets = _assetsOut(cd, shares);
        if (assets == 0) revert ExitPaysNothing(shares);
        _leave(receiver, controller, assets, shares, cd);
    }

    /// @notice Claims `assets` from `controller`'s request inside its window, burning its shares from
    /// custody, paying `receiver`. The caller is the controller or its operator.
    function withdraw(
        uint256 assets,
        address receiver,
        address controller
    ) public override(ERC4626, IERC4626) returns (uint256 shares) {
        _checkOperator(controller);
        Cooldown memory cd = _checkWindow(controller);
        if (assets == 0) revert ZeroAmount();
        uint256 maxAssets = _assetsOut(cd, cd.shares);
        if (assets > maxAssets) revert ExceedsCooldownAssets(assets, maxAssets);
        shares = _sharesIn(cd, assets);
        _leave(receiver, controller, assets, shares, cd);
    }

    // ================================================================ engine

    /// @inheritdoc IBackstopModule
    function cover(uint256 amount) external onlyEngine returns (uint256 paid) {
        _accrue();
        uint256 assets = _storedAssets; // `_accrue` has booked everything vested
        uint256 floor = minAssetsRemaining;
        uint256 aboveFloor = assets > floor ? assets - floor : 0;
        (uint256 since, uint256 base, uint256 used, uint256 limit) = _rollingLimit(assets);
        uint256 remaining = limit > used ? limit - used : 0;
        paid = amount.min(remaining).min(aboveFloor);
        // The limit binds when it, not the request or the floor, decides what is paid.
        bool limitBinds = remaining < amount.min(aboveFloor);
        if (paid == 0) {
            if (limitBinds) emit CoverLimitReached(since, base, limit, used);
            _recordLoss(amount);
            return 0;
        }
        used += paid;
        uint256 assetsAfter = assets - paid;
        _storedAssets = uint128(assetsAfter); // cannot truncate: it only decreased
        // Covers of one second update one checkpoint (Checkpoints.push replaces a same-key value). The
        // cumulative total is below 2^224: every cover is at most the stored assets (< 2^128).
        // Timestamps fit uint32 until 2106.
        _history.covered.push(uint32(block.timestamp), uint224(_history.covered.latest() + paid));
        _history.last = LastCover(uint32(block.timestamp), uint128(paid)); // paid <= assets < 2^128
        IERC20(asset()).safeTransfer(engine, paid);
        emit Covered(amount, paid, assetsAfter);
        if (limitBinds) emit CoverLimitReached(since, base, limit, used);
        if (paid < amount) _recordLoss(amount - paid);
    }

    /// @inheritdoc IBackstopModule
    function notifyIncome(uint256 amount) external onlyEngine returns (uint256 toLps) {
        uint256 outstanding = _recovery.outstanding;
        if (outstanding > 0) {
            toLps = amount.wMulDown(recoveryShare).min(outstanding); // rounded for the stakers
            if (toLps > 0) {
                outstanding -= toLps;
                // Only decreased; the recovered total is at most everything ever recorded (< 2^128).
                _recovery = Recovery(uint128(outstanding), _recovery.recovered + uint128(toLps));
                emit LossRecovered(toLps, outstanding);
            }
            amount -= toLps;
        }
        _accrue(); // rolls a pending epoch that has ended into the stream first
        uint256 period = incomePeriod;
        uint256 vestsFrom = _epochEnd(period);
        if (amount > 0) {
            _income.pendingAmount += amount.toUint128();
            _income.pendingStart = uint32(vestsFrom); // fits until 2106
        }
        emit IncomeAdded(amount, vestsFrom, vestsFrom + period);
    }

    // ================================================================ admin

    /// @notice Sets the leaving rules and the cover limits, each within its hard bounds.
    /// @dev New leaving rules apply to cooldowns requested from now on; earlier cooldowns keep theirs.
    function setParameters(
        uint256 cooldownPeriod_,
        uint256 unstakeWindow_,
        uint256 maxCoverRatio_,
        uint256 minAssetsRemaining_,
        uint256 incomePeriod_
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _bound("cooldownPeriod", cooldownPeriod_, ConstantsLib.MIN_COOLDOWN, ConstantsLib.MAX_COOLDOWN);
        _bound("unstakeWindow", unstakeWindow_, ConstantsLib.MIN_UNSTAKE_WINDOW, ConstantsLib.MAX_UNSTAKE_WINDOW);
        _bound("maxCoverRatio", maxCoverRatio_, 0, ConstantsLib.MAX_COVER_RATIO);
        _bound("minAssetsRemaining", minAssetsRemaining_, 0, type(uint128).max);
        _bound("incomePeriod", incomePeriod_, ConstantsLib.MIN_INCOME_PERIOD, ConstantsLib.MAX_INCOME_PERIOD);
        uint32 oldPeriod = cooldownPeriod;
        uint32 oldWindow = unstakeWindow;
        if (cooldownPeriod_ != oldPeriod || unstakeWindow_ != oldWindow) {
            uint16 version = rulesVersion;
            if (version == type(uint16).max) revert LeaveRulesExhausted();
            _pastRules[version] = LeaveRules(oldPeriod, oldWindow);
            rulesVersion = version + 1; // below the max: checked above
            emit LeaveRulesVersioned(version + 1, cooldownPeriod_, unstakeWindow_);
        }
        if (incomePeriod_ != incomePeriod) _rescheduleIncome(incomePeriod_);
        // Each fits its field: the bounds above are at most 30 days, 0.5e18 and 2^128 - 1.
        cooldownPeriod = uint32(cooldownPeriod_);
        unstakeWindow = uint32(unstakeWindow_);
        maxCoverRatio = uint64(maxCoverRatio_);
        minAssetsRemaining = minAssetsRemaining_;
        incomePeriod = uint32(incomePeriod_);
        emit ParametersUpdated(cooldownPeriod_, unstakeWindow_, maxCoverRatio_, minAssetsRemaining_, incomePeriod_);
    }

    /// @inheritdoc IBackstopModule
    function setRecoveryShare(uint256 share) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _bound("recoveryShare", share, 0, ConstantsLib.MAX_RECOVERY_SHARE);
        recoveryShare = uint64(share); // at most 0.8e18
        emit RecoveryShareUpdated(share);
    }

    /// @inheritdoc IBackstopModule
    function recoveryOutstanding() external view returns (uint256) {
        return _recovery.outstanding;
    }

    /// @inheritdoc IBackstopModule
    function totalRecovered() external view returns (uint256) {
        return _recovery.recovered;
    }

    /// @inheritdoc IBackstopModule
    function setCoverWindow(uint256 coverWindow_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _bound("coverWindow", coverWindow_, ConstantsLib.MIN_COVER_WINDOW, ConstantsLib.MAX_COVER_WINDOW);
        coverWindow = uint32(coverWindow_); // at most 7 days
        emit CoverWindowUpdated(coverWindow_);
    }

    // ================================================================ views

    /// @inheritdoc IBackstopModule
    function maxCover() public view returns (uint256) {
        uint256 assets = totalAssets();
        uint256 floor = minAssetsRemaining;
        uint256 aboveFloor = assets > floor ? assets - floor : 0;
        return coverWindowStatus().remaining.min(aboveFloor);
    }

    /// @inheritdoc IBackstopModule
    function coverWindowStatus() public view returns (CoverWindow memory w) {
        (w.since, w.base, w.used, w.limit) = _rollingLimit(totalAssets());
        w.remaining = w.limit > w.used ? w.limit - w.used : 0;
        uint256 last = _history.last.time;
        if (last != 0 && block.timestamp < last + coverWindow) w.exitsHeldUntil = last + coverWindow;
    }

    /// @inheritdoc IBackstopModule
    function cooldownStatus(address controller) external view returns (CooldownStatus memory s) {
        Cooldown memory cd = cooldowns[controller];
        if (cd.start == 0) return s;
        s.start = cd.start;
        (s.windowStart, s.windowEnd) = _windowOf(cd);
        s.shares = cd.shares;
        s.valueAtRequest = cd.value;
        s.valueNow = _convertToAssets(cd.shares, Math.Rounding.Floor);
        s.inWindow = _inWindow(cd);
    }

    /// @inheritdoc IBackstopModule
    function totalCovered() external view returns (uint256) {
        return _history.covered.latest();
    }

    /// @inheritdoc IBackstopModule
    function coveredBetween(uint256 from, uint256 to) external view returns (uint256) {
        if (from > to) revert InvalidInterval(from, to);
        return _history.covered.upperLookupRecent(_key(to)) - _history.covered.upperLookupRecent(_key(from));
    }

    /// @inheritdoc IBackstopModule
    function lastCoverAmount() external view returns (uint256) {
        return _history.last.amount;
    }

    /// @inheritdoc IBackstopModule
    function lastCoverTime() external view returns (uint256) {
        return _history.last.time;
    }

    /// @inheritdoc IBackstopModule
    function incomeStreaming() external view returns (uint256) {
        (IncomeStreams memory st, uint256 pending, , uint256 booked) = _incomeNow();
        return st.vestingAmount - booked + pending;
    }

    /// @inheritdoc IBackstopModule
    function incomeSchedule()
        external
        view
        returns (uint256 vesting, uint256 vestingStart, uint256 vestingEnd, uint256 pending, uint256 pendingStart)
    {
        (IncomeStreams memory st, uint256 pendingNow, , ) = _incomeNow();
        return (st.vestingAmount, st.vestingStart, st.vestingEnd, pendingNow, st.pendingStart);
    }

    /// @notice ERC-165: this module's interface, AccessControl's, the ERC-7540 operator and asynchronous
    /// redeem interfaces and ERC-7575; not ERC-7540's asynchronous deposit (deposits are synchronous) nor
    /// ERC-7887's redeem cancellation (cancelling is synchronous, without its claim function).
    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return
            interfaceId == type(IBackstopModule).interfaceId ||
            interfaceId == type(IERC7540Redeem).interfaceId ||
            interfaceId == OPERATOR_INTERFACE ||
            interfaceId == ERC7575_INTERFACE ||
            super.supportsInterface(interfaceId);
    }

    // ================================================================ internal

    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        if (assets == 0 || shares == 0) revert ZeroAmount();
        IERC20 token = IERC20(asset());
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(caller, address(this), assets);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != assets) revert TransferAmountMismatch(assets, received);
        _storedAssets += assets.toUint128();
        _mint(receiver, shares);
        emit Deposit(caller, receiver, assets, shares);
    }

    /// @dev Pays `assets` to `receiver` for `shares` of `controller`'s request, burnt from custody.
    function _leave(address receiver, address controller, uint256 assets, uint256 shares, Cooldown memory cd) internal {
        uint256 available = _exitCapacity();
        if (assets > available) revert ExitExceedsCoverReserve(assets, available);
        // A held exit stays in the rolling base until it leaves the interval, so that it lowers no capacity.
        if (available != type(uint256).max) {
            uint256 held = _history.heldExits.latest() + assets; // below 2^224: each exit is below 2^128
            _history.heldExits.push(uint32(block.timestamp), uint224(held)); // timestamps fit until 2106
            emit ExitHeldInBase(assets, held);
        }
        // What leaves is taken off the request: its shares, and from its value exactly the assets paid.
        // Neither underflows: shares <= cd.shares and assets <= cd.value (redeem and withdraw check both).
        // A request whose shares have all left is over: deleted, whatever value the price left unpaid.
        if (shares == cd.shares) {
            delete cooldowns[controller];
        } else {
            uint112 sharesLeft = cd.shares - uint112(shares);
            cooldowns[controller] = Cooldown(cd.start, cd.rulesVersion, sharesLeft, cd.value - uint96(assets));
        }
        _accrue();
        _storedAssets -= assets.toUint128();
        _burn(address(this), shares); // the request's shares are in custody: shares <= cd.shares
        IERC20(asset()).safeTransfer(receiver, assets);
        emit Withdraw(msg.sender, receiver, controller, assets, shares);
    }

    /// @dev What `shares` of the cooldown pay: the lesser of their value now and their part of the
    /// cooldown's value, each rounded down.
    function _assetsOut(Cooldown memory cd, uint256 shares) internal view returns (uint256) {
        uint256 now_ = _convertToAssets(shares, Math.Rounding.Floor);
        uint256 atRequest = uint256(cd.value).mulDivDown(shares, cd.shares);
        return now_.min(atRequest);
    }

    /// @dev The shares that `assets` of the cooldown burn: priced at the lesser of the price now and the
    /// cooldown's, so the more shares, each rounded up. Needs cd.value > 0. For assets up to
    /// `_assetsOut(cd, cd.shares)` this is at most cd.shares: that bound caps each term.
    function _sharesIn(Cooldown memory cd, uint256 assets) internal view returns (uint256) {
        return Math.max(_convertToShares(assets, Math.Rounding.Ceil), assets.mulDivUp(cd.shares, cd.value));
    }

    /// @dev The assets that may leave now: unlimited unless a cover lies within the last `coverWindow`,
    /// then whatever exceeds the remaining capacity plus the floor.
    function _exitCapacity() internal view returns (uint256) {
        uint256 last = _history.last.time;
        if (last == 0 || block.timestamp >= last + coverWindow) return type(uint256).max;
        uint256 assets = totalAssets();
        (, , uint256 used, uint256 limit) = _rollingLimit(assets);
        uint256 reserve = (limit > used ? limit - used : 0) + minAssetsRemaining;
        return assets > reserve ? assets - reserve : 0;
    }

    /// @dev The rolling limit at `assets` (the assets now, everything vested booked): the interval is
    /// (since, now]; `used` is what covers paid in it, and its base is the assets now plus what left in it
    /// by covers and by held exits, that is the assets at `since` plus the stake and income that came in
    /// since, less the exits that were free. `limit` is `base x maxCoverRatio`, rounded down.
    function _rollingLimit(
        uint256 assets
    ) internal view returns (uint256 since, uint256 base, uint256 used, uint256 limit) {
        uint256 window = coverWindow;
        since = block.timestamp > window ? block.timestamp - window : 0;
        uint32 key = uint32(since); // fits until 2106
        used = _history.covered.latest() - _history.covered.upperLookupRecent(key);
        base = assets + used + (_history.heldExits.latest() - _history.heldExits.upperLookupRecent(key));
        limit = base.wMulDown(maxCoverRatio);
    }

    /// @dev A timestamp as a checkpoint key, clamped to 2^32 - 1 (a lookup past 2106 reads the latest).
    function _key(uint256 timestamp) internal pure returns (uint32) {
        return uint32(timestamp.min(type(uint32).max));
    }

    function _windowOf(Cooldown memory cd) internal view returns (uint256 windowStart, uint256 windowEnd) {
        uint256 period;
        uint256 length;
        if (cd.rulesVersion == rulesVersion) {
            (period, length) = (cooldownPeriod, unstakeWindow);
        } else {
            LeaveRules memory rules = _pastRules[cd.rulesVersion];
            (period, length) = (rules.cooldownPeriod, rules.unstakeWindow);
        }
        windowStart = cd.start + period;
        windowEnd = windowStart + length;
    }

    function _checkWindow(address controller) internal view returns (Cooldown memory cd) {
        cd = cooldowns[controller];
        if (cd.shares == 0) revert NoCooldown(controller);
        (uint256 windowStart, uint256 windowEnd) = _windowOf(cd);
        if (block.timestamp < windowStart || block.timestamp > windowEnd) {
            revert OutsideUnstakeWindow(block.timestamp, windowStart, windowEnd);
        }
    }

    function _inWindow(Cooldown memory cd) internal view returns (bool) {
        if (cd.shares == 0) return false;
        (uint256 windowStart, uint256 windowEnd) = _windowOf(cd);
        return block.timestamp >= windowStart && block.timestamp <= windowEnd;
    }

    /// @dev The end of the running income epoch: epochs are [k x period, (k + 1) x period), aligned to the
    /// Unix epoch, so that the schedule depends on when income arrives, never on how often.
    function _epochEnd(uint256 period) internal view returns (uint256) {
        return (block.timestamp / period + 1) * period;
    }

    /// @dev `amount` streaming linearly over [start, end), vested at `t`, rounded down (for the stakers
    /// already in): all of it from `end` on.
    function _vestedAt(uint256 amount, uint256 start, uint256 end, uint256 t) internal pure returns (uint256) {
        if (t <= start) return 0;
        if (t >= end) return amount;
        return amount.mulDivDown(t - start, end - start);
    }

    /// @dev The income streams as they are now, and what has vested since the last booking. If the pending
    /// epoch has ended, it becomes the stream (from `pendingStart` over `incomePeriod`); whatever of the old
    /// stream had not vested by then (only after `incomePeriod` was shortened) joins it, so it vests later,
    /// never sooner. A pure function of the notifications and the time: how often this runs changes nothing.
    function _incomeNow()
        internal
        view
        returns (IncomeStreams memory st, uint256 pending, uint256 vested, uint256 booked)
    {
        st = _income;
        pending = st.pendingAmount;
        uint256 bookedBefore = _vestingBooked;
        if (pending != 0 && block.timestamp >= st.pendingStart) {
            uint256 start = st.pendingStart;
            uint256 old = _vestedAt(st.vestingAmount, st.vestingStart, st.vestingEnd, start);
            vested = old - bookedBefore;
            // Below 2^128: the pending income and the old stream's rest are both parts of notified income.
            st.vestingAmount = uint128(pending + st.vestingAmount - old);
            (st.vestingStart, st.vestingEnd, st.pendingStart) = (uint32(start), uint32(start + incomePeriod), 0);
            (st.pendingAmount, pending, bookedBefore) = (0, 0, 0);
        }
        booked = _vestedAt(st.vestingAmount, st.vestingStart, st.vestingEnd, block.timestamp);
        vested += booked - bookedBefore;
    }

    /// @dev Books everything vested into `_storedAssets`, rolling an ended epoch into the stream.
    function _accrue() internal {
        (IncomeStreams memory st, uint256 pending, uint256 vested, uint256 booked) = _incomeNow();
        if (pending == 0 && _income.pendingAmount != 0) {
            _income = st;
            _vestingBooked = uint128(booked); // below the stream's amount, a uint128
        }
        if (vested > 0) {
            // Both below 2^128: vested income is part of the stream, and the assets are the token's.
            _storedAssets += uint128(vested);
            _vestingBooked = uint128(booked);
        }
    }

    /// @dev Before `incomePeriod` changes to `period`: books what vested under the old one and moves
    /// pending income to the end of the running epoch of the new one. The stream keeps its schedule.
    function _rescheduleIncome(uint256 period) internal {
        _accrue();
        uint256 pending = _income.pendingAmount;
        if (pending == 0) return;
        uint256 vestsFrom = _epochEnd(period);
        _income.pendingStart = uint32(vestsFrom); // fits until 2106
        emit IncomeRescheduled(pending, vestsFrom, vestsFrom + period);
    }

    /// @dev Books what a cover left socialized as owed to the LPs.
    function _recordLoss(uint256 amount) private {
        uint256 outstanding = _recovery.outstanding + amount;
        _recovery.outstanding = outstanding.toUint128();
        emit LossRecorded(amount, outstanding);
    }

    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }

    function _bound(bytes32 name, uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert ParameterOutOfBounds(name, value, min, max);
    }
}
