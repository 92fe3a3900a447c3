// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {vm} from "../../utils/Vm.sol";
import {HandlerBase, System} from "./HandlerBase.sol";

/// @notice Stakers stake, request redemptions (the cooldown; a request adds to their own), cancel them and
/// unstake inside their window; an unstake within maxRedeem must succeed, pay exactly the controller's
/// previewRedeemFor and never more than its part of the request's value; the module's custody holds exactly
/// the requested shares (INV-LIVE, INV-BACK).
contract StakerHandler is HandlerBase {
    constructor(System memory system) HandlerBase(system) {}

    function stake(uint256 actorSeed, uint256 amountSeed) external action {
        address a = staker(actorSeed % STAKERS);
        uint256 amount = _bound(amountSeed, 1, 100_000) * UNIT;
        uint256 before = _balance(a);
        vm.prank(a);
        try backstop.deposit(amount, a) {
            uint256 paid = before - _balance(a);
            ghosts.backstopFlow("stake", paid, 0);
            if (paid != amount) ghosts.fail("INV-CONS", "stake pulled other than the amount");
        } catch {}
    }

    function requestRedeem(uint256 actorSeed, uint256 bpsSeed) external action {
        address a = staker(actorSeed % STAKERS);
        uint256 shares = (backstop.balanceOf(a) * _bound(bpsSeed, 1, 10_000)) / 10_000;
        if (shares == 0) return;
        vm.prank(a);
        try backstop.requestRedeem(shares, a, a) {
            ghosts.count("requestRedeem");
        } catch {
            ghosts.fail("INV-LIVE", "a redeem request of owned shares reverted");
        }
        _checkCustody();
    }

    function cancel(uint256 actorSeed) external action {
        address a = staker(actorSeed % STAKERS);
        (, , uint112 cdShares, ) = backstop.cooldowns(a);
        if (cdShares == 0) return;
        uint256 before = backstop.balanceOf(a);
        vm.prank(a);
        try backstop.cancelRedeemRequest(0, a) {
            ghosts.count("cancelRedeemRequest");
            if (backstop.balanceOf(a) != before + cdShares) ghosts.fail("INV-BACK", "a cancel returned other shares");
        } catch {
            ghosts.fail("INV-LIVE", "cancelling a redeem request reverted");
        }
        _checkCustody();
    }

    function unstake(uint256 actorSeed, uint256 bpsSeed) external action {
        address a = staker(actorSeed % STAKERS);
        uint256 max = backstop.maxRedeem(a);
        uint256 shares = (max * _bound(bpsSeed, 1, 10_000)) / 10_000;
        if (shares == 0) return;
        (, , uint112 cdShares, uint96 cdValue) = backstop.cooldowns(a);
        uint256 atRequest = (uint256(cdValue) * shares) / cdShares;
        bool worthSomething = backstop.convertToAssets(shares) > 0 && atRequest > 0;
        uint256 quoted = backstop.previewRedeemFor(a, shares);
        uint256 before = _balance(a);
        vm.prank(a);
        try backstop.redeem(shares, a, a) returns (uint256 assets) {
            uint256 received = _balance(a) - before;
            ghosts.backstopFlow("unstake", 0, received);
            if (received != assets) ghosts.fail("INV-CONS", "unstake paid other than reported");
            if (received > atRequest) ghosts.fail("INV-BACK", "unstake paid more than the value at request");
            if (received != quoted) ghosts.fail("INV-BACK", "unstake paid other than the previewRedeemFor quote");
        } catch {
            if (worthSomething) ghosts.fail("INV-LIVE", "an unstake within maxRedeem reverted");
        }
        _checkCustody();
    }

    /// @dev INV-BACK-4: the module holds exactly the shares of the stakers' requests (the only requests).
    function _checkCustody() private {
        uint256 requested;
        for (uint256 i; i < STAKERS; ++i) {
            (, , uint112 cdShares, ) = backstop.cooldowns(staker(i));
            requested += cdShares;
        }
        if (backstop.balanceOf(address(backstop)) != requested) {
            ghosts.fail("INV-BACK", "the custody is not the sum of the requests");
        }
    }
}
