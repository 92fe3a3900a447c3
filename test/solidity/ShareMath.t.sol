// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {BaseTest} from "./utils/BaseTest.sol";
import {Model} from "./utils/Model.sol";
import {vm} from "./utils/Vm.sol";

/// @notice Share math of both ERC-4626 vaults (6-decimal virtual-share offset), fuzzed over pools whose
/// share price is not 1: rounding always goes against the user, so a round trip never gains.
contract ShareMathTest is BaseTest {
    uint256 private constant OFFSET = 1e6; // 10 ** _decimalsOffset()
    address private constant LP = address(0x1001);
    address private constant TRADER = address(0x1002);
    address private constant USER = address(0x1003);
    address private constant STAKER = address(0x1004);

    function setUp() public {
        _deploySystem();
        _fund(LP, 10 ** 13 * UNIT);
        _fund(TRADER, 10 ** 9 * UNIT);
        _fund(USER, 10 ** 13 * UNIT);
        _fund(STAKER, 10 ** 13 * UNIT);
    }

    /// @dev Seeds the LP pool and moves its share price off 1: an open position marked at a moved price
    /// (its unrealized PnL and the fee both count in totalAssets).
    function _seedVault(uint256 seed, uint256 moveBps, bool long) private {
        vm.prank(LP);
        vault.deposit(_bound(seed, 20_000 * UNIT, 10 ** 12 * UNIT), LP);
        vm.prank(TRADER);
        orders.openPosition(ETH, long ? int256(1e18) : -int256(1e18), 1_000 * UNIT);
        // 3,000 x (1 ± 5 %): the position stays healthy.
        uint256 price = 3_000e8 - 150e8 + (_bound(moveBps, 0, 1_000) * 3_000e8) / 10_000;
        ethFeed.updateAnswer(int256(price));
        // The trader closes: the pool realizes the PnL and fees, so the share price has moved, and with no
        // positions open the one-transaction ERC-4626 paths under test are available (with positions they
        // revert UseRequests; the request path's rounding is in test/Vault.requests.test.ts and INV-LP-2).
        vm.prank(TRADER);
        orders.closePosition(ETH);
    }

    function testFuzz_vault_deposit_mints_floor_shares_and_redeem_never_returns_more(
        uint256 seed,
        uint256 moveBps,
        bool long,
        uint256 assets
    ) public {
        _seedVault(seed, moveBps, long);
        assets = _bound(assets, 1, 10 ** 12 * UNIT);
        uint256 totalAssets = vault.totalAssets();
        uint256 supply = vault.totalSupply();

        vm.prank(USER);
        uint256 shares = vault.deposit(assets, USER);
        _assertEq(shares, (assets * (supply + OFFSET)) / (totalAssets + 1), "deposit mints floor shares");

        // A round trip worth zero assets is refused (ZeroAmount) rather than paid: still <= a.
        uint256 quoted = vault.previewRedeem(shares);
        _assertLe(quoted, assets, "previewRedeem(deposit(a)) <= a");
        if (quoted == 0) return;
        vm.prank(USER);
        uint256 back = vault.redeem(shares, USER, USER);
        _assertLe(back, assets, "redeem(deposit(a)) <= a");
    }

    function testFuzz_vault_withdraw_burns_ceiling_shares_and_mint_charges_ceiling_assets(
        uint256 seed,
        uint256 moveBps,
        bool long,
        uint256 assets,
        uint256 shares
    ) public {
        _seedVault(seed, moveBps, long);
        vm.prank(USER);
        vault.deposit(10 ** 11 * UNIT, USER);

        uint256 totalAssets = vault.totalAssets();
        uint256 supply = vault.totalSupply();
        assets = _bound(assets, 1, vault.maxWithdraw(USER));
        uint256 sharesBefore = vault.balanceOf(USER);
        vm.prank(USER);
        uint256 burned = vault.withdraw(assets, USER, USER);
        _assertEq(burned, Model.ceilDivU(assets * (supply + OFFSET), totalAssets + 1), "withdraw burns ceil shares");
        _assertEq(sharesBefore - vault.balanceOf(USER), burned, "burned what it reported");

        totalAssets = vault.totalAssets();
        supply = vault.totalSupply();
        shares = _bound(shares, 1, 10 ** 15 * OFFSET);
        uint256 balanceBefore = token.balanceOf(USER);
        vm.prank(USER);
        uint256 paid = vault.mint(shares, USER);
        _assertEq(paid, Model.ceilDivU(shares * (totalAssets + 1), supply + OFFSET), "mint charges ceil assets");
        _assertEq(balanceBefore - token.balanceOf(USER), paid, "paid what it reported");
    }

    /// @dev Seeds the backstop and moves its share price: vested income up, an optional cover down.
    function _seedBackstop(uint256 seed, uint256 income, uint256 coverBps) private {
        vm.prank(STAKER);
        backstop.deposit(_bound(seed, 1, 10 ** 12 * UNIT), STAKER);
        income = _bound(income, 0, 10 ** 11 * UNIT);
        if (income > 0) {
            token.mint(address(backstop), income);
            vm.prank(address(engine));
            backstop.notifyIncome(income);
            vm.warp(block.timestamp + 3 days); // three sevenths vested
        }
        uint256 coverAmount = (backstop.totalAssets() * _bound(coverBps, 0, 3_000)) / 10_000;
        if (coverAmount > 0) {
            vm.prank(address(engine));
            backstop.cover(coverAmount);
        }
    }

    function testFuzz_backstop_stake_cooldown_redeem_never_returns_more_than_staked(
        uint256 seed,
        uint256 income,
        uint256 coverBps,
        uint256 assets,
        uint256 wait
    ) public {
        _seedBackstop(seed, income, coverBps);
        assets = _bound(assets, 1, 10 ** 12 * UNIT);
        uint256 totalAssets = backstop.totalAssets();
        uint256 supply = backstop.totalSupply();

        // A stake worth zero shares is refused (ZeroAmount).
        vm.assume((assets * (supply + OFFSET)) / (totalAssets + 1) > 0);
        vm.prank(USER);
        uint256 shares = backstop.deposit(assets, USER);
        _assertEq(shares, (assets * (supply + OFFSET)) / (totalAssets + 1), "stake mints floor shares");

        vm.prank(USER);
        backstop.requestRedeem(shares, USER, USER);
        // Anywhere inside the unstake window; income keeps vesting meanwhile.
        vm.warp(block.timestamp + 7 days + _bound(wait, 0, 2 days));
        uint256 balanceBefore = token.balanceOf(USER);
        if (backstop.maxWithdraw(USER) == 0) return; // worth zero: refused, and still <= a
        vm.prank(USER);
        uint256 back = backstop.redeem(shares, USER, USER);
        _assertLe(back, assets, "redeem(stake(a)) <= a");
        _assertEq(token.balanceOf(USER) - balanceBefore, back, "paid what it reported");
    }

    function testFuzz_backstop_withdraw_burns_at_least_ceiling_shares(
        uint256 seed,
        uint256 income,
        uint256 coverBps,
        uint256 assets
    ) public {
        _seedBackstop(seed, income, coverBps);
        vm.prank(USER);
        uint256 shares = backstop.deposit(10 ** 10 * UNIT, USER);
        vm.prank(USER);
        backstop.requestRedeem(shares, USER, USER);
        vm.warp(block.timestamp + 7 days);

        uint256 totalAssets = backstop.totalAssets();
        uint256 supply = backstop.totalSupply();
        uint256 max = backstop.maxWithdraw(USER);
        assets = _bound(assets, 1, max);
        vm.prank(USER);
        uint256 burned = backstop.withdraw(assets, USER, USER);
        _assertGe(burned, Model.ceilDivU(assets * (supply + OFFSET), totalAssets + 1), "withdraw burns >= ceil shares");
        _assertLe(assets, max, "never more than maxWithdraw");
    }
}
