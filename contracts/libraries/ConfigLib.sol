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

    /// @dev `c` in its stored form. Every narrowing is exact for a config that ConfigLogic.validate accepted: ratios
    /// are multiples of the unit and at most 18 (a uint32 holds 42.9 units' worth), the keeper fees at
    /// most 1,000 tokens of 18 decimals (1e21 < 2^72), the minimum margin at most 10,000 (1e22 < 2^96),
    /// the partial threshold bounded to 112 bits, and the rest keep their 128 bits.
    function pack(MarketConfig calldata c) internal pure returns (StoredConfig memory) {
        uint256 u = RATIO_UNIT;
        return
            StoredConfig({
                initialMarginRatio: uint32(c.initialMarginRatio / u),
                maintenanceMarginRatio: uint32(c.maintenanceMarginRatio / u),
                tradingFeeRatio: uint32(c.tradingFeeRatio / u),
                liquidationPenaltyRatio: uint32(c.liquidationPenaltyRatio / u),
                keeperFeeRatio: uint32(c.keeperFeeRatio / u),
                maxProfitFactor: uint32(c.maxProfitFactor / u),
                maxFundingRatePerDay: uint32(c.maxFundingRatePerDay / u),
                partialLiquidationBuffer: uint32(c.partialLiquidationBuffer / u),
                minKeeperFee: uint72(c.minKeeperFee),
                maxKeeperFee: uint72(c.maxKeeperFee),
                partialLiquidationThreshold: uint112(c.partialLiquidationThreshold),
                minNotional: c.minNotional,
                skewScale: c.skewScale,
                maxOpenInterest: c.maxOpenInterest,
                minMargin: c.minMargin
            });
    }

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
