// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IBackstopModule} from "./IBackstopModule.sol";
import {ILiquidityVault} from "./ILiquidityVault.sol";
import {IPriceOracle} from "./IPriceOracle.sol";

/// @notice A market's risk parameters. Ratios are 18-decimal fractions of notional; money is in
/// collateral units; sizes are 18-decimal base units; notional thresholds are 18-decimal USD.
struct MarketConfig {
    uint64 initialMarginRatio; // equity needed to open, increase or remove margin
    uint64 maintenanceMarginRatio; // below this (plus the keeper fee) a position is liquidatable
    uint64 tradingFeeRatio; // fee on traded notional
    uint64 liquidationPenaltyRatio; // to the backstop, from what margin is left after the keeper fee
    uint64 keeperFeeRatio; // keeper fee before its floor and cap
    uint64 maxProfitFactor; // a position's profit is capped at margin x this, and reserved in the vault
    uint64 maxFundingRatePerDay; // funding rate at a skew of `skewScale` or more
    uint64 partialLiquidationBuffer; // a partial liquidation leaves equity >= notional x (maintenance + this)
    uint96 minKeeperFee; // floor: dust still pays for a keeper's gas
    uint96 maxKeeperFee; // cap: no windfall on whales
    uint96 minMargin; // smallest margin a position may open with or keep after removing margin
    uint128 minNotional; // smallest position (USD); a reduce or partial liquidation never leaves less
    uint128 maxOpenInterest; // per side, in base units
    uint128 skewScale; // base units of skew at which funding reaches its maximum rate
    uint128 partialLiquidationThreshold; // positions above this notional (USD) may be liquidated in part
}

/// @notice A market: its oracle, funding state, per-side aggregates (sums over its positions) and config.
/// The engine's view of `MarketState`, decoded by `PerpLens.getMarket`.
struct Market {
    IPriceOracle oracle;
    uint256 settlementPrice; // zero until the market is settled
    uint256 borrowRatePerDay; // 18 decimals, of notional a day, paid by longs and shorts: the base rate
    uint256 borrowRateNow; // the rate at the pool's utilization now (PositionMath.borrowRate); accrual uses it
    uint256 borrowIndex; // cumulative borrowing per base unit (USD, 18 decimals)
    uint64 lastFundingTime;
    int128 fundingIndex; // cumulative funding per base unit, USD (18 decimals); longs pay when it rises
    int128 fundingCheckpointSum; // sum over positions of size x checkpoint / 1e18, to mark funding in O(1)
    uint128 longSize;
    uint128 longEntryNotional; // sum over longs of size x entry price / 1e18 (USD, rounded down each)
    uint128 shortSize;
    uint128 shortEntryNotional;
    uint128 longMargin;
    uint128 shortMargin;
    MarketConfig config;
}

/// @notice A market's config as the engine stores it, in four words (ConfigLib). Ratios are multiples of
/// 1e-8 (`ConfigLib.RATIO_UNIT`); the first three words are what trades, closes and liquidations read,
/// the fourth (trade limits) only what opens, increases and margin removals check.
struct StoredConfig {
    uint32 initialMarginRatio;
    uint32 maintenanceMarginRatio;
    uint32 tradingFeeRatio;
    uint32 liquidationPenaltyRatio;
    uint32 keeperFeeRatio;
    uint32 maxProfitFactor;
    uint32 maxFundingRatePerDay;
    uint32 partialLiquidationBuffer;
    uint72 minKeeperFee;
    uint72 maxKeeperFee;
    uint112 partialLiquidationThreshold;
    uint128 minNotional;
    uint128 skewScale;
    uint128 maxOpenInterest;
    uint96 minMargin;
}

