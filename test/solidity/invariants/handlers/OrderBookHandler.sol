// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

import {OrderBook} from "../../../../contracts/OrderBook.sol";
import {PerpEngine} from "../../../../contracts/PerpEngine.sol";
import {Execution, IOrderBook, OrderKind, Request} from "../../../../contracts/interfaces/IOrderBook.sol";
import {IPerpEngine, Position} from "../../../../contracts/interfaces/IPerpEngine.sol";
import {IPriceOracle} from "../../../../contracts/interfaces/IPriceOracle.sol";
import {EngineStorage} from "../../../../contracts/libraries/EngineStorage.sol";
import {MockERC20} from "../../../../contracts/mocks/MockERC20.sol";
import {Model} from "../../utils/Model.sol";
import {Log, vm} from "../../utils/Vm.sol";

/// @notice Drives the real two-step OrderBook (wired to its own engine): traders request all five kinds with
/// random sizes, amounts, acceptable prices and execution fees; the feeds post rounds at random times; a
/// keeper executes at the first round after each request's delay (found by walking the feed's rounds), or
/// tries a wrong round, which must revert; anyone cancels expired requests; anyone refreshes BTC's gap bound
/// (the test guards BTC at a 35 % design gap). Keeps the escrow ghost of INV-OB-1 and records violations of
/// INV-OB-1..6 found around each call (see InvariantsSpec.md).
contract OrderBookHandler {
    uint256 internal constant UNIT = 1e6; // 6-decimal collateral
    uint256 public constant TRADERS = 4;
    address public constant KEEPER = address(0x0B4EE9);

    MockERC20 internal immutable TOKEN;
    PerpEngine internal immutable ENGINE;
    OrderBook internal immutable BOOK;
    MockV3Aggregator internal immutable ETH_FEED;
    MockV3Aggregator internal immutable BTC_FEED;

    /// @dev The simulated clock: each action runs at it (the fuzzer does not keep warps between calls).
    uint256 public time;
    /// @dev INV-OB-1: the sum of the escrows of pending requests, kept from the requests' own amounts.
    uint256 public escrowSum;
    mapping(address account => mapping(uint256 marketId => uint256)) public escrowOf;
    /// @dev The pending requests as they were made: the book keeps only a commitment to each.
    mapping(address account => mapping(uint256 marketId => Request)) internal _requests;

    mapping(bytes32 id => uint256) public violations;
    mapping(bytes32 id => string) public firstViolation;
    mapping(bytes32 path => uint256) public pathCount;

    constructor(
        MockERC20 token,
        PerpEngine engine,
        OrderBook book,
        MockV3Aggregator ethFeed,
        MockV3Aggregator btcFeed
    ) {
        TOKEN = token;
        ENGINE = engine;
        BOOK = book;
        ETH_FEED = ethFeed;
        BTC_FEED = btcFeed;
        time = block.timestamp;
    }

    modifier action() {
        vm.warp(time);
        _;
    }

    function trader(uint256 i) public pure returns (address) {
        return address(uint160(0x6000 + i));
    }

    /// @notice `account`'s request in `marketId` as it was made (what the executor passes back to the book).
    function requestOf(address account, uint256 marketId) public view returns (Request memory) {
        return _requests[account][marketId];
    }

    // ================================================================ traders

    /// @dev A request of a random kind (three times in four an Open without a position and another kind with
    /// one). Sizes and amounts follow the account's position; `mismatch` asks for the other side, so that the
    /// engine refuses at execution and the request is cancelled. The acceptable price is up to 10 % worse than
    /// the current price for the trader (three times in four) or up to 10 % better; or any price.
    function request(
        uint256 actorSeed,
        uint256 marketSeed,
        uint256 kindSeed,
        uint256 usdSeed,
        uint256 amountSeed,
        uint256 priceSeed,
        uint256 feeSeed,
        bool mismatch
    ) external action {
        address a = trader(actorSeed % TRADERS);
        uint256 id = marketSeed % 2;
        OrderKind kind = OrderKind(kindSeed % 5);
        bool held = ENGINE.getPosition(a, id).size != 0;
        if (kindSeed % 4 != 0 && held == (kind == OrderKind.Open)) {
            kind = held ? OrderKind(1 + ((kindSeed >> 8) % 4)) : OrderKind.Open;
        }
        (bool ok, uint256 price) = _price(id);
        if (!ok) price = uint256(_feed(id).latestAnswer()) * 1e10;
        (int256 size, uint256 amount) = _draw(a, id, kind, price, usdSeed, amountSeed, mismatch);
        bool buy = _isBuy(kind, size);
        uint256 bps = _bound(priceSeed, 0, 1_000);
        bool slack = priceSeed % 4 != 0; // the bound leaves room for the price to move against the trader
        uint256 acceptable = (price * (buy == slack ? 10_000 + bps : 10_000 - bps)) / 10_000;
        if (priceSeed % 7 == 0) acceptable = buy ? type(uint128).max : 0; // any price
        uint256 fee = _bound(feeSeed, BOOK.minExecutionFee(), 5 * UNIT);
        uint256 escrow = (kind == OrderKind.Open || kind == OrderKind.Increase ? amount : 0) + fee;

        uint256 bookBefore = TOKEN.balanceOf(address(BOOK));
        uint256 traderBefore = TOKEN.balanceOf(a);
        vm.prank(a);
        try BOOK.request(id, kind, size, amount, acceptable, fee) {
            Request memory made = Request(
                kind,
                int128(size),
                uint96(amount),
                uint128(acceptable),
                uint96(fee),
                uint32(block.timestamp),
                uint32(block.timestamp + BOOK.minDelay()),
                uint32(block.timestamp + BOOK.maxAge())
            );
            _requests[a][id] = made;
            if (!BOOK.isPending(a, id, made)) _fail("INV-OB-1", "the book committed to another request");
            escrowOf[a][id] = escrow;
            escrowSum += escrow;
            pathCount["request"] += 1;
            if (TOKEN.balanceOf(address(BOOK)) - bookBefore != escrow)
                _fail("INV-OB-1", "request escrowed other than its amount + fee");
            if (traderBefore - TOKEN.balanceOf(a) != escrow) _fail("INV-OB-1", "request pulled other than its escrow");
        } catch {
            pathCount["request.refused"] += 1;
            if (TOKEN.balanceOf(address(BOOK)) != bookBefore) _fail("INV-OB-1", "a refused request moved tokens");
        }
    }

    /// @dev Cancels a pending request (scanning from the seed): until its expiry (inclusive) it must revert
    /// with RequestNotExpired and change nothing; after, it returns the whole escrow and the fee to the account,
    /// and the caller (the owner or anyone) gets nothing.
    function cancel(uint256 seed, bool bySelf) external action {
        (bool found, address a, uint256 id) = _pending(seed);
        if (!found) return;
        Request memory r = _requests[a][id];
        uint256 expiresAt = uint256(r.createdAt) + BOOK.maxAge();
        address caller = bySelf ? a : KEEPER;
        uint256 refund = _escrowsAmount(r.kind) ? r.amount : 0;
        uint256[3] memory before = [TOKEN.balanceOf(a), TOKEN.balanceOf(KEEPER), TOKEN.balanceOf(address(BOOK))];
        vm.prank(caller);
        try BOOK.cancel(a, id, r) {
            _forget(a, id);
            pathCount["cancel"] += 1;
            if (block.timestamp <= expiresAt) _fail("INV-OB-4", "a request was cancelled before its expiry");
            if (TOKEN.balanceOf(a) - before[0] != refund + r.executionFee)
                _fail("INV-OB-4", "cancel refunded other than the escrow and the fee");
            if (!bySelf && TOKEN.balanceOf(KEEPER) != before[1]) _fail("INV-OB-4", "cancel paid the caller");
            if (before[2] - TOKEN.balanceOf(address(BOOK)) != refund + r.executionFee)
                _fail("INV-OB-1", "cancel released other than the escrow");
        } catch (bytes memory reason) {
            pathCount["cancel.early"] += 1;
            bytes memory expected = abi.encodeWithSelector(IOrderBook.RequestNotExpired.selector, a, id, expiresAt);
            if (block.timestamp > expiresAt) _fail("INV-OB-4", "an expired request could not be cancelled");
            else if (keccak256(reason) != keccak256(expected))
                _fail("INV-OB-4", "early cancel reverted for another reason");
            if (!BOOK.isPending(a, id, r)) _fail("INV-OB-4", "a refused cancel changed the request");
        }
    }

    // ================================================================ keeper

    /// @dev Executes a pending request (scanning from the seed). `wrong`: at a round other than the first one
    /// at or after createdAt + minDelay, which must revert and change nothing (INV-OB-2). Otherwise at the
    /// first round, which (fresh price, not expired) must execute or cancel, never revert, at the worse of
    /// that round's answer and the current price for the trader (INV-OB-3). A keeper with no first round
    /// yet (and `wait`) waits for it: time moves to the request's earliest time and the feed posts a round.
    function execute(uint256 seed, uint256 roundSeed, bool wrong, bool wait) external action {
        (bool found, address a, uint256 id) = _pending(seed);
        if (!found) return;
        Request memory r = _requests[a][id];
        uint256 notBefore = uint256(r.createdAt) + BOOK.minDelay();
        uint80 first = _firstRound(_feed(id), notBefore);
        if (first == 0 && !wrong && wait) {
            if (time < notBefore) time = notBefore + (roundSeed % 60);
            vm.warp(time);
            _post(_feed(id), roundSeed >> 8);
            first = _firstRound(_feed(id), notBefore);
        }
        if (wrong || first == 0) {
            _executeWrong(a, id, r, first, roundSeed);
        } else {
            _executeFirst(a, id, r, first);
        }
    }

    /// @dev An executor who waits: time moves on by up to the rest of the request's window (and a tenth of the
    /// time a little past it) before it executes at the first round. Inside the window it executes or cancels
    /// at the worse of that round and the current price (INV-OB-3); past it, it reverts (INV-OB-3, INV-OB-4).
    function executeLate(uint256 seed, uint256 waitSeed) external action {
        (bool found, address a, uint256 id) = _pending(seed);
        if (!found) return;
        Request memory r = _requests[a][id];
        uint256 notBefore = uint256(r.createdAt) + BOOK.minDelay();
        uint256 expiresAt = uint256(r.createdAt) + BOOK.maxAge();
        uint80 first = _firstRound(_feed(id), notBefore);
        if (first == 0) return;
        uint256 until = waitSeed % 10 == 0 ? expiresAt + 60 : expiresAt;
        if (time < until) time += _bound(waitSeed >> 8, 0, until - time);
        vm.warp(time);
        pathCount["execute.late"] += 1;
        _executeFirst(a, id, r, first);
    }

    /// @dev An attacker who owns requests (the trader, or anyone who is not an executor) tries to execute one
    /// at its first round, alone or in a batch: it must revert with NotExecutor and change nothing (INV-OB-5).
    function attackerExecute(uint256 seed, bool batch, bool asOwner) external action {
        (bool found, address a, uint256 id) = _pending(seed);
        if (!found) return;
        Request memory r = _requests[a][id];
        uint80 first = _firstRound(_feed(id), uint256(r.createdAt) + BOOK.minDelay());
        address caller = asOwner ? a : address(uint160(0xA77AC4));
        uint256 bookBefore = TOKEN.balanceOf(address(BOOK));
        vm.prank(caller);
        bytes memory reason;
        bool ok;
        if (batch) {
            Execution[] memory e = new Execution[](1);
            e[0] = Execution(a, first, id, r);
            try BOOK.executeBatch(e) {
                ok = true;
            } catch (bytes memory why) {
                reason = why;
            }
        } else {
            try BOOK.execute(a, id, r, first) {
                ok = true;
            } catch (bytes memory why) {
                reason = why;
            }
        }
        pathCount["execute.attacker"] += 1;
        if (ok) _fail("INV-OB-5", "a non-executor executed a request");
        else if (keccak256(reason) != keccak256(abi.encodeWithSelector(IOrderBook.NotExecutor.selector, caller)))
            _fail("INV-OB-5", "a non-executor was refused for another reason");
        if (TOKEN.balanceOf(address(BOOK)) != bookBefore) _fail("INV-OB-5", "a refused execution moved tokens");
        if (!BOOK.isPending(a, id, r)) _fail("INV-OB-5", "a refused execution changed the request");
    }

    /// @dev A keeper liquidates a position of the book's traders, as it may at any time (requests for it then
    /// meet NoPosition at execution and are cancelled).
    function liquidate(uint256 actorSeed, uint256 marketSeed) external action {
        vm.prank(KEEPER);
        try ENGINE.liquidate(trader(actorSeed % TRADERS), marketSeed % 2, KEEPER) {
            pathCount["liquidate"] += 1;
        } catch {}
    }

    // ================================================================ the world

    /// @dev Time passes without a round, 1 s to 10 min (an eighth of the time up to 2 h): requests age and
    /// expire (after an hour), prices may go stale.
    function warp(uint256 secondsSeed) external action {
        time += _bound(secondsSeed, 1, secondsSeed % 8 == 0 ? 2 hours : 10 minutes);
        vm.warp(time);
    }

    /// @dev After 0 to 120 s, one feed posts a round ±5 % away: with `updateAnswer` (stamped now) or with
    /// `updateRoundData` stamped between the last round's time and now (a round that took a while to land).
    /// Round times never go backwards, as a Chainlink aggregator's do not.
    function postRound(
        uint256 marketSeed,
        uint256 secondsSeed,
        uint256 bpsSeed,
        uint256 stampSeed,
        bool roundData
    ) external action {
        time += _bound(secondsSeed, 0, 120);
        vm.warp(time);
        MockV3Aggregator feed = _feed(marketSeed % 2);
        if (roundData) {
            uint256 last = feed.latestTimestamp();
            uint256 stamp = _bound(stampSeed, last, block.timestamp);
            feed.updateRoundData(uint80(feed.latestRound() + 1), int256(_moved(feed, bpsSeed)), stamp, stamp);
            pathCount["round"] += 1;
        } else {
            _post(feed, bpsSeed);
        }
    }

    // ================================================================ internal

    /// @dev A round stamped now, ±5 % from the last answer.
    function _post(MockV3Aggregator feed, uint256 bpsSeed) private {
        feed.updateAnswer(int256(_moved(feed, bpsSeed)));
        pathCount["round"] += 1;
    }

    function _moved(MockV3Aggregator feed, uint256 bpsSeed) private view returns (uint256 answer) {
        answer = (uint256(feed.latestAnswer()) * _bound(bpsSeed, 9_500, 10_500)) / 10_000;
        if (answer < 1e8) answer = 1e8;
    }

    function _executeWrong(address a, uint256 id, Request memory r, uint80 first, uint256 roundSeed) private {
        MockV3Aggregator feed = _feed(id);
        uint256 latest = feed.latestRound();
        uint80 roundId;
        uint256 pick = roundSeed % 3;
        if (first == 0)
            roundId = uint80(_bound(roundSeed, 1, latest + 1)); // no first round yet: none is right
        else if (pick == 0 && first > 1) roundId = first - 1;
        else if (pick == 1) roundId = first + 1;
        else roundId = uint80(_bound(roundSeed, 1, latest + 2));
        if (roundId == first) roundId = first + 1;

        uint256 bookBefore = TOKEN.balanceOf(address(BOOK));
        vm.prank(KEEPER);
        try BOOK.execute(a, id, r, roundId) {
            _fail("INV-OB-2", "a request was executed at a round other than its first");
        } catch (bytes memory reason) {
            pathCount[first == 0 ? bytes32("execute.noRoundYet") : bytes32("execute.wrongRound")] += 1;
            bool expired = block.timestamp > uint256(r.createdAt) + BOOK.maxAge();
            bytes4 s = _selector(reason);
            if (!expired && s != IPriceOracle.RoundTooEarly.selector && s != IPriceOracle.NotFirstRound.selector)
                _fail("INV-OB-2", "a wrong round was refused for another reason");
        }
        if (TOKEN.balanceOf(address(BOOK)) != bookBefore) _fail("INV-OB-2", "a refused execution moved tokens");
        if (!BOOK.isPending(a, id, r)) _fail("INV-OB-2", "a refused execution changed the request");
    }

    function _executeFirst(address a, uint256 id, Request memory r, uint80 first) private {
        bool expired = block.timestamp > uint256(r.createdAt) + BOOK.maxAge();
        (bool fresh, uint256 latest) = _price(id);
        (, int256 answer, , , ) = _feed(id).getRoundData(first);
        uint256 roundAnswer = uint256(answer) * 1e10;
        bool buy = _isBuy(r.kind, r.size);
        uint256 expectedPrice = buy == (latest > roundAnswer) ? latest : roundAnswer;
        bool acceptable = buy ? expectedPrice <= r.acceptablePrice : expectedPrice >= r.acceptablePrice;
        uint256 refund = _escrowsAmount(r.kind) ? r.amount : 0;
        // INV-OB-6: the backstop's capacity and the market's gap bound before the execution.
        (uint256 capacity, uint256 boundBefore) = (ENGINE.backstop().maxCover(), BOOK.gapExposure(id));
        uint256[4] memory before = [
            TOKEN.balanceOf(KEEPER),
            TOKEN.balanceOf(address(BOOK)),
            TOKEN.balanceOf(a),
            TOKEN.balanceOf(address(ENGINE))
        ];

        vm.recordLogs();
        vm.prank(KEEPER);
        try BOOK.execute(a, id, r, first) returns (bool executed) {
            _forget(a, id);
            if (expired || !fresh) _fail("INV-OB-3", "an expired or unpriced request was executed");
            if (TOKEN.balanceOf(KEEPER) - before[0] != r.executionFee)
                _fail("INV-OB-3", "the keeper was paid other than the fee");
            if (before[1] - TOKEN.balanceOf(address(BOOK)) != refund + r.executionFee)
                _fail("INV-OB-1", "an execution released other than the escrow");
            _checkOutcome(a, id, first, executed, expectedPrice, acceptable);
            if (executed) {
                pathCount["execute"] += 1;
                if (refund > 0 && BOOK.gapExposure(id) > boundBefore && BOOK.totalGapExposure() > capacity)
                    _fail("INV-OB-6", "new risk raised the gap bound past the backstop's capacity");
                // An Open or Increase's amount went to the engine, not back to the account.
                if (refund > 0 && TOKEN.balanceOf(address(ENGINE)) - before[3] != refund)
                    _fail("INV-OB-3", "the engine did not receive the escrowed amount");
            } else {
                pathCount["execute.cancelled"] += 1;
                if (TOKEN.balanceOf(a) - before[2] != refund)
                    _fail("INV-OB-3", "a cancelled request refunded other than its amount");
            }
        } catch {
            vm.getRecordedLogs();
            pathCount["execute.reverted"] += 1;
            // Only an expired request or a stale current price stop an execution at the first round.
            if (!expired && fresh) _fail("INV-OB-3", "an execution at the first round reverted");
        }
    }

    /// @dev The execution's event names the first round and the expected price (OrderExecuted), or the
    /// cancellation says why (OrderCancelled: PriceNotAcceptable exactly when the price is beyond the bound).
    function _checkOutcome(
        address a,
        uint256 id,
        uint80 first,
        bool executed,
        uint256 expectedPrice,
        bool acceptable
    ) private {
        Log[] memory logs = vm.getRecordedLogs();
        bool seen;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(BOOK)) continue;
            bytes32 topic = logs[i].topics[0];
            if (topic == IOrderBook.OrderExecuted.selector) {
                seen = true;
                (uint80 roundId, uint256 price) = abi.decode(logs[i].data, (uint80, uint256));
                if (address(uint160(uint256(logs[i].topics[1]))) != a || uint256(logs[i].topics[2]) != id)
                    _fail("INV-OB-3", "OrderExecuted names another request");
                if (roundId != first) _fail("INV-OB-2", "a request was executed at a round other than its first");
                if (price != expectedPrice)
                    _fail("INV-OB-3", "executed at other than the worse of round and current price");
                if (!acceptable || !executed) _fail("INV-OB-3", "executed beyond the acceptable price");
            } else if (topic == IOrderBook.OrderCancelled.selector) {
                seen = true;
                (, , bytes memory reason) = abi.decode(logs[i].data, (uint256, uint256, bytes));
                bool priceRefused = _selector(reason) == IOrderBook.PriceNotAcceptable.selector;
                if (executed) _fail("INV-OB-3", "an executed request was also cancelled");
                if (_selector(reason) == IOrderBook.GapCoverExceeded.selector) {
                    pathCount["execute.gapRefused"] += 1;
                    (uint256 exposure, uint256 capacity) = abi.decode(_arguments(reason), (uint256, uint256));
                    if (exposure <= capacity) _fail("INV-OB-6", "the gap guard refused risk within the capacity");
                    if (capacity != ENGINE.backstop().maxCover())
                        _fail("INV-OB-6", "the gap guard compared with other than the backstop's maxCover");
                }
                if (priceRefused == acceptable) _fail("INV-OB-3", "PriceNotAcceptable other than beyond the bound");
            }
        }
        if (!seen) _fail("INV-OB-3", "an execution emitted neither OrderExecuted nor OrderCancelled");
    }

    /// @dev The first round of `feed` updated at or after `notBefore` (0 if none yet), walking down from the
    /// latest round: round times never decrease, so it is the lowest round at or after `notBefore`.
    function _firstRound(MockV3Aggregator feed, uint256 notBefore) private view returns (uint80 first) {
        for (uint256 r = feed.latestRound(); r >= 1; --r) {
            if (feed.getTimestamp(r) < notBefore) break;
            first = uint80(r);
        }
    }

    /// @dev Size and amount for a request of `kind` from `a` in `id`.
    function _draw(
        address a,
        uint256 id,
        OrderKind kind,
        uint256 price,
        uint256 usdSeed,
        uint256 amountSeed,
        bool mismatch
    ) private view returns (int256 size, uint256 amount) {
        Position memory p = ENGINE.getPosition(a, id);
        bool long = p.size == 0 ? usdSeed % 2 == 0 : p.size > 0;
        if (mismatch) long = !long;
        uint256 absSize = (_bound(usdSeed, 150, 100_000) * 1e36) / price + 1;
        if (kind == OrderKind.Open) {
            // 1x to 9x, with the fee taken out of the amount.
            amount = ((absSize * price) / 1e30) / _bound(amountSeed, 1, 9) + UNIT * 11;
        } else if (kind == OrderKind.Increase) {
            amount = _bound(amountSeed, 0, 20_000) * UNIT;
        } else if (kind == OrderKind.Reduce) {
            uint256 held = Model.abs(p.size);
            absSize = held > 1 ? _bound((held * _bound(amountSeed, 1, 9_999)) / 10_000, 1, held - 1) : 1;
        } else if (kind == OrderKind.Close) {
            absSize = 1; // only the sign counts
        } else {
            absSize = 1;
            amount = _bound(amountSeed, 1, p.margin > 2 ? p.margin / 2 : 1);
        }
        size = long ? int256(absSize) : -int256(absSize);
    }

    /// @dev The first pending request scanning from `seed` over the traders and markets.
    function _pending(uint256 seed) private view returns (bool found, address a, uint256 id) {
        for (uint256 k; k < TRADERS * 2; ++k) {
            uint256 i = (seed + k) % (TRADERS * 2);
            (a, id) = (trader(i / 2), i % 2);
            bytes32 commitment = BOOK.pendingRequest(a, id);
            if (commitment != bytes32(0)) return (true, a, id);
        }
    }

    function _forget(address a, uint256 id) private {
        escrowSum -= escrowOf[a][id];
        escrowOf[a][id] = 0;
        delete _requests[a][id];
    }

    function _price(uint256 id) private view returns (bool ok, uint256 price) {
        try _oracle(id).price() returns (uint256 p) {
            return (true, p);
        } catch {
            return (false, 0);
        }
    }

    function _oracle(uint256 id) private view returns (IPriceOracle) {
        return EngineStorage.oracle(IPerpEngine(address(ENGINE)), id);
    }

    function _feed(uint256 id) private view returns (MockV3Aggregator) {
        return id == 0 ? ETH_FEED : BTC_FEED;
    }

    function _isBuy(OrderKind kind, int256 size) private pure returns (bool) {
        return _escrowsAmount(kind) == (size > 0);
    }

    function _escrowsAmount(OrderKind kind) private pure returns (bool) {
        return kind == OrderKind.Open || kind == OrderKind.Increase;
    }

    function _selector(bytes memory reason) private pure returns (bytes4 s) {
        if (reason.length >= 4) s = bytes4(reason);
    }

    /// @dev An error's encoded arguments: `reason` without its selector.
    function _arguments(bytes memory reason) private pure returns (bytes memory args) {
        args = new bytes(reason.length - 4);
        for (uint256 i; i < args.length; ++i) args[i] = reason[i + 4];
    }

    /// @dev Anyone refreshes the guarded market's gap bound at the current price (a stale price refuses).
    function refreshGap() external action {
        try BOOK.refreshGapExposure(1) {
            pathCount["refreshGap"] += 1;
        } catch {
            pathCount["refreshGap.refused"] += 1;
        }
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) private pure returns (uint256) {
        if (x >= lo && x <= hi) return x;
        return lo + (x % (hi - lo + 1));
    }

    function _fail(bytes32 id, string memory reason) private {
        if (violations[id] == 0) firstViolation[id] = reason;
        violations[id] += 1;
    }
}
