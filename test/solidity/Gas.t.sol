// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

import {BackstopModule} from "../../contracts/BackstopModule.sol";
import {ChainlinkOracle} from "../../contracts/ChainlinkOracle.sol";
import {LiquidityVault} from "../../contracts/LiquidityVault.sol";
import {PerpEngine} from "../../contracts/PerpEngine.sol";
import {InstantOrders} from "../../contracts/mocks/InstantOrders.sol";
import {MockERC20} from "../../contracts/mocks/MockERC20.sol";
import {GAS_VM} from "./gas/GasVm.sol";
import {defaultMarketConfig} from "./utils/MarketDefaults.sol";

/// @notice Gas snapshots of every user-facing operation, in the scenarios of scripts/bench.ts: a market in
/// use (LP and backstop funded, both sides open, fee income streaming), a fresh account for each first-time
/// action, time moved on between actions. Each test runs isolated, so every call is its own transaction
/// and its storage starts cold. `npm run gas:check` fails when a figure in snapshots/ changes. Trades go
/// through InstantOrders (tests only), which executes them at once at the oracle's price: their figures are
/// the engine's execution plus InstantOrders' own pull and price read, not an OrderBook execution.
/// forge-config: default.isolate = true
contract GasTest {
    uint256 internal constant ETH = 0;
    uint256 internal constant WAD = 1e18;
    uint256 internal constant USD = 1e6; // one collateral token
    int256 internal constant ETH_PRICE = 3_000e8;
    int256 internal constant BTC_PRICE = 60_000e8;

    MockERC20 internal token;
    MockV3Aggregator internal ethFeed;
    MockV3Aggregator internal btcFeed;
    PerpEngine internal engine;
    LiquidityVault internal vault;
    BackstopModule internal backstop;
    InstantOrders internal orders;

    address internal constant TREASURY = address(0x7EA5);
    address internal constant LP = address(0x1001);
    address internal constant STAKER = address(0x1002);
    address internal constant ALICE = address(0x1003);
    address internal constant BOB = address(0x1004);
    address internal constant KEEPER = address(0x1005);
    uint160 internal nextAccount = 0x2000;

    function setUp() public {
        token = new MockERC20("Mock USD", "mUSD", 6);
        ethFeed = new MockV3Aggregator(8, ETH_PRICE);
        btcFeed = new MockV3Aggregator(8, BTC_PRICE);
        ChainlinkOracle ethOracle = new ChainlinkOracle(
            address(ethFeed),
            3_600,
            WAD / 100,
            10_000_000 * WAD,
            address(0),
            0
        );
        ChainlinkOracle btcOracle = new ChainlinkOracle(
            address(btcFeed),
            3_600,
            WAD / 100,
            10_000_000 * WAD,
            address(0),
            0
        );
        engine = new PerpEngine(token, address(this), TREASURY);
        vault = new LiquidityVault(token, address(engine), "Bulwark LP", "bwLP");
        backstop = new BackstopModule(token, address(engine), address(this), "Bulwark Backstop", "bwBACK");
        orders = new InstantOrders(address(engine));
        orders.setExecutor(address(this), true); // this contract executes LP requests
        engine.wire(address(vault), address(backstop), address(orders));
        engine.grantRole(engine.MARKET_ADMIN_ROLE(), address(this));
        engine.addMarket(ethOracle, defaultMarketConfig(false));
        engine.addMarket(btcOracle, defaultMarketConfig(true));

        for (uint160 who = 0x1001; who <= 0x1005; ++who) _fund(address(who));
        _depositLp(LP, 1_000_000 * USD);
        GAS_VM.prank(STAKER);
        backstop.deposit(100_000 * USD, STAKER);
        GAS_VM.prank(ALICE);
        orders.openPosition(ETH, 10e18, 10_000 * USD);
        engine.distributeFees(); // fee income streams to the backstop
        // A market in use has a non-zero funding index (and checkpoint sum): let skewed funding accrue.
        _tick(60, ETH_PRICE);
        // ... and fees charged since the last distribution.
        GAS_VM.prank(BOB);
        orders.openPosition(ETH, -8e18, 10_000 * USD);
        _tick(600, ETH_PRICE);
    }

    /// @dev With positions open an LP enters by request: escrow, then (after the delay and a round) execution.
    function test_Gas_LpDeposit() public {
        address lp = _freshAccount();
        GAS_VM.prank(lp);
        vault.requestDepositWithLimit(10_000 * USD, lp, lp, 0, 0);
        GAS_VM.snapshotGasLastCall("lpRequestDeposit");
        uint80[] memory rounds = _roundAfterDelay();
        vault.executeRequest(lp, rounds);
        GAS_VM.snapshotGasLastCall("lpExecuteDeposit");
        GAS_VM.prank(lp);
        vault.deposit(10_000 * USD, lp);
        GAS_VM.snapshotGasLastCall("lpClaimDeposit");
    }

    /// @dev An LP's deposit before any position is open: request, execution (no round to read), claim.
    function _depositLp(address lp, uint256 assets) private {
        GAS_VM.prank(lp);
        vault.requestDepositWithLimit(assets, lp, lp, 0, 0);
        vault.executeRequest(lp, new uint80[](engine.marketCount()));
        GAS_VM.prank(lp);
        vault.deposit(assets, lp);
    }

    /// @dev ... and leaves by request the same way, then claims the exit at the end of its hold.
    function test_Gas_LpWithdraw() public {
        address lp = _freshAccount();
        GAS_VM.prank(lp);
        vault.requestDepositWithLimit(10_000 * USD, lp, lp, 0, 0);
        vault.executeRequest(lp, _roundAfterDelay());
        GAS_VM.prank(lp);
        vault.deposit(10_000 * USD, lp);
        _tick(600, ETH_PRICE);
        uint256 shares = vault.balanceOf(lp) / 2;
        GAS_VM.prank(lp);
        vault.requestRedeemWithLimit(shares, lp, lp, 0, 0);
        GAS_VM.snapshotGasLastCall("lpRequestRedeem");
        uint80[] memory rounds = _roundAfterDelay();
        vault.executeRequest(lp, rounds);
        GAS_VM.snapshotGasLastCall("lpExecuteRedeem");
        _tick(vault.EXIT_HOLD(), ETH_PRICE);
        GAS_VM.prank(lp);
        vault.redeem(shares, lp, lp);
        GAS_VM.snapshotGasLastCall("lpClaimExit");
    }

    function test_Gas_OpenPosition() public {
        address trader = _freshAccount();
        GAS_VM.prank(trader);
        orders.openPosition(ETH, 1e18, 600 * USD);
        GAS_VM.snapshotGasLastCall("openPosition");
    }

    function test_Gas_IncreasePosition() public {
        address trader = _openLong(600 * USD);
        _tick(600, ETH_PRICE);
        GAS_VM.prank(trader);
        orders.increasePosition(ETH, 0.5e18, 300 * USD);
        GAS_VM.snapshotGasLastCall("increasePosition");
    }

    function test_Gas_AddMargin() public {
        address trader = _openLong(600 * USD);
        _tick(600, ETH_PRICE);
        GAS_VM.prank(trader);
        engine.addMargin(ETH, 100 * USD);
        GAS_VM.snapshotGasLastCall("addMargin");
    }

    function test_Gas_ClosePosition() public {
        address trader = _openLong(600 * USD);
        _tick(600, ETH_PRICE);
        GAS_VM.prank(trader);
        orders.closePosition(ETH);
        GAS_VM.snapshotGasLastCall("closePosition");
    }

    /// @dev 1 ETH long with 400 margin at 3,000; at 2,750 its equity 150 is below 151.25, above the keeper fee.
    function test_Gas_Liquidate() public {
        address victim = _openLong(400 * USD);
        _tick(600, 2_750e8);
        GAS_VM.prank(KEEPER);
        engine.liquidate(victim, ETH, KEEPER);
        GAS_VM.snapshotGasLastCall("liquidate");
        require(engine.getPosition(victim, ETH).size == 0, "position not liquidated");
        require(backstop.totalCovered() == 0, "unexpected bad debt");
    }

    /// @dev At 2,600 the same position's equity is about zero, below the 13-token keeper fee: the backstop
    /// covers. The backstop's first cover ever also sets its cover statistics from zero; the second is typical.
    function test_Gas_LiquidateWithBackstopCover() public {
        address first = _openLong(400 * USD);
        address second = _openLong(400 * USD);
        _tick(600, 2_600e8);
        GAS_VM.prank(KEEPER);
        engine.liquidate(first, ETH, KEEPER);
        GAS_VM.snapshotGasLastCall("liquidateWithBackstopCoverFirst");
        _tick(600, 2_600e8);
        GAS_VM.prank(KEEPER);
        engine.liquidate(second, ETH, KEEPER);
        GAS_VM.snapshotGasLastCall("liquidateWithBackstopCover");
        // Each equity is zero less a little funding: each shortfall is the 13-token keeper fee and a bit more.
        uint256 covered = backstop.totalCovered();
        require(covered > 26 * USD && covered < 27 * USD, "backstop did not cover both shortfalls");
    }

    /// @dev Batches of 1 and of 11 positions like the one in test_Gas_Liquidate, at the same price.
    function test_Gas_LiquidateBatch() public {
        address[] memory one = new address[](1);
        uint256[] memory oneIds = new uint256[](1);
        address[] memory eleven = new address[](11);
        uint256[] memory elevenIds = new uint256[](11);
        one[0] = _openLong(400 * USD);
        for (uint256 i; i < 11; ++i) eleven[i] = _openLong(400 * USD);
        _tick(600, 2_750e8);

        GAS_VM.prank(KEEPER);
        (uint256 liquidatedOne, ) = engine.liquidateBatch(one, oneIds, KEEPER);
        uint256 gasOne = GAS_VM.snapshotGasLastCall("liquidateBatch1");
        GAS_VM.prank(KEEPER);
        (uint256 liquidatedEleven, ) = engine.liquidateBatch(eleven, elevenIds, KEEPER);
        uint256 gasEleven = GAS_VM.snapshotGasLastCall("liquidateBatch11");
        require(liquidatedOne == 1 && liquidatedEleven == 11, "batch skipped a position");
        require(gasEleven > gasOne, "a larger batch cost less");
        GAS_VM.snapshotValue("liquidateBatchPerExtraPosition", (gasEleven - gasOne) / 10);
    }

    function test_Gas_BackstopStake() public {
        address staker = _freshAccount();
        GAS_VM.prank(staker);
        backstop.deposit(10_000 * USD, staker);
        GAS_VM.snapshotGasLastCall("backstopStake");
    }

    function test_Gas_BackstopCooldown() public {
        address staker = _freshAccount();
        GAS_VM.prank(staker);
        uint256 shares = backstop.deposit(10_000 * USD, staker);
        _tick(600, ETH_PRICE);
        GAS_VM.prank(staker);
        backstop.requestRedeem(shares, staker, staker);
        GAS_VM.snapshotGasLastCall("backstopCooldown");
    }

    function test_Gas_BackstopUnstake() public {
        address staker = _freshAccount();
        GAS_VM.prank(staker);
        uint256 shares = backstop.deposit(10_000 * USD, staker);
        _tick(600, ETH_PRICE);
        GAS_VM.prank(staker);
        backstop.requestRedeem(shares, staker, staker);
        GAS_VM.warp(block.timestamp + 7 days + 1 hours);
        GAS_VM.prank(staker);
        backstop.redeem(shares, staker, staker);
        GAS_VM.snapshotGasLastCall("backstopUnstake");
        require(backstop.balanceOf(staker) == 0, "shares left behind");
    }

    // ---------------------------------------------------------------- helpers

    /// @dev An account never seen before, holding tokens approved to the four contracts.
    function _freshAccount() internal returns (address account) {
        account = address(++nextAccount);
        _fund(account);
    }

    function _fund(address account) internal {
        token.mint(account, 10_000_000 * USD);
        GAS_VM.prank(account);
        token.approve(address(engine), type(uint256).max);
        GAS_VM.prank(account);
        token.approve(address(vault), type(uint256).max);
        GAS_VM.prank(account);
        token.approve(address(backstop), type(uint256).max);
        GAS_VM.prank(account);
        token.approve(address(orders), type(uint256).max);
    }

    /// @dev A fresh account opening 1 ETH long at the current price.
    function _openLong(uint256 margin) internal returns (address trader) {
        trader = _freshAccount();
        GAS_VM.prank(trader);
        orders.openPosition(ETH, 1e18, margin);
    }

    /// @dev Moves time on and refreshes both feeds, so prices stay fresh and funding accrues.
    /// @dev Moves time past the order book's delay and posts a round on each feed: the ETH round is the first
    /// at or after a request made just before (BTC has no positions: its entry is ignored).
    function _roundAfterDelay() internal returns (uint80[] memory rounds) {
        _tick(orders.minDelay(), ETH_PRICE);
        rounds = new uint80[](2);
        rounds[ETH] = uint80(ethFeed.latestRound());
    }

    function _tick(uint256 seconds_, int256 ethPrice) internal {
        GAS_VM.warp(block.timestamp + seconds_);
        ethFeed.updateAnswer(ethPrice);
        btcFeed.updateAnswer(BTC_PRICE);
    }
}
