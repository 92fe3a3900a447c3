// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IPerpEngine, MarketConfig, Position} from "../../../../contracts/interfaces/IPerpEngine.sol";
import {BlocklistToken} from "../../../../contracts/mocks/BlocklistToken.sol";
import {Model} from "../../utils/Model.sol";
import {vm} from "../../utils/Vm.sol";
import {HandlerBase, System} from "./HandlerBase.sol";

/// @notice Traders open, increase, reduce, close and move margin, with bounded sizes and leverage, through
/// InstantOrders (the engine's wired order contract in this suite: it executes at once at the oracle's
/// price and pulls margin + fee from the trader). Checks what each successful call moved against Model.sol,
/// and that a solvent position can always be closed and any position topped up (INV-LIVE), also while
/// paused (INV-PAUSE). The token may block a trader: then the trader's own transfers revert with its Blocked
/// error, and what the engine pays a blocked trader (a close's payout, removed margin, a liquidation
/// refund) waits in `claimable` (INV-CLAIM).
contract TraderHandler is HandlerBase {
    /// @dev Where a trader may send a claim instead of to themselves (never blocked).
    address public constant CLAIM_RECEIVER = address(0xC1A1);

    constructor(System memory system) HandlerBase(system) {}

    function open(
        uint256 actorSeed,
        uint256 marketSeed,
        bool long,
        uint256 usdSeed,
        uint256 leverageSeed
    ) external action {
        address a = _trader(actorSeed);
        uint256 id = marketSeed % 2;
        if (engine.getPosition(a, id).size != 0) return;
        (bool ok, uint256 price) = _price(id);
        if (!ok) return;
        uint256 usd = _bound(usdSeed, 150, 300_000) * 1e18;
        uint256 absSize = (usd * 1e18) / price + 1;
        // Leverage 1x to 9.5x (tenths), never below the minimum margin.
        uint256 margin = ((usd / 1e12) * 10) / _bound(leverageSeed, 10, 95);
        if (margin < 10 * UNIT) margin = 10 * UNIT;
        int256 size = long ? int256(absSize) : -int256(absSize);
        bool paused = engine.paused();

        uint256 before = _balance(a);
        vm.prank(a);
        try orders.openPosition(id, size, margin) {
            uint256 paid = before - _balance(a);
            ghosts.engineFlow("open", paid, 0);
            uint256 fee = Model.ceilDivU(Model.notional(absSize, price, DEN) * _config(id).tradingFeeRatio, 1e18);
            if (paid != margin + fee) ghosts.fail("INV-CONS", "open pulled other than margin + fee");
            if (paused) ghosts.fail("INV-PAUSE", "open succeeded while paused");
            if (_blocked(a)) ghosts.fail("INV-CLAIM", "a blocked trader opened a position");
        } catch (bytes memory reason) {
            _checkPaused(paused, a, reason, "open reverted other than EnforcedPause while paused");
        }
    }

    function increase(uint256 actorSeed, uint256 marketSeed, uint256 usdSeed, uint256 marginSeed) external action {
        address a = _trader(actorSeed);
        uint256 id = marketSeed % 2;
        if (engine.getPosition(a, id).size == 0) return;
        (bool ok, uint256 price) = _price(id);
        if (!ok) return;
        uint256 sizeDelta = (_bound(usdSeed, 1, 100_000) * 1e36) / price + 1;
        uint256 marginDelta = _bound(marginSeed, 0, 20_000) * UNIT;
        bool paused = engine.paused();

        uint256 before = _balance(a);
        vm.prank(a);
        try orders.increasePosition(id, sizeDelta, marginDelta) {
            uint256 paid = before - _balance(a);
            ghosts.engineFlow("increase", paid, 0);
            uint256 fee = Model.ceilDivU(Model.notional(sizeDelta, price, DEN) * _config(id).tradingFeeRatio, 1e18);
            if (paid != marginDelta + fee) ghosts.fail("INV-CONS", "increase pulled other than margin + fee");
            if (paused) ghosts.fail("INV-PAUSE", "increase succeeded while paused");
            // Even without margin the fee is pulled from the trader, which the token refuses.
            if (_blocked(a)) ghosts.fail("INV-CLAIM", "a blocked trader increased a position");
        } catch (bytes memory reason) {
            _checkPaused(paused, a, reason, "increase reverted other than EnforcedPause while paused");
        }
    }

    function reduce(uint256 actorSeed, uint256 marketSeed, uint256 bpsSeed) external action {
        address a = _trader(actorSeed);
        uint256 id = marketSeed % 2;
        Position memory p = engine.getPosition(a, id);
        uint256 absSize = Model.abs(p.size);
        if (absSize < 2) return;
        uint256 sizeDelta = _bound((absSize * _bound(bpsSeed, 1, 9_999)) / 10_000, 1, absSize - 1);

        uint256 before = _balance(a);
        vm.prank(a);
        try orders.reducePosition(id, sizeDelta) {
            if (_balance(a) != before) ghosts.fail("INV-CONS", "reduce moved the trader's tokens");
            ghosts.count("reduce");
            (, uint256 price) = _price(id);
            uint256 remaining = Model.abs(engine.getPosition(a, id).size);
            if (remaining != absSize - sizeDelta) ghosts.fail("INV-LIQ", "reduce left another size");
            if ((remaining * price) / 1e18 < _config(id).minNotional) ghosts.fail("INV-LIQ", "reduce left dust");
        } catch (bytes memory reason) {
            // Reduce moves no tokens: neither the pause nor a blocklist may stop it.
            if (_refusedForPause(reason)) ghosts.fail("INV-PAUSE", "reduce refused by the pause");
            if (keccak256(reason) == keccak256(_blockedError(a)))
                ghosts.fail("INV-CLAIM", "reduce refused by the blocklist");
        }
    }

    function close(uint256 actorSeed, uint256 marketSeed) external action {
        address a = _trader(actorSeed);
        uint256 id = marketSeed % 2;
        if (engine.getPosition(a, id).size == 0) return;
        (bool ok, uint256 price) = _price(id);
        uint256 before = _balance(a);
        if (!ok) {
            vm.prank(a);
            try orders.closePosition(id) {
                ghosts.fail("INV-LIVE", "close succeeded without a price");
            } catch {}
            return;
        }
        (Position memory p, int256 equity, , uint256 notional) = _health(a, id, price);
        MarketConfig memory c = _config(id);
        uint256 cap = Model.profitCap(c, p, DEN);
        int256 toVault =
            Model.funding(p.size, lens.currentFundingIndex(id), p.fundingIndex, DEN) -
                Model.pnl(p.size, p.entryPrice, price, cap, DEN);
        bool mustSucceed = equity >= 0 && int256(uint256(engine.lpBalance())) + toVault >= 0;
        uint256 fee = Model.ceilDivU(notional * c.tradingFeeRatio, 1e18);
        uint256 expected = equity < 0 ? 0 : uint256(equity) - (fee < uint256(equity) ? fee : uint256(equity));
        // A blocked trader cannot receive a payout: the close succeeds and the payout waits in claimable.
        bool blockedPayout = _blocked(a) && expected > 0;
        uint256 claimableBefore = engine.claimable(a);

        vm.prank(a);
        try orders.closePosition(id) returns (uint256 payout) {
            uint256 received = _balance(a) - before;
            uint256 deferred = engine.claimable(a) - claimableBefore;
            ghosts.engineFlow("close", 0, received);
            _recordDeferred(a, deferred, "close.deferred");
            if (received + deferred != expected || payout != expected)
                ghosts.fail("INV-CONS", "close paid other than equity - fee");
            if (equity < 0) ghosts.fail("INV-LIVE", "a bankrupt position was closed");
            if (blockedPayout ? received != 0 || deferred != expected : deferred != 0)
                ghosts.fail("INV-CLAIM", "a close payout was not deferred exactly when the trader is blocked");
        } catch (bytes memory reason) {
            if (_refusedForPause(reason)) ghosts.fail("INV-PAUSE", "close refused by the pause");
            if (mustSucceed) ghosts.fail("INV-LIVE", "a solvent position could not be closed");
        }
    }

    function addMargin(uint256 actorSeed, uint256 marketSeed, uint256 amountSeed) external action {
        address a = _trader(actorSeed);
        uint256 id = marketSeed % 2;
        if (engine.getPosition(a, id).size == 0) return;
        uint256 amount = _bound(amountSeed, 1, 50_000 * UNIT);
        bool blocked = _blocked(a);
        uint256 before = _balance(a);
        vm.prank(a);
        try engine.addMargin(id, amount) {
            uint256 paid = before - _balance(a);
            ghosts.engineFlow("addMargin", paid, 0);
            if (paid != amount) ghosts.fail("INV-CONS", "addMargin pulled other than the amount");
            if (blocked) ghosts.fail("INV-CLAIM", "a blocked trader added margin");
        } catch (bytes memory reason) {
            // Needs no price and works while paused: a position can always be topped up, unless the token
            // refuses the trader's transfer.
            if (!blocked) ghosts.fail("INV-LIVE", "addMargin reverted");
            else if (keccak256(reason) != keccak256(_blockedError(a))) {
                ghosts.fail("INV-CLAIM", "a blocked trader's addMargin reverted other than Blocked");
            }
        }
    }

    function removeMargin(uint256 actorSeed, uint256 marketSeed, uint256 amountSeed) external action {
        address a = _trader(actorSeed);
        uint256 id = marketSeed % 2;
        Position memory p = engine.getPosition(a, id);
        if (p.size == 0) return;
        uint256 amount = _bound(amountSeed, 1, p.margin);
        bool paused = engine.paused();
        (bool priced, ) = _price(id);
        uint256 before = _balance(a);
        uint256 claimableBefore = engine.claimable(a);
        vm.prank(a);
        try orders.removeMargin(id, amount) {
            uint256 received = _balance(a) - before;
            uint256 deferred = engine.claimable(a) - claimableBefore;
            ghosts.engineFlow("removeMargin", 0, received);
            _recordDeferred(a, deferred, "removeMargin.deferred");
            if (received + deferred != amount) ghosts.fail("INV-CONS", "removeMargin paid other than the amount");
            if (paused) ghosts.fail("INV-PAUSE", "removeMargin succeeded while paused");
            if (_blocked(a) ? received != 0 || deferred != amount : deferred != 0)
                ghosts.fail("INV-CLAIM", "removed margin was not deferred exactly when the trader is blocked");
        } catch (bytes memory reason) {
            // Without a price, InstantOrders refuses before the engine sees the pause.
            if (priced) _checkPaused(paused, a, reason, "removeMargin reverted other than EnforcedPause while paused");
        }
    }

    /// @dev The token blocks or unblocks one trader (as a stablecoin issuer may).
    function setBlocked(uint256 actorSeed, bool isBlocked) external action {
        address a = _trader(actorSeed);
        BlocklistToken(address(token)).setBlocked(a, isBlocked);
        ghosts.count(isBlocked ? bytes32("block") : bytes32("unblock"));
    }

    /// @dev Claims deferred refunds, to the trader or to another receiver. Pays exactly what was deferred
    /// since the last claim (INV-CLAIM-2); a blocked receiver gets nothing and the claim stays.
    /// Prefers a trader with something to claim (scanning from the seed), so that deferred refunds are
    /// claimed in the run; falls back to the seed's trader, whose claim must then revert.
    function claim(uint256 actorSeed, bool toSelf) external action {
        address a = _trader(actorSeed);
        for (uint256 k; k < TRADERS; ++k) {
            if (engine.claimable(_trader(actorSeed + k)) != 0) {
                a = _trader(actorSeed + k);
                break;
            }
        }
        address receiver = toSelf ? a : CLAIM_RECEIVER;
        uint256 owed = engine.claimable(a);
        if (owed != ghosts.deferred(a)) ghosts.fail("INV-CLAIM", "claimable differs from the deferred refunds");
        uint256 before = _balance(receiver);
        vm.prank(a);
        try engine.claim(receiver) returns (uint256 amount) {
            uint256 received = _balance(receiver) - before;
            ghosts.engineFlow("claim", 0, received);
            ghosts.claimed(a);
            if (received != owed || amount != owed) ghosts.fail("INV-CLAIM", "claim paid other than claimable");
            if (engine.claimable(a) != 0) ghosts.fail("INV-CLAIM", "claim left a claimable balance");
            if (_blocked(receiver)) ghosts.fail("INV-CLAIM", "claim paid a blocked receiver");
        } catch (bytes memory reason) {
            bytes memory expected =
                owed == 0 ? abi.encodeWithSelector(IPerpEngine.NothingToClaim.selector, a) : _blockedError(receiver);
            if (owed != 0 && !_blocked(receiver)) ghosts.fail("INV-CLAIM", "a claim to an unblocked receiver reverted");
            else if (keccak256(reason) != keccak256(expected))
                ghosts.fail("INV-CLAIM", "claim reverted for another reason");
            if (engine.claimable(a) != owed) ghosts.fail("INV-CLAIM", "a failed claim changed claimable");
        }
    }

    /// @dev INV-PAUSE-1: while paused, a call that adds risk or pulls margin out reverts with EnforcedPause,
    /// or with Blocked(trader) when InstantOrders' pull from a blocked trader comes first.
    function _checkPaused(bool paused, address a, bytes memory reason, string memory what) private {
        if (!paused || _refusedForPause(reason)) return;
        if (_blocked(a) && keccak256(reason) == keccak256(_blockedError(a))) return;
        ghosts.fail("INV-PAUSE", what);
    }

    /// @dev INV-CLAIM-1: what the engine could not pay the trader now waits in claimable.
    function _recordDeferred(address a, uint256 amount, bytes32 path) private {
        if (amount == 0) return;
        ghosts.defer(a, amount);
        ghosts.count(path);
    }
}
