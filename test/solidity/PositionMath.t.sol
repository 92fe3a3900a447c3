// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MarketConfig, Position} from "../../contracts/interfaces/IPerpEngine.sol";
import {PositionMath} from "../../contracts/libraries/PositionMath.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {Model} from "./utils/Model.sol";
import {vm} from "./utils/Vm.sol";

/// @notice Fuzzes the engine's position math against the independent formulas of Model.sol and checks
/// each rounding direction against the exact rational value.
contract PositionMathTest is BaseTest {
    uint256 private constant MAX_SIZE = 1e30; // MAX_OPEN_INTEREST
    uint256 private constant MIN_PRICE = 0.01e18;
    uint256 private constant MAX_PRICE = 10_000_000e18;

    function setUp() public {
        _deploySystem();
    }

    function _den(bool eighteen) private pure returns (uint256) {
        return eighteen ? 1e18 : DEN; // 18-decimal collateral: 1e18 x 10^0
    }

    function _size(int256 raw) private pure returns (int256) {
        uint256 magnitude = _bound(Model.abs(raw == type(int256).min ? int256(0) : raw), 1, MAX_SIZE);
        return raw < 0 ? -int256(magnitude) : int256(magnitude);
    }

    function testFuzz_pnl_matches_floor_of_exact_value_and_never_overpays(
        int256 rawSize,
        uint256 entry,
        uint256 price,
        uint256 cap,
        bool eighteen
    ) public pure {
        int256 size = _size(rawSize);
        entry = _bound(entry, MIN_PRICE, MAX_PRICE);
        price = _bound(price, MIN_PRICE, MAX_PRICE);
        cap = _bound(cap, 0, type(uint128).max);
        uint256 den = _den(eighteen);

        int256 got = PositionMath.pnl(size, entry, price, cap, den);
        _assertEq(got, Model.pnl(size, entry, price, cap, den), "pnl equals the model");

        // Exact value: size x (price - entry) / den. A profit never exceeds it, a loss never falls short
        // of it, and an uncapped result is within one unit of it.
        int256 exact = size * (int256(price) - int256(entry));
        _assertLe(got * int256(den), exact, "profit rounded down, loss rounded up");
        if (got < int256(cap)) _assertLe(exact - got * int256(den), int256(den) - 1, "within one unit");
        _assertLe(got, int256(cap), "profit capped");
    }

    function testFuzz_pnl_of_a_long_and_its_mirror_short_never_sum_to_a_gain(
        uint256 absSize,
        uint256 entry,
        uint256 price,
        bool eighteen
    ) public pure {
        absSize = _bound(absSize, 1, MAX_SIZE);
        entry = _bound(entry, MIN_PRICE, MAX_PRICE);
        price = _bound(price, MIN_PRICE, MAX_PRICE);
        uint256 den = _den(eighteen);
        uint256 noCap = type(uint128).max;
        int256 sum =
            PositionMath.pnl(int256(absSize), entry, price, noCap, den) +
                PositionMath.pnl(-int256(absSize), entry, price, noCap, den);
        // The LP, counterparty to both, never pays out more than it takes in: the sum is 0 or -1.
        _assertLe(sum, 0, "mirror positions never net a profit");
        _assertLe(-sum, 1, "and lose at most one unit to rounding");
    }

    function testFuzz_pnl_realized_in_two_parts_never_pays_more_than_at_once(
        uint256 absSize,
        uint256 split,
        uint256 entry,
        uint256 price,
        bool long
    ) public pure {
        absSize = _bound(absSize, 2, MAX_SIZE);
        split = _bound(split, 1, absSize - 1);
        entry = _bound(entry, MIN_PRICE, MAX_PRICE);
        price = _bound(price, MIN_PRICE, MAX_PRICE);
        int256 sign = long ? int256(1) : int256(-1);
        uint256 noCap = type(uint128).max;
        int256 whole = PositionMath.pnl(sign * int256(absSize), entry, price, noCap, DEN);
        int256 parts =
            PositionMath.pnl(sign * int256(split), entry, price, noCap, DEN) +
                PositionMath.pnl(sign * int256(absSize - split), entry, price, noCap, DEN);
        _assertLe(parts, whole, "splitting a close cannot gain from rounding");
    }

    function testFuzz_funding_matches_ceiling_of_exact_value(
        int256 rawSize,
        int256 index,
        int256 checkpoint,
        bool eighteen
    ) public pure {
        int256 size = _size(rawSize);
        // Indexes are int128 in storage; a realistic index stays far below 1e30 (USD per unit, 18 dec).
        index =
            int256(_bound(Model.abs(index == type(int256).min ? int256(0) : index), 0, 1e30)) *
            (index < 0 ? int256(-1) : int256(1));
        checkpoint =
            int256(_bound(Model.abs(checkpoint == type(int256).min ? int256(0) : checkpoint), 0, 1e30)) *
            (checkpoint < 0 ? int256(-1) : int256(1));
        uint256 den = _den(eighteen);

        int256 got = PositionMath.funding(size, index, checkpoint, den);
        _assertEq(got, Model.funding(size, index, checkpoint, den), "funding equals the model");
        int256 exact = size * (index - checkpoint);
        // Owed rounds up, received rounds down: the trader's side is never favoured.
        _assertLe(exact, got * int256(den), "funding never under-charged nor over-paid");
        _assertLe(got * int256(den) - exact, int256(den) - 1, "within one unit");
    }

    function testFuzz_notional_is_the_ceiling_of_size_times_price(
        uint256 absSize,
        uint256 price,
        bool eighteen
    ) public pure {
        absSize = _bound(absSize, 0, MAX_SIZE);
        price = _bound(price, MIN_PRICE, MAX_PRICE);
        uint256 den = _den(eighteen);
        uint256 got = PositionMath.notional(absSize, price, den);
        _assertEq(got, Model.notional(absSize, price, den), "notional equals the model");
        _assertGe(got * den, absSize * price, "notional rounds up");
        if (got > 0) _assertLe((got - 1) * den, absSize * price - 1, "by less than one unit");
        _assertEq(PositionMath.notionalUsd(absSize, price), (absSize * price) / 1e18, "USD notional rounds down");
    }

    function testFuzz_keeper_fee_is_the_rounded_up_share_within_floor_and_cap(
        uint256 notional_,
        uint256 ratio,
        uint256 minFee,
        uint256 maxFee
    ) public pure {
        notional_ = _bound(notional_, 0, 1e40);
        ratio = _bound(ratio, 0, 0.02e18);
        minFee = _bound(minFee, 1, 1_000e6);
        maxFee = _bound(maxFee, minFee, 1_000e6);
        uint256 got = PositionMath.keeperFee(notional_, ratio, minFee, maxFee);
        uint256 share = notional_ * ratio;
        _assertTrue(got >= minFee && got <= maxFee, "fee within floor and cap");
        if (got > minFee && got < maxFee) {
            _assertGe(got * 1e18, share, "share rounds up");
            _assertLe((got - 1) * 1e18, share - 1, "by less than one unit");
        }
    }

    /// @dev Funding index growth: rate x price x elapsed / (1e18 x 1 day), truncated toward zero, with the
    /// rate proportional to skew / skewScale and clamped at the maximum daily rate.
    function testFuzz_funding_index_grows_by_rate_times_price_times_elapsed(
        uint256 longSize,
        uint256 shortSize,
        uint256 elapsed
    ) public {
        MarketConfig memory c = _marketConfig(ETH);
        longSize = _bound(longSize, 0.05e18, 1_500e18);
        shortSize = _bound(shortSize, 0.05e18, 1_500e18);
        elapsed = _bound(elapsed, 1, ORACLE_MAX_AGE);
        address alice = address(0xA11CE);
        address bob = address(0xB0B);
        _fund(address(0x1), 100_000_000 * UNIT);
        _fund(alice, 100_000_000 * UNIT);
        _fund(bob, 100_000_000 * UNIT);
        _depositLp(address(0x1), 100_000_000 * UNIT);
        // Margin of half the notional: well above the 10 % initial margin.
        vm.prank(alice);
        orders.openPosition(ETH, int256(longSize), (longSize * 3_000) / 2e12 + 10 * UNIT);
        vm.prank(bob);
        orders.openPosition(ETH, -int256(shortSize), (shortSize * 3_000) / 2e12 + 10 * UNIT);

        int256 before = lens.currentFundingIndex(ETH);
        vm.warp(block.timestamp + elapsed);
        ethFeed.updateAnswer(3_000e8);

        int256 skew = int256(longSize) - int256(shortSize);
        int256 proportional = (skew * 1e18) / int256(uint256(c.skewScale));
        if (proportional > 1e18) proportional = 1e18;
        if (proportional < -1e18) proportional = -1e18;
        int256 rate = (proportional * int256(uint256(c.maxFundingRatePerDay))) / 1e18;
        int256 growth = (rate * 3_000e18 * int256(elapsed)) / (1e18 * 1 days);
        _assertEq(lens.currentFundingIndex(ETH) - before, growth, "index growth");
        _assertEq(lens.fundingRate(ETH), rate, "rate");
        // Longs pay when the skew is long.
        _assertTrue(skew <= 0 || growth >= 0, "longs pay on a long skew");

        // What each side owes follows the position formula, rounded against the trader.
        Position memory p = engine.getPosition(alice, ETH);
        int256 owed = Model.funding(p.size, lens.currentFundingIndex(ETH), p.fundingIndex, DEN);
        _assertLe(p.size * growth, owed * int256(DEN), "the long owes at least the exact amount");
    }

    // ---------------------------------------------------------------- borrowing at utilization

    uint256 private constant BASE = 0.00025e18; // the deployed 0.025 % a day

    function test_borrowRate_is_the_base_up_to_and_at_the_kink() public pure {
        _assertEq(PositionMath.borrowRate(BASE, 0, 1_000e6), BASE, "an idle pool pays the base");
        _assertEq(PositionMath.borrowRate(BASE, 800e6, 1_000e6), BASE, "exactly at 80 %: the base");
    }

    function test_borrowRate_rises_one_unit_past_the_kink_and_reaches_twenty_times_at_full() public pure {
        // One unit past 80 % of 1e18 units: the utilization rounds up to a wei past the kink.
        uint256 past = PositionMath.borrowRate(BASE, 0.8e18 + 1, 1e18);
        _assertTrue(past > BASE, "one unit past the kink: above the base");
        _assertEq(past, BASE + 1, "and only by the rounding of one step");
        _assertEq(PositionMath.borrowRate(BASE, 900e6, 1_000e6), BASE + (19 * BASE) / 2, "90 %: 10.5 x the base");
        _assertEq(PositionMath.borrowRate(BASE, 1_000e6, 1_000e6), 20 * BASE, "full: 20 x the base");
        _assertEq(PositionMath.borrowRate(BASE, 2_000e6, 1_000e6), 20 * BASE, "over-reserved counts as full");
        _assertEq(PositionMath.borrowRate(BASE, 0, 0), 20 * BASE, "an empty pool counts as full");
        _assertEq(PositionMath.borrowRate(0, 1_000e6, 1_000e6), 0, "no base rate, no borrowing");
    }

    function testFuzz_borrowRate_is_monotonic_in_utilization_and_within_one_to_twenty_times(
        uint256 base,
        uint256 reservedA,
        uint256 reservedB,
        uint256 balance
    ) public pure {
        base = _bound(base, 0, 0.001e18);
        balance = _bound(balance, 1, type(uint128).max);
        reservedA = _bound(reservedA, 0, type(uint128).max);
        reservedB = _bound(reservedB, reservedA, type(uint128).max);
        uint256 a = PositionMath.borrowRate(base, reservedA, balance);
        uint256 b = PositionMath.borrowRate(base, reservedB, balance);
        _assertLe(a, b, "more reserved never pays less");
        _assertGe(a, base, "never below the base");
        _assertLe(b, 20 * base, "never above 20 x the base");
    }

    /// @dev A century of accrual at the steepest rate (20 x 0.1 % a day) and the oracle ceiling ($1e9) fits
    /// the 72-bit borrow index; the funding index (0.1 % a day of the ceiling) fits its 128 bits, and the
    /// checkpoint sum of a market at its open-interest value bound fits its 128 bits.
    function testFuzz_indexes_fit_their_widths_for_a_century(uint256 price, uint256 elapsed) public pure {
        price = _bound(price, 1, 1e27);
        elapsed = _bound(elapsed, 0, 100 * 365.25 days);
        uint256 steepest = PositionMath.borrowRate(0.001e18, 1, 0);
        uint256 borrow = PositionMath.borrowAccrual(steepest, price, elapsed);
        _assertLe(borrow, type(uint72).max, "the borrow index fits 72 bits");
        int256 funding = PositionMath.accrueIndex(0, 0.1e18, price, elapsed);
        int256 sideIndex = funding + int256(borrow * PositionMath.BORROW_UNIT);
        // Open interest at most MAX_OPEN_INTEREST_VALUE x 1e18 / ceiling on each side.
        uint256 maxOpenInterest = (1e34 * 1e18) / price;
        if (maxOpenInterest > 1e30) maxOpenInterest = 1e30;
        int256 checkpointSum = (2 * int256(maxOpenInterest) * sideIndex) / 1e18;
        _assertLe(checkpointSum, int256(type(int128).max), "the checkpoint sum fits 128 bits");
    }
}
