// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {MarketState, Pool} from "../interfaces/IPerpEngine.sol";
import {ConfigLib} from "./ConfigLib.sol";
import {PositionMath} from "./PositionMath.sol";

/// @title AccrualLib
/// @notice A market's funding and borrow indexes moved to now, on the engine's storage. The one copy of the
/// accrual: the engine runs it on every trade and liquidation, ConfigLogic (by DELEGATECALL, in the engine's
/// storage) before a config change, a new borrowing rate or a settlement; MarketLib computes the same indexes
/// from outside for the lens and the vault.
library AccrualLib {
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @dev A settled market's funding clock: funding and borrowing stop, its price is the settlement price.
    uint48 internal constant SETTLED = type(uint48).max;

    /// @dev Moves the funding index and the borrow index of `m` to now at `price` and returns both. A settled
    /// market's indexes are frozen. Borrowing accrues at the pool's utilization now: a reserve taken or freed
    /// elsewhere since this market's last accrual counts from its start (ARCHITECTURE.md, "Borrowing").
    function accrue(
        MarketState storage m,
        Pool storage pool,
        uint256 price
    ) internal returns (int256 index, uint256 borrow) {
        uint256 last = m.lastFundingTime;
        index = m.fundingIndex;
        borrow = m.borrowIndex;
        if (last == block.timestamp || last == SETTLED) return (index, borrow);
        uint256 elapsed = block.timestamp - last;
        int256 rate = PositionMath.fundingRate(
            m.longSize,
            m.shortSize,
            m.config.skewScale,
            m.config.maxFundingRatePerDay * ConfigLib.RATIO_UNIT
        );
        index = PositionMath.accrueIndex(index, rate, price, elapsed);
        m.fundingIndex = index.toInt128();
        m.lastFundingTime = uint48(block.timestamp); // fits for millions of years
        uint256 baseRate = m.borrowRatePerDay;
        if (baseRate != 0) {
            uint256 borrowRate = PositionMath.borrowRate(
                baseRate * ConfigLib.RATIO_UNIT,
                pool.totalReserved,
                pool.lpBalance
            );
            borrow += PositionMath.borrowAccrual(borrowRate, price, elapsed);
            m.borrowIndex = borrow.toUint72();
        }
    }
}