/// @notice A market in the engine's storage: ten words. A side's size and entry notional share a word,
/// since a trade touches one side; the funding clock shares the margins' word, which every trade and
/// liquidation writes anyway, so that accruing funding costs no write of its own. Margin sums are 104 bits:
/// they are backed by the engine's collateral, so they cannot exceed the token's supply, and a collateral
/// whose supply could pass 2^104 units (2.0e13 whole tokens of 18 decimals, 2.0e25 of 6) is not supported.
/// The clock is 48 bits, so that no market's accrual stops with the 32-bit clocks of 2106.
struct MarketState {
    IPriceOracle oracle;
    uint24 borrowRatePerDay; // multiples of 1e-8 of notional a day (the base, before utilization), paid by both sides
    uint72 borrowIndex; // cumulative borrowing per base unit, in units of 1e-9 USD (PositionMath.BORROW_UNIT)
    int128 fundingIndex;
    int128 fundingCheckpointSum;
    uint128 longSize;
    uint128 longEntryNotional;
    uint128 shortSize;
    uint128 shortEntryNotional;
    uint104 longMargin;
    uint104 shortMargin;
    uint48 lastFundingTime;
    StoredConfig config;
    uint256 settlementPrice; // 18 decimals; set once the market is settled (its clock then reads SETTLED)
}

/// @notice The LP pool's ledger in the engine, three words: what trades and liquidations move, the gains still
/// vesting into the LP mark (next to it, so that the vault reads both in one `extsload`), and what waits for
/// `distributeFees`.
struct Pool {
    uint128 lpBalance; // realized LP assets, vesting gains included
    uint128 totalReserved; // sum over markets of their positions' profit caps
    uint128 vesting; // gains that are not oracle rounds (covers, repayments), unvested at `vestingFrom`
    uint48 vestingFrom; // when `vesting` was last set
    uint48 vestingEnd; // `vesting` vests linearly from `vestingFrom` to this time (VestingLib)
    uint128 pendingProtocolFees; // trading fees owed to the backstop and the treasury
    uint128 pendingPenalties; // liquidation penalties owed to the backstop
}

/// @notice A position: isolated, one per (account, market).
struct Position {
    int128 size; // base units; positive long, negative short
    uint128 entryPrice; // 18 decimals
    uint128 margin; // collateral units
    int128 fundingIndex; // the market's index when funding was last settled
}

/// @title IPerpEngine
/// @notice Markets, positions, the LP ledger and liquidations of Bulwark.
interface IPerpEngine {
    // ---------------------------------------------------------------- events
    event Wired(address vault, address backstop, address orders);
    event MarketAdded(uint256 indexed marketId, address oracle, MarketConfig config);
    event MarketConfigUpdated(uint256 indexed marketId, MarketConfig config);
    event FeeSharesUpdated(uint256 backstopShare, uint256 treasuryShare);
    event TreasuryUpdated(address treasury);
    /// @notice The market is wound down: no new risk, funding stopped, every position values at `price`.
    event MarketSettled(uint256 indexed marketId, uint256 price);
    /// @notice A market whose feed broke at `brokenSince` was wound down by `caller` at the answer of its last
    /// good round `roundId` (MarketSettled follows with the price).
    event MarketWoundDown(uint256 indexed marketId, uint80 roundId, uint256 brokenSince, address caller);
    event BorrowRateUpdated(uint256 indexed marketId, uint256 ratePerDay);
    /// @notice Every trader action (open, increase, reduce, close, add or remove margin).
    /// @param realizedPnl PnL the action realized (positive: paid to the trader).
    /// @param fundingPaid Funding settled (positive: paid by the trader).
    event PositionModified(
        address indexed account,
        uint256 indexed marketId,
        int256 sizeDelta,
        int256 size,
        uint256 price,
        uint256 entryPrice,
        uint256 margin,
        int256 realizedPnl,
        int256 fundingPaid,
        uint256 fee
    );
    /// @notice Waterfall step 1. `marketId` is data, not a topic (PositionLiquidated in the same
    /// transaction indexes it): a topic costs 119 gas more per liquidation.
    event KeeperPaid(address indexed account, uint256 marketId, address indexed recipient, uint256 fee);
    /// @notice Waterfall step 2 (only emitted when non-zero).
    event PenaltyPaid(address indexed account, uint256 marketId, uint256 penalty);
    /// @notice Waterfall step 3: the trader's PnL and funding settled with the vault, the rest refunded.
    /// @param remainingMargin A partial liquidation's new margin (zero when the position closed).
    event PositionLiquidated(
        address indexed account,
        uint256 indexed marketId,
        address indexed keeper,
        uint256 price,
        uint256 sizeClosed,
        int256 remainingSize,
        uint256 remainingMargin,
        int256 traderLoss,
        uint256 refund
    );
    /// @notice Waterfall step 4 (only emitted when there is bad debt).
    event BadDebtCovered(address indexed account, uint256 indexed marketId, uint256 badDebt, uint256 covered);
    /// @notice Waterfall step 5 (only emitted when non-zero): absorbed pro rata by all LP shares.
    event LossSocialized(address indexed account, uint256 indexed marketId, uint256 amount);
    /// @notice The engine's own shortfall: a liquidation's loss to the LP pool exceeded the whole pool, which
    /// stopped at zero; `amount` could not be booked against anyone.
    event PoolShortfall(uint256 amount);
    /// @notice A refund the token refused to deliver (e.g. a blocklisted trader); `claim` pays it.
    event RefundDeferred(address indexed account, uint256 amount);
    event Claimed(address indexed account, address indexed receiver, uint256 amount);
    event BatchLiquidated(address indexed keeper, uint256 attempted, uint256 liquidated, uint256 keeperFees);
    event FeesDistributed(uint256 toBackstop, uint256 toTreasury);
    event LiquidityAdded(uint256 assets, uint256 lpBalance);
    /// @notice A gain that is not an oracle round (a backstop cover the mark did not count, a recovery repayment)
    /// landed in the LP pool: `unvested` (this gain and the rest of earlier ones) vests linearly until `end`.
    event GainVesting(uint256 gain, uint256 unvested, uint256 end);
    event LiquidityRemoved(address indexed receiver, uint256 assets, uint256 lpBalance);

