// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {AutomationBase} from "@chainlink/contracts/src/v0.8/automation/AutomationBase.sol";
import {Log as AutomationLog} from "@chainlink/contracts/src/v0.8/automation/interfaces/ILogAutomation.sol";
import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {ExecutionUpkeep} from "../../../../contracts/ExecutionUpkeep.sol";
import {LiquidationUpkeep} from "../../../../contracts/LiquidationUpkeep.sol";
import {LiquidityVault} from "../../../../contracts/LiquidityVault.sol";
import {OrderBook} from "../../../../contracts/OrderBook.sol";
import {PerpEngine} from "../../../../contracts/PerpEngine.sol";
import {PerpLens} from "../../../../contracts/PerpLens.sol";
import {ExecutionClass, IOrderBook, OrderKind, Request} from "../../../../contracts/interfaces/IOrderBook.sol";
import {ILiquidityVault} from "../../../../contracts/interfaces/ILiquidityVault.sol";
import {IPerpEngine, Market, Position} from "../../../../contracts/interfaces/IPerpEngine.sol";
import {LiquidationPreview} from "../../../../contracts/interfaces/IPerpLens.sol";
import {IPriceOracle} from "../../../../contracts/interfaces/IPriceOracle.sol";
import {Log, vm} from "../../utils/Vm.sol";

/// @notice What the upkeep handler acts on.
struct UpkeepSystem {
    IERC20 token;
    PerpEngine engine;
    OrderBook book;
    LiquidityVault vault;
    PerpLens lens;
    MockV3Aggregator ethFeed;
    MockV3Aggregator btcFeed;
    ExecutionUpkeep executions;
    LiquidationUpkeep liquidations;
}

