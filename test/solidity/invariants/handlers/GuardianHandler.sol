// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IPerpEngine, Market, MarketConfig, Position} from "../../../../contracts/interfaces/IPerpEngine.sol";
import {ConfigLib} from "../../../../contracts/libraries/ConfigLib.sol";
import {ConstantsLib} from "../../../../contracts/libraries/ConstantsLib.sol";
import {PositionMath} from "../../../../contracts/libraries/PositionMath.sol";
import {Model} from "../../utils/Model.sol";
import {HandlerBase, System} from "./HandlerBase.sol";

/// @notice The guardian pauses and unpauses; the market admin changes a market's risk and fee parameters
/// within their ConstantsLib bounds; the admin changes the fee shares. Holds GUARDIAN_ROLE,
/// MARKET_ADMIN_ROLE and DEFAULT_ADMIN_ROLE. Checks that a config change takes effect exactly, with
/// funding accrued at the old rate and the reserve recomputed, and that a change raising the reserve
/// beyond the LP pool reverts with InsufficientLiquidity and changes nothing (INV-ADM).
contract GuardianHandler is HandlerBase {
    constructor(System memory system) HandlerBase(system) {}

    /// @dev Pauses or unpauses (whichever applies); `pause` chooses the target state.
    function setPaused(bool pause) external action {
        if (pause == engine.paused()) return;
        if (pause) engine.pause();
        else engine.unpause();
        ghosts.count(pause ? bytes32("pause") : bytes32("unpause"));
        if (engine.paused() != pause) ghosts.fail("INV-ADM", "pause state did not change");
    }

    /// @dev Changes one market's fee, penalty, keeper fee, funding, buffer, profit factor and initial margin,
    /// each drawn inside its bound (the initial margin above maintenance + keeper fee ratio, as _validate
    /// requires). Predicts the new totalReserved from the positions and whether the pool can carry it.
    /// `extreme` takes the largest initial margin ratio and profit factor, the change most likely to raise
    /// the reserve beyond the pool.
    function setMarketConfig(uint256 marketSeed, uint256 seed, bool extreme) external action {
        uint256 id = marketSeed % 2;
        MarketConfig memory old = _config(id);
        MarketConfig memory c = _draw(_config(id), seed); // a copy: _draw writes into it
        if (extreme) {
            c.initialMarginRatio = uint64(ConstantsLib.MAX_INITIAL_MARGIN_RATIO);
            c.maxProfitFactor = uint64(ConstantsLib.MAX_MAX_PROFIT_FACTOR);
        }
        // Three times in four, keep the terms that may not rise over open positions at most the old ones, so
        // that the other paths (a reserve beyond the pool) stay reachable; the fourth tries a rise.
        // (_draw changes only the keeper-fee ratio and the profit factor of those terms.)
        if (seed % 4 != 0) {
            if (c.keeperFeeRatio > old.keeperFeeRatio) c.keeperFeeRatio = old.keeperFeeRatio;
            if (c.maxProfitFactor > old.maxProfitFactor) c.maxProfitFactor = old.maxProfitFactor;
        }
        (bool ok, ) = _price(id);
        uint256 reservedBefore = engine.totalReserved();
        uint256 lpBalance = engine.lpBalance();
        uint256 reserveBefore = _reserveOf(id, old);
        uint256 reserveAfter = _reserveOf(id, c);
        uint256 reservedAfter = reservedBefore + reserveAfter - reserveBefore;
        bool tooLarge = reserveAfter > reserveBefore && reservedAfter > lpBalance;
        bytes memory raised = _raisedTerm(id, old, c);
        int256 index = ok ? lens.currentFundingIndex(id) : int256(0);

        try engine.setMarketConfig(id, c) {
            ghosts.count("config.set");
            if (!ok) ghosts.fail("INV-ADM", "a config change succeeded without a price");
            if (tooLarge) ghosts.fail("INV-ADM", "a config change raised the reserve beyond the pool");
            if (raised.length != 0) ghosts.fail("INV-ADM", "a term of open positions rose");
            if (keccak256(abi.encode(_config(id))) != keccak256(abi.encode(c))) {
                ghosts.fail("INV-ADM", "the stored config differs from the one set");
            }
            if (engine.totalReserved() != reservedAfter) ghosts.fail("INV-ADM", "totalReserved not recomputed");
            // Funding so far accrued at the old rate, up to now.
            if (lens.getMarket(id).fundingIndex != index) ghosts.fail("INV-ADM", "funding not accrued at the old rate");
            if (engine.lpBalance() != lpBalance) ghosts.fail("INV-ADM", "a config change moved the LP pool");
        } catch (bytes memory reason) {
            if (keccak256(abi.encode(_config(id))) != keccak256(abi.encode(old))) {
                ghosts.fail("INV-ADM", "a refused config change changed the config");
            }
            if (engine.totalReserved() != reservedBefore)
                ghosts.fail("INV-ADM", "a refused config change moved totalReserved");
            if (raised.length != 0) {
                ghosts.count("config.termRaised");
                if (keccak256(reason) != keccak256(raised)) {
                    ghosts.fail("INV-ADM", "a raised term of open positions reverted other than TermRaised");
                }
                return;
            }
            if (!ok) return; // the oracle's own error
            if (!tooLarge) {
                ghosts.fail("INV-ADM", "an in-bounds config change reverted");
                return;
            }
            ghosts.count("config.refused");
            bytes memory expected = abi.encodeWithSelector(
                IPerpEngine.InsufficientLiquidity.selector,
                reservedAfter,
                lpBalance
            );
            if (keccak256(reason) != keccak256(expected)) {
                ghosts.fail("INV-ADM", "a reserve beyond the pool reverted other than InsufficientLiquidity");
            }
        }
    }

    /// @dev A market's borrowing rate, in whole steps up to its bound (zero a quarter of the time): what
    /// accrued so far is booked at the old rate, to now, and nothing else moves (INV-ADM). With a rate set,
    /// every other invariant (conservation to the unit, the aggregates, solvency) runs with borrowing.
    function setBorrowRate(uint256 marketSeed, uint256 rateSeed) external action {
        uint256 id = marketSeed % 2;
        uint256 steps = ConstantsLib.MAX_BORROW_RATE_PER_DAY / ConfigLib.RATIO_UNIT;
        uint256 rate = rateSeed % 4 == 0 ? 0 : _bound(rateSeed, 1, steps) * ConfigLib.RATIO_UNIT;
        (bool ok, uint256 price) = _price(id);
        Market memory before = lens.getMarket(id);
        uint256 lpBalance = engine.lpBalance();
        try engine.setBorrowRate(id, rate) {
            ghosts.count("borrowRate.set");
            if (!ok) ghosts.fail("INV-ADM", "a borrowing rate was set without a price");
            Market memory m = lens.getMarket(id);
            uint256 accrued =
                block.timestamp == before.lastFundingTime
                    ? 0
                    : PositionMath.borrowAccrual(before.borrowRateNow, price, block.timestamp - before.lastFundingTime);
            if (m.borrowRatePerDay != rate) ghosts.fail("INV-ADM", "the stored borrowing rate differs");
            if (m.borrowIndex != before.borrowIndex + accrued * PositionMath.BORROW_UNIT) {
                ghosts.fail("INV-ADM", "borrowing not accrued at the old rate");
            }
            if (engine.lpBalance() != lpBalance) ghosts.fail("INV-ADM", "a borrowing rate moved the LP pool");
        } catch {
            if (ok) ghosts.fail("INV-ADM", "an in-bounds borrowing rate reverted");
            if (lens.getMarket(id).borrowRatePerDay != before.borrowRatePerDay) {
                ghosts.fail("INV-ADM", "a refused borrowing rate changed the rate");
            }
        }
    }

    /// @dev The `TermRaised` error ConfigLogic must give when market `id` has positions and `c` raises a keeper-fee
    /// term or the profit factor over `old` (the first such field, in ConfigLogic's order), else empty.
    function _raisedTerm(
        uint256 id,
        MarketConfig memory old,
        MarketConfig memory c
    ) private view returns (bytes memory) {
        Market memory m = lens.getMarket(id);
        if (m.longSize == 0 && m.shortSize == 0) return "";
        bytes32[4] memory names = [bytes32("keeperFeeRatio"), "minKeeperFee", "maxKeeperFee", "maxProfitFactor"];
        uint256[4] memory before = [
            uint256(old.keeperFeeRatio),
            old.minKeeperFee,
            old.maxKeeperFee,
            old.maxProfitFactor
        ];
        uint256[4] memory next = [uint256(c.keeperFeeRatio), c.minKeeperFee, c.maxKeeperFee, c.maxProfitFactor];
        for (uint256 i; i < 4; ++i) {
            if (next[i] > before[i]) {
                return abi.encodeWithSelector(IPerpEngine.TermRaised.selector, names[i], before[i], next[i]);
            }
        }
        return "";
    }

    /// @dev New backstop and treasury shares with a sum up to the 50 % bound.
    function setFeeShares(uint256 backstopSeed, uint256 treasurySeed) external action {
        uint256 max = ConstantsLib.MAX_PROTOCOL_FEE_SHARE;
        uint256 backstopShare = _bound(backstopSeed, 0, max);
        uint256 treasuryShare = _bound(treasurySeed, 0, max - backstopShare);
        try engine.setFeeShares(backstopShare, treasuryShare) {
            ghosts.count("feeShares.set");
            if (engine.backstopFeeShare() != backstopShare || engine.treasuryFeeShare() != treasuryShare) {
                ghosts.fail("INV-ADM", "fee shares differ from the ones set");
            }
        } catch {
            ghosts.fail("INV-ADM", "in-bounds fee shares reverted");
        }
    }

    /// @dev Overwrites the drawn fields of `c` (a fresh copy of the current config) and returns it. Ratios
    /// are drawn in whole steps of ConfigLib.RATIO_UNIT, the unit ConfigLogic stores them in.
    function _draw(MarketConfig memory c, uint256 seed) private pure returns (MarketConfig memory) {
        c.tradingFeeRatio = _ratio(seed, 0, 0, ConstantsLib.MAX_TRADING_FEE_RATIO);
        c.liquidationPenaltyRatio = _ratio(seed, 1, 0, ConstantsLib.MAX_LIQUIDATION_PENALTY_RATIO);
        c.keeperFeeRatio = _ratio(seed, 2, 0, ConstantsLib.MAX_KEEPER_FEE_RATIO);
        c.maxFundingRatePerDay = _ratio(seed, 3, 0, ConstantsLib.MAX_FUNDING_RATE_PER_DAY);
        c.partialLiquidationBuffer = _ratio(seed, 4, 0, ConstantsLib.MAX_PARTIAL_LIQUIDATION_BUFFER);
        c.maxProfitFactor = _ratio(seed, 5, ConstantsLib.MIN_MAX_PROFIT_FACTOR, ConstantsLib.MAX_MAX_PROFIT_FACTOR);
        // ConfigLogic.validate: initial - maintenance - keeper ratio leaves two units of rounding at the
        // minimum notional, and initial - maintenance leaves room for the keeper-fee floor there.
        uint256 minNotionalUnits = c.minNotional / (DEN / 1e18);
        uint256 minInitial =
            uint256(c.maintenanceMarginRatio) + c.keeperFeeRatio + Model.ceilDivU(2 * DEN, c.minNotional);
        uint256 floorRoom =
            uint256(c.maintenanceMarginRatio) + Model.ceilDivU((uint256(c.minKeeperFee) + 1) * 1e18, minNotionalUnits);
        if (minInitial < floorRoom) minInitial = floorRoom;
        if (minInitial < ConstantsLib.MIN_INITIAL_MARGIN_RATIO) minInitial = ConstantsLib.MIN_INITIAL_MARGIN_RATIO;
        c.initialMarginRatio = _ratio(seed, 6, minInitial, ConstantsLib.MAX_INITIAL_MARGIN_RATIO);
        return c;
    }

    /// @dev A ratio in [lo, hi] (hi a whole step), in whole steps of ConfigLib.RATIO_UNIT.
    function _ratio(uint256 seed, uint256 i, uint256 lo, uint256 hi) private pure returns (uint64) {
        uint256 step = ConfigLib.RATIO_UNIT;
        return uint64(_bound(_part(seed, i), Model.ceilDivU(lo, step), hi / step) * step);
    }

    function _part(uint256 seed, uint256 i) private pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, i)));
    }

    /// @dev A market's reserve under config `c`, from the traders' positions: per side,
    /// ceil(min(margin, ceil(entry notional x initialMarginRatio / DEN)) x maxProfitFactor / 1e18).
    function _reserveOf(uint256 id, MarketConfig memory c) private view returns (uint256 reserve) {
        uint256[2] memory margins;
        uint256[2] memory entryNotionals;
        for (uint256 i; i < TRADERS; ++i) {
            Position memory p = engine.getPosition(trader(i), id);
            if (p.size == 0) continue;
            uint256 side = p.size > 0 ? 0 : 1;
            margins[side] += p.margin;
            entryNotionals[side] += (Model.abs(p.size) * p.entryPrice) / 1e18;
        }
        for (uint256 side; side < 2; ++side) {
            uint256 initialMargin = Model.ceilDivU(entryNotionals[side] * c.initialMarginRatio, DEN);
            uint256 base = margins[side] < initialMargin ? margins[side] : initialMargin;
            reserve += Model.ceilDivU(base * c.maxProfitFactor, 1e18);
        }
    }
}
