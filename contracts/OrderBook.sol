// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Execution, ExecutionClass, ExecutionGas, IOrderBook, OrderKind, Request} from "./interfaces/IOrderBook.sol";
import {IPerpEngine} from "./interfaces/IPerpEngine.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {EngineStorage} from "./libraries/EngineStorage.sol";
import {MathLib, WAD} from "./libraries/MathLib.sol";

/// @title OrderBook
/// @notice Every trade that adds risk or realizes PnL goes through here: a request now, an execution at the
/// price of the first oracle round at least `minDelay` later. A round visible in the mempool when the
/// request is sent lands before that and cannot price it. Nobody chooses when a request executes: only the
/// book's executors (`EXECUTOR_ROLE`: the deployment's keepers and Automation upkeeps, granted by the
/// timelock) execute trade requests and, through `isExecutor`, LP requests; they cannot choose a later round
/// (only the first counts) nor profit the requester by waiting (a later round that is worse for the requester
/// sets the price). Nobody may cancel before `expiresAt` (`createdAt + maxAge`, the end of the executors'
/// window); after it anyone may, and the owner gets the whole escrow and the fee back: a requester who cannot
/// execute, cannot cancel early and gets only a refund has no option to exercise, and nobody gains by not
/// executing. The fee a request carries must pay its execution's gas at the request's own gas price
/// (`minimumFee`), so that an executor who prices gas as the requester did is paid to execute it; LP requests
/// take the same delay, life and minimum from here (`requestTerms`). And no new risk executes that a gap of a
/// market's design size (`designGap`) would leave beyond what the backstop can cover in one window: the guard
/// bounds every guarded market's shortfall at its design gap by its larger side's notional times (gap × (1 +
/// keeper fee ratio) − maintenance ratio), sums the bounds, and cancels an Open or Increase that raises its
/// market's bound and would take the sum past the backstop's `maxCover()` (`GapCoverExceeded`).
/// @dev Holds the escrows of pending requests and the refunds the token refused (`claimable`, the vault's
/// included), nothing else: its collateral balance equals their sum. The engine pulls an executed request's
/// collateral from here. A pending request is one storage word (keccak256 of the request and its window, which
/// the executor passes back), so that asking costs one new slot.
contract OrderBook is IOrderBook, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;
    using MathLib for uint256;

    /// @inheritdoc IOrderBook
    bytes32 public constant EXECUTOR_ROLE = keccak256("EXECUTOR_ROLE");

    /// @inheritdoc IOrderBook
    address public immutable engine;
    /// @inheritdoc IOrderBook
    address public immutable gasTokenOracle;
    IERC20 private immutable COLLATERAL;
    uint256 private immutable ONE_TOKEN;
    /// @dev 1e36 / ONE_TOKEN: wei (1e18 a gas token), or a size (18 decimals), times an 18-decimal USD price,
    /// over it, is collateral (the engine's `DEN`).
    uint256 private immutable DEN;

    /// @inheritdoc IOrderBook
    uint32 public minDelay;
    /// @inheritdoc IOrderBook
    uint32 public maxAge;
    /// @inheritdoc IOrderBook
    uint96 public minExecutionFee;
    // The gas estimates share the parameters' word, which `request` reads anyway (see `ExecutionGas`).
    uint24 internal _openGas;
    uint24 internal _closeGas;
    uint24 internal _lpGas;
    uint24 internal _lpGasPerMarket;
    /// @inheritdoc IOrderBook
    mapping(address account => uint256) public claimable;

    /// @dev keccak256(abi.encode(request)), the window included; zero when none is pending.
    mapping(address account => mapping(uint256 marketId => bytes32)) internal _pending;
    /// @dev Each market's oracle, read from the engine once: a market's oracle never changes.
    mapping(uint256 marketId => IPriceOracle) internal _oracles;

    /// @dev A market's design gap and its exposure as last computed, in one word.
    struct GapGuard {
        uint64 designGap;
        uint192 exposure;
    }

    mapping(uint256 marketId => GapGuard) internal _guards;
    /// @inheritdoc IOrderBook
    uint256 public totalGapExposure;

    /// @param engine_ The engine this book trades on; its collateral is the escrow token.
    /// @param admin Holds the parameters and grants `EXECUTOR_ROLE` (the timelock in a deployment).
    /// @param gasTokenOracle_ Prices the chain's gas token in USD (the deployment's ETH-USD oracle), to turn
    /// execution gas into collateral; never zero (`ZeroGasTokenOracle`).
    /// @param executionGas_ The gas each class of execution is expected to cost (`setExecutionGas`).
    /// @param executors Granted `EXECUTOR_ROLE` now (the deployment's keeper), so that requests execute from
    /// the first block without a timelocked grant.
    constructor(
        address engine_,
        address admin,
        address gasTokenOracle_,
        uint256 minDelay_,
        uint256 maxAge_,
        uint256 minExecutionFee_,
        ExecutionGas memory executionGas_,
        address[] memory executors
    ) {
        if (gasTokenOracle_ == address(0)) revert ZeroGasTokenOracle();
        engine = engine_;
        gasTokenOracle = gasTokenOracle_;
        COLLATERAL = IERC20(IPerpEngine(engine_).collateral());
        uint256 oneToken = 10 ** IERC20Metadata(address(COLLATERAL)).decimals();
        ONE_TOKEN = oneToken;
        DEN = 1e36 / oneToken;
        _setParameters(minDelay_, maxAge_, minExecutionFee_, oneToken);
        _setExecutionGas(executionGas_);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        for (uint256 i; i < executors.length; ++i) _grantRole(EXECUTOR_ROLE, executors[i]);
        COLLATERAL.forceApprove(engine_, type(uint256).max);
    }

    // ================================================================ traders

    /// @inheritdoc IOrderBook
    function request(
        uint256 marketId,
        OrderKind kind,
        int256 size,
        uint256 amount,
        uint256 acceptablePrice,
        uint256 executionFee
    ) external nonReentrant {
        _oracle(marketId);
        if (_pending[msg.sender][marketId] != 0) revert RequestPending(msg.sender, marketId);
        bool escrows = _addsSize(kind);
        (uint256 notBefore, uint256 expiresAt) = requestTerms(
            escrows ? ExecutionClass.Open : ExecutionClass.Close,
            executionFee
        );
        // Open, Increase and Reduce trade a size; Close and RemoveMargin name the side with its sign.
        // Open escrows collateral and RemoveMargin takes some out; Reduce and Close move none.
        if (
            size == 0 ||
            (kind == OrderKind.Open && amount == 0) ||
            (kind == OrderKind.RemoveMargin ? amount == 0 : !escrows && amount != 0)
        ) revert InvalidRequest(kind, size, amount);
        if (acceptablePrice == 0 && _isBuy(kind, size)) revert ZeroAcceptablePrice();

        Request memory r = Request(
            kind,
            size.toInt128(),
            amount.toUint96(),
            acceptablePrice.toUint128(),
            executionFee.toUint96(),
            // All three fit until 2106.
            uint32(block.timestamp),
            uint32(notBefore),
            uint32(expiresAt)
        );
        _pending[msg.sender][marketId] = keccak256(abi.encode(r));
        _pull(msg.sender, (escrows ? amount : 0) + executionFee);
        emit OrderRequested(msg.sender, marketId, r, notBefore, expiresAt);
    }

    /// @inheritdoc IOrderBook
    function cancel(address account, uint256 marketId, Request calldata r) external nonReentrant {
        _take(account, marketId, r);
        uint256 expiresAt = r.expiresAt;
        if (block.timestamp <= expiresAt) revert RequestNotExpired(account, marketId, expiresAt);
        // Nobody executed it in the executors' window, and the owner could not: the fee is theirs again.
        uint256 escrow = _addsSize(r.kind) ? r.amount : 0;
        _pay(account, escrow + r.executionFee);
        emit OrderCancelled(
            account,
            marketId,
            account,
            escrow,
            r.executionFee,
            abi.encodeWithSelector(RequestExpired.selector, account, marketId, expiresAt)
        );
    }

    /// @inheritdoc IOrderBook
    function refund(address account, uint256 amount) external nonReentrant {
        if (msg.sender != address(IPerpEngine(engine).vault())) revert NotVault(msg.sender);
        _pay(account, amount);
    }

    /// @inheritdoc IOrderBook
    function claim(address receiver) external nonReentrant returns (uint256 amount) {
        amount = claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        claimable[msg.sender] = 0;
        COLLATERAL.safeTransfer(receiver, amount);
        emit Claimed(msg.sender, receiver, amount);
    }

    // ================================================================ keepers

    /// @inheritdoc IOrderBook
    function execute(
        address account,
        uint256 marketId,
        Request calldata r,
        uint80 roundId
    ) external nonReentrant returns (bool executed) {
        _onlyExecutor();
        _take(account, marketId, r);
        if (block.timestamp > r.expiresAt) revert RequestExpired(account, marketId, r.expiresAt);
        (uint256 roundAnswer, uint256 latest) = _oracles[marketId].roundPrice(roundId, r.notBefore, _addsRisk(r.kind));
        executed = _settle(account, marketId, roundId, r, roundAnswer, latest);
        COLLATERAL.safeTransfer(msg.sender, r.executionFee);
    }

    /// @inheritdoc IOrderBook
    function executeBatch(Execution[] calldata executions) external nonReentrant returns (uint256 done) {
        _onlyExecutor();
        uint256 fees;
        for (uint256 i; i < executions.length; ++i) {
            Execution calldata e = executions[i];
            if (!_isPending(e.account, e.marketId, e.request) || block.timestamp > e.request.expiresAt) continue;
            try _oracles[e.marketId].roundPrice(e.roundId, e.request.notBefore, _addsRisk(e.request.kind)) returns (
                uint256 roundAnswer,
                uint256 latest
            ) {
                delete _pending[e.account][e.marketId];
                _settle(e.account, e.marketId, e.roundId, e.request, roundAnswer, latest);
                fees += e.request.executionFee;
                ++done;
            } catch {}
        }
        if (fees > 0) COLLATERAL.safeTransfer(msg.sender, fees);
    }

    // ================================================================ admin

    /// @inheritdoc IOrderBook
    function setParameters(
        uint256 minDelay_,
        uint256 maxAge_,
        uint256 minExecutionFee_
    ) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setParameters(minDelay_, maxAge_, minExecutionFee_, ONE_TOKEN);
    }

    /// @inheritdoc IOrderBook
    function setExecutionGas(ExecutionGas calldata gas) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setExecutionGas(gas);
    }

    /// @inheritdoc IOrderBook
    function setDesignGap(uint256 marketId, uint256 gap) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _bound("designGap", gap, 0, ConstantsLib.MAX_DESIGN_GAP);
        _oracle(marketId);
        emit DesignGapSet(marketId, gap);
        _setExposure(marketId, gap, _guards[marketId].exposure, gap == 0 ? 0 : _exposure(marketId, gap, 0, 0));
    }

    /// @inheritdoc IOrderBook
    function refreshGapExposure(uint256 marketId) external nonReentrant returns (uint256 exposure) {
        GapGuard memory guard = _guards[marketId];
        if (guard.designGap == 0) revert NotGuarded(marketId);
        exposure = _exposure(marketId, guard.designGap, 0, 0);
        _setExposure(marketId, guard.designGap, guard.exposure, exposure);
    }

    // ================================================================ views

    /// @inheritdoc IOrderBook
    function designGap(uint256 marketId) external view returns (uint256) {
        return _guards[marketId].designGap;
    }

    /// @inheritdoc IOrderBook
    function gapExposure(uint256 marketId) external view returns (uint256) {
        return _guards[marketId].exposure;
    }

    /// @inheritdoc IOrderBook
    function minimumFee(ExecutionClass class_) public view returns (uint256 minimum) {
        minimum = minExecutionFee;
        uint256 gas = _openGas;
        if (class_ == ExecutionClass.Close) gas = _closeGas;
        else if (class_ == ExecutionClass.Lp)
            gas = _lpGas + uint256(_lpGasPerMarket) * IPerpEngine(engine).marketCount();
        uint256 gasBefore = gasleft();
        try IPriceOracle(gasTokenOracle).price() returns (uint256 gasTokenPrice) {
            // gas < 2^25 and a gas price a transaction can pay (< 2^128 wei): no overflow before the division.
            uint256 cost = Math.mulDiv(gas * tx.gasprice, gasTokenPrice, DEN, Math.Rounding.Ceil);
            if (cost > minimum) minimum = cost;
        } catch {
            // The floor stands in for a refused price; a call starved of gas by the sender is no refusal.
            if (gasleft() <= gasBefore / 64) revert InsufficientExecutionGas();
        }
    }

    /// @inheritdoc IOrderBook
    function requestTerms(
        ExecutionClass class_,
        uint256 executionFee
    ) public view returns (uint256 notBefore, uint256 expiresAt) {
        uint256 minimum = minimumFee(class_);
        if (executionFee < minimum) revert ExecutionFeeTooLow(executionFee, minimum);
        return (block.timestamp + minDelay, block.timestamp + maxAge);
    }

    /// @inheritdoc IOrderBook
    function executionGas() external view returns (ExecutionGas memory) {
        return ExecutionGas(_openGas, _closeGas, _lpGas, _lpGasPerMarket);
    }

    /// @inheritdoc IOrderBook
    function isExecutor(address account) external view returns (bool) {
        return hasRole(EXECUTOR_ROLE, account);
    }

    /// @inheritdoc IOrderBook
    function pendingRequest(address account, uint256 marketId) external view returns (bytes32) {
        return _pending[account][marketId];
    }

    /// @inheritdoc IOrderBook
    function isPending(address account, uint256 marketId, Request calldata r) external view returns (bool) {
        return _isPending(account, marketId, r);
    }

    /// @inheritdoc IOrderBook
    function commitmentOf(Request calldata r) external pure returns (bytes32) {
        return keccak256(abi.encode(r));
    }

    // ================================================================ internal

    /// @dev Checks that `r` (its window included) is the pending request and deletes it.
    function _take(address account, uint256 marketId, Request calldata r) internal {
        if (!_isPending(account, marketId, r)) revert UnknownRequest(account, marketId);
        delete _pending[account][marketId];
    }

    /// @dev Whether `r` is `account`'s pending request in `marketId`: its word is set and is `r`'s hash. A
    /// window other than the one given at the request changes the hash, so the window passed back is the
    /// book's.
    function _isPending(address account, uint256 marketId, Request calldata r) internal view returns (bool) {
        bytes32 word = _pending[account][marketId];
        return word != 0 && word == keccak256(abi.encode(r));
    }

    /// @dev Executes `r` (already deleted) at the worse, for the trader, of the round's answer and the
    /// current price, or cancels it when that price is beyond the trader's bound or the engine refuses the
    /// trade. The caller pays the execution fee.
    function _settle(
        address account,
        uint256 marketId,
        uint80 roundId,
        Request calldata r,
        uint256 roundAnswer,
        uint256 latest
    ) internal returns (bool) {
        bool buy = _isBuy(r.kind, r.size);
        uint256 price = buy == (latest > roundAnswer) ? latest : roundAnswer;
        if (buy ? price > r.acceptablePrice : price < r.acceptablePrice) {
            _refund(
                account,
                marketId,
                r,
                msg.sender,
                abi.encodeWithSelector(PriceNotAcceptable.selector, price, r.acceptablePrice)
            );
            return false;
        }
        GapGuard memory guard = _guards[marketId];
        // The bound grows with the price on either side: value it at the higher of the two. An Open or
        // Increase that raises it must keep the sum within the backstop's capacity; one that does not (on the
        // smaller side) adds no risk the bound counts.
        uint256 high = MathLib.max(roundAnswer, latest);
        uint256 exposure;
        if (guard.designGap != 0 && _addsSize(r.kind)) {
            exposure = _exposure(marketId, guard.designGap, high, r.size);
            if (exposure > guard.exposure) {
                _refreshOtherBounds(marketId);
                uint256 total = totalGapExposure - guard.exposure + exposure;
                uint256 capacity = IPerpEngine(engine).backstop().maxCover();
                if (total > capacity) {
                    _refund(
                        account,
                        marketId,
                        r,
                        msg.sender,
                        abi.encodeWithSelector(GapCoverExceeded.selector, total, capacity)
                    );
                    return false;
                }
            }
        }
        uint256 gasBefore = gasleft();
        (bool ok, bytes memory reason) = engine.call(_engineCall(account, marketId, r, price, latest));
        if (ok) {
            if (guard.designGap != 0) {
                // An Open or Increase grew its side by exactly its size: its bound is the one just checked.
                if (!_addsSize(r.kind)) exposure = _exposure(marketId, guard.designGap, high, 0);
                if (exposure != guard.exposure) _setExposure(marketId, guard.designGap, guard.exposure, exposure);
            }
            emit OrderExecuted(account, marketId, msg.sender, roundId, price);
            return true;
        }
        // A call starved of gas by the keeper (it keeps 1/64 of what it had) is not the engine's refusal:
        // the whole execution reverts and the request stays.
        if (gasleft() <= gasBefore / 64) revert InsufficientExecutionGas();
        _refund(account, marketId, r, msg.sender, reason);
        return false;
    }

    /// @dev The engine call that carries out `r` at `price` (an open or increase must also be healthy at the
    /// `latest` price). A refusal is caught and cancels the request.
    function _engineCall(
        address account,
        uint256 marketId,
        Request calldata r,
        uint256 price,
        uint256 latest
    ) internal pure returns (bytes memory) {
        OrderKind kind = r.kind;
        int256 size = r.size;
        if (kind == OrderKind.Open) {
            return abi.encodeCall(IPerpEngine.executeOpen, (account, marketId, size, r.amount, price, latest));
        }
        if (kind == OrderKind.Increase) {
            return abi.encodeCall(IPerpEngine.executeIncrease, (account, marketId, size, r.amount, price, latest));
        }
        if (kind == OrderKind.Reduce)
            return abi.encodeCall(IPerpEngine.executeReduce, (account, marketId, size, price));
        if (kind == OrderKind.Close)
            return abi.encodeCall(IPerpEngine.executeClose, (account, marketId, size > 0, price));
        return abi.encodeCall(IPerpEngine.executeRemoveMargin, (account, marketId, size > 0, r.amount, price));
    }

    /// @dev The bound on `marketId`'s shortfall at a gap of `gap`, with `added` more size (signed: its side),
    /// at `price` (zero: the market's current price, read only if the market has positions): the larger side's
    /// notional times (gap × (1 + keeper fee ratio) − maintenance ratio), each product rounded up. A position
    /// that is not liquidatable has equity of at least its notional times the maintenance ratio plus its
    /// keeper fee; a move of `gap` against it takes notional × gap of that equity and raises the keeper fee,
    /// which is paid in full, by at most keeper fee ratio × notional × gap (the fee is a clamped share of
    /// notional). What the backstop must cover is the rest.
    function _exposure(uint256 marketId, uint256 gap, uint256 price, int256 added) internal view returns (uint256) {
        (uint256 longSize, uint256 shortSize, uint256 maintenance, uint256 keeperFeeRatio) = EngineStorage.gapTerms(
            IPerpEngine(engine),
            marketId
        );
        if (added > 0) longSize += uint256(added);
        else shortSize += MathLib.abs(added);
        uint256 larger = MathLib.max(longSize, shortSize);
        uint256 share = gap.wMulUp(WAD + keeperFeeRatio);
        if (larger == 0 || share <= maintenance) return 0;
        if (price == 0) price = _oracles[marketId].price();
        return MathLib.mulDivUp(larger, price, DEN).wMulUp(share - maintenance);
    }

    /// @dev Brings every other guarded market's bound to its price now, so that an open is checked against the
    /// book as it is and not as each market's last execution left it: the guard holds with no keeper
    /// refreshing. A market whose oracle refuses a price keeps its stored bound (a call the executor starved of
    /// gas is no refusal: the execution reverts).
    function _refreshOtherBounds(uint256 marketId) internal {
        uint256 count = IPerpEngine(engine).marketCount();
        for (uint256 id; id < count; ++id) {
            GapGuard memory other = _guards[id];
            if (id == marketId || other.designGap == 0) continue;
            uint256 gasBefore = gasleft();
            try _oracles[id].price() returns (uint256 price) {
                uint256 exposure = _exposure(id, other.designGap, price, 0);
                if (exposure != other.exposure) _setExposure(id, other.designGap, other.exposure, exposure);
            } catch {
                if (gasleft() <= gasBefore / 64) revert InsufficientExecutionGas();
            }
        }
    }

    function _setExposure(uint256 marketId, uint256 gap, uint256 old, uint256 exposure) internal {
        uint256 total = totalGapExposure - old + exposure;
        _guards[marketId] = GapGuard(uint64(gap), exposure.toUint192());
        totalGapExposure = total;
        emit GapExposureUpdated(marketId, exposure, total);
    }

    /// @dev Returns a refused request's escrow, less its execution fee (the executor's), to the account.
    function _refund(
        address account,
        uint256 marketId,
        Request calldata r,
        address feeRecipient,
        bytes memory reason
    ) internal {
        uint256 escrow = _addsSize(r.kind) ? r.amount : 0;
        _pay(account, escrow);
        emit OrderCancelled(account, marketId, feeRecipient, escrow, r.executionFee, reason);
    }

    /// @dev Pays `amount` to `account`; if the token refuses (a blocklist), it waits in `claimable`, so that
    /// one owner's refund never reverts an execution, a batch or a cancellation.
    function _pay(address account, uint256 amount) internal {
        if (amount == 0) return;
        if (!COLLATERAL.trySafeTransfer(account, amount)) {
            claimable[account] += amount;
            emit RefundDeferred(account, amount);
        }
    }

    /// @dev One rule for who executes, trades and LP requests alike (the vault asks `isExecutor`).
    function _onlyExecutor() internal view {
        if (!hasRole(EXECUTOR_ROLE, msg.sender)) revert NotExecutor(msg.sender);
    }

    /// @dev The market's oracle, cached on first use; reverts with the engine's `UnknownMarket` for a
    /// market that does not exist.
    function _oracle(uint256 marketId) internal returns (IPriceOracle oracle) {
        oracle = _oracles[marketId];
        if (address(oracle) != address(0)) return oracle;
        oracle = EngineStorage.oracle(IPerpEngine(engine), marketId);
        if (address(oracle) == address(0)) revert IPerpEngine.UnknownMarket(marketId);
        _oracles[marketId] = oracle;
    }

    /// @dev Whether the request buys (a higher price is worse for the trader): a long that grows, or a
    /// short that shrinks or takes margin out.
    function _isBuy(OrderKind kind, int256 size) internal pure returns (bool) {
        return _addsSize(kind) == (size > 0);
    }

    function _addsSize(OrderKind kind) internal pure returns (bool) {
        return kind == OrderKind.Open || kind == OrderKind.Increase;
    }

    /// @dev Whether the request adds risk, so its price must respect the L2 sequencer's grace period.
    function _addsRisk(OrderKind kind) internal pure returns (bool) {
        return kind != OrderKind.Reduce && kind != OrderKind.Close;
    }

    function _setParameters(uint256 minDelay_, uint256 maxAge_, uint256 minExecutionFee_, uint256 oneToken) internal {
        _bound("minDelay", minDelay_, ConstantsLib.MIN_ORDER_DELAY, ConstantsLib.MAX_ORDER_DELAY);
        _bound("maxAge", maxAge_, minDelay_ + ConstantsLib.MIN_ORDER_WINDOW, ConstantsLib.MAX_ORDER_AGE);
        _bound("minExecutionFee", minExecutionFee_, 0, ConstantsLib.MAX_EXECUTION_FEE_TOKENS * oneToken);
        minDelay = uint32(minDelay_);
        maxAge = uint32(maxAge_);
        minExecutionFee = uint96(minExecutionFee_);
        emit ParametersUpdated(minDelay_, maxAge_, minExecutionFee_);
    }

    function _setExecutionGas(ExecutionGas memory gas) internal {
        (uint256 min, uint256 max) = (ConstantsLib.MIN_EXECUTION_GAS, ConstantsLib.MAX_EXECUTION_GAS);
        _bound("openGas", gas.open, min, max);
        _bound("closeGas", gas.close, min, max);
        _bound("lpGas", gas.lp, min, max);
        _bound("lpGasPerMarket", gas.lpPerMarket, 0, ConstantsLib.MAX_LP_EXECUTION_GAS_PER_MARKET);
        (_openGas, _closeGas, _lpGas, _lpGasPerMarket) = (gas.open, gas.close, gas.lp, gas.lpPerMarket);
        emit ExecutionGasUpdated(gas.open, gas.close, gas.lp, gas.lpPerMarket);
    }

    function _bound(bytes32 name, uint256 value, uint256 min, uint256 max) internal pure {
        if (value < min || value > max) revert ParameterOutOfBounds(name, value, min, max);
    }

    /// @dev Pulls `amount` from `from`, refusing tokens that deliver less than asked (fee on transfer).
    function _pull(address from, uint256 amount) internal {
        uint256 before = COLLATERAL.balanceOf(address(this));
        COLLATERAL.safeTransferFrom(from, address(this), amount);
        uint256 received = COLLATERAL.balanceOf(address(this)) - before;
        if (received != amount) revert TransferAmountMismatch(amount, received);
    }
}
