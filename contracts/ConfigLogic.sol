// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IBackstopModule} from "./interfaces/IBackstopModule.sol";
import {ILiquidityVault} from "./interfaces/ILiquidityVault.sol";
import {IOrderBook} from "./interfaces/IOrderBook.sol";
import {IPerpEngine, Market, MarketConfig, MarketState, Pool} from "./interfaces/IPerpEngine.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {AccrualLib} from "./libraries/AccrualLib.sol";
import {ConfigLib} from "./libraries/ConfigLib.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {EngineStorage} from "./libraries/EngineStorage.sol";
import {MarketLib} from "./libraries/MarketLib.sol";
import {MathLib, WAD} from "./libraries/MathLib.sol";
import {PositionMath} from "./libraries/PositionMath.sol";
import {VestingLib} from "./libraries/VestingLib.sol";

/// @title ConfigLogic
/// @notice The engine's rare paths: the hard bounds of every parameter, a market's config, borrowing rate and
/// settlement, and the distribution of fees. Deployed once and linked into PerpEngine, which reaches it by
/// DELEGATECALL (as Aave v3's Pool reaches its logic libraries), so the rare paths cost the engine no bytecode.
/// @dev Runs in the engine's storage (`m` is a market of the engine; the LP pool is reached through
/// `EngineStorage.load()`, as the engine reaches it) and as the engine
/// (its tokens, its events: every event and error here is the engine's). The engine checks roles and that
/// the market exists and is not settled.
library ConfigLogic {
    using MathLib for uint256;
    using SafeCast for uint256;
    using SafeERC20 for IERC20;

    /// @notice Validates `c` and starts market `m` on `oracle`, which must answer now.
    /// @param scale 10^(18 - collateral decimals).
    function initMarket(uint256 marketId, IPriceOracle oracle, MarketConfig calldata c, uint256 scale) external {
        if (address(oracle) == address(0)) revert IPerpEngine.ZeroAddress();
        MarketState storage m = EngineStorage.load().markets[marketId];
        validate(c, scale, oracle.maxPrice());
        oracle.price(); // a market starts only with an oracle that answers
        m.oracle = oracle;
        m.lastFundingTime = uint48(block.timestamp); // fits for millions of years
        m.config = ConfigLib.pack(c);
    }

    /// @notice Validates `c` against its bounds and the book as it is, and makes it market `m`'s config, after
    /// accruing funding and borrowing at the old one. Open positions' profit caps follow the new factor; a
    /// higher reserve must be payable from the pool, as at open.
    /// @dev While the market has positions, no keeper-fee term and not the profit factor may rise: a position
    /// owes a keeper at most what its terms at open allowed, whatever else changes with it (a higher
    /// `minNotional` would otherwise let `minKeeperFee` rise past what small positions can pay), and LPs who
    /// cannot leave never owe a position more than its cap at open. Only a maintenance-margin change, which
    /// the timelock announces, can make a position that met its initial margin liquidatable.
    function setConfig(uint256 marketId, MarketConfig calldata c, uint256 scale) external {
        MarketState storage m = EngineStorage.openMarket(marketId);
        Pool storage pool = EngineStorage.load().pool;
        validate(c, scale, m.oracle.maxPrice());
        if (m.longSize != 0 || m.shortSize != 0) {
            MarketConfig memory current = ConfigLib.risk(m.config);
            _noRise("keeperFeeRatio", current.keeperFeeRatio, c.keeperFeeRatio);
            _noRise("minKeeperFee", current.minKeeperFee, c.minKeeperFee);
            _noRise("maxKeeperFee", current.maxKeeperFee, c.maxKeeperFee);
            _noRise("maxProfitFactor", current.maxProfitFactor, c.maxProfitFactor);
        }
        AccrualLib.accrue(m, pool, m.oracle.price());
        uint256 reserveBefore = _reserve(m, scale);
        m.config = ConfigLib.pack(c);
        uint256 reserveAfter = _reserve(m, scale);
        uint256 reserved = pool.totalReserved + reserveAfter - reserveBefore;
        pool.totalReserved = reserved.toUint128();
        if (reserveAfter > reserveBefore && reserved > pool.lpBalance) {
            revert IPerpEngine.InsufficientLiquidity(reserved, pool.lpBalance);
        }
        emit IPerpEngine.MarketConfigUpdated(marketId, c);
    }

    /// @notice Sets market `m`'s base borrowing rate after accruing at the old one.
    function setBorrowRate(uint256 marketId, uint256 ratePerDay) external {
        MarketState storage m = EngineStorage.openMarket(marketId);
        _ratio("borrowRatePerDay", ratePerDay, 0, ConstantsLib.MAX_BORROW_RATE_PER_DAY);
        AccrualLib.accrue(m, EngineStorage.load().pool, m.oracle.price());
        m.borrowRatePerDay = uint24(ratePerDay / ConfigLib.RATIO_UNIT); // at most 1e5 steps
        emit IPerpEngine.BorrowRateUpdated(marketId, ratePerDay);
    }

    /// @notice Settles market `m` at a price its oracle gave: the current one for `roundId` zero (the engine has
    /// checked the market admin's role), else the answer of `roundId`, proved by the oracle to be the feed's
    /// last good round, once the feed has been broken for `WIND_DOWN_DELAY`. Funding and borrowing accrue up
    /// to now at that price, then stop.
    function settle(uint256 marketId, uint80 roundId) external {
        MarketState storage m = EngineStorage.openMarket(marketId);
        uint256 price;
        if (roundId == 0) {
            price = m.oracle.price();
        } else {
            uint256 brokenSince;
            (price, brokenSince) = m.oracle.lastGoodPrice(roundId);
            uint256 windDownAt = brokenSince + ConstantsLib.WIND_DOWN_DELAY;
            if (block.timestamp < windDownAt) revert IPerpEngine.FeedNotBroken(brokenSince, windDownAt);
            emit IPerpEngine.MarketWoundDown(marketId, roundId, brokenSince, msg.sender);
        }
        AccrualLib.accrue(m, EngineStorage.load().pool, price);
        m.settlementPrice = price;
        m.lastFundingTime = AccrualLib.SETTLED;
        emit IPerpEngine.MarketSettled(marketId, price);
    }

    /// @notice Pays out the protocol's fees: the treasury's share of trading fees to the treasury (or, if the
    /// token refuses it, to its `claimable`), the rest and the penalties to the backstop, which first repays
    /// losses socialized to the LPs from it (that part stays in the pool).
    /// @dev One unit of fees stays behind so that the slot never returns to zero: the next trade's fee then
    /// costs a 2,900-gas write instead of a 20,000-gas one.
    function distributeFees(
        mapping(address => uint256) storage claimable,
        IBackstopModule backstop,
        address treasury,
        address collateral,
        uint256 backstopShare,
        uint256 treasuryShare
    ) external {
        Pool storage pool = EngineStorage.load().pool;
        uint256 fees = MathLib.pos(int256(uint256(pool.pendingProtocolFees)) - 1);
        uint256 shares = backstopShare + treasuryShare;
        uint256 toTreasury = shares == 0 ? 0 : fees.mulDivDown(treasuryShare, shares);
        uint256 toBackstop = fees - toTreasury + pool.pendingPenalties;
        pool.pendingProtocolFees -= uint128(fees); // fees <= pendingProtocolFees
        pool.pendingPenalties = 0;

        if (toBackstop > 0) {
            uint256 toLps = backstop.notifyIncome(toBackstop);
            pool.lpBalance += toLps.toUint128();
            // A repayment is not an oracle round: it vests, so no LP request around it takes or misses it.
            if (toLps > 0) VestingLib.add(pool, toLps);
            toBackstop -= toLps;
            IERC20(collateral).safeTransfer(address(backstop), toBackstop);
        }
        // A treasury the token refuses (a blocklist) never blocks the distribution: its share waits.
        if (toTreasury > 0 && !IERC20(collateral).trySafeTransfer(treasury, toTreasury)) {
            claimable[treasury] += toTreasury;
            emit IPerpEngine.RefundDeferred(treasury, toTreasury);
        }
        emit IPerpEngine.FeesDistributed(toBackstop, toTreasury);
    }

    /// @notice What market `m`'s open positions are worth to the LP pool at `price` (`MarketLib.mark`, the
    /// vault's formula), read from the engine's storage at the indexes it holds. The engine compares it before
    /// and after a liquidation with bad debt: what the pool receives beyond what the mark lost is a step that
    /// vests (`VestingLib`).
    /// @param scale 10^(18 - collateral decimals); `den` 1e18 times it.
    function mark(MarketState storage m, uint256 price, uint256 scale, uint256 den) public view returns (int256) {
        Market memory k;
        (k.settlementPrice, k.lastFundingTime) = (m.settlementPrice, m.lastFundingTime);
        (k.fundingIndex, k.fundingCheckpointSum) = (m.fundingIndex, m.fundingCheckpointSum);
        k.borrowIndex = uint256(m.borrowIndex) * PositionMath.BORROW_UNIT;
        (k.longSize, k.longEntryNotional, k.longMargin) = (m.longSize, m.longEntryNotional, m.longMargin);
        (k.shortSize, k.shortEntryNotional, k.shortMargin) = (m.shortSize, m.shortEntryNotional, m.shortMargin);
        k.config = ConfigLib.risk(m.config);
        return MarketLib.mark(k, price, scale, den);
    }

    /// @notice After a liquidation with bad debt in market `m`, vests whatever the pool received beyond what the
    /// market's mark lost: a step (a cover that the capped mark did not count) that no LP request may take.
    /// @param expected What the pool received, less the market's mark before the liquidation.
    function vestStep(MarketState storage m, uint256 price, uint256 scale, uint256 den, int256 expected) external {
        int256 step = expected + mark(m, price, scale, den);
        if (step > 0) VestingLib.add(EngineStorage.load().pool, uint256(step));
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

    /// @notice Reverts with `ParameterOutOfBounds` unless every field of `c` is within its bounds, for a market
    /// whose oracle accepts prices up to `maxPrice`.
    /// @dev Beyond each field's own range, two bounds tie fields together so that no valid configuration
    /// makes a position that meets its initial margin liquidatable, at any notional from `minNotional` up
    /// (n collateral units, initial ratio i, maintenance m, keeper ratio k; each requirement rounds up by
    /// at most one unit):
    /// - `maintenanceMarginRatio` < i − k, and `minNotional` large enough that n·(i − m − k) ≥ 2 units,
    ///   so the proportional keeper fee fits: ⌈n·m⌉ + ⌈n·k⌉ ≤ n·i;
    /// - `minKeeperFee` < n·(i − m) at the minimum notional, so the floor fits: ⌈n·m⌉ + floor ≤ n·i.
    function validate(MarketConfig calldata c, uint256 scale, uint256 maxPrice) public pure {
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
        // The cap times the oracle's highest price stays within `MAX_OPEN_INTEREST_VALUE`: then no funding or
        // borrow index and no per-market sum can outgrow its width in a century at the steepest rates.
        uint256 maxOpenInterest = ((ConstantsLib.MAX_OPEN_INTEREST_VALUE * WAD) / maxPrice).min(
            ConstantsLib.MAX_OPEN_INTEREST
        );
        _bound("maxOpenInterest", c.maxOpenInterest, 1, maxOpenInterest);
        _bound("skewScale", c.skewScale, 1, ConstantsLib.MAX_OPEN_INTEREST);
        _bound("partialLiquidationThreshold", c.partialLiquidationThreshold, 0, type(uint112).max);
    }

    /// @dev A market's reserve: the sum of its two sides' reserves (the engine's `_reserveOf`, per side).
    function _reserve(MarketState storage m, uint256 scale) private view returns (uint256) {
        uint256 im = m.config.initialMarginRatio * ConfigLib.RATIO_UNIT;
        uint256 factor = m.config.maxProfitFactor * ConfigLib.RATIO_UNIT;
        uint256 den = WAD * scale;
        return
            MarketLib.sideReserve(m.longMargin, m.longEntryNotional, im, factor, den) +
            MarketLib.sideReserve(m.shortMargin, m.shortEntryNotional, im, factor, den);
    }

    function _noRise(bytes32 name, uint256 current, uint256 requested) private pure {
        if (requested > current) revert IPerpEngine.TermRaised(name, current, requested);
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
