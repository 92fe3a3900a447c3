// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {BaseTest} from "./utils/BaseTest.sol";
import {Model} from "./utils/Model.sol";
import {vm} from "./utils/Vm.sol";

/// @notice Share math of both vaults (6-decimal virtual-share offset), fuzzed over pools whose share price is
/// not 1: rounding always goes against the user, so a round trip never gains; the LP vault's requests and their
/// partial ERC-7540 claims included.
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
    /// (its unrealized PnL and the fee both count in totalAssets), then closed, so that no round is needed to
    /// price the requests under test (the rounds' part is in test/Vault.requests.test.ts and INV-LP-2).
    function _seedVault(uint256 seed, uint256 moveBps, bool long) private {
        _depositLp(LP, _bound(seed, 20_000 * UNIT, 10 ** 12 * UNIT));
        vm.prank(TRADER);
        orders.openPosition(ETH, long ? int256(1e18) : -int256(1e18), 1_000 * UNIT);
        // 3,000 x (1 ± 5 %): the position stays healthy.
        uint256 price = 3_000e8 - 150e8 + (_bound(moveBps, 0, 1_000) * 3_000e8) / 10_000;
        ethFeed.updateAnswer(int256(price));
        vm.prank(TRADER);
        orders.closePosition(ETH);
    }

    /// @dev Requests and executes `USER`'s deposit of `assets` (left claimable); returns the shares it bought.
    function _executedDeposit(uint256 assets) private returns (uint256) {
        vm.prank(USER);
        vault.requestDeposit(assets, USER, USER);
        return vault.executeRequest(USER, new uint80[](engine.marketCount()));
    }

    /// @dev Requests and executes `USER`'s redemption of `shares`, then waits out its hold; returns the assets held.
    function _heldRedemption(uint256 shares) private returns (uint256 held) {
        vm.prank(USER);
        vault.requestRedeem(shares, USER, USER);
        held = vault.executeRequest(USER, new uint80[](engine.marketCount()));
        vm.warp(block.timestamp + vault.EXIT_HOLD());
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

        // A deposit buying no whole share is refused (ZeroAmount) rather than executed.
        if ((assets * (supply + OFFSET)) / (totalAssets + 1) == 0) return;
        uint256 shares = _executedDeposit(assets);
        _assertEq(shares, (assets * (supply + OFFSET)) / (totalAssets + 1), "an executed deposit mints floor shares");
        vm.prank(USER);
        _assertEq(vault.deposit(assets, USER), shares, "the claim of all its assets takes all its shares");

        // A round trip worth zero assets is refused (ZeroAmount) rather than paid: still <= a.
        if (vault.convertToAssets(shares) == 0) return;
        uint256 held = _heldRedemption(shares);
        _assertLe(held, assets, "held(redemption(deposit(a))) <= a");
        vm.prank(USER);
        uint256 back = vault.redeem(shares, USER, USER);
        _assertLe(back, held, "the claim pays no more than was held");
    }

    function testFuzz_vault_partial_claims_round_against_the_claimant(
        uint256 seed,
        uint256 moveBps,
        bool long,
        uint256 part,
        uint256 sharesPart
    ) public {
        _seedVault(seed, moveBps, long);
        uint256 assets = 10 ** 11 * UNIT;
        uint256 shares = _executedDeposit(assets);

        // `deposit` of part of the claimable assets takes the floor of their shares, `mint` charges the ceiling.
        part = _bound(part, 1, assets - 1);
        vm.prank(USER);
        uint256 got = vault.deposit(part, USER);
        _assertEq(got, (shares * part) / assets, "deposit(part) takes floor shares");
        sharesPart = _bound(sharesPart, 1, shares - got - 1);
        vm.prank(USER);
        uint256 charged = vault.mint(sharesPart, USER);
        _assertEq(
            charged,
            Model.ceilDivU((assets - part) * sharesPart, shares - got),
            "mint(part) charges ceiling assets"
        );
        uint256 rest = vault.maxMint(USER);
        vm.prank(USER);
        vault.mint(rest, USER);
        _assertEq(vault.balanceOf(USER), shares, "the claims together take exactly the shares bought");
        _assertEq(vault.maxDeposit(USER), 0, "nothing left to claim");

        // `withdraw` of part of a held redemption burns the ceiling of its shares; its part of the held assets
        // covers what it pays.
        uint256 held = _heldRedemption(shares);
        uint256 worth = vault.maxWithdraw(USER);
        _assertLe(worth, held, "maxWithdraw <= the assets held");
        uint256 pay = worth / 3 + 1;
        vm.prank(USER);
        uint256 burned = vault.withdraw(pay, USER, USER);
        _assertEq(burned, Model.ceilDivU(shares * pay, worth), "withdraw(part) burns ceiling shares");
        _assertLe(pay, (held * burned) / shares, "its part of the held assets covers the payment");
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
