// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {vm} from "../../utils/Vm.sol";
import {HandlerBase, System} from "./HandlerBase.sol";

/// @notice Stakers stake, start cooldowns and unstake inside their window; an unstake within maxRedeem
/// must succeed, pay exactly the owner's previewRedeem and never more than its part of the cooldown's
/// value (INV-LIVE, INV-BACK).
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

    function cooldown(uint256 actorSeed, uint256 bpsSeed) external action {
        address a = staker(actorSeed % STAKERS);
        uint256 shares = (backstop.balanceOf(a) * _bound(bpsSeed, 1, 10_000)) / 10_000;
        if (shares == 0) return;
        vm.prank(a);
        try backstop.cooldown(shares) {
            ghosts.count("cooldown");
        } catch {
            ghosts.fail("INV-LIVE", "cooldown of owned shares reverted");
        }
    }

    function unstake(uint256 actorSeed, uint256 bpsSeed) external action {
        address a = staker(actorSeed % STAKERS);
        uint256 max = backstop.maxRedeem(a);
        uint256 shares = (max * _bound(bpsSeed, 1, 10_000)) / 10_000;
        if (shares == 0) return;
        (, , uint128 cdShares, uint128 cdValue) = backstop.cooldowns(a);
        uint256 atRequest = (uint256(cdValue) * shares) / cdShares;
        bool worthSomething = backstop.convertToAssets(shares) > 0 && atRequest > 0;
        vm.prank(a);
        uint256 quoted = backstop.previewRedeem(shares);
        uint256 before = _balance(a);
        vm.prank(a);
        try backstop.redeem(shares, a, a) returns (uint256 assets) {
            uint256 received = _balance(a) - before;
            ghosts.backstopFlow("unstake", 0, received);
            if (received != assets) ghosts.fail("INV-CONS", "unstake paid other than reported");
            if (received > atRequest) ghosts.fail("INV-BACK", "unstake paid more than the value at request");
            if (received != quoted) ghosts.fail("INV-BACK", "unstake paid other than the owner's previewRedeem");
        } catch {
            if (worthSomething) ghosts.fail("INV-LIVE", "an unstake within maxRedeem reverted");
        }
    }
}
