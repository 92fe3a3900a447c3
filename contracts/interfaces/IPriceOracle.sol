// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title IPriceOracle
/// @notice A market's price source: one Chainlink feed, checked and scaled to 18 decimals.
interface IPriceOracle {
    /// @notice The feed answered zero or a negative number.
    error NonPositivePrice(int256 answer);
    /// @notice The feed's last update is older than this oracle accepts.
    error StalePrice(uint256 updatedAt, uint256 maxAge);
    /// @notice The price lies outside this oracle's own sanity bounds (18 decimals).
    error PriceOutOfBounds(uint256 price, uint256 minPrice, uint256 maxPrice);
    /// @notice The L2 sequencer-uptime feed reports the sequencer down (or has no valid round).
    error SequencerDown(uint256 statusSince);
    /// @notice The sequencer is up again, but not for long enough to trust prices for new risk.
    error SequencerGracePeriodNotOver(uint256 upSince, uint256 gracePeriod);
    /// @notice The round was updated before the earliest time the request may be executed at (or does not
    /// exist: its time is then zero).
    error RoundTooEarly(uint80 roundId, uint256 updatedAt, uint256 notBefore);
    /// @notice The round before `roundId` was already at or after the earliest time: only the first such
    /// round may price the request.
    error NotFirstRound(uint80 roundId, uint256 previousUpdatedAt);
    /// @notice `roundId` is not a round of the feed's current phase at or before its latest round.
    error UnknownRound(uint80 roundId, uint80 latestRoundId);
    /// @notice The round's answer is not a price this oracle accepts (non-positive or out of bounds).
    error BadRound(uint80 roundId, int256 answer);
    /// @notice A later round than the one named gave a good answer: it is not the last good round.
    error LaterGoodRound(uint80 roundId, uint80 goodRoundId);
    /// @notice Constructor arguments that would make a useless or dangerous oracle.
    error InvalidFeed(address feed);
    error InvalidFeedDecimals(uint8 decimals);
    error InvalidMaxAge(uint256 maxAge);
    error InvalidPriceBounds(uint256 minPrice, uint256 maxPrice);
    error InvalidGracePeriod(uint256 gracePeriod);

    /// @notice The feed's latest answer as an 18-decimal price.
    /// @dev Reverts when the answer is non-positive, stale or out of bounds. Does not consult the
    /// sequencer feed: closes, top-ups and liquidations use this (see docs/ORACLE.md).
    function price() external view returns (uint256);

    /// @notice As `price`, and also reverts while the L2 sequencer is down or within its grace period.
    /// @dev Used for actions that add risk: open, increase, remove margin.
    function priceForNewRisk() external view returns (uint256);

    /// @notice The answer of round `roundId`, which must be the feed's first round updated at or after
    /// `notBefore`, and the current price (`price()`, so the feed must not be stale now). With `newRisk`,
    /// also reverts while the sequencer is down or in its grace period. Both as 18-decimal prices within
    /// the bounds.
    /// @dev The order book executes a request at the first round after its delay; see docs/ORACLE.md.
    function roundPrice(
        uint80 roundId,
        uint256 notBefore,
        bool newRisk
    ) external view returns (uint256 roundAnswer, uint256 latest);

    /// @notice The answer of round `roundId`, proved to be the feed's last good one (a positive answer within
    /// the bounds, and every later round of the phase up to the latest is not), and since when the feed
    /// has been broken: the time of the first bad round after it, or, when it is itself the latest round,
    /// when it went stale (its time plus `maxAge`).
    /// @dev For winding down a market whose feed broke (PerpEngine.settleMarket with a round). Walks every round after
    /// `roundId` (one external call each): the caller pays for a long run of bad rounds. Only rounds of the
    /// feed's current phase count (Chainlink numbers a proxy's rounds `phase << 64 | round`).
    function lastGoodPrice(uint80 roundId) external view returns (uint256 goodPrice, uint256 brokenSince);

    /// @notice Whether the sequencer is up and past its grace period (always true without a feed).
    function sequencerReady() external view returns (bool);

    function feed() external view returns (address);
    function sequencerFeed() external view returns (address);
    function maxAge() external view returns (uint256);
    function minPrice() external view returns (uint256);
    function maxPrice() external view returns (uint256);
    function gracePeriod() external view returns (uint256);
}
