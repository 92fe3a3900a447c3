// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

import {BackstopModule} from "../../../contracts/BackstopModule.sol";
import {ChainlinkOracle} from "../../../contracts/ChainlinkOracle.sol";
import {LiquidityVault} from "../../../contracts/LiquidityVault.sol";
import {OrderBook} from "../../../contracts/OrderBook.sol";
import {PerpEngine} from "../../../contracts/PerpEngine.sol";
import {PerpLens} from "../../../contracts/PerpLens.sol";
import {ExecutionClass, ExecutionGas} from "../../../contracts/interfaces/IOrderBook.sol";
import {MarketConfig} from "../../../contracts/interfaces/IPerpEngine.sol";
import {BlocklistToken} from "../../../contracts/mocks/BlocklistToken.sol";
import {InstantOrders} from "../../../contracts/mocks/InstantOrders.sol";
import {defaultMarketConfig} from "./MarketDefaults.sol";
import {vm} from "./Vm.sol";

/// @notice Deploys and wires the system as test/helpers/system.ts does (6-decimal collateral, ETH-USD at
/// $3,000 and BTC-USD at $60,000 on 8-decimal mock feeds, the default market config; the collateral can
/// block accounts), and offers the
/// assertions that forge-std would have.
abstract contract BaseTest {
    error AssertionFailed(string what, int256 left, int256 right);
    error AssertionFailedUint(string what, uint256 left, uint256 right);

    uint256 internal constant ONE = 1e18;
    uint8 internal constant DECIMALS = 6;
    uint256 internal constant UNIT = 1e6; // one collateral token
    uint256 internal constant DEN = 1e18 * 1e12; // size x price / DEN = collateral units
    uint8 internal constant FEED_DECIMALS = 8;
    uint256 internal constant ORACLE_MAX_AGE = 3_600;
    uint256 internal constant START_TIME = 1_750_000_000;
    uint256 internal constant ETH = 0;
    uint256 internal constant BTC = 1;
    // The OrderBook's parameters when it is wired (`_deploySystem(true)`), as in test/helpers/system.ts.
    uint256 internal constant ORDER_DELAY = 30;
    uint256 internal constant ORDER_MAX_AGE = 3_600;
    uint256 internal constant MIN_EXECUTION_FEE = UNIT;

    BlocklistToken internal token; // blocks accounts as USDC does: refunds to them are deferred to claim
    MockV3Aggregator internal ethFeed;
    MockV3Aggregator internal btcFeed;
    ChainlinkOracle internal ethOracle;
    ChainlinkOracle internal btcOracle;
    PerpEngine internal engine;
    LiquidityVault internal vault;
    BackstopModule internal backstop;
    PerpLens internal lens;
    /// @dev What the engine is wired to trade for: InstantOrders (the one-step trades of the accounting
    /// tests, at the oracle's current price) unless `_deploySystem(true)` wired the OrderBook (`book`).
    InstantOrders internal orders;
    OrderBook internal book;
    address internal treasury = address(0x7EA5);

    function _deploySystem() internal {
        _deploySystem(false);
    }

    /// @param withOrderBook Wire the real two-step OrderBook instead of InstantOrders.
    function _deploySystem(bool withOrderBook) internal {
        vm.warp(START_TIME);
        token = new BlocklistToken("Mock USD", "mUSD", DECIMALS);
        ethFeed = new MockV3Aggregator(FEED_DECIMALS, 3_000e8);
        btcFeed = new MockV3Aggregator(FEED_DECIMALS, 60_000e8);
        ethOracle = new ChainlinkOracle(address(ethFeed), ORACLE_MAX_AGE, 0.01e18, 10_000_000e18, address(0), 0);
        btcOracle = new ChainlinkOracle(address(btcFeed), ORACLE_MAX_AGE, 0.01e18, 10_000_000e18, address(0), 0);

        engine = new PerpEngine(token, address(this), treasury);
        vault = new LiquidityVault(token, address(engine), "Bulwark LP", "bwLP");
        backstop = new BackstopModule(token, address(engine), address(this), "Bulwark Backstop", "bwBACK");
        if (withOrderBook) {
            // Executors are granted by each test (this contract is the book's admin).
            book = new OrderBook(
                address(engine),
                address(this),
                address(ethOracle), // prices gas (tx.gasprice is zero here, so the floor is the minimum)
                ORDER_DELAY,
                ORDER_MAX_AGE,
                MIN_EXECUTION_FEE,
                ExecutionGas(400_000, 300_000, 300_000, 50_000),
                new address[](0)
            );
            engine.wire(address(vault), address(backstop), address(book));
        } else {
            orders = new InstantOrders(address(engine));
            engine.wire(address(vault), address(backstop), address(orders));
        }
        engine.grantRole(engine.MARKET_ADMIN_ROLE(), address(this));
        engine.grantRole(engine.GUARDIAN_ROLE(), address(this));
        engine.addMarket(ethOracle, _marketConfig(ETH));
        engine.addMarket(btcOracle, _marketConfig(BTC));
        lens = new PerpLens(engine);
    }

    function _marketConfig(uint256 marketId) internal pure returns (MarketConfig memory) {
        return defaultMarketConfig(marketId == BTC);
    }

    /// @dev Mints `amount` to `who` and approves the engine, the vault, the backstop and the order contract
    /// that is wired for everything.
    function _fund(address who, uint256 amount) internal {
        token.mint(who, amount);
        vm.startPrank(who);
        token.approve(address(engine), type(uint256).max);
        token.approve(address(vault), type(uint256).max);
        token.approve(address(backstop), type(uint256).max);
        token.approve(address(orders) == address(0) ? address(book) : address(orders), type(uint256).max);
        vm.stopPrank();
    }

    /// @dev An LP's deposit the ERC-7540 way while no market has positions (no round to price): the standard
    /// request, its execution by this contract (made an executor), and the claim. Returns the shares.
    function _depositLp(address lp, uint256 assets) internal returns (uint256 shares) {
        if (address(book) != address(0)) {
            // The book's minimum fee on top, paid to this contract as the executor.
            token.mint(lp, book.minimumFee(ExecutionClass.Lp));
            book.grantRole(book.EXECUTOR_ROLE(), address(this));
        } else {
            orders.setExecutor(address(this), true);
        }
        vm.prank(lp);
        vault.requestDeposit(assets, lp, lp);
        vault.executeRequest(lp, new uint80[](engine.marketCount()));
        vm.prank(lp);
        return vault.deposit(assets, lp);
    }

    // ---------------------------------------------------------------- assertions

    function _assertEq(uint256 left, uint256 right, string memory what) internal pure {
        if (left != right) revert AssertionFailedUint(what, left, right);
    }

    function _assertEq(int256 left, int256 right, string memory what) internal pure {
        if (left != right) revert AssertionFailed(what, left, right);
    }

    function _assertLe(uint256 left, uint256 right, string memory what) internal pure {
        if (left > right) revert AssertionFailedUint(what, left, right);
    }

    function _assertLe(int256 left, int256 right, string memory what) internal pure {
        if (left > right) revert AssertionFailed(what, left, right);
    }

    function _assertGe(uint256 left, uint256 right, string memory what) internal pure {
        if (left < right) revert AssertionFailedUint(what, left, right);
    }

    function _assertTrue(bool condition, string memory what) internal pure {
        if (!condition) revert AssertionFailedUint(what, 0, 1);
    }

    /// @dev Maps `x` into [lo, hi] (inclusive) without discarding the run.
    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (x >= lo && x <= hi) return x;
        return lo + (x % (hi - lo + 1));
    }
}
