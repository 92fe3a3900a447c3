// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {BackstopModule} from "../../contracts/BackstopModule.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {GAS_VM} from "./gas/GasVm.sol";

/// @notice Gas of one backstop cover (the engine's call alone), in the cases a crash meets: the first cover
/// ever, a cover in a later second with earlier covers in the window, a second cover in the same second,
/// and a cover after a long history of covers. Each call runs isolated (cold storage).
/// forge-config: default.isolate = true
contract CoverGasTest {
    uint256 internal constant USD = 1e6;
    address internal constant ENGINE = address(0xE1);
    address internal constant STAKER = address(0x1002);
    MockERC20 internal token;
    BackstopModule internal backstop;

    function setUp() public {
        GAS_VM.warp(1_750_000_000);
        token = new MockERC20("Mock USD", "mUSD", 6);
        backstop = new BackstopModule(token, ENGINE, address(this), "Bulwark Backstop", "bwBACK");
        token.mint(STAKER, 1_000_000 * USD);
        GAS_VM.prank(STAKER);
        token.approve(address(backstop), type(uint256).max);
        GAS_VM.prank(STAKER);
        backstop.deposit(1_000_000 * USD, STAKER);
    }

    function _cover(uint256 amount) internal {
        GAS_VM.prank(ENGINE);
        backstop.cover(amount);
    }

    function test_Gas_CoverFirst() public {
        _cover(100 * USD);
        GAS_VM.snapshotGasLastCall("backstopCoverFirst");
    }

    function test_Gas_CoverLaterSecond() public {
        _cover(100 * USD);
        GAS_VM.warp(block.timestamp + 1 hours);
        _cover(100 * USD);
        GAS_VM.snapshotGasLastCall("backstopCoverLaterSecond");
    }

    function test_Gas_CoverSameSecond() public {
        _cover(100 * USD);
        _cover(100 * USD);
        GAS_VM.snapshotGasLastCall("backstopCoverSameSecond");
    }

    function test_Gas_CoverAfter100Covers() public {
        for (uint256 i; i < 100; ++i) {
            _cover(10 * USD);
            GAS_VM.warp(block.timestamp + 1 hours);
        }
        _cover(10 * USD);
        GAS_VM.snapshotGasLastCall("backstopCoverAfter100Covers");
    }
}
