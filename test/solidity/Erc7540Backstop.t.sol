// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {ERC7540Operators} from "../../contracts/base/ERC7540Operators.sol";
import {IBackstopModule} from "../../contracts/interfaces/IBackstopModule.sol";
import {IERC7540Operator} from "../../contracts/interfaces/IERC7540.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {Log, vm} from "./utils/Vm.sol";

/// @notice The backstop's exit as an ERC-7540 asynchronous redeem, as properties over fuzzed amounts, times,
/// callers and sequences (in the spirit of the a16z ERC-4626 property suite):
/// - no request skips a state: pending for exactly `cooldownPeriod`, claimable over the window (both ends
///   included), then neither; a claim outside the window reverts;
/// - until its window lapses, pending + claimable is the shares requested and not yet claimed or cancelled;
/// - requested = claimed + cancelled + custody, after every step of a random sequence of requests
///   (top-ups), claims, cancels and time;
/// - `previewRedeem` / `previewWithdraw` revert (AsyncRedeem) for any input and caller;
/// - only the controller or its operator claims and cancels; setting and unsetting an operator works
///   and emits `OperatorSet`;
/// - a request by a caller neither owner nor operator, without allowance, reverts and changes nothing;
/// - the ERC-165 ids.
contract Erc7540BackstopTest is BaseTest {
    address private constant ALICE = address(0xA11CE);
    address private constant BOB = address(0xB0B);
    uint256 private constant COOLDOWN = 7 days;
    uint256 private constant WINDOW = 2 days;
    uint256 private constant STEPS = 24;

    /// @dev The ghost ledger of one sequence: every share requested, claimed (burnt) or cancelled.
    struct Ledger {
        uint256 requested;
        uint256 claimed;
        uint256 cancelled;
    }

    function setUp() public {
        _deploySystem();
        _fund(ALICE, 10 ** 12 * UNIT);
        _fund(BOB, 10 ** 12 * UNIT);
        _stake(BOB, 1_000_000 * UNIT); // others' stake, so that Alice's exits move no price of their own
    }

    // ---------------------------------------------------------------- states

    function testFuzz_a_request_is_pending_then_claimable_then_neither(
        uint256 stakeSeed,
        uint256 bps,
        uint256 offset
    ) public {
        uint256 shares = _stakeAndRequest(stakeSeed, bps);
        // Read from the request, not from block.timestamp: via-IR may re-read TIMESTAMP after the warp.
        (uint32 start, , , ) = backstop.cooldowns(ALICE);
        // One run in two sits on an edge: the second before or at the window's opening, at or after its end.
        if (offset % 2 == 0) {
            uint256[4] memory edges = [COOLDOWN - 1, COOLDOWN, COOLDOWN + WINDOW, COOLDOWN + WINDOW + 1];
            offset = edges[(offset / 2) % 4];
        } else {
            offset = _bound(offset, 0, COOLDOWN + WINDOW + 3 days);
        }
        vm.warp(start + offset);

        uint256 pending = backstop.pendingRedeemRequest(0, ALICE);
        uint256 claimable = backstop.claimableRedeemRequest(0, ALICE);
        _assertEq(backstop.pendingRedeemRequest(1, ALICE), 0, "request 1 is never pending");
        _assertEq(backstop.claimableRedeemRequest(1, ALICE), 0, "request 1 is never claimable");
        if (offset < COOLDOWN) {
            _assertEq(pending, shares, "pending during the cooldown");
            _assertEq(claimable, 0, "not claimable during the cooldown");
        } else if (offset <= COOLDOWN + WINDOW) {
            _assertEq(pending, 0, "not pending in the window");
            _assertEq(claimable, shares, "claimable in the window");
        } else {
            _assertEq(pending + claimable, 0, "a lapsed request is neither");
        }

        // A claim outside the window reverts with the window; inside it succeeds (if worth anything).
        if (offset < COOLDOWN || offset > COOLDOWN + WINDOW) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IBackstopModule.OutsideUnstakeWindow.selector,
                    start + offset,
                    start + COOLDOWN,
                    start + COOLDOWN + WINDOW
                )
            );
            vm.prank(ALICE);
            backstop.redeem(shares, ALICE, ALICE);
            _assertEq(backstop.balanceOf(address(backstop)), shares, "a refused claim leaves the custody");
        } else if (backstop.maxRedeem(ALICE) == shares) {
            vm.prank(ALICE);
            backstop.redeem(shares, ALICE, ALICE);
            _assertEq(backstop.balanceOf(address(backstop)), 0, "a full claim empties the custody");
            _assertEq(backstop.pendingRedeemRequest(0, ALICE), 0, "claimed: not pending");
            _assertEq(backstop.claimableRedeemRequest(0, ALICE), 0, "claimed: not claimable");
        }
    }

    /// @dev A random sequence of Alice's requests (each a top-up once one is open), partial claims inside
    /// the window, cancels and waits; after every step the ledger balances and the views agree with it.
    function testFuzz_requested_shares_are_claimed_cancelled_or_in_custody(uint256 seed) public {
        _stake(ALICE, 1_000_000 * UNIT);
        Ledger memory l;
        for (uint256 i; i < STEPS; ++i) {
            uint256 rnd = uint256(keccak256(abi.encode(seed, i)));
            uint256 kind = rnd % 4;
            uint256 amount = rnd >> 8;
            if (kind == 0) {
                uint256 shares = _bound(amount, 1, backstop.balanceOf(ALICE) / 4 + 1);
                if (shares > backstop.balanceOf(ALICE)) continue;
                vm.prank(ALICE);
                backstop.requestRedeem(shares, ALICE, ALICE);
                l.requested += shares;
            } else if (kind == 1) {
                uint256 most = backstop.maxRedeem(ALICE);
                if (most == 0) continue;
                uint256 shares = _bound(amount, 1, most);
                if (backstop.previewRedeemFor(ALICE, shares) == 0) continue;
                vm.prank(ALICE);
                backstop.redeem(shares, ALICE, ALICE);
                l.claimed += shares;
            } else if (kind == 2) {
                (, , uint112 open, ) = backstop.cooldowns(ALICE);
                if (open == 0 || amount % 3 != 0) continue; // cancel rarely, so that windows do open
                vm.prank(ALICE);
                backstop.cancelRedeemRequest(0, ALICE);
                l.cancelled += open;
            } else {
                vm.warp(block.timestamp + _bound(amount, 1 hours, 5 days));
            }
            _checkLedger(l);
        }
    }

    function _checkLedger(Ledger memory l) private view {
        uint256 custody = backstop.balanceOf(address(backstop));
        _assertEq(l.requested, l.claimed + l.cancelled + custody, "requested = claimed + cancelled + custody");
        (uint32 start, uint16 version, uint112 shares, ) = backstop.cooldowns(ALICE);
        _assertEq(shares, custody, "the request's shares are the custody");
        uint256 both = backstop.pendingRedeemRequest(0, ALICE) + backstop.claimableRedeemRequest(0, ALICE);
        _assertEq(version, 0, "one rules version");
        bool lapsed = shares != 0 && block.timestamp > uint256(start) + COOLDOWN + WINDOW;
        _assertEq(both, lapsed ? 0 : custody, "pending + claimable = open shares until the window lapses");
    }

    // ---------------------------------------------------------------- previews

    function testFuzz_previewRedeem_and_previewWithdraw_revert(uint256 amount, address caller) public {
        _stakeAndRequest(amount, amount);
        vm.warp(block.timestamp + COOLDOWN);
        vm.expectRevert(abi.encodeWithSelector(IBackstopModule.AsyncRedeem.selector));
        vm.prank(caller);
        backstop.previewRedeem(amount);
        vm.expectRevert(abi.encodeWithSelector(IBackstopModule.AsyncRedeem.selector));
        vm.prank(caller);
        backstop.previewWithdraw(amount);
    }

    // ---------------------------------------------------------------- who acts

    function testFuzz_only_the_controller_or_its_operator_claims_and_cancels(
        uint256 stakeSeed,
        uint256 bps,
        address stranger
    ) public {
        vm.assume(stranger != ALICE && stranger != address(0) && stranger != address(backstop));
        uint256 shares = _stakeAndRequest(stakeSeed, bps);
        vm.warp(block.timestamp + COOLDOWN);
        bytes memory refused = abi.encodeWithSelector(
            ERC7540Operators.NotControllerOrOperator.selector,
            ALICE,
            stranger
        );
        vm.expectRevert(refused);
        vm.prank(stranger);
        backstop.redeem(shares, stranger, ALICE);
        vm.expectRevert(refused);
        vm.prank(stranger);
        backstop.withdraw(1, stranger, ALICE);
        vm.expectRevert(refused);
        vm.prank(stranger);
        backstop.cancelRedeemRequest(0, ALICE);
        _assertEq(backstop.balanceOf(address(backstop)), shares, "refused: the custody is untouched");

        _setOperator(ALICE, stranger, true);
        uint256 aliceBefore = backstop.balanceOf(ALICE);
        vm.prank(stranger);
        backstop.cancelRedeemRequest(0, ALICE);
        _assertEq(backstop.balanceOf(address(backstop)), 0, "the operator cancelled");
        _assertEq(backstop.balanceOf(ALICE), aliceBefore + shares, "the shares went back to the controller");

        _setOperator(ALICE, stranger, false);
        vm.prank(ALICE);
        backstop.requestRedeem(shares, ALICE, ALICE);
        vm.warp(block.timestamp + COOLDOWN);
        vm.expectRevert(refused);
        vm.prank(stranger);
        backstop.redeem(shares, stranger, ALICE);
    }

    /// @dev setOperator stores the approval and emits OperatorSet(controller, operator, approved).
    function _setOperator(address controller, address operator, bool approved) private {
        vm.recordLogs();
        vm.prank(controller);
        backstop.setOperator(operator, approved);
        Log[] memory logs = vm.getRecordedLogs();
        _assertEq(logs.length, 1, "one event");
        _assertTrue(logs[0].topics[0] == IERC7540Operator.OperatorSet.selector, "OperatorSet");
        _assertTrue(logs[0].topics[1] == bytes32(uint256(uint160(controller))), "OperatorSet controller");
        _assertTrue(logs[0].topics[2] == bytes32(uint256(uint160(operator))), "OperatorSet operator");
        _assertTrue(abi.decode(logs[0].data, (bool)) == approved, "OperatorSet approved");
        _assertTrue(backstop.isOperator(controller, operator) == approved, "isOperator as set");
    }

    function testFuzz_a_request_without_allowance_reverts_and_changes_nothing(
        address caller,
        uint256 sharesSeed,
        uint256 allowanceSeed
    ) public {
        vm.assume(caller != ALICE && caller != address(0));
        _stake(ALICE, 1_000 * UNIT);
        uint256 balance = backstop.balanceOf(ALICE);
        uint256 shares = _bound(sharesSeed, 1, balance);
        uint256 allowance = _bound(allowanceSeed, 0, shares - 1);
        vm.prank(ALICE);
        backstop.approve(caller, allowance);
        uint256 supply = backstop.totalSupply();

        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, caller, allowance, shares)
        );
        vm.prank(caller);
        backstop.requestRedeem(shares, caller, ALICE);
        _assertEq(backstop.balanceOf(ALICE), balance, "the owner's shares stay");
        _assertEq(backstop.balanceOf(address(backstop)), 0, "nothing in custody");
        _assertEq(backstop.allowance(ALICE, caller), allowance, "the allowance stays");
        _assertEq(backstop.totalSupply(), supply, "the supply stays");
        (uint32 start, , , ) = backstop.cooldowns(caller);
        _assertEq(start, 0, "no request recorded");
    }

    // ---------------------------------------------------------------- ERC-165

    function test_supportsInterface() public view {
        _assertTrue(backstop.supportsInterface(0x01ffc9a7), "ERC-165");
        _assertTrue(backstop.supportsInterface(0x7965db0b), "AccessControl");
        _assertTrue(backstop.supportsInterface(0xe3bc4e65), "ERC-7540 operators");
        _assertTrue(backstop.supportsInterface(0x620ee8e4), "ERC-7540 asynchronous redeem");
        _assertTrue(backstop.supportsInterface(0x2f0a18c5), "ERC-7575");
        _assertTrue(!backstop.supportsInterface(0xce3bbe50), "not ERC-7540 asynchronous deposit");
        _assertTrue(!backstop.supportsInterface(0xe76cffc7), "not ERC-7887 redeem cancellation");
        _assertTrue(!backstop.supportsInterface(0xffffffff), "never 0xffffffff");
        _assertTrue(backstop.share() == address(backstop), "ERC-7575: the module is its own share");
    }

    // ---------------------------------------------------------------- helpers

    function _stake(address who, uint256 amount) private {
        vm.prank(who);
        backstop.deposit(amount, who);
    }

    /// @dev Alice stakes and requests `bps` of her shares (at least one); returns the shares requested.
    function _stakeAndRequest(uint256 stakeSeed, uint256 bps) private returns (uint256 shares) {
        _stake(ALICE, _bound(stakeSeed, 1, 10 ** 9 * UNIT));
        shares = (backstop.balanceOf(ALICE) * _bound(bps, 1, 10_000)) / 10_000;
        if (shares == 0) shares = 1;
        vm.prank(ALICE);
        backstop.requestRedeem(shares, ALICE, ALICE);
    }
}
