// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {BackstopModule} from "../../../../contracts/BackstopModule.sol";

/// @notice Shared ghost state of the invariant run: every token that entered or left the engine and the
/// backstop, per path; the simulated clock; and the first violation each handler-side check recorded
/// (invariants INV-WF, INV-LIQ, INV-BACK, INV-LIVE, INV-ADM, INV-PAUSE, INV-CLAIM are checked inside
/// handlers, around each call).
contract Ghosts {
    // Token flows, measured as balance changes of the counterparties (never from return values).
    uint256 public engineIn;
    uint256 public engineOut;
    uint256 public backstopIn;
    uint256 public backstopOut;
    mapping(bytes32 path => uint256) public pathTotal;
    mapping(bytes32 path => uint256) public pathCount;

    uint256 public time;

    // INV-CLAIM: liquidation refunds deferred to `claimable` (the trader was blocked), per account, since
    // the account's last claim; measured as the change of `claimable` around each liquidation.
    mapping(address account => uint256) public deferred;

    mapping(bytes32 id => uint256) public violations;
    mapping(bytes32 id => string) public firstViolation;

    // INV-BACK-1: the backstop's share price (assets + 1) / (supply + 1e6) as of the last action.
    uint256 private _lastAssets;
    uint256 private _lastSupply;
    uint256 private _lastCovered;

    // INV-BACK-3: every cover observed (time, amount measured from the backstop's balance), in order.
    uint256[] private _coverTimes;
    uint256[] private _coverAmounts;

    // INV-REC: losses the engine socialized (its LossSocialized events) and the income the backstop
    // repaid to the LP pool (LossRecovered), summed over the run.
    uint256 public socialized;
    uint256 public recovered;

    constructor(uint256 time_) {
        time = time_;
    }

    function addSocialized(uint256 amount) external {
        socialized += amount;
    }

    function addRecovered(uint256 amount) external {
        recovered += amount;
    }

    function setTime(uint256 time_) external {
        time = time_;
    }

    function engineFlow(bytes32 path, uint256 inAmount, uint256 outAmount) external {
        engineIn += inAmount;
        engineOut += outAmount;
        pathTotal[path] += inAmount + outAmount;
        pathCount[path] += 1;
    }

    function backstopFlow(bytes32 path, uint256 inAmount, uint256 outAmount) external {
        backstopIn += inAmount;
        backstopOut += outAmount;
        pathTotal[path] += inAmount + outAmount;
        pathCount[path] += 1;
    }

    function defer(address account, uint256 amount) external {
        deferred[account] += amount;
    }

    function claimed(address account) external {
        deferred[account] = 0;
    }

    function count(bytes32 path) external {
        pathCount[path] += 1;
    }

    function fail(bytes32 id, string memory reason) public {
        if (violations[id] == 0) firstViolation[id] = reason;
        violations[id] += 1;
    }

    /// @dev INV-BACK-3: `covered` (measured from the backstop's balance) was just paid by the covers of
    /// one call. The covers observed in the rolling interval (now - coverWindow, now], summed here, equal
    /// what the backstop reports as used and stay within its limit, floor(base x maxCoverRatio).
    function recordCover(BackstopModule backstop, uint256 covered) external {
        if (covered == 0) return;
        _coverTimes.push(block.timestamp);
        _coverAmounts.push(covered);
        BackstopModule.CoverWindow memory w = backstop.coverWindowStatus();
        uint256 sum;
        for (uint256 i = _coverTimes.length; i > 0 && _coverTimes[i - 1] > w.since; --i) sum += _coverAmounts[i - 1];
        if (sum > (w.base * backstop.maxCoverRatio()) / 1e18) {
            fail("INV-BACK", "the covers of a rolling interval exceeded its limit");
        }
        if (sum != w.used) fail("INV-BACK", "the interval's covers differ from what the backstop reports");
    }

    /// @dev INV-BACK-1: between two actions the share price may fall only if a cover happened.
    function checkBackstopPrice(BackstopModule backstop) external {
        uint256 assets = backstop.totalAssets() + 1;
        uint256 supply = backstop.totalSupply() + 1e6;
        uint256 covered = backstop.totalCovered();
        if (_lastSupply != 0 && assets * _lastSupply < _lastAssets * supply && covered == _lastCovered) {
            if (violations["INV-BACK"] == 0) firstViolation["INV-BACK"] = "backstop share price fell without a cover";
            violations["INV-BACK"] += 1;
        }
        _lastAssets = assets;
        _lastSupply = supply;
        _lastCovered = covered;
    }
}
