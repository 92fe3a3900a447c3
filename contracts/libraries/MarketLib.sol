// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Market} from "../interfaces/IPerpEngine.sol";
import {AccrualLib} from "./AccrualLib.sol";
import {MathLib, WAD} from "./MathLib.sol";
import {PositionMath} from "./PositionMath.sol";

/// @title MarketLib
/// @notice What a market decoded from outside the engine (`EngineStorage.market`) is worth: its price, its funding
/// rate and indexes now (AccrualLib's formulas), and what its open positions are worth to the LP pool (`mark`,
/// which ConfigLogic also runs on the engine's storage). The lens and the vault read markets with it.
library MarketLib {
    using MathLib for uint256;

    /// @dev The engine's price for the market: its oracle's, or its settlement price once settled.
    function price(Market memory m) internal view returns (uint256) {
        return m.settlementPrice != 0 ? m.settlementPrice : m.oracle.price();
    }

    /// @dev The funding rate now (zero once settled).
    function rate(Market memory m) internal pure returns (int256) {
        if (m.settlementPrice != 0) return 0;
        return PositionMath.fundingRate(m.longSize, m.shortSize, m.config.skewScale, m.config.maxFundingRatePerDay);
    }

    /// @dev The funding index and the borrow index (18 decimals) accrued to now at `p` (frozen once settled), as
    /// the engine accrues them (AccrualLib).
    function indexes(Market memory m, uint256 p) internal view returns (int256 index, uint256 borrow) {
        uint256 last = m.lastFundingTime;
        if (AccrualLib.frozen(last)) return (m.fundingIndex, m.borrowIndex);
        uint256 unit = PositionMath.BORROW_UNIT;
        // The decoded borrow index is the stored one times the unit, so the division is exact.
        (index, borrow) = AccrualLib.indexes(
            m.fundingIndex,
            m.borrowIndex / unit,
            block.timestamp - last,
            p,
            rate(m),
            m.borrowRateNow
        );
        borrow *= unit;
    }

    /// @dev The index a position of `size` settles against now at `p` (AccrualLib.sideIndex).
    function positionIndex(Market memory m, uint256 p, int256 size) internal view returns (int256) {
        (int256 index, uint256 borrow) = indexes(m, p);
        return AccrualLib.sideIndex(index, borrow, size > 0);
    }

    /// @dev What the market's open positions are worth to the LP pool at `p` (collateral units), rounded
    /// against the pool: pending funding, plus each side's unrealized loss up to its margin, minus each
    /// side's unrealized profit up to its reserve (its positions cannot be paid more), all of it at most the
    /// two sides' margins (the most positions can ever pay the pool). `scale` and `den` as in the engine.
    function mark(Market memory m, uint256 p, uint256 scale, uint256 den) internal view returns (int256 value) {
        // Longs settle against index + borrow and shorts against index - borrow, so what the positions owe
        // the pool is net size x index + gross size x borrow, less their checkpoints.
        (int256 index, uint256 borrow) = indexes(m, p);
        int256 netSize = int256(uint256(m.longSize)) - int256(uint256(m.shortSize));
        int256 grossSize = int256(uint256(m.longSize) + m.shortSize);
        int256 fundingOwed = (netSize * index + grossSize * int256(borrow)) / int256(WAD) - m.fundingCheckpointSum;
        value =
            fundingOwed >= 0 ? int256(uint256(fundingOwed) / scale) : -int256(uint256(-fundingOwed).mulDivUp(1, scale));
        int256 longPnl = int256(uint256(m.longSize).mulDivUp(p, WAD)) - int256(uint256(m.longEntryNotional));
        int256 shortPnl = int256(uint256(m.shortEntryNotional)) - int256(uint256(m.shortSize).mulDivDown(p, WAD));
        (uint256 im, uint256 factor) = (m.config.initialMarginRatio, m.config.maxProfitFactor);
        value += _side(longPnl, m.longMargin, sideReserve(m.longMargin, m.longEntryNotional, im, factor, den), scale);
        value += _side(
            shortPnl,
            m.shortMargin,
            sideReserve(m.shortMargin, m.shortEntryNotional, im, factor, den),
            scale
        );
        // Funding is netted across the sides, so a side already past bankruptcy could count funding it will
        // never pay. What the pool collects from positions is at most their margins: cap it there.
        uint256 margins = uint256(m.longMargin) + m.shortMargin;
        if (value > int256(margins)) value = int256(margins);
    }

    /// @dev A side's reserve, at least the sum of its positions' profit caps (RiskLib.profitCap): the
    /// lesser of its margin and its entry notional's initial margin (rounded up), times the factor
    /// (rounded up).
    function sideReserve(
        uint256 margin,
        uint256 entryNotionalUsd,
        uint256 initialMarginRatio,
        uint256 maxProfitFactor,
        uint256 den
    ) internal pure returns (uint256) {
        return margin.min(entryNotionalUsd.mulDivUp(initialMarginRatio, den)).wMulUp(maxProfitFactor);
    }

    function _side(int256 tradersPnlUsd, uint256 margin, uint256 reserve, uint256 scale) private pure returns (int256) {
        if (tradersPnlUsd > 0) return -int256(uint256(tradersPnlUsd).mulDivUp(1, scale).min(reserve));
        return int256((uint256(-tradersPnlUsd) / scale).min(margin));
    }
}
