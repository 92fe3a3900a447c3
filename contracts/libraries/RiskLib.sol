// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MarketConfig, Position} from "../interfaces/IPerpEngine.sol";
import {MathLib} from "./MathLib.sol";
import {PositionMath} from "./PositionMath.sol";

/// @title RiskLib
/// @notice A position's health against its market's config, and the plan of its liquidation. Shared by
/// the engine (which executes plans) and the lens (which previews them), so both compute the same
/// numbers. `den` as in PositionMath.
library RiskLib {
    using MathLib for uint256;

    /// @dev Collateral units added to a partial liquidation's target to absorb the round-ups of the check.
    uint256 internal constant PARTIAL_ROUNDING_ALLOWANCE = 8;

    /// @notice What a liquidation will do: computed once, then executed or reported.
    struct Plan {
        bool liquidatable;
        bool full;
        uint256 sizeClosed;
        int256 equity;
        uint256 liquidationMargin;
        uint256 keeperFee;
        uint256 penalty;
        int256 funding; // settled in full, whether the liquidation is partial or not
        int256 pnlClosed;
        uint256 refund;
        uint256 badDebt;
        uint256 newMargin; // partial only
    }

    /// @dev A position's profit cap: `maxProfitFactor` times the lesser of its margin and the initial margin
    /// of its entry notional (rounded down). Margin added beyond the initial margin does not raise the cap,
    /// so a top-up can never lock LP liquidity in the reserve.
    function profitCap(
        MarketConfig memory c,
        uint256 margin,
        uint256 absSize,
        uint256 entryPrice,
        uint256 den
    ) internal pure returns (uint256) {
        uint256 initialMargin = PositionMath.notionalUsd(absSize, entryPrice).mulDivDown(c.initialMarginRatio, den);
        return margin.min(initialMargin).wMulDown(c.maxProfitFactor);
    }

    function keeperFee(MarketConfig memory c, uint256 notional) internal pure returns (uint256) {
        return PositionMath.keeperFee(notional, c.keeperFeeRatio, c.minKeeperFee, c.maxKeeperFee);
    }

    /// @dev Maintenance margin plus the keeper fee: equity below this is liquidatable.
    function liquidationMargin(MarketConfig memory c, uint256 notional) internal pure returns (uint256) {
        return notional.wMulUp(c.maintenanceMarginRatio) + keeperFee(c, notional);
    }

    /// @dev Equity (funding already settled into `margin`) and liquidation margin of a position.
    function health(
        MarketConfig memory c,
        int256 size,
        uint256 entryPrice,
        int256 margin,
        uint256 price,
        uint256 den
    ) internal pure returns (int256 equity, uint256 required) {
        uint256 cap = profitCap(c, MathLib.pos(margin), MathLib.abs(size), entryPrice, den);
        equity = margin + PositionMath.pnl(size, entryPrice, price, cap, den);
        required = liquidationMargin(c, PositionMath.notional(MathLib.abs(size), price, den));
    }

    /// @dev Decides what liquidating `p` at `price` does: nothing if healthy; a partial close if the
    /// position is above the partial threshold and closing part of it restores health with the buffer;
    /// otherwise a full close through the waterfall.
    function plan(
        MarketConfig memory c,
        Position memory p,
        uint256 price,
        int256 index,
        uint256 den
    ) internal pure returns (Plan memory result) {
        uint256 absSize = MathLib.abs(p.size);
        uint256 notional = PositionMath.notional(absSize, price, den);
        uint256 fee = keeperFee(c, notional);
        result.funding = PositionMath.funding(p.size, index, p.fundingIndex, den);
        result.pnlClosed = PositionMath.pnl(
            p.size,
            p.entryPrice,
            price,
            profitCap(c, p.margin, absSize, p.entryPrice, den),
            den
        );
        result.equity = int256(uint256(p.margin)) + result.pnlClosed - result.funding;
        result.liquidationMargin = notional.wMulUp(c.maintenanceMarginRatio) + fee;
        // Exactly at the liquidation margin is still healthy.
        if (result.equity >= int256(result.liquidationMargin)) return result;
        result.liquidatable = true;

        if (
            PositionMath.notionalUsd(absSize, price) > c.partialLiquidationThreshold &&
            _planPartial(c, p, price, notional, result, den)
        ) return result;

        result.full = true;
        result.sizeClosed = absSize;
        result.keeperFee = fee;
        int256 rest = result.equity - int256(fee);
        if (rest >= 0) {
            // The penalty only takes what is left after the keeper: it is zero before any bad debt.
            result.penalty = notional.wMulUp(c.liquidationPenaltyRatio).min(uint256(rest));
            result.refund = uint256(rest) - result.penalty;
        } else {
            result.badDebt = uint256(-rest);
        }
    }

    /// @dev Fills `result` with a partial liquidation and returns true if one restores health with the
    /// buffer; leaves `result` untouched and returns false otherwise.
    function _planPartial(
        MarketConfig memory c,
        Position memory p,
        uint256 price,
        uint256 notional,
        Plan memory result,
        uint256 den
    ) private pure returns (bool) {
        uint256 target = uint256(c.maintenanceMarginRatio) + c.partialLiquidationBuffer;
        if (c.partialLiquidationBuffer == 0 || target <= c.liquidationPenaltyRatio || result.equity <= 0) return false;
        // Closing a fraction f of notional N leaves equity E − K(f·N) − q·f·N against a requirement of
        // (1 − f)·N·target + K((1 − f)·N), K being the keeper fee. Where K is proportional (ratio k) the
        // two fees add up to k·N, so f ≥ (N·(target + k) − E) / (N·(target − q)). Where K sits at its cap
        // (large positions) they add up to at most 2·K(N), which can be far less than k·N. Both bounds are
        // tried, in that order, and each is checked exactly.
        return
            _tryPartial(c, p, price, notional, target, notional.wMulUp(target + c.keeperFeeRatio), result, den) ||
            _tryPartial(
                c,
                p,
                price,
                notional,
                target,
                notional.wMulUp(target) + 2 * keeperFee(c, notional),
                result,
                den
            );
    }

    /// @dev Tries the smallest close that leaves equity `need` before fees, per the bound its caller chose.
    function _tryPartial(
        MarketConfig memory c,
        Position memory p,
        uint256 price,
        uint256 notional,
        uint256 target,
        uint256 need,
        Plan memory result,
        uint256 den
    ) private pure returns (bool) {
        // The exact check rounds up at each step (closed notional, fee, penalty, loss, requirement), so the
        // target carries an allowance of a few collateral units; without it the closed form lands on the
        // boundary and a 6-decimal position would always fall back to a full liquidation.
        need += PARTIAL_ROUNDING_ALLOWANCE;
        uint256 excess = need > uint256(result.equity) ? need - uint256(result.equity) : 0;
        uint256 fraction = excess.wDivUp(notional.wMulDown(target - c.liquidationPenaltyRatio));
        uint256 absSize = MathLib.abs(p.size);
        uint256 sizeClosed = absSize.wMulUp(fraction).max(1);
        if (sizeClosed >= absSize) return false;
        uint256 remaining = absSize - sizeClosed;
        if (PositionMath.notionalUsd(remaining, price) < c.minNotional) return false;

        uint256 closedNotional = PositionMath.notional(sizeClosed, price, den);
        uint256 fee = keeperFee(c, closedNotional);
        uint256 penalty = closedNotional.wMulUp(c.liquidationPenaltyRatio);
        int256 closed = p.size > 0 ? int256(sizeClosed) : -int256(sizeClosed);
        uint256 cap = profitCap(c, p.margin, absSize, p.entryPrice, den).mulDivDown(sizeClosed, absSize);
        int256 pnlClosed = PositionMath.pnl(closed, p.entryPrice, price, cap, den);
        int256 newMargin = int256(uint256(p.margin)) - result.funding + pnlClosed - int256(fee + penalty);
        if (newMargin <= 0) return false;

        (int256 equity, ) = health(c, p.size - closed, p.entryPrice, newMargin, price, den);
        uint256 remainingNotional = PositionMath.notional(remaining, price, den);
        if (equity < int256(remainingNotional.wMulUp(target) + keeperFee(c, remainingNotional))) return false;

        result.sizeClosed = sizeClosed;
        result.keeperFee = fee;
        result.penalty = penalty;
        result.pnlClosed = pnlClosed;
        result.newMargin = uint256(newMargin);
        return true;
    }
}
