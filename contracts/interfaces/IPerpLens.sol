// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IPerpEngine, Market} from "./IPerpEngine.sol";

/// @notice What a keeper or a front end needs to know about a position now.
struct PositionHealth {
    int256 size;
    uint256 entryPrice;
    uint256 margin;
    uint256 price;
    int256 pnl; // unrealized, after the profit cap (collateral)
    int256 funding; // accrued funding and borrowing, owed by the trader when positive (collateral)
    int256 equity; // margin + pnl - funding
    uint256 notional; // collateral
    uint256 leverage; // notional / equity, 18 decimals; type(uint256).max when equity <= 0
    uint256 maintenanceMargin;
    uint256 keeperFee;
    uint256 liquidationMargin; // maintenance margin + keeper fee
    uint256 liquidationPrice; // ignores future funding and keeper-fee floor/cap changes; 0 if none
    bool liquidatable;
}
/// @notice What `liquidate` would do now, step by step through the loss waterfall (collateral units).
struct LiquidationPreview {
    bool liquidatable;
    bool full;
    uint256 price;
    uint256 sizeClosed;
    int256 equity;
    uint256 liquidationMargin;
    uint256 keeperFee;
    uint256 penalty;
    int256 traderLoss; // what the trader's PnL and funding hand to the vault (negative: the vault pays)
    uint256 traderRefund;
    uint256 badDebt;
    uint256 coveredByBackstop;
    uint256 socialized;
}

/// @notice What a set of positions in one market would leave if the market's price gapped by `move` (a signed
/// fraction, 18 decimals) and each were liquidated there before anything else (collateral units).
struct GapShortfall {
    uint256 price; // the gapped price
    uint256 positions; // the given accounts with a position in the market
    uint256 liquidatable; // of them, liquidatable at the gapped price
    uint256 openInterest; // their notional at the current price (rounded up)
    uint256 badDebt; // what their liquidations would leave beyond margin: the backstop's cover and the socialized rest
    uint256 coverCapacity; // what the backstop can still cover in its rolling window now (`maxCover`)
}

/// @title IPerpLens
/// @notice Read-only views of positions for keepers, front ends and risk dashboards, kept out of the engine so
/// that the engine stays under the contract-size limit. Every figure is computed with the engine's own
/// rounding, from the engine's state and the market's oracle.
interface IPerpLens {
    /// @notice A gap must leave a positive price: `move` above −1e18.
    error InvalidGap(int256 move);

    /// @notice Market `marketId` as the engine stores it: oracle, funding state, per-side aggregates, config.
    /// @dev Decoded from the engine's raw storage (`IPerpEngine.extsload`, `EngineStorage`). Reverts with
    /// `IPerpEngine.UnknownMarket` for an id the engine does not have.
    function getMarket(uint256 marketId) external view returns (Market memory);

    /// @notice The market's funding rate per day now (18 decimals, positive: longs pay).
    function fundingRate(uint256 marketId) external view returns (int256);

    /// @notice The market's cumulative funding index as the engine would accrue it now, at the oracle price.
    function currentFundingIndex(uint256 marketId) external view returns (int256);

    /// @notice The index a position of `size` (its sign: the side) settles funding and borrowing against
    /// now: the funding index plus the borrow index for a long, minus it for a short.
    function positionIndex(uint256 marketId, int256 size) external view returns (int256);

    /// @notice A position's size, margin, entry price, unrealized PnL, accrued funding, equity, leverage,
    /// margins, liquidation price and whether it is liquidatable, all at the oracle price now.
    /// @dev Reverts with `IPerpEngine.NoPosition` when there is none, and with the oracle's error when
    /// the market's oracle refuses a price.
    function positionHealth(address account, uint256 marketId) external view returns (PositionHealth memory);

    /// @notice What `liquidate(account, marketId, …)` would do now, step by step through the waterfall:
    /// whether it is liquidatable, the size closed, keeper fee, penalty, the trader's loss to the vault,
    /// their refund, the bad debt, the backstop's part and the socialized part. All zero (not liquidatable)
    /// when there is no position.
    function previewLiquidation(address account, uint256 marketId) external view returns (LiquidationPreview memory);

    /// @notice Whether `liquidate(account, marketId, …)` would succeed now (false when there is no position).
    function isLiquidatable(address account, uint256 marketId) external view returns (bool);

    /// @notice The notional of all open interest, both sides of every market, at each market's price
    /// (collateral units, rounded up).
    function openInterestNotional() external view returns (uint256);

    /// @notice The bad debt that `accounts`' positions in market `marketId` would leave if its price jumped by
    /// `move` (−0.35e18: −35 %) and each were liquidated at that price before any other change: the engine's own
    /// liquidation maths (`RiskLib.plan`, with the position's index accrued to now at the gapped price), so a
    /// gap that really happens leaves exactly this, to the unit. Paged by the caller: pass any slice of the
    /// accounts (a keeper indexes them from `PositionModified`); the sums of the slices are the book's.
    /// @dev Reverts with `InvalidGap` for a move of −100 % or less, and with the oracle's error when it refuses
    /// a price. Accounts without a position in the market are skipped.
    function gapShortfall(
        uint256 marketId,
        int256 move,
        address[] calldata accounts
    ) external view returns (GapShortfall memory);

    /// @notice Backstop assets over `openInterestNotional` (18 decimals; max if there is no open interest).
    function coverageRatio() external view returns (uint256);

    function engine() external view returns (IPerpEngine);

    /// @notice The part of the engine's `lpBalance` still vesting: gains that are not oracle rounds (a backstop
    /// cover the mark did not count, a recovery repayment) enter the LP mark linearly over up to a day
    /// (`VestingLib`), so that no request made or executed around one can take it.
    /// @dev Decoded from the engine's pool (`EngineStorage.pool`), as the vault reads it.
    function unvestedGains() external view returns (uint256);

    /// @notice Trading fees the engine owes the backstop and the treasury, until `distributeFees`.
    function pendingProtocolFees() external view returns (uint128);

    /// @notice Liquidation penalties the engine owes the backstop, until `distributeFees`.
    function pendingPenalties() external view returns (uint128);
}
