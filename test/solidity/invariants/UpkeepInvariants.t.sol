// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

// prettier-ignore
import {AutomationCompatibleInterface} from
    "@chainlink/contracts/src/v0.8/automation/interfaces/AutomationCompatibleInterface.sol";

import {ExecutionUpkeep} from "../../../contracts/ExecutionUpkeep.sol";
import {LiquidationUpkeep} from "../../../contracts/LiquidationUpkeep.sol";
import {ILiquidityVault} from "../../../contracts/interfaces/ILiquidityVault.sol";
import {Execution, OrderKind, Request} from "../../../contracts/interfaces/IOrderBook.sol";
import {Market, Position} from "../../../contracts/interfaces/IPerpEngine.sol";
import {LiquidationPreview} from "../../../contracts/interfaces/IPerpLens.sol";
import {BaseTest} from "../utils/BaseTest.sol";
import {vm} from "../utils/Vm.sol";
import {UpkeepHandler, UpkeepSystem} from "./handlers/UpkeepHandler.sol";

/// @notice The Chainlink Automation upkeeps' invariants (INV-UP in InvariantsSpec.md) on a deployment of their own:
/// the engine wired to the real OrderBook (BaseTest `_deploySystem(true)`), an ExecutionUpkeep that is an executor of
/// the book and is driven by its forwarder (an executor too, as the book's admin makes the registry's forwarder), a
/// LiquidationUpkeep, both paying a fee recipient of their own; traders and LPs request, the registry queues, executes,
/// lists and liquidates (handlers/UpkeepHandler.sol), a competing bot executes some requests first. The engine's, the
/// book's and the vault's solvency invariants are checked on this deployment too.
contract UpkeepInvariantsTest is BaseTest {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    UpkeepHandler private handler;
    ExecutionUpkeep private executions;
    LiquidationUpkeep private liquidations;
    address private constant FEE_RECIPIENT = address(0xFEE5EC);
    address private constant STAKER = address(0x3200);
    uint256 private constant LP_SEED = 5_000_000 * UNIT;

    function setUp() public {
        _deploySystem(true);
        executions = new ExecutionUpkeep(lens, FEE_RECIPIENT);
        liquidations = new LiquidationUpkeep(lens, FEE_RECIPIENT);
        handler = new UpkeepHandler(
            UpkeepSystem(token, engine, book, vault, lens, ethFeed, btcFeed, executions, liquidations)
        );
        // The book's admin makes the upkeep an executor, and the registry's forwarder one that may drive it; the
        // competing bot is an executor of its own.
        book.grantRole(book.EXECUTOR_ROLE(), address(executions));
        book.grantRole(book.EXECUTOR_ROLE(), handler.FORWARDER());
        book.grantRole(book.EXECUTOR_ROLE(), handler.BOT());
        for (uint256 i; i < handler.TRADERS(); ++i) _fund(handler.trader(i), 10_000_000 * UNIT);
        for (uint256 i; i < handler.LPS(); ++i) _fund(handler.lp(i), 10_000_000 * UNIT);
        // The first LP holds the whole pool to begin with; the second starts with none.
        address first = handler.lp(0);
        _depositLp(first, LP_SEED);
        _fund(STAKER, 20_000 * UNIT);
        vm.prank(STAKER);
        backstop.deposit(20_000 * UNIT, STAKER);
        // BTC is guarded as in the order book's suite: large BTC opens are refused at execution (the fee is paid).
        book.setDesignGap(BTC, 0.35e18);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory s) {
        s = new FuzzSelector[](1);
        bytes4[] memory h = new bytes4[](7);
        h[0] = UpkeepHandler.request.selector;
        h[1] = UpkeepHandler.requestLp.selector;
        h[2] = UpkeepHandler.postRound.selector;
        h[3] = UpkeepHandler.warp.selector;
        h[4] = UpkeepHandler.automate.selector;
        h[5] = UpkeepHandler.botExecute.selector;
        h[6] = UpkeepHandler.botLiquidate.selector;
        s[0] = FuzzSelector(address(handler), h);
    }

    function targetSenders() public pure returns (address[] memory senders) {
        senders = new address[](1);
        senders[0] = address(0x5E4D);
    }

    // ---------------------------------------------------------------- INV-UP

    /// INV-UP-1: the queue is consistent: each of its `queueLength()` entries `isQueued`, no (account, market) is
    /// queued twice, each names a trader or an LP of the handler, `isQueued` is false for every other (actor,
    /// market), and every request the book (or the vault) holds that was queued is still queued, with that very
    /// request. (handler) Every delivered request is queued as made.
    function invariant_INV_UP_1_the_queue_is_consistent() public view {
        ExecutionUpkeep.Entry[] memory q = executions.queuePage(0, executions.queueLength());
        _assertEq(q.length, executions.queueLength(), "INV-UP-1 queuePage holds queueLength entries");
        for (uint256 i; i < q.length; ++i) {
            _assertTrue(executions.isQueued(q[i].account, q[i].marketId), "INV-UP-1 an entry is isQueued");
            _assertTrue(handler.isActor(q[i].account), "INV-UP-1 an entry names an actor");
            for (uint256 j; j < i; ++j) {
                bool same = q[j].account == q[i].account && q[j].marketId == q[i].marketId;
                _assertTrue(!same, "INV-UP-1 no (account, market) queued twice");
            }
        }
        uint96 lpKey = executions.LP();
        for (uint256 i; i < handler.TRADERS(); ++i) {
            address a = handler.trader(i);
            for (uint256 id; id < 2; ++id) {
                (bool found, Request memory r) = _entry(q, a, id);
                _assertTrue(found == executions.isQueued(a, id), "INV-UP-1 isQueued only for the entries");
                bytes32 pending = book.pendingRequest(a, id);
                if (pending == bytes32(0) || !handler.queued(a, id)) continue;
                _assertTrue(found, "INV-UP-1 a pending request that was queued is still queued");
                _assertTrue(book.commitmentOf(r) == pending, "INV-UP-1 the queued request is the one pending");
            }
            _assertTrue(!executions.isQueued(a, lpKey), "INV-UP-1 a trader has no LP entry");
        }
        for (uint256 i; i < handler.LPS(); ++i) {
            address o = handler.lp(i);
            (bool found, ) = _entry(q, o, lpKey);
            _assertTrue(found == executions.isQueued(o, lpKey), "INV-UP-1 isQueued only for the entries (LP)");
            if (vault.lpRequest(o).amount != 0 && handler.lpQueued(o)) {
                _assertTrue(found, "INV-UP-1 a pending LP request that was queued is still queued");
            }
        }
        _noViolation("INV-UP-1");
    }

    /// INV-UP-2 (handler): after the automation step no queued request is done elsewhere or expired: each was
    /// dropped, or cancelled for its owner's full refund (escrow and fee, to the unit: the owner's balance).
    function invariant_INV_UP_2_nothing_done_or_expired_stays_queued() public view {
        _noViolation("INV-UP-2");
    }

    /// INV-UP-3 (handler): after the automation step no pending request that is executable now is left unexecuted,
    /// and the step settles: both checks return false within `MAX_STEPS` blocks.
    function invariant_INV_UP_3_nothing_executable_is_left() public view {
        _noViolation("INV-UP-3");
    }

    /// INV-UP-3b (handler): the automation step settles when an LP redemption is larger than the pool's free liquidity:
    /// the check does not return, block after block, a request the vault refuses.
    /// @dev Found failing at 35e7fb9 (InvariantsSpec.md): the check returned a redemption the vault refuses with
    /// InsufficientLiquidity, every block until it expired. The check now leaves out a redemption the free liquidity
    /// cannot pay at the current mark (`ExecutionUpkeep._payable`).
    function invariant_INV_UP_3b_no_refused_redemption_is_performed_every_block() public view {
        _noViolation("INV-UP-3b");
    }

    /// INV-UP-4: the list is consistent (each of its `trackedCount()` positions `isTracked`, none twice, `isTracked`
    /// false for every other trader's market); (handler) after the automation step no listed position is liquidatable
    /// at the price now and every open position of the traders is listed.
    function invariant_INV_UP_4_the_list_covers_every_position() public view {
        LiquidationUpkeep.Tracked[] memory listed = liquidations.trackedPage(0, liquidations.trackedCount());
        _assertEq(listed.length, liquidations.trackedCount(), "INV-UP-4 trackedPage holds trackedCount positions");
        for (uint256 i; i < listed.length; ++i) {
            _assertTrue(liquidations.isTracked(listed[i].account, listed[i].marketId), "INV-UP-4 listed isTracked");
            for (uint256 j; j < i; ++j) {
                bool same = listed[j].account == listed[i].account && listed[j].marketId == listed[i].marketId;
                _assertTrue(!same, "INV-UP-4 no position listed twice");
            }
        }
        for (uint256 i; i < handler.TRADERS(); ++i) {
            for (uint256 id; id < 2; ++id) {
                address a = handler.trader(i);
                bool found;
                for (uint256 j; j < listed.length; ++j) {
                    if (listed[j].account == a && listed[j].marketId == id) found = true;
                }
                _assertTrue(found == liquidations.isTracked(a, id), "INV-UP-4 isTracked only for the listed");
            }
        }
        _noViolation("INV-UP-4");
    }

    /// INV-UP-4b (handler): after the automation step every listed position exists.
    /// @dev Found failing at 35e7fb9 (InvariantsSpec.md): the check asked `lens.isLiquidatable`, which returns false
    /// (does not revert) for a closed position, so a closed position stayed listed. The check now reads the position
    /// first (`LiquidationUpkeep._liquidatableOrClosed`).
    function invariant_INV_UP_4b_every_listed_position_exists() public view {
        _noViolation("INV-UP-4b");
    }

    /// INV-UP-5: neither upkeep holds collateral (after every perform: handler), and the fee recipient has received
    /// exactly the execution fees of the requests the execution upkeep executed or refused at execution (trades and
    /// LP) plus the keeper fees of the liquidation upkeep's liquidations (ghost).
    function invariant_INV_UP_5_fees_reach_the_fee_recipient() public view {
        _assertEq(token.balanceOf(address(executions)), 0, "INV-UP-5 the execution upkeep holds no collateral");
        _assertEq(token.balanceOf(address(liquidations)), 0, "INV-UP-5 the liquidation upkeep holds no collateral");
        _assertEq(token.balanceOf(FEE_RECIPIENT), handler.expectedFees(), "INV-UP-5 fee recipient == ghost fees");
        _noViolation("INV-UP-5");
    }

    /// INV-UP-6 and INV-UP-7 (handler): only the book's executors make the upkeep execute (a stranger's perform of the
    /// check's data reverts NotExecutor and changes nothing; a check outside a simulation reverts
    /// OnlySimulatedBackend); every check's perform data fits 1,000 bytes.
    function invariant_INV_UP_6_7_only_executors_drive_it_and_perform_data_fits() public view {
        _noViolation("INV-UP-6");
        _noViolation("INV-UP-7");
    }

    // ---------------------------------------------------------------- solvency on this deployment

    /// INV-CONS-1, INV-SOLV-2, INV-OB-1 and INV-LP-1 on this deployment: the engine's balance equals its ledger to
    /// the unit, the backstop holds its assets, the book holds exactly the pending requests' escrows, and the vault
    /// exactly the pending LP escrows and the held redemptions.
    function invariant_INV_UP_SOLV_engine_book_and_vault_hold_what_they_owe() public view {
        uint256 ledger = engine.lpBalance() + lens.pendingProtocolFees() + lens.pendingPenalties();
        uint256 escrows;
        for (uint256 i; i < handler.TRADERS(); ++i) {
            address a = handler.trader(i);
            ledger += engine.getPosition(a, ETH).margin + engine.getPosition(a, BTC).margin + engine.claimable(a);
            escrows += book.claimable(a);
            for (uint256 id; id < 2; ++id) {
                if (book.pendingRequest(a, id) == bytes32(0)) continue;
                Request memory r = handler.requestOf(a, id);
                _assertTrue(book.isPending(a, id, r), "INV-OB-1 (upkeeps) the pending commitment is the request made");
                bool escrowsAmount = r.kind == OrderKind.Open || r.kind == OrderKind.Increase;
                escrows += (escrowsAmount ? uint256(r.amount) : 0) + r.executionFee;
            }
        }
        _assertEq(token.balanceOf(address(engine)), ledger, "INV-CONS-1 (upkeeps) engine balance == ledger");
        _assertGe(token.balanceOf(address(backstop)), backstop.totalAssets(), "INV-SOLV-2 (upkeeps) backstop");
        _assertEq(token.balanceOf(address(book)), escrows, "INV-OB-1 (upkeeps) book balance == escrows");
        _assertEq(handler.escrowSum(), escrows, "INV-OB-1 (upkeeps) ghost escrows == escrows");
        uint256 assets;
        uint256 shares;
        uint256 held;
        for (uint256 i; i < handler.LPS(); ++i) {
            ILiquidityVault.LpRequest memory r = vault.lpRequest(handler.lp(i));
            if (r.redeem) shares += r.amount;
            else assets += r.amount;
            assets += r.executionFee; // every LP request escrows its fee in the vault
            ILiquidityVault.LpExit memory x = vault.lpExit(handler.lp(i));
            shares += x.shares + vault.lpDeposit(handler.lp(i)).shares;
            held += x.assets;
        }
        _assertEq(vault.heldAssets(), held, "INV-LP-1 (upkeeps) heldAssets");
        _assertEq(token.balanceOf(address(vault)), assets + held, "INV-LP-1 (upkeeps) vault tokens");
        _assertEq(vault.balanceOf(address(vault)), shares, "INV-LP-1 (upkeeps) vault shares");
        _noViolation("INV-OB-1");
    }

    /// INV-AGG-1 on this deployment: each side's size and margin are the sums over the positions.
    function invariant_INV_UP_AGG_market_aggregates_equal_sums_over_positions() public view {
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
            _assertEq(m.longSize, sums[0], "INV-AGG-1 (upkeeps) longSize");
            _assertEq(m.shortSize, sums[1], "INV-AGG-1 (upkeeps) shortSize");
            _assertEq(m.longMargin, sums[2], "INV-AGG-1 (upkeeps) longMargin");
            _assertEq(m.shortMargin, sums[3], "INV-AGG-1 (upkeeps) shortMargin");
        }
    }

    // ---------------------------------------------------------------- handler self-tests

    /// @dev A known path with no bot: an open queued from its log executes at the first round and is listed from its
    /// OrderExecuted log; a 15 % drop makes the 9x long liquidatable and the liquidation upkeep liquidates it and drops
    /// it; a request whose log arrives late and that nobody executes in its window is cancelled for a full refund.
    /// The fee recipient receives the execution fee and the keeper fee, and no check records a violation.
    function test_handler_walks_queue_execute_list_liquidate_and_expire() public {
        address a = handler.trader(0);
        // Trader 0: ETH long of $10,000 at 9x, any price, queued from its log by the registry.
        handler.request(0, 0, 0, 20_000, 9, 1, 2);
        _assertTrue(executions.isQueued(a, ETH), "queued from its log");
        handler.automate(); // no round after the delay yet
        _assertEq(engine.getPosition(a, ETH).size, int256(0), "nothing due before the first round");
        handler.postRound(0, 30, 10_000, 3, false);
        handler.automate();
        _assertTrue(engine.getPosition(a, ETH).size > 0, "executed at the first round");
        _assertTrue(liquidations.isTracked(a, ETH), "listed from its OrderExecuted log");
        _assertEq(executions.queueLength(), 0, "the queue is empty");
        _assertEq(token.balanceOf(FEE_RECIPIENT), UNIT, "the execution fee reached the fee recipient");
        handler.postRound(0, 1, 1_500, 0, false); // -15 %
        LiquidationPreview memory preview = lens.previewLiquidation(a, ETH);
        _assertTrue(preview.liquidatable, "liquidatable after the drop");
        handler.automate();
        _assertEq(engine.getPosition(a, ETH).size, int256(0), "liquidated by the upkeep");
        _assertTrue(!liquidations.isTracked(a, ETH), "dropped once liquidated");
        _assertEq(token.balanceOf(FEE_RECIPIENT), UNIT + preview.keeperFee, "the keeper fee reached the recipient");

        // Trader 1: a BTC open whose log the registry delivers late; no round in its window: cancelled after it.
        address b = handler.trader(1);
        uint256 before = token.balanceOf(b);
        handler.request(1, 1, 0, 2_000, 2, 1, 0);
        _assertTrue(!executions.isQueued(b, BTC), "not queued yet");
        handler.warp(0, true);
        handler.automate();
        _assertTrue(book.pendingRequest(b, BTC) == bytes32(0), "cancelled once expired");
        _assertEq(token.balanceOf(b), before, "escrow and fee back to the owner");
        _assertEq(executions.queueLength(), 0, "and dequeued");
        _assertEq(handler.pathCount("upkeep.cancelExpired"), 1, "one cancellation by the upkeep");
        _assertEq(token.balanceOf(FEE_RECIPIENT), handler.expectedFees(), "ghost fees");
        bytes32[8] memory ids = [
            bytes32("INV-UP-1"),
            "INV-UP-2",
            "INV-UP-3",
            "INV-UP-4",
            "INV-UP-4b",
            "INV-UP-5",
            "INV-UP-6",
            "INV-UP-7"
        ];
        for (uint256 i; i < ids.length; ++i) _noViolation(ids[i]);
    }

    /// @dev The bot is quicker: it executes a queued request, a request whose queueing perform is late, and an LP
    /// request queued with `enqueueLp`; the late queueing perform does nothing (and does not revert), the upkeep's
    /// check finds the others done and drops them (no fee for the upkeep), and the bot's execution whose listing
    /// perform is late is listed by it.
    function test_handler_the_bot_is_quicker_and_the_upkeep_drops_what_it_did() public {
        handler.request(0, 0, 0, 20_000, 2, 1, 2); // queued from its log
        handler.request(1, 0, 0, 10_000, 3, 1, 0); // its queueing perform is late
        handler.requestLp(1, false, 10_000, 1, 1); // a deposit, queued with enqueueLp
        handler.postRound(0, 30, 10_000, 3, false);
        handler.botExecute(0, false); // trader 0's ETH open
        handler.botExecute(2, true); // trader 1's ETH open, listed late
        handler.botExecute(8, false); // LP 1's deposit
        _assertEq(handler.pathCount("bot.execute"), 2, "the bot executed both trades");
        _assertEq(handler.pathCount("bot.executeLp"), 1, "and the deposit");
        _assertEq(executions.queueLength(), 2, "still queued: the trade and the deposit");
        handler.automate();
        _assertEq(executions.queueLength(), 0, "dropped as done");
        _assertEq(token.balanceOf(FEE_RECIPIENT), 0, "no fee for what the bot did");
        _assertTrue(liquidations.isTracked(handler.trader(1), ETH), "the late OrderExecuted log listed it");
        bytes32[7] memory ids = [
            bytes32("INV-UP-1"),
            "INV-UP-2",
            "INV-UP-3",
            "INV-UP-4",
            "INV-UP-5",
            "INV-UP-6",
            "INV-UP-7"
        ];
        for (uint256 i; i < ids.length; ++i) _noViolation(ids[i]);
    }

    /// @dev INV-UP-4b, found failing: a position closed through the book stays listed, because the liquidation
    /// upkeep's check asks `lens.isLiquidatable`, which returns false (it does not revert) when there is no position.
    /// Fixed: LiquidationUpkeep._liquidatableOrClosed reads a closed position as one to drop.
    function test_INV_UP_4b_a_position_closed_through_the_book_is_dropped() public {
        address a = handler.trader(0);
        handler.request(0, 0, 0, 20_000, 2, 1, 2);
        handler.postRound(0, 30, 10_000, 3, false);
        handler.automate();
        _assertTrue(liquidations.isTracked(a, ETH), "listed");
        handler.request(0, 0, 0, 0, 0, 1, 2); // a Close (kindSeed 0)
        handler.postRound(0, 30, 10_000, 3, false);
        handler.automate();
        _assertEq(engine.getPosition(a, ETH).size, int256(0), "closed");
        _assertTrue(!liquidations.isTracked(a, ETH), "INV-UP-4b the closed position was dropped");
        _noViolation("INV-UP-4b");
    }

    /// @dev INV-UP-3b, found failing: an LP's redemption of more than the pool's free liquidity (here the whole pool,
    /// with a position open) is returned by every check of the execution upkeep, and every perform's
    /// `vault.executeRequest` reverts InsufficientLiquidity inside its try: the registry performs every block until
    /// the request expires. Fixed: the check leaves out what the free liquidity cannot pay.
    function test_INV_UP_3b_a_redemption_above_free_liquidity_is_not_performed_every_block() public {
        handler.request(0, 0, 0, 20_000, 2, 1, 2); // an ETH open, executed by the upkeep
        handler.postRound(0, 30, 10_000, 3, false);
        handler.automate();
        handler.requestLp(0, true, 0, 1, 2); // LP 0 redeems all its shares (the whole pool)
        handler.postRound(0, 30, 10_000, 3, false);
        handler.automate();
        _noViolation("INV-UP-3b");
    }

    // ---------------------------------------------------------------- fuzz: the registries' limits

    /// @dev INV-UP-7 with more positions than a perform takes: 1 to 40 ETH longs at 2x to 10x, listed, then a drop of
    /// up to 50 % (at 50 % every one is liquidatable). Every check returns at most 25 positions in at most 1,000
    /// bytes, each liquidatable; a check of a random page names only positions of that page; performing until the
    /// check returns false takes at most ceil(n / 25) performs, leaves nothing liquidatable and pays the fee recipient
    /// the previewed keeper fees.
    function testFuzz_liquidation_checks_fit_the_registry_and_drain(
        uint256 countSeed,
        uint256 leverageSeed,
        uint256 dropSeed,
        uint256 startSeed,
        uint256 pageSeed
    ) public {
        uint256 n = _bound(countSeed, 1, 40);
        address[] memory accounts = _openEthLongs(n, leverageSeed);
        for (uint256 i; i < n; ++i) liquidations.track(accounts[i], ETH);
        vm.warp(START_TIME + ORDER_DELAY + 1);
        ethFeed.updateAnswer(int256((3_000e8 * (10_000 - _bound(dropSeed, 0, 5_000))) / 10_000));

        (uint256 start, uint256 count) = (_bound(startSeed, 0, n), _bound(pageSeed, 0, n));
        (, bytes memory paged) = _simulate(address(liquidations), abi.encode(start, count));
        uint256[] memory pageKeys = paged.length == 0 ? new uint256[](0) : abi.decode(paged, (uint256[]));
        for (uint256 i; i < pageKeys.length; ++i) {
            uint256 index = uint160(pageKeys[i] >> 96) - 0x9000;
            _assertTrue(index >= start && index < start + count, "a paged check names only its page");
        }

        uint256 fees;
        uint256 performs;
        for (; performs <= n / 25 + 1; ++performs) {
            (bool needed, bytes memory data) = _simulate(address(liquidations), "");
            if (!needed) break;
            _assertLe(data.length, 1_000, "INV-UP-7 liquidation perform data <= 1,000 bytes");
            uint256[] memory keys = abi.decode(data, (uint256[]));
            _assertLe(keys.length, liquidations.MAX_PER_PERFORM(), "at most MAX_PER_PERFORM positions");
            for (uint256 i; i < keys.length; ++i) {
                LiquidationPreview memory p = lens.previewLiquidation(address(uint160(keys[i] >> 96)), ETH);
                _assertTrue(p.liquidatable, "the check names only liquidatable positions");
                fees += p.keeperFee;
            }
            liquidations.performUpkeep(data);
        }
        _assertLe(performs, (n + 24) / 25, "drained in ceil(n / 25) performs");
        for (uint256 i; i < n; ++i) _assertTrue(!lens.isLiquidatable(accounts[i], ETH), "nothing liquidatable left");
        _assertEq(token.balanceOf(FEE_RECIPIENT), fees, "INV-UP-5 the previewed keeper fees");
        _assertEq(token.balanceOf(address(liquidations)), 0, "INV-UP-5 the upkeep holds nothing");
    }

    /// @dev INV-UP-7 with more requests than a perform takes: 1 to 30 ETH opens (either side, fees of 1 to 3 tokens)
    /// queued with `enqueue`, and an LP deposit, all due at one round. Every check returns at most 1,000 bytes;
    /// performing through an executor until the check returns false takes at most ceil((n + 1) / 12) + 1 performs,
    /// empties the queue, executes every request, and pays the fee recipient every fee.
    function testFuzz_execution_checks_fit_the_registry_and_drain(uint256 countSeed, uint256 sideSeed) public {
        uint256 n = _bound(countSeed, 1, 30);
        vm.warp(START_TIME);
        uint256 fees;
        for (uint256 i; i < n; ++i) {
            address a = address(uint160(0x9000 + i));
            _fund(a, 100_000 * UNIT);
            int128 size = (sideSeed >> i) & 1 == 0 ? int128(1e18) : -1e18;
            uint256 fee = UNIT * (1 + (i % 3));
            uint256 bound = size > 0 ? type(uint128).max : 0;
            vm.prank(a);
            book.request(ETH, OrderKind.Open, size, 1_000 * UNIT, bound, fee);
            Request memory r = Request(
                OrderKind.Open,
                size,
                uint96(1_000 * UNIT),
                uint128(bound),
                uint96(fee),
                uint32(START_TIME),
                uint32(START_TIME + ORDER_DELAY),
                uint32(START_TIME + ORDER_MAX_AGE)
            );
            executions.enqueue(a, ETH, r);
            fees += fee;
        }
        address depositor = handler.lp(1);
        vm.prank(depositor);
        vault.requestDepositWithLimit(10_000 * UNIT, depositor, depositor, 0, UNIT);
        executions.enqueueLp(depositor);
        fees += UNIT;
        vm.warp(START_TIME + ORDER_DELAY);
        ethFeed.updateAnswer(3_000e8);
        btcFeed.updateAnswer(60_000e8);

        book.grantRole(book.EXECUTOR_ROLE(), address(this)); // as the upkeep's forwarder
        uint256 performs;
        for (; performs <= (n + 1) / 12 + 2; ++performs) {
            (bool needed, bytes memory data) = _simulate(address(executions), "");
            if (!needed) break;
            _assertLe(data.length, 1_000, "INV-UP-7 execution perform data <= 1,000 bytes");
            executions.performUpkeep(data);
        }
        _assertLe(performs, (n + 1 + 11) / 12 + 1, "drained in a perform per 12 requests, and one more");
        _assertEq(executions.queueLength(), 0, "the queue is empty");
        for (uint256 i; i < n; ++i) {
            _assertTrue(engine.getPosition(address(uint160(0x9000 + i)), ETH).size != 0, "every request executed");
        }
        _assertTrue(vault.maxMint(depositor) > 0, "the deposit executed (its shares claimable)");
        _assertEq(token.balanceOf(FEE_RECIPIENT), fees, "INV-UP-5 every fee reached the fee recipient");
        _assertEq(token.balanceOf(address(executions)), 0, "INV-UP-5 the upkeep holds nothing");
    }

    // ---------------------------------------------------------------- internal

    /// @dev A check as the registry simulates it: tx.origin zero (Hardhat's EDR supports `prank(sender, origin)`).
    function _simulate(address upkeep, bytes memory checkData) private returns (bool needed, bytes memory data) {
        vm.prank(address(0x2E9157), address(0));
        return AutomationCompatibleInterface(upkeep).checkUpkeep(checkData);
    }

    /// @dev `n` accounts (0x9000...) each open a 1 ETH long at 2x to 10x through the book, executed in one batch.
    function _openEthLongs(uint256 n, uint256 leverageSeed) private returns (address[] memory accounts) {
        vm.warp(START_TIME);
        accounts = new address[](n);
        Request[] memory made = new Request[](n);
        for (uint256 i; i < n; ++i) {
            accounts[i] = address(uint160(0x9000 + i));
            _fund(accounts[i], 100_000 * UNIT);
            uint256 leverage = 2 + (uint256(keccak256(abi.encode(leverageSeed, i))) % 9);
            uint96 amount = uint96((3_000 * UNIT) / leverage + 2 * UNIT);
            vm.prank(accounts[i]);
            book.request(ETH, OrderKind.Open, 1e18, amount, type(uint128).max, UNIT);
            made[i] = Request(
                OrderKind.Open,
                1e18,
                amount,
                type(uint128).max,
                uint96(UNIT),
                uint32(START_TIME),
                uint32(START_TIME + ORDER_DELAY),
                uint32(START_TIME + ORDER_MAX_AGE)
            );
        }
        vm.warp(START_TIME + ORDER_DELAY);
        ethFeed.updateAnswer(3_000e8);
        book.grantRole(book.EXECUTOR_ROLE(), address(this));
        // The opens go through the book's executeBatch as this test's executor (not through the upkeep).
        Execution[] memory batch = new Execution[](n);
        uint80 round = uint80(ethFeed.latestRound());
        for (uint256 i; i < n; ++i) batch[i] = Execution(accounts[i], round, ETH, made[i]);
        book.executeBatch(batch);
        for (uint256 i; i < n; ++i) _assertTrue(engine.getPosition(accounts[i], ETH).size > 0, "opened");
        // The execution fees went to this test, not to the fee recipient.
        token.transfer(address(0xdead), token.balanceOf(address(this)));
    }

    function _entry(
        ExecutionUpkeep.Entry[] memory q,
        address account,
        uint256 marketId
    ) private pure returns (bool found, Request memory r) {
        for (uint256 i; i < q.length; ++i) {
            if (q[i].account == account && q[i].marketId == marketId) return (true, q[i].request);
        }
    }

    function _noViolation(bytes32 id) private view {
        uint256 count = handler.violations(id);
        if (count != 0) revert AssertionFailedUint(handler.firstViolation(id), count, 0);
    }
}
