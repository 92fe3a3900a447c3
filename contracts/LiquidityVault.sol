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

import {ERC7540Operators} from "./base/ERC7540Operators.sol";
import {ILiquidityVault} from "./interfaces/ILiquidityVault.sol";
import {ExecutionClass, IOrderBook} from "./interfaces/IOrderBook.sol";
import {IPerpEngine, Market, Pool} from "./interfaces/IPerpEngine.sol";
import {EngineStorage} from "./libraries/EngineStorage.sol";
import {MarketLib} from "./libraries/MarketLib.sol";
import {MathLib, WAD} from "./libraries/MathLib.sol";
import {VestingLib} from "./libraries/VestingLib.sol";

/// @title LiquidityVault
/// @notice ERC-4626 shares of the LP pool, the traders' counterparty, entered and left through ERC-7540
/// requests only (asynchronous deposit and redeem). The pool's tokens and its ledger live in the PerpEngine;
/// `totalAssets` is the pool marked to the oracle, read from the engine's storage.
/// @dev Entry and exit cannot be timed: an LP requests (with the order book's delay, life and minimum execution
/// fee: one request engine for trades and LP), an executor of the order book fulfils the request at the first
/// oracle round after the delay in each market with positions, or at the current mark where that is worse for
/// the LP (`executeRequest`, so that nobody, the LP included, chooses when), and the controller claims: a
/// deposit's shares at once, a redemption after `EXIT_HOLD`, at the lesser of its price and what the shares
/// are worth then, so that a loss that is not an oracle round (a socialization the mark netted away) cannot be
/// escaped by leaving first, as gains that are not rounds cannot be taken by entering (they vest). The same
/// rules hold with no position open (the pool is then its realized balance and no round is read). Requests are
/// aggregated per controller (request id 0), one pending at a time. Deposits follow the engine's pause;
/// redemptions never do, but only free liquidity (not reserved for open positions' capped profits) can leave.
/// A 6-decimal offset of virtual shares defeats the first-depositor inflation attack, and the pool's value
/// comes from the engine's ledger, so a donation to either contract moves no share price.
contract LiquidityVault is ILiquidityVault, ERC7540Operators, ERC4626 {
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

    mapping(address controller => LpRequest) internal _requests;
    mapping(address controller => LpDeposit) internal _deposits;
    mapping(address controller => LpExit) internal _exits;
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

    /// @notice ERC-165: ERC-7540's operators, asynchronous deposit and asynchronous redeem, and ERC-7575.
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return
            interfaceId == 0x01ffc9a7 || // ERC-165
            interfaceId == OPERATOR_INTERFACE ||
            interfaceId == 0xce3bbe50 || // ERC-7540 asynchronous deposit
            interfaceId == 0x620ee8e4 || // ERC-7540 asynchronous redeem
            interfaceId == ERC7575_INTERFACE;
    }

    /// @notice The LP pool marked to the oracle: the engine's realized LP balance, less the gains still vesting
    /// (`IPerpLens.unvestedGains`: covers the mark did not count and repayments, which are not oracle rounds),
    /// plus the held redemptions' assets (`heldAssets`, whose shares are still in the supply), plus what each
    /// market's open positions are worth to the pool at its price (`MarketLib.mark`, O(markets) from the engine's
    /// per-market sums). Reverts while the oracle of a market with open positions refuses a
    /// price; a settled market is marked at its settlement price.
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

    // ================================================================ requests

    /// @notice ERC-7540's request, with no bound and the order book's minimum fee (see `requestDepositWithLimit`).
    function requestDeposit(uint256 assets, address controller, address owner) external returns (uint256) {
        return requestDepositWithLimit(assets, controller, owner, 0, _book().minimumFee(ExecutionClass.Lp));
    }

    /// @inheritdoc ILiquidityVault
    function requestDepositWithLimit(
        uint256 assets,
        address controller,
        address owner,
        uint256 minShares,
        uint256 executionFee
    ) public returns (uint256) {
        if (Pausable(engine).paused()) revert DepositsPaused();
        _checkOperator(owner);
        _request(controller, assets, minShares, executionFee, false);
        if (owner == msg.sender) {
            _pull(owner, assets + executionFee);
        } else {
            _pull(owner, assets);
            _pull(msg.sender, executionFee);
        }
        emit DepositRequest(controller, owner, 0, msg.sender, assets);
        return 0;
    }

    /// @notice ERC-7540's request, with no bound and the order book's minimum fee (see `requestRedeemWithLimit`).
    function requestRedeem(uint256 shares, address controller, address owner) external returns (uint256) {
        return requestRedeemWithLimit(shares, controller, owner, 0, _book().minimumFee(ExecutionClass.Lp));
    }

    /// @inheritdoc ILiquidityVault
    function requestRedeemWithLimit(
        uint256 shares,
        address controller,
        address owner,
        uint256 minAssets,
        uint256 executionFee
    ) public returns (uint256) {
        if (msg.sender != owner && !isOperator[owner][msg.sender]) _spendAllowance(owner, msg.sender, shares);
        // Claimable shares never become pending again: a held redemption is claimed before the next is asked.
        if (_exits[controller].shares != 0) revert LpExitUnclaimed(controller);
        _request(controller, shares, minAssets, executionFee, true);
        _transfer(owner, address(this), shares);
        _pull(msg.sender, executionFee);
        emit RedeemRequest(controller, owner, 0, msg.sender, shares);
        return 0;
    }

    /// @inheritdoc ILiquidityVault
    function executeRequest(address controller, uint80[] calldata roundIds) external returns (uint256 out) {
        // One rule for who executes, in one place: the order book's executor set.
        if (!_book().isExecutor(msg.sender)) revert NotExecutor(msg.sender);
        LpRequest memory r = _requests[controller];
        if (r.amount == 0) revert NoLpRequest(controller);
        if (block.timestamp > r.expiresAt) revert LpRequestExpired(controller, r.expiresAt);
        (uint256 atRounds, uint256 current) = _marks(roundIds, r.notBefore);
        delete _requests[controller];
        uint256 total;
        if (r.redeem) {
            total = Math.min(atRounds, current);
            out = _toAssets(r.amount, total, Math.Rounding.Floor);
            if (out == 0) revert ZeroAmount();
            if (out < r.limit) return _refuse(controller, r, out);
            // The assets leave the pool's free liquidity now; the shares stay in the supply for the hold.
            IPerpEngine(engine).withdrawLiquidity(address(this), out);
            heldAssets += out;
            uint256 claimableAt = block.timestamp + EXIT_HOLD;
            _exits[controller] = LpExit(SafeCast.toUint112(r.amount), SafeCast.toUint96(out), uint48(claimableAt));
            emit LpRequestExecuted(controller, true, out, r.amount, total, r.executionFee);
            emit LpExitHeld(controller, r.amount, out, claimableAt);
        } else {
            if (Pausable(engine).paused()) revert DepositsPaused();
            total = Math.max(atRounds, current);
            out = _toShares(r.amount, total, Math.Rounding.Floor);
            if (out == 0) revert ZeroAmount();
            if (out < r.limit) return _refuse(controller, r, out);
            IERC20(asset()).safeTransfer(engine, r.amount);
            IPerpEngine(engine).creditLiquidity(r.amount);
            // The shares wait in the vault for the controller's claim (ERC-7540's claimable state).
            _mint(address(this), out);
            LpDeposit storage d = _deposits[controller];
            (d.assets, d.shares) = (d.assets + uint128(r.amount), SafeCast.toUint128(d.shares + out));
            emit LpRequestExecuted(controller, false, r.amount, out, total, r.executionFee);
        }
        _payExecutor(r.executionFee);
    }

    /// @inheritdoc ILiquidityVault
    function cancelRequest(address controller) external {
        LpRequest memory r = _requests[controller];
        if (r.amount == 0) revert NoLpRequest(controller);
        if (block.timestamp <= r.expiresAt) revert LpRequestNotExpired(controller, r.expiresAt);
        delete _requests[controller];
        // Nobody executed it in the executors' window, and the controller could not: the fee is theirs again.
        _returnEscrow(controller, r, r.executionFee);
        emit LpRequestCancelled(controller, r.redeem, r.amount, r.executionFee);
    }

    /// @notice The pending deposit's assets (`requestId` 0; any other id has none).
    function pendingDepositRequest(uint256 requestId, address controller) external view returns (uint256) {
        LpRequest memory r = _requests[controller];
        return requestId == 0 && !r.redeem ? r.amount : 0;
    }

    /// @notice The executed deposits' assets not yet claimed.
    function claimableDepositRequest(uint256 requestId, address controller) external view returns (uint256) {
        return requestId == 0 ? _deposits[controller].assets : 0;
    }

    /// @notice The pending redemption's shares, plus those of an executed one still in its hold.
    function pendingRedeemRequest(uint256 requestId, address controller) external view returns (uint256 shares) {
        if (requestId != 0) return 0;
        LpRequest memory r = _requests[controller];
        LpExit memory x = _exits[controller];
        if (r.redeem) shares = r.amount;
        if (block.timestamp < x.claimableAt) shares += x.shares;
    }

    /// @notice The held redemption's shares once its hold is over.
    function claimableRedeemRequest(uint256 requestId, address controller) external view returns (uint256) {
        LpExit memory x = _exits[controller];
        return requestId == 0 && block.timestamp >= x.claimableAt ? x.shares : 0;
    }

    // ================================================================ claims

    /// @notice `controller`'s claimable deposit assets (ERC-7540: what `deposit` can claim).
    function maxDeposit(address controller) public view override(ERC4626, IERC4626) returns (uint256) {
        return _deposits[controller].assets;
    }

    /// @notice `controller`'s claimable deposit shares (what `mint` can claim).
    function maxMint(address controller) public view override(ERC4626, IERC4626) returns (uint256) {
        return _deposits[controller].shares;
    }

    /// @notice What `withdraw` can claim of `controller`'s held redemption now: the lesser of its assets and
    /// what its shares are worth; zero during the hold or while the pool cannot be marked. Never reverts.
    function maxWithdraw(address controller) public view override(ERC4626, IERC4626) returns (uint256) {
        LpExit memory x = _exits[controller];
        (bool marked, uint256 total) = _mark();
        if (!marked || block.timestamp < x.claimableAt) return 0;
        return Math.min(x.assets, _toAssets(x.shares, total, Math.Rounding.Floor));
    }

    /// @notice The held redemption's shares once its hold is over (what `redeem` can claim); zero while the pool
    /// cannot be marked (the claim values the shares, so it would revert). Never reverts.
    function maxRedeem(address controller) public view override(ERC4626, IERC4626) returns (uint256) {
        LpExit memory x = _exits[controller];
        if (block.timestamp < x.claimableAt) return 0;
        (bool marked, ) = _mark();
        return marked ? x.shares : 0;
    }

    /// @notice Claims `assets` of the caller's executed deposits (ERC-7540's `deposit` with the caller as
    /// controller).
    function deposit(uint256 assets, address receiver) public override(ERC4626, IERC4626) returns (uint256) {
        return deposit(assets, receiver, msg.sender);
    }

    /// @notice Claims `assets` of `controller`'s executed deposits, sending the shares they bought to `receiver`
    /// (a part at the executions' average price, rounded down). The caller is the controller or its operator.
    function deposit(uint256 assets, address receiver, address controller) public returns (uint256 shares) {
        _checkOperator(controller);
        LpDeposit memory d = _deposits[controller];
        if (assets > d.assets) revert ExceedsClaimable(controller, assets, d.assets);
        shares = _part(d.shares, assets, d.assets, Math.Rounding.Floor);
        _claimDeposit(controller, receiver, d, assets, shares);
    }

    /// @notice Claims `shares` of the caller's executed deposits.
    function mint(uint256 shares, address receiver) public override(ERC4626, IERC4626) returns (uint256) {
        return mint(shares, receiver, msg.sender);
    }

    /// @notice Claims `shares` of `controller`'s executed deposits for `receiver` (their assets rounded up).
    function mint(uint256 shares, address receiver, address controller) public returns (uint256 assets) {
        _checkOperator(controller);
        LpDeposit memory d = _deposits[controller];
        if (shares > d.shares) revert ExceedsClaimable(controller, shares, d.shares);
        assets = _part(d.assets, shares, d.shares, Math.Rounding.Ceil);
        _claimDeposit(controller, receiver, d, assets, shares);
    }

    /// @notice Claims `controller`'s held redemption for `shares` once its hold is over, paying `receiver` the
    /// lesser of their part of the held assets and what they are worth now (`totalAssets` at the current
    /// prices): a loss that landed during the hold is shared, a gain stays with the pool, and what is not paid
    /// goes back to it. The caller is the controller or its operator (the moment can only lower the payout).
    function redeem(
        uint256 shares,
        address receiver,
        address controller
    ) public override(ERC4626, IERC4626) returns (uint256 assets) {
        LpExit memory x = _claimableExit(controller);
        if (shares > x.shares) revert ExceedsClaimable(controller, shares, x.shares);
        uint256 held = _part(x.assets, shares, x.shares, Math.Rounding.Floor);
        assets = Math.min(held, _toAssets(shares, totalAssets(), Math.Rounding.Floor));
        _claimExit(controller, receiver, x, shares, held, assets);
    }

    /// @notice Claims `assets` of `controller`'s held redemption (at most `maxWithdraw`), burning the part of
    /// its shares they take at the claim's price (rounded up).
    function withdraw(
        uint256 assets,
        address receiver,
        address controller
    ) public override(ERC4626, IERC4626) returns (uint256 shares) {
        LpExit memory x = _claimableExit(controller);
        uint256 worth = Math.min(x.assets, _toAssets(x.shares, totalAssets(), Math.Rounding.Floor));
        if (assets > worth) revert ExceedsClaimable(controller, assets, worth);
        shares = _part(x.shares, assets, worth, Math.Rounding.Ceil);
        uint256 held = _part(x.assets, shares, x.shares, Math.Rounding.Floor);
        _claimExit(controller, receiver, x, shares, held, assets);
    }

    /// @notice Reverts: a deposit is priced at a later round (ERC-7540).
    function previewDeposit(uint256) public pure override(ERC4626, IERC4626) returns (uint256) {
        revert AsyncFlow();
    }

    /// @notice Reverts, as `previewDeposit`.
    function previewMint(uint256) public pure override(ERC4626, IERC4626) returns (uint256) {
        revert AsyncFlow();
    }

    /// @notice Reverts: a redemption is priced at a later round and paid after its hold (ERC-7540).
    function previewWithdraw(uint256) public pure override(ERC4626, IERC4626) returns (uint256) {
        revert AsyncFlow();
    }

    /// @notice Reverts, as `previewWithdraw`.
    function previewRedeem(uint256) public pure override(ERC4626, IERC4626) returns (uint256) {
        revert AsyncFlow();
    }

    /// @inheritdoc ILiquidityVault
    function lpRequest(address controller) external view returns (LpRequest memory) {
        return _requests[controller];
    }

    /// @inheritdoc ILiquidityVault
    function lpDeposit(address controller) external view returns (LpDeposit memory) {
        return _deposits[controller];
    }

    /// @inheritdoc ILiquidityVault
    function lpExit(address controller) external view returns (LpExit memory) {
        return _exits[controller];
    }

    // ================================================================ internals

    function _request(address controller, uint256 amount, uint256 limit, uint256 executionFee, bool isRedeem) internal {
        if (amount == 0) revert ZeroAmount();
        if (controller == address(0)) revert ZeroController();
        if (_requests[controller].amount != 0) revert LpRequestPending(controller);
        // The same delay, life and fee rule as trades: the order book's (it reverts `ExecutionFeeTooLow`).
        (uint256 notBefore, uint256 expiresAt) = _book().requestTerms(ExecutionClass.Lp, executionFee);
        _requests[controller] = LpRequest(
            SafeCast.toUint128(amount),
            uint32(notBefore),
            uint32(expiresAt),
            isRedeem,
            SafeCast.toUint128(limit),
            SafeCast.toUint96(executionFee)
        );
        emit LpRequested(controller, isRedeem, amount, limit, executionFee, notBefore, expiresAt);
    }

    function _claimDeposit(
        address controller,
        address receiver,
        LpDeposit memory d,
        uint256 assets,
        uint256 shares
    ) internal {
        if (shares == 0) revert ZeroAmount();
        (d.assets, d.shares) = (d.assets - uint128(assets), d.shares - uint128(shares));
        _deposits[controller] = d;
        _transfer(address(this), receiver, shares);
        emit Deposit(controller, receiver, assets, shares);
    }

    /// @dev The controller's held redemption, once the caller may claim it and its hold is over.
    function _claimableExit(address controller) internal view returns (LpExit memory x) {
        _checkOperator(controller);
        x = _exits[controller];
        if (x.shares == 0) revert NoLpExit(controller);
        if (block.timestamp < x.claimableAt) revert LpExitNotClaimable(controller, x.claimableAt);
    }

    /// @dev Burns `shares` of the held redemption, pays `paid` of their `held` assets to `receiver` and returns
    /// the rest to the pool.
    function _claimExit(
        address controller,
        address receiver,
        LpExit memory x,
        uint256 shares,
        uint256 held,
        uint256 paid
    ) internal {
        if (shares == 0) revert ZeroAmount();
        if (receiver == address(0)) revert ZeroReceiver();
        if (shares == x.shares) delete _exits[controller];
        else _exits[controller] = LpExit(x.shares - uint112(shares), x.assets - uint96(held), x.claimableAt);
        heldAssets -= held;
        _burn(address(this), shares);
        IERC20 token = IERC20(asset());
        uint256 back = held - paid;
        if (back > 0) {
            token.safeTransfer(engine, back);
            IPerpEngine(engine).creditLiquidity(back);
        }
        token.safeTransfer(receiver, paid);
        emit Withdraw(msg.sender, receiver, controller, paid, shares);
        emit LpExitClaimed(controller, receiver, shares, held, paid);
    }

    /// @dev Cancels a request (already deleted) that would pay `out`, below its controller's limit: the escrow
    /// goes back, the fee to the executor who carried it out.
    function _refuse(address controller, LpRequest memory r, uint256 out) internal returns (uint256) {
        _returnEscrow(controller, r, 0);
        _payExecutor(r.executionFee);
        emit LpRequestRefused(controller, r.redeem, out, r.limit, r.executionFee);
        return 0;
    }

    /// @dev Returns a request's escrow to its controller, with `fee` of its execution fee: shares directly,
    /// collateral through the order book, which keeps what the token refuses in its `claimable` (one ledger of
    /// refused refunds, so that a blocklisted controller never reverts a cancellation or a refusal).
    function _returnEscrow(address controller, LpRequest memory r, uint256 fee) internal {
        uint256 collateral = fee;
        if (r.redeem) _transfer(address(this), controller, r.amount);
        else collateral += r.amount;
        if (collateral == 0) return;
        IOrderBook book = _book();
        IERC20(asset()).safeTransfer(address(book), collateral);
        book.refund(controller, collateral);
    }

    /// @dev Pays the execution fee to the executor (the caller), who checked that it can receive the token.
    function _payExecutor(uint256 fee) internal {
        if (fee > 0) IERC20(asset()).safeTransfer(msg.sender, fee);
    }

    /// @dev The order book: who executes, the delay, the life and the minimum fee of every request.
    function _book() internal view returns (IOrderBook) {
        return IOrderBook(IPerpEngine(engine).orders());
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
            int256 atRound = MarketLib.mark(m, roundPrice, SCALE, DEN);
            atRounds += atRound;
            // Executed at the latest round (the usual case), the market is marked once.
            current += latest == roundPrice ? atRound : MarketLib.mark(m, latest, SCALE, DEN);
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

    /// @dev Moves `assets` from `from` into the vault, refusing a token that delivers less than asked (fee on
    /// transfer).
    function _pull(address from, uint256 assets) private {
        if (assets == 0) return;
        IERC20 token = IERC20(asset());
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), assets);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != assets) revert TransferAmountMismatch(assets, received);
    }

    /// @dev `whole x part / all`, rounded as asked, and exactly `whole` when `part` is `all`: what a claim of
    /// `part` takes of the record's other side.
    function _part(uint256 whole, uint256 part, uint256 all, Math.Rounding rounding) private pure returns (uint256) {
        return part == all ? whole : Math.mulDiv(whole, part, all, rounding);
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
