// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {OrderKind, Request} from "../../../contracts/interfaces/IOrderBook.sol";
import {Market, Position} from "../../../contracts/interfaces/IPerpEngine.sol";
import {BaseTest} from "../utils/BaseTest.sol";
import {vm} from "../utils/Vm.sol";
import {OrderBookHandler} from "./handlers/OrderBookHandler.sol";

/// @notice The OrderBook's invariants (INV-OB in InvariantsSpec.md) on a deployment of its own: the engine
/// wired to the real OrderBook (BaseTest `_deploySystem(true)`), traders trading only through requests, a
/// keeper executing them at the right (or a wrong) round, feeds posting rounds at random times, expiries
/// and cancellations. The engine's solvency, conservation and aggregate invariants are checked on this
/// deployment too.
contract OrderBookInvariantsTest is BaseTest {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    OrderBookHandler private handler;
    address private constant LP = address(0x2100);
    address private constant STAKER = address(0x3100);

    function setUp() public {
        _deploySystem(true);
        handler = new OrderBookHandler(token, engine, book, ethFeed, btcFeed);
        book.grantRole(book.EXECUTOR_ROLE(), handler.KEEPER());
        for (uint256 i; i < handler.TRADERS(); ++i) _fund(handler.trader(i), 10_000_000 * UNIT);
        _fund(LP, 5_000_000 * UNIT);
        _fund(STAKER, 20_000 * UNIT);
        _depositLp(LP, 5_000_000 * UNIT);
        vm.prank(STAKER);
        backstop.deposit(20_000 * UNIT, STAKER);
        // BTC is guarded (6,000 of cover a window carry about $19,900 of its larger side); ETH is not.
        book.setDesignGap(BTC, 0.35e18);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory s) {
        s = new FuzzSelector[](1);
        bytes4[] memory h = new bytes4[](9);
        h[0] = OrderBookHandler.request.selector;
        h[1] = OrderBookHandler.execute.selector;
        h[2] = OrderBookHandler.cancel.selector;
        h[3] = OrderBookHandler.postRound.selector;
        h[4] = OrderBookHandler.warp.selector;
        h[5] = OrderBookHandler.liquidate.selector;
        h[6] = OrderBookHandler.executeLate.selector;
        h[7] = OrderBookHandler.attackerExecute.selector;
        h[8] = OrderBookHandler.refreshGap.selector;
        s[0] = FuzzSelector(address(handler), h);
    }

    function targetSenders() public pure returns (address[] memory senders) {
        senders = new address[](1);
        senders[0] = address(0x5E4D);
    }

    // ---------------------------------------------------------------- INV-OB

    /// INV-OB-1: the book holds exactly the escrows of its pending requests: the handler's ghost (escrows as
    /// requested, released on execution or cancellation) and the sum over the requests the book holds a
    /// commitment to (each the request the handler made) agree with it.
    function invariant_INV_OB_1_book_balance_is_the_sum_of_pending_escrows() public view {
        uint256 stored;
        for (uint256 i; i < handler.TRADERS(); ++i) {
            for (uint256 id; id < 2; ++id) {
                address a = handler.trader(i);
                Request memory r = handler.requestOf(a, id);
                bytes32 commitment = book.pendingRequest(a, id);
                if (commitment == bytes32(0)) continue;
                // The book holds a commitment to exactly the request the handler made.
                _assertTrue(book.isPending(a, id, r), "INV-OB-1 the pending commitment is the request made");
                bool escrows = r.kind == OrderKind.Open || r.kind == OrderKind.Increase;
                stored += (escrows ? uint256(r.amount) : 0) + r.executionFee;
            }
        }
        uint256 balance = token.balanceOf(address(book));
        _assertEq(balance, handler.escrowSum(), "INV-OB-1 book balance == ghost escrow sum");
        _assertEq(balance, stored, "INV-OB-1 book balance == sum of stored requests' escrows");
        _noViolation("INV-OB-1");
    }

    /// INV-OB-2 (handler): no request is executed at a round other than the first at or after
    /// createdAt + minDelay; every execution at another round reverts and changes nothing.
    function invariant_INV_OB_2_only_the_first_round_executes() public view {
        _noViolation("INV-OB-2");
    }

    /// INV-OB-3 and INV-OB-4 (handler): executions at the first round settle exactly; cancellations only after expiry.
    function invariant_INV_OB_3_4_executions_and_cancellations_settle_exactly() public view {
        _noViolation("INV-OB-3");
        _noViolation("INV-OB-4");
    }

    /// INV-OB-5 (handler): only executors execute; a request's owner (or any other non-executor) who tries,
    /// alone or in a batch, gets NotExecutor and changes nothing.
    function invariant_INV_OB_5_only_executors_execute() public view {
        _noViolation("INV-OB-5");
    }

    /// INV-OB-6 (handler): an executed Open or Increase that raised its market's gap bound left the sum of the
    /// bounds within the backstop's `maxCover()` at its execution; a GapCoverExceeded cancellation names a sum
    /// above the capacity, and the capacity is the backstop's.
    function invariant_INV_OB_6_new_risk_stays_within_the_backstops_cover() public view {
        _noViolation("INV-OB-6");
    }

    /// INV-OB-7: the guard's sum is the sum of the markets' bounds, and an unguarded market has none.
    function invariant_INV_OB_7_gap_bounds_add_up() public view {
        _assertEq(book.totalGapExposure(), book.gapExposure(ETH) + book.gapExposure(BTC), "INV-OB-7 sum of bounds");
        _assertEq(book.gapExposure(ETH), 0, "INV-OB-7 an unguarded market has no bound");
    }

    // ---------------------------------------------------------------- engine invariants on this deployment

    /// INV-SOLV-1 / INV-CONS-1 on the book's engine: its balance equals its ledger, to the unit.
    function invariant_INV_OB_CONS_engine_ledger_matches_its_balance() public view {
        uint256 ledger = engine.lpBalance() + lens.pendingProtocolFees() + lens.pendingPenalties();
        for (uint256 i; i < handler.TRADERS(); ++i) {
            address a = handler.trader(i);
            ledger += engine.getPosition(a, 0).margin + engine.getPosition(a, 1).margin + engine.claimable(a);
        }
        _assertEq(token.balanceOf(address(engine)), ledger, "INV-CONS-1 (book) engine balance == ledger");
        _assertGe(token.balanceOf(address(backstop)), backstop.totalAssets(), "INV-SOLV-2 (book) backstop balance");
    }

    /// INV-AGG-1 on the book's engine: each side's size and margin are the sums over the positions.
    function invariant_INV_OB_AGG_market_aggregates_equal_sums_over_positions() public view {
        for (uint256 id; id < 2; ++id) {
            Market memory m = lens.getMarket(id);
            uint256[4] memory sums; // longSize, shortSize, longMargin, shortMargin
            for (uint256 i; i < handler.TRADERS(); ++i) {
                Position memory p = engine.getPosition(handler.trader(i), id);
                if (p.size == 0) continue;
                uint256 side = p.size > 0 ? 0 : 1;
                sums[side] += p.size > 0 ? uint256(int256(p.size)) : uint256(-int256(p.size));
                sums[2 + side] += p.margin;
            }
            _assertEq(m.longSize, sums[0], "INV-AGG-1 (book) longSize");
            _assertEq(m.shortSize, sums[1], "INV-AGG-1 (book) shortSize");
            _assertEq(m.longMargin, sums[2], "INV-AGG-1 (book) longMargin");
            _assertEq(m.shortMargin, sums[3], "INV-AGG-1 (book) shortMargin");
        }
    }

    // ---------------------------------------------------------------- handler self-test

    /// @dev A known path: an open request executes at its first round (a wrong round reverts first), a
    /// close request is cancelled by nobody before expiry, then executes; an expired request is cancelled;
    /// every check passes and the book ends empty.
    function test_handler_walks_request_execute_and_cancel() public {
        // Open long ~$30k at 5x (kind 0), acceptable price +10 %.
        handler.request(0, 0, 0, 30_000, 5, 501, 0, false); // bound 5.01 % above the price
        handler.execute(0, 0, false, false); // no round after the delay yet: every round is wrong
        handler.postRound(0, 60, 10_000, 0, false);
        handler.execute(0, 1, true, false); // a wrong round
        handler.cancel(0, true); // before expiry: refused
        handler.attackerExecute(0, false, true); // the owner is no executor
        handler.attackerExecute(0, true, false); // nor is anyone else, in a batch
        handler.execute(0, 0, false, false);
        _assertEq(handler.pathCount("execute"), 1, "open executed");
        _assertTrue(engine.getPosition(handler.trader(0), 0).size > 0, "long opened");
        // Close (kind 3): requested, left to expire, cancelled by a keeper.
        handler.request(0, 0, 3, 0, 0, 501, 0, false);
        handler.warp(2 hours);
        handler.postRound(0, 0, 10_000, 0, false);
        handler.execute(0, 0, false, false); // expired: reverts
        handler.cancel(0, false);
        _assertEq(handler.pathCount("cancel"), 1, "expired request cancelled");
        // Close again, executed at its first round by an executor who waits half an hour.
        handler.request(0, 0, 3, 0, 0, 501, 0, false);
        handler.execute(0, 0, false, false); // no round yet: refused
        handler.postRound(0, 60, 10_000, 0, false);
        handler.executeLate(0, (1 << 8) | 1); // waits at most the rest of the window (seed 1: one second)
        _assertEq(handler.pathCount("execute"), 2, "close executed");
        _assertEq(engine.getPosition(handler.trader(0), 0).size, int256(0), "position closed");
        _assertEq(token.balanceOf(address(book)), 0, "book empty");
        _assertEq(handler.escrowSum(), 0, "no escrow left");
        _assertTrue(
            handler.pathCount("execute.noRoundYet") + handler.pathCount("execute.wrongRound") == 3,
            "three wrong rounds refused"
        );
        _assertEq(handler.pathCount("execute.attacker"), 2, "two attempts by non-executors refused");
        bytes32[5] memory ids = [bytes32("INV-OB-1"), "INV-OB-2", "INV-OB-3", "INV-OB-4", "INV-OB-5"];
        for (uint256 i; i < ids.length; ++i) _noViolation(ids[i]);
    }

    /// @dev The handler meets the gap guard: a $30,000 BTC long (bound 9,052.50) is cancelled against the 6,000
    /// the backstop covers a window; a $15,000 one (4,526.25) executes; INV-OB-6 and INV-OB-7 hold.
    function test_handler_meets_the_gap_guard_in_btc() public {
        handler.request(0, 1, 0, 30_000, 5, 501, 0, false);
        handler.postRound(1, 60, 10_000, 0, false);
        handler.execute(0, 0, false, false);
        _assertEq(handler.pathCount("execute.gapRefused"), 1, "the open past the cover was cancelled");
        _assertEq(engine.getPosition(handler.trader(0), BTC).size, int256(0), "no BTC position");
        handler.request(0, 1, 0, 15_000, 5, 501, 0, false);
        handler.postRound(1, 60, 10_000, 0, false);
        handler.execute(0, 0, false, false);
        _assertTrue(engine.getPosition(handler.trader(0), BTC).size > 0, "the open within the cover executed");
        _assertTrue(book.gapExposure(BTC) > 4_000 * UNIT, "BTC's bound");
        _assertEq(book.totalGapExposure(), book.gapExposure(BTC), "the sum");
        _noViolation("INV-OB-6");
        _noViolation("INV-OB-3");
    }

    function _noViolation(bytes32 id) private view {
        uint256 count = handler.violations(id);
        if (count != 0) revert AssertionFailedUint(handler.firstViolation(id), count, 0);
    }
}
