// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IBackstopModule} from "./interfaces/IBackstopModule.sol";
import {ILiquidityVault} from "./interfaces/ILiquidityVault.sol";
import {IOrderBook} from "./interfaces/IOrderBook.sol";
import {IPerpEngine, MarketConfig, MarketState} from "./interfaces/IPerpEngine.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {ConfigLib} from "./libraries/ConfigLib.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {MathLib, WAD} from "./libraries/MathLib.sol";

/// @title ConfigLogic
/// @notice The engine's market configuration: the hard bounds of every parameter and the writes of a
/// market's config. Deployed once and linked into PerpEngine, which reaches it by DELEGATECALL (as Aave
/// v3's Pool reaches its logic libraries), so the rare admin path costs the engine no bytecode.
/// @dev Runs in the engine's storage: `m` is a market of the engine. Errors are the engine's.
library ConfigLogic {
    using MathLib for uint256;

    /// @notice Validates `c` and starts market `m` on `oracle`, which must answer now.
    /// @param scale 10^(18 - collateral decimals).
    function initMarket(MarketState storage m, IPriceOracle oracle, MarketConfig calldata c, uint256 scale) external {
        if (address(oracle) == address(0)) revert IPerpEngine.ZeroAddress();
        _validate(c, scale, oracle);
        oracle.price(); // a market starts only with an oracle that answers
        m.oracle = oracle;
        m.lastFundingTime = uint32(block.timestamp); // fits until 2106
        m.config = ConfigLib.pack(c);
    }

    /// @notice Validates `c` against its bounds and the book as it is, and makes it market `m`'s config. The
    /// engine accrues funding and re-reserves.
    /// @dev While the market has positions, no keeper-fee term may rise: a position owes a keeper at most
    /// what its terms at open allowed, whatever else changes with it (a higher `minNotional` would otherwise
    /// let `minKeeperFee` rise past what small positions can pay). Only a maintenance-margin change, which
    /// the timelock announces, can make a position that met its initial margin liquidatable.
    function setConfig(MarketState storage m, MarketConfig calldata c, uint256 scale) external {
        _validate(c, scale, m.oracle);
        if (m.longSize != 0 || m.shortSize != 0) {
            MarketConfig memory current = ConfigLib.risk(m.config);
            _noRise("keeperFeeRatio", current.keeperFeeRatio, c.keeperFeeRatio);
            _noRise("minKeeperFee", current.minKeeperFee, c.minKeeperFee);
            _noRise("maxKeeperFee", current.maxKeeperFee, c.maxKeeperFee);
        }
        m.config = ConfigLib.pack(c);
    }

    /// @notice The price a market whose feed broke winds down at: the answer of `roundId`, proved by the
    /// oracle to be its last good round, once the feed has been broken for `WIND_DOWN_DELAY`.
    /// @dev The oracle is an address, not `IPriceOracle`: a library's ABI keeps contract types by name,
    /// which ABI decoders (ethers) refuse.
    function windDownPrice(uint256 marketId, address oracle, uint80 roundId) external returns (uint256 price) {
        uint256 brokenSince;
        (price, brokenSince) = IPriceOracle(oracle).lastGoodPrice(roundId);
        uint256 windDownAt = brokenSince + ConstantsLib.WIND_DOWN_DELAY;
        if (block.timestamp < windDownAt) revert IPerpEngine.FeedNotBroken(brokenSince, windDownAt);
        emit IPerpEngine.MarketWoundDown(marketId, roundId, brokenSince, msg.sender);
    }

    /// @notice Reverts with `WrongCounterparty` unless the vault and the backstop both name this engine
    /// (the caller: this runs by DELEGATECALL) and `collateral` as theirs.
    function checkCounterparties(address vault, address backstop, address orders, address collateral) external view {
        if (ILiquidityVault(vault).engine() != address(this) || ILiquidityVault(vault).asset() != collateral) {
            revert IPerpEngine.WrongCounterparty(vault);
        }
        if (IBackstopModule(backstop).engine() != address(this) || IBackstopModule(backstop).asset() != collateral) {
            revert IPerpEngine.WrongCounterparty(backstop);
        }
        if (IOrderBook(orders).engine() != address(this)) revert IPerpEngine.WrongCounterparty(orders);
    }

    /// @notice Reverts with `ParameterOutOfBounds` unless every field of `c` is within its bounds.
    /// @dev Beyond each field's own range, two bounds tie fields together so that no valid configuration
    /// makes a position that meets its initial margin liquidatable, at any notional from `minNotional` up
    /// (n collateral units, initial ratio i, maintenance m, keeper ratio k; each requirement rounds up by
    /// at most one unit):
    /// - `maintenanceMarginRatio` < i − k, and `minNotional` large enough that n·(i − m − k) ≥ 2 units,
    ///   so the proportional keeper fee fits: ⌈n·m⌉ + ⌈n·k⌉ ≤ n·i;
    /// - `minKeeperFee` < n·(i − m) at the minimum notional, so the floor fits: ⌈n·m⌉ + floor ≤ n·i.
    function validate(MarketConfig calldata c, uint256 scale) public pure {
        _ratio(
            "initialMarginRatio",
            c.initialMarginRatio,
            ConstantsLib.MIN_INITIAL_MARGIN_RATIO,
            ConstantsLib.MAX_INITIAL_MARGIN_RATIO
        );
        _ratio("keeperFeeRatio", c.keeperFeeRatio, 0, ConstantsLib.MAX_KEEPER_FEE_RATIO);
        _ratio(
            "maintenanceMarginRatio",
            c.maintenanceMarginRatio,
            ConstantsLib.MIN_MAINTENANCE_MARGIN_RATIO,
            MathLib.pos(
                int256(uint256(c.initialMarginRatio)) - int256(uint256(c.keeperFeeRatio) + ConfigLib.RATIO_UNIT)
            )
        );
        _ratio("tradingFeeRatio", c.tradingFeeRatio, 0, ConstantsLib.MAX_TRADING_FEE_RATIO);
        _ratio("liquidationPenaltyRatio", c.liquidationPenaltyRatio, 0, ConstantsLib.MAX_LIQUIDATION_PENALTY_RATIO);
        _ratio(
            "maxProfitFactor",
            c.maxProfitFactor,
            ConstantsLib.MIN_MAX_PROFIT_FACTOR,
            ConstantsLib.MAX_MAX_PROFIT_FACTOR
        );
        _ratio("maxFundingRatePerDay", c.maxFundingRatePerDay, 0, ConstantsLib.MAX_FUNDING_RATE_PER_DAY);
        _ratio("partialLiquidationBuffer", c.partialLiquidationBuffer, 0, ConstantsLib.MAX_PARTIAL_LIQUIDATION_BUFFER);

        // i − m − k >= 1 after the maintenance bound; the minimum is rounded up (against the admin).
        uint256 spare = uint256(c.initialMarginRatio) - c.maintenanceMarginRatio - c.keeperFeeRatio;
        _bound("minNotional", c.minNotional, (2 * WAD * scale).mulDivUp(1, spare), type(uint128).max);
        // The floor's room at the smallest notional, rounded down, less the one unit of rounding.
        uint256 room = (c.minNotional / scale).mulDivDown(
            uint256(c.initialMarginRatio) - c.maintenanceMarginRatio,
            WAD
        );
        uint256 maxFloor = (ConstantsLib.MAX_KEEPER_FEE_TOKENS * (WAD / scale)).min(MathLib.pos(int256(room) - 1));
        _bound("minKeeperFee", c.minKeeperFee, 1, maxFloor);
        _bound("maxKeeperFee", c.maxKeeperFee, c.minKeeperFee, ConstantsLib.MAX_KEEPER_FEE_TOKENS * (WAD / scale));
        _bound("minMargin", c.minMargin, 1, ConstantsLib.MAX_MIN_MARGIN_TOKENS * (WAD / scale));
        _bound("maxOpenInterest", c.maxOpenInterest, 1, ConstantsLib.MAX_OPEN_INTEREST);
        _bound("skewScale", c.skewScale, 1, ConstantsLib.MAX_OPEN_INTEREST);
        _bound("partialLiquidationThreshold", c.partialLiquidationThreshold, 0, type(uint112).max);
    }

    /// @dev `validate`, and the open-interest cap times the oracle's highest price kept within
    /// `MAX_OPEN_INTEREST_VALUE`: with it, no funding or borrow index and no per-market sum can outgrow its
    /// width in a century of accrual at the steepest rates.
    function _validate(MarketConfig calldata c, uint256 scale, IPriceOracle oracle) private view {
        validate(c, scale);
        uint256 maxOpenInterest = (ConstantsLib.MAX_OPEN_INTEREST_VALUE * WAD) / oracle.maxPrice();
        _bound("maxOpenInterest", c.maxOpenInterest, 1, maxOpenInterest.min(ConstantsLib.MAX_OPEN_INTEREST));
    }

    function _noRise(bytes32 name, uint256 current, uint256 requested) private pure {
        if (requested > current) revert IPerpEngine.KeeperFeeRaised(name, current, requested);
    }

    /// @notice A borrowing rate checked against its bound and step, as the stored number of steps.
    function borrowRateSteps(uint256 ratePerDay) external pure returns (uint24) {
        _ratio("borrowRatePerDay", ratePerDay, 0, ConstantsLib.MAX_BORROW_RATE_PER_DAY);
        return uint24(ratePerDay / ConfigLib.RATIO_UNIT); // at most 1e5 steps
    }

    /// @dev A ratio: within its bounds, and a whole number of the steps it is stored in.
    function _ratio(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        _bound(name, value, min, max);
        if (value % ConfigLib.RATIO_UNIT != 0) revert IPerpEngine.ParameterPrecision(name, value, ConfigLib.RATIO_UNIT);
    }

    function _bound(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert IPerpEngine.ParameterOutOfBounds(name, value, min, max);
    }
}