/// @notice Drives the two Chainlink Automation upkeeps (ExecutionUpkeep, LiquidationUpkeep) on the real OrderBook as
/// the registry would, with no keeper bot of the project's own: traders request Opens, Closes and Increases through
/// the book (at its minimum fee, sometimes a little more) and two LPs request deposits and redemptions from the
/// vault; each request's log (OrderRequested, LpRequested, as recorded) is handed to the execution upkeep's
/// `checkLog` simulated from the zero address and its perform data performed by the upkeep's forwarder, or the
/// request is queued with `enqueue`/`enqueueLp` by anyone, or its perform lands at the next automation step (the
/// registry is late). Feeds post rounds (±5 %, three times in eight a move of 8–30 %, down twice as often as up),
/// time moves (sometimes past the pending requests' expiry), and a competing executor (a bot) executes or cancels
/// requests and liquidates positions directly. The automation step simulates both upkeeps' `checkUpkeep` from the
/// zero address each block and performs what they return until both return false (at most `MAX_STEPS` blocks),
/// listing each new position from its OrderExecuted log (`checkLog` of the liquidation upkeep). Records violations of
/// INV-UP-1..7 found around each call (InvariantsSpec.md, "The Automation upkeeps") and keeps the ghosts: the fee
/// recipient's expected receipts, the book's escrows.
contract UpkeepHandler {
    uint256 internal constant UNIT = 1e6; // 6-decimal collateral
    uint256 public constant TRADERS = 4;
    uint256 public constant LPS = 2;
    uint256 public constant MARKETS = 2;
    /// @dev The blocks one automation step may take: each performs what the checks return.
    uint256 public constant MAX_STEPS = 6;
    /// @dev The registry's forwarder of the execution upkeep: an executor of the book, as the book's admin makes it.
    address public constant FORWARDER = address(0xF02A4D);
    /// @dev The liquidation upkeep's forwarder (its perform is permissionless; no role).
    address public constant LIQUIDATION_FORWARDER = address(0xF02A4E);
    /// @dev Who the registry's simulated checks come from (their tx.origin is zero).
    address public constant REGISTRY = address(0x2E9157);
    /// @dev A competing executor: executes and cancels requests, liquidates, through the book and the engine.
    address public constant BOT = address(0xB07);
    /// @dev Anyone: queues requests directly, tries to make the upkeep execute.
    address public constant STRANGER = address(0x57A4);

    IERC20 internal immutable TOKEN;
    PerpEngine internal immutable ENGINE;
    OrderBook internal immutable BOOK;
    LiquidityVault internal immutable VAULT;
    PerpLens internal immutable LENS;
    MockV3Aggregator internal immutable ETH_FEED;
    MockV3Aggregator internal immutable BTC_FEED;
    ExecutionUpkeep internal immutable EXECUTIONS;
    LiquidationUpkeep internal immutable LIQUIDATIONS;
    uint96 internal immutable LP_KEY;

    /// @dev The simulated clock and block: each action runs at them (the fuzzer does not keep warps between calls,
    /// and via-IR may reuse a `block.timestamp` read before a warp).
    uint256 public time;
    uint256 public blockNumber;

    /// @dev The pending requests as they were made (the book keeps only a commitment to each).
    mapping(address account => mapping(uint256 marketId => Request)) internal _requests;
    /// @dev Whether the request of `account` in `marketId` the book holds was queued (its log delivered).
    mapping(address account => mapping(uint256 marketId => bool)) public queued;
    mapping(address owner => bool) public lpQueued;
    /// @dev INV-OB-1 on this deployment: the escrows of pending requests (amount for Open and Increase, plus fee).
    mapping(address account => mapping(uint256 marketId => uint256)) public escrowOf;
    uint256 public escrowSum;
    /// @dev INV-UP-5: what the fee recipient must have received: the execution fees of the requests the execution
    /// upkeep executed (or refused at execution), trades and LP, and the keeper fees of the liquidation upkeep's
    /// liquidations, each predicted before its perform.
    uint256 public expectedFees;
    /// @dev Logs the registry has checked but whose perform it has not run yet (`abi.encode(log, needed, data)`): it
    /// runs them at the next automation step.
    bytes[] internal _late;

    mapping(bytes32 id => uint256) public violations;
    mapping(bytes32 id => string) public firstViolation;
    mapping(bytes32 path => uint256) public pathCount;

    /// @dev What one execution perform may change, taken before it.
    struct Before {
        bool[8] pending; // TRADERS x MARKETS
        uint256[4] traderTokens;
        ILiquidityVault.LpRequest[2] lp;
        uint256[2] lpTokens;
        uint256[2] lpShares;
    }

    constructor(UpkeepSystem memory s) {
        TOKEN = s.token;
        ENGINE = s.engine;
        BOOK = s.book;
        VAULT = s.vault;
        LENS = s.lens;
        ETH_FEED = s.ethFeed;
        BTC_FEED = s.btcFeed;
        EXECUTIONS = s.executions;
        LIQUIDATIONS = s.liquidations;
        LP_KEY = s.executions.LP();
        time = block.timestamp;
        blockNumber = block.number;
    }

    modifier action() {
        vm.warp(time);
        vm.roll(blockNumber);
        _;
    }

    function trader(uint256 i) public pure returns (address) {
        return address(uint160(0x7000 + i));
    }

    function lp(uint256 i) public pure returns (address) {
        return address(uint160(0x7100 + i));
    }

    /// @notice Whether `account` is one of the handler's traders or LPs (nobody else requests).
    function isActor(address account) external pure returns (bool) {
        uint256 a = uint256(uint160(account));
        return (a >= 0x7000 && a < 0x7000 + TRADERS) || (a >= 0x7100 && a < 0x7100 + LPS);
    }

    /// @notice `account`'s pending request in `marketId` as it was made.
    function requestOf(address account, uint256 marketId) external view returns (Request memory) {
        return _requests[account][marketId];
    }

    // ================================================================ traders and LPs

    /// @dev A trader without a position in the market requests an Open (1x to 9x, $200 to $40,000); one with a
    /// position a Close (half the time), an Increase, or an Open the engine refuses at execution (PositionExists).
    /// Three times in four the bound is any price, else within 3 % of the price now (the book may refuse it at
    /// execution). The fee is the book's minimum for the class, plus 0, 0.25, 0.5 or 0.75 of a token. The request is
    /// queued from its log by the registry, by anyone with `enqueue`, or its perform lands at the next automation step.
    function request(
        uint256 actorSeed,
        uint256 marketSeed,
        uint256 kindSeed,
        uint256 usdSeed,
        uint256 amountSeed,
        uint256 priceSeed,
        uint256 deliverySeed
    ) external action {
        address a = trader(actorSeed % TRADERS);
        uint256 id = marketSeed % MARKETS;
        // Half the time the request is for a position that exists (if any does), so that Closes and Increases come.
        if (kindSeed % 2 == 0) (a, id) = _held(a, id, actorSeed);
        if (BOOK.pendingRequest(a, id) != 0) return;
        Position memory p = ENGINE.getPosition(a, id);
        OrderKind kind = OrderKind.Open;
        if (p.size != 0) {
            uint256 k = (kindSeed >> 1) % 8;
            kind = k < 4 ? OrderKind.Close : (k < 7 ? OrderKind.Increase : OrderKind.Open);
        }
        (int256 size, uint256 amount, uint256 acceptable) = _draw(p, id, kind, usdSeed, amountSeed, priceSeed);
        bool escrows = kind != OrderKind.Close;
        uint256 fee =
            BOOK.minimumFee(escrows ? ExecutionClass.Open : ExecutionClass.Close) +
                ((deliverySeed >> 8) % 4) * (UNIT / 4);

        vm.recordLogs();
        vm.prank(a);
        try BOOK.request(id, kind, size, amount, acceptable, fee) {
            Request memory made = Request(
                kind,
                int128(size),
                uint96(amount),
                uint128(acceptable),
                uint96(fee),
                uint32(time),
                uint32(time + BOOK.minDelay()),
                uint32(time + BOOK.maxAge())
            );
            if (!BOOK.isPending(a, id, made)) _fail("INV-OB-1", "the book committed to another request");
            _requests[a][id] = made;
            escrowOf[a][id] = (escrows ? amount : 0) + fee;
            escrowSum += escrowOf[a][id];
            pathCount["request"] += 1;
            Log memory log = _find(vm.getRecordedLogs(), address(BOOK), IOrderBook.OrderRequested.selector);
            uint256 mode = deliverySeed % 4;
            if (mode == 0) {
                _deliverLater(log);
            } else if (mode == 1) {
                vm.prank(STRANGER);
                try EXECUTIONS.enqueue(a, id, made) {
                    pathCount["enqueue"] += 1;
                } catch {
                    _fail("INV-UP-1", "enqueue of a pending request reverted");
                }
                _markQueued(a, id);
            } else {
                if (!_deliver(log)) _fail("INV-UP-1", "the log upkeep did not ask to queue a new request");
            }
        } catch {
            vm.getRecordedLogs();
            pathCount["request.refused"] += 1;
        }
    }

    /// @dev An LP without a pending request asks to deposit 1 to 500,000 tokens or to redeem some of its shares (a
    /// quarter of the time all of them), at the book's minimum LP fee; a fifth of the time with a limit no execution
    /// meets (refused at execution: the escrow goes back, the fee to the executor). Delivered as `request`'s are.
    function requestLp(
        uint256 actorSeed,
        bool redeem,
        uint256 amountSeed,
        uint256 limitSeed,
        uint256 deliverySeed
    ) external action {
        address o = lp(actorSeed % LPS);
        if (VAULT.lpRequest(o).amount != 0) return;
        uint256 fee = BOOK.minimumFee(ExecutionClass.Lp) + ((deliverySeed >> 8) % 4) * (UNIT / 4);
        uint256 limit = limitSeed % 5 == 0 ? type(uint128).max : 0;
        uint256 amount;
        if (redeem) {
            amount = VAULT.balanceOf(o);
            if (amountSeed % 4 != 0) amount = (amount * _bound(amountSeed >> 2, 1, 10_000)) / 10_000;
            if (amount == 0) return;
        } else {
            amount = _bound(amountSeed, 1, 500_000) * UNIT;
        }
        vm.recordLogs();
        if (!_lpRequest(o, redeem, amount, limit, fee)) {
            vm.getRecordedLogs();
            pathCount["requestLp.refused"] += 1;
            return;
        }
        pathCount[redeem ? bytes32("requestRedeem") : bytes32("requestDeposit")] += 1;
        Log memory log = _find(vm.getRecordedLogs(), address(VAULT), ILiquidityVault.LpRequested.selector);
        uint256 mode = deliverySeed % 4;
        if (mode == 0) {
            _deliverLater(log);
        } else if (mode == 1) {
            // An LP entry names only its owner: while the entry of an earlier request of the owner, done by the bot,
            // is still queued, the new request is queued already (AlreadyQueued).
            bool entry = EXECUTIONS.isQueued(o, LP_KEY);
            vm.prank(STRANGER);
            try EXECUTIONS.enqueueLp(o) {
                pathCount["enqueueLp"] += 1;
                if (entry) _fail("INV-UP-1", "an LP request was queued twice");
            } catch (bytes memory reason) {
                bytes memory already = abi.encodeWithSelector(ExecutionUpkeep.AlreadyQueued.selector, o, LP_KEY);
                if (!entry || keccak256(reason) != keccak256(already))
                    _fail("INV-UP-1", "enqueueLp of a pending LP request reverted");
            }
            _markLpQueued(o);
        } else {
            _deliver(log);
        }
    }

    function _lpRequest(address o, bool redeem, uint256 amount, uint256 limit, uint256 fee) internal returns (bool) {
        vm.prank(o);
        if (redeem) {
            try VAULT.requestRedeemWithLimit(amount, o, o, limit, fee) {
                return true;
            } catch {
                return false;
            }
        }
        try VAULT.requestDepositWithLimit(amount, o, o, limit, fee) {
            return true;
        } catch {
            return false;
        }
    }

    // ================================================================ the world

    /// @dev After 0 to 120 s, one feed posts a round: ±5 %, or (three times in eight) a move of 8 % to 30 %, down
    /// twice as often as up, so that leveraged positions become liquidatable. With `registry`, the automation step
    /// follows in the round's block (the execution upkeep's round-log trigger, the checks of every block).
    function postRound(
        uint256 marketSeed,
        uint256 secondsSeed,
        uint256 bpsSeed,
        uint256 moveSeed,
        bool registry
    ) external action {
        time += _bound(secondsSeed, 0, 120);
        vm.warp(time);
        MockV3Aggregator feed = _feed(marketSeed % MARKETS);
        uint256 answer = uint256(feed.latestAnswer());
        uint256 move = moveSeed % 8;
        uint256 bps = _bound(bpsSeed, 9_500, 10_500);
        if (move < 2) bps = 10_000 - _bound(bpsSeed, 800, 3_000);
        else if (move == 2) bps = 10_000 + _bound(bpsSeed, 800, 3_000);
        answer = (answer * bps) / 10_000;
        if (answer < 1e8) answer = 1e8;
        if (answer > 5_000_000e8) answer = 5_000_000e8;
        feed.updateAnswer(int256(answer));
        pathCount[move < 2 ? bytes32("round.drop") : bytes32("round")] += 1;
        if (registry) _automate();
    }

    /// @dev Time passes without a round, 1 s to 10 min; or (`pastExpiry`) to just past the earliest expiry of the
    /// pending requests (an hour when none is pending). Prices go stale after an hour without a round.
    function warp(uint256 secondsSeed, bool pastExpiry) external action {
        if (pastExpiry) {
            uint256 earliest = _earliestExpiry();
            time = earliest > time ? earliest + 1 + (secondsSeed % 60) : time + 1 hours;
            pathCount["warp.pastExpiry"] += 1;
        } else {
            time += _bound(secondsSeed, 1, 10 minutes);
        }
        vm.warp(time);
    }

    // ================================================================ the competing bot

    /// @dev The bot executes a pending request (scanning from the seed) at its first round, as an executor of the
    /// book, or cancels it once expired; its OrderExecuted log is checked by the liquidation upkeep at once and the
    /// listing performed at once or (`listLate`) at the next automation step. The upkeep must then find it done.
    function botExecute(uint256 seed, bool listLate) external action {
        for (uint256 k; k < TRADERS * MARKETS + LPS; ++k) {
            uint256 slot = (seed + k) % (TRADERS * MARKETS + LPS);
            if (slot >= TRADERS * MARKETS) {
                address o = lp(slot - TRADERS * MARKETS);
                if (VAULT.lpRequest(o).amount == 0) continue;
                return _botLp(o);
            }
            (address a, uint256 id) = (trader(slot / MARKETS), slot % MARKETS);
            if (BOOK.pendingRequest(a, id) == 0) continue;
            return _botTrade(a, id, listLate);
        }
    }

    /// @dev The bot liquidates the first liquidatable position of the traders (scanning from the seed), before the
    /// upkeep: the listed position is then gone.
    function botLiquidate(uint256 seed) external action {
        for (uint256 k; k < TRADERS * MARKETS; ++k) {
            uint256 slot = (seed + k) % (TRADERS * MARKETS);
            (address a, uint256 id) = (trader(slot / MARKETS), slot % MARKETS);
            try LENS.isLiquidatable(a, id) returns (bool yes) {
                if (!yes) continue;
            } catch {
                continue;
            }
            vm.prank(BOT);
            try ENGINE.liquidate(a, id, BOT) {
                pathCount["bot.liquidate"] += 1;
            } catch {}
            return;
        }
    }

    // ================================================================ the registry

    /// @dev One automation step: the registry runs the log performs it held back, then, a block at a time, simulates
    /// `checkUpkeep` of the execution upkeep and of the liquidation upkeep from the zero address and performs what
    /// they return (execution performs through the forwarder; each OrderExecuted log is delivered to the liquidation
    /// upkeep), until both return false. Then checks INV-UP-2, INV-UP-3 and INV-UP-4 on what is left.
    function automate() external action {
        _automate();
    }

    // ================================================================ internal: performs

    function _automate() internal {
        for (uint256 i; i < _late.length; ++i) {
            (Log memory log, bool needed, bytes memory data) = abi.decode(_late[i], (Log, bool, bytes));
            _perform(log, needed, data);
        }
        delete _late;
        bool settled;
        for (uint256 step; step < MAX_STEPS; ++step) {
            blockNumber += 1;
            vm.roll(blockNumber);
            bool executed = _performExecutions(step == 0);
            bool liquidated = _performLiquidations();
            if (!executed && !liquidated) {
                settled = true;
                break;
            }
        }
        pathCount[settled ? bytes32("automate") : bytes32("automate.unsettled")] += 1;
        if (!settled) {
            // Kept apart: found failing (InvariantsSpec.md, INV-UP-3b).
            if (_onlyRefusedRedemptionsLeft()) _fail("INV-UP-3b", "a check kept asking for a refused redemption");
            else _fail("INV-UP-3", "a check still asked for a perform after MAX_STEPS blocks");
        }
        _checkQueueAfterStep();
        _checkRequestsAfterStep();
        _checkListAfterStep();
    }

    /// @dev Simulates the execution upkeep's check and performs it through the forwarder. The first time in a
    /// step, a stranger tries the same perform first (INV-UP-6).
    function _performExecutions(bool attack) internal returns (bool) {
        vm.prank(REGISTRY, address(0));
        (bool needed, bytes memory data) = EXECUTIONS.checkUpkeep("");
        _checkSize(data);
        if (!needed) return false;
        if (attack) _strangerPerforms(data);
        Before memory b = _before();
        vm.recordLogs();
        vm.prank(FORWARDER);
        try EXECUTIONS.performUpkeep(data) {
            pathCount["perform.executions"] += 1;
        } catch {
            _fail("INV-UP-3", "an execution perform the check returned reverted");
        }
        Log[] memory logs = vm.getRecordedLogs();
        if (TOKEN.balanceOf(address(EXECUTIONS)) != 0)
            _fail("INV-UP-5", "the execution upkeep kept collateral after a perform");
        _settleTrades(b);
        _settleLps(b);
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(BOOK) && logs[i].topics[0] == IOrderBook.OrderExecuted.selector) {
                _deliver(logs[i]);
            }
        }
        return true;
    }

    /// @dev Simulates the liquidation upkeep's check and performs it; the keeper fees it should earn are those the
    /// lens previews for the listed positions it names that are liquidatable.
    function _performLiquidations() internal returns (bool) {
        vm.prank(REGISTRY, address(0));
        (bool needed, bytes memory data) = LIQUIDATIONS.checkUpkeep("");
        _checkSize(data);
        if (!needed) return false;
        uint256 fees = _keeperFees(abi.decode(data, (uint256[])));
        vm.prank(LIQUIDATION_FORWARDER);
        try LIQUIDATIONS.performUpkeep(data) {
            expectedFees += fees;
            pathCount["perform.liquidations"] += 1;
        } catch {
            _fail("INV-UP-4", "a liquidation perform the check returned reverted");
        }
        if (TOKEN.balanceOf(address(LIQUIDATIONS)) != 0)
            _fail("INV-UP-5", "the liquidation upkeep kept collateral after a perform");
        return true;
    }

    function _before() internal view returns (Before memory b) {
        for (uint256 k; k < TRADERS * MARKETS; ++k) {
            b.pending[k] = BOOK.pendingRequest(trader(k / MARKETS), k % MARKETS) != 0;
        }
        for (uint256 i; i < TRADERS; ++i) b.traderTokens[i] = TOKEN.balanceOf(trader(i));
        for (uint256 j; j < LPS; ++j) {
            b.lp[j] = VAULT.lpRequest(lp(j));
            b.lpTokens[j] = TOKEN.balanceOf(lp(j));
            b.lpShares[j] = VAULT.balanceOf(lp(j));
        }
    }

    /// @dev Each trade request the perform took from the book: cancelled for expiry (past its window: its owner gets
    /// escrow and fee back, INV-UP-2) or executed by the upkeep (its fee is the fee recipient's, INV-UP-5). An
    /// owner with nothing else done in the perform gets exactly the refunds; otherwise at least them.
    function _settleTrades(Before memory b) internal {
        uint256[4] memory refunds;
        bool[4] memory other;
        for (uint256 k; k < TRADERS * MARKETS; ++k) {
            (address a, uint256 id) = (trader(k / MARKETS), k % MARKETS);
            if (!b.pending[k] || BOOK.pendingRequest(a, id) != 0) continue;
            Request memory r = _requests[a][id];
            if (time > r.expiresAt) {
                refunds[k / MARKETS] += escrowOf[a][id];
                pathCount["upkeep.cancelExpired"] += 1;
            } else {
                expectedFees += r.executionFee;
                other[k / MARKETS] = true;
                pathCount["upkeep.execute"] += 1;
                if (r.kind == OrderKind.Close) pathCount["upkeep.execute.close"] += 1;
            }
            _forget(a, id);
        }
        for (uint256 i; i < TRADERS; ++i) {
            uint256 received = TOKEN.balanceOf(trader(i)) - b.traderTokens[i];
            if (other[i] ? received < refunds[i] : received != refunds[i])
                _fail("INV-UP-2", "an expired request was cancelled for other than its escrow and fee");
        }
    }

    /// @dev Each LP request the perform ended: cancelled for expiry (the escrow, tokens or shares, and the fee back to
    /// the owner, INV-UP-2) or executed or refused by the upkeep (its fee is the fee recipient's, INV-UP-5).
    function _settleLps(Before memory b) internal {
        for (uint256 j; j < LPS; ++j) {
            address o = lp(j);
            ILiquidityVault.LpRequest memory r = b.lp[j];
            if (r.amount == 0 || VAULT.lpRequest(o).amount != 0) continue;
            lpQueued[o] = false;
            if (time > r.expiresAt) {
                pathCount["upkeep.cancelExpiredLp"] += 1;
                uint256 tokens = TOKEN.balanceOf(o) - b.lpTokens[j];
                uint256 shares = VAULT.balanceOf(o) - b.lpShares[j];
                if (tokens != r.executionFee + (r.redeem ? 0 : r.amount) || shares != (r.redeem ? r.amount : 0))
                    _fail("INV-UP-2", "an expired LP request was cancelled for other than its escrow and fee");
            } else {
                expectedFees += r.executionFee;
                pathCount["upkeep.executeLp"] += 1;
            }
        }
    }

    /// @dev INV-UP-6: a stranger (no executor) who performs what the check returned is refused with NotExecutor and
    /// changes nothing; a check called outside a simulation (tx.origin not zero) reverts OnlySimulatedBackend.
    function _strangerPerforms(bytes memory data) internal {
        (uint256 length, uint256 bookTokens) = (EXECUTIONS.queueLength(), TOKEN.balanceOf(address(BOOK)));
        vm.prank(STRANGER);
        try EXECUTIONS.performUpkeep(data) {
            _fail("INV-UP-6", "a non-executor made the upkeep execute");
        } catch (bytes memory reason) {
            if (keccak256(reason) != keccak256(abi.encodeWithSelector(ExecutionUpkeep.NotExecutor.selector, STRANGER)))
                _fail("INV-UP-6", "a non-executor's perform was refused for another reason");
        }
        if (EXECUTIONS.queueLength() != length || TOKEN.balanceOf(address(BOOK)) != bookTokens)
            _fail("INV-UP-6", "a refused perform changed the queue or the book");
        pathCount["perform.stranger"] += 1;
        vm.prank(REGISTRY);
        try EXECUTIONS.checkUpkeep("") {
            _fail("INV-UP-6", "a check ran outside a simulation");
        } catch (bytes memory reason) {
            if (keccak256(reason) != keccak256(abi.encodeWithSelector(AutomationBase.OnlySimulatedBackend.selector)))
                _fail("INV-UP-6", "a check outside a simulation reverted for another reason");
        }
    }

    // ================================================================ internal: logs

    /// @dev Hands `log` to the upkeep that registered for it and performs what its check returns at once.
    function _deliver(Log memory log) internal returns (bool needed) {
        bytes memory data;
        (needed, data) = _checkLog(log);
        _perform(log, needed, data);
    }

    /// @dev Hands `log` to the upkeep now, and runs the perform its check returns at the next automation step (a
    /// perform that lands late: the request may be done, the position closed, by then).
    function _deliverLater(Log memory log) internal {
        (bool needed, bytes memory data) = _checkLog(log);
        _late.push(abi.encode(log, needed, data));
        pathCount["deliver.late"] += 1;
    }

    /// @dev `checkLog` of the upkeep registered for `log` (OrderRequested and LpRequested: the execution upkeep;
    /// OrderExecuted: the liquidation upkeep), simulated from the zero address.
    function _checkLog(Log memory log) internal returns (bool needed, bytes memory data) {
        AutomationLog memory l = AutomationLog(
            0,
            time,
            keccak256(abi.encode(blockNumber, log.topics)),
            blockNumber,
            blockhash(blockNumber - 1),
            log.emitter,
            log.topics,
            log.data
        );
        vm.prank(REGISTRY, address(0));
        if (log.topics[0] == IOrderBook.OrderExecuted.selector) (needed, data) = LIQUIDATIONS.checkLog(l, "");
        else (needed, data) = EXECUTIONS.checkLog(l, "");
        _checkSize(data);
    }

    /// @dev Performs a log check's perform data (if it asked for one) through the upkeep's forwarder; then the request
    /// `log` names, if still pending, must be queued (with that very request), and the position it names, if open,
    /// listed (INV-UP-1, INV-UP-4).
    function _perform(Log memory log, bool needed, bytes memory data) internal {
        bytes32 topic = log.topics[0];
        bool toLiquidations = topic == IOrderBook.OrderExecuted.selector;
        if (needed && !_performLog(toLiquidations, data)) {
            _fail(toLiquidations ? bytes32("INV-UP-4") : bytes32("INV-UP-1"), "a log perform reverted");
        }
        address account = address(uint160(uint256(log.topics[1])));
        if (topic == ILiquidityVault.LpRequested.selector) {
            _markLpQueued(account);
        } else if (toLiquidations) {
            uint256 id = uint256(log.topics[2]);
            if (ENGINE.getPosition(account, id).size != 0 && !LIQUIDATIONS.isTracked(account, id))
                _fail("INV-UP-4", "an execution's position was not listed from its log");
        } else {
            (Request memory r, , ) = abi.decode(log.data, (Request, uint256, uint256));
            uint256 id = uint256(log.topics[2]);
            if (BOOK.isPending(account, id, r)) _markQueued(account, id);
        }
    }

    /// @dev A log perform, through the forwarder of the upkeep the log was delivered to. A listing perform liquidates
    /// the positions it names that are listed already (and liquidatable): their keeper fees are the fee recipient's.
    function _performLog(bool toLiquidations, bytes memory data) internal returns (bool) {
        pathCount[toLiquidations ? bytes32("deliver.list") : bytes32("deliver.queue")] += 1;
        if (toLiquidations) {
            uint256 fees = _keeperFees(abi.decode(data, (uint256[])));
            vm.prank(LIQUIDATION_FORWARDER);
            try LIQUIDATIONS.performUpkeep(data) {
                expectedFees += fees;
                return true;
            } catch {
                return false;
            }
        }
        vm.prank(FORWARDER);
        try EXECUTIONS.performUpkeep(data) {
            return true;
        } catch {
            return false;
        }
    }

    /// @dev The keeper fees a liquidation perform of `keys` earns: the lens's preview of each listed position that is
    /// liquidatable now (an unlisted one is only listed).
    function _keeperFees(uint256[] memory keys) internal returns (uint256 fees) {
        for (uint256 i; i < keys.length; ++i) {
            (address a, uint256 id) = (address(uint160(keys[i] >> 96)), uint96(keys[i]));
            if (!LIQUIDATIONS.isTracked(a, id)) continue;
            LiquidationPreview memory preview = LENS.previewLiquidation(a, id);
            if (preview.liquidatable) {
                fees += preview.keeperFee;
                pathCount["upkeep.liquidate"] += 1;
            } else if (ENGINE.getPosition(a, id).size == 0) {
                pathCount["upkeep.dropClosed"] += 1;
            }
        }
    }

    /// @dev The pending request of `a` in `id` was just queued: it must be, with that very request.
    function _markQueued(address a, uint256 id) internal {
        if (!_queuedAs(a, id, BOOK.pendingRequest(a, id))) {
            _fail("INV-UP-1", "a pending request delivered to the upkeep is not queued as made");
        }
        queued[a][id] = true;
    }

    function _markLpQueued(address o) internal {
        if (VAULT.lpRequest(o).amount == 0) return;
        if (!EXECUTIONS.isQueued(o, LP_KEY)) _fail("INV-UP-1", "a pending LP request delivered is not queued");
        lpQueued[o] = true;
    }

    /// @notice Whether the queue holds `a`'s request in `id` with the commitment `commitment`.
    function _queuedAs(address a, uint256 id, bytes32 commitment) internal view returns (bool) {
        ExecutionUpkeep.Entry[] memory q = EXECUTIONS.queuePage(0, EXECUTIONS.queueLength());
        for (uint256 i; i < q.length; ++i) {
            if (q[i].account == a && q[i].marketId == id) return BOOK.commitmentOf(q[i].request) == commitment;
        }
        return false;
    }

    function _find(Log[] memory logs, address emitter, bytes32 topic) internal pure returns (Log memory) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == emitter && logs[i].topics[0] == topic) return logs[i];
        }
        revert("UpkeepHandler: no such log");
    }

    // ================================================================ internal: after the step

    /// @dev INV-UP-2: nothing left in the queue is done elsewhere or expired.
    function _checkQueueAfterStep() internal {
        ExecutionUpkeep.Entry[] memory q = EXECUTIONS.queuePage(0, EXECUTIONS.queueLength());
        for (uint256 i; i < q.length; ++i) {
            if (q[i].marketId == LP_KEY) {
                ILiquidityVault.LpRequest memory r = VAULT.lpRequest(q[i].account);
                if (r.amount == 0) _fail("INV-UP-2", "an LP request done elsewhere stayed queued");
                else if (time > r.expiresAt) _fail("INV-UP-2", "an expired LP request stayed queued");
            } else if (!BOOK.isPending(q[i].account, q[i].marketId, q[i].request)) {
                _fail("INV-UP-2", "a request done elsewhere stayed queued");
            } else if (time > q[i].request.expiresAt) {
                _fail("INV-UP-2", "an expired request stayed queued");
            }
        }
    }

    /// @dev INV-UP-3: no pending request is executable now (its first round after notBefore exists and the oracle
    /// accepts it, within its window) and left unexecuted; every pending request is queued (its log was delivered).
    function _checkRequestsAfterStep() internal {
        for (uint256 k; k < TRADERS * MARKETS; ++k) {
            (address a, uint256 id) = (trader(k / MARKETS), k % MARKETS);
            if (BOOK.pendingRequest(a, id) == 0) continue;
            if (!queued[a][id]) _fail("INV-UP-1", "a pending request was not queued once its log was delivered");
            if (_tradeExecutable(a, id)) _fail("INV-UP-3", "an executable request was left unexecuted");
        }
        for (uint256 j; j < LPS; ++j) {
            address o = lp(j);
            if (VAULT.lpRequest(o).amount == 0) continue;
            if (!lpQueued[o]) _fail("INV-UP-1", "a pending LP request was not queued once its log was delivered");
            if (!_lpExecutable(o)) continue;
            // A redemption of more than the free liquidity cannot execute: it waits (or expires). Whether the
            // check keeps returning it is INV-UP-3b (the step above).
            if (_refusedForLiquidity(o)) pathCount["lp.aboveFreeLiquidity"] += 1;
            else _fail("INV-UP-3", "an executable LP request was left unexecuted");
        }
    }

    /// @dev INV-UP-4: no listed position is liquidatable at the price now, every listed position exists, and every
    /// open position of the traders is listed.
    function _checkListAfterStep() internal {
        LiquidationUpkeep.Tracked[] memory listed = LIQUIDATIONS.trackedPage(0, LIQUIDATIONS.trackedCount());
        for (uint256 i; i < listed.length; ++i) {
            (address a, uint256 id) = (listed[i].account, listed[i].marketId);
            if (ENGINE.getPosition(a, id).size == 0) {
                // Kept apart: found failing (InvariantsSpec.md, INV-UP-4b).
                _fail("INV-UP-4b", "a closed position stayed listed");
                continue;
            }
            try LENS.isLiquidatable(a, id) returns (bool yes) {
                if (yes) _fail("INV-UP-4", "a liquidatable listed position was left");
            } catch {}
        }
        for (uint256 k; k < TRADERS * MARKETS; ++k) {
            (address a, uint256 id) = (trader(k / MARKETS), k % MARKETS);
            if (ENGINE.getPosition(a, id).size != 0 && !LIQUIDATIONS.isTracked(a, id))
                _fail("INV-UP-4", "an open position is not listed");
        }
    }

    /// @dev Whether `a`'s pending request in `id` could execute now: within its window, its market's first round at
    /// or after notBefore exists and the oracle accepts it (fresh, and the sequencer for new risk).
    function _tradeExecutable(address a, uint256 id) internal view returns (bool) {
        Request memory r = _requests[a][id];
        if (time < r.notBefore || time > r.expiresAt) return false;
        uint80 first = _firstRound(_feed(id), r.notBefore);
        if (first == 0) return false;
        bool risk = r.kind != OrderKind.Close && r.kind != OrderKind.Reduce;
        try _oracle(id).roundPrice(first, r.notBefore, risk) {
            return true;
        } catch {
            return false;
        }
    }

    /// @dev Whether `o`'s LP request could execute now: within its window, and for each market with positions the
    /// first round at or after notBefore exists and the oracle accepts it (deposits: the engine not paused).
    function _lpExecutable(address o) internal view returns (bool) {
        ILiquidityVault.LpRequest memory r = VAULT.lpRequest(o);
        if (time < r.notBefore || time > r.expiresAt) return false;
        if (!r.redeem && ENGINE.paused()) return false;
        for (uint256 id; id < MARKETS; ++id) {
            Market memory m = LENS.getMarket(id);
            if (m.settlementPrice != 0 || (m.longSize == 0 && m.shortSize == 0)) continue;
            uint80 first = _firstRound(_feed(id), r.notBefore);
            if (first == 0) return false;
            try _oracle(id).roundPrice(first, r.notBefore, false) {} catch {
                return false;
            }
        }
        return true;
    }

    /// @dev Whether what the execution upkeep's check still returns is only LP requests the vault refuses for free
    /// liquidity (INV-UP-3b).
    function _onlyRefusedRedemptionsLeft() internal returns (bool) {
        vm.prank(REGISTRY, address(0));
        (bool needed, bytes memory data) = EXECUTIONS.checkUpkeep("");
        if (!needed) return false;
        (, uint256[] memory trades, uint256[] memory lps, uint256[] memory settle) = abi.decode(
            data,
            (uint8, uint256[], uint256[], uint256[])
        );
        if (trades.length != 0 || settle.length != 0 || lps.length == 0) return false;
        for (uint256 i; i < lps.length; i += MARKETS + 1) {
            if (!_refusedForLiquidity(address(uint160(lps[i] >> 96)))) return false;
        }
        vm.prank(REGISTRY, address(0));
        (needed, ) = LIQUIDATIONS.checkUpkeep("");
        return !needed;
    }

    /// @dev Whether the vault refuses to execute `o`'s request now with InsufficientLiquidity (tried as the bot, then
    /// undone: `tryLp` always reverts).
    function _refusedForLiquidity(address o) internal returns (bool) {
        uint80[] memory rounds = new uint80[](MARKETS);
        uint256 notBefore = VAULT.lpRequest(o).notBefore;
        for (uint256 id; id < MARKETS; ++id) rounds[id] = _firstRound(_feed(id), notBefore);
        try this.tryLp(o, rounds) {} catch (bytes memory reason) {
            return bytes4(reason) == IPerpEngine.InsufficientLiquidity.selector;
        }
        return false;
    }

    /// @dev Executes `o`'s LP request as the bot and reverts with the vault's error (or nothing): a dry run.
    function tryLp(address o, uint80[] calldata rounds) external {
        vm.prank(BOT);
        VAULT.executeRequest(o, rounds);
        revert();
    }

    // ================================================================ internal: the bot

    function _botTrade(address a, uint256 id, bool listLate) internal {
        Request memory r = _requests[a][id];
        if (time > r.expiresAt) {
            uint256 before = TOKEN.balanceOf(a);
            vm.prank(BOT);
            try BOOK.cancel(a, id, r) {
                if (TOKEN.balanceOf(a) - before != escrowOf[a][id])
                    _fail("INV-OB-1", "a cancellation refunded other than the escrow and fee");
                _forget(a, id);
                pathCount["bot.cancel"] += 1;
            } catch {
                _fail("INV-OB-1", "the bot could not cancel an expired request");
            }
            return;
        }
        uint80 first = _firstRound(_feed(id), r.notBefore);
        if (first == 0) return;
        vm.recordLogs();
        vm.prank(BOT);
        try BOOK.execute(a, id, r, first) {
            _forget(a, id);
            pathCount["bot.execute"] += 1;
        } catch {
            vm.getRecordedLogs();
            return;
        }
        Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(BOOK) || logs[i].topics[0] != IOrderBook.OrderExecuted.selector) continue;
            if (listLate) _deliverLater(logs[i]);
            else _deliver(logs[i]);
        }
    }

    function _botLp(address o) internal {
        ILiquidityVault.LpRequest memory r = VAULT.lpRequest(o);
        if (time > r.expiresAt) {
            vm.prank(BOT);
            try VAULT.cancelRequest(o) {
                lpQueued[o] = false;
                pathCount["bot.cancelLp"] += 1;
            } catch {}
            return;
        }
        uint80[] memory rounds = new uint80[](MARKETS);
        for (uint256 id; id < MARKETS; ++id) rounds[id] = _firstRound(_feed(id), r.notBefore);
        vm.prank(BOT);
        try VAULT.executeRequest(o, rounds) {
            lpQueued[o] = false;
            pathCount["bot.executeLp"] += 1;
        } catch {}
    }

    // ================================================================ internal: helpers

    /// @dev Size, amount and bound of a request of `kind` on position `p` in `id`.
    function _draw(
        Position memory p,
        uint256 id,
        OrderKind kind,
        uint256 usdSeed,
        uint256 amountSeed,
        uint256 priceSeed
    ) internal view returns (int256 size, uint256 amount, uint256 acceptable) {
        (bool ok, uint256 price) = _price(id);
        if (!ok) price = uint256(_feed(id).latestAnswer()) * 1e10;
        bool long = p.size == 0 ? usdSeed % 2 == 0 : p.size > 0;
        uint256 usd = _bound(usdSeed >> 1, 200, 40_000);
        uint256 absSize = (usd * 1e36) / price + 1;
        if (kind == OrderKind.Open) {
            amount = (usd * UNIT) / _bound(amountSeed, 1, 9) + 11 * UNIT;
        } else if (kind == OrderKind.Increase) {
            amount = _bound(amountSeed, 0, 5_000) * UNIT;
        } else {
            absSize = 1; // a Close names only the side
        }
        size = long ? int256(absSize) : -int256(absSize);
        bool buy = (kind != OrderKind.Close) == long;
        acceptable = buy ? type(uint128).max : 0;
        if (priceSeed % 4 == 0) {
            uint256 bps = _bound(priceSeed >> 2, 0, 300);
            acceptable = (price * (buy ? 10_000 + bps : 10_000 - bps)) / 10_000;
        }
    }

    /// @dev The first open position of the traders without a pending request, scanning from the seed; (`a`, `id`)
    /// when there is none.
    function _held(address a, uint256 id, uint256 seed) internal view returns (address, uint256) {
        for (uint256 k; k < TRADERS * MARKETS; ++k) {
            uint256 slot = (seed + k) % (TRADERS * MARKETS);
            (address b, uint256 m) = (trader(slot / MARKETS), slot % MARKETS);
            if (ENGINE.getPosition(b, m).size != 0 && BOOK.pendingRequest(b, m) == 0) return (b, m);
        }
        return (a, id);
    }

    function _earliestExpiry() internal view returns (uint256 earliest) {
        for (uint256 k; k < TRADERS * MARKETS; ++k) {
            (address a, uint256 id) = (trader(k / MARKETS), k % MARKETS);
            if (BOOK.pendingRequest(a, id) == 0) continue;
            uint256 e = _requests[a][id].expiresAt;
            if (earliest == 0 || e < earliest) earliest = e;
        }
        for (uint256 j; j < LPS; ++j) {
            ILiquidityVault.LpRequest memory r = VAULT.lpRequest(lp(j));
            if (r.amount != 0 && (earliest == 0 || r.expiresAt < earliest)) earliest = r.expiresAt;
        }
    }

    /// @dev INV-UP-7: every check's perform data fits the registries' 1,000 bytes.
    function _checkSize(bytes memory data) internal {
        if (data.length > 1_000) _fail("INV-UP-7", "a check returned more than 1,000 bytes of perform data");
    }

    function _forget(address a, uint256 id) internal {
        escrowSum -= escrowOf[a][id];
        escrowOf[a][id] = 0;
        queued[a][id] = false;
        delete _requests[a][id];
    }

    /// @dev The first round of `feed` updated at or after `notBefore` (0 if none yet), walking down from the latest.
    function _firstRound(MockV3Aggregator feed, uint256 notBefore) internal view returns (uint80 first) {
        for (uint256 r = feed.latestRound(); r >= 1; --r) {
            if (feed.getTimestamp(r) < notBefore) break;
            first = uint80(r);
        }
    }

    function _price(uint256 id) internal view returns (bool ok, uint256 price) {
        try _oracle(id).price() returns (uint256 p) {
            return (true, p);
        } catch {
            return (false, 0);
        }
    }

    function _oracle(uint256 id) internal view returns (IPriceOracle) {
        return LENS.getMarket(id).oracle;
    }

    function _feed(uint256 id) internal view returns (MockV3Aggregator) {
        return id == 0 ? ETH_FEED : BTC_FEED;
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (x >= lo && x <= hi) return x;
        return lo + (x % (hi - lo + 1));
    }

    function _fail(bytes32 id, string memory reason) internal {
        if (violations[id] == 0) firstViolation[id] = reason;
        violations[id] += 1;
    }
}
