// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MockV3Aggregator} from "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol";

import {ILiquidityVault} from "../../../../contracts/interfaces/ILiquidityVault.sol";
import {IPerpEngine, Market} from "../../../../contracts/interfaces/IPerpEngine.sol";
import {vm} from "../../utils/Vm.sol";
import {HandlerBase, System} from "./HandlerBase.sol";

/// @notice Liquidity providers deposit and withdraw through ERC-7540 requests only: they request
/// (requestDeposit / requestRedeem, escrowed in the vault; a deposit request while paused reverts with
/// DepositsPaused, INV-PAUSE) and a later call executes the request at the first round of each market with
/// positions at or after its notBefore, or cancels it once expired; executed deposits are claimed in whole or in
/// part (`deposit`, `mint`), and claims take exactly what they report (INV-7540).
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

    /// @notice An LP requests a deposit (the ERC-7540 way: escrowed, priced later), or settles the pending
    /// one, or claims part of what executed deposits left claimable.
    function deposit(uint256 actorSeed, uint256 amountSeed) external action {
        address a = lp(actorSeed % LPS);
        if (vault.lpRequest(a).amount != 0) return _settle(a, amountSeed);
        if (vault.lpDeposit(a).shares != 0 && amountSeed % 2 == 0) return _claimDeposit(a, amountSeed);
        uint256 amount = _bound(amountSeed, 1, 2_000_000) * UNIT;
        bool paused = engine.paused();
        uint256 before = _balance(a);
        vm.prank(a);
        try vault.requestDepositWithLimit(amount, a, a, 0, 0) {
            pathCount["requestDeposit"] += 1;
            if (before - _balance(a) != amount)
                ghosts.fail("INV-CONS", "requestDeposit escrowed other than the amount");
            if (paused) ghosts.fail("INV-PAUSE", "an LP deposit request succeeded while paused");
        } catch (bytes memory reason) {
            if (paused && _selector(reason) != ILiquidityVault.DepositsPaused.selector) {
                ghosts.fail("INV-PAUSE", "an LP deposit request reverted other than DepositsPaused while paused");
            }
        }
    }

    /// @notice An LP requests a redemption of part of their shares, or settles the pending request. While a
    /// held redemption is unclaimed the request is refused (claimable shares never become pending again).
    function withdraw(uint256 actorSeed, uint256 bpsSeed) external action {
        address a = lp(actorSeed % LPS);
        if (vault.lpRequest(a).amount != 0) return _settle(a, bpsSeed);
        uint256 shares = (vault.balanceOf(a) * _bound(bpsSeed, 1, 10_000)) / 10_000;
        if (shares == 0) return;
        bool held = vault.lpExit(a).shares != 0;
        vm.prank(a);
        // Escrowing one's own shares needs no price and ignores the pause.
        try vault.requestRedeemWithLimit(shares, a, a, 0, 0) {
            pathCount["requestRedeem"] += 1;
            if (held) ghosts.fail("INV-7540", "a redemption was requested over an unclaimed held one");
        } catch (bytes memory reason) {
            if (!held) return ghosts.fail("INV-LIVE", "a redemption request of owned shares reverted");
            pathCount["requestRedeem.heldRefused"] += 1;
            if (_selector(reason) != ILiquidityVault.LpExitUnclaimed.selector)
                ghosts.fail("INV-7540", "a request over a held redemption was refused for another reason");
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
        (bool claimed, uint256 paid, uint256 shares) = _claimExit(a, x, seed);
        if (!claimed) {
            // Only a price the oracle refuses may hold a claim back once its hold is over.
            if (probed) ghosts.fail("INV-LIVE", "a claim after its hold reverted with the pool marked");
            return;
        }
        ILiquidityVault.LpExit memory left = vault.lpExit(a);
        uint256 held = x.assets - left.assets;
        ghosts.engineFlow("lp.claimExit", held - paid, 0);
        if (_balance(a) - tokens != paid) ghosts.fail("INV-CONS", "a claim paid other than its return value");
        if (paid > held) ghosts.fail("INV-LP-4", "a claim paid more than its part of the redemption's price");
        if (x.shares - left.shares != shares) ghosts.fail("INV-7540", "a claim took other shares than it burned");
        (bool after_, uint256 valueAfter) = _probe();
        if (probed && after_ && valueAfter + PROBE_TOLERANCE < valueBefore) {
            ghosts.fail("INV-LP-2", "a claimed exit diluted the other shares");
        }
    }

    /// @dev Claims the whole held redemption by `redeem`, half of its shares by `redeem`, or half of what it
    /// pays by `withdraw` (ERC-7540's claims, with the LP as controller).
    function _claimExit(
        address a,
        ILiquidityVault.LpExit memory x,
        uint256 seed
    ) internal returns (bool claimed, uint256 paid, uint256 shares) {
        uint256 mode = (seed / 2) % 3;
        if (mode == 2) {
            uint256 assets = vault.maxWithdraw(a) / 2;
            if (assets != 0) {
                vm.prank(a);
                try vault.withdraw(assets, a, a) returns (uint256 burned) {
                    pathCount["claim.withdraw"] += 1;
                    return (true, assets, burned);
                } catch {
                    return (false, 0, 0);
                }
            }
        }
        shares = mode == 1 && x.shares > 1 ? x.shares / 2 : x.shares;
        vm.prank(a);
        try vault.redeem(shares, a, a) returns (uint256 assets) {
            pathCount[shares == x.shares ? bytes32("claim.redeem") : bytes32("claim.redeemPart")] += 1;
            return (true, assets, shares);
        } catch {
            return (false, 0, 0);
        }
    }

    /// @dev Claims all, half the assets (`deposit`) or half the shares (`mint`) of `a`'s executed deposits: the
    /// shares move from the vault to the LP, and what stays claimable goes down by exactly what was claimed.
    function _claimDeposit(address a, uint256 seed) internal {
        ILiquidityVault.LpDeposit memory d = vault.lpDeposit(a);
        uint256 mode = (seed / 2) % 3;
        uint256 sharesBefore = vault.balanceOf(a);
        uint256 assets;
        uint256 shares;
        vm.startPrank(a);
        if (mode == 1 && d.assets > 1) {
            assets = d.assets / 2;
            try vault.deposit(assets, a) returns (uint256 s_) {
                shares = s_;
            } catch {
                assets = 0; // a part worth no whole share is refused (ZeroAmount)
            }
        } else if (mode == 2 && d.shares > 1) {
            shares = d.shares / 2;
            assets = vault.mint(shares, a);
        } else {
            shares = vault.mint(d.shares, a);
            (assets, shares) = (d.assets, d.shares);
        }
        vm.stopPrank();
        if (shares == 0) return;
        pathCount["claimDeposit"] += 1;
        ILiquidityVault.LpDeposit memory left = vault.lpDeposit(a);
        if (vault.balanceOf(a) - sharesBefore != shares) ghosts.fail("INV-7540", "a deposit claim moved other shares");
        if (d.shares - left.shares != shares || d.assets - left.assets != assets)
            ghosts.fail("INV-7540", "a deposit claim took other than it reported");
    }

    // ================================================================ internals

    function _claimTooEarly(address a, ILiquidityVault.LpExit memory x) internal {
        vm.prank(a);
        try vault.redeem(x.shares, a, a) {
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

    /// @dev The first round of `feed` updated at or after `notBefore` (0 when none), as OrderBookHandler does.
    function _firstRound(MockV3Aggregator feed, uint256 notBefore) private view returns (uint80 first) {
        for (uint256 r = feed.latestRound(); r >= 1; --r) {
            if (feed.getTimestamp(r) < notBefore) break;
            first = uint80(r);
        }
    }
}
