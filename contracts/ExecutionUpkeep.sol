// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {AutomationCompatible} from "@chainlink/contracts/src/v0.8/automation/AutomationCompatible.sol";
// prettier-ignore
import {AutomationCompatibleInterface} from
    "@chainlink/contracts/src/v0.8/automation/interfaces/AutomationCompatibleInterface.sol";
import {ILogAutomation, Log} from "@chainlink/contracts/src/v0.8/automation/interfaces/ILogAutomation.sol";
import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ILiquidityVault} from "./interfaces/ILiquidityVault.sol";
import {Execution, IOrderBook, OrderKind, Request} from "./interfaces/IOrderBook.sol";
import {IPerpEngine, Market} from "./interfaces/IPerpEngine.sol";
import {IPerpLens} from "./interfaces/IPerpLens.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";

/// @title ExecutionUpkeep
/// @notice Executions by Chainlink Automation, with no bot. The order book stores only a commitment to each
/// request, so this contract queues the requests themselves: a log-trigger upkeep on the book's
/// `OrderRequested` and the vault's `LpRequested` queues each new request (`enqueue`, `enqueueLp`; anyone may,
/// against the book's commitment), and a log-trigger upkeep on each feed's new round (or a custom-logic upkeep,
/// checked every block) executes the queued requests that the latest rounds price, at the first round after
/// each request's delay, cancels the expired ones for a full refund, and drops those already done.
/// @dev It executes as an executor of the book (it holds `EXECUTOR_ROLE`), and only the book's executors may make
/// it execute: the registry's forwarder of each execution upkeep is granted the role by the book's admin (the
/// timelock), so one rule, in the book, still says who executes. Queueing is open to anyone. The execution fees
/// it earns go to `feeRecipient`. Who calls cannot choose the price: a request executes only at the round the
/// book proves to be the first after its delay, at the worse of that round and the price now.
contract ExecutionUpkeep is AutomationCompatible, ILogAutomation, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice A queued request: a trade (`marketId` < `LP`, with the request as the book committed to it) or
    /// an LP request (`marketId == LP`; the vault keeps the request).
    struct Entry {
        address account;
        uint96 marketId;
        Request request;
    }

    enum Action {
        Enqueue,
        EnqueueLp,
        Execute
    }

    /// @notice The `marketId` of a queued LP request.
    uint96 public constant LP = type(uint96).max;
    /// @notice The most perform data a check returns, the smallest of the registries' limits (OP Mainnet's): 12
    /// trades at most (64 bytes each, key and round), well within a 5,000,000 perform gas limit at about 250,000
    /// gas each.
    uint256 public constant MAX_PERFORM_DATA = 1_000;
    /// @dev The perform data's fixed part: the action, three offsets and three lengths.
    uint256 private constant PERFORM_DATA_HEAD = 7 * 32;
    /// @notice A check stops scanning with this much gas left, to return what it found.
    uint256 public constant CHECK_GAS_RESERVE = 300_000;
    /// @dev Chainlink proxies number rounds `phase << 64 | round`.
    uint256 private constant PHASE_ROUND_MASK = type(uint64).max;

    IPerpEngine public immutable engine;
    IPerpLens public immutable lens;
    IOrderBook public immutable book;
    ILiquidityVault public immutable vault;
    IERC20 public immutable collateral;
    /// @notice Receives every execution fee this contract earns.
    address public immutable feeRecipient;

    Entry[] private _queue;
    /// @dev index in `_queue` plus one; zero: not queued.
    mapping(address account => mapping(uint256 marketId => uint256)) private _slot;

    event RequestQueued(address indexed account, uint256 indexed marketId);
    /// @notice The queued request was executed, cancelled or done elsewhere and left the queue.
    event RequestDequeued(address indexed account, uint256 indexed marketId);

    error ZeroAddress();
    /// @notice No such pending request in the book (or no LP request of `account` in the vault, `marketId == LP`).
    error NotPending(address account, uint256 marketId);
    error AlreadyQueued(address account, uint256 marketId);
    /// @notice Only an executor of the book may make this contract execute.
    error NotExecutor(address account);

    /// @param lens_ The lens of the engine whose book and vault this contract serves.
    /// @param feeRecipient_ Receives the execution fees (the deployment's treasury or the upkeep's funder).
    constructor(IPerpLens lens_, address feeRecipient_) {
        if (address(lens_) == address(0) || feeRecipient_ == address(0)) revert ZeroAddress();
        lens = lens_;
        engine = lens_.engine();
        book = IOrderBook(engine.orders());
        vault = engine.vault();
        collateral = IERC20(engine.collateral());
        feeRecipient = feeRecipient_;
    }

    // ================================================================ the queue

    /// @notice Queues `account`'s pending trade request in `marketId` (anyone may; the log upkeep does it for
    /// every `OrderRequested`). A queued request of the same account and market that is no longer pending is
    /// replaced.
    function enqueue(address account, uint256 marketId, Request calldata request) external {
        if (!_enqueue(account, marketId, request)) revert AlreadyQueued(account, marketId);
    }

    /// @notice Queues `owner`'s LP request (anyone may; the log upkeep does it for every `LpRequested`).
    function enqueueLp(address owner) external {
        if (!_enqueueLp(owner)) revert AlreadyQueued(owner, LP);
    }

    /// @notice How many requests are queued.
    function queueLength() external view returns (uint256) {
        return _queue.length;
    }

    /// @notice The queued requests from `start`, at most `count`.
    function queuePage(uint256 start, uint256 count) external view returns (Entry[] memory page) {
        uint256 length = _queue.length;
        uint256 end = start >= length ? start : (count >= length - start ? length : start + count);
        page = new Entry[](end - start);
        for (uint256 i; i < page.length; ++i) page[i] = _queue[start + i];
    }

    /// @notice Whether a request of `account` in `marketId` (`LP` for an LP request) is queued.
    function isQueued(address account, uint256 marketId) external view returns (bool) {
        return _slot[account][marketId] != 0;
    }

    // ================================================================ Automation

    /// @notice Log trigger. The book's `OrderRequested` or the vault's `LpRequested`: queue the new request. Any
    /// other log (a feed's new round; `checkData` may be `abi.encode(marketId)` to take only that market's
    /// trades, LP requests always count): execute what is due, as `checkUpkeep`.
    function checkLog(
        Log calldata log,
        bytes calldata checkData
    ) external view cannotExecute returns (bool upkeepNeeded, bytes memory performData) {
        bytes32 topic = log.topics.length > 0 ? log.topics[0] : bytes32(0);
        if (log.source == address(book) && topic == IOrderBook.OrderRequested.selector) {
            address account = address(uint160(uint256(log.topics[1])));
            uint256 marketId = uint256(log.topics[2]);
            (Request memory request, , ) = abi.decode(log.data, (Request, uint256, uint256));
            if (!_queueable(account, marketId, request)) return (false, "");
            return (true, abi.encode(Action.Enqueue, account, marketId, request));
        }
        if (log.source == address(vault) && topic == ILiquidityVault.LpRequested.selector) {
            address owner = address(uint160(uint256(log.topics[1])));
            if (_slot[owner][LP] != 0 || vault.lpRequest(owner).amount == 0) return (false, "");
            return (true, abi.encode(Action.EnqueueLp, owner));
        }
        return _check(checkData.length == 32 ? abi.decode(checkData, (uint256)) : type(uint256).max);
    }

    /// @notice Custom logic, every block: the queued requests the latest rounds price, and those to cancel (expired)
    /// or drop (done elsewhere), as many as `MAX_PERFORM_DATA` holds. `checkData` as for `checkLog`.
    function checkUpkeep(
        bytes calldata checkData
    ) external view cannotExecute returns (bool upkeepNeeded, bytes memory performData) {
        return _check(checkData.length == 32 ? abi.decode(checkData, (uint256)) : type(uint256).max);
    }

    /// @notice Queues a request (`Action.Enqueue`, `Action.EnqueueLp`: anyone may; one done in the meantime is
    /// skipped, not reverted for) or executes, cancels and drops
    /// what a check found (`Action.Execute`: executors of the book only, `NotExecutor`), given as `abi.encode(
    /// Action.Execute, trades, lps, settle)`: `trades` pairs a queue key (`account << 96 | marketId`) with the round
    /// that prices it, `lps` gives an owner's key followed by the round of each market, `settle` lists keys to
    /// cancel or drop. Each step is re-checked: the book and the vault execute only at the round their proof
    /// accepts, a cancel needs an expired request, a drop one that is no longer pending. The fees earned go to
    /// `feeRecipient`.
    function performUpkeep(
        bytes calldata performData
    ) external override(AutomationCompatibleInterface, ILogAutomation) nonReentrant {
        Action action = abi.decode(performData[:32], (Action));
        if (action == Action.Enqueue) {
            (, address account, uint256 marketId, Request memory request) = abi.decode(
                performData,
                (Action, address, uint256, Request)
            );
            // Done in the meantime (an executor was quicker): nothing to queue, and nothing to revert for.
            if (marketId < LP && book.isPending(account, marketId, request)) _enqueue(account, marketId, request);
            return;
        }
        if (action == Action.EnqueueLp) {
            (, address owner) = abi.decode(performData, (Action, address));
            if (vault.lpRequest(owner).amount != 0) _enqueueLp(owner);
            return;
        }
        if (!book.isExecutor(msg.sender)) revert NotExecutor(msg.sender);
        (, uint256[] memory trades, uint256[] memory lps, uint256[] memory settle) = abi.decode(
            performData,
            (Action, uint256[], uint256[], uint256[])
        );
        _executeTrades(trades);
        uint256 stride = engine.marketCount() + 1;
        for (uint256 i; i + stride <= lps.length; i += stride) {
            uint80[] memory rounds = new uint80[](stride - 1);
            for (uint256 m; m < rounds.length; ++m) rounds[m] = uint80(lps[i + 1 + m]);
            (address owner, ) = _unkey(lps[i]);
            try vault.executeRequest(owner, rounds) {} catch {}
            _dequeueIfDone(owner, LP);
        }
        for (uint256 i; i < settle.length; ++i) {
            (address account, uint256 marketId) = _unkey(settle[i]);
            uint256 slot = _slot[account][marketId];
            if (slot == 0) continue;
            _cancelIfExpired(_queue[slot - 1]);
            _dequeueIfDone(account, marketId);
        }
        uint256 fees = collateral.balanceOf(address(this));
        if (fees > 0) collateral.safeTransfer(feeRecipient, fees);
    }

    // ================================================================ internal: the queue

    function _queueable(address account, uint256 marketId, Request memory request) internal view returns (bool) {
        if (!book.isPending(account, marketId, request)) return false;
        uint256 slot = _slot[account][marketId];
        return slot == 0 || book.commitmentOf(_queue[slot - 1].request) != book.commitmentOf(request);
    }

    /// @dev Queues a pending request, or replaces a queued one of the same account and market that differs; false
    /// if that very request is queued already. Reverts `NotPending` for a request the book does not hold.
    function _enqueue(address account, uint256 marketId, Request memory request) internal returns (bool) {
        if (marketId >= LP || !book.isPending(account, marketId, request)) revert NotPending(account, marketId);
        uint256 slot = _slot[account][marketId];
        if (slot != 0) {
            if (book.commitmentOf(_queue[slot - 1].request) == book.commitmentOf(request)) return false;
            _queue[slot - 1].request = request;
        } else {
            _queue.push(Entry(account, uint96(marketId), request));
            _slot[account][marketId] = _queue.length;
        }
        emit RequestQueued(account, marketId);
        return true;
    }

    function _enqueueLp(address owner) internal returns (bool) {
        if (vault.lpRequest(owner).amount == 0) revert NotPending(owner, LP);
        if (_slot[owner][LP] != 0) return false;
        Request memory none;
        _queue.push(Entry(owner, LP, none));
        _slot[owner][LP] = _queue.length;
        emit RequestQueued(owner, LP);
        return true;
    }

    /// @dev Whether the queued entry still has a request to execute: the same one in the book, or any LP request.
    function _pending(Entry memory e) internal view returns (bool) {
        if (e.marketId == LP) return vault.lpRequest(e.account).amount != 0;
        return book.isPending(e.account, e.marketId, e.request);
    }

    function _cancelIfExpired(Entry memory e) internal {
        if (e.marketId == LP) {
            ILiquidityVault.LpRequest memory r = vault.lpRequest(e.account);
            if (r.amount != 0 && block.timestamp > r.expiresAt) vault.cancelRequest(e.account);
        } else if (block.timestamp > e.request.expiresAt && book.isPending(e.account, e.marketId, e.request)) {
            book.cancel(e.account, e.marketId, e.request);
        }
    }

    /// @dev Removes a queued entry whose request is no longer pending (swap and pop).
    function _dequeueIfDone(address account, uint256 marketId) internal {
        uint256 slot = _slot[account][marketId];
        if (slot == 0 || _pending(_queue[slot - 1])) return;
        Entry memory last = _queue[_queue.length - 1];
        _queue[slot - 1] = last;
        _slot[last.account][last.marketId] = slot;
        _queue.pop();
        delete _slot[account][marketId];
        emit RequestDequeued(account, marketId);
    }

    // ================================================================ internal: the check

    /// @dev Executes the queued trades `trades` names (key, round pairs) in one batch, then drops those done.
    function _executeTrades(uint256[] memory trades) internal {
        Execution[] memory executions = new Execution[](trades.length / 2);
        uint256 count;
        for (uint256 i; i < executions.length; ++i) {
            (address account, uint256 marketId) = _unkey(trades[2 * i]);
            uint256 slot = _slot[account][marketId];
            if (slot == 0 || marketId == LP) continue;
            executions[count] = Execution(account, uint80(trades[2 * i + 1]), marketId, _queue[slot - 1].request);
            ++count;
        }
        if (count == 0) return;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(executions, count)
        }
        book.executeBatch(executions);
        for (uint256 i; i < count; ++i) _dequeueIfDone(executions[i].account, executions[i].marketId);
    }

    /// @dev Scans the queue: a trade of `only` (every market when `only` is max) or an LP request executes when
    /// every round it needs exists and the oracle accepts it; an expired or done one is settled. Stops when the
    /// next entry would not fit `MAX_PERFORM_DATA`.
    function _check(uint256 only) internal view returns (bool, bytes memory) {
        uint256 markets = engine.marketCount();
        IPriceOracle[] memory oracles = new IPriceOracle[](markets);
        uint256 room = (MAX_PERFORM_DATA - PERFORM_DATA_HEAD) / 32; // words left
        uint256[] memory trades = new uint256[](room);
        uint256[] memory lps = new uint256[](room);
        uint256[] memory settle = new uint256[](room);
        (uint256 t, uint256 n, uint256 z) = (0, 0, 0);
        // Each block's check starts at a different place in the queue (the previous block's hash), so that a
        // queue longer than one check can scan is still scanned whole over a few blocks.
        uint256 length = _queue.length;
        uint256 offset = length == 0 ? 0 : uint256(blockhash(block.number - 1)) % length;
        bool paused = Pausable(address(engine)).paused();
        for (uint256 j; j < length && gasleft() > CHECK_GAS_RESERVE; ++j) {
            Entry storage queued = _queue[(offset + j) % length];
            uint256 marketId = queued.marketId;
            if (marketId != LP && only != type(uint256).max && marketId != only) continue;
            // A trade before its notBefore is neither due nor expired nor done: skipped on two words.
            if (marketId != LP && block.timestamp < queued.request.notBefore) continue;
            Entry memory e = queued;
            (uint256 notBefore, uint256 expiresAt) = _window(e);
            uint256 key = _key(e.account, e.marketId);
            if (notBefore == 0 || block.timestamp > expiresAt) {
                if (room == 0) break;
                settle[z] = key;
                ++z;
                --room;
            } else if (block.timestamp < notBefore) {
                continue;
            } else if (e.marketId == LP) {
                // The vault refuses a deposit while the engine is paused, and a redemption the pool's free liquidity
                // cannot pay: they wait (or expire and are cancelled) instead of a refused perform every block.
                if (vault.lpRequest(e.account).redeem ? !_payable(e.account) : paused) continue;
                if (room < markets + 1) break;
                (bool ready, uint80[] memory rounds) = _lpRounds(oracles, notBefore);
                if (!ready) continue;
                lps[n] = key;
                for (uint256 m; m < markets; ++m) lps[n + 1 + m] = rounds[m];
                n += markets + 1;
                room -= markets + 1;
            } else {
                if (room < 2) break;
                IPriceOracle oracle = _oracle(oracles, e.marketId);
                uint80 roundId = _firstRound(oracle, notBefore);
                if (roundId == 0 || !_accepts(oracle, roundId, notBefore, _addsRisk(e.request.kind))) continue;
                (trades[t], trades[t + 1]) = (key, roundId);
                t += 2;
                room -= 2;
            }
        }
        if (t + n + z == 0) return (false, "");
        // Trims the arrays to what was found (their lengths only shrink).
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(trades, t)
            mstore(lps, n)
            mstore(settle, z)
        }
        return (true, abi.encode(Action.Execute, trades, lps, settle));
    }

    /// @dev A queued request's window; `notBefore == 0` when it is no longer pending.
    function _window(Entry memory e) internal view returns (uint256 notBefore, uint256 expiresAt) {
        if (e.marketId == LP) {
            ILiquidityVault.LpRequest memory r = vault.lpRequest(e.account);
            return r.amount == 0 ? (0, 0) : (r.notBefore, r.expiresAt);
        }
        if (!book.isPending(e.account, e.marketId, e.request)) return (0, 0);
        return (e.request.notBefore, e.request.expiresAt);
    }

    /// @dev The rounds an LP request executes at: for each market with positions (not settled), the first round
    /// of its feed at or after `notBefore`, which must exist and be accepted; zero for the other markets.
    function _lpRounds(
        IPriceOracle[] memory oracles,
        uint256 notBefore
    ) internal view returns (bool ready, uint80[] memory rounds) {
        rounds = new uint80[](oracles.length);
        for (uint256 id; id < oracles.length; ++id) {
            Market memory m = lens.getMarket(id);
            if (m.settlementPrice != 0 || (m.longSize == 0 && m.shortSize == 0)) continue;
            IPriceOracle oracle = _oracle(oracles, id);
            rounds[id] = _firstRound(oracle, notBefore);
            if (rounds[id] == 0 || !_accepts(oracle, rounds[id], notBefore, false)) return (false, rounds);
        }
        return (true, rounds);
    }

    /// @dev Whether the pool's free liquidity pays `owner`'s redemption at the current mark (`convertToAssets`, at
    /// least what the execution pays: it takes the lower of that mark and the rounds'); false while the pool
    /// cannot be marked. A redemption that only the rounds' lower mark would fit waits for the next check.
    function _payable(address owner) internal view returns (bool) {
        try vault.convertToAssets(vault.lpRequest(owner).amount) returns (uint256 assets) {
            return assets <= engine.freeLiquidity();
        } catch {
            return false;
        }
    }

    function _oracle(IPriceOracle[] memory oracles, uint256 marketId) internal view returns (IPriceOracle) {
        if (address(oracles[marketId]) == address(0)) oracles[marketId] = lens.getMarket(marketId).oracle;
        return oracles[marketId];
    }

    /// @dev The first round of the oracle's feed updated at or after `notBefore`, walking back from the latest
    /// within its phase; zero while none has been.
    function _firstRound(IPriceOracle oracle, uint256 notBefore) internal view returns (uint80) {
        AggregatorV3Interface feed = AggregatorV3Interface(oracle.feed());
        (uint80 id, , , uint256 updatedAt, ) = feed.latestRoundData();
        if (updatedAt < notBefore) return 0;
        while ((id & PHASE_ROUND_MASK) > 1) {
            try feed.getRoundData(id - 1) returns (uint80, int256, uint256, uint256 previous, uint80) {
                if (previous < notBefore) break;
            } catch {
                break;
            }
            --id;
        }
        return id;
    }

    function _accepts(
        IPriceOracle oracle,
        uint80 roundId,
        uint256 notBefore,
        bool newRisk
    ) internal view returns (bool) {
        try oracle.roundPrice(roundId, notBefore, newRisk) returns (uint256, uint256) {
            return true;
        } catch {
            return false;
        }
    }

    function _key(address account, uint256 marketId) internal pure returns (uint256) {
        return (uint256(uint160(account)) << 96) | marketId;
    }

    function _unkey(uint256 key) internal pure returns (address account, uint256 marketId) {
        return (address(uint160(key >> 96)), uint96(key));
    }

    /// @dev The request kinds the book prices as new risk (the sequencer must be up).
    function _addsRisk(OrderKind kind) internal pure returns (bool) {
        return kind == OrderKind.Open || kind == OrderKind.Increase || kind == OrderKind.RemoveMargin;
    }
}
