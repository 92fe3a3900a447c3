// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {AutomationCompatible} from "@chainlink/contracts/src/v0.8/automation/AutomationCompatible.sol";
// prettier-ignore
import {AutomationCompatibleInterface} from
    "@chainlink/contracts/src/v0.8/automation/interfaces/AutomationCompatibleInterface.sol";
import {ILogAutomation, Log} from "@chainlink/contracts/src/v0.8/automation/interfaces/ILogAutomation.sol";
import {IOrderBook} from "./interfaces/IOrderBook.sol";
import {IPerpEngine} from "./interfaces/IPerpEngine.sol";
import {IPerpLens} from "./interfaces/IPerpLens.sol";

/// @title LiquidationUpkeep
/// @notice Liquidations by Chainlink Automation, with no bot. The engine keeps no list of positions, so this
/// contract keeps one: a log-trigger upkeep on the order book's `OrderExecuted` adds the position an execution
/// opened (`track`), and a custom-logic upkeep pages through the list with the lens, liquidates what is
/// liquidatable in a batch and drops what is closed. Every action it performs is one anyone may take (the
/// engine's liquidations are permissionless; a position is listed only while it exists and dropped only once
/// it is gone), so `performUpkeep` needs no forwarder check; the keeper fees go to the `feeRecipient` fixed
/// at deployment, whoever calls.
/// @dev A check pages by `checkData = abi.encode(start, count)` (empty: the whole list): register one upkeep per
/// page once the list outgrows what one check can scan within the registry's check gas limit (docs/OPERATIONS.md
/// gives the measured figure). A page scans until its end or until fewer than `CHECK_GAS_RESERVE` gas is left,
/// starting each block at a different place, so that a page too long for one check is scanned over several blocks
/// (slower, never skipped for good).
contract LiquidationUpkeep is AutomationCompatible, ILogAutomation {
    /// @notice A listed position.
    struct Tracked {
        address account;
        uint96 marketId;
    }

    /// @notice The most positions one `performUpkeep` takes (to liquidate or drop): 25 × about 140,000 gas fits a
    /// 5,000,000 perform gas limit, and their 864 bytes the registries' 1,000-byte perform data.
    uint256 public constant MAX_PER_PERFORM = 25;
    /// @notice A check stops scanning with this much gas left, to return what it found.
    uint256 public constant CHECK_GAS_RESERVE = 200_000;

    IPerpEngine public immutable engine;
    IPerpLens public immutable lens;
    /// @notice The order book whose `OrderExecuted` logs list new positions.
    address public immutable orders;
    /// @notice Receives every keeper fee this contract's liquidations earn.
    address public immutable feeRecipient;

    Tracked[] private _tracked;
    /// @dev index in `_tracked` plus one; zero: not listed.
    mapping(address account => mapping(uint256 marketId => uint256)) private _slot;

    event PositionTracked(address indexed account, uint256 indexed marketId);
    event PositionDropped(address indexed account, uint256 indexed marketId);

    error ZeroAddress();
    /// @notice Only existing positions are listed.
    error NoPosition(address account, uint256 marketId);
    error AlreadyTracked(address account, uint256 marketId);
    error NotTracked(address account, uint256 marketId);
    /// @notice Only a closed position is dropped.
    error PositionOpen(address account, uint256 marketId);
    /// @notice `checkData` is neither empty nor `abi.encode(start, count)`.
    error InvalidCheckData(uint256 length);

    /// @param lens_ The lens whose `isLiquidatable` the checks ask (its engine is the one liquidated).
    /// @param feeRecipient_ Receives the keeper fees (the deployment's treasury or the upkeep's funder).
    constructor(IPerpLens lens_, address feeRecipient_) {
        if (address(lens_) == address(0) || feeRecipient_ == address(0)) revert ZeroAddress();
        lens = lens_;
        engine = lens_.engine();
        orders = engine.orders();
        feeRecipient = feeRecipient_;
    }

    // ================================================================ the list

    /// @notice Lists `account`'s position in `marketId` (anyone may; the log upkeep does it for every execution).
    function track(address account, uint256 marketId) external {
        if (_slot[account][marketId] != 0) revert AlreadyTracked(account, marketId);
        _track(account, marketId);
    }

    /// @notice Drops a listed position that no longer exists (anyone may).
    function drop(address account, uint256 marketId) external {
        if (_slot[account][marketId] == 0) revert NotTracked(account, marketId);
        if (!_drop(account, marketId)) revert PositionOpen(account, marketId);
    }

    /// @notice How many positions are listed (register another page when a check cannot scan them all).
    function trackedCount() external view returns (uint256) {
        return _tracked.length;
    }

    /// @notice The listed positions from `start`, at most `count`.
    function trackedPage(uint256 start, uint256 count) external view returns (Tracked[] memory page) {
        uint256 end = _end(start, count);
        page = new Tracked[](end > start ? end - start : 0);
        for (uint256 i; i < page.length; ++i) page[i] = _tracked[start + i];
    }

    /// @notice Whether `account`'s position in `marketId` is listed.
    function isTracked(address account, uint256 marketId) external view returns (bool) {
        return _slot[account][marketId] != 0;
    }

    // ================================================================ Automation

    /// @notice Log trigger (the order book's `OrderExecuted`): lists the position the execution left, if it is
    /// not listed yet. Any other log needs nothing.
    function checkLog(
        Log calldata log,
        bytes calldata
    ) external view cannotExecute returns (bool upkeepNeeded, bytes memory performData) {
        if (log.source != orders || log.topics.length < 3 || log.topics[0] != IOrderBook.OrderExecuted.selector) {
            return (false, "");
        }
        address account = address(uint160(uint256(log.topics[1])));
        uint256 marketId = uint256(log.topics[2]);
        if (_slot[account][marketId] != 0 || engine.getPosition(account, marketId).size == 0) return (false, "");
        uint256[] memory keys = new uint256[](1);
        keys[0] = _key(account, marketId);
        return (true, abi.encode(keys));
    }

    /// @notice Custom logic: scans the page `checkData` names (see the contract's note) and returns the
    /// liquidatable and the closed positions, at most `MAX_PER_PERFORM` of them.
    function checkUpkeep(
        bytes calldata checkData
    ) external view cannotExecute returns (bool upkeepNeeded, bytes memory performData) {
        (uint256 start, uint256 count) = _page(checkData);
        uint256 length = _end(start, count) - start;
        // Each block's check starts at a different place in the page (the previous block's hash), so that a page
        // longer than one check can scan is still scanned whole over a few blocks.
        uint256 offset = length == 0 ? 0 : uint256(blockhash(block.number - 1)) % length;
        uint256[] memory keys = new uint256[](MAX_PER_PERFORM);
        uint256 found;
        for (uint256 j; j < length && found < MAX_PER_PERFORM && gasleft() > CHECK_GAS_RESERVE; ++j) {
            Tracked memory t = _tracked[start + ((offset + j) % length)];
            if (_liquidatableOrClosed(t)) {
                keys[found] = _key(t.account, t.marketId);
                ++found;
            }
        }
        if (found == 0) return (false, "");
        // Trims the array to what was found (its length only shrinks).
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(keys, found)
        }
        return (true, abi.encode(keys));
    }

    /// @notice For each position in `performData` (`abi.encode(uint256[] keys)`, a key being `account << 96 |
    /// marketId`): one not listed is listed if it exists; the listed ones are liquidated in a batch (the engine skips
    /// what is not liquidatable), with the fees to `feeRecipient`, and dropped once gone. Anyone may call it: each
    /// step is one anyone may take, re-checked here.
    function performUpkeep(
        bytes calldata performData
    ) external override(AutomationCompatibleInterface, ILogAutomation) {
        uint256[] memory keys = abi.decode(performData, (uint256[]));
        address[] memory accounts = new address[](keys.length);
        uint256[] memory marketIds = new uint256[](keys.length);
        uint256 listed;
        for (uint256 i; i < keys.length; ++i) {
            (address account, uint256 marketId) = (address(uint160(keys[i] >> 96)), uint96(keys[i]));
            if (_slot[account][marketId] != 0) {
                (accounts[listed], marketIds[listed]) = (account, marketId);
                ++listed;
            } else if (engine.getPosition(account, marketId).size != 0) {
                _track(account, marketId);
            }
        }
        if (listed == 0) return;
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(accounts, listed)
            mstore(marketIds, listed)
        }
        engine.liquidateBatch(accounts, marketIds, feeRecipient);
        for (uint256 i; i < listed; ++i) _drop(accounts[i], marketIds[i]);
    }

    // ================================================================ internal

    function _track(address account, uint256 marketId) internal {
        if (engine.getPosition(account, marketId).size == 0) revert NoPosition(account, marketId);
        _tracked.push(Tracked(account, uint96(marketId)));
        _slot[account][marketId] = _tracked.length;
        emit PositionTracked(account, marketId);
    }

    /// @dev Removes a listed position that no longer exists (swap and pop); false if it still exists or is not
    /// listed.
    function _drop(address account, uint256 marketId) internal returns (bool) {
        uint256 slot = _slot[account][marketId];
        if (slot == 0 || engine.getPosition(account, marketId).size != 0) return false;
        Tracked memory last = _tracked[_tracked.length - 1];
        _tracked[slot - 1] = last;
        _slot[last.account][last.marketId] = slot;
        _tracked.pop();
        delete _slot[account][marketId];
        emit PositionDropped(account, marketId);
        return true;
    }

    function _key(address account, uint256 marketId) internal pure returns (uint256) {
        return (uint256(uint160(account)) << 96) | marketId;
    }

    /// @dev Whether the position is gone (the lens would say "not liquidatable" for it), or the lens says it is
    /// liquidatable; an oracle that refuses a price makes it neither.
    function _liquidatableOrClosed(Tracked memory t) internal view returns (bool) {
        if (engine.getPosition(t.account, t.marketId).size == 0) return true;
        try lens.isLiquidatable(t.account, t.marketId) returns (bool yes) {
            return yes;
        } catch {
            return false; // an oracle that refuses a price: the engine would refuse too
        }
    }

    function _page(bytes calldata checkData) internal pure returns (uint256 start, uint256 count) {
        if (checkData.length == 0) return (0, type(uint256).max);
        if (checkData.length != 64) revert InvalidCheckData(checkData.length);
        return abi.decode(checkData, (uint256, uint256));
    }

    function _end(uint256 start, uint256 count) internal view returns (uint256) {
        uint256 length = _tracked.length;
        if (start >= length) return start;
        return count >= length - start ? length : start + count;
    }
}
