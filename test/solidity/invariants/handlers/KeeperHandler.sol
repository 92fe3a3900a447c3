// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IPerpEngine, MarketConfig, Position} from "../../../../contracts/interfaces/IPerpEngine.sol";
import {BlocklistToken} from "../../../../contracts/mocks/BlocklistToken.sol";
import {Model} from "../../utils/Model.sol";
import {Log, vm} from "../../utils/Vm.sol";
import {HandlerBase, System} from "./HandlerBase.sol";

/// @notice A keeper liquidates (one or a batch) and distributes fees. Around each liquidation it predicts
/// the waterfall with Model.sol and checks every layer (INV-WF), that only unhealthy positions go and no
/// dust stays (INV-LIQ), and that an unhealthy position can always be liquidated (INV-LIVE).
contract KeeperHandler is HandlerBase {
    /// @dev Everything observed before a liquidation.
    struct Before {
        Position p;
        int256 equity;
        uint256 liquidationMargin;
        uint256 notional;
        uint256 price;
        uint256 maxCover;
        uint256 backstopBalance;
        uint256 traderBalance;
        uint256 claimable;
        uint256 keeperBalance;
        uint256 lpBalance;
        uint256 pendingPenalties;
    }

    constructor(System memory system) HandlerBase(system) {}

    /// @dev Prefers an unhealthy position (scanning from the seed) so that liquidations are common; falls
    /// back to the seed's position, healthy or not, which must then revert.
    /// `blockFirst`: the token blocks the trader just before (an issuer may block at any time), so that a
    /// refund must be deferred to `claimable` (INV-CLAIM-1).
    function liquidate(uint256 actorSeed, uint256 marketSeed, bool blockFirst) external action {
        (address a, uint256 id) = _pick(actorSeed, marketSeed);
        if (engine.getPosition(a, id).size == 0) return;
        if (blockFirst && !_blocked(a)) {
            BlocklistToken(address(token)).setBlocked(a, true);
            ghosts.count("block");
        }
        (bool ok, uint256 price) = _price(id);
        if (!ok) {
            vm.prank(KEEPER);
            try engine.liquidate(a, id, KEEPER) {
                ghosts.fail("INV-LIVE", "liquidate succeeded without a price");
            } catch {}
            return;
        }
        Before memory b = _snapshot(a, id, price);
        bool unhealthy = b.equity < int256(b.liquidationMargin);

        vm.recordLogs();
        vm.prank(KEEPER);
        try engine.liquidate(a, id, KEEPER) returns (uint256 fee) {
            _recordSocialized();
            if (!unhealthy) ghosts.fail("INV-LIQ", "a healthy position was liquidated");
            uint256 paid = _balance(KEEPER) - b.keeperBalance;
            if (paid != fee) ghosts.fail("INV-WF", "keeper received other than the reported fee");
            _checkWaterfall(a, id, b, paid);
        } catch (bytes memory reason) {
            if (unhealthy) ghosts.fail("INV-LIVE", "an unhealthy position could not be liquidated");
            if (_refusedForPause(reason)) ghosts.fail("INV-PAUSE", "liquidate refused by the pause");
        }
    }

    /// @dev `blockFirst`: the token blocks every trader about to be liquidated, as in `liquidate`.
    function liquidateBatch(uint256 seed, bool blockFirst) external action {
        uint256 n = TRADERS * 2;
        address[] memory accounts = new address[](n);
        uint256[] memory ids = new uint256[](n);
        bool[] memory expected = new bool[](n);
        uint256 expectedCount;
        // Start anywhere in the list so each position is sometimes first in its market.
        for (uint256 k; k < n; ++k) {
            uint256 i = (k + seed) % n;
            accounts[k] = trader(i / 2);
            ids[k] = i % 2;
            if (engine.getPosition(accounts[k], ids[k]).size == 0) continue;
            (bool ok, uint256 price) = _price(ids[k]);
            if (!ok) continue;
            (, int256 equity, uint256 liquidationMargin, ) = _health(accounts[k], ids[k], price);
            if (equity < int256(liquidationMargin)) {
                expected[k] = true;
                ++expectedCount;
                if (blockFirst && !_blocked(accounts[k])) {
                    BlocklistToken(address(token)).setBlocked(accounts[k], true);
                    ghosts.count("block");
                }
            }
        }
        uint256 keeperBefore = _balance(KEEPER);
        uint256 backstopBefore = _balance(address(backstop));
        uint256[] memory traderBefore = new uint256[](TRADERS);
        uint256[] memory claimableBefore = new uint256[](TRADERS);
        for (uint256 i; i < TRADERS; ++i) {
            traderBefore[i] = _balance(trader(i));
            claimableBefore[i] = engine.claimable(trader(i));
        }

        vm.recordLogs();
        vm.prank(KEEPER);
        try engine.liquidateBatch(accounts, ids, KEEPER) returns (uint256 liquidated, uint256 fees) {
            _recordSocialized();
            if (liquidated != expectedCount) ghosts.fail("INV-LIQ", "batch liquidated other than the unhealthy set");
            uint256 paid = _balance(KEEPER) - keeperBefore;
            if (paid != fees) ghosts.fail("INV-WF", "batch keeper fees differ from the transfer");
            uint256 refunds;
            for (uint256 i; i < TRADERS; ++i) {
                uint256 paidOut = _balance(trader(i)) - traderBefore[i];
                refunds += paidOut;
                _checkDeferral(trader(i), paidOut, engine.claimable(trader(i)) - claimableBefore[i]);
            }
            uint256 covered = backstopBefore - _balance(address(backstop));
            ghosts.engineFlow("batch.keeper", 0, paid);
            ghosts.engineFlow("batch.refund", 0, refunds);
            ghosts.engineFlow("batch.cover", covered, 0);
            ghosts.backstopFlow("batch.cover", 0, covered);
            ghosts.recordCover(backstop, covered);
            for (uint256 k; k < n; ++k) {
                Position memory p = engine.getPosition(accounts[k], ids[k]);
                if (!expected[k] || p.size == 0) continue;
                ghosts.count("batch.partial");
                // A partial liquidation leaves a healthy position above the minimum notional.
                (, uint256 price) = _price(ids[k]);
                (, int256 equity, uint256 liquidationMargin, ) = _health(accounts[k], ids[k], price);
                if (equity < int256(liquidationMargin)) ghosts.fail("INV-LIQ", "batch left an unhealthy remainder");
                if ((Model.abs(p.size) * price) / 1e18 < _config(ids[k]).minNotional) {
                    ghosts.fail("INV-LIQ", "batch left dust");
                }
            }
        } catch {
            ghosts.fail("INV-LIVE", "liquidateBatch reverted");
        }
    }

    function distributeFees() external action {
        // One unit of fees stays behind in the engine (its slot never returns to zero).
        uint256 pending = lens.pendingProtocolFees();
        uint256 fees = pending == 0 ? 0 : pending - 1;
        uint256 penalties = lens.pendingPenalties();
        uint256 shares = uint256(engine.backstopFeeShare()) + engine.treasuryFeeShare();
        uint256 toTreasury = shares == 0 ? 0 : (fees * engine.treasuryFeeShare()) / shares;
        // Socialized losses outstanding take the recovery share of the backstop's income first.
        uint256 income = fees - toTreasury + penalties;
        uint256 toLps = (income * backstop.recoveryShare()) / 1e18;
        if (toLps > backstop.recoveryOutstanding()) toLps = backstop.recoveryOutstanding();
        address treasury = engine.treasury();
        uint256 treasuryBefore = _balance(treasury);
        uint256 backstopBefore = _balance(address(backstop));
        uint256 lpBefore = engine.lpBalance();
        try engine.distributeFees() {
            uint256 treasuryGot = _balance(treasury) - treasuryBefore;
            uint256 backstopGot = _balance(address(backstop)) - backstopBefore;
            ghosts.engineFlow("distribute", 0, treasuryGot + backstopGot);
            ghosts.backstopFlow("distribute", backstopGot, 0);
            ghosts.addRecovered(toLps);
            if (toLps > 0) ghosts.count("distribute.recovery");
            if (treasuryGot != toTreasury || backstopGot != income - toLps) {
                ghosts.fail("INV-CONS", "distributeFees split differs from the shares");
            }
            if (engine.lpBalance() != lpBefore + toLps) ghosts.fail("INV-REC", "LP pool not repaid exactly");
        } catch {
            ghosts.fail("INV-LIVE", "distributeFees reverted");
        }
    }

    /// @dev Adds the amounts of the engine's LossSocialized events of the last call to the ghost.
    function _recordSocialized() private {
        Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(engine) && logs[i].topics[0] == IPerpEngine.LossSocialized.selector) {
                ghosts.addSocialized(abi.decode(logs[i].data, (uint256)));
            }
        }
    }

    /// @dev INV-CLAIM-1: a refund to a blocked trader is deferred in full to `claimable`; an unblocked
    /// trader's refund is paid at once. The deferred amount is remembered for the trader's claim.
    function _checkDeferral(address a, uint256 paidOut, uint256 deferredNow) private {
        if (_blocked(a)) {
            if (paidOut != 0) ghosts.fail("INV-CLAIM", "a blocked trader received a refund");
            if (deferredNow != 0) ghosts.count("liquidate.deferred");
        } else if (deferredNow != 0) {
            ghosts.fail("INV-CLAIM", "a refund to an unblocked trader was deferred");
        }
        ghosts.defer(a, deferredNow);
    }

    function _pick(uint256 actorSeed, uint256 marketSeed) private view returns (address, uint256) {
        for (uint256 k; k < TRADERS * 2; ++k) {
            address a = _trader(actorSeed + k / 2);
            uint256 id = (marketSeed + k) % 2;
            if (engine.getPosition(a, id).size == 0) continue;
            (bool ok, uint256 price) = _price(id);
            if (!ok) continue;
            (, int256 equity, uint256 liquidationMargin, ) = _health(a, id, price);
            if (equity < int256(liquidationMargin)) return (a, id);
        }
        return (_trader(actorSeed), marketSeed % 2);
    }

    function _snapshot(address a, uint256 id, uint256 price) private view returns (Before memory b) {
        (b.p, b.equity, b.liquidationMargin, b.notional) = _health(a, id, price);
        b.price = price;
        b.maxCover = backstop.maxCover();
        b.backstopBalance = _balance(address(backstop));
        b.traderBalance = _balance(a);
        b.claimable = engine.claimable(a);
        b.keeperBalance = _balance(KEEPER);
        b.lpBalance = engine.lpBalance();
        b.pendingPenalties = lens.pendingPenalties();
    }

    /// @dev The waterfall of a full liquidation, layer by layer, or the remainder of a partial one.
    function _checkWaterfall(address a, uint256 id, Before memory b, uint256 keeperPaid) private {
        MarketConfig memory c = _config(id);
        Position memory after_ = engine.getPosition(a, id);
        uint256 refund = _balance(a) - b.traderBalance + engine.claimable(a) - b.claimable;
        _checkDeferral(a, _balance(a) - b.traderBalance, engine.claimable(a) - b.claimable);
        uint256 covered = b.backstopBalance - _balance(address(backstop));
        uint256 penalty = lens.pendingPenalties() - b.pendingPenalties;
        ghosts.engineFlow("liquidate.keeper", 0, keeperPaid);
        ghosts.engineFlow("liquidate.refund", 0, _balance(a) - b.traderBalance);
        ghosts.engineFlow("liquidate.cover", covered, 0);
        ghosts.backstopFlow("liquidate.cover", 0, covered);
        ghosts.recordCover(backstop, covered);

        if (after_.size != 0) {
            ghosts.count("liquidate.partial");
            uint256 closedNotional = Model.notional(Model.abs(b.p.size) - Model.abs(after_.size), b.price, DEN);
            if (keeperPaid != Model.keeperFee(c, closedNotional)) ghosts.fail("INV-WF", "partial keeper fee");
            if (penalty != Model.ceilDivU(closedNotional * c.liquidationPenaltyRatio, 1e18)) {
                ghosts.fail("INV-WF", "partial penalty");
            }
            if (covered != 0 || refund != 0) ghosts.fail("INV-WF", "partial liquidation covered or refunded");
            (, int256 equity, uint256 liquidationMargin, ) = _health(a, id, b.price);
            if (equity < int256(liquidationMargin)) ghosts.fail("INV-LIQ", "partial left an unhealthy remainder");
            if ((Model.abs(after_.size) * b.price) / 1e18 < c.minNotional) ghosts.fail("INV-LIQ", "partial left dust");
            return;
        }

        uint256 fee = Model.keeperFee(c, b.notional);
        if (keeperPaid != fee) ghosts.fail("INV-WF", "keeper fee not paid in full");
        int256 rest = b.equity - int256(fee);
        if (rest >= 0) {
            ghosts.count("liquidate.solvent");
            uint256 expectedPenalty = Model.ceilDivU(b.notional * c.liquidationPenaltyRatio, 1e18);
            if (expectedPenalty > uint256(rest)) expectedPenalty = uint256(rest);
            if (penalty != expectedPenalty) ghosts.fail("INV-WF", "penalty differs");
            if (refund != uint256(rest) - expectedPenalty) ghosts.fail("INV-WF", "refund differs");
            if (covered != 0) ghosts.fail("INV-WF", "backstop covered a solvent liquidation");
            return;
        }
        uint256 badDebt = uint256(-rest);
        uint256 expectedCover = badDebt < b.maxCover ? badDebt : b.maxCover;
        ghosts.count("liquidate.badDebt");
        if (badDebt > expectedCover) ghosts.count("liquidate.socialized");
        if (penalty != 0 || refund != 0) ghosts.fail("INV-WF", "penalty or refund paid despite bad debt");
        // Nothing is socialized while the backstop could still cover under its cap.
        if (covered != expectedCover) ghosts.fail("INV-WF", "backstop cover differs from min(badDebt, maxCover)");
        int256 lpAfter = int256(b.lpBalance) + int256(uint256(b.p.margin) + covered) - int256(fee);
        if (engine.lpBalance() != (lpAfter > 0 ? uint256(lpAfter) : 0)) {
            ghosts.fail("INV-WF", "LP pool did not absorb exactly the uncovered bad debt");
        }
    }
}
