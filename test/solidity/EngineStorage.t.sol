// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IPerpEngine, Market, MarketConfig, Pool, Position} from "../../contracts/interfaces/IPerpEngine.sol";
import {AccrualLib} from "../../contracts/libraries/AccrualLib.sol";
import {EngineStorage} from "../../contracts/libraries/EngineStorage.sol";
import {PositionMath} from "../../contracts/libraries/PositionMath.sol";
import {BaseTest} from "./utils/BaseTest.sol";
import {Log, vm} from "./utils/Vm.sol";

/// @notice EngineStorage's slots and decoding against the engine's real storage, as morpho-blue's
/// MorphoStorageLib test does: state is written through the engine (trades, a borrowing rate, liquidations, a
/// settlement), then every field is read raw at the library's slots (`extsload`) and compared with what the engine
/// reports through its compiled getters or with what was written. A struct field moved, resized or reordered
/// without the library following fails here.
contract EngineStorageTest is BaseTest {
    address internal constant LP = address(0x1001);
    address internal constant STAKER = address(0x1002);
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    address internal constant CAROL = address(0xCA401);
    address internal constant DAVE = address(0xDA7E);
    address internal constant KEEPER = address(0x4EE9);
    uint256 internal constant BORROW_RATE = 0.0001e18;

    function setUp() public {
        _deploySystem();
        _fund(LP, 1_000_000 * UNIT);
        _depositLp(LP, 1_000_000 * UNIT);
        _fund(STAKER, 100_000 * UNIT);
        vm.prank(STAKER);
        backstop.deposit(100_000 * UNIT, STAKER);
        _fund(ALICE, 100_000 * UNIT);
        _fund(BOB, 100_000 * UNIT);
        _fund(CAROL, 100_000 * UNIT);
        _fund(DAVE, 100_000 * UNIT);
    }

    function test_Root_IsTheErc7201SlotOfTheNamespace() public pure {
        bytes32 expected =
            keccak256(abi.encode(uint256(keccak256("bulwark.storage.PerpEngine")) - 1)) & ~bytes32(uint256(0xff));
        _assertEq(uint256(EngineStorage.ROOT), uint256(expected), "root");
    }

    /// @dev A market with both sides open, funding and borrowing accrued for a day: every field of its ten words.
    function test_Market_EveryFieldReadsBackAtTheLibrarySlots() public {
        engine.setBorrowRate(ETH, BORROW_RATE);
        _open(ALICE, 10e18, 5_000 * UNIT);
        _open(BOB, -4e18, 3_000 * UNIT);
        vm.warp(block.timestamp + 1 days);
        ethFeed.updateAnswer(3_050e8);
        // Two positions opened in the same second settle against index + borrow and index - borrow.
        _open(CAROL, 1e18, 1_000 * UNIT);
        _open(DAVE, -1e18, 1_100 * UNIT);

        Market memory m = EngineStorage.market(engine, ETH);
        Position memory c = engine.getPosition(CAROL, ETH);
        Position memory d = engine.getPosition(DAVE, ETH);
        int256 borrow = (int256(c.fundingIndex) - d.fundingIndex) / 2;
        _assertEq(uint256(uint160(address(m.oracle))), uint256(uint160(address(ethOracle))), "oracle");
        _assertEq(m.borrowRatePerDay, BORROW_RATE, "borrowRatePerDay");
        _assertEq(int256(m.borrowIndex), borrow, "borrowIndex");
        _assertTrue(borrow > 0, "a day of borrowing accrued");
        _assertEq(int256(m.fundingIndex), (int256(c.fundingIndex) + d.fundingIndex) / 2, "fundingIndex");
        _assertTrue(m.fundingIndex > 0, "a day of funding accrued (longs pay)");
        _assertEq(uint256(m.lastFundingTime), block.timestamp, "lastFundingTime");
        _assertEq(m.settlementPrice, 0, "settlementPrice");

        address[4] memory accounts = [ALICE, BOB, CAROL, DAVE];
        uint256[2] memory size;
        uint256[2] memory entryNotional;
        uint256[2] memory margin;
        int256 checkpoints;
        for (uint256 i; i < accounts.length; ++i) {
            Position memory p = engine.getPosition(accounts[i], ETH);
            uint256 side = p.size > 0 ? 0 : 1;
            uint256 abs = uint256(p.size > 0 ? int256(p.size) : -int256(p.size));
            size[side] += abs;
            entryNotional[side] += PositionMath.notionalUsd(abs, p.entryPrice);
            margin[side] += p.margin;
            checkpoints += (int256(p.size) * p.fundingIndex) / 1e18;
        }
        _assertEq(m.longSize, size[0], "longSize");
        _assertEq(m.longEntryNotional, entryNotional[0], "longEntryNotional");
        _assertEq(m.shortSize, size[1], "shortSize");
        _assertEq(m.shortEntryNotional, entryNotional[1], "shortEntryNotional");
        _assertEq(m.longMargin, margin[0], "longMargin");
        _assertEq(m.shortMargin, margin[1], "shortMargin");
        _assertEq(int256(m.fundingCheckpointSum), checkpoints, "fundingCheckpointSum");
        _assertConfig(m.config, _marketConfig(ETH));
    }

    /// @dev A settled market: its clock reads SETTLED and its settlement price sits in its last word, where the
    /// vault's mark finds it.
    function test_SettledMarket_ClockAndPriceReadBackAtTheLibrarySlots() public {
        vm.prank(ALICE);
        orders.openPosition(BTC, 0.5e18, 5_000 * UNIT);
        btcFeed.updateAnswer(61_000e8);
        engine.settleMarket(BTC, 0);

        (bool open, Market memory m) = EngineStorage.marketForMark(engine, BTC, 0, 0);
        _assertTrue(open, "BTC has a position");
        _assertEq(uint256(m.lastFundingTime), AccrualLib.SETTLED, "lastFundingTime");
        _assertEq(m.settlementPrice, 61_000e18, "settlementPrice");
        _assertEq(EngineStorage.market(engine, BTC).settlementPrice, 61_000e18, "settlementPrice (all words)");
        _assertEq(engine.marketPrice(BTC), 61_000e18, "the engine values the market at it");
        (, m) = EngineStorage.marketForMark(engine, ETH, 0, 0);
        _assertEq(m.settlementPrice, 0, "ETH is not settled");
    }

    /// @dev A position's two words, against `getPosition` (the compiler's reading of the same struct).
    function test_Position_EveryFieldReadsBackAtTheLibrarySlots() public {
        engine.setBorrowRate(ETH, BORROW_RATE);
        _open(ALICE, 3e18, 2_000 * UNIT);
        vm.warp(block.timestamp + 1 hours);
        ethFeed.updateAnswer(3_010e8);
        _open(BOB, -2e18, 1_500 * UNIT);
        for (uint256 i; i < 2; ++i) {
            address account = i == 0 ? ALICE : BOB;
            Position memory expected = engine.getPosition(account, ETH);
            Position memory p = EngineStorage.decodePosition(
                engine.extsload(EngineStorage.positionSlot(account, ETH), EngineStorage.POSITION_WORDS)
            );
            _assertEq(int256(p.size), int256(expected.size), "size");
            _assertEq(p.entryPrice, expected.entryPrice, "entryPrice");
            _assertEq(p.margin, expected.margin, "margin");
            _assertEq(int256(p.fundingIndex), int256(expected.fundingIndex), "fundingIndex");
        }
        _assertTrue(engine.getPosition(BOB, ETH).fundingIndex != 0, "Bob's checkpoint is not zero");
        _assertEq(int256(engine.getPosition(BOB, ETH).size), -2e18, "Bob's size as traded");
    }

    /// @dev The pool's three words, with every field non-zero: fees, a reserve, a penalty (a liquidation with
    /// equity left) and a vesting gain (a bankrupt liquidation the backstop covers). The LP balance and the reserve
    /// against the engine's getters; the penalty and the vesting gain against the engine's events; the pending
    /// fees and penalties against what `distributeFees` pays out of them.
    function test_Pool_EveryFieldReadsBackAtTheLibrarySlots() public {
        _open(ALICE, 10e18, 3_000 * UNIT); // 10x: liquidatable about 5 % lower
        _open(BOB, 1e18, 400 * UNIT); // healthy at $2,850, bankrupt at $2,500
        ethFeed.updateAnswer(2_850e8);
        uint256 penalty = lens.previewLiquidation(ALICE, ETH).penalty;
        engine.liquidate(ALICE, ETH, KEEPER); // equity left: a penalty
        ethFeed.updateAnswer(2_500e8);
        vm.recordLogs();
        engine.liquidate(BOB, ETH, KEEPER); // bankrupt: the backstop covers, and the step vests
        (uint256 vestingTotal, uint256 vestingEnd) = _gainVesting(vm.getRecordedLogs());
        _open(CAROL, 2e18, 1_000 * UNIT); // a reserve again

        Pool memory p = EngineStorage.pool(engine);
        _assertEq(p.lpBalance, engine.lpBalance(), "lpBalance");
        _assertEq(p.totalReserved, engine.totalReserved(), "totalReserved");
        _assertTrue(p.totalReserved != 0, "Carol's reserve");
        _assertEq(p.pendingPenalties, penalty, "pendingPenalties: Alice's penalty");
        _assertTrue(penalty != 0, "Alice paid a penalty");
        _assertEq(p.vesting, vestingTotal, "vesting: the GainVesting event's amount");
        _assertTrue(vestingTotal != 0, "the cover's step vests");
        _assertEq(p.vestingFrom, block.timestamp, "vestingFrom");
        _assertEq(p.vestingEnd, vestingEnd, "vestingEnd: the GainVesting event's end");

        // distributeFees pays the treasury its third of the pending fees (less the unit that stays behind) and
        // the backstop the rest with the penalties: both read the pool's second word through the compiler.
        _assertTrue(p.pendingProtocolFees > 1, "fees are pending");
        uint256 fees = p.pendingProtocolFees - 1;
        uint256 toTreasury =
            (fees * engine.treasuryFeeShare()) / (engine.backstopFeeShare() + engine.treasuryFeeShare());
        uint256 treasuryBefore = token.balanceOf(treasury);
        uint256 backstopBefore = token.balanceOf(address(backstop));
        engine.distributeFees();
        _assertEq(token.balanceOf(treasury) - treasuryBefore, toTreasury, "the treasury's part of pendingProtocolFees");
        _assertEq(
            token.balanceOf(address(backstop)) - backstopBefore,
            fees - toTreasury + p.pendingPenalties,
            "the backstop's part of pendingProtocolFees, with pendingPenalties"
        );
        _assertEq(lens.pendingProtocolFees(), 1, "one unit stays behind");
        _assertEq(lens.pendingPenalties(), 0, "penalties paid out");
    }

    /// @dev The amount and end of the last `GainVesting` the engine emitted in `logs`.
    function _gainVesting(Log[] memory logs) internal view returns (uint256 total, uint256 end) {
        bytes32 topic = IPerpEngine.GainVesting.selector;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(engine) && logs[i].topics[0] == topic) {
                (, total, end) = abi.decode(logs[i].data, (uint256, uint256, uint256));
            }
        }
    }

    /// @dev What the readers of a market read (the order book's oracle, the vault's open flag) at the same slots.
    function test_Readers_OracleAndOpenFlag() public {
        _assertEq(
            uint256(uint160(address(EngineStorage.oracle(engine, BTC)))),
            uint256(uint160(address(btcOracle))),
            "BTC's oracle"
        );
        _assertEq(uint256(uint160(address(EngineStorage.oracle(engine, 2)))), 0, "no market 2");
        (bool open, ) = EngineStorage.marketForMark(engine, ETH, 0, 0);
        _assertTrue(!open, "no positions yet");
        _open(ALICE, -1e18, 1_000 * UNIT);
        (open, ) = EngineStorage.marketForMark(engine, ETH, 0, 0);
        _assertTrue(open, "a short opens the market");
    }

    function _open(address who, int256 size, uint256 margin) internal {
        vm.prank(who);
        orders.openPosition(ETH, size, margin);
    }

    function _assertConfig(MarketConfig memory c, MarketConfig memory e) internal pure {
        _assertEq(c.initialMarginRatio, e.initialMarginRatio, "initialMarginRatio");
        _assertEq(c.maintenanceMarginRatio, e.maintenanceMarginRatio, "maintenanceMarginRatio");
        _assertEq(c.tradingFeeRatio, e.tradingFeeRatio, "tradingFeeRatio");
        _assertEq(c.liquidationPenaltyRatio, e.liquidationPenaltyRatio, "liquidationPenaltyRatio");
        _assertEq(c.keeperFeeRatio, e.keeperFeeRatio, "keeperFeeRatio");
        _assertEq(c.maxProfitFactor, e.maxProfitFactor, "maxProfitFactor");
        _assertEq(c.maxFundingRatePerDay, e.maxFundingRatePerDay, "maxFundingRatePerDay");
        _assertEq(c.partialLiquidationBuffer, e.partialLiquidationBuffer, "partialLiquidationBuffer");
        _assertEq(c.minKeeperFee, e.minKeeperFee, "minKeeperFee");
        _assertEq(c.maxKeeperFee, e.maxKeeperFee, "maxKeeperFee");
        _assertEq(c.minMargin, e.minMargin, "minMargin");
        _assertEq(c.minNotional, e.minNotional, "minNotional");
        _assertEq(c.maxOpenInterest, e.maxOpenInterest, "maxOpenInterest");
        _assertEq(c.skewScale, e.skewScale, "skewScale");
        _assertEq(c.partialLiquidationThreshold, e.partialLiquidationThreshold, "partialLiquidationThreshold");
    }
}
