// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IPerpEngine, Market} from "../interfaces/IPerpEngine.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {AccrualLib} from "./AccrualLib.sol";
import {ConfigLib} from "./ConfigLib.sol";
import {ConstantsLib} from "./ConstantsLib.sol";
import {MathLib, WAD} from "./MathLib.sol";
import {PositionMath} from "./PositionMath.sol";

/// @title MarketLib
/// @notice A market read from outside the engine, through `extsload`: its decoding, its price, its funding
/// index, and what its open positions are worth to the LP pool. The lens and the vault read markets with
/// it; the engine, which has the storage, computes the same index and reserves on it directly.
library MarketLib {
    using MathLib for uint256;

    /// @dev Market `marketId` decoded from the engine's storage: `MARKET_WORDS` words at
    /// keccak(id, `MARKETS_SLOT`): the oracle with the borrowing rate and index, the two funding sums, the
    /// two sides, the margins with the funding clock, the config in four (ConfigLib), and the settlement
    /// price. A market that was never added decodes with a zero oracle.
    function load(IPerpEngine engine, uint256 marketId) internal view returns (Market memory m) {
        bytes32 base = keccak256(abi.encode(marketId, ConstantsLib.MARKETS_SLOT));
        bytes32[] memory w = engine.extsload(base, ConstantsLib.MARKET_WORDS);
        m = _decode(w, engine.totalReserved(), engine.lpBalance());
        (m.config.maxOpenInterest, m.config.minMargin) = (_lo(w[8]), uint96(uint256(w[8]) >> 128));
        m.settlementPrice = uint256(w[9]);
    }

    /// @dev As `load`, reading only what a mark needs: nothing more than the two sides' words for a market
    /// without positions (`open` false: it owes and is owed nothing, and its oracle need not answer); else
    /// the first eight words, and the settlement price once settled (its clock reads `type(uint32).max`).
    /// The trade limits are left zero. `reserved` and `balance` are the engine's `totalReserved` and
    /// `lpBalance`, read once by a caller that marks every market.
    function loadForMark(
        IPerpEngine engine,
        uint256 marketId,
        uint256 reserved,
        uint256 balance
    ) internal view returns (bool open, Market memory m) {
        bytes32 base = keccak256(abi.encode(marketId, ConstantsLib.MARKETS_SLOT));
        bytes32[] memory sides = engine.extsload(bytes32(uint256(base) + 2), 2);
        if (_lo(sides[0]) == 0 && _lo(sides[1]) == 0) return (false, m);
        m = _decode(engine.extsload(base, 8), reserved, balance);
        if (m.lastFundingTime == AccrualLib.SETTLED) {
            m.settlementPrice = uint256(engine.extsload(bytes32(uint256(base) + 9), 1)[0]);
        }
        return (true, m);
    }

    function _decode(bytes32[] memory w, uint256 reserved, uint256 balance) private pure returns (Market memory m) {
        m.oracle = IPriceOracle(address(uint160(uint256(w[0]))));
        m.borrowRatePerDay = uint256(uint24(uint256(w[0]) >> 160)) * ConfigLib.RATIO_UNIT;
        m.borrowRateNow = PositionMath.borrowRate(m.borrowRatePerDay, reserved, balance);
        m.borrowIndex = uint256(uint72(uint256(w[0]) >> 184)) * PositionMath.BORROW_UNIT;
        (m.fundingIndex, m.fundingCheckpointSum) = (int128(_lo(w[1])), int128(_hi(w[1])));
        (m.longSize, m.longEntryNotional) = (_lo(w[2]), _hi(w[2]));
        (m.shortSize, m.shortEntryNotional) = (_lo(w[3]), _hi(w[3]));
        m.longMargin = uint104(uint256(w[4]));
        m.shortMargin = uint104(uint256(w[4]) >> 104);
        m.lastFundingTime = uint48(uint256(w[4]) >> 208);
        m.config = ConfigLib.decode(w[5], w[6], w[7]);
    }

    /// @dev The engine's price for the market: its oracle's, or its settlement price once settled.
    function price(Market memory m) internal view returns (uint256) {
        return m.settlementPrice != 0 ? m.settlementPrice : m.oracle.price();
    }

    /// @dev The funding rate now (zero once settled).
    function rate(Market memory m) internal pure returns (int256) {
        if (m.settlementPrice != 0) return 0;
        return PositionMath.fundingRate(m.longSize, m.shortSize, m.config.skewScale, m.config.maxFundingRatePerDay);
    }

    /// @dev The engine's `_accrue`: the funding index and the borrow index (18 decimals) accrued to now at
    /// `p` (frozen once settled).
    function indexes(Market memory m, uint256 p) internal view returns (int256 index, uint256 borrow) {
        (index, borrow) = (m.fundingIndex, m.borrowIndex);
        if (m.settlementPrice != 0 || m.lastFundingTime == block.timestamp) return (index, borrow);
        uint256 elapsed = block.timestamp - m.lastFundingTime;
        index = PositionMath.accrueIndex(index, rate(m), p, elapsed);
        borrow += PositionMath.borrowAccrual(m.borrowRateNow, p, elapsed) * PositionMath.BORROW_UNIT;
    }

    /// @dev The index a position of `size` settles against now at `p` (the engine's `_sideIndex`).
    function positionIndex(Market memory m, uint256 p, int256 size) internal view returns (int256) {
        (int256 index, uint256 borrow) = indexes(m, p);
        return size > 0 ? index + int256(borrow) : index - int256(borrow);
    }

    /// @dev What the market's open positions are worth to the LP pool at `p` (collateral units), rounded
    /// against the pool: pending funding, plus each side's unrealized loss up to its margin, minus each
    /// side's unrealized profit up to its reserve (its positions cannot be paid more), all of it at most the
    /// two sides' margins (the most positions can ever pay the pool). `scale` and `den` as in the engine.
    function mark(Market memory m, uint256 p, uint256 scale, uint256 den) internal view returns (int256 value) {
        // Longs settle against index + borrow and shorts against index - borrow, so what the positions owe
        // the pool is net size x index + gross size x borrow, less their checkpoints.
        (int256 index, uint256 borrow) = indexes(m, p);
        int256 netSize = int256(uint256(m.longSize)) - int256(uint256(m.shortSize));
        int256 grossSize = int256(uint256(m.longSize) + m.shortSize);
        int256 fundingOwed = (netSize * index + grossSize * int256(borrow)) / int256(WAD) - m.fundingCheckpointSum;
        value =
            fundingOwed >= 0 ? int256(uint256(fundingOwed) / scale) : -int256(uint256(-fundingOwed).mulDivUp(1, scale));
        int256 longPnl = int256(uint256(m.longSize).mulDivUp(p, WAD)) - int256(uint256(m.longEntryNotional));
        int256 shortPnl = int256(uint256(m.shortEntryNotional)) - int256(uint256(m.shortSize).mulDivDown(p, WAD));
        (uint256 im, uint256 factor) = (m.config.initialMarginRatio, m.config.maxProfitFactor);
        value += _side(longPnl, m.longMargin, sideReserve(m.longMargin, m.longEntryNotional, im, factor, den), scale);
        value += _side(
            shortPnl,
            m.shortMargin,
            sideReserve(m.shortMargin, m.shortEntryNotional, im, factor, den),
            scale
        );
        // Funding is netted across the sides, so a side already past bankruptcy could count funding it will
        // never pay. What the pool collects from positions is at most their margins: cap it there.
        uint256 margins = uint256(m.longMargin) + m.shortMargin;
        if (value > int256(margins)) value = int256(margins);
    }

    /// @dev A side's reserve, at least the sum of its positions' profit caps (RiskLib.profitCap): the
    /// lesser of its margin and its entry notional's initial margin (rounded up), times the factor
    /// (rounded up).
    function sideReserve(
        uint256 margin,
        uint256 entryNotionalUsd,
        uint256 initialMarginRatio,
        uint256 maxProfitFactor,
        uint256 den
    ) internal pure returns (uint256) {
        return margin.min(entryNotionalUsd.mulDivUp(initialMarginRatio, den)).wMulUp(maxProfitFactor);
    }

    function _side(int256 tradersPnlUsd, uint256 margin, uint256 reserve, uint256 scale) private pure returns (int256) {
        if (tradersPnlUsd > 0) return -int256(uint256(tradersPnlUsd).mulDivUp(1, scale).min(reserve));
        return int256((uint256(-tradersPnlUsd) / scale).min(margin));
    }

    function _lo(bytes32 word) private pure returns (uint128) {
        return uint128(uint256(word));
    }

    function _hi(bytes32 word) private pure returns (uint128) {
        return uint128(uint256(word) >> 128);
    }
}
