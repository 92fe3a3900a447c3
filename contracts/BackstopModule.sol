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
import {IPerpEngine} from "./interfaces/IPerpEngine.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {MathLib} from "./libraries/MathLib.sol";

/// @title BackstopModule
/// @notice Stakers' capital, first to cover a bankrupt position's shortfall. ERC-4626 over the collateral
/// token; its value is its own stored accounting (a donation moves nothing) plus income streamed in
/// linearly (so staking just before income arrives earns only its time-weighted part).
/// @dev Leaving takes `cooldown`, which fixes the shares and their value at the request; after
/// `cooldownPeriod` the shares may leave during `unstakeWindow`, for the lesser of that value and their
/// value then. `previewRedeem`/`previewWithdraw` quote the current price, which can exceed what a cooled
/// staker receives when the price rose since the request: use `maxWithdraw` for the exact amount.
contract BackstopModule is IBackstopModule, ERC4626, AccessControl {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using MathLib for uint256;

    /// @inheritdoc IBackstopModule
    address public immutable engine;

    uint64 public cooldownPeriod = 7 days;
    uint64 public unstakeWindow = 2 days;
    uint64 public maxCoverRatio = 0.3e18;
    uint64 public incomePeriod = 7 days;
    uint256 public minAssetsRemaining;

    uint128 private _storedAssets; // staked plus income already in the share price
    uint128 private _unvested; // income still streaming, as of `_incomeUpdated`
    uint64 private _incomeUpdated;
    uint64 private _incomeEnd;

    // The cover statistics share one slot: a cover writes it once.
    uint128 private _totalCovered;
    uint96 private _lastCoverAmount;
    uint32 private _lastCoverTime;

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
        cooldowns[msg.sender] = Cooldown(uint40(block.timestamp), shares.toUint112(), value.toUint104());
        uint256 windowStart = block.timestamp + cooldownPeriod;
        emit CooldownStarted(msg.sender, shares, value, windowStart, windowStart + unstakeWindow);
    }

    /// @notice Shares `owner` may redeem now: their cooled-down shares inside the window, else zero.
    function maxRedeem(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        Cooldown memory cd = cooldowns[owner];
        if (!_inWindow(cd)) return 0;
        return Math.min(cd.shares, balanceOf(owner));
    }

    /// @notice Assets `owner` may withdraw now: the lesser of the cooled shares' value now and at request.
    function maxWithdraw(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        Cooldown memory cd = cooldowns[owner];
        uint256 shares = maxRedeem(owner);
        return shares == 0 ? 0 : _assetsOut(cd, shares);
    }

    /// @notice Redeems cooled-down shares inside the unstake window.
    function redeem(
        uint256 shares,
        address receiver,
        address owner
    ) public override(ERC4626, IERC4626) returns (uint256 assets) {
        Cooldown memory cd = _checkWindow(owner);
        if (shares == 0) revert ZeroAmount();
        if (shares > cd.shares) revert ExceedsCooldownShares(shares, cd.shares);
        assets = _assetsOut(cd, shares);
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
        // Shares are priced at the lesser of the price now and at the request, so it takes the more shares.
        // Within the cooled value, this is at most the cooled shares: assets <= both values bounds each term.
        shares = Math.max(_convertToShares(assets, Math.Rounding.Ceil), assets.mulDivUp(cd.shares, cd.value));
        _leave(_msgSender(), receiver, owner, assets, shares, cd);
    }

    // ================================================================ engine

    /// @inheritdoc IBackstopModule
    function cover(uint256 amount) external onlyEngine returns (uint256 paid) {
        _accrue();
        paid = amount.min(maxCover());
        if (paid == 0) return 0;
        uint256 assetsAfter = _storedAssets - paid;
        _storedAssets = uint128(assetsAfter); // cannot truncate: it only decreased
        _totalCovered += paid.toUint128();
        _lastCoverAmount = paid.toUint96();
        _lastCoverTime = uint32(block.timestamp); // fits until 2106
        IERC20(asset()).safeTransfer(engine, paid);
        emit Covered(amount, paid, assetsAfter);
    }

    /// @inheritdoc IBackstopModule
    function notifyIncome(uint256 amount) external onlyEngine {
        _accrue();
        _unvested += amount.toUint128();
        uint256 end = block.timestamp + incomePeriod;
        _incomeEnd = uint64(end);
        emit IncomeAdded(amount, end);
    }

    // ================================================================ admin

    /// @notice Sets the leaving rules and the cover limits, each within its hard bounds.
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
        cooldownPeriod = uint64(cooldownPeriod_);
        unstakeWindow = uint64(unstakeWindow_);
        maxCoverRatio = uint64(maxCoverRatio_);
        minAssetsRemaining = minAssetsRemaining_;
        incomePeriod = uint64(incomePeriod_);
        emit ParametersUpdated(cooldownPeriod_, unstakeWindow_, maxCoverRatio_, minAssetsRemaining_, incomePeriod_);
    }

    // ================================================================ views

    /// @inheritdoc IBackstopModule
    function maxCover() public view returns (uint256) {
        uint256 assets = totalAssets();
        uint256 aboveFloor = assets > minAssetsRemaining ? assets - minAssetsRemaining : 0;
        return assets.wMulDown(maxCoverRatio).min(aboveFloor);
    }

    /// @inheritdoc IBackstopModule
    function cooldownStatus(address account) external view returns (CooldownStatus memory s) {
        Cooldown memory cd = cooldowns[account];
        if (cd.start == 0) return s;
        s.start = cd.start;
        s.windowStart = cd.start + cooldownPeriod;
        s.windowEnd = s.windowStart + unstakeWindow;
        s.shares = cd.shares;
        s.valueAtRequest = cd.value;
        s.valueNow = _convertToAssets(cd.shares, Math.Rounding.Floor);
        s.inWindow = _inWindow(cd);
    }

    /// @inheritdoc IBackstopModule
    function coverageRatio() external view returns (uint256) {
        uint256 openInterest = IPerpEngine(engine).openInterestNotional();
        if (openInterest == 0) return type(uint256).max;
        return totalAssets().wDivDown(openInterest);
    }

    /// @inheritdoc IBackstopModule
    function totalCovered() external view returns (uint256) {
        return _totalCovered;
    }

    /// @inheritdoc IBackstopModule
    function lastCoverAmount() external view returns (uint256) {
        return _lastCoverAmount;
    }

    /// @inheritdoc IBackstopModule
    function lastCoverTime() external view returns (uint256) {
        return _lastCoverTime;
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
        // What leaves is taken off the cooldown, its value pro rata (rounded against the staker).
        uint256 valueUsed = uint256(cd.value).mulDivUp(shares, cd.shares);
        cooldowns[owner] = Cooldown(cd.start, cd.shares - uint112(shares), cd.value - uint104(valueUsed.min(cd.value)));
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
            cooldowns[from] = Cooldown(cd.start, uint112(balance), uint104(reducedValue));
            emit CooldownReduced(from, balance, reducedValue);
        }
    }

    function _assetsOut(Cooldown memory cd, uint256 shares) internal view returns (uint256) {
        uint256 now_ = _convertToAssets(shares, Math.Rounding.Floor);
        uint256 atRequest = uint256(cd.value).mulDivDown(shares, cd.shares);
        return now_.min(atRequest);
    }

    function _checkWindow(address owner) internal view returns (Cooldown memory cd) {
        cd = cooldowns[owner];
        if (cd.shares == 0) revert NoCooldown(owner);
        uint256 windowStart = cd.start + cooldownPeriod;
        uint256 windowEnd = windowStart + unstakeWindow;
        if (block.timestamp < windowStart || block.timestamp > windowEnd) {
            revert OutsideUnstakeWindow(block.timestamp, windowStart, windowEnd);
        }
    }

    function _inWindow(Cooldown memory cd) internal view returns (bool) {
        if (cd.shares == 0) return false;
        uint256 windowStart = cd.start + cooldownPeriod;
        return block.timestamp >= windowStart && block.timestamp <= windowStart + unstakeWindow;
    }

    function _vested() internal view returns (uint256) {
        uint256 unvested = _unvested;
        if (unvested == 0 || block.timestamp >= _incomeEnd) return unvested;
        return unvested.mulDivDown(block.timestamp - _incomeUpdated, _incomeEnd - _incomeUpdated);
    }

    function _accrue() internal {
        uint256 vested = _vested();
        if (vested > 0) {
            _storedAssets += uint128(vested); // vested <= _unvested, a uint128
            _unvested -= uint128(vested);
        }
        _incomeUpdated = uint64(block.timestamp);
    }

    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }

    function _bound(bytes32 name, uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert ParameterOutOfBounds(name, value, min, max);
    }
}
