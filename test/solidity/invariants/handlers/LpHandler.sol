// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ILiquidityVault} from "../../../../contracts/interfaces/ILiquidityVault.sol";
import {vm} from "../../utils/Vm.sol";
import {HandlerBase, System} from "./HandlerBase.sol";

/// @notice Liquidity providers deposit and withdraw; a withdrawal within maxWithdraw must succeed, paused or
/// not (INV-LIVE); a deposit while paused reverts with DepositsPaused (INV-PAUSE).
contract LpHandler is HandlerBase {
    constructor(System memory system) HandlerBase(system) {}

    function deposit(uint256 actorSeed, uint256 amountSeed) external action {
        address a = lp(actorSeed % LPS);
        uint256 amount = _bound(amountSeed, 1, 2_000_000) * UNIT;
        bool paused = engine.paused();
        uint256 before = _balance(a);
        vm.prank(a);
        try vault.deposit(amount, a) {
            uint256 paid = before - _balance(a);
            ghosts.engineFlow("lp.deposit", paid, 0);
            if (paid != amount) ghosts.fail("INV-CONS", "deposit pulled other than the amount");
            if (paused) ghosts.fail("INV-PAUSE", "an LP deposit succeeded while paused");
        } catch (bytes memory reason) {
            if (paused && _selector(reason) != ILiquidityVault.DepositsPaused.selector) {
                ghosts.fail("INV-PAUSE", "an LP deposit reverted other than DepositsPaused while paused");
            }
        }
    }

    function withdraw(uint256 actorSeed, uint256 bpsSeed) external action {
        address a = lp(actorSeed % LPS);
        uint256 max;
        try vault.maxWithdraw(a) returns (uint256 m) {
            max = m;
        } catch {
            return; // an oracle refuses a price: the share price is unknown
        }
        uint256 amount = (max * _bound(bpsSeed, 1, 10_000)) / 10_000;
        if (amount == 0) return;
        uint256 before = _balance(a);
        vm.prank(a);
        try vault.withdraw(amount, a, a) {
            uint256 received = _balance(a) - before;
            ghosts.engineFlow("lp.withdraw", 0, received);
            if (received != amount) ghosts.fail("INV-CONS", "withdraw paid other than the amount");
        } catch {
            // Withdrawals ignore the pause: this also holds while paused (INV-PAUSE-2).
            ghosts.fail("INV-LIVE", "a withdrawal within maxWithdraw reverted");
        }
    }
}