    // ---------------------------------------------------------------- errors
    error UnsupportedDecimals(uint8 decimals);
    error ZeroAddress();
    error AlreadyWired();
    error WrongCounterparty(address contractAddress);
    error NotWired();
    error OnlyVault(address caller);
    /// @notice Only the order book executes trades.
    error OnlyOrders(address caller);
    /// @notice A wind-down (`settleMarket` with a round) before the feed has been broken for `WIND_DOWN_DELAY`.
    error FeedNotBroken(uint256 brokenSince, uint256 windDownAt);
    /// @notice A term of open positions (a keeper fee, the profit factor) may not rise while the market has any.
    error TermRaised(bytes32 name, uint256 current, uint256 requested);
    /// @notice The request was made for a position on the other side (or without one).
    error WrongSide(address account, uint256 marketId, int256 size);
    error TooManyMarkets(uint256 max);
    error UnknownMarket(uint256 marketId);
    /// @notice The market is settled: only `closeSettled`, `addMargin` and liquidations remain.
    error MarketIsSettled(uint256 marketId);
    error MarketNotSettled(uint256 marketId);
    error ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    /// @notice A ratio that is not a whole multiple of `step` (1e-8): the engine stores ratios in that unit.
    error ParameterPrecision(bytes32 name, uint256 value, uint256 step);
    error ZeroAmount();
    error ZeroSize();
    error PositionExists(address account, uint256 marketId);
    error NoPosition(address account, uint256 marketId);
    error MarginBelowMinimum(uint256 margin, uint256 minMargin);
    error NotionalBelowMinimum(uint256 notional, uint256 minNotional);
    error InsufficientInitialMargin(int256 equity, uint256 required);
    error OpenInterestCapExceeded(uint256 openInterest, uint256 cap);
    error InsufficientLiquidity(uint256 required, uint256 available);
    error ReduceExceedsSize(uint256 sizeDelta, uint256 size);
    error PositionWouldBeLiquidatable(int256 equity, uint256 liquidationMargin);
    error PositionBankrupt(address account, uint256 marketId, int256 equity);
    error PositionHealthy(address account, uint256 marketId, int256 equity, uint256 liquidationMargin);
    error LengthMismatch(uint256 accounts, uint256 marketIds);
    error TransferAmountMismatch(uint256 expected, uint256 received);
    error NothingToClaim(address account);

