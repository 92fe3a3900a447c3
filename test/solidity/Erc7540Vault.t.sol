// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ERC7540Operators} from "../../contracts/base/ERC7540Operators.sol";
import {ILiquidityVault} from "../../contracts/interfaces/ILiquidityVault.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {vm} from "./utils/Vm.sol";

/// @notice ERC-7540's rules for the LP vault, fuzzed in the spirit of the a16z ERC-4626 property suite: no
/// request skips its pending and claimable states, pending plus claimable is what was requested and not yet
/// claimed, claims take exactly what they report and never more than is claimable, previews revert, only the
/// controller or its operator claims, and a request spends nobody's assets without their consent. Requests are
/// executed by this contract (an executor) with no position open, so no round is needed; the rounds' part is in
/// test/Vault.requests.test.ts and the handler campaign (INV-7540).
contract Erc7540VaultTest is BaseTest {
    address private constant LP = address(0x1001);
    address private constant USER = address(0x1003);
    address private constant OPERATOR = address(0x1005);

    function setUp() public {
        _deploySystem();
        _fund(LP, 10 ** 12 * UNIT);
        _fund(USER, 10 ** 12 * UNIT);
        _depositLp(LP, 1_000_000 * UNIT); // a pool, and this contract made an executor
    }

    function _execute(address controller) private returns (uint256) {
        return vault.executeRequest(controller, new uint80[](engine.marketCount()));
    }

    function testFuzz_a_deposit_is_pending_then_claimable_and_claims_add_up(
        uint256 assets,
        uint256 part,
        bool byMint
    ) public {
        assets = _bound(assets, 1, 10 ** 9 * UNIT);
        vm.prank(USER);
        vault.requestDeposit(assets, USER, USER);
        _assertEq(vault.pendingDepositRequest(0, USER), assets, "pending = requested");
        _assertEq(vault.claimableDepositRequest(0, USER), 0, "nothing claimable before execution");
        vm.expectRevert(abi.encodeWithSelector(ILiquidityVault.ExceedsClaimable.selector, USER, assets, 0));
        vm.prank(USER);
        vault.deposit(assets, USER);

        uint256 shares = _execute(USER);
        _assertEq(vault.pendingDepositRequest(0, USER), 0, "nothing pending after execution");
        _assertEq(vault.claimableDepositRequest(0, USER), assets, "claimable = requested");
        _assertEq(vault.maxDeposit(USER), assets, "maxDeposit = claimable assets");
        _assertEq(vault.maxMint(USER), shares, "maxMint = the shares bought");
        _assertEq(vault.balanceOf(USER), 0, "the shares wait in the vault");

        // A part by `deposit` (assets) or `mint` (shares); what stays claimable falls by exactly that.
        uint256 got;
        uint256 paid;
        if (byMint) {
            got = _bound(part, 1, shares);
            vm.prank(USER);
            paid = vault.mint(got, USER);
        } else {
            paid = _bound(part, 1, assets);
            if ((shares * paid) / assets == 0) return; // a part worth no whole share is refused (ZeroAmount)
            vm.prank(USER);
            got = vault.deposit(paid, USER);
        }
        _assertEq(vault.balanceOf(USER), got, "the claim moved the shares it reported");
        _assertEq(vault.maxMint(USER), shares - got, "claimable shares fell by the claim");
        _assertEq(vault.maxDeposit(USER), assets - paid, "claimable assets fell by the claim");
        _assertLe(paid, assets, "a claim takes no more assets than were requested");
    }

    function testFuzz_a_redemption_is_pending_through_its_hold_then_claimable(uint256 bps, uint256 wait) public {
        uint256 shares = (vault.balanceOf(LP) * _bound(bps, 1, 10_000)) / 10_000;
        vm.prank(LP);
        vault.requestRedeem(shares, LP, LP);
        _assertEq(vault.pendingRedeemRequest(0, LP), shares, "pending = requested");
        uint256 held = _execute(LP);
        _assertEq(vault.pendingRedeemRequest(0, LP), shares, "still pending during the hold");
        _assertEq(vault.claimableRedeemRequest(0, LP), 0, "not claimable during the hold");
        _assertEq(vault.maxRedeem(LP), 0, "maxRedeem 0 during the hold");

        uint256 claimableAt = vault.lpExit(LP).claimableAt;
        wait = _bound(wait, 0, 2 * vault.EXIT_HOLD());
        vm.warp(block.timestamp + wait);
        if (block.timestamp < claimableAt) {
            vm.expectRevert(abi.encodeWithSelector(ILiquidityVault.LpExitNotClaimable.selector, LP, claimableAt));
            vm.prank(LP);
            vault.redeem(shares, LP, LP);
            return;
        }
        _assertEq(vault.pendingRedeemRequest(0, LP), 0, "nothing pending after the hold");
        _assertEq(vault.claimableRedeemRequest(0, LP), shares, "claimable = requested");
        uint256 before = token.balanceOf(LP);
        vm.prank(LP);
        uint256 paid = vault.redeem(shares, LP, LP);
        _assertEq(token.balanceOf(LP) - before, paid, "the claim paid what it reported");
        _assertLe(paid, held, "never more than was held");
        _assertEq(vault.claimableRedeemRequest(0, LP), 0, "nothing left to claim");
    }

    function test_previews_revert_on_both_asynchronous_flows() public {
        vm.expectRevert(abi.encodeWithSelector(ILiquidityVault.AsyncFlow.selector));
        vault.previewDeposit(UNIT);
        vm.expectRevert(abi.encodeWithSelector(ILiquidityVault.AsyncFlow.selector));
        vault.previewMint(UNIT);
        vm.expectRevert(abi.encodeWithSelector(ILiquidityVault.AsyncFlow.selector));
        vault.previewWithdraw(UNIT);
        vm.expectRevert(abi.encodeWithSelector(ILiquidityVault.AsyncFlow.selector));
        vault.previewRedeem(UNIT);
    }

    function testFuzz_only_the_controller_or_its_operator_claims(address stranger, uint256 assets) public {
        vm.assume(stranger != USER && stranger != OPERATOR);
        assets = _bound(assets, UNIT, 10 ** 9 * UNIT);
        vm.prank(USER);
        vault.requestDeposit(assets, USER, USER);
        _execute(USER);
        vm.expectRevert(abi.encodeWithSelector(ERC7540Operators.NotControllerOrOperator.selector, USER, stranger));
        vm.prank(stranger);
        vault.deposit(assets, stranger, USER);

        vm.prank(USER);
        vault.setOperator(OPERATOR, true);
        vm.prank(OPERATOR);
        uint256 shares = vault.deposit(assets, OPERATOR, USER);
        _assertEq(vault.balanceOf(OPERATOR), shares, "the operator claimed for the controller, to itself");
        _assertEq(vault.maxDeposit(USER), 0, "the controller's claim is spent");
    }

    function testFuzz_a_request_spends_nobodys_assets_without_consent(address stranger, uint256 assets) public {
        vm.assume(stranger != USER && stranger != LP && stranger != address(0));
        assets = _bound(assets, 1, 10 ** 9 * UNIT);
        uint256 tokens = token.balanceOf(USER);
        vm.expectRevert(abi.encodeWithSelector(ERC7540Operators.NotControllerOrOperator.selector, USER, stranger));
        vm.prank(stranger);
        vault.requestDeposit(assets, stranger, USER);
        _assertEq(token.balanceOf(USER), tokens, "nothing moved");

        // Shares: without an allowance the transfer of the owner's shares is refused, and nothing changes.
        uint256 shares = vault.balanceOf(LP);
        vm.prank(stranger);
        try vault.requestRedeem(1, stranger, LP) {
            _assertTrue(false, "a stranger escrowed another's shares");
        } catch {}
        _assertEq(vault.balanceOf(LP), shares, "no share moved");
        _assertEq(vault.lpRequest(stranger).amount, 0, "no request was recorded");
    }

    function test_interface_ids_and_share() public view {
        _assertTrue(vault.supportsInterface(0x01ffc9a7), "ERC-165");
        _assertTrue(vault.supportsInterface(0xe3bc4e65), "ERC-7540 operators");
        _assertTrue(vault.supportsInterface(0xce3bbe50), "ERC-7540 asynchronous deposit");
        _assertTrue(vault.supportsInterface(0x620ee8e4), "ERC-7540 asynchronous redeem");
        _assertTrue(vault.supportsInterface(0x2f0a18c5), "ERC-7575");
        _assertTrue(!vault.supportsInterface(0xffffffff), "not the invalid id");
        _assertTrue(vault.share() == address(vault), "the vault is its own share");
    }
}
