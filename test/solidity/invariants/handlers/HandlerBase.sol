// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

import {BackstopModule} from "../../../../contracts/BackstopModule.sol";
import {LiquidityVault} from "../../../../contracts/LiquidityVault.sol";
import {PerpEngine} from "../../../../contracts/PerpEngine.sol";
import {PerpLens} from "../../../../contracts/PerpLens.sol";
import {MarketConfig, Position} from "../../../../contracts/interfaces/IPerpEngine.sol";
import {BlocklistToken} from "../../../../contracts/mocks/BlocklistToken.sol";
import {InstantOrders} from "../../../../contracts/mocks/InstantOrders.sol";
import {MockERC20} from "../../../../contracts/mocks/MockERC20.sol";
import {Model} from "../../utils/Model.sol";
import {vm} from "../../utils/Vm.sol";
import {Ghosts} from "./Ghosts.sol";

/// @notice The contracts every handler acts on, and the ghosts they record into.
struct System {
    MockERC20 token;
    PerpEngine engine;
    LiquidityVault vault;
    BackstopModule backstop;
    PerpLens lens;
    MockV3Aggregator ethFeed;
    MockV3Aggregator btcFeed;
    Ghosts ghosts;
    InstantOrders orders; // what the engine is wired to: traders trade through it
}

/// @notice What every handler shares: the system, the fixed actors, the clock and bounded inputs.
abstract contract HandlerBase {
    uint256 internal constant DEN = 1e30; // 6-decimal collateral
    uint256 internal constant UNIT = 1e6;
    uint256 internal constant TRADERS = 4;
    uint256 internal constant LPS = 2;
    uint256 internal constant STAKERS = 2;
    address internal constant KEEPER = address(0x4EE9E4);
    /// @dev OpenZeppelin Pausable's EnforcedPause().
    bytes4 internal constant ENFORCED_PAUSE = bytes4(keccak256("EnforcedPause()"));

    MockERC20 internal token;
    PerpEngine internal engine;
    LiquidityVault internal vault;
    BackstopModule internal backstop;
    PerpLens internal lens;
    Ghosts internal ghosts;
    MockV3Aggregator internal ethFeed;
    MockV3Aggregator internal btcFeed;
    InstantOrders internal orders;

    constructor(System memory system) {
        token = system.token;
        engine = system.engine;
        vault = system.vault;
        backstop = system.backstop;
        lens = system.lens;
        ethFeed = system.ethFeed;
        btcFeed = system.btcFeed;
        ghosts = system.ghosts;
        orders = system.orders;
    }

    /// @dev Every action runs at the simulated time and is followed by the backstop share-price check.
    modifier action() {
        vm.warp(ghosts.time());
        _;
        ghosts.checkBackstopPrice(backstop);
    }

    function trader(uint256 i) public pure returns (address) {
        return address(uint160(0x1000 + i));
    }

    function lp(uint256 i) public pure returns (address) {
        return address(uint160(0x2000 + i));
    }

    function staker(uint256 i) public pure returns (address) {
        return address(uint160(0x3000 + i));
    }

    function _trader(uint256 seed) internal pure returns (address) {
        return trader(seed % TRADERS);
    }

    function _feed(uint256 marketId) internal view returns (MockV3Aggregator) {
        return marketId == 0 ? ethFeed : btcFeed;
    }

    function _config(uint256 marketId) internal view returns (MarketConfig memory) {
        return lens.getMarket(marketId).config;
    }

    function _price(uint256 marketId) internal view returns (bool ok, uint256 price) {
        try lens.getMarket(marketId).oracle.price() returns (uint256 p) {
            return (true, p);
        } catch {
            return (false, 0);
        }
    }

    /// @dev Equity and liquidation margin of a position now, from Model.sol (funding index from the engine).
    function _health(
        address account,
        uint256 marketId,
        uint256 price
    ) internal view returns (Position memory p, int256 equity, uint256 liquidationMargin, uint256 notional) {
        p = engine.getPosition(account, marketId);
        MarketConfig memory c = _config(marketId);
        equity = Model.equity(c, p, price, lens.currentFundingIndex(marketId), DEN);
        notional = Model.notional(Model.abs(p.size), price, DEN);
        liquidationMargin = Model.liquidationMargin(c, notional);
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        if (x >= lo && x <= hi) return x;
        return lo + (x % (hi - lo + 1));
    }

    function _balance(address who) internal view returns (uint256) {
        return token.balanceOf(who);
    }

    /// @dev Whether the collateral (a BlocklistToken in the invariant run) refuses transfers from or to `who`.
    function _blocked(address who) internal view returns (bool) {
        return BlocklistToken(address(token)).blocked(who);
    }

    /// @dev The revert data of the token's Blocked(who) error.
    function _blockedError(address who) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(BlocklistToken.Blocked.selector, who);
    }

    /// @dev The first four bytes of revert data (zero when there are fewer).
    function _selector(bytes memory reason) internal pure returns (bytes4 s) {
        if (reason.length >= 4) s = bytes4(reason);
    }

    /// @dev INV-PAUSE-2: an action that must work while paused was refused because of the pause.
    function _refusedForPause(bytes memory reason) internal pure returns (bool) {
        return _selector(reason) == ENFORCED_PAUSE;
    }
}
