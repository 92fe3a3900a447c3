// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IPerpEngine, Pool} from "../interfaces/IPerpEngine.sol";
import {MathLib} from "./MathLib.sol";

/// @title VestingLib
/// @notice Gains that land in the LP pool without an oracle round — a backstop cover the capped mark did not
/// count, a recovery repayment — are steps in the share price that a request made or executed around them could
/// take. They enter the LP mark linearly instead (as the backstop streams its income): deposits and redemptions
/// are priced without what is still vesting, so a share earns a gain only as it vests, while it is held. Losses
/// never stream.
library VestingLib {
    using MathLib for uint256;

    /// @dev A gain vests over at most a day: longer than a request's life on the deployed parameters, so a round
    /// trip around one (a deposit, then a redemption a delay and a round later) takes a few seconds' worth.
    uint256 internal constant PERIOD = 1 days;

    /// @dev What is left of `amount`, set at `from` to vest linearly until `end`, rounded up (the LP mark counts a
    /// unit less rather than more).
    function unvested(uint256 amount, uint256 from, uint256 end) internal view returns (uint256) {
        if (block.timestamp >= end) return 0;
        return amount.mulDivUp(end - block.timestamp, end - from);
    }

    /// @dev Adds `gain` (already in `pool.lpBalance`) to what vests. The rest of the earlier gains and this one vest
    /// together until a time weighted by amount between the earlier end and a full `PERIOD` from now: the rest never
    /// vests sooner, and calling this often (anyone may call `distributeFees`) cannot stretch it.
    function add(Pool storage pool, uint256 gain) internal {
        uint256 end = pool.vestingEnd;
        uint256 left = unvested(pool.vesting, pool.vestingFrom, end);
        uint256 rest = end > block.timestamp ? end - block.timestamp : 0;
        uint256 total = left + gain;
        // Rounded down: still at least `rest` (PERIOD >= rest), and a unit of dust moves the end by nothing while at
        // least PERIOD units vest.
        uint256 duration = (left * rest + gain * PERIOD) / total;
        pool.vesting = SafeCast.toUint128(total);
        // Both fit for millions of years.
        (pool.vestingFrom, pool.vestingEnd) = (uint48(block.timestamp), uint48(block.timestamp + duration));
        emit IPerpEngine.GainVesting(gain, total, block.timestamp + duration);
    }
}
