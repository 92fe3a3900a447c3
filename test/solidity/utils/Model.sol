// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MarketConfig, Position} from "../../../contracts/interfaces/IPerpEngine.sol";

/// @notice Independent formulas for the engine's money math. Written differently from the contracts on
/// purpose: signed numerators with floor / ceiling division (toward -inf / +inf) instead of magnitude and
/// sign cases, so that a wrong rounding direction in either shows up as a disagreement.
library Model {
    uint256 internal constant ONE = 1e18;

    /// @dev floor(a / b) for b > 0, rounding toward negative infinity.
    function floorDiv(int256 a, int256 b) internal pure returns (int256 q) {
        q = a / b;
        if (a % b != 0 && a < 0) q -= 1;
    }

    /// @dev ceil(a / b) for b > 0, rounding toward positive infinity.
    function ceilDiv(int256 a, int256 b) internal pure returns (int256 q) {
        q = a / b;
        if (a % b != 0 && a > 0) q += 1;
    }

    function ceilDivU(uint256 a, uint256 b) internal pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }

    function abs(int256 x) internal pure returns (uint256) {
        return uint256(x >= 0 ? x : -x);
    }

    /// @dev Trader PnL: floor(size x (price - entry) / den), so a profit rounds down and a loss rounds up
    /// in magnitude; a profit is capped.
    function pnl(int256 size, uint256 entry, uint256 price, uint256 cap, uint256 den) internal pure returns (int256) {
        int256 v = floorDiv(size * (int256(price) - int256(entry)), int256(den));
        return v > int256(cap) ? int256(cap) : v;
    }

    /// @dev Funding the trader owes (negative: receives): ceil(size x (index - checkpoint) / den).
    function funding(int256 size, int256 index, int256 checkpoint, uint256 den) internal pure returns (int256) {
        return ceilDiv(size * (index - checkpoint), int256(den));
    }

    /// @dev Notional in collateral units, rounded up.
    function notional(uint256 absSize, uint256 price, uint256 den) internal pure returns (uint256) {
        return ceilDivU(absSize * price, den);
    }

    function keeperFee(MarketConfig memory c, uint256 notional_) internal pure returns (uint256 fee) {
        fee = ceilDivU(notional_ * c.keeperFeeRatio, ONE);
        if (fee > c.maxKeeperFee) fee = c.maxKeeperFee;
        if (fee < c.minKeeperFee) fee = c.minKeeperFee;
    }

    function liquidationMargin(MarketConfig memory c, uint256 notional_) internal pure returns (uint256) {
        return ceilDivU(notional_ * c.maintenanceMarginRatio, ONE) + keeperFee(c, notional_);
    }

    /// @dev Profit cap: the factor times the lesser of the margin and the entry notional's initial margin
    /// (entry notional floor(|size| x entry / 1e18), its initial margin rounded down, the product too).
    function profitCap(MarketConfig memory c, Position memory p, uint256 den) internal pure returns (uint256) {
        uint256 entryNotional = (abs(p.size) * p.entryPrice) / ONE;
        uint256 initialMargin = (entryNotional * c.initialMarginRatio) / den;
        uint256 base = p.margin < initialMargin ? p.margin : initialMargin;
        return (base * c.maxProfitFactor) / ONE;
    }

    /// @dev Equity of `p` at `price` and funding `index`: margin + capped PnL - funding.
    function equity(
        MarketConfig memory c,
        Position memory p,
        uint256 price,
        int256 index,
        uint256 den
    ) internal pure returns (int256) {
        uint256 cap = profitCap(c, p, den);
        return
            int256(uint256(p.margin)) +
            pnl(p.size, p.entryPrice, price, cap, den) -
            funding(p.size, index, p.fundingIndex, den);
    }
}
