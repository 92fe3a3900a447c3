// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

import {vm} from "../../utils/Vm.sol";
import {HandlerBase, System} from "./HandlerBase.sol";

/// @notice The world: time passes, prices move (up to gap crashes), and feeds go stale.
contract Simulator is HandlerBase {
    constructor(System memory system) HandlerBase(system) {}

    /// @dev Advances the clock by up to four days; `refresh` re-posts both prices (a heartbeat).
    function warp(uint256 secondsSeed, bool refresh) external action {
        uint256 t = ghosts.time() + _bound(secondsSeed, 1, 4 days);
        ghosts.setTime(t);
        vm.warp(t);
        if (refresh) {
            ethFeed.updateAnswer(ethFeed.latestAnswer());
            btcFeed.updateAnswer(btcFeed.latestAnswer());
        }
    }

    /// @dev Moves one market by -20 % to +20 % (a fresh round).
    function movePrice(uint256 marketSeed, uint256 bpsSeed) external action {
        MockV3Aggregator feed = _feed(marketSeed % 2);
        uint256 bps = _bound(bpsSeed, 8_000, 12_000);
        _post(feed, (uint256(feed.latestAnswer()) * bps) / 10_000);
    }

    /// @dev Nudges one market by -3 % to +3 %: small steps walk positions to the edge of their health,
    /// where partial liquidations happen.
    function nudge(uint256 marketSeed, uint256 bpsSeed) external action {
        MockV3Aggregator feed = _feed(marketSeed % 2);
        _post(feed, (uint256(feed.latestAnswer()) * _bound(bpsSeed, 9_700, 10_300)) / 10_000);
    }

    /// @dev A gap: one market falls 20 % to 80 % (or rises 25 % to 400 %) in one round.
    function gap(uint256 marketSeed, uint256 bpsSeed, bool down) external action {
        MockV3Aggregator feed = _feed(marketSeed % 2);
        uint256 answer = uint256(feed.latestAnswer());
        uint256 bps = _bound(bpsSeed, 2_000, 8_000);
        _post(feed, down ? (answer * (10_000 - bps)) / 10_000 : (answer * (10_000 + bps * 5)) / 10_000);
    }

    /// @dev The feed's latest round becomes older than the oracle's max age: every priced action refuses.
    function staleRound(uint256 marketSeed) external action {
        MockV3Aggregator feed = _feed(marketSeed % 2);
        uint256 old = block.timestamp - 3_601;
        feed.updateRoundData(uint80(feed.latestRound() + 1), feed.latestAnswer(), old, old);
    }

    /// @dev Keeps prices between $1 and $5M, inside the oracle's bounds.
    function _post(MockV3Aggregator feed, uint256 answer) private {
        if (answer < 1e8) answer = 1e8;
        if (answer > 5_000_000e8) answer = 5_000_000e8;
        feed.updateAnswer(int256(answer));
    }
}
