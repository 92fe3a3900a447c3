// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title EmittingFeed (tests only)
/// @notice A price feed that, like a Chainlink aggregator, emits `AnswerUpdated` and `NewRound` for each round, so
/// that log-trigger upkeeps can be tested on the logs a real feed gives. Rounds are numbered 1, 2, ... (phase 0).
contract EmittingFeed is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint256 updatedAt;
    }

    /// @notice As Chainlink's `AggregatorInterface`.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

    uint8 public immutable decimals;
    uint256 public latestRound;
    mapping(uint256 roundId => Round) private _rounds;

    constructor(uint8 decimals_, int256 initialAnswer) {
        decimals = decimals_;
        updateAnswer(initialAnswer);
    }

    /// @notice Publishes a new round at this block's time.
    function updateAnswer(int256 answer) public {
        uint256 id = ++latestRound;
        _rounds[id] = Round(answer, block.timestamp);
        emit NewRound(id, msg.sender, block.timestamp);
        emit AnswerUpdated(answer, id, block.timestamp);
    }

    function latestAnswer() external view returns (int256) {
        return _rounds[latestRound].answer;
    }

    function getTimestamp(uint256 roundId) external view returns (uint256) {
        return _rounds[roundId].updatedAt;
    }

    function description() external pure returns (string memory) {
        return "EmittingFeed";
    }

    function version() external pure returns (uint256) {
        return 0;
    }

    function getRoundData(uint80 roundId) public view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = _rounds[roundId];
        return (roundId, r.answer, r.updatedAt, r.updatedAt, roundId);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        return getRoundData(uint80(latestRound));
    }
}
