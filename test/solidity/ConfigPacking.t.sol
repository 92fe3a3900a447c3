// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MarketConfig} from "../../contracts/interfaces/IPerpEngine.sol";
import {ConfigLib} from "../../contracts/libraries/ConfigLib.sol";
import {ConstantsLib} from "../../contracts/libraries/ConstantsLib.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {Model} from "./utils/Model.sol";
import {vm} from "./utils/Vm.sol";

/// @notice The engine stores a market's config in four words and its margin sums and funding clock in
/// narrowed fields (ConfigLib, MarketState). Over the whole space ConfigLogic accepts, the packing is
/// exact, and no narrowed field can overflow and freeze a market: liquidations, the lens and the LP
/// mark keep working at any price the oracle accepts.
contract ConfigPackingTest is BaseTest {
    uint256 private constant STEP = ConfigLib.RATIO_UNIT;
    uint256 private constant SCALE = 1e12; // 6-decimal collateral
    address private constant LP = address(0x1A);
    address private constant LONG = address(0x10);
    address private constant SHORT = address(0x20);

    function setUp() public {
        _deploySystem();
    }

    /// @dev A config drawn uniformly-ish from everything ConfigLogic.validate accepts for 6 decimals.
    function _draw(uint256 seed) private pure returns (MarketConfig memory c) {
        uint256 im = _ratio(
            seed,
            0,
            ConstantsLib.MIN_INITIAL_MARGIN_RATIO + STEP,
            ConstantsLib.MAX_INITIAL_MARGIN_RATIO
        );
        uint256 minMm = ConstantsLib.MIN_MAINTENANCE_MARGIN_RATIO;
        uint256 k = _ratio(seed, 1, 0, _min(ConstantsLib.MAX_KEEPER_FEE_RATIO, im - minMm - STEP));
        uint256 mm = _ratio(seed, 2, minMm, im - k - STEP);
        c.initialMarginRatio = uint64(im);
        c.keeperFeeRatio = uint64(k);
        c.maintenanceMarginRatio = uint64(mm);
        c.tradingFeeRatio = uint64(_ratio(seed, 3, 0, ConstantsLib.MAX_TRADING_FEE_RATIO));
        c.liquidationPenaltyRatio = uint64(_ratio(seed, 4, 0, ConstantsLib.MAX_LIQUIDATION_PENALTY_RATIO));
        c.maxProfitFactor = uint64(
            _ratio(seed, 5, ConstantsLib.MIN_MAX_PROFIT_FACTOR, ConstantsLib.MAX_MAX_PROFIT_FACTOR)
        );
        c.maxFundingRatePerDay = uint64(_ratio(seed, 6, 0, ConstantsLib.MAX_FUNDING_RATE_PER_DAY));
        c.partialLiquidationBuffer = uint64(_ratio(seed, 7, 0, ConstantsLib.MAX_PARTIAL_LIQUIDATION_BUFFER));
        // The minimum notional leaves two units of rounding and at least one unit of keeper-fee floor.
        uint256 lowest = _max(Model.ceilDivU(2e18 * SCALE, im - mm - k), (Model.ceilDivU(2e18, im - mm) + 1) * SCALE);
        c.minNotional = uint128(_bound(_part(seed, 8), lowest, type(uint128).max));
        uint256 room = ((c.minNotional / SCALE) * (im - mm)) / 1e18 - 1;
        uint256 maxFee = ConstantsLib.MAX_KEEPER_FEE_TOKENS * UNIT;
        c.minKeeperFee = uint96(_bound(_part(seed, 9), 1, _min(maxFee, room)));
        c.maxKeeperFee = uint96(_bound(_part(seed, 10), c.minKeeperFee, maxFee));
        c.minMargin = uint96(_bound(_part(seed, 11), 1, ConstantsLib.MAX_MIN_MARGIN_TOKENS * UNIT));
        // The cap times the oracle's ceiling ($10M here) stays within MAX_OPEN_INTEREST_VALUE.
        uint256 maxOpenInterest = _min(
            ConstantsLib.MAX_OPEN_INTEREST,
            (ConstantsLib.MAX_OPEN_INTEREST_VALUE * 1e18) / 10_000_000e18
        );
        c.maxOpenInterest = uint128(_bound(_part(seed, 12), 1, maxOpenInterest));
        c.skewScale = uint128(_bound(_part(seed, 13), 1, ConstantsLib.MAX_OPEN_INTEREST));
        c.partialLiquidationThreshold = uint128(_bound(_part(seed, 14), 0, type(uint112).max));
    }

    function testFuzz_every_accepted_config_is_stored_and_read_back_exactly(uint256 seed) public {
        MarketConfig memory c = _draw(seed);
        engine.setMarketConfig(ETH, c);
        _assertTrue(
            keccak256(abi.encode(lens.getMarket(ETH).config)) == keccak256(abi.encode(c)),
            "stored config equals the one set"
        );
    }

    function testFuzz_no_accepted_config_price_or_century_freezes_liquidation_or_the_lp_mark(
        uint256 seed,
        uint256 price,
        uint256 elapsed
    ) public {
        _fund(LP, 1e15 * UNIT);
        _depositLp(LP, 1e15 * UNIT);
        _fund(LONG, 1e6 * UNIT);
        _fund(SHORT, 1e6 * UNIT);
        vm.prank(LONG);
        orders.openPosition(ETH, 10e18, 30_000 * UNIT);
        vm.prank(SHORT);
        orders.openPosition(ETH, -10e18, 30_000 * UNIT);

        // With positions open, no keeper-fee term and not the profit factor may rise: keep them at most the
        // current ones (each bound only loosens when they fall).
        MarketConfig memory c = _draw(seed);
        MarketConfig memory current = lens.getMarket(ETH).config;
        c.keeperFeeRatio = uint64(_min(c.keeperFeeRatio, current.keeperFeeRatio));
        c.maxProfitFactor = uint64(_min(c.maxProfitFactor, current.maxProfitFactor));
        c.maxKeeperFee = uint96(_min(c.maxKeeperFee, current.maxKeeperFee));
        c.minKeeperFee = uint96(_min(_min(c.minKeeperFee, current.minKeeperFee), c.maxKeeperFee));
        engine.setMarketConfig(ETH, c);
        engine.setBorrowRate(ETH, ConstantsLib.MAX_BORROW_RATE_PER_DAY);
        // Up to a century: the market's clock is 48 bits, its indexes and sums are sized for it.
        vm.warp(block.timestamp + _bound(elapsed, 0, 36_525 days));
        ethFeed.updateAnswer(int256(_bound(price, 0.01e8, 10_000_000e8))); // the oracle's bounds

        // None of these may revert, whatever the config, the price and the time elapsed.
        lens.getMarket(ETH);
        lens.currentFundingIndex(ETH);
        vault.totalAssets();
        address[] memory accounts = new address[](2);
        (accounts[0], accounts[1]) = (LONG, SHORT);
        uint256[] memory ids = new uint256[](2);
        engine.liquidateBatch(accounts, ids, address(this));
    }

    function _ratio(uint256 seed, uint256 i, uint256 lo, uint256 hi) private pure returns (uint256) {
        return _bound(_part(seed, i), Model.ceilDivU(lo, STEP), hi / STEP) * STEP;
    }

    function _part(uint256 seed, uint256 i) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, i)));
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }

    function _max(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a : b;
    }
}
