// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {BackstopModule} from "../../contracts/BackstopModule.sol";
import {IBackstopModule} from "../../contracts/interfaces/IBackstopModule.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {vm} from "./utils/Vm.sol";

/// @notice The backstop's rolling cover limit (issue 18.1), fuzzed: random sequences of covers (several in
/// one second, at and across interval edges), stakes, income and exits at random times. After the run,
/// for every interval (s, s + W] whose start s is the end of a second the run observed, and every later
/// observation t <= s + W:
///
///     covers(s, t] <= floor(maxCoverRatio x (A(s) + in(s, t] + held(s - W, s]))
///
/// where A(s) is `totalAssets()` at the end of second s, in(s, t] the stake deposited and the income
/// vested in (s, t] (measured as the change of the assets not explained by covers and exits), and
/// held(s - W, s] the exits made while a cover lay within the last W, in the W before s (an exit held to
/// the reserve keeps the interval's capacity: its part of the crash stays with the stakers who remain).
/// With no held exit in the W before s this is: covers in any W-interval <= ratio x (assets at its start +
/// stake and income that arrived during it). The test's own ghosts (never the backstop's views) say what
/// was paid, deposited, exited and held.
contract CoverWindowTest is BaseTest {
    address private constant STAKER = address(0x57A);
    address private constant DEPOSITOR = address(0xD3);
    uint256 private constant STEPS = 24;

    MockERC20 private usd;
    BackstopModule private bs;

    // The ghosts: one entry per observation, in order.
    uint256[] private _time;
    uint256[] private _assets;
    uint256[] private _covered;
    uint256[] private _exited;
    uint256[] private _held;
    bool[] private _endOfSecond;
    uint256 private _cumCovered;
    uint256 private _cumExited;
    uint256 private _cumHeld;
    uint256 private _lastPaid; // when a cover last paid something
    uint256 private _window;

    function setUp() public {
        vm.warp(START_TIME);
        usd = new MockERC20("Mock USD", "mUSD", 6);
        bs = new BackstopModule(usd, address(this), address(this), "Backstop", "BACK");
        usd.approve(address(bs), type(uint256).max);
        for (uint256 i; i < 2; ++i) {
            address who = i == 0 ? STAKER : DEPOSITOR;
            usd.mint(who, 10 ** 15 * UNIT);
            vm.prank(who);
            usd.approve(address(bs), type(uint256).max);
        }
    }

    struct Run {
        uint256 seed;
        uint256 ratio;
        uint256 floor;
    }

    function testFuzz_covers_in_every_interval_stay_within_the_rolling_limit(
        uint256 seed,
        uint256 windowSeed,
        uint256 ratioSeed,
        uint256 stakeSeed,
        uint256 floorSeed
    ) public {
        _window = _bound(windowSeed, 1 hours, 7 days);
        Run memory r = Run(seed, _bound(ratioSeed, 0.01e18, 0.5e18), 0);
        uint256 stake = _bound(stakeSeed, 1_000, 10 ** 9 * UNIT);
        r.floor = floorSeed % 4 == 0 ? _bound(floorSeed, 0, stake / 2) : 0;
        bs.setCoverWindow(_window);
        bs.setParameters(1 days, 14 days, r.ratio, r.floor, 1 days);
        vm.prank(STAKER);
        bs.deposit(stake, STAKER);
        uint256 shares = bs.balanceOf(STAKER);
        vm.prank(STAKER);
        bs.requestRedeem(shares, STAKER, STAKER);
        _observe();

        for (uint256 i; i < STEPS; ++i) {
            uint256 rnd = uint256(keccak256(abi.encode(r.seed, i)));
            _advance(rnd);
            uint256 kind = (rnd >> 64) % 20;
            uint256 amount = rnd >> 128;
            if (kind < 12) _cover(amount);
            else if (kind < 14) _deposit(amount, stake);
            else if (kind < 16) _income(amount, stake);
            else _exit(amount);
            _observe();
        }
        _checkEveryInterval(r.ratio);
    }

    /// @dev Same second (a quarter of the steps), one second, or up to half an interval later.
    function _advance(uint256 rnd) private {
        uint256 pick = rnd % 8;
        uint256 dt =
            pick < 2
                ? 0
                : pick == 2
                    ? 1
                    : pick == 3
                        ? _window
                        : 1 + ((rnd >> 8) % (_window / 2));
        if (dt == 0) return;
        _endOfSecond[_endOfSecond.length - 1] = true; // nothing more happens in that second
        if (dt > 1) {
            vm.warp(block.timestamp + dt - 1);
            _observe();
            _endOfSecond[_endOfSecond.length - 1] = true;
        }
        vm.warp(block.timestamp + 1);
    }

    function _cover(uint256 seed) private {
        uint256 amount = _bound(seed, 1, 2 * bs.maxCover() + 2);
        uint256 before = usd.balanceOf(address(this));
        bs.cover(amount);
        uint256 paid = usd.balanceOf(address(this)) - before;
        _cumCovered += paid;
        if (paid > 0) _lastPaid = block.timestamp;
    }

    function _deposit(uint256 seed, uint256 stake) private {
        vm.prank(DEPOSITOR);
        bs.deposit(_bound(seed, 1, stake), DEPOSITOR);
    }

    function _income(uint256 seed, uint256 stake) private {
        uint256 amount = _bound(seed, 1, stake / 10 + 1);
        usd.mint(address(bs), amount);
        bs.notifyIncome(amount);
    }

    function _exit(uint256 seed) private {
        uint256 most = bs.maxWithdraw(STAKER);
        if (most == 0) return;
        uint256 assets = _bound(seed, 1, most);
        bool held = _lastPaid != 0 && block.timestamp < _lastPaid + _window;
        vm.prank(STAKER);
        bs.withdraw(assets, STAKER, STAKER);
        _cumExited += assets;
        if (held) _cumHeld += assets;
    }

    function _observe() private {
        _time.push(block.timestamp);
        _assets.push(bs.totalAssets());
        _covered.push(_cumCovered);
        _exited.push(_cumExited);
        _held.push(_cumHeld);
        _endOfSecond.push(false);
    }

    function _checkEveryInterval(uint256 ratio) private view {
        uint256 n = _time.length;
        for (uint256 i; i < n; ++i) {
            if (!_endOfSecond[i]) continue;
            uint256 s = _time[i];
            // Held exits in (s - W, s]: from the last observation at or before s - W (an earlier one only
            // counts more, which loosens nothing the contract promises).
            uint256 heldBefore;
            for (uint256 k = i; k > 0; --k) {
                if (_time[k - 1] + _window <= s) {
                    heldBefore = _held[k - 1];
                    break;
                }
            }
            uint256 held = _held[i] - heldBefore;
            for (uint256 j = i + 1; j < n && _time[j] <= s + _window; ++j) {
                uint256 covers = _covered[j] - _covered[i];
                uint256 exits = _exited[j] - _exited[i];
                // Whatever raised the assets besides covers and exits: deposits and vested income.
                uint256 inflow = _assets[j] + covers + exits - _assets[i];
                uint256 bound = ((_assets[i] + inflow + held) * ratio) / 1e18;
                _assertLe(covers, bound, "covers of an interval above ratio x (assets at its start + inflow)");
            }
        }
    }

    // ---------------------------------------------------------------- edges

    function _stake(uint256 amount) private {
        vm.prank(STAKER);
        bs.deposit(amount, STAKER);
    }

    /// @dev A cover exactly W after an earlier one no longer counts it; one second earlier it does.
    function test_a_cover_exactly_W_later_no_longer_counts_the_earlier_one() public {
        _stake(1_000 * UNIT);
        bs.cover(300 * UNIT); // the whole limit
        // Read back, not `block.timestamp`: via-IR may re-read the timestamp after a warp.
        uint256 t0 = bs.lastCoverTime();
        vm.warp(t0 + 1 days - 1);
        _assertEq(bs.maxCover(), 0, "one second before: still in the interval");
        _assertEq(bs.cover(1), 0, "nothing paid one second before");
        vm.warp(t0 + 1 days);
        // Base 700 + 0 covered in (t0, t0 + W]: limit 210.
        _assertEq(bs.maxCover(), 210 * UNIT, "exactly W later: the earlier cover is out");
        _assertEq(bs.coveredBetween(t0, t0 + 1 days), 0, "(t0, t0 + W] excludes t0");
        _assertEq(bs.coveredBetween(t0 - 1, t0 + 1 days), 300 * UNIT, "(t0 - 1, t0 + W] includes it");
    }

    /// @dev Many covers in one second update one checkpoint and share one limit.
    function test_covers_in_one_second_share_the_limit() public {
        _stake(1_000 * UNIT);
        uint256 paid;
        for (uint256 i; i < 10; ++i) paid += bs.cover(40 * UNIT);
        _assertEq(paid, 300 * UNIT, "ten covers in one second: 30 % in all");
        _assertEq(bs.coveredBetween(block.timestamp - 1, block.timestamp), 300 * UNIT, "one second's covers");
    }

    /// @dev Before the chain's time reaches W, the interval starts at 0 (no underflow).
    function test_cover_at_a_timestamp_below_the_window() public {
        vm.warp(1_000);
        _stake(1_000 * UNIT);
        _assertEq(bs.cover(100 * UNIT), 100 * UNIT, "a cover at t = 1,000 < W pays");
        IBackstopModule.CoverWindow memory w = bs.coverWindowStatus();
        _assertEq(w.since, 0, "the interval starts at 0");
        _assertEq(w.used, 100 * UNIT, "and counts the cover");
    }

    /// @dev The floor: a cover never takes the assets below `minAssetsRemaining`, whatever the ratio leaves.
    function test_the_floor_binds_below_the_ratio() public {
        _stake(1_000 * UNIT);
        bs.setParameters(7 days, 2 days, 0.5e18, 900 * UNIT, 7 days);
        _assertEq(bs.cover(500 * UNIT), 100 * UNIT, "the floor leaves 900");
        _assertEq(bs.totalAssets(), 900 * UNIT, "at the floor");
        _assertEq(bs.cover(1), 0, "nothing below the floor");
    }

    /// @dev Exits are held while a cover lies within the last W, free from exactly W after the latest.
    function test_exits_are_free_exactly_W_after_the_latest_cover() public {
        _stake(1_000 * UNIT);
        bs.setParameters(1 days, 14 days, 0.3e18, 0, 7 days);
        uint256 shares = bs.balanceOf(STAKER);
        vm.prank(STAKER);
        bs.requestRedeem(shares, STAKER, STAKER);
        vm.warp(block.timestamp + 1 days);
        bs.cover(100 * UNIT); // base 1,000: 200 remains; 700 may leave
        uint256 t0 = bs.lastCoverTime();
        _assertEq(bs.maxWithdraw(STAKER), 700 * UNIT, "held: the remaining capacity stays");
        _assertEq(bs.coverWindowStatus().exitsHeldUntil, t0 + 1 days, "held until t0 + W");
        vm.warp(t0 + 1 days - 1);
        _assertEq(bs.maxWithdraw(STAKER), 700 * UNIT, "still held one second before");
        vm.warp(t0 + 1 days);
        _assertEq(bs.maxWithdraw(STAKER), 900 * UNIT, "free exactly W after the cover");
        _assertEq(bs.coverWindowStatus().exitsHeldUntil, 0, "nothing held");
    }
}
