// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Execution, IOrderBook, OrderKind, Request} from "./interfaces/IOrderBook.sol";
import {IPerpEngine} from "./interfaces/IPerpEngine.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";

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
/// executing.
/// @dev Holds the escrows of pending requests and the refunds the token refused (`claimable`), nothing else:
/// its collateral balance equals their sum. The engine pulls an executed request's collateral from here. A
/// pending request is one storage word (its window and a commitment to its fields, which the executor passes
/// back), so that asking costs one new slot.
contract OrderBook is IOrderBook, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @inheritdoc IOrderBook
    bytes32 public constant EXECUTOR_ROLE = keccak256("EXECUTOR_ROLE");

    /// @inheritdoc IOrderBook
    address public immutable engine;
    IERC20 private immutable COLLATERAL;
    uint256 private immutable ONE_TOKEN;

    /// @inheritdoc IOrderBook
    uint32 public minDelay;
    /// @inheritdoc IOrderBook
    uint32 public maxAge;
    /// @inheritdoc IOrderBook
    uint96 public minExecutionFee;
    /// @inheritdoc IOrderBook
    mapping(address account => uint256) public claimable;

    /// @dev `notBefore` (32 bits) | `expiresAt` (32 bits) << 32 | the request's hash, to 192 bits, << 64.
    mapping(address account => mapping(uint256 marketId => uint256)) internal _pending;
    /// @dev Each market's oracle, read from the engine once: a market's oracle never changes.
    mapping(uint256 marketId => IPriceOracle) internal _oracles;

    /// @param engine_ The engine this book trades on; its collateral is the escrow token.
    /// @param admin Holds the parameters and grants `EXECUTOR_ROLE` (the timelock in a deployment).
    /// @param executors Granted `EXECUTOR_ROLE` now (the deployment's keeper), so that requests execute from
    /// the first block without a timelocked grant.
    constructor(
        address engine_,
        address admin,
        uint256 minDelay_,
        uint256 maxAge_,
        uint256 minExecutionFee_,
        address[] memory executors
    ) {
        engine = engine_;
        COLLATERAL = IERC20(IPerpEngine(engine_).collateral());
        uint256 oneToken = 10 ** IERC20Metadata(address(COLLATERAL)).decimals();
        ONE_TOKEN = oneToken;
        _setParameters(minDelay_, maxAge_, minExecutionFee_, oneToken);
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
        (uint256 delay, uint256 age, uint256 minFee) = (minDelay, maxAge, minExecutionFee);
        if (executionFee < minFee) revert ExecutionFeeTooLow(executionFee, minFee);
        bool escrows = _addsSize(kind);
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
            uint32(block.timestamp) // fits until 2106
        );
        (uint256 notBefore, uint256 expiresAt) = (block.timestamp + delay, block.timestamp + age);
        _pending[msg.sender][marketId] = notBefore | (expiresAt << 32) | (uint256(_commitment(r)) << 64);
        _pull(msg.sender, (escrows ? amount : 0) + executionFee);
        emit OrderRequested(msg.sender, marketId, r, notBefore, expiresAt);
    }

    /// @inheritdoc IOrderBook
    function cancel(address account, uint256 marketId, Request calldata r) external nonReentrant {
        (, uint256 expiresAt) = _take(account, marketId, r);
        if (block.timestamp <= expiresAt) revert RequestNotExpired(account, marketId, expiresAt);
        // Nobody executed it in the executors' window, and the owner could not: the fee is theirs again.
        uint256 refund = _addsSize(r.kind) ? r.amount : 0;
        _pay(account, refund + r.executionFee);
        emit OrderCancelled(
            account,
            marketId,
            account,
            refund,
            r.executionFee,
            abi.encodeWithSelector(RequestExpired.selector, account, marketId, expiresAt)
        );
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
        (uint256 notBefore, uint256 expiresAt) = _take(account, marketId, r);
        if (block.timestamp > expiresAt) revert RequestExpired(account, marketId, expiresAt);
        (uint256 roundAnswer, uint256 latest) = _oracles[marketId].roundPrice(roundId, notBefore, _addsRisk(r.kind));
        executed = _settle(account, marketId, roundId, r, roundAnswer, latest);
        COLLATERAL.safeTransfer(msg.sender, r.executionFee);
    }

    /// @inheritdoc IOrderBook
    function executeBatch(Execution[] calldata executions) external nonReentrant returns (uint256 done) {
        _onlyExecutor();
        uint256 fees;
        for (uint256 i; i < executions.length; ++i) {
            Execution calldata e = executions[i];
            (bool pending, uint256 notBefore, uint256 expiresAt) = _window(e.account, e.marketId, e.request);
            if (!pending || block.timestamp > expiresAt) continue;
            try _oracles[e.marketId].roundPrice(e.roundId, notBefore, _addsRisk(e.request.kind)) returns (
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

    // ================================================================ views

    /// @inheritdoc IOrderBook
    function isExecutor(address account) external view returns (bool) {
        return hasRole(EXECUTOR_ROLE, account);
    }

    /// @inheritdoc IOrderBook
    function pendingRequest(
        address account,
        uint256 marketId
    ) external view returns (uint256 notBefore, uint256 expiresAt, bytes32 commitment) {
        uint256 word = _pending[account][marketId];
        return (uint32(word), uint32(word >> 32), bytes32(uint256(uint192(word >> 64))));
    }

    /// @inheritdoc IOrderBook
    function isPending(address account, uint256 marketId, Request calldata r) external view returns (bool) {
        (bool pending, , ) = _window(account, marketId, r);
        return pending;
    }

    /// @inheritdoc IOrderBook
    function commitmentOf(Request calldata r) external pure returns (bytes32) {
        return bytes32(uint256(_commitment(r)));
    }

    // ================================================================ internal

    /// @dev Checks that `r` is the pending request, deletes it and returns its window.
    function _take(
        address account,
        uint256 marketId,
        Request calldata r
    ) internal returns (uint256 notBefore, uint256 expiresAt) {
        bool pending;
        (pending, notBefore, expiresAt) = _window(account, marketId, r);
        if (!pending) revert UnknownRequest(account, marketId);
        delete _pending[account][marketId];
    }

    /// @dev Whether `r` is `account`'s pending request in `marketId` (its word is set and commits to `r`), and
    /// the request's window.
    function _window(
        address account,
        uint256 marketId,
        Request calldata r
    ) internal view returns (bool pending, uint256 notBefore, uint256 expiresAt) {
        uint256 word = _pending[account][marketId];
        pending = word != 0 && uint192(word >> 64) == _commitment(r);
        return (pending, uint32(word), uint32(word >> 32));
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
        uint256 gasBefore = gasleft();
        (bool ok, bytes memory reason) = engine.call(_engineCall(account, marketId, r, price, latest));
        if (ok) {
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

    /// @dev Returns a refused request's escrow, less its execution fee (the executor's), to the account.
    function _refund(
        address account,
        uint256 marketId,
        Request calldata r,
        address feeRecipient,
        bytes memory reason
    ) internal {
        uint256 refund = _addsSize(r.kind) ? r.amount : 0;
        _pay(account, refund);
        emit OrderCancelled(account, marketId, feeRecipient, refund, r.executionFee, reason);
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
        bytes32 slot = keccak256(abi.encode(marketId, ConstantsLib.MARKETS_SLOT));
        oracle = IPriceOracle(address(uint160(uint256(IPerpEngine(engine).extsload(slot, 1)[0]))));
        if (address(oracle) == address(0)) revert IPerpEngine.UnknownMarket(marketId);
        _oracles[marketId] = oracle;
    }

    /// @dev The request's keccak256 hash, to its low 192 bits (a collision needs about 2^96 tries).
    function _commitment(Request memory r) internal pure returns (uint192) {
        return uint192(uint256(keccak256(abi.encode(r))));
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