    // ---------------------------------------------------------------- orders
    /// @notice Opens `account`'s position of `size` (positive long, negative short) at `price`, the price
    /// of the oracle round the order book executed the request at. Pulls `amount` from the order book;
    /// the trading fee comes out of it and the rest is the margin. Only the order book.
    /// @dev Reverts while paused, and when the position would not hold its initial margin at `price`, would
    /// be liquidatable at `latest` (the oracle's price now, which the book read with the round: a trade
    /// executed at its round must not open a position liquidatable at once), would breach the open-interest
    /// cap, or its profit cap cannot be reserved in the vault.
    function executeOpen(
        address account,
        uint256 marketId,
        int256 size,
        uint256 amount,
        uint256 price,
        uint256 latest
    ) external;

    /// @notice Adds `sizeDelta` (signed as the position: positive for a long) at `price`, and `amount`
    /// pulled from the order book, less the trading fee, to the margin; the entry price becomes the
    /// size-weighted average. Settles funding. Only the order book; reverts while paused, and as an open does
    /// (initial margin at `price`, health at `latest`).
    function executeIncrease(
        address account,
        uint256 marketId,
        int256 sizeDelta,
        uint256 amount,
        uint256 price,
        uint256 latest
    ) external;

    /// @notice Closes `sizeDelta` (signed as the position, smaller in size) at `price`, realizing that part's
    /// PnL into margin and paying the fee from it. Works while paused. Settles funding. Only the order book.
    function executeReduce(address account, uint256 marketId, int256 sizeDelta, uint256 price) external;

    /// @notice Closes the position (which must be on the side `long`) at `price` and pays `account` its
    /// equity less the fee (into `claimable` if the token refuses the transfer). Works while paused.
    /// Reverts on a bankrupt position (negative equity): that is a liquidation. Only the order book.
    /// @return payout What the account was paid.
    function executeClose(
        address account,
        uint256 marketId,
        bool long,
        uint256 price
    ) external returns (uint256 payout);

    /// @notice Pays `amount` of the position's margin to `account` while the position keeps its initial
    /// margin at `price`, counting unrealized profit as zero (profit cannot be withdrawn before it is
    /// realized). Settles funding. Only the order book; reverts while paused.
    function executeRemoveMargin(address account, uint256 marketId, bool long, uint256 amount, uint256 price) external;

    // ---------------------------------------------------------------- traders
    /// @notice Adds margin. Needs no price, so it works while paused and while the oracle is down.
    function addMargin(uint256 marketId, uint256 amount) external;

    /// @notice Closes the caller's position in a settled market at its settlement price, at once: the price
    /// is final and public, so there is nothing to front-run. Pays equity less the trading fee.
    function closeSettled(uint256 marketId) external returns (uint256 payout);

    /// @notice Pays the caller refunds that a liquidation could not deliver.
    function claim(address receiver) external returns (uint256 amount);

    // ---------------------------------------------------------------- keepers
    /// @notice Liquidates `account`'s position in `marketId` and pays the keeper fee to `feeRecipient`.
    /// @dev Reverts with `PositionHealthy` when equity >= liquidation margin. Never blocked by the pause
    /// or the sequencer feed (see docs/ORACLE.md).
    /// @return keeperFee What `feeRecipient` received.
    function liquidate(address account, uint256 marketId, address feeRecipient) external returns (uint256 keeperFee);

    /// @notice Liquidates every listed position that is liquidatable now; skips the rest (healthy, closed,
    /// or in a market whose oracle refuses a price) without reverting. Pays the fees in one transfer.
    /// @return liquidated How many positions were liquidated.
    /// @return keeperFees The total paid to `feeRecipient`.
    function liquidateBatch(
        address[] calldata accounts,
        uint256[] calldata marketIds,
        address feeRecipient
    ) external returns (uint256 liquidated, uint256 keeperFees);

    /// @notice Sends accrued protocol fees and liquidation penalties to the backstop (as streamed income)
    /// and the treasury. Anyone may call it.
    function distributeFees() external;

