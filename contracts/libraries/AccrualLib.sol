// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketState, Pool} from "../interfaces/IPerpEngine.sol";
import {ConfigLib} from "./ConfigLib.sol";
import {PositionMath} from "./PositionMath.sol";

/// @title AccrualLib
/// @notice The one copy of a market's funding and borrow accrual. `accrue` moves the indexes on the engine's
/// storage: the engine runs it on every trade and liquidation, ConfigLogic (by DELEGATECALL, in the engine's
/// storage) before a config change, a new borrowing rate or a settlement. MarketLib runs the same `indexes` and
/// `sideIndex` on a market decoded from outside, for the lens and the vault.
library AccrualLib {
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @dev A settled market's funding clock: funding and borrowing stop, its price is the settlement price.
    uint48 internal constant SETTLED = type(uint48).max;

    /// @dev Moves the funding index and the borrow index (in `PositionMath.BORROW_UNIT`s) of `m` to now at
    /// `price` and returns both. A settled market's indexes are frozen. Borrowing accrues at the pool's
    /// utilization now: a reserve taken or freed elsewhere since this market's last accrual counts from its start
    /// (ARCHITECTURE.md, "Borrowing").
    function accrue(
        MarketState storage m,
        Pool storage pool,
        uint256 price
    ) internal returns (int256 index, uint256 borrow) {
        uint256 last = m.lastFundingTime;
        index = m.fundingIndex;
        borrow = m.borrowIndex;
        if (frozen(last)) return (index, borrow);
        uint256 baseRate = m.borrowRatePerDay;
        (index, borrow) = indexes(
            index,
            borrow,
            block.timestamp - last,
            price,
            PositionMath.fundingRate(
                m.longSize,
                m.shortSize,
                m.config.skewScale,
                m.config.maxFundingRatePerDay * ConfigLib.RATIO_UNIT
            ),
            // Without a base rate the pool's utilization need not be read.
            baseRate == 0
                ? 0
                : PositionMath.borrowRate(baseRate * ConfigLib.RATIO_UNIT, pool.totalReserved, pool.lpBalance)
        );
        m.fundingIndex = index.toInt128();
        m.lastFundingTime = uint48(block.timestamp); // fits for millions of years
        if (baseRate != 0) m.borrowIndex = borrow.toUint72();
    }

    /// @dev Whether indexes last moved at `last` stay as they are now: moved already in this block, or settled.
    function frozen(uint256 last) internal view returns (bool) {
        return last == block.timestamp || last == SETTLED;
    }

    /// @dev The funding index and the borrow index (in `PositionMath.BORROW_UNIT`s) `elapsed` seconds on, at
    /// `price`, a funding rate of `fundingRate` a day (PositionMath.fundingRate of the sides) and a borrowing
    /// rate of `borrowRate` a day (PositionMath.borrowRate at the pool's utilization).
    function indexes(
        int256 index,
        uint256 borrow,
        uint256 elapsed,
        uint256 price,
        int256 fundingRate,
        uint256 borrowRate
    ) internal pure returns (int256, uint256) {
        index = PositionMath.accrueIndex(index, fundingRate, price, elapsed);
        if (borrowRate != 0) borrow += PositionMath.borrowAccrual(borrowRate, price, elapsed);
        return (index, borrow);
    }

    /// @dev The index a position settles funding and borrowing against: the funding index plus the borrow index
    /// (18 decimals) for a long, minus it for a short. Settled as `size x (index - checkpoint)`, a long then pays
    /// funding and borrowing, and a short receives funding and pays borrowing.
    function sideIndex(int256 index, uint256 borrow, bool long) internal pure returns (int256) {
        return long ? index + int256(borrow) : index - int256(borrow);
    }
}
