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
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {ILiquidityVault} from "./interfaces/ILiquidityVault.sol";
import {ExecutionClass, IOrderBook} from "./interfaces/IOrderBook.sol";
import {IPerpEngine, Market, Pool} from "./interfaces/IPerpEngine.sol";
import {EngineStorage} from "./libraries/EngineStorage.sol";
import {MarketLib} from "./libraries/MarketLib.sol";
import {MathLib, WAD} from "./libraries/MathLib.sol";
import {VestingLib} from "./libraries/VestingLib.sol";

/// @title LiquidityVault
/// @notice ERC-4626 shares of the LP pool, the traders' counterparty. The pool's tokens and its ledger
/// live in the PerpEngine; `totalAssets` is the pool marked to the oracle, read from the engine's storage.
/// @dev Entry and exit cannot be timed: while any market has positions, an LP deposits or redeems by a
/// request (with the order book's delay, life and minimum execution fee: one request engine for trades and LP)
/// priced at the first oracle round after the order book's delay in each such market, or at the
/// current mark where that is worse for the LP (`executeRequest`, by the order book's executors only, so that
/// nobody, the LP included, chooses when). An executed redemption is held for `EXIT_HOLD` with its shares still in
/// the supply, then claimed by its owner at the lesser of its price and what the shares are worth: a loss that
/// is not an oracle round (a socialization the mark netted away) cannot be escaped by leaving first, as gains
/// that are not rounds cannot be taken by entering (they vest). While positions are open, the one-transaction
/// ERC-4626 functions revert with `UseRequests`, and `max*` return zero, as ERC-4626 asks of a disabled path (ERC-7540
/// makes the same split). With no positions the pool is its realized balance and they work as usual.
/// Deposits follow the engine's pause; withdrawals never do, but only free liquidity (not reserved
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

    /// @inheritdoc ILiquidityVault
    /// @dev An hour: a liquidation is paid and open to anyone, so a loss it socializes lands well within it even
    /// when keepers are slow; an executor present to execute the redemption was present to liquidate.
    uint256 public constant EXIT_HOLD = 1 hours;

    mapping(address owner => LpRequest) internal _requests;
    mapping(address owner => LpExit) internal _exits;
    /// @inheritdoc ILiquidityVault
    uint256 public heldAssets;

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

    /// @notice The LP pool marked to the oracle: the engine's realized LP balance, less the gains still vesting
    /// (`IPerpLens.unvestedGains`: covers the mark did not count and repayments, which are not oracle rounds),
    /// plus the held redemptions' assets (`heldAssets`, whose shares are still in the supply), plus what each
    /// market's open positions are worth to the pool at its price (`MarketLib.mark`, O(markets) from the engine's
    /// per-market sums). Reverts while the oracle of a market with open positions refuses a
    /// price, so nobody deposits or withdraws at a stale share price; a settled market is marked at its
    /// settlement price.
    function totalAssets() public view override(ERC4626, IERC4626) returns (uint256) {
        IPerpEngine e = IPerpEngine(engine);
        (uint256 balance, uint256 reserved, uint256 unvested) = _pool(e);
        int256 value = int256(balance + heldAssets) - int256(unvested);
        uint256 count = e.marketCount();
        for (uint256 id; id < count; ++id) {
            (bool open, Market memory m) = EngineStorage.marketForMark(e, id, reserved, balance);
            if (open) value += MarketLib.mark(m, MarketLib.price(m), SCALE, DEN);
        }
        return MathLib.pos(value);
    }

    /// @notice Zero while any market has positions (deposits then go through `requestDeposit`), while the
    /// engine is paused, or while the pool cannot be marked: a deposit would revert then. Otherwise unlimited.
    function maxDeposit(address) public view override(ERC4626, IERC4626) returns (uint256) {
        return _acceptsDeposits() && !_anyPositions() ? type(uint256).max : 0;
    }

    /// @notice As `maxDeposit`.
    function maxMint(address) public view override(ERC4626, IERC4626) returns (uint256) {
        return _acceptsDeposits() && !_anyPositions() ? type(uint256).max : 0;
    }

    /// @notice The lesser of the owner's assets and the pool's free liquidity; zero while any market has
    /// positions (withdrawals then go through `requestRedeem`) or the pool cannot be marked. Never reverts.
    function maxWithdraw(address owner) public view override(ERC4626, IERC4626) returns (uint256) {
        (bool marked, uint256 assets) = _mark();
        if (!marked || _anyPositions()) return 0;
        uint256 own = _toAssets(balanceOf(owner), assets, Math.Rounding.Floor);
        return Math.min(own, IPerpEngine(engine).freeLiquidity());
    }

    /// @notice The lesser of the owner's shares and the shares that free liquidity can redeem, or zero when
    /// they would redeem for nothing (a redemption of zero assets reverts), while any market has positions
    /// (see `requestRedeem`), or while the pool cannot be marked. Never reverts.
    function maxRedeem(address owner) public view override(ERC4626, IERC4626) returns (uint256 shares) {
        (bool marked, uint256 assets) = _mark();
        return marked && !_anyPositions() ? _maxRedeem(owner, assets) : 0;
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
        if (_anyPositions()) revert UseRequests();
        shares = _toShares(assets, totalAssets(), Math.Rounding.Floor);
        _deposit(_msgSender(), receiver, assets, shares);
    }

    /// @dev As `deposit`.
    function mint(uint256 shares, address receiver) public override(ERC4626, IERC4626) returns (uint256 assets) {
        if (Pausable(engine).paused()) revert DepositsPaused();
        if (_anyPositions()) revert UseRequests();
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
        if (_anyPositions()) revert UseRequests();
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
        if (_anyPositions()) revert UseRequests();
        uint256 total = totalAssets();
        uint256 max = _maxRedeem(owner, total);
        if (shares > max) revert ERC4626ExceededMaxRedeem(owner, shares, max);
        assets = _toAssets(shares, total, Math.Rounding.Floor);
        _withdraw(_msgSender(), receiver, owner, assets, shares);
    }

    // ================================================================ requests

    /// @inheritdoc ILiquidityVault
    function requestDeposit(uint256 assets, uint256 minShares, uint256 executionFee) external {
        if (Pausable(engine).paused()) revert DepositsPaused();
        _request(assets, minShares, executionFee, false);
        _pull(msg.sender, address(this), assets + executionFee);
    }

    /// @inheritdoc ILiquidityVault
    function requestRedeem(uint256 shares, uint256 minAssets, uint256 executionFee) external {
        _request(shares, minAssets, executionFee, true);
        _transfer(msg.sender, address(this), shares);
        _pull(msg.sender, address(this), executionFee);
    }

    /// @inheritdoc ILiquidityVault
    function executeRequest(address owner, uint80[] calldata roundIds) external returns (uint256 out) {
        // One rule for who executes, in one place: the order book's executor set.
        if (!_book().isExecutor(msg.sender)) revert NotExecutor(msg.sender);
        LpRequest memory r = _requests[owner];
        if (r.amount == 0) revert NoLpRequest(owner);
        if (block.timestamp > r.expiresAt) revert LpRequestExpired(owner, r.expiresAt);
        (uint256 atRounds, uint256 current) = _marks(roundIds, r.notBefore);
        delete _requests[owner];
        uint256 total;
        if (r.redeem) {
            total = Math.min(atRounds, current);
            out = _toAssets(r.amount, total, Math.Rounding.Floor);
            if (out == 0) revert ZeroAmount();
            if (out < r.limit) return _refuse(owner, r, out);
            // The assets leave the pool's free liquidity now; the shares stay in the supply for the hold.
            IPerpEngine(engine).withdrawLiquidity(address(this), out);
            heldAssets += out;
            LpExit storage x = _exits[owner];
            (uint256 shares, uint256 assets) = (x.shares + r.amount, x.assets + out);
            (x.shares, x.assets) = (SafeCast.toUint112(shares), SafeCast.toUint96(assets));
            x.claimableAt = uint48(block.timestamp + EXIT_HOLD);
            emit LpRequestExecuted(owner, true, out, r.amount, total, r.executionFee);
            emit LpExitHeld(owner, shares, assets, block.timestamp + EXIT_HOLD);
        } else {
            if (Pausable(engine).paused()) revert DepositsPaused();
            total = Math.max(atRounds, current);
            out = _toShares(r.amount, total, Math.Rounding.Floor);
            if (out == 0) revert ZeroAmount();
            if (out < r.limit) return _refuse(owner, r, out);
            IERC20(asset()).safeTransfer(engine, r.amount);
            IPerpEngine(engine).creditLiquidity(r.amount);
            _mint(owner, out);
            emit Deposit(owner, owner, r.amount, out);
            emit LpRequestExecuted(owner, false, r.amount, out, total, r.executionFee);
        }
        _payExecutor(r.executionFee);
    }

    /// @inheritdoc ILiquidityVault
    function claimExit(address receiver) external returns (uint256 paid) {
        if (receiver == address(0)) revert ZeroReceiver();
        LpExit memory x = _exits[msg.sender];
        if (x.shares == 0) revert NoLpExit(msg.sender);
        if (block.timestamp < x.claimableAt) revert LpExitNotClaimable(msg.sender, x.claimableAt);
        paid = Math.min(x.assets, _toAssets(x.shares, totalAssets(), Math.Rounding.Floor));
        delete _exits[msg.sender];
        heldAssets -= x.assets;
        _burn(address(this), x.shares);
        IERC20 token = IERC20(asset());
        uint256 back = x.assets - paid;
        if (back > 0) {
            token.safeTransfer(engine, back);
            IPerpEngine(engine).creditLiquidity(back);
        }
        token.safeTransfer(receiver, paid);
        emit Withdraw(msg.sender, receiver, msg.sender, paid, x.shares);
        emit LpExitClaimed(msg.sender, receiver, x.shares, x.assets, paid);
    }

    /// @inheritdoc ILiquidityVault
    function lpExit(address owner) external view returns (LpExit memory) {
        return _exits[owner];
    }

    /// @inheritdoc ILiquidityVault
    function cancelRequest(address owner) external {
        LpRequest memory r = _requests[owner];
        if (r.amount == 0) revert NoLpRequest(owner);
        if (block.timestamp <= r.expiresAt) revert LpRequestNotExpired(owner, r.expiresAt);
        delete _requests[owner];
        // Nobody executed it in the executors' window, and the owner could not: the fee is theirs again.
        _returnEscrow(owner, r, r.executionFee);
        emit LpRequestCancelled(owner, r.redeem, r.amount, r.executionFee);
    }

    /// @dev Cancels a request (already deleted) that would pay `out`, below its owner's limit: the escrow goes
    /// back, the fee to the executor who carried it out.
    function _refuse(address owner, LpRequest memory r, uint256 out) internal returns (uint256) {
        _returnEscrow(owner, r, 0);
        _payExecutor(r.executionFee);
        emit LpRequestRefused(owner, r.redeem, out, r.limit, r.executionFee);
        return 0;
    }

    /// @dev Returns a request's escrow to its owner, with `fee` of its execution fee: shares directly, collateral
    /// through the order book, which keeps what the token refuses in its `claimable` (one ledger of refused
    /// refunds, so that a blocklisted owner never reverts a cancellation or a refusal).
    function _returnEscrow(address owner, LpRequest memory r, uint256 fee) internal {
        uint256 collateral = fee;
        if (r.redeem) _transfer(address(this), owner, r.amount);
        else collateral += r.amount;
        if (collateral == 0) return;
        IOrderBook book = _book();
        IERC20(asset()).safeTransfer(address(book), collateral);
        book.refund(owner, collateral);
    }

    /// @dev Pays the execution fee to the executor (the caller), who checked that it can receive the token.
    function _payExecutor(uint256 fee) internal {
        if (fee > 0) IERC20(asset()).safeTransfer(msg.sender, fee);
    }

    /// @dev The order book: who executes, the delay, the life and the minimum fee of every request.
    function _book() internal view returns (IOrderBook) {
        return IOrderBook(IPerpEngine(engine).orders());
    }

    /// @inheritdoc ILiquidityVault
    function lpRequest(address owner) external view returns (LpRequest memory) {
        return _requests[owner];
    }

    function _request(uint256 amount, uint256 limit, uint256 executionFee, bool isRedeem) internal {
        if (amount == 0) revert ZeroAmount();
        if (_requests[msg.sender].amount != 0) revert LpRequestPending(msg.sender);
        // The same delay, life and fee rule as trades: the order book's (it reverts `ExecutionFeeTooLow`).
        (uint256 notBefore, uint256 expiresAt) = _book().requestTerms(ExecutionClass.Lp, executionFee);
        _requests[msg.sender] = LpRequest(
            SafeCast.toUint128(amount),
            uint32(notBefore),
            uint32(expiresAt),
            isRedeem,
            SafeCast.toUint128(limit),
            SafeCast.toUint96(executionFee)
        );
        emit LpRequested(msg.sender, isRedeem, amount, limit, executionFee, notBefore, expiresAt);
    }

    /// @dev The pool marked at the first round at or after `notBefore` of each market with positions, and at
    /// the current prices (a settled market at its settlement price, both times).
    function _marks(uint80[] calldata roundIds, uint256 notBefore) internal view returns (uint256, uint256) {
        IPerpEngine e = IPerpEngine(engine);
        (uint256 balance, uint256 reserved, uint256 unvested) = _pool(e);
        // Gains still vesting are not the pool's yet, for a deposit or a redemption alike.
        int256 atRounds = int256(balance + heldAssets) - int256(unvested);
        int256 current = atRounds;
        uint256 count = e.marketCount();
        if (roundIds.length != count) revert RoundCount(roundIds.length, count);
        for (uint256 id; id < count; ++id) {
            (bool open, Market memory m) = EngineStorage.marketForMark(e, id, reserved, balance);
            if (!open) continue;
            (uint256 roundPrice, uint256 latest) = m.settlementPrice != 0
                ? (m.settlementPrice, m.settlementPrice)
                : m.oracle.roundPrice(roundIds[id], notBefore, false);
            atRounds += MarketLib.mark(m, roundPrice, SCALE, DEN);
            current += MarketLib.mark(m, latest, SCALE, DEN);
        }
        return (MathLib.pos(atRounds), MathLib.pos(current));
    }

    /// @dev The engine's LP balance, total reserved and gains still vesting, from its pool's first two words
    /// (EngineStorage.poolForMark) in one call.
    function _pool(IPerpEngine e) internal view returns (uint256 balance, uint256 reserved, uint256 unvested) {
        Pool memory pool = EngineStorage.poolForMark(e);
        return (
            pool.lpBalance,
            pool.totalReserved,
            VestingLib.unvested(pool.vesting, pool.vestingFrom, pool.vestingEnd)
        );
    }

    /// @dev Whether any market has positions: then deposits and withdrawals in one transaction are closed.
    function _anyPositions() internal view returns (bool) {
        IPerpEngine e = IPerpEngine(engine);
        uint256 count = e.marketCount();
        for (uint256 id; id < count; ++id) {
            (bool open, ) = EngineStorage.marketForMark(e, id, 0, 0);
            if (open) return true;
        }
        return false;
    }

    /// @dev Moves `assets` from `from` to `to`, refusing a token that delivers less than asked (fee on transfer).
    function _pull(address from, address to, uint256 assets) private {
        IERC20 token = IERC20(asset());
        uint256 before = token.balanceOf(to);
        token.safeTransferFrom(from, to, assets);
        uint256 received = token.balanceOf(to) - before;
        if (received != assets) revert TransferAmountMismatch(assets, received);
    }

    /// @dev The LP's tokens go straight to the engine, which books them; a token that delivers less than
    /// asked (fee on transfer) is refused.
    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        if (assets == 0 || shares == 0) revert ZeroAmount();
        _pull(caller, engine, assets);
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
