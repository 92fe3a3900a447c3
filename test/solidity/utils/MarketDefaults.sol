// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MarketConfig} from "../../../contracts/interfaces/IPerpEngine.sol";

/// @notice marketConfig(6) of test/helpers/system.ts, for the Solidity tests: the default market parameters with
/// money in a 6-decimal token. `btc` selects BTC-USD's smaller open-interest cap and skew scale.
function defaultMarketConfig(bool btc) pure returns (MarketConfig memory) {
    uint256 token = 1e6;
    return
        MarketConfig({
            initialMarginRatio: 0.1e18,
            maintenanceMarginRatio: 0.05e18,
            tradingFeeRatio: 0.0005e18,
            liquidationPenaltyRatio: 0.01e18,
            keeperFeeRatio: 0.005e18,
            maxProfitFactor: 9e18,
            maxFundingRatePerDay: 0.001e18,
            partialLiquidationBuffer: 0.025e18,
            minKeeperFee: uint96(2 * token),
            maxKeeperFee: uint96(100 * token),
            minMargin: uint96(10 * token),
            minNotional: 100e18,
            maxOpenInterest: btc ? 500e18 : 10_000e18,
            skewScale: btc ? 50e18 : 1_000e18,
            partialLiquidationThreshold: 100_000e18
        });
}
