// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {IPerpEngine, Market, MarketConfig, Position} from "./interfaces/IPerpEngine.sol";
import {IPerpLens, LiquidationPreview, PositionHealth} from "./interfaces/IPerpLens.sol";
import {MathLib, WAD} from "./libraries/MathLib.sol";
import {PositionMath} from "./libraries/PositionMath.sol";
import {RiskLib} from "./libraries/RiskLib.sol";

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
    function positionHealth(address account, uint256 marketId) external view returns (PositionHealth memory h) {
        Position memory p = engine.getPosition(account, marketId);
        if (p.size == 0) revert IPerpEngine.NoPosition(account, marketId);
        Market memory m = engine.getMarket(marketId);
        MarketConfig memory c = m.config;
        h.price = m.oracle.price();
        h.size = p.size;
        h.entryPrice = p.entryPrice;
        h.margin = p.margin;
        h.funding = PositionMath.funding(p.size, engine.currentFundingIndex(marketId), p.fundingIndex, DEN);
        h.pnl = PositionMath.pnl(p.size, p.entryPrice, h.price, uint256(p.margin).wMulDown(c.maxProfitFactor), DEN);
        h.equity = int256(uint256(p.margin)) + h.pnl - h.funding;
        h.notional = PositionMath.notional(MathLib.abs(p.size), h.price, DEN);
        h.leverage = h.equity > 0 ? h.notional.wDivUp(uint256(h.equity)) : type(uint256).max;
        h.maintenanceMargin = h.notional.wMulUp(c.maintenanceMarginRatio);
        h.keeperFee = RiskLib.keeperFee(c, h.notional);
        h.liquidationMargin = h.maintenanceMargin + h.keeperFee;
        h.liquidatable = h.equity < int256(h.liquidationMargin);
        h.liquidationPrice = _liquidationPrice(p, h.funding, h.keeperFee, c.maintenanceMarginRatio);
    }

    /// @inheritdoc IPerpLens
    function isLiquidatable(address account, uint256 marketId) external view returns (bool) {
        Position memory p = engine.getPosition(account, marketId);
        if (p.size == 0) return false;
        Market memory m = engine.getMarket(marketId);
        uint256 price = m.oracle.price();
        return RiskLib.plan(m.config, p, price, engine.currentFundingIndex(marketId), DEN).liquidatable;
    }

    /// @inheritdoc IPerpLens
    function previewLiquidation(
        address account,
        uint256 marketId
    ) external view returns (LiquidationPreview memory preview) {
        Position memory p = engine.getPosition(account, marketId);
        if (p.size == 0) return preview;
        Market memory m = engine.getMarket(marketId);
        preview.price = m.oracle.price();
        RiskLib.Plan memory plan = RiskLib.plan(m.config, p, preview.price, engine.currentFundingIndex(marketId), DEN);
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

    /// @dev The price at which equity meets the liquidation margin, holding funding and the keeper fee
    /// fixed and ignoring the profit cap. Zero when no price liquidates a long (or every price does a short).
    function _liquidationPrice(
        Position memory p,
        int256 funding,
        uint256 keeperFee,
        uint256 maintenanceRatio
    ) internal view returns (uint256) {
        uint256 absSize = MathLib.abs(p.size);
        int256 entryValue = int256(PositionMath.notionalUsd(absSize, p.entryPrice) / SCALE);
        int256 fixedPart = funding + int256(keeperFee) - int256(uint256(p.margin));
        // long:  M + s(P − E) − F = m·s·P + K  ⇒  P = (s·E + F + K − M) / (s·(1 − m))
        // short: M + s(E − P) − F = m·s·P + K  ⇒  P = (M + s·E − F − K) / (s·(1 + m))
        int256 numerator = p.size > 0 ? entryValue + fixedPart : entryValue - fixedPart;
        if (numerator <= 0) return 0;
        uint256 factor = p.size > 0 ? WAD - maintenanceRatio : WAD + maintenanceRatio;
        return uint256(numerator).mulDivDown(DEN, absSize.wMulDown(factor));
    }
}
