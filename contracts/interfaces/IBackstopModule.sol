// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";

/// @title IBackstopModule
/// @notice Stakers' capital that covers bankrupt positions' shortfall before any loss is socialized.
/// An ERC-4626 vault over the collateral token whose value comes from its own stored accounting.
interface IBackstopModule is IERC4626 {
    /// @notice A staker's request to leave, fixed when it is made (one storage slot).
    /// @param start When `cooldown` was called.
    /// @param shares Shares that may leave in the window (reduced if the staker transfers shares away).
    /// @param value What those shares were worth at the request: the most they can take out.
    struct Cooldown {
        uint40 start;
        uint112 shares;
        uint104 value;
    }

    /// @notice Everything a staker's front end shows about a cooldown.
    struct CooldownStatus {
        uint256 start;
        uint256 windowStart;
        uint256 windowEnd;
        uint256 shares;
        uint256 valueAtRequest;
        uint256 valueNow;
        bool inWindow;
    }

    event CooldownStarted(
        address indexed account,
        uint256 shares,
        uint256 value,
        uint256 windowStart,
        uint256 windowEnd
    );
    event CooldownReduced(address indexed account, uint256 shares, uint256 value);
    event Covered(uint256 requested, uint256 paid, uint256 assetsAfter);
    event IncomeAdded(uint256 amount, uint256 streamingUntil);
    event ParametersUpdated(
        uint256 cooldownPeriod,
        uint256 unstakeWindow,
        uint256 maxCoverRatio,
        uint256 minAssetsRemaining,
        uint256 incomePeriod
    );

    error OnlyEngine(address caller);
    error ZeroAmount();
    error NoCooldown(address account);
    error OutsideUnstakeWindow(uint256 timestamp, uint256 windowStart, uint256 windowEnd);
    error ExceedsCooldownShares(uint256 shares, uint256 cooldownShares);
    error ExceedsCooldownAssets(uint256 assets, uint256 maxAssets);
    error InsufficientShares(uint256 shares, uint256 balance);
    error ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    error TransferAmountMismatch(uint256 expected, uint256 received);

    /// @notice Starts (or restarts) the caller's cooldown for `shares`, fixing their value now.
    /// @dev The shares keep covering losses during the cooldown and the window; at withdrawal the staker
    /// receives the lesser of the value fixed here and the value then.
    function cooldown(uint256 shares) external;

    /// @notice Pays up to `amount` of a shortfall to the engine. Only the engine may call it.
    /// @return paid At most `maxCover()`: the per-cover share of assets, never below the minimum left behind.
    function cover(uint256 amount) external returns (uint256 paid);

    /// @notice Books `amount` of income the engine has just transferred in; it streams into the share
    /// price over `incomePeriod` (together with whatever was still streaming). Only the engine.
    function notifyIncome(uint256 amount) external;

    /// @notice The most one cover can pay now.
    function maxCover() external view returns (uint256);

    /// @notice The caller-independent state of `account`'s cooldown.
    function cooldownStatus(address account) external view returns (CooldownStatus memory);

    /// @notice Backstop assets over the open-interest notional of all markets (18 decimals; max if no OI).
    function coverageRatio() external view returns (uint256);

    /// @notice Income booked but not yet in the share price.
    function incomeStreaming() external view returns (uint256);

    function totalCovered() external view returns (uint256);
    function lastCoverAmount() external view returns (uint256);
    function lastCoverTime() external view returns (uint256);
    function engine() external view returns (address);
    function cooldownPeriod() external view returns (uint64);
    function unstakeWindow() external view returns (uint64);
    function maxCoverRatio() external view returns (uint64);
    function minAssetsRemaining() external view returns (uint256);
    function incomePeriod() external view returns (uint64);
}