    // ---------------------------------------------------------------- vault
    /// @notice Books `assets` that the vault has just transferred to the engine. Only the vault.
    function creditLiquidity(uint256 assets) external;

    /// @notice Pays `assets` of free liquidity to `receiver`. Only the vault.
    function withdrawLiquidity(address receiver, uint256 assets) external;

    // ---------------------------------------------------------------- admin
    /// @notice Wires the vault, the backstop and the order book in, once; each must name this engine, and the
    /// vault and the backstop its collateral.
    function wire(address vault, address backstop, address orders) external;
    function addMarket(IPriceOracle oracle, MarketConfig calldata config) external returns (uint256 marketId);
    /// @notice Sets a market's config within its hard bounds (behind the timelock). While the market has
    /// positions, no keeper-fee term (`keeperFeeRatio`, `minKeeperFee`, `maxKeeperFee`) and not
    /// `maxProfitFactor` may rise (`TermRaised`): a position never owes a keeper more than its terms at open
    /// allowed, and the LPs never owe a position more than its terms at open capped.
    function setMarketConfig(uint256 marketId, MarketConfig calldata config) external;
    /// @notice Winds a market down at a price its oracle gave, never one the caller names: from then on it
    /// takes no new risk, funding and borrowing stop, its positions close (`closeSettled`), are liquidated and
    /// are marked at that price, and nothing reads its feed again.
    /// - `roundId` zero: the market admin (behind the timelock), at the oracle's current price, which must
    ///   answer (a planned delisting).
    /// - `roundId` non-zero: anyone, once the feed has given no good answer for `ConstantsLib.WIND_DOWN_DELAY`
    ///   (one day) since it broke, at the answer of `roundId`, which `IPriceOracle.lastGoodPrice` proves is the
    ///   feed's last good round. Reverts `FeedNotBroken` before then, and with the oracle's `UnknownRound`,
    ///   `BadRound` or `LaterGoodRound` for any other round. Emits `MarketWoundDown` before `MarketSettled`.
    function settleMarket(uint256 marketId, uint80 roundId) external;
    /// @notice Sets the market's borrowing rate (behind the timelock): a fraction of notional a day that
    /// every open position pays the LP pool, long or short, for the liquidity its profit cap reserves (a
    /// position opened at its initial margin reserves `maxProfitFactor x initialMarginRatio` of its
    /// notional). At most 0.1 % a day, in steps of 1e-8. What accrued so far accrues at the old rate.
    function setBorrowRate(uint256 marketId, uint256 ratePerDay) external;
    function setFeeShares(uint256 backstopShare, uint256 treasuryShare) external;
    function setTreasury(address treasury) external;
    function pause() external;
    function unpause() external;

    // ---------------------------------------------------------------- views
    /// @notice `account`'s position in `marketId` (all zero if none).
    function getPosition(address account, uint256 marketId) external view returns (Position memory);
    /// @notice Raw storage: `nSlots` words from `startSlot`. The lens and the vault read markets and the pool
    /// from it at the slots `EngineStorage` computes, so the engine spends no bytecode on views that only read
    /// (as Uniswap v4's PoolManager and Morpho Blue do).
    function extsload(bytes32 startSlot, uint256 nSlots) external view returns (bytes32[] memory);
    /// @notice Realized LP balance not reserved for open positions' capped profits.
    function freeLiquidity() external view returns (uint256);
    /// @notice The price the engine values market `marketId` at: its oracle's, or its settlement price.
    function marketPrice(uint256 marketId) external view returns (uint256);
    /// @notice Realized LP assets: the pool before it is marked to the oracle, vesting gains included.
    function lpBalance() external view returns (uint128);
    /// @notice The sum over markets of their positions' profit caps, which the pool must back.
    function totalReserved() external view returns (uint128);
    function marketCount() external view returns (uint64);
    function collateral() external view returns (address);
    function vault() external view returns (ILiquidityVault);
    function backstop() external view returns (IBackstopModule);
    function treasury() external view returns (address);
    function backstopFeeShare() external view returns (uint64);
    function treasuryFeeShare() external view returns (uint64);
    function claimable(address account) external view returns (uint256);
    function orders() external view returns (address);
}
