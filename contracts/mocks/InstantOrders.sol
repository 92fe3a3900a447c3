// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";

import {IPerpEngine} from "../interfaces/IPerpEngine.sol";
import {IPriceOracle} from "../interfaces/IPriceOracle.sol";
import {EngineStorage} from "../libraries/EngineStorage.sol";
import {MathLib, WAD} from "../libraries/MathLib.sol";
import {PositionMath} from "../libraries/PositionMath.sol";

/// @title InstantOrders (tests only)
/// @notice Wired in place of the OrderBook by the engine's accounting tests: it executes each trade at once,
/// at the oracle's current price, with the signatures of the engine's former one-step functions (the
/// margin is exact; the trading fee is pulled on top of it). It is never deployed outside tests and local
/// playgrounds: without the OrderBook's delay, it is the free option that two-step orders remove.
contract InstantOrders {
    using MathLib for uint256;
    using SafeERC20 for IERC20;

    address public immutable engine;
    IERC20 private immutable COLLATERAL;
    uint256 private immutable DEN;

    constructor(address engine_) {
        engine = engine_;
        COLLATERAL = IERC20(IPerpEngine(engine_).collateral());
        DEN = WAD * 10 ** (18 - IERC20Metadata(address(COLLATERAL)).decimals());
        COLLATERAL.forceApprove(engine_, type(uint256).max);
    }

    /// @notice The delay and life of LP requests (the vault reads them from whatever the engine is wired to).
    function minDelay() external pure returns (uint32) {
        return 30;
    }

    function maxAge() external pure returns (uint32) {
        return 3_600;
    }

    /// @notice The terms of an LP request (the vault asks whatever the engine is wired to): this delay and life,
    /// any fee.
    function requestTerms(uint8, uint256) external view returns (uint256 notBefore, uint256 expiresAt) {
        return (block.timestamp + 30, block.timestamp + 3_600);
    }

    /// @notice The least execution fee of an LP request: none here (the vault asks it for ERC-7540's requests).
    function minimumFee(uint8) external pure returns (uint256) {
        return 0;
    }

    /// @notice Refunds the vault hands over, kept when the token refuses them, as the OrderBook does.
    mapping(address account => uint256) public claimable;

    function refund(address account, uint256 amount) external {
        if (!COLLATERAL.trySafeTransfer(account, amount)) claimable[account] += amount;
    }

    /// @notice Who may execute LP requests (the vault asks whatever the engine is wired to, as it asks the
    /// OrderBook's executor set in a deployment).
    mapping(address account => bool) public isExecutor;

    /// @notice Anyone may set an executor: a test double, never deployed outside tests and local playgrounds.
    function setExecutor(address account, bool allowed) external {
        isExecutor[account] = allowed;
    }

    function openPosition(uint256 marketId, int256 size, uint256 margin) external {
        (IPriceOracle oracle, uint256 feeRatio) = _market(marketId);
        uint256 price = address(oracle) == address(0) ? 1 : oracle.priceForNewRisk();
        uint256 collateral = margin + PositionMath.notional(MathLib.abs(size), price, DEN).wMulUp(feeRatio);
        _take(collateral);
        IPerpEngine(engine).executeOpen(msg.sender, marketId, size, collateral, price, price);
    }

    function increasePosition(uint256 marketId, uint256 sizeDelta, uint256 marginDelta) external {
        (IPriceOracle oracle, uint256 feeRatio) = _market(marketId);
        uint256 price = address(oracle) == address(0) ? 1 : oracle.priceForNewRisk();
        uint256 collateral = marginDelta + PositionMath.notional(sizeDelta, price, DEN).wMulUp(feeRatio);
        _take(collateral);
        IPerpEngine(engine).executeIncrease(
            msg.sender,
            marketId,
            _signed(marketId, sizeDelta),
            collateral,
            price,
            price
        );
    }

    function reducePosition(uint256 marketId, uint256 sizeDelta) external {
        IPerpEngine(engine).executeReduce(msg.sender, marketId, _signed(marketId, sizeDelta), _price(marketId));
    }

    function closePosition(uint256 marketId) external returns (uint256) {
        return IPerpEngine(engine).executeClose(msg.sender, marketId, _long(marketId), _price(marketId));
    }

    function removeMargin(uint256 marketId, uint256 amount) external {
        (IPriceOracle oracle, ) = _market(marketId);
        uint256 price = address(oracle) == address(0) ? 1 : oracle.priceForNewRisk();
        IPerpEngine(engine).executeRemoveMargin(msg.sender, marketId, _long(marketId), amount, price);
    }

    function _take(uint256 amount) private {
        COLLATERAL.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _price(uint256 marketId) private view returns (uint256) {
        (IPriceOracle oracle, ) = _market(marketId);
        return address(oracle) == address(0) ? 1 : oracle.price();
    }

    function _long(uint256 marketId) private view returns (bool) {
        return IPerpEngine(engine).getPosition(msg.sender, marketId).size >= 0;
    }

    /// @dev `sizeDelta` signed as the caller's position (positive without one: the engine then refuses).
    function _signed(uint256 marketId, uint256 sizeDelta) private view returns (int256) {
        return _long(marketId) ? int256(sizeDelta) : -int256(sizeDelta);
    }

    /// @dev The market's oracle and trading fee ratio, from the engine's storage (zero for no market).
    function _market(uint256 marketId) private view returns (IPriceOracle oracle, uint256 feeRatio) {
        uint256 words = EngineStorage.CONFIG_WORD + 1;
        bytes32[] memory w = IPerpEngine(engine).extsload(EngineStorage.marketSlot(marketId), words);
        oracle = IPriceOracle(address(uint160(uint256(w[EngineStorage.ORACLE_WORD]))));
        feeRatio = EngineStorage.decodeTradingFeeRatio(w[EngineStorage.CONFIG_WORD]);
    }
}
