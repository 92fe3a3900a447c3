// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ILiquidityVault} from "../../../contracts/interfaces/ILiquidityVault.sol";
import {Market, Position} from "../../../contracts/interfaces/IPerpEngine.sol";
import {BaseTest} from "../utils/BaseTest.sol";
import {Model} from "../utils/Model.sol";
import {vm} from "../utils/Vm.sol";
import {Ghosts} from "./handlers/Ghosts.sol";
import {System} from "./handlers/HandlerBase.sol";
import {GuardianHandler} from "./handlers/GuardianHandler.sol";
import {KeeperHandler} from "./handlers/KeeperHandler.sol";
import {LpHandler} from "./handlers/LpHandler.sol";
import {Simulator} from "./handlers/Simulator.sol";
import {StakerHandler} from "./handlers/StakerHandler.sol";
import {TraderHandler} from "./handlers/TraderHandler.sol";

/// @notice The system's invariants (see InvariantsSpec.md) under random sequences of trader, LP, staker,
/// keeper and guardian/admin actions (pause, config and fee-share changes), a token blocklist, time warps,
/// price moves, gap crashes and stale rounds.
contract InvariantsTest is BaseTest {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    uint256 private constant TRADERS = 4;

    Ghosts private ghosts;
    TraderHandler private traders;
    LpHandler private lps;
    StakerHandler private stakers;
    KeeperHandler private keeper;
    Simulator private simulator;
    GuardianHandler private guardian;
    uint256 private engineBase;
    uint256 private backstopBase;

    function setUp() public {
        _deploySystem();
        ghosts = new Ghosts(block.timestamp);
        System memory system = System(token, engine, vault, backstop, lens, ethFeed, btcFeed, ghosts, orders);
        traders = new TraderHandler(system);
        lps = new LpHandler(system);
        orders.setExecutor(address(lps), true); // the LP handler executes LP requests
        stakers = new StakerHandler(system);
        keeper = new KeeperHandler(system);
        simulator = new Simulator(system);
        guardian = new GuardianHandler(system);
        engine.grantRole(engine.GUARDIAN_ROLE(), address(guardian));
        engine.grantRole(engine.MARKET_ADMIN_ROLE(), address(guardian));
        engine.grantRole(engine.DEFAULT_ADMIN_ROLE(), address(guardian));

        for (uint256 i; i < TRADERS; ++i) _fund(traders.trader(i), 10_000_000 * UNIT);
        for (uint256 i; i < 2; ++i) _fund(lps.lp(i), 20_000_000 * UNIT);
        for (uint256 i; i < 2; ++i) _fund(stakers.staker(i), 5_000_000 * UNIT);
        // Seed liquidity and stake so that trading can start at once.
        address firstLp = lps.lp(0);
        address firstStaker = stakers.staker(0);
        _depositLp(firstLp, 5_000_000 * UNIT);
        vm.prank(firstStaker);
        backstop.deposit(20_000 * UNIT, firstStaker); // small: bad debt can exceed its cover cap
        engineBase = token.balanceOf(address(engine));
        backstopBase = token.balanceOf(address(backstop));
        ghosts.checkBackstopPrice(backstop);
    }

    // ---------------------------------------------------------------- targets (StdInvariant getters)

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](6);
        targets[0] = address(traders);
        targets[1] = address(lps);
        targets[2] = address(stakers);
        targets[3] = address(keeper);
        targets[4] = address(simulator);
        targets[5] = address(guardian);
    }

    function targetSelectors() public view returns (FuzzSelector[] memory s) {
        s = new FuzzSelector[](6);
        bytes4[] memory t = new bytes4[](8);
        t[0] = TraderHandler.open.selector;
        t[1] = TraderHandler.increase.selector;
        t[2] = TraderHandler.reduce.selector;
        t[3] = TraderHandler.close.selector;
        t[4] = TraderHandler.addMargin.selector;
        t[5] = TraderHandler.removeMargin.selector;
        t[6] = TraderHandler.setBlocked.selector;
        t[7] = TraderHandler.claim.selector;
        s[0] = FuzzSelector(address(traders), t);
        bytes4[] memory l = new bytes4[](4);
        l[0] = LpHandler.deposit.selector;
        l[1] = LpHandler.withdraw.selector;
        l[2] = LpHandler.settle.selector;
        l[3] = LpHandler.claim.selector;
        s[1] = FuzzSelector(address(lps), l);
        bytes4[] memory st = new bytes4[](4);
        st[0] = StakerHandler.stake.selector;
        st[1] = StakerHandler.requestRedeem.selector;
        st[2] = StakerHandler.unstake.selector;
        st[3] = StakerHandler.cancel.selector;
        s[2] = FuzzSelector(address(stakers), st);
        bytes4[] memory k = new bytes4[](3);
        k[0] = KeeperHandler.liquidate.selector;
        k[1] = KeeperHandler.liquidateBatch.selector;
        k[2] = KeeperHandler.distributeFees.selector;
        s[3] = FuzzSelector(address(keeper), k);
        bytes4[] memory w = new bytes4[](5);
        w[0] = Simulator.warp.selector;
        w[1] = Simulator.movePrice.selector;
        w[2] = Simulator.nudge.selector;
        w[3] = Simulator.gap.selector;
        w[4] = Simulator.staleRound.selector;
        s[4] = FuzzSelector(address(simulator), w);
        bytes4[] memory g = new bytes4[](4);
        g[0] = GuardianHandler.setPaused.selector;
        g[1] = GuardianHandler.setMarketConfig.selector;
        g[2] = GuardianHandler.setFeeShares.selector;
        g[3] = GuardianHandler.setBorrowRate.selector;
        s[5] = FuzzSelector(address(guardian), g);
    }

    function excludeContracts() public pure returns (address[] memory) {
        return new address[](0);
    }

    function targetSenders() public pure returns (address[] memory senders) {
        senders = new address[](1);
        senders[0] = address(0x5E4D);
    }

    // ---------------------------------------------------------------- INV-SOLV

    /// INV-SOLV-1
    function invariant_INV_SOLV_1_engine_holds_every_claim_on_it() public view {
        _assertGe(token.balanceOf(address(engine)), _ledger(), "INV-SOLV-1 engine balance >= claims on it");
    }

    /// INV-SOLV-2
    function invariant_INV_SOLV_2_backstop_holds_its_assets() public view {
        _assertGe(token.balanceOf(address(backstop)), backstop.totalAssets(), "INV-SOLV-2 backstop balance");
    }

    // ---------------------------------------------------------------- INV-CONS

    /// INV-CONS-1
    function invariant_INV_CONS_1_engine_ledger_matches_its_balance_to_the_unit() public view {
        _assertEq(token.balanceOf(address(engine)), _ledger(), "INV-CONS-1 engine balance == ledger");
    }

    /// INV-CONS-2
    function invariant_INV_CONS_2_ghost_flows_explain_both_balances() public view {
        _assertEq(
            token.balanceOf(address(engine)),
            engineBase + ghosts.engineIn() - ghosts.engineOut(),
            "INV-CONS-2 engine"
        );
        _assertEq(
            token.balanceOf(address(backstop)),
            backstopBase + ghosts.backstopIn() - ghosts.backstopOut(),
            "INV-CONS-2 backstop"
        );
    }

    /// INV-CONS-4: InstantOrders passes every trade's collateral straight to the engine and keeps none.
    function invariant_INV_CONS_4_instant_orders_hold_nothing() public view {
        _assertEq(token.balanceOf(address(orders)), 0, "INV-CONS-4 InstantOrders balance == 0");
    }

    /// INV-CONS-3 (handler side): every successful call moved exactly the tokens Model.sol predicts.
    function invariant_INV_CONS_3_calls_moved_the_predicted_amounts() public view {
        _noViolation("INV-CONS");
    }

    // ---------------------------------------------------------------- handler-side checks

    /// INV-WF-1..4
    function invariant_INV_WF_waterfall_order() public view {
        _noViolation("INV-WF");
    }

    /// INV-LIQ-1..3
    function invariant_INV_LIQ_no_healthy_position_liquidated_and_no_dust() public view {
        _noViolation("INV-LIQ");
    }

    /// INV-BACK-1..3
    function invariant_INV_BACK_backstop_share_price_falls_only_on_cover() public view {
        _noViolation("INV-BACK");
    }

    /// INV-LIVE-1..5
    function invariant_INV_LIVE_required_calls_succeed() public view {
        _noViolation("INV-LIVE");
    }

    /// INV-ADM-1..3
    function invariant_INV_ADM_admin_changes_take_effect_exactly_or_change_nothing() public view {
        _noViolation("INV-ADM");
    }

    /// INV-PAUSE-1..2
    function invariant_INV_PAUSE_pause_stops_new_risk_only() public view {
        _noViolation("INV-PAUSE");
    }

    /// INV-CLAIM-1..3
    function invariant_INV_CLAIM_deferred_refunds_are_claimable_exactly() public view {
        _noViolation("INV-CLAIM");
        for (uint256 i; i < TRADERS; ++i) {
            address a = traders.trader(i);
            _assertEq(engine.claimable(a), ghosts.deferred(a), "INV-CLAIM-2 claimable == deferred refunds");
        }
    }

    // ---------------------------------------------------------------- INV-LP

    /// INV-LP-1: the vault holds exactly the pending requests' escrows, the held redemptions and the executed
    /// deposits not yet claimed: tokens for deposits and held assets, its own shares for redemptions, pending or
    /// held, and for claimable deposits.
    function invariant_INV_LP_1_vault_holds_exactly_the_pending_escrows() public view {
        uint256 assets;
        uint256 shares;
        uint256 held;
        for (uint256 i; i < 2; ++i) {
            ILiquidityVault.LpRequest memory r = vault.lpRequest(lps.lp(i));
            if (r.redeem) shares += r.amount;
            else assets += r.amount;
            ILiquidityVault.LpExit memory x = vault.lpExit(lps.lp(i));
            shares += x.shares + vault.lpDeposit(lps.lp(i)).shares;
            held += x.assets;
        }
        _assertEq(vault.heldAssets(), held, "INV-LP-1 heldAssets == the held redemptions' assets");
        _assertEq(token.balanceOf(address(vault)), assets + held, "INV-LP-1 vault tokens == deposit escrows + held");
        _assertEq(
            vault.balanceOf(address(vault)),
            shares,
            "INV-LP-1 vault shares == redemption escrows + held + claimable deposits"
        );
    }

    /// INV-LP-2: no executed LP request lowers the value per share of the shares outside it.
    function invariant_INV_LP_2_entering_or_leaving_never_dilutes_the_others() public view {
        _noViolation("INV-LP-2");
    }

    /// INV-LP-3: only executors execute LP requests; an owner who tries on their own is refused (NotExecutor)
    /// and nothing changes.
    function invariant_INV_LP_3_only_executors_execute_lp_requests() public view {
        _noViolation("INV-LP-3");
    }

    /// INV-LP-4: a held redemption is claimed only by its owner after its hold, for no more than it was executed at.
    function invariant_INV_LP_4_a_held_exit_pays_no_more_than_its_execution() public view {
        _noViolation("INV-LP-4");
    }

    /// INV-7540: each controller's pending and claimable amounts add up to what it requested and has not
    /// claimed; claims take exactly what they report; a redemption is never requested over an unclaimed held one.
    function invariant_INV_7540_requests_pass_through_pending_and_claimable_exactly() public view {
        for (uint256 i; i < 2; ++i) {
            address a = lps.lp(i);
            ILiquidityVault.LpRequest memory r = vault.lpRequest(a);
            ILiquidityVault.LpExit memory x = vault.lpExit(a);
            uint256 redeeming = (r.redeem ? r.amount : 0) + x.shares;
            _assertEq(
                vault.pendingRedeemRequest(0, a) + vault.claimableRedeemRequest(0, a),
                redeeming,
                "INV-7540 pending + claimable redeem == requested shares not yet claimed"
            );
            _assertEq(vault.pendingDepositRequest(0, a), r.redeem ? 0 : r.amount, "INV-7540 pending deposit");
            _assertEq(vault.claimableDepositRequest(0, a), vault.lpDeposit(a).assets, "INV-7540 claimable deposit");
            _assertEq(vault.maxMint(a), vault.lpDeposit(a).shares, "INV-7540 maxMint == claimable shares");
        }
        _noViolation("INV-7540");
    }

    // ---------------------------------------------------------------- INV-AGG

    /// INV-AGG-1
    /// @dev INV-REC: the backstop's recovery debt is what the engine socialized (its LossSocialized events)
    /// less what income repaid to the LP pool, to the unit.
    function invariant_INV_REC_recovery_debt_equals_socialized_minus_repaid() public view {
        _assertEq(backstop.totalRecovered(), ghosts.recovered(), "INV-REC recovered");
        _assertEq(
            backstop.recoveryOutstanding(),
            ghosts.socialized() - ghosts.recovered(),
            "INV-REC outstanding == socialized - repaid"
        );
    }

    function invariant_INV_AGG_1_market_aggregates_equal_sums_over_positions() public view {
        for (uint256 id; id < 2; ++id) {
            Market memory m = lens.getMarket(id);
            uint256[6] memory sums; // longSize, shortSize, longEntry, shortEntry, longMargin, shortMargin
            int256 checkpoints;
            for (uint256 i; i < TRADERS; ++i) {
                Position memory p = engine.getPosition(traders.trader(i), id);
                if (p.size == 0) continue;
                uint256 absSize = p.size > 0 ? uint256(int256(p.size)) : uint256(-int256(p.size));
                uint256 side = p.size > 0 ? 0 : 1;
                sums[side] += absSize;
                sums[2 + side] += (absSize * p.entryPrice) / ONE;
                sums[4 + side] += p.margin;
                checkpoints += (int256(p.size) * p.fundingIndex) / int256(ONE);
            }
            _assertEq(m.longSize, sums[0], "INV-AGG-1 longSize");
            _assertEq(m.shortSize, sums[1], "INV-AGG-1 shortSize");
            _assertEq(m.longEntryNotional, sums[2], "INV-AGG-1 longEntryNotional");
            _assertEq(m.shortEntryNotional, sums[3], "INV-AGG-1 shortEntryNotional");
            _assertEq(m.longMargin, sums[4], "INV-AGG-1 longMargin");
            _assertEq(m.shortMargin, sums[5], "INV-AGG-1 shortMargin");
            _assertEq(int256(m.fundingCheckpointSum), checkpoints, "INV-AGG-1 fundingCheckpointSum");
        }
    }

    /// INV-AGG-2
    function invariant_INV_AGG_2_total_reserved_is_the_sum_of_rounded_up_caps() public view {
        uint256 reserved;
        for (uint256 id; id < 2; ++id) {
            Market memory m = lens.getMarket(id);
            // Per side: min(sum of margins, initial margin of the sum of entry notionals, rounded up) times
            // the factor, rounded up (PerpEngine._sideReserve), from the positions themselves.
            uint256[2] memory margins;
            uint256[2] memory entryNotionals;
            for (uint256 i; i < TRADERS; ++i) {
                Position memory p = engine.getPosition(traders.trader(i), id);
                if (p.size == 0) continue;
                uint256 side = p.size > 0 ? 0 : 1;
                margins[side] += p.margin;
                entryNotionals[side] += (Model.abs(p.size) * p.entryPrice) / ONE;
            }
            for (uint256 side; side < 2; ++side) {
                uint256 initialMargin = Model.ceilDivU(entryNotionals[side] * m.config.initialMarginRatio, DEN);
                uint256 base = margins[side] < initialMargin ? margins[side] : initialMargin;
                reserved += Model.ceilDivU(base * m.config.maxProfitFactor, ONE);
            }
        }
        _assertEq(engine.totalReserved(), reserved, "INV-AGG-2 totalReserved");
    }

    // ---------------------------------------------------------------- handler self-test

    /// @dev The handlers' own prediction on a known path: a 9.5x long walked down 8.5 % is liquidated in
    /// full with equity left above the keeper fee (penalty and refund), and no check records a violation.
    function test_handlers_predict_a_solvent_full_liquidation() public {
        traders.open(0, 0, true, 1_000, 95);
        simulator.nudge(0, 9_700);
        simulator.nudge(0, 9_700);
        simulator.nudge(0, 9_850);
        keeper.liquidate(0, 0, false);
        _assertEq(ghosts.pathCount("liquidate.solvent"), 1, "one solvent full liquidation");
        _assertEq(engine.getPosition(traders.trader(0), 0).size, int256(0), "position gone");
        _assertNoViolations();
    }

    /// @dev A blocked trader liquidated with equity above the keeper fee: the refund waits in claimable, so
    /// does the payout of the trader's own close of another position, and once unblocked the claim pays
    /// exactly both; every check passes, paused in between.
    function test_handlers_defer_a_blocked_refund_and_claim_it() public {
        traders.open(0, 0, true, 1_000, 95);
        traders.open(0, 1, true, 1_000, 20);
        traders.setBlocked(0, true);
        guardian.setPaused(true);
        simulator.nudge(0, 9_700);
        simulator.nudge(0, 9_700);
        simulator.nudge(0, 9_850);
        keeper.liquidate(0, 0, false);
        address a = traders.trader(0);
        _assertEq(ghosts.pathCount("liquidate.deferred"), 1, "one deferred refund");
        _assertTrue(engine.claimable(a) > 0, "refund deferred");
        _assertEq(engine.claimable(a), ghosts.deferred(a), "claimable == ghost");
        uint256 refund = engine.claimable(a);
        traders.close(0, 1);
        _assertEq(ghosts.pathCount("close.deferred"), 1, "blocked close's payout deferred");
        _assertEq(engine.getPosition(a, 1).size, int256(0), "blocked trader's position closed");
        _assertTrue(engine.claimable(a) > refund, "payout added to claimable");
        _assertEq(engine.claimable(a), ghosts.deferred(a), "claimable == ghost after the close");
        traders.claim(0, true); // blocked receiver: reverts, claim stays
        _assertEq(engine.claimable(a), ghosts.deferred(a), "claim kept");
        traders.setBlocked(0, false);
        guardian.setPaused(false);
        uint256 owed = engine.claimable(a);
        uint256 before = token.balanceOf(a);
        traders.claim(0, true);
        _assertEq(token.balanceOf(a) - before, owed, "claim paid the deferred refund");
        _assertEq(engine.claimable(a), 0, "nothing left to claim");
        _assertNoViolations();
    }

    /// @dev A config change whose reserve the pool cannot carry is refused with InsufficientLiquidity.
    function test_handlers_refuse_a_reserve_beyond_the_pool() public {
        // Six 1x positions of $300k each on ETH: margin ~ notional, reserve = 0.1 x notional x 9 each.
        for (uint256 i; i < 4; ++i) traders.open(i, 0, i % 2 == 0, 300_000, 10);
        for (uint256 i; i < 2; ++i) traders.open(i, 1, true, 300_000, 10);
        uint256 refusedBefore = ghosts.pathCount("config.refused");
        for (uint256 seed; seed < 64 && ghosts.pathCount("config.refused") == refusedBefore; ++seed) {
            guardian.setMarketConfig(seed % 2, seed, false);
        }
        _assertEq(ghosts.pathCount("config.refused"), refusedBefore + 1, "one config change refused");
        _assertNoViolations();
    }

    // ---------------------------------------------------------------- helpers

    /// @dev What the engine owes: margins of the known actors' positions, the LP pool, undistributed fees
    /// and penalties, and deferred refunds.
    function _ledger() private view returns (uint256 total) {
        for (uint256 i; i < TRADERS; ++i) {
            address a = traders.trader(i);
            total += engine.getPosition(a, 0).margin + engine.getPosition(a, 1).margin + engine.claimable(a);
        }
        total += engine.lpBalance() + lens.pendingProtocolFees() + lens.pendingPenalties();
    }

    function _assertNoViolations() private view {
        bytes32[10] memory ids = [
            bytes32("INV-CONS"),
            "INV-LP-2",
            "INV-LP-3",
            "INV-WF",
            "INV-LIQ",
            "INV-BACK",
            "INV-LIVE",
            "INV-ADM",
            "INV-PAUSE",
            "INV-CLAIM"
        ];
        for (uint256 i; i < ids.length; ++i) {
            if (ghosts.violations(ids[i]) != 0) {
                revert AssertionFailedUint(ghosts.firstViolation(ids[i]), ghosts.violations(ids[i]), 0);
            }
        }
    }

    function _noViolation(bytes32 id) private view {
        uint256 count = ghosts.violations(id);
        if (count != 0) revert AssertionFailedUint(ghosts.firstViolation(id), count, 0);
    }
}
