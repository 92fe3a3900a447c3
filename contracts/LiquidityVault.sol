// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {ILiquidityVault} from "./interfaces/ILiquidityVault.sol";
import {IPerpEngine, Market} from "./interfaces/IPerpEngine.sol";
import {MarketLib} from "./libraries/MarketLib.sol";
import {WAD} from "./libraries/MathLib.sol";

/// @title LiquidityVault
/// @notice ERC-4626 shares of the LP pool, the traders' counterparty. The pool's tokens and its ledger
/// live in the PerpEngine; `totalAssets` is the pool marked to the oracle, read from the engine's storage.
/// @dev Deposits follow the engine's pause; withdrawals never do, but only free liquidity (not reserved
/// for open positions' capped profits) can leave. A 6-decimal offset of virtual shares defeats the
/// first-depositor inflation attack, and the pool's value comes from the engine's ledger, so a donation
/// to either contract moves no share price.
contract LiquidityVault is ILiquidityVault, ERC4626 {
    using SafeERC20 for IERC20;

    /// @inheritdoc ILiquidityVault
    address public immutable engine;
    /// @dev As the engine's: 10^(18 - decimals), and 1e18 times that.
    uint256 private immutable SCALE;
    uint256 private immutable DEN;

    constructor(
        IERC20Metadata asset_,
        address engine_,
        string memory name_,
        string memory symbol_
    ) ERC20(name_, symbol_) ERC4626(asset_) {
        engine = engine_;
        SCALE = 10 ** (18 - asset_.decimals());
        DEN = WAD * SCALE;
    }

    /// @notice The LP pool marked to the oracle: the engine's realized LP balance plus what each market's open
    /// positions are worth to the pool at its price (`MarketLib.mark`, O(markets) from the engine's per-market
    /// sums). Reverts while the oracle of a market with open positions refuses a price, so nobody deposits
    /// or withdraws at a stale share price; a settled market is marked at its settlement price.
    function totalAssets() public view override(ERC4626, IERC4626) returns (uint256) {
        IPerpEngine e = IPerpEngine(engine);
        int256 value = int256(uint256(e.lpBalance()));
        uint256 count = e.marketCount();
        for (uint256 id; id < count; ++id) {
            (bool open, Market memory m) = MarketLib.loadForMark(e, id);
            if (open) value += MarketLib.mark(m, MarketLib.price(m), SCALE, DEN);
        }
        return value > 0 ? uint256(value) : 0;
    }

    /// @notice Zero while the engine is paused or the pool cannot be marked (a market with open positions
    /// has a stale or refused price): a deposit would revert then. Otherwise unlimited.
    function maxDeposit(address) public view override(ERC4626, IERC4626) returns (uint256) {
        return _acceptsDeposits() ? type(uint256).max : 0;
    }

    /// @notice As `maxDeposit`.
    function maxMint(address) public view override(ERC4626, IERC4626) returns (uint256) {
        return _acceptsDeposits() ? type(uint256).max : 0;
    }

    /// @notice The lesser of the owner's assets and the pool's free liquidity; zero while the pool cannot
    /// be marked. Never reverts.
    function maxWithdraw(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        (bool marked, uint256 assets) = _mark();
        if (!marked) return 0;
        uint256 own = _toAssets(balanceOf(owner), assets, Math.Rounding.Floor);
        return Math.min(own, IPerpEngine(engine).freeLiquidity());
    }

    /// @notice The lesser of the owner's shares and the shares that free liquidity can redeem, or zero when
    /// they would redeem for nothing (a redemption of zero assets reverts) or the pool cannot be marked.
    /// Never reverts.
    function maxRedeem(address owner) public view override(ERC4626, IERC4626) returns (uint256 shares) {
        (bool marked, uint256 assets) = _mark();
        return marked ? _maxRedeem(owner, assets) : 0;
    }

    function _maxRedeem(address owner, uint256 total) internal view returns (uint256 shares) {
        uint256 free = _toShares(IPerpEngine(engine).freeLiquidity(), total, Math.Rounding.Floor);
        shares = Math.min(balanceOf(owner), free);
        if (_toAssets(shares, total, Math.Rounding.Floor) == 0) return 0;
    }

    /// @dev ERC-4626's deposit, with the pool marked once (OpenZeppelin's reads `totalAssets` for the limit
    /// and again for the preview; here the only limit is the pause).
    function deposit(uint256 assets, address receiver) public override(ERC4626, IERC4626) returns (uint256 shares) {
        if (Pausable(engine).paused()) revert DepositsPaused();
        shares = _toShares(assets, totalAssets(), Math.Rounding.Floor);
        _deposit(_msgSender(), receiver, assets, shares);
    }

    /// @dev As `deposit`.
    function mint(uint256 shares, address receiver) public override(ERC4626, IERC4626) returns (uint256 assets) {
        if (Pausable(engine).paused()) revert DepositsPaused();
        assets = _toAssets(shares, totalAssets(), Math.Rounding.Ceil);
        _deposit(_msgSender(), receiver, assets, shares);
    }

    /// @dev ERC-4626's withdraw with the pool marked once: the limit (`maxWithdraw`) and the shares come from
    /// the same mark. A pool that cannot be marked reverts with the oracle's error.
    function withdraw(
        uint256 assets,
        address receiver,
        address owner
    ) public override(ERC4626, IERC4626) returns (uint256 shares) {
        uint256 total = totalAssets();
        uint256 max = Math.min(
            _toAssets(balanceOf(owner), total, Math.Rounding.Floor),
            IPerpEngine(engine).freeLiquidity()
        );
        if (assets > max) revert ERC4626ExceededMaxWithdraw(owner, assets, max);
        shares = _toShares(assets, total, Math.Rounding.Ceil);
        _withdraw(_msgSender(), receiver, owner, assets, shares);
    }

    /// @dev As `withdraw`, for shares (`maxRedeem`'s limit, from the same mark).
    function redeem(
        uint256 shares,
        address receiver,
        address owner
    ) public override(ERC4626, IERC4626) returns (uint256 assets) {
        uint256 total = totalAssets();
        uint256 max = _maxRedeem(owner, total);
        if (shares > max) revert ERC4626ExceededMaxRedeem(owner, shares, max);
        assets = _toAssets(shares, total, Math.Rounding.Floor);
        _withdraw(_msgSender(), receiver, owner, assets, shares);
    }

    /// @dev The LP's tokens go straight to the engine, which books them; a token that delivers less than
    /// asked (fee on transfer) is refused.
    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        if (assets == 0 || shares == 0) revert ZeroAmount();
        IERC20 token = IERC20(asset());
        uint256 before = token.balanceOf(engine);
        token.safeTransferFrom(caller, engine, assets);
        uint256 received = token.balanceOf(engine) - before;
        if (received != assets) revert TransferAmountMismatch(assets, received);
        IPerpEngine(engine).creditLiquidity(assets);
        _mint(receiver, shares);
        emit Deposit(caller, receiver, assets, shares);
    }

    /// @dev The engine pays the LP from free liquidity, or reverts with `InsufficientLiquidity`.
    function _withdraw(
        address caller,
        address receiver,
        address owner,
        uint256 assets,
        uint256 shares
    ) internal override {
        if (assets == 0 || shares == 0) revert ZeroAmount();
        if (caller != owner) _spendAllowance(owner, caller, shares);
        _burn(owner, shares);
        IPerpEngine(engine).withdrawLiquidity(receiver, assets);
        emit Withdraw(caller, receiver, owner, assets, shares);
    }

    function _acceptsDeposits() internal view returns (bool marked) {
        if (Pausable(engine).paused()) return false;
        (marked, ) = _mark();
    }

    /// @dev `totalAssets`, and whether the engine could mark the pool (it reverts on a refused price).
    function _mark() internal view returns (bool marked, uint256 assets) {
        try this.totalAssets() returns (uint256 value) {
            return (true, value);
        } catch {
            return (false, 0);
        }
    }

    function _convertToAssets(uint256 shares, Math.Rounding rounding) internal view override returns (uint256) {
        return _toAssets(shares, totalAssets(), rounding);
    }

    function _convertToShares(uint256 amount, Math.Rounding rounding) internal view override returns (uint256) {
        return _toShares(amount, totalAssets(), rounding);
    }

    /// @dev ERC-4626's conversions (with the virtual shares and asset of the offset) at a given
    /// `totalAssets`, so that a view that needs the mark twice reads it once.
    function _toAssets(uint256 shares, uint256 assets, Math.Rounding rounding) internal view returns (uint256) {
        return Math.mulDiv(shares, assets + 1, totalSupply() + 10 ** _decimalsOffset(), rounding);
    }

    function _toShares(uint256 amount, uint256 assets, Math.Rounding rounding) internal view returns (uint256) {
        return Math.mulDiv(amount, totalSupply() + 10 ** _decimalsOffset(), assets + 1, rounding);
    }

    function _decimalsOffset() internal pure override returns (uint8) {
        return 6;
    }
}
