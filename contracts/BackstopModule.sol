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

import {IBackstopModule} from "./interfaces/IBackstopModule.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {MathLib} from "./libraries/MathLib.sol";

/// @title BackstopModule
/// @notice Stakers' capital, first to cover a bankrupt position's shortfall. ERC-4626 over the collateral
/// token; its value is its own stored accounting (a donation moves nothing) plus income streamed in
/// linearly (so staking just before income arrives earns only its time-weighted part).
/// @dev Leaving takes `cooldown`, which fixes the shares, their value and the window (the leaving rules in
/// force then) at the request; after the cooldown the shares may leave during the window for the lesser
/// of that value and their value then. Covers are limited per cover window (IBackstopModule), and while a
/// window runs, exits leave its remaining capacity behind.
contract BackstopModule is IBackstopModule, ERC4626, AccessControl {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using MathLib for uint256;

    /// @dev The leaving rules of an earlier version, kept for the cooldowns requested under them.
    struct LeaveRules {
        uint32 cooldownPeriod;
        uint32 unstakeWindow;
    }

    /// @dev One slot. Timestamps fit uint32 until 2106. A window's base is recorded up to 2^96 - 1 units
    /// (about 7.9e10 tokens at 18 decimals); the covers' total saturates there.
    struct Accrual {
        uint32 incomeUpdated; // `_unvested` is as of this time
        uint32 incomeEnd; // when what is streaming has fully vested
        uint96 windowBase; // the running cover window's base
        uint96 totalCovered;
    }

    /// @dev One slot. Amounts fit uint96: a window's covers take at most its base.
    struct CoverState {
        uint32 lastCoverTime;
        uint32 windowStart; // 0 until the first cover
        uint96 lastCoverAmount;
        uint96 windowUsed;
    }

    /// @inheritdoc IBackstopModule
    address public immutable engine;

    // One slot that cooldown, unstake and cover each read once: the parameters (durations fit uint32,
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

    uint128 private _storedAssets; // staked plus income already in the share price
    uint128 private _unvested; // income still streaming, as of `_accrual.incomeUpdated`

    // `_accrue` writes this slot on every cover, so the window's base and the covers' total cost no slot
    // of their own.
    Accrual private _accrual;
    // A cover writes this slot once.
    CoverState private _covers;

    /// @inheritdoc IBackstopModule
    uint256 public minAssetsRemaining;

    // Written only when a cover leaves something socialized and when income repays it.
    Recovery private _recovery;
    /// @inheritdoc IBackstopModule
    uint64 public recoveryShare = 0.5e18;

    mapping(uint16 version => LeaveRules) private _pastRules;
    mapping(address account => Cooldown) public cooldowns;

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
        return _storedAssets + _vested();
    }

    /// @inheritdoc IBackstopModule
    function cooldown(uint256 shares) external {
        if (shares == 0) revert ZeroAmount();
        uint256 balance = balanceOf(msg.sender);
        if (shares > balance) revert InsufficientShares(shares, balance);
        uint256 value = _convertToAssets(shares, Math.Rounding.Floor);
        cooldowns[msg.sender] = Cooldown(
            block.timestamp.toUint32(),
            rulesVersion,
            shares.toUint112(),
            value.toUint96()
        );
        uint256 windowStart = block.timestamp + cooldownPeriod;
        emit CooldownStarted(msg.sender, shares, value, windowStart, windowStart + unstakeWindow);
    }

    /// @notice Shares `owner` may redeem now: their cooled-down shares inside their window, else zero;
    /// during a running cover window, no more than leaves its reserve behind; zero if they would pay nothing.
    function maxRedeem(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        Cooldown memory cd = cooldowns[owner];
        if (!_inWindow(cd)) return 0;
        uint256 shares = Math.min(cd.shares, balanceOf(owner));
        uint256 available = _exitCapacity();
        if (available != type(uint256).max) shares = shares.min(_convertToShares(available, Math.Rounding.Floor));
        return _assetsOut(cd, shares) == 0 ? 0 : shares;
    }

    /// @notice Assets `owner` may withdraw now: the lesser of the cooled shares' value now and the
    /// cooldown's value, inside their window (else zero); during a running cover window, no more than
    /// leaves its reserve behind.
    function maxWithdraw(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        Cooldown memory cd = cooldowns[owner];
        if (!_inWindow(cd)) return 0;
        return _assetsOut(cd, cd.shares).min(_exitCapacity());
    }

    /// @notice What `redeem(shares, _, msg.sender)` pays in this transaction (window and limits aside).
    /// @dev A preview cannot know the owner: it quotes for the caller as owner, exactly what the caller's
    /// own redeem pays (never more). For another owner use `previewRedeemFor`; an operator redeeming for
    /// an owner can receive less than this quote. Without a cooldown it quotes the current price.
    function previewRedeem(uint256 shares) public view override(ERC4626, IERC4626) returns (uint256) {
        return previewRedeemFor(_msgSender(), shares);
    }

    /// @notice The shares `withdraw(assets, _, msg.sender)` burns in this transaction (window and limits
    /// aside).
    /// @dev Quotes for the caller as owner, exactly what the caller's own withdraw burns (never fewer);
    /// for another owner use `previewWithdrawFor`. Without a cooldown (or one worth nothing, which cannot
    /// withdraw) it quotes the current price.
    function previewWithdraw(uint256 assets) public view override(ERC4626, IERC4626) returns (uint256) {
        return previewWithdrawFor(_msgSender(), assets);
    }

    /// @inheritdoc IBackstopModule
    function previewRedeemFor(address owner, uint256 shares) public view returns (uint256) {
        Cooldown memory cd = cooldowns[owner];
        if (cd.shares == 0) return _convertToAssets(shares, Math.Rounding.Floor);
        return _assetsOut(cd, shares);
    }

    /// @inheritdoc IBackstopModule
    function previewWithdrawFor(address owner, uint256 assets) public view returns (uint256) {
        Cooldown memory cd = cooldowns[owner];
        if (cd.value == 0) return _convertToShares(assets, Math.Rounding.Ceil);
        return _sharesIn(cd, assets);
    }

    /// @notice Redeems cooled-down shares inside the unstake window; refuses a redeem that would pay 0.
    function redeem(
        uint256 shares,
        address receiver,
        address owner
    ) public override(ERC4626, IERC4626) returns (uint256 assets) {
        Cooldown memory cd = _checkWindow(owner);
        if (shares == 0) revert ZeroAmount();
        if (shares > cd.shares) revert ExceedsCooldownShares(shares, cd.shares);
        assets = _assetsOut(cd, shares);
        if (assets == 0) revert ExitPaysNothing(shares);
        _leave(_msgSender(), receiver, owner, assets, shares, cd);
    }

    /// @notice Withdraws `assets` by burning cooled-down shares inside the unstake window.
    function withdraw(
        uint256 assets,
        address receiver,
        address owner
    ) public override(ERC4626, IERC4626) returns (uint256 shares) {
        Cooldown memory cd = _checkWindow(owner);
        if (assets == 0) revert ZeroAmount();
        uint256 maxAssets = _assetsOut(cd, cd.shares);
        if (assets > maxAssets) revert ExceedsCooldownAssets(assets, maxAssets);
        shares = _sharesIn(cd, assets);
        _leave(_msgSender(), receiver, owner, assets, shares, cd);
    }

    // ================================================================ engine

    /// @inheritdoc IBackstopModule
    function cover(uint256 amount) external onlyEngine returns (uint256 paid) {
        _accrue();
        uint256 assets = _storedAssets; // `_accrue` has booked everything vested
        uint256 floor = minAssetsRemaining;
        uint256 aboveFloor = assets > floor ? assets - floor : 0;
        uint256 start = _covers.windowStart;
        bool opens = start == 0 || block.timestamp >= start + coverWindow;
        uint256 base = opens ? assets.min(type(uint96).max) : _accrual.windowBase;
        uint256 used = opens ? 0 : _covers.windowUsed;
        uint256 limit = _limit(base);
        uint256 remaining = limit > used ? limit - used : 0;
        paid = amount.min(remaining).min(aboveFloor);
        // The limit binds when it, not the request or the floor, decides what is paid.
        bool limitBinds = remaining < amount.min(aboveFloor);
        if (paid == 0) {
            if (limitBinds) emit CoverLimitReached(opens ? 0 : start, limit, used);
            _recordLoss(amount);
            return 0;
        }
        if (opens) {
            start = block.timestamp;
            _accrual.windowBase = uint96(base); // capped above
            emit CoverWindowOpened(start, base, limit);
        }
        used += paid;
        uint256 assetsAfter = assets - paid;
        _storedAssets = uint128(assetsAfter); // cannot truncate: it only decreased
        _accrual.totalCovered = uint96((_accrual.totalCovered + paid).min(type(uint96).max)); // a statistic: saturates
        // paid <= used <= limit <= base < 2^96; timestamps fit until 2106.
        _covers = CoverState(uint32(block.timestamp), uint32(start), uint96(paid), uint96(used));
        IERC20(asset()).safeTransfer(engine, paid);
        emit Covered(amount, paid, assetsAfter);
        if (limitBinds) emit CoverLimitReached(start, limit, used);
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
        _accrue();
        _unvested += amount.toUint128();
        uint256 end = block.timestamp + incomePeriod;
        _accrual.incomeEnd = uint32(end); // fits until 2106
        emit IncomeAdded(amount, end);
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
        uint256 start = _covers.windowStart;
        uint256 end = start + coverWindow;
        if (start != 0 && block.timestamp < end) {
            (w.start, w.end, w.base, w.used) = (start, end, _accrual.windowBase, _covers.windowUsed);
        } else {
            w.base = totalAssets().min(type(uint96).max);
        }
        w.limit = _limit(w.base);
        w.remaining = w.limit > w.used ? w.limit - w.used : 0;
    }

    /// @inheritdoc IBackstopModule
    function cooldownStatus(address account) external view returns (CooldownStatus memory s) {
        Cooldown memory cd = cooldowns[account];
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
        return _accrual.totalCovered;
    }

    /// @inheritdoc IBackstopModule
    function lastCoverAmount() external view returns (uint256) {
        return _covers.lastCoverAmount;
    }

    /// @inheritdoc IBackstopModule
    function lastCoverTime() external view returns (uint256) {
        return _covers.lastCoverTime;
    }

    /// @inheritdoc IBackstopModule
    function incomeStreaming() external view returns (uint256) {
        return _unvested - _vested();
    }

    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == type(IBackstopModule).interfaceId || super.supportsInterface(interfaceId);
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

    function _leave(
        address caller,
        address receiver,
        address owner,
        uint256 assets,
        uint256 shares,
        Cooldown memory cd
    ) internal {
        uint256 available = _exitCapacity();
        if (assets > available) revert ExitExceedsCoverReserve(assets, available);
        // What leaves is taken off the cooldown: its shares, and from its value exactly the assets paid.
        // Neither underflows: shares <= cd.shares and assets <= cd.value (redeem and withdraw check both).
        // A cooldown whose shares have all left is over: deleted, whatever value the price left unpaid.
        if (shares == cd.shares) {
            delete cooldowns[owner];
        } else {
            uint112 sharesLeft = cd.shares - uint112(shares);
            cooldowns[owner] = Cooldown(cd.start, cd.rulesVersion, sharesLeft, cd.value - uint96(assets));
        }
        _accrue();
        _storedAssets -= assets.toUint128();
        super._withdraw(caller, receiver, owner, assets, shares);
    }

    /// @dev A transfer (or burn) that leaves an account with fewer shares than its cooldown shrinks the
    /// cooldown to the balance, value pro rata: cooled shares cannot be moved out and still leave.
    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from == address(0)) return;
        Cooldown memory cd = cooldowns[from];
        uint256 balance = balanceOf(from);
        if (cd.shares > balance) {
            uint256 reducedValue = uint256(cd.value).mulDivDown(balance, cd.shares);
            // Both shrink: balance < cd.shares and reducedValue <= cd.value.
            cooldowns[from] = Cooldown(cd.start, cd.rulesVersion, uint112(balance), uint96(reducedValue));
            emit CooldownReduced(from, balance, reducedValue);
        }
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

    /// @dev The assets that may leave now: unlimited unless a cover window runs, then whatever exceeds its
    /// remaining capacity plus the floor.
    function _exitCapacity() internal view returns (uint256) {
        uint256 start = _covers.windowStart;
        if (start == 0 || block.timestamp >= start + coverWindow) return type(uint256).max;
        uint256 limit = _limit(_accrual.windowBase);
        uint256 used = _covers.windowUsed;
        uint256 reserve = (limit > used ? limit - used : 0) + minAssetsRemaining;
        uint256 assets = totalAssets();
        return assets > reserve ? assets - reserve : 0;
    }

    /// @dev A window's limit on `base` (at most 2^96 - 1), rounded down: below the base, so its covers fit
    /// their uint96 fields.
    function _limit(uint256 base) internal view returns (uint256) {
        return base.wMulDown(maxCoverRatio);
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

    function _checkWindow(address owner) internal view returns (Cooldown memory cd) {
        cd = cooldowns[owner];
        if (cd.shares == 0) revert NoCooldown(owner);
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

    function _vested() internal view returns (uint256) {
        uint256 unvested = _unvested;
        if (unvested == 0 || block.timestamp >= _accrual.incomeEnd) return unvested;
        return
            unvested.mulDivDown(block.timestamp - _accrual.incomeUpdated, _accrual.incomeEnd - _accrual.incomeUpdated);
    }

    function _accrue() internal {
        uint256 vested = _vested();
        if (vested > 0) {
            _storedAssets += uint128(vested); // vested <= _unvested, a uint128
            _unvested -= uint128(vested);
        }
        _accrual.incomeUpdated = uint32(block.timestamp); // fits until 2106
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
