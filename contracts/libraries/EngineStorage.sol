// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IPerpEngine, Market, MarketConfig, MarketState, Pool, Position} from "../interfaces/IPerpEngine.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {AccrualLib} from "./AccrualLib.sol";
import {ConfigLib} from "./ConfigLib.sol";
import {PositionMath} from "./PositionMath.sol";

/// @title EngineStorage
/// @notice The one owner of PerpEngine's storage layout: the markets, the positions and the LP pool live in one
/// struct at an ERC-7201 namespaced root. The engine reaches them with `load()`; contracts that read the engine
/// from outside (the lens, the vault, the order book) compute slots and decode words with the functions below,
/// over `IPerpEngine.extsload`. Nothing else knows a slot: `test/solidity/EngineStorage.t.sol` writes through the
/// engine and checks every field read at these slots against what the engine holds, so that a layout the
/// compiler lays out differently fails a test instead of misreading a market.
/// @dev The engine's other state (roles, pause flag, fee shares, counterparties, `claimable`) stays in ordinary
/// state variables, each with a getter: nobody reads it raw.
library EngineStorage {
    /// @custom:storage-location erc7201:bulwark.storage.PerpEngine
    struct Layout {
        mapping(uint256 marketId => MarketState) markets;
        mapping(address account => mapping(uint256 marketId => Position)) positions;
        Pool pool;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("bulwark.storage.PerpEngine")) - 1)) & ~bytes32(uint256(0xff)),
    /// as OpenZeppelin 5 roots its upgradeable contracts' storage (the test recomputes it).
    bytes32 internal constant ROOT = 0xb5a3cd02fee2a7ce5252d5ccc0fa0ca3a0ef0ce509720c12c72794a77ac1ca00;

    /// @dev The slots of `Layout`'s members, from the root: the two mappings, then the pool's `POOL_WORDS` words
    /// (LP balance and total reserved; the vesting gain with its start and end; pending fees and penalties).
    uint256 internal constant MARKETS = 0;
    uint256 internal constant POSITIONS = 1;
    uint256 internal constant POOL = 2;
    uint256 internal constant POOL_WORDS = 3;

    /// @dev A market's words from its slot (`MarketState` in declaration order, packed from the low end): the
    /// oracle (160 bits) with the base borrowing rate (24) and the borrow index (72); the funding index and the
    /// checkpoint sum (128 each); each side's size and entry notional (128 each); the margins (104 each) with the
    /// funding clock (48); the config in four words (`StoredConfig`); the settlement price.
    uint256 internal constant ORACLE_WORD = 0;
    uint256 internal constant FUNDING_WORD = 1;
    uint256 internal constant LONG_WORD = 2;
    uint256 internal constant SHORT_WORD = 3;
    uint256 internal constant MARGINS_WORD = 4;
    uint256 internal constant CONFIG_WORD = 5; // ratios; then keeper fees and threshold; then notional and skew
    uint256 internal constant LIMITS_WORD = 8;
    uint256 internal constant SETTLEMENT_WORD = 9;
    uint256 internal constant MARKET_WORDS = 10;
    /// @dev A position's words: size and entry price; margin and funding checkpoint.
    uint256 internal constant POSITION_WORDS = 2;

    // ---------------------------------------------------------------- the engine

    /// @dev The engine's storage.
    function load() internal pure returns (Layout storage $) {
        // The root is a constant: the struct lives where ERC-7201 puts it, not at slot zero.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            $.slot := ROOT
        }
    }

    /// @dev Market `marketId` in the engine's storage, which must exist: a market exists once it has a config
    /// (ConfigLogic's bounds keep `initialMarginRatio` at 1 % or more), so the check reads the ratios' word, which
    /// every action reads anyway, instead of the market count. Reverts with `UnknownMarket`.
    function existingMarket(uint256 marketId) internal view returns (MarketState storage m) {
        m = load().markets[marketId];
        if (m.config.initialMarginRatio == 0) revert IPerpEngine.UnknownMarket(marketId);
    }

    /// @dev As `existingMarket`, for a market that is not settled (trades through the order book and config
    /// changes need one). Reverts with `MarketIsSettled`.
    function openMarket(uint256 marketId) internal view returns (MarketState storage m) {
        m = existingMarket(marketId);
        if (m.lastFundingTime == AccrualLib.SETTLED) revert IPerpEngine.MarketIsSettled(marketId);
    }

    // ---------------------------------------------------------------- slots

    /// @dev The first word of market `marketId` (its oracle word); the others follow it.
    function marketSlot(uint256 marketId) internal pure returns (bytes32) {
        return keccak256(abi.encode(marketId, uint256(ROOT) + MARKETS));
    }

    /// @dev The first word of `account`'s position in `marketId`.
    function positionSlot(address account, uint256 marketId) internal pure returns (bytes32) {
        bytes32 inner = keccak256(abi.encode(account, uint256(ROOT) + POSITIONS));
        return keccak256(abi.encode(marketId, inner));
    }

    /// @dev The pool's first word (LP balance and total reserved).
    function poolSlot() internal pure returns (bytes32) {
        return bytes32(uint256(ROOT) + POOL);
    }

    // ---------------------------------------------------------------- reads through extsload

    /// @dev Market `marketId`'s oracle (zero for a market that was never added): one word.
    function oracle(IPerpEngine engine, uint256 marketId) internal view returns (IPriceOracle) {
        return IPriceOracle(address(uint160(uint256(engine.extsload(marketSlot(marketId), 1)[0]))));
    }

    /// @dev Market `marketId`, every word of it, with its borrowing rate at the pool's utilization now. A market
    /// that was never added decodes with a zero oracle.
    function market(IPerpEngine engine, uint256 marketId) internal view returns (Market memory m) {
        bytes32[] memory w = engine.extsload(marketSlot(marketId), MARKET_WORDS);
        uint256 balances = uint256(engine.extsload(poolSlot(), 1)[0]);
        m = decodeMarket(w, uint128(balances >> 128), uint128(balances));
        (m.config.maxOpenInterest, m.config.minMargin) = decodeLimits(w[LIMITS_WORD]);
        m.settlementPrice = uint256(w[SETTLEMENT_WORD]);
    }

    /// @dev As `market`, reading only what a mark needs: nothing more than the two sides' words for a market
    /// without positions (`open` false: it owes and is owed nothing, and its oracle need not answer); else the
    /// words up to the config, and the settlement price once settled. The trade limits are left zero.
    /// `reserved` and `balance` are the engine's `totalReserved` and `lpBalance`, read once by a caller that
    /// marks every market.
    function marketForMark(
        IPerpEngine engine,
        uint256 marketId,
        uint256 reserved,
        uint256 balance
    ) internal view returns (bool open, Market memory m) {
        uint256 base = uint256(marketSlot(marketId));
        bytes32[] memory sides = engine.extsload(bytes32(base + LONG_WORD), 2);
        if (uint128(uint256(sides[0])) == 0 && uint128(uint256(sides[1])) == 0) return (false, m);
        m = decodeMarket(engine.extsload(bytes32(base), LIMITS_WORD), reserved, balance);
        if (m.lastFundingTime == AccrualLib.SETTLED) {
            m.settlementPrice = uint256(engine.extsload(bytes32(base + SETTLEMENT_WORD), 1)[0]);
        }
        return (true, m);
    }

    /// @dev The LP pool: its three words.
    /// @dev What the order book's gap guard needs of a market: its sides' sizes, its maintenance ratio and its
    /// keeper fee ratio, in one read; zero sizes once the market is settled (its price can no longer gap).
    function gapTerms(
        IPerpEngine engine,
        uint256 marketId
    ) internal view returns (uint256 longSize, uint256 shortSize, uint256 maintenance, uint256 keeperFeeRatio) {
        bytes32[] memory w = engine.extsload(
            bytes32(uint256(marketSlot(marketId)) + LONG_WORD),
            CONFIG_WORD - LONG_WORD + 1
        );
        if (uint48(uint256(w[MARGINS_WORD - LONG_WORD]) >> 208) == AccrualLib.SETTLED) return (0, 0, 0, 0);
        longSize = uint128(uint256(w[0]));
        shortSize = uint128(uint256(w[SHORT_WORD - LONG_WORD]));
        uint256 ratios = uint256(w[CONFIG_WORD - LONG_WORD]);
        (maintenance, keeperFeeRatio) = (_ratio(ratios, 1), _ratio(ratios, 4));
    }

    function pool(IPerpEngine engine) internal view returns (Pool memory) {
        return decodePool(engine.extsload(poolSlot(), POOL_WORDS));
    }

    /// @dev What marking the LP pool needs, in one call: the pool's first two words (LP balance, total reserved,
    /// the vesting gain); the pending fees and penalties are left zero.
    function poolForMark(IPerpEngine engine) internal view returns (Pool memory p) {
        bytes32[] memory w = engine.extsload(poolSlot(), 2);
        _decodeBalances(p, w[0]);
        _decodeVesting(p, w[1]);
    }

    // ---------------------------------------------------------------- decoding

    /// @dev A market's first `LIMITS_WORD` words (everything but the trade limits and the settlement price).
    /// `reserved` and `balance` price the borrowing rate now.
    function decodeMarket(
        bytes32[] memory w,
        uint256 reserved,
        uint256 balance
    ) internal pure returns (Market memory m) {
        uint256 word = uint256(w[ORACLE_WORD]);
        m.oracle = IPriceOracle(address(uint160(word)));
        m.borrowRatePerDay = uint256(uint24(word >> 160)) * ConfigLib.RATIO_UNIT;
        m.borrowRateNow = PositionMath.borrowRate(m.borrowRatePerDay, reserved, balance);
        m.borrowIndex = uint256(uint72(word >> 184)) * PositionMath.BORROW_UNIT;
        word = uint256(w[FUNDING_WORD]);
        (m.fundingIndex, m.fundingCheckpointSum) = (int128(uint128(word)), int128(uint128(word >> 128)));
        word = uint256(w[LONG_WORD]);
        (m.longSize, m.longEntryNotional) = (uint128(word), uint128(word >> 128));
        word = uint256(w[SHORT_WORD]);
        (m.shortSize, m.shortEntryNotional) = (uint128(word), uint128(word >> 128));
        word = uint256(w[MARGINS_WORD]);
        (m.longMargin, m.shortMargin) = (uint104(word), uint104(word >> 104));
        m.lastFundingTime = uint48(word >> 208);
        m.config = decodeConfig(w[CONFIG_WORD], w[CONFIG_WORD + 1], w[CONFIG_WORD + 2]);
    }

    /// @dev The config's first three words, as `ConfigLib.risk` reads them from storage: eight 32-bit ratios
    /// (multiples of `ConfigLib.RATIO_UNIT`); two 72-bit keeper fees and the 112-bit partial threshold; the
    /// 128-bit minimum notional and skew scale. The trade limits are the fourth word (`decodeLimits`).
    function decodeConfig(bytes32 ratios, bytes32 fees, bytes32 sizes) internal pure returns (MarketConfig memory c) {
        uint256 r = uint256(ratios);
        c.initialMarginRatio = _ratio(r, 0);
        c.maintenanceMarginRatio = _ratio(r, 1);
        c.tradingFeeRatio = _ratio(r, 2);
        c.liquidationPenaltyRatio = _ratio(r, 3);
        c.keeperFeeRatio = _ratio(r, 4);
        c.maxProfitFactor = _ratio(r, 5);
        c.maxFundingRatePerDay = _ratio(r, 6);
        c.partialLiquidationBuffer = _ratio(r, 7);
        c.minKeeperFee = uint72(uint256(fees));
        c.maxKeeperFee = uint72(uint256(fees) >> 72);
        c.partialLiquidationThreshold = uint112(uint256(fees) >> 144);
        c.minNotional = uint128(uint256(sizes));
        c.skewScale = uint128(uint256(sizes) >> 128);
    }

    /// @dev The trading fee ratio alone, from the config's first word (what a trade's fee needs).
    function decodeTradingFeeRatio(bytes32 ratios) internal pure returns (uint256) {
        return _ratio(uint256(ratios), 2);
    }

    /// @dev The config's fourth word: the open-interest cap (128 bits) and the minimum margin (96).
    function decodeLimits(bytes32 limits) internal pure returns (uint128 maxOpenInterest, uint96 minMargin) {
        return (uint128(uint256(limits)), uint96(uint256(limits) >> 128));
    }

    /// @dev The pool's `POOL_WORDS` words.
    function decodePool(bytes32[] memory w) internal pure returns (Pool memory p) {
        _decodeBalances(p, w[0]);
        _decodeVesting(p, w[1]);
        (p.pendingProtocolFees, p.pendingPenalties) = (uint128(uint256(w[2])), uint128(uint256(w[2]) >> 128));
    }

    function _decodeBalances(Pool memory p, bytes32 word) private pure {
        (p.lpBalance, p.totalReserved) = (uint128(uint256(word)), uint128(uint256(word) >> 128));
    }

    function _decodeVesting(Pool memory p, bytes32 word) private pure {
        p.vesting = uint128(uint256(word));
        (p.vestingFrom, p.vestingEnd) = (uint48(uint256(word) >> 128), uint48(uint256(word) >> 176));
    }

    /// @dev A position's `POSITION_WORDS` words.
    function decodePosition(bytes32[] memory w) internal pure returns (Position memory p) {
        (p.size, p.entryPrice) = (int128(uint128(uint256(w[0]))), uint128(uint256(w[0]) >> 128));
        (p.margin, p.fundingIndex) = (uint128(uint256(w[1])), int128(uint128(uint256(w[1]) >> 128)));
    }

    /// @dev The `i`-th 32-bit ratio of a word, from the low end, back in 18 decimals (< 2^64: 4.3e19).
    function _ratio(uint256 word, uint256 i) private pure returns (uint64) {
        return uint64(uint256(uint32(word >> (32 * i))) * ConfigLib.RATIO_UNIT);
    }
}
