// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title ConstantsLib
/// @notice The hard bounds that no role can set a parameter beyond, and the protocol's defaults.
/// Ratios are 18-decimal fixed point (1e18 = 100 %).
library ConstantsLib {
    // ---- markets ----
    uint256 internal constant MAX_MARKETS = 16;
    uint256 internal constant MIN_INITIAL_MARGIN_RATIO = 0.01e18; // at most 100x
    uint256 internal constant MAX_INITIAL_MARGIN_RATIO = 0.5e18; // at least 2x
    uint256 internal constant MIN_MAINTENANCE_MARGIN_RATIO = 0.005e18;
    uint256 internal constant MAX_TRADING_FEE_RATIO = 0.01e18;
    uint256 internal constant MAX_LIQUIDATION_PENALTY_RATIO = 0.05e18;
    uint256 internal constant MAX_KEEPER_FEE_RATIO = 0.02e18;
    uint256 internal constant MIN_MAX_PROFIT_FACTOR = 1e18;
    uint256 internal constant MAX_MAX_PROFIT_FACTOR = 18e18; // fits MarketConfig.maxProfitFactor (uint64)
    uint256 internal constant MAX_FUNDING_RATE_PER_DAY = 0.1e18;
    /// @dev 0.1 % of notional a day (36.5 % a year): a borrowing rate beyond it would be a lever on traders.
    uint256 internal constant MAX_BORROW_RATE_PER_DAY = 0.001e18;
    /// @dev Borrowing follows the pool's utilization (reserved / LP balance): the base rate up to 80 %, then
    /// rising linearly to 20 times the base when the pool is fully reserved, so that holding most of the pool
    /// costs more the fuller it is (at most 2 % of notional a day at the maximum base).
    uint256 internal constant BORROW_KINK_UTILIZATION = 0.8e18;
    uint256 internal constant BORROW_MULTIPLIER_AT_FULL = 20e18;
    uint256 internal constant MAX_PARTIAL_LIQUIDATION_BUFFER = 0.2e18;
    /// @dev Whole collateral tokens (scaled by the token's decimals at construction).
    uint256 internal constant MAX_KEEPER_FEE_TOKENS = 1_000;
    uint256 internal constant MAX_MIN_MARGIN_TOKENS = 10_000;
    /// @dev Sizes and open interest are 18-decimal base units; this caps both sides' sums so that the
    /// per-market aggregates cannot overflow their 128-bit slots.
    uint256 internal constant MAX_OPEN_INTEREST = 1e30;
    /// @dev A market's open-interest cap times its oracle's highest price (18-decimal USD, $1e16): it bounds
    /// the funding checkpoint sums (size x index) for a century at the steepest funding and borrowing.
    uint256 internal constant MAX_OPEN_INTEREST_VALUE = 1e34;

    // ---- fee split ----
    uint256 internal constant MAX_PROTOCOL_FEE_SHARE = 0.5e18; // backstop + treasury share of a fee

    // ---- backstop ----
    uint256 internal constant MIN_COOLDOWN = 1 days;
    uint256 internal constant MAX_COOLDOWN = 30 days;
    uint256 internal constant MIN_UNSTAKE_WINDOW = 1 hours;
    uint256 internal constant MAX_UNSTAKE_WINDOW = 14 days;
    uint256 internal constant MAX_COVER_RATIO = 0.5e18;
    /// @dev Stakers keep at least a fifth of their income while socialized losses are being repaid.
    uint256 internal constant MAX_RECOVERY_SHARE = 0.8e18;
    uint256 internal constant MIN_INCOME_PERIOD = 1 hours;
    uint256 internal constant MAX_INCOME_PERIOD = 30 days;
    /// @dev A cover window must span a crash's liquidations (many blocks) and not outlast the unstake
    /// windows it holds exits in for long.
    uint256 internal constant MIN_COVER_WINDOW = 1 hours;
    uint256 internal constant MAX_COVER_WINDOW = 7 days;

    // ---- orders ----
    uint256 internal constant MIN_ORDER_DELAY = 1 seconds;
    uint256 internal constant MAX_ORDER_DELAY = 1 hours;
    /// @dev A request must live at least a minute past its delay, and at most two days.
    uint256 internal constant MIN_ORDER_WINDOW = 1 minutes;
    uint256 internal constant MAX_ORDER_AGE = 2 days;
    uint256 internal constant MAX_EXECUTION_FEE_TOKENS = 100;
    /// @dev Bounds of the gas estimates that price the minimum execution fee: no execution costs less than the
    /// low one (a close measures about 140,000), and the high one with sixteen markets' LP terms stays far
    /// below EIP-7825's 16,777,216 transaction cap.
    uint256 internal constant MIN_EXECUTION_GAS = 100_000;
    uint256 internal constant MAX_EXECUTION_GAS = 3_000_000;
    uint256 internal constant MAX_LP_EXECUTION_GAS_PER_MARKET = 200_000;
    /// @dev A market's design gap (the order book's guard) is a move of at most 100 % of its price.
    uint256 internal constant MAX_DESIGN_GAP = 1e18;

    // ---- oracle ----
    uint256 internal constant MIN_ORACLE_MAX_AGE = 1 minutes;
    uint256 internal constant MAX_ORACLE_MAX_AGE = 2 days;
    uint256 internal constant MAX_SEQUENCER_GRACE_PERIOD = 1 days;
    /// @dev The highest price an oracle may accept ($1e9 a base unit of 18 decimals): with the open-interest
    /// bound it keeps every index and sum of the engine within its width for a century of accrual.
    uint256 internal constant MAX_ORACLE_PRICE = 1e27;
    /// @dev How long a market's feed must have been broken (no good answer: stale, non-positive or out of
    /// bounds) before anyone may wind the market down at its last good price (PerpEngine.windDown).
    uint256 internal constant WIND_DOWN_DELAY = 1 days;
}
