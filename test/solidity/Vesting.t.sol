// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Pool} from "../../contracts/interfaces/IPerpEngine.sol";
import {VestingLib} from "../../contracts/libraries/VestingLib.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {vm} from "./utils/Vm.sol";

/// @notice The vesting of gains that are not oracle rounds (VestingLib), on a pool in this contract's storage:
/// a gain vests within a day, the rest of earlier gains never vests sooner when one is added, and adding
/// often cannot stretch it.
contract VestingTest is BaseTest {
    uint256 private constant DAY = 1 days; // VestingLib.PERIOD
    uint256 private constant START = 1_800_000_000;
    Pool private pool;

    function _unvested() private view returns (uint256) {
        return VestingLib.unvested(pool.vesting, pool.vestingFrom, pool.vestingEnd);
    }

    function test_a_gain_vests_linearly_within_a_day_rounded_up() public {
        vm.warp(START);
        VestingLib.add(pool, 1_000);
        _assertEq(_unvested(), 1_000, "all of it at first");
        vm.warp(START + DAY / 2);
        _assertEq(_unvested(), 500, "half after half a day");
        vm.warp(START + 1);
        _assertEq(_unvested(), 1_000, "999.99 rounds up to 1,000: the mark counts a unit less, not more");
        vm.warp(START + DAY - 1);
        _assertEq(_unvested(), 1, "0.01 rounds up to 1 at the last second");
        vm.warp(START + DAY);
        _assertEq(_unvested(), 0, "nothing at the end");
    }

    function test_a_gain_added_to_a_nearly_vested_rest_vests_over_a_weighted_time() public {
        vm.warp(START);
        VestingLib.add(pool, 3_000);
        vm.warp(START + (DAY * 2) / 3); // 1,000 left for 8 hours
        VestingLib.add(pool, 1_000);
        // (1,000 x 8 h + 1,000 x 24 h) / 2,000: the two vest together over 16 hours.
        _assertEq(pool.vestingEnd, START + (DAY * 2) / 3 + (DAY * 2) / 3, "a duration weighted by amount");
        _assertEq(_unvested(), 2_000, "the rest and the new gain");
    }

    /// forge-config: default.fuzz.runs = 512
    function testFuzz_the_rest_never_vests_sooner_and_a_new_gain_within_a_day(
        uint256 first,
        uint256 second,
        uint256 gap,
        uint256 later
    ) public {
        first = _bound(first, 1, 1e30);
        second = _bound(second, 1, 1e30);
        gap = _bound(gap, 0, 2 * DAY);
        later = _bound(later, 0, 2 * DAY);
        vm.warp(START);
        VestingLib.add(pool, first);
        vm.warp(START + gap);
        (uint256 oldAmount, uint256 oldFrom, uint256 oldEnd) = (pool.vesting, pool.vestingFrom, pool.vestingEnd);
        uint256 left = _unvested();
        VestingLib.add(pool, second);
        _assertLe(pool.vestingEnd, block.timestamp + DAY, "everything has vested a day after the last gain");
        vm.warp(START + gap + later);
        _assertGe(
            _unvested(),
            VestingLib.unvested(oldAmount, oldFrom, oldEnd),
            "the rest of the earlier gain vests no sooner than it would have"
        );
        _assertLe(_unvested(), left + second, "never more than was vesting");
    }

    /// forge-config: default.fuzz.runs = 256
    function testFuzz_adding_dust_often_does_not_stretch_the_vesting(uint256 amount, uint256 every) public {
        amount = _bound(amount, DAY, 1e30);
        every = _bound(every, 1, 1 hours);
        vm.warp(START);
        VestingLib.add(pool, amount);
        uint256 end = pool.vestingEnd;
        // A unit of dust moves the end by (PERIOD - rest) / (left + 1) seconds, rounded down: nothing while at least
        // PERIOD units still vest (0.0864 of a 6-decimal token).
        for (uint256 t = START + every; t < end; t += every) {
            vm.warp(t);
            if (_unvested() < DAY) break;
            VestingLib.add(pool, 1);
            _assertEq(pool.vestingEnd, end, "dust cannot stretch the vesting");
        }
    }

    function test_dust_on_less_than_a_days_worth_of_units_moves_the_end_by_the_weighted_time() public {
        vm.warp(START);
        VestingLib.add(pool, DAY / 2); // 43,200 units
        vm.warp(START + DAY / 2); // 21,600 left for 12 hours
        VestingLib.add(pool, 1);
        // (21,600 x 43,200 + 1 x 86,400) / 21,601 = 43,201.99..: one second later, rounded down.
        _assertEq(pool.vestingEnd, START + DAY / 2 + 43_201, "one second for one unit on 21,600");
    }
}
