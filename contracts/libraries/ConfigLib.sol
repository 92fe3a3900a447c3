// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MarketConfig, StoredConfig} from "../interfaces/IPerpEngine.sol";

/// @title ConfigLib
/// @notice How a market's config is stored: four words instead of six. Ratios are kept as whole multiples
/// of `RATIO_UNIT` (1e-8) in 32 bits each, so that the eight fit one word; ConfigLogic refuses a ratio
/// that is not such a multiple, so nothing is lost in the round trip.
library ConfigLib {
    /// @dev 1e-8 in 18-decimal fixed point: the step of every stored ratio (largest storable: 42.9).
    uint256 internal constant RATIO_UNIT = 1e10;

    /// @dev The first three words: everything a trade, a close or a liquidation needs. The trade limits
    /// (`maxOpenInterest`, `minMargin`, the fourth word) are left zero: read them from storage where needed.
    function risk(StoredConfig storage s) internal view returns (MarketConfig memory c) {
        c.initialMarginRatio = uint64(s.initialMarginRatio * RATIO_UNIT);
        c.maintenanceMarginRatio = uint64(s.maintenanceMarginRatio * RATIO_UNIT);
        c.tradingFeeRatio = uint64(s.tradingFeeRatio * RATIO_UNIT);
        c.liquidationPenaltyRatio = uint64(s.liquidationPenaltyRatio * RATIO_UNIT);
        c.keeperFeeRatio = uint64(s.keeperFeeRatio * RATIO_UNIT);
        c.maxProfitFactor = uint64(s.maxProfitFactor * RATIO_UNIT);
        c.maxFundingRatePerDay = uint64(s.maxFundingRatePerDay * RATIO_UNIT);
        c.partialLiquidationBuffer = uint64(s.partialLiquidationBuffer * RATIO_UNIT);
        c.minKeeperFee = s.minKeeperFee;
        c.maxKeeperFee = s.maxKeeperFee;
        c.partialLiquidationThreshold = s.partialLiquidationThreshold;
        c.minNotional = s.minNotional;
        c.skewScale = s.skewScale;
    }
}
