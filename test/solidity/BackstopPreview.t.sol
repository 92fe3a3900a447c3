// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IBackstopModule} from "../../contracts/interfaces/IBackstopModule.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {vm} from "./utils/Vm.sol";

/// @notice The backstop's claims for a controller inside their unstake window, fuzzed with income vesting
/// and covers between the request and the claim (issue 10):
/// - `previewRedeemFor` / `previewWithdrawFor` quote exactly what the controller's redeem pays / withdraw
///   burns in the same transaction (so never better); `previewRedeem` / `previewWithdraw` revert
///   (ERC-7540, Erc7540Backstop.t.sol);
/// - an exit that would pay 0 is refused with `ExitPaysNothing` and changes nothing;
/// - an exit takes off the cooldown's value exactly what it paid, and a cooldown never pays out more than
///   its value at the request;
/// - while a cover lies within the last `coverWindow` an exit never lowers what the rolling limit can still
///   cover.
contract BackstopPreviewTest is BaseTest {
    address private constant ALICE = address(0xA11CE);
    address private constant BOB = address(0xB0B);
    uint256 private constant COOLDOWN = 7 days;
    uint256 private constant WINDOW = 2 days;

    struct Setup {
        uint256 aliceStake;
        uint256 bobStake;
        uint256 cooledBps;
        uint256 incomeBefore;
        uint256 incomeDuring;
        uint256 coverDuring;
        uint256 delay;
    }

    function setUp() public {
        _deploySystem();
        _fund(ALICE, 10 ** 12 * UNIT);
        _fund(BOB, 10 ** 12 * UNIT);
    }

    /// @dev Alice and Bob stake; income may be streaming; Alice requests the redemption of part of her shares; then income
    /// arrives and a cover is paid during the cooldown (its window over before Alice's opens); Alice's
    /// window opens and time moves `delay` into it. Returns Alice's cooldown as requested.
    function _cooledInWindow(Setup memory s) private returns (IBackstopModule.Cooldown memory cd) {
        _stake(ALICE, _bound(s.aliceStake, 1, 10 ** 9 * UNIT));
        _stake(BOB, _bound(s.bobStake, 1, 10 ** 9 * UNIT));
        _income(_bound(s.incomeBefore, 0, 10 ** 7 * UNIT));
        vm.warp(block.timestamp + 1 hours);
        uint256 shares = (backstop.balanceOf(ALICE) * _bound(s.cooledBps, 1, 10_000)) / 10_000;
        if (shares == 0) shares = 1;
        vm.prank(ALICE);
        backstop.requestRedeem(shares, ALICE, ALICE);
        cd = _cooldown(ALICE);
        vm.warp(block.timestamp + 1 days);
        _income(_bound(s.incomeDuring, 0, 10 ** 7 * UNIT));
        vm.warp(block.timestamp + 1 days);
        uint256 coverAmount = _bound(s.coverDuring, 0, 10 ** 9 * UNIT);
        if (coverAmount > 0) {
            vm.prank(address(engine));
            backstop.cover(coverAmount);
        }
        vm.warp(cd.start + COOLDOWN + _bound(s.delay, 0, WINDOW));
    }

    function _stake(address who, uint256 amount) private {
        vm.prank(who);
        backstop.deposit(amount, who);
    }

    /// @dev The engine's part in income: tokens in, then notifyIncome.
    function _income(uint256 amount) private {
        if (amount == 0) return;
        token.mint(address(backstop), amount);
        vm.prank(address(engine));
        backstop.notifyIncome(amount);
    }

    function _cooldown(address who) private view returns (IBackstopModule.Cooldown memory cd) {
        (cd.start, cd.rulesVersion, cd.shares, cd.value) = backstop.cooldowns(who);
    }

    function testFuzz_previewRedeemFor_is_exactly_what_the_controllers_redeem_pays(
        Setup memory s,
        uint256 sharesBps
    ) public {
        IBackstopModule.Cooldown memory requested = _cooledInWindow(s);
        IBackstopModule.Cooldown memory cd = _cooldown(ALICE);
        uint256 shares = (uint256(cd.shares) * _bound(sharesBps, 1, 10_000)) / 10_000;
        if (shares == 0) shares = 1;

        uint256 quoted = backstop.previewRedeemFor(ALICE, shares);
        uint256 balanceBefore = token.balanceOf(ALICE);
        uint256 supplyBefore = backstop.totalSupply();

        if (quoted == 0) {
            vm.expectRevert(abi.encodeWithSelector(IBackstopModule.ExitPaysNothing.selector, shares));
            vm.prank(ALICE);
            backstop.redeem(shares, ALICE, ALICE);
            IBackstopModule.Cooldown memory unchanged = _cooldown(ALICE);
            _assertEq(unchanged.shares, cd.shares, "a refused exit leaves the cooldown's shares");
            _assertEq(unchanged.value, cd.value, "a refused exit leaves the cooldown's value");
            _assertEq(backstop.totalSupply(), supplyBefore, "a refused exit burns nothing");
            return;
        }

        vm.prank(ALICE);
        uint256 paid = backstop.redeem(shares, ALICE, ALICE);
        _assertEq(paid, quoted, "redeem pays exactly the controller's previewRedeemFor");
        _assertEq(token.balanceOf(ALICE) - balanceBefore, paid, "the tokens received are what redeem reports");
        _assertEq(supplyBefore - backstop.totalSupply(), shares, "redeem burns the shares asked");
        _assertEq(backstop.balanceOf(address(backstop)), cd.shares - shares, "burnt from the request's custody");
        _assertLe(paid, (uint256(requested.value) * shares) / requested.shares, "never above the value at request");
        _checkTakenOff(cd, shares, paid);
    }

    function testFuzz_previewWithdrawFor_is_exactly_what_the_controllers_withdraw_burns(
        Setup memory s,
        uint256 assetsSeed
    ) public {
        _cooledInWindow(s);
        IBackstopModule.Cooldown memory cd = _cooldown(ALICE);
        uint256 most = backstop.maxWithdraw(ALICE);
        if (most == 0) {
            _assertEq(backstop.maxRedeem(ALICE), 0, "nothing to withdraw: nothing to redeem either");
            return;
        }
        uint256 assets = _bound(assetsSeed, 1, most);

        uint256 quoted = backstop.previewWithdrawFor(ALICE, assets);
        uint256 supplyBefore = backstop.totalSupply();
        vm.prank(ALICE);
        uint256 burnt = backstop.withdraw(assets, ALICE, ALICE);
        _assertEq(burnt, quoted, "withdraw burns exactly the controller's previewWithdrawFor");
        _assertEq(supplyBefore - backstop.totalSupply(), burnt, "withdraw burns what it reports");
        _assertLe(burnt, cd.shares, "never more than the cooled shares");
        _checkTakenOff(cd, burnt, assets);
    }

    function testFuzz_a_cooldown_never_pays_out_more_than_its_value_at_request(
        Setup memory s,
        uint256 firstBps,
        uint256 coverBetween
    ) public {
        IBackstopModule.Cooldown memory requested = _cooledInWindow(s);
        uint256 total;
        uint256 first = (uint256(requested.shares) * _bound(firstBps, 1, 9_999)) / 10_000;
        if (first > 0 && backstop.previewRedeemFor(ALICE, first) > 0) {
            vm.prank(ALICE);
            total += backstop.redeem(first, ALICE, ALICE);
        }
        // A cover between the two exits (it holds exits: the second exit must leave the reserve).
        uint256 coverAmount = _bound(coverBetween, 0, 10 ** 9 * UNIT);
        if (coverAmount > 0) {
            vm.prank(address(engine));
            backstop.cover(coverAmount);
        }
        vm.warp(block.timestamp + 1);
        uint256 rest = backstop.maxRedeem(ALICE);
        if (rest > 0) {
            vm.prank(ALICE);
            total += backstop.redeem(rest, ALICE, ALICE);
        }
        _assertLe(total, requested.value, "all exits of one cooldown pay at most its value at request");
    }

    function testFuzz_an_exit_during_a_running_window_leaves_its_capacity(
        Setup memory s,
        uint256 coverSeed,
        uint256 assetsSeed
    ) public {
        _cooledInWindow(s);
        uint256 coverAmount = _bound(coverSeed, 1, 10 ** 9 * UNIT);
        vm.prank(address(engine));
        uint256 paid = backstop.cover(coverAmount);
        if (paid > 0) {
            _assertEq(backstop.coverWindowStatus().exitsHeldUntil, block.timestamp + 1 days, "the cover holds exits");
        }
        uint256 capacity = backstop.maxCover();
        uint256 most = backstop.maxWithdraw(ALICE);
        uint256 assets = _bound(assetsSeed, 1, most + 1);
        uint256 maxShares = backstop.maxRedeem(ALICE);

        vm.prank(ALICE);
        try backstop.withdraw(assets, ALICE, ALICE) {
            _assertLe(assets, most, "a withdrawal succeeds only within maxWithdraw");
            _assertEq(backstop.maxCover(), capacity, "an exit during the window leaves its capacity");
        } catch {
            _assertTrue(assets > most, "a withdrawal within maxWithdraw succeeds");
        }
        if (maxShares > 0 && backstop.maxRedeem(ALICE) > 0) {
            uint256 shares = backstop.maxRedeem(ALICE);
            vm.prank(ALICE);
            backstop.redeem(shares, ALICE, ALICE);
            _assertEq(backstop.maxCover(), capacity, "redeeming maxRedeem leaves the window's capacity");
        }
    }

    function test_an_exit_worth_nothing_is_refused_and_burns_nothing() public {
        _stake(ALICE, 1_000 * UNIT);
        vm.prank(ALICE);
        backstop.requestRedeem(1, ALICE, ALICE); // one share: 10^-6 of a unit, worth 0
        vm.warp(block.timestamp + COOLDOWN);
        _assertEq(backstop.maxRedeem(ALICE), 0, "maxRedeem of a cooldown worth nothing is 0");
        vm.expectRevert(abi.encodeWithSelector(IBackstopModule.ExitPaysNothing.selector, 1));
        vm.prank(ALICE);
        backstop.redeem(1, ALICE, ALICE);
        _assertEq(backstop.totalSupply(), 1_000 * UNIT * 1e6, "no share burnt");
        _assertEq(backstop.balanceOf(address(backstop)), 1, "the share stays in custody");
    }

    /// @dev The cooldown after an exit of `shares` paying `paid`: deleted if all its shares left, else
    /// those shares fewer and exactly `paid` less value.
    function _checkTakenOff(IBackstopModule.Cooldown memory before, uint256 shares, uint256 paid) private view {
        IBackstopModule.Cooldown memory cd = _cooldown(ALICE);
        if (shares == before.shares) {
            _assertEq(cd.start, 0, "an emptied cooldown is deleted");
            return;
        }
        _assertEq(cd.shares, before.shares - shares, "the shares that left come off the cooldown");
        _assertEq(cd.value, before.value - paid, "exactly what was paid comes off the cooldown's value");
    }
}
