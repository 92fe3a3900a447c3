// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ConstantsLib} from "./ConstantsLib.sol";
import {MathLib, WAD} from "./MathLib.sol";

/// @title PositionMath
/// @notice The money a position is worth, in collateral units. `den` is 1e18 x 10^(18 - token decimals):
/// size (18 decimals) x price (18 decimals) / den = collateral units. Each function rounds against the
/// trader, as its comment says.
library PositionMath {
    using MathLib for uint256;

    /// @dev Notional value, rounded up: margin requirements and fees computed from it err against the trader.
    function notional(uint256 absSize, uint256 price, uint256 den) internal pure returns (uint256) {
        return absSize.mulDivUp(price, den);
    }

    /// @dev Unrealized PnL of `size` entered at `entryPrice`: a profit is rounded down and capped at
    /// `profitCap`, a loss is rounded up.
    function pnl(
        int256 size,
        uint256 entryPrice,
        uint256 price,
        uint256 profitCap,
        uint256 den
    ) internal pure returns (int256) {
        if (size == 0 || price == entryPrice) return 0;
        uint256 diff = price > entryPrice ? price - entryPrice : entryPrice - price;
        bool gain = (size > 0) == (price > entryPrice);
        if (gain) return int256(MathLib.abs(size).mulDivDown(diff, den).min(profitCap));
        return -int256(MathLib.abs(size).mulDivUp(diff, den));
    }

    /// @dev Funding accrued since `checkpoint`: owed by the trader when positive (rounded up), owed to
    /// the trader when negative (rounded down).
    function funding(int256 size, int256 index, int256 checkpoint, uint256 den) internal pure returns (int256) {
        int256 delta = index - checkpoint;
        if (size == 0 || delta == 0) return 0;
        uint256 amount = MathLib.abs(size);
        uint256 absDelta = MathLib.abs(delta);
        if ((size > 0) == (delta > 0)) return int256(amount.mulDivUp(absDelta, den));
        return -int256(amount.mulDivDown(absDelta, den));
    }

    /// @dev Notional in 18-decimal USD, rounded down (checked against minimums, so down is strict).
    function notionalUsd(uint256 absSize, uint256 price) internal pure returns (uint256) {
        return absSize.mulDivDown(price, WAD);
    }

    /// @dev The keeper fee: a share of notional (rounded up), within its floor and cap.
    function keeperFee(
        uint256 notional_,
        uint256 ratio,
        uint256 minFee,
        uint256 maxFee
    ) internal pure returns (uint256) {
        return notional_.wMulUp(ratio).clamp(minFee, maxFee);
    }

    /// @dev Funding rate per day (positive: longs pay), proportional to skew and capped at the maximum rate
    /// when |skew| >= `skewScale` (truncated toward zero).
    function fundingRate(
        uint256 longSize,
        uint256 shortSize,
        uint256 skewScale,
        uint256 maxRatePerDay
    ) internal pure returns (int256) {
        int256 proportional = ((int256(longSize) - int256(shortSize)) * int256(WAD)) / int256(skewScale);
        if (proportional > int256(WAD)) proportional = int256(WAD);
        if (proportional < -int256(WAD)) proportional = -int256(WAD);
        return (proportional * int256(maxRatePerDay)) / int256(WAD);
    }

    /// @dev The borrow index's unit: 1e-9 USD per base unit, so that the 72-bit index holds 4.7e12 USD per
    /// unit of accrued borrowing: a century at the steepest rate (20 x 0.1 % a day) of a unit priced at the
    /// oracle's ceiling (ConstantsLib.MAX_ORACLE_PRICE, $1e9).
    uint256 internal constant BORROW_UNIT = 1e9;

    /// @dev The borrowing rate a day at the pool's utilization `reserved / balance` (capped at one; an empty
    /// pool counts as full): the base rate up to the kink, then rising linearly to
    /// `BORROW_MULTIPLIER_AT_FULL` times the base at full utilization (a kinked curve, as Aave's and GMX v2's).
    /// Rounded up (the LP pool's side).
    function borrowRate(uint256 baseRatePerDay, uint256 reserved, uint256 balance) internal pure returns (uint256) {
        uint256 utilization = reserved >= balance ? WAD : reserved.mulDivUp(WAD, balance);
        uint256 kink = ConstantsLib.BORROW_KINK_UTILIZATION;
        if (utilization <= kink) return baseRatePerDay;
        return
            baseRatePerDay +
            baseRatePerDay.mulDivUp(
                (ConstantsLib.BORROW_MULTIPLIER_AT_FULL - WAD) * (utilization - kink),
                WAD * (WAD - kink)
            );
    }

    /// @dev Borrowing accrued per base unit over `elapsed` seconds at `ratePerDay` of `price`, in
    /// `BORROW_UNIT`s, rounded up (the LP pool's side).
    function borrowAccrual(uint256 ratePerDay, uint256 price, uint256 elapsed) internal pure returns (uint256) {
        return (ratePerDay * price * elapsed).mulDivUp(1, WAD * 1 days * BORROW_UNIT);
    }

    /// @dev The funding index after `elapsed` seconds at `ratePerDay` and `price`: per base unit, rate x
    /// price x days (truncated toward zero; positions round their own share against the trader).
    function accrueIndex(
        int256 index,
        int256 ratePerDay,
        uint256 price,
        uint256 elapsed
    ) internal pure returns (int256) {
        return index + (ratePerDay * int256(price) * int256(elapsed)) / int256(WAD * 1 days);
    }
}
