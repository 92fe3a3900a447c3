// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {IPerpEngine, Market, MarketConfig, Pool, Position} from "./interfaces/IPerpEngine.sol";
import {GapShortfall, IPerpLens, LiquidationPreview, PositionHealth} from "./interfaces/IPerpLens.sol";
import {EngineStorage} from "./libraries/EngineStorage.sol";
import {MarketLib} from "./libraries/MarketLib.sol";
import {MathLib, WAD} from "./libraries/MathLib.sol";
import {PositionMath} from "./libraries/PositionMath.sol";
import {RiskLib} from "./libraries/RiskLib.sol";
import {VestingLib} from "./libraries/VestingLib.sol";

/// @title PerpLens
/// @notice Position views for front ends; see IPerpLens.
contract PerpLens is IPerpLens {
    using MathLib for uint256;

    /// @inheritdoc IPerpLens
    IPerpEngine public immutable engine;
    uint256 private immutable SCALE;
    uint256 private immutable DEN;

    constructor(IPerpEngine engine_) {
        engine = engine_;
        SCALE = 10 ** (18 - IERC20Metadata(engine_.collateral()).decimals());
        DEN = WAD * SCALE;
    }

    /// @inheritdoc IPerpLens
    function getMarket(uint256 marketId) public view returns (Market memory) {
        if (marketId >= engine.marketCount()) revert IPerpEngine.UnknownMarket(marketId);
        return EngineStorage.market(engine, marketId);
    }

    /// @inheritdoc IPerpLens
    function fundingRate(uint256 marketId) external view returns (int256) {
        return MarketLib.rate(getMarket(marketId));
    }

    /// @inheritdoc IPerpLens
    function currentFundingIndex(uint256 marketId) public view returns (int256 index) {
        Market memory m = getMarket(marketId);
        (index, ) = MarketLib.indexes(m, MarketLib.price(m));
    }

    /// @inheritdoc IPerpLens
    function positionIndex(uint256 marketId, int256 size) external view returns (int256) {
        Market memory m = getMarket(marketId);
        return MarketLib.positionIndex(m, MarketLib.price(m), size);
    }

    /// @inheritdoc IPerpLens
    function positionHealth(address account, uint256 marketId) external view returns (PositionHealth memory h) {
        Position memory p = engine.getPosition(account, marketId);
        if (p.size == 0) revert IPerpEngine.NoPosition(account, marketId);
        Market memory m = getMarket(marketId);
        MarketConfig memory c = m.config;
        h.price = MarketLib.price(m);
        h.size = p.size;
        h.entryPrice = p.entryPrice;
        h.margin = p.margin;
        h.funding = PositionMath.funding(p.size, MarketLib.positionIndex(m, h.price, p.size), p.fundingIndex, DEN);
        uint256 cap = RiskLib.profitCap(c, p.margin, MathLib.abs(p.size), p.entryPrice, DEN);
        h.pnl = PositionMath.pnl(p.size, p.entryPrice, h.price, cap, DEN);
        h.equity = int256(uint256(p.margin)) + h.pnl - h.funding;
        h.notional = PositionMath.notional(MathLib.abs(p.size), h.price, DEN);
        h.leverage = h.equity > 0 ? h.notional.wDivUp(uint256(h.equity)) : type(uint256).max;
        h.maintenanceMargin = h.notional.wMulUp(c.maintenanceMarginRatio);
        h.keeperFee = RiskLib.keeperFee(c, h.notional);
        h.liquidationMargin = h.maintenanceMargin + h.keeperFee;
        h.liquidatable = h.equity < int256(h.liquidationMargin);
        h.liquidationPrice = _liquidationPrice(p, h.funding, c);
    }

    /// @inheritdoc IPerpLens
    function isLiquidatable(address account, uint256 marketId) external view returns (bool) {
        Position memory p = engine.getPosition(account, marketId);
        if (p.size == 0) return false;
        Market memory m = getMarket(marketId);
        uint256 price = MarketLib.price(m);
        return RiskLib.plan(m.config, p, price, MarketLib.positionIndex(m, price, p.size), DEN).liquidatable;
    }

    /// @inheritdoc IPerpLens
    function previewLiquidation(
        address account,
        uint256 marketId
    ) external view returns (LiquidationPreview memory preview) {
        Position memory p = engine.getPosition(account, marketId);
        if (p.size == 0) return preview;
        Market memory m = getMarket(marketId);
        preview.price = MarketLib.price(m);
        RiskLib.Plan memory plan = RiskLib.plan(
            m.config,
            p,
            preview.price,
            MarketLib.positionIndex(m, preview.price, p.size),
            DEN
        );
        preview.liquidatable = plan.liquidatable;
        preview.equity = plan.equity;
        preview.liquidationMargin = plan.liquidationMargin;
        if (!plan.liquidatable) return preview;
        preview.full = plan.full;
        preview.sizeClosed = plan.sizeClosed;
        preview.keeperFee = plan.keeperFee;
        preview.penalty = plan.penalty;
        preview.traderLoss = plan.funding - plan.pnlClosed;
        preview.traderRefund = plan.refund;
        preview.badDebt = plan.badDebt;
        preview.coveredByBackstop = plan.badDebt.min(engine.backstop().maxCover());
        preview.socialized = plan.badDebt - preview.coveredByBackstop;
    }

    /// @inheritdoc IPerpLens
    function gapShortfall(
        uint256 marketId,
        int256 move,
        address[] calldata accounts
    ) external view returns (GapShortfall memory g) {
        if (move <= -int256(WAD)) revert InvalidGap(move);
        Market memory m = getMarket(marketId);
        uint256 price = MarketLib.price(m);
        g.price = uint256(int256(price) + (int256(price) * move) / int256(WAD));
        g.coverCapacity = engine.backstop().maxCover();
        for (uint256 i; i < accounts.length; ++i) {
            Position memory p = engine.getPosition(accounts[i], marketId);
            if (p.size == 0) continue;
            ++g.positions;
            g.openInterest += PositionMath.notional(MathLib.abs(p.size), price, DEN);
            RiskLib.Plan memory plan = RiskLib.plan(
                m.config,
                p,
                g.price,
                MarketLib.positionIndex(m, g.price, p.size),
                DEN
            );
            if (!plan.liquidatable) continue;
            ++g.liquidatable;
            g.badDebt += plan.badDebt;
        }
    }

    /// @inheritdoc IPerpLens
    function openInterestNotional() public view returns (uint256 total) {
        uint256 count = engine.marketCount();
        for (uint256 id; id < count; ++id) {
            Market memory m = getMarket(id);
            uint256 size = uint256(m.longSize) + m.shortSize;
            if (size != 0) total += PositionMath.notional(size, MarketLib.price(m), DEN);
        }
    }

    /// @inheritdoc IPerpLens
    function unvestedGains() external view returns (uint256) {
        Pool memory pool = EngineStorage.pool(engine);
        return VestingLib.unvested(pool.vesting, pool.vestingFrom, pool.vestingEnd);
    }

    /// @inheritdoc IPerpLens
    function pendingProtocolFees() external view returns (uint128) {
        return EngineStorage.pool(engine).pendingProtocolFees;
    }

    /// @inheritdoc IPerpLens
    function pendingPenalties() external view returns (uint128) {
        return EngineStorage.pool(engine).pendingPenalties;
    }

    /// @inheritdoc IPerpLens
    function coverageRatio() external view returns (uint256) {
        uint256 openInterest = openInterestNotional();
        if (openInterest == 0) return type(uint256).max;
        return engine.backstop().totalAssets().wDivDown(openInterest);
    }

    /// @dev The price at which equity meets the liquidation margin, holding funding fixed and ignoring
    /// the profit cap and unit rounding. The keeper fee is proportional to notional between its floor and
    /// cap, so the price is solved with the proportional fee first, then with the floor or the cap if the
    /// fee at that price falls outside them. Zero when no price liquidates a long (or every price does a short).
    function _liquidationPrice(
        Position memory p,
        int256 funding,
        MarketConfig memory c
    ) internal view returns (uint256 price) {
        uint256 absSize = MathLib.abs(p.size);
        price = _solve(p, funding, c.maintenanceMarginRatio + c.keeperFeeRatio, 0);
        uint256 fee = PositionMath.notional(absSize, price, DEN).wMulUp(c.keeperFeeRatio);
        if (fee < c.minKeeperFee) price = _solve(p, funding, c.maintenanceMarginRatio, c.minKeeperFee);
        else if (fee > c.maxKeeperFee) price = _solve(p, funding, c.maintenanceMarginRatio, c.maxKeeperFee);
    }

    /// @dev Solves M + s·(P − E) − F = r·s·P + K for a long, and M + s·(E − P) − F = r·s·P + K for a short:
    /// long P = (s·E + F + K − M) / (s·(1 − r)), short P = (M + s·E − F − K) / (s·(1 + r)).
    function _solve(
        Position memory p,
        int256 funding,
        uint256 ratio,
        uint256 fixedFee
    ) internal view returns (uint256) {
        uint256 absSize = MathLib.abs(p.size);
        int256 entryValue = int256(PositionMath.notionalUsd(absSize, p.entryPrice) / SCALE);
        int256 fixedPart = funding + int256(fixedFee) - int256(uint256(p.margin));
        int256 numerator = p.size > 0 ? entryValue + fixedPart : entryValue - fixedPart;
        if (numerator <= 0 || (p.size > 0 && ratio >= WAD)) return 0;
        uint256 factor = p.size > 0 ? WAD - ratio : WAD + ratio;
        return uint256(numerator).mulDivDown(DEN, absSize.wMulDown(factor));
    }
}
