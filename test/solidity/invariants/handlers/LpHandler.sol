// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

import {ILiquidityVault} from "../../../../contracts/interfaces/ILiquidityVault.sol";
import {IPerpEngine, Market} from "../../../../contracts/interfaces/IPerpEngine.sol";
import {vm} from "../../utils/Vm.sol";
import {HandlerBase, System} from "./HandlerBase.sol";

/// @notice Liquidity providers deposit and withdraw. With no positions anywhere they use the one-transaction
/// ERC-4626 paths: a withdrawal within maxWithdraw must succeed, paused or not (INV-LIVE); a deposit while
/// paused reverts with DepositsPaused (INV-PAUSE). While a market has positions those revert UseRequests, so
/// they request (requestDeposit / requestRedeem, escrowed in the vault) and a later call executes the request at
/// the first round of each market with positions at or after its notBefore, or cancels it once expired.
/// A redemption's execution must succeed unless free liquidity, the oracle or a zero payout refuses it
/// (INV-LIVE, paused or not); execution never dilutes the shares outside the request (INV-LP-2). Only an
/// executor (this handler, as the keeper) executes; an LP who tries on their own request is refused (INV-LP-3).
/// An executed redemption is held for the vault's EXIT_HOLD; its owner claims it later, at any time after (an
/// executor who waits, an owner who picks the moment), and never gets more than it was executed at (INV-LP-4).
contract LpHandler is HandlerBase {
    /// @dev convertToAssets of this many shares measures the value per share (INV-LP-2).
    uint256 internal constant PROBE = 1e18;
    /// @dev Rounding the probe may lose (units of the asset).
    uint256 internal constant PROBE_TOLERANCE = 2;

    mapping(bytes32 path => uint256) public pathCount;

    constructor(System memory system) HandlerBase(system) {}

    function deposit(uint256 actorSeed, uint256 amountSeed) external action {
        address a = lp(actorSeed % LPS);
        uint256 amount = _bound(amountSeed, 1, 2_000_000) * UNIT;
        bool paused = engine.paused();
        uint256 before = _balance(a);
        if (_anyPositions()) {
            if (vault.lpRequest(a).amount != 0) return _settle(a, amountSeed);
            vm.prank(a);
            try vault.requestDeposit(amount, 0, 0) {
                pathCount["requestDeposit"] += 1;
                if (before - _balance(a) != amount)
                    ghosts.fail("INV-CONS", "requestDeposit escrowed other than the amount");
                if (paused) ghosts.fail("INV-PAUSE", "an LP deposit request succeeded while paused");
            } catch (bytes memory reason) {
                if (paused && _selector(reason) != ILiquidityVault.DepositsPaused.selector) {
                    ghosts.fail("INV-PAUSE", "an LP deposit request reverted other than DepositsPaused while paused");
                }
            }
            return;
        }
        vm.prank(a);
        try vault.deposit(amount, a) {
            uint256 paid = before - _balance(a);
            ghosts.engineFlow("lp.deposit", paid, 0);
            if (paid != amount) ghosts.fail("INV-CONS", "deposit pulled other than the amount");
            if (paused) ghosts.fail("INV-PAUSE", "an LP deposit succeeded while paused");
        } catch (bytes memory reason) {
            if (paused && _selector(reason) != ILiquidityVault.DepositsPaused.selector) {
                ghosts.fail("INV-PAUSE", "an LP deposit reverted other than DepositsPaused while paused");
            }
        }
    }

    function withdraw(uint256 actorSeed, uint256 bpsSeed) external action {
        address a = lp(actorSeed % LPS);
        if (_anyPositions()) {
            if (vault.lpRequest(a).amount != 0) return _settle(a, bpsSeed);
            uint256 shares = (vault.balanceOf(a) * _bound(bpsSeed, 1, 10_000)) / 10_000;
            if (shares == 0) return;
            vm.prank(a);
            // Escrowing one's own shares needs no price and ignores the pause.
            try vault.requestRedeem(shares, 0, 0) {
                pathCount["requestRedeem"] += 1;
            } catch {
                ghosts.fail("INV-LIVE", "a redemption request of owned shares reverted");
            }
            return;
        }
        uint256 max;
        try vault.maxWithdraw(a) returns (uint256 m) {
            max = m;
        } catch {
            return; // an oracle refuses a price: the share price is unknown
        }
        uint256 amount = (max * _bound(bpsSeed, 1, 10_000)) / 10_000;
        if (amount == 0) return;
        uint256 before = _balance(a);
        vm.prank(a);
        try vault.withdraw(amount, a, a) {
            uint256 received = _balance(a) - before;
            ghosts.engineFlow("lp.withdraw", 0, received);
            if (received != amount) ghosts.fail("INV-CONS", "withdraw paid other than the amount");
        } catch {
            // Withdrawals ignore the pause: this also holds while paused (INV-PAUSE-2).
            ghosts.fail("INV-LIVE", "a withdrawal within maxWithdraw reverted");
        }
    }

    /// @notice Executes (as the keeper, an executor) or cancels (anyone may, after expiry) an LP's pending
    /// request; a third of the time its owner first tries to execute it.
    function settle(uint256 actorSeed, uint256 seed) external action {
        address a = lp(actorSeed % LPS);
        if (vault.lpRequest(a).amount != 0) _settle(a, seed);
    }

    /// @notice An LP claims their held redemption: half of the time only if its hold is over, otherwise after
    /// moving time to its end. The claim pays the lesser of the assets it was executed at and its shares' value
    /// (INV-LP-4), returns the rest to the engine, and never lowers the value of the other shares (INV-LP-2);
    /// before the hold ends it is refused and nothing changes.
    function claim(uint256 actorSeed, uint256 seed) external action {
        address a = lp(actorSeed % LPS);
        ILiquidityVault.LpExit memory x = vault.lpExit(a);
        if (x.shares == 0) return;
        if (block.timestamp < x.claimableAt) {
            if (seed % 2 == 0) return _claimTooEarly(a, x);
            ghosts.setTime(x.claimableAt);
            vm.warp(x.claimableAt);
        }
        (bool probed, uint256 valueBefore) = _probe();
        uint256 tokens = _balance(a);
        vm.prank(a);
        try vault.claimExit(a) returns (uint256 paid) {
            pathCount["claimExit"] += 1;
            ghosts.engineFlow("lp.claimExit", x.assets - paid, 0);
            if (_balance(a) - tokens != paid) ghosts.fail("INV-CONS", "a claim paid other than its return value");
            if (paid > x.assets) ghosts.fail("INV-LP-4", "a claim paid more than its redemption was executed at");
            (bool after_, uint256 valueAfter) = _probe();
            if (probed && after_ && valueAfter + PROBE_TOLERANCE < valueBefore) {
                ghosts.fail("INV-LP-2", "a claimed exit diluted the other shares");
            }
        } catch {
            // Only a price the oracle refuses may hold a claim back once its hold is over.
            if (probed) ghosts.fail("INV-LIVE", "a claim after its hold reverted with the pool marked");
        }
    }

    // ================================================================ internals

    function _claimTooEarly(address a, ILiquidityVault.LpExit memory x) internal {
        vm.prank(a);
        try vault.claimExit(a) {
            ghosts.fail("INV-LP-4", "a held redemption was claimed before its hold ended");
        } catch (bytes memory reason) {
            pathCount["claimExit.tooEarly"] += 1;
            bytes memory expected = abi.encodeWithSelector(
                ILiquidityVault.LpExitNotClaimable.selector,
                a,
                x.claimableAt
            );
            if (keccak256(reason) != keccak256(expected))
                ghosts.fail("INV-LP-4", "an early claim was refused for another reason");
        }
    }

    /// @dev Cancels an expired request (its escrow comes back exactly), or executes a live one at the first
    /// round at or after its notBefore in each market with positions, posting that round (the current answer
    /// again) when the feed has none yet.
    function _settle(address a, uint256 seed) internal {
        ILiquidityVault.LpRequest memory r = vault.lpRequest(a);
        if (block.timestamp > r.expiresAt) return _cancel(a, r);
        uint256 count = engine.marketCount();
        uint80[] memory roundIds = new uint80[](count);
        for (uint256 id; id < count; ++id) {
            Market memory m = lens.getMarket(id);
            if ((m.longSize == 0 && m.shortSize == 0) || m.settlementPrice != 0) continue;
            MockV3Aggregator feed = _feed(id);
            uint80 first = _firstRound(feed, r.notBefore);
            if (first == 0) {
                if (seed % 4 == 0) return; // not yet: let time pass
                uint256 t = block.timestamp < r.notBefore ? r.notBefore : block.timestamp;
                if (t > r.expiresAt) return;
                if (t != block.timestamp) {
                    ghosts.setTime(t);
                    vm.warp(t);
                }
                feed.updateAnswer(feed.latestAnswer());
                first = _firstRound(feed, r.notBefore);
            }
            roundIds[id] = first;
        }
        if (seed % 3 == 1) _ownerTriesToExecute(a, r, roundIds);
        _execute(a, r, roundIds);
    }

    /// @dev An attacker who owns the request executes it themselves (to pick the moment): the vault refuses
    /// with NotExecutor and nothing changes (INV-LP-3). Only the order book's executors execute.
    function _ownerTriesToExecute(address a, ILiquidityVault.LpRequest memory r, uint80[] memory roundIds) internal {
        uint256 tokens = _balance(a);
        vm.prank(a);
        try vault.executeRequest(a, roundIds) {
            ghosts.fail("INV-LP-3", "an LP executed their own request");
        } catch (bytes memory reason) {
            pathCount["executeByOwner.refused"] += 1;
            if (keccak256(reason) != keccak256(abi.encodeWithSelector(ILiquidityVault.NotExecutor.selector, a)))
                ghosts.fail("INV-LP-3", "an LP's own execution was refused for another reason");
        }
        if (vault.lpRequest(a).amount != r.amount || _balance(a) != tokens)
            ghosts.fail("INV-LP-3", "a refused execution changed the request");
    }

    function _cancel(address a, ILiquidityVault.LpRequest memory r) internal {
        uint256 tokens = _balance(a);
        uint256 shares = vault.balanceOf(a);
        try vault.cancelRequest(a) {
            pathCount["cancelRequest"] += 1;
            uint256 back = r.redeem ? vault.balanceOf(a) - shares : _balance(a) - tokens;
            if (back != r.amount) ghosts.fail("INV-CONS", "cancelRequest returned other than the escrow");
        } catch {
            ghosts.fail("INV-LIVE", "cancelling an expired LP request reverted");
        }
    }

    function _execute(address a, ILiquidityVault.LpRequest memory r, uint80[] memory roundIds) internal {
        bool paused = engine.paused();
        (bool probed, uint256 valueBefore) = _probe();
        uint256 tokens = _balance(a);
        uint256 vaultTokens = _balance(address(vault));
        try vault.executeRequest(a, roundIds) returns (uint256 out) {
            pathCount[r.redeem ? bytes32("executeRedeem") : bytes32("executeDeposit")] += 1;
            if (r.redeem) {
                // The assets leave the engine for the vault, where they are held until the owner claims.
                ghosts.engineFlow("lp.executeRedeem", 0, out);
                if (_balance(a) != tokens) ghosts.fail("INV-CONS", "an executed redemption paid before its hold");
                if (_balance(address(vault)) - vaultTokens != out)
                    ghosts.fail("INV-CONS", "an executed redemption held other than its return value");
            } else {
                ghosts.engineFlow("lp.executeDeposit", r.amount, 0);
                if (paused) ghosts.fail("INV-PAUSE", "an LP deposit executed while paused");
            }
            (bool after_, uint256 valueAfter) = _probe();
            if (probed && after_ && valueAfter + PROBE_TOLERANCE < valueBefore) {
                ghosts.fail("INV-LP-2", "an executed LP request diluted the other shares");
            }
        } catch (bytes memory reason) {
            bytes4 s = _selector(reason);
            if (!r.redeem) {
                if (paused && s != ILiquidityVault.DepositsPaused.selector) {
                    ghosts.fail("INV-PAUSE", "a deposit execution reverted other than DepositsPaused while paused");
                }
                return;
            }
            // A redemption may wait for free liquidity, a price, or a non-zero payout; nothing else (and never
            // the pause) may refuse it.
            if (s != IPerpEngine.InsufficientLiquidity.selector && s != ILiquidityVault.ZeroAmount.selector && probed) {
                ghosts.fail("INV-LIVE", "a redemption's execution reverted for other than liquidity or price");
            }
        }
    }

    /// @dev The value of PROBE shares at the current mark, or false while the pool cannot be marked.
    function _probe() internal view returns (bool, uint256) {
        try vault.convertToAssets(PROBE) returns (uint256 v) {
            return (true, v);
        } catch {
            return (false, 0);
        }
    }

    function _anyPositions() internal view returns (bool) {
        uint256 count = engine.marketCount();
        for (uint256 id; id < count; ++id) {
            Market memory m = lens.getMarket(id);
            if (m.longSize != 0 || m.shortSize != 0) return true;
        }
        return false;
    }

    /// @dev The first round of `feed` updated at or after `notBefore` (0 when none), as OrderBookHandler does.
    function _firstRound(MockV3Aggregator feed, uint256 notBefore) private view returns (uint80 first) {
        for (uint256 r = feed.latestRound(); r >= 1; --r) {
            if (feed.getTimestamp(r) < notBefore) break;
            first = uint80(r);
        }
    }
}
