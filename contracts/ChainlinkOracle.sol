// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";

/// @title ChainlinkOracle
/// @notice One market's price: a Chainlink feed with a heartbeat, our own price bounds, and optionally
/// an L2 sequencer-uptime feed. Immutable: to change anything, deploy a new oracle and list a new market.
contract ChainlinkOracle is IPriceOracle {
    /// @inheritdoc IPriceOracle
    address public immutable feed;
    /// @inheritdoc IPriceOracle
    address public immutable sequencerFeed;
    /// @inheritdoc IPriceOracle
    uint256 public immutable maxAge;
    /// @inheritdoc IPriceOracle
    uint256 public immutable minPrice;
    /// @inheritdoc IPriceOracle
    uint256 public immutable maxPrice;
    /// @inheritdoc IPriceOracle
    uint256 public immutable gracePeriod;
    /// @dev 10 ** (18 - feed decimals): the feed's answer times this is an 18-decimal price.
    uint256 private immutable SCALE;

    /// @param feed_ The Chainlink price feed (answer in USD per base unit).
    /// @param maxAge_ The oldest answer accepted, in seconds (the feed's heartbeat plus a margin).
    /// @param minPrice_ The lowest 18-decimal price accepted.
    /// @param maxPrice_ The highest 18-decimal price accepted.
    /// @param sequencerFeed_ The L2 sequencer-uptime feed, or zero on L1.
    /// @param gracePeriod_ Seconds after a sequencer restart during which new risk is refused.
    constructor(
        address feed_,
        uint256 maxAge_,
        uint256 minPrice_,
        uint256 maxPrice_,
        address sequencerFeed_,
        uint256 gracePeriod_
    ) {
        if (feed_.code.length == 0) revert InvalidFeed(feed_);
        uint8 decimals = AggregatorV3Interface(feed_).decimals();
        if (decimals > 18) revert InvalidFeedDecimals(decimals);
        if (maxAge_ < ConstantsLib.MIN_ORACLE_MAX_AGE || maxAge_ > ConstantsLib.MAX_ORACLE_MAX_AGE) {
            revert InvalidMaxAge(maxAge_);
        }
        if (minPrice_ == 0 || maxPrice_ <= minPrice_ || maxPrice_ > ConstantsLib.MAX_ORACLE_PRICE)
            revert InvalidPriceBounds(minPrice_, maxPrice_);
        if (sequencerFeed_ != address(0) && sequencerFeed_.code.length == 0) revert InvalidFeed(sequencerFeed_);
        if (gracePeriod_ > ConstantsLib.MAX_SEQUENCER_GRACE_PERIOD) revert InvalidGracePeriod(gracePeriod_);

        feed = feed_;
        maxAge = maxAge_;
        minPrice = minPrice_;
        maxPrice = maxPrice_;
        sequencerFeed = sequencerFeed_;
        gracePeriod = gracePeriod_;
        SCALE = 10 ** (18 - decimals);
    }

    /// @inheritdoc IPriceOracle
    function price() public view returns (uint256) {
        (, int256 answer, , uint256 updatedAt, ) = AggregatorV3Interface(feed).latestRoundData();
        return _fresh(answer, updatedAt);
    }

    /// @inheritdoc IPriceOracle
    function roundPrice(
        uint80 roundId,
        uint256 notBefore,
        bool newRisk
    ) external view returns (uint256 roundAnswer, uint256 latest) {
        if (newRisk) _checkSequencer();
        AggregatorV3Interface source = AggregatorV3Interface(feed);
        // The latest round is read first: a request is usually executed at it, and then it is the round too.
        (uint80 latestId, int256 latestAnswer, , uint256 latestAt, ) = source.latestRoundData();
        (int256 answer, uint256 updatedAt) = (latestAnswer, latestAt);
        if (roundId != latestId) (, answer, , updatedAt, ) = source.getRoundData(roundId);
        if (updatedAt < notBefore) revert RoundTooEarly(roundId, updatedAt, notBefore);
        // Only the first round at or after `notBefore` is accepted, so nobody can wait for a friendlier
        // one. Chainlink numbers a proxy's rounds (phase << 64 | round); the first round of a phase has no
        // predecessor in it, and is accepted as the first.
        if (uint64(roundId) > 1) {
            (, , , uint256 previousAt, ) = source.getRoundData(roundId - 1);
            if (previousAt >= notBefore) revert NotFirstRound(roundId, previousAt);
        }
        return (_scaled(answer), _fresh(latestAnswer, latestAt));
    }

    /// @inheritdoc IPriceOracle
    function lastGoodPrice(uint80 roundId) external view returns (uint256 goodPrice, uint256 brokenSince) {
        AggregatorV3Interface source = AggregatorV3Interface(feed);
        (uint80 latestId, , , , ) = source.latestRoundData();
        if (roundId > latestId || roundId >> 64 != latestId >> 64) revert UnknownRound(roundId, latestId);
        (, int256 answer, , uint256 updatedAt, ) = source.getRoundData(roundId);
        if (!_good(answer) || updatedAt == 0) revert BadRound(roundId, answer);
        goodPrice = uint256(answer) * SCALE;
        brokenSince = updatedAt + maxAge;
        for (uint80 later = roundId + 1; later <= latestId; ++later) {
            (, int256 laterAnswer, , uint256 laterAt, ) = source.getRoundData(later);
            if (_good(laterAnswer)) revert LaterGoodRound(roundId, later);
            // The first bad round is when the feed broke, unless the good round went stale before it.
            if (later == roundId + 1 && laterAt < brokenSince) brokenSince = laterAt;
        }
    }

    /// @inheritdoc IPriceOracle
    function priceForNewRisk() external view returns (uint256) {
        _checkSequencer();
        return price();
    }

    /// @inheritdoc IPriceOracle
    function sequencerReady() external view returns (bool) {
        if (sequencerFeed == address(0)) return true;
        (, int256 status, uint256 startedAt, , ) = AggregatorV3Interface(sequencerFeed).latestRoundData();
        return status == 0 && startedAt != 0 && block.timestamp >= startedAt + gracePeriod;
    }

    /// @dev Whether `answer` is a price `_scaled` accepts.
    function _good(int256 answer) private view returns (bool) {
        // Compared before scaling, so that no answer, however large, overflows.
        return answer > 0 && uint256(answer) <= maxPrice / SCALE && uint256(answer) * SCALE >= minPrice;
    }

    /// @dev The latest round's `answer` as `price()` returns it: refused when older than `maxAge`, then as `_scaled`.
    function _fresh(int256 answer, uint256 updatedAt) private view returns (uint256) {
        // Written as an addition so that an answer stamped in the future cannot underflow.
        if (updatedAt + maxAge < block.timestamp) revert StalePrice(updatedAt, maxAge);
        return _scaled(answer);
    }

    /// @dev `answer` as an 18-decimal price, refused when non-positive or out of bounds.
    function _scaled(int256 answer) private view returns (uint256 scaled) {
        if (answer <= 0) revert NonPositivePrice(answer);
        scaled = uint256(answer) * SCALE;
        if (scaled < minPrice || scaled > maxPrice) revert PriceOutOfBounds(scaled, minPrice, maxPrice);
    }

    function _checkSequencer() private view {
        if (sequencerFeed == address(0)) return;
        // Chainlink's uptime feed answers 0 when the sequencer is up, 1 when it is down; `startedAt` is
        // when that status began, and 0 on a round that is not initialised yet.
        (, int256 status, uint256 startedAt, , ) = AggregatorV3Interface(sequencerFeed).latestRoundData();
        if (status != 0 || startedAt == 0) revert SequencerDown(startedAt);
        if (block.timestamp < startedAt + gracePeriod) revert SequencerGracePeriodNotOver(startedAt, gracePeriod);
    }
}
