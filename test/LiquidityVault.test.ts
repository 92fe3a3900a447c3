import { expect } from "chai";
import { BTC, deploy6, deploy18, ETH, ethers, feedPrice, networkHelpers, WAD } from "./helpers/system.js";
import {
  fundedNoFunding6,
  fundedNoFunding18,
  funded6,
  funded18,
  fundingRate,
  indexDelta,
  mulDivDown,
  mulDivUp,
  notionalUsd,
  sideReserve,
  usd,
  type System,
} from "./helpers/trading.js";
import { claimHeldExit, executeLpRequest, lpDelay, lpDeposit, lpRedeem, pushRounds } from "./helpers/lp.js";

const OFFSET = 10n ** 6n; // virtual shares of the vault's 6-decimal offset

/** OpenZeppelin ERC-4626 conversions with the virtual share and asset, computed here. */
const sharesForDeposit = (assets: bigint, supply: bigint, total: bigint) =>
  mulDivDown(assets, supply + OFFSET, total + 1n);
const sharesForWithdraw = (assets: bigint, supply: bigint, total: bigint) =>
  mulDivUp(assets, supply + OFFSET, total + 1n);
const assetsForRedeem = (shares: bigint, supply: bigint, total: bigint) =>
  mulDivDown(shares, total + 1n, supply + OFFSET);

const cases = [
  ["6-decimal", deploy6, fundedNoFunding6, funded6],
  ["18-decimal", deploy18, fundedNoFunding18, funded18],
] as const;

for (const [name, bare, funded, fundedWithFunding] of cases) {
  describe(`LiquidityVault (${name} collateral)`, function () {
    describe("requests and claims (ERC-7540): the one-transaction path is gone", function () {
      it("a deposit into an empty vault goes by request: the execution sends the tokens straight to the engine, books them and mints assets x 1e6 shares to the vault; the claim sends them to the receiver (Deposit)", async function () {
        const s = await networkHelpers.loadFixture(bare);
        const assets = 1_000n * s.unit;
        const request = s.vault.connect(s.lp).requestDeposit(assets, s.lp, s.lp);
        await expect(request).to.changeTokenBalances(ethers, s.token, [s.lp, s.vault], [-assets, assets]);
        // Nothing is claimable before the execution: a deposit in one transaction reverts.
        await expect(s.vault.connect(s.lp)["deposit(uint256,address)"](assets, s.carol))
          .to.be.revertedWithCustomError(s.vault, "ExceedsClaimable")
          .withArgs(s.lp.address, assets, 0n);
        const { notBefore } = await s.vault.lpRequest(s.lp);
        await networkHelpers.time.increaseTo(notBefore);
        const exec = s.vault.connect(s.keeper).executeRequest(s.lp, await pushRounds(s));
        await expect(exec).to.emit(s.engine, "LiquidityAdded").withArgs(assets, assets);
        await expect(exec).to.changeTokenBalances(ethers, s.token, [s.vault, s.engine], [-assets, assets]);
        expect(await s.vault.balanceOf(s.vault)).to.equal(assets * OFFSET);
        const claim = s.vault.connect(s.lp)["deposit(uint256,address)"](assets, s.carol);
        await expect(claim)
          .to.emit(s.vault, "Deposit")
          .withArgs(s.lp.address, s.carol.address, assets, assets * OFFSET);
        await expect(claim).to.changeTokenBalances(ethers, s.token, [s.lp, s.engine, s.vault], [0n, 0n, 0n]);
        expect(await s.vault.balanceOf(s.carol)).to.equal(assets * OFFSET);
        expect(await s.vault.balanceOf(s.vault)).to.equal(0n);
        expect(await s.engine.lpBalance()).to.equal(assets);
        expect(await s.vault.totalAssets()).to.equal(assets);
        expect(await s.vault.engine()).to.equal(await s.engine.getAddress());
      });

      it("executions convert with the virtual offset, rounding against the LP (a deposit's shares and a redemption's assets down), and a round trip gains nothing", async function () {
        const s = await networkHelpers.loadFixture(funded);
        const u = s.unit;
        // Give the pool a non-round share price: a trader loses 123.456789 to it.
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * u);
        await s.ethFeed.updateAnswer(287_654_321_100n);
        await s.orders.connect(s.alice).closePosition(ETH);
        let supply = await s.vault.totalSupply();
        let total = await s.engine.lpBalance();
        expect(await s.vault.totalAssets()).to.equal(total);

        const assets = 333n * u + 1n;
        await s.vault.connect(s.bob).requestDeposit(assets, s.bob, s.bob);
        const { shares } = await executeLpRequest(s, s.bob);
        expect(shares).to.equal(sharesForDeposit(assets, supply, total));
        await s.vault.connect(s.bob)["deposit(uint256,address)"](assets, s.bob);
        expect(await s.vault.balanceOf(s.bob)).to.equal(shares);
        supply += shares;
        total += assets;
        expect(await s.vault.totalAssets()).to.equal(total);

        await s.vault.connect(s.bob).requestRedeem(shares, s.bob, s.bob);
        const redeemed = await executeLpRequest(s, s.bob);
        expect(redeemed.assets).to.equal(assetsForRedeem(shares, supply, total));
        const { paid } = await claimHeldExit(s, s.bob);
        expect(paid).to.equal(redeemed.assets); // nothing moved during the hold
        expect(paid).to.be.lessThanOrEqual(assets); // no round trip gains
        expect(await s.vault.balanceOf(s.bob)).to.equal(0n);
      });

      it("requestRedeem on behalf of an owner spends the caller's share allowance (the shares of a redemption leave the owner at the request)", async function () {
        const s = await networkHelpers.loadFixture(funded);
        const shares = sharesForWithdraw(100n * s.unit, await s.vault.totalSupply(), await s.vault.totalAssets());
        await expect(s.vault.connect(s.bob).requestRedeem(shares, s.bob, s.lp))
          .to.be.revertedWithCustomError(s.vault, "ERC20InsufficientAllowance")
          .withArgs(s.bob.address, 0n, shares);
        await s.vault.connect(s.lp).approve(s.bob, shares);
        await expect(s.vault.connect(s.bob).requestRedeem(shares, s.bob, s.lp)).to.changeTokenBalances(
          ethers,
          s.vault,
          [s.lp, s.vault],
          [-shares, shares],
        );
        expect(await s.vault.allowance(s.lp, s.bob)).to.equal(0n);
        expect((await s.vault.lpRequest(s.bob)).amount).to.equal(shares);
      });

      it("reverts with ZeroAmount on a zero deposit, mint, withdraw or redeem claim", async function () {
        const s = await networkHelpers.loadFixture(funded);
        // Something to claim of each kind: Bob's executed deposit, the LP's held exit after its hold.
        await s.vault.connect(s.bob).requestDeposit(s.unit, s.bob, s.bob);
        await executeLpRequest(s, s.bob);
        await s.vault.connect(s.lp).requestRedeem(OFFSET, s.lp, s.lp);
        await executeLpRequest(s, s.lp);
        await networkHelpers.time.increaseTo((await s.vault.lpExit(s.lp)).claimableAt);
        const b = s.vault.connect(s.bob);
        const v = s.vault.connect(s.lp);
        await expect(b["deposit(uint256,address)"](0n, s.bob))
          .to.be.revertedWithCustomError(s.vault, "ZeroAmount")
          .withArgs();
        await expect(b["mint(uint256,address)"](0n, s.bob))
          .to.be.revertedWithCustomError(s.vault, "ZeroAmount")
          .withArgs();
        await expect(v.withdraw(0n, s.lp, s.lp))
          .to.be.revertedWithCustomError(s.vault, "ZeroAmount")
          .withArgs();
        await expect(v.redeem(0n, s.lp, s.lp))
          .to.be.revertedWithCustomError(s.vault, "ZeroAmount")
          .withArgs();
      });

      it("previews revert AsyncFlow; maxDeposit and maxMint report only what is claimable, maxWithdraw and maxRedeem only a held exit after its hold", async function () {
        const s = await networkHelpers.loadFixture(funded);
        for (const preview of ["previewDeposit", "previewMint", "previewWithdraw", "previewRedeem"] as const) {
          await expect(s.vault[preview](s.unit), preview).to.be.revertedWithCustomError(s.vault, "AsyncFlow");
        }
        expect(await s.vault.maxDeposit(s.bob)).to.equal(0n);
        expect(await s.vault.maxMint(s.bob)).to.equal(0n);
        expect(await s.vault.maxWithdraw(s.lp)).to.equal(0n);
        expect(await s.vault.maxRedeem(s.lp)).to.equal(0n);
        await s.vault.connect(s.bob).requestDeposit(s.unit, s.bob, s.bob);
        expect(await s.vault.maxDeposit(s.bob), "pending is not claimable").to.equal(0n);
        const { shares } = await executeLpRequest(s, s.bob);
        expect(await s.vault.maxDeposit(s.bob)).to.equal(s.unit);
        expect(await s.vault.maxMint(s.bob)).to.equal(shares);
        await s.vault.connect(s.lp).requestRedeem(OFFSET * s.unit, s.lp, s.lp);
        const { assets } = await executeLpRequest(s, s.lp);
        expect(await s.vault.maxRedeem(s.lp), "held").to.equal(0n);
        expect(await s.vault.maxWithdraw(s.lp), "held").to.equal(0n);
        await networkHelpers.time.increaseTo((await s.vault.lpExit(s.lp)).claimableAt);
        expect(await s.vault.maxRedeem(s.lp)).to.equal(OFFSET * s.unit);
        expect(await s.vault.maxWithdraw(s.lp)).to.equal(assets);
      });
    });

    describe("pause", function () {
      it("refuses deposit requests and their execution with DepositsPaused, lets an executed deposit be claimed (maxDeposit is what is claimable) and LPs redeem", async function () {
        const s = await networkHelpers.loadFixture(funded);
        await s.vault.connect(s.bob).requestDeposit(s.unit, s.bob, s.bob);
        const { shares } = await executeLpRequest(s, s.bob);
        await s.vault.connect(s.carol).requestDeposit(s.unit, s.carol, s.carol);
        await s.engine.pause();
        await expect(s.vault.connect(s.dave).requestDeposit(s.unit, s.dave, s.dave))
          .to.be.revertedWithCustomError(s.vault, "DepositsPaused")
          .withArgs();
        await networkHelpers.time.increaseTo((await s.vault.lpRequest(s.carol)).notBefore);
        await expect(s.vault.connect(s.keeper).executeRequest(s.carol, await pushRounds(s)))
          .to.be.revertedWithCustomError(s.vault, "DepositsPaused")
          .withArgs();
        expect(await s.vault.maxDeposit(s.carol)).to.equal(0n);
        expect(await s.vault.maxDeposit(s.bob)).to.equal(s.unit);
        expect(await s.vault.maxMint(s.bob)).to.equal(shares);
        await expect(s.vault.connect(s.bob)["mint(uint256,address)"](shares, s.bob)).to.changeTokenBalance(
          ethers,
          s.vault,
          s.bob,
          shares,
        );
        const lpShares = await s.vault.convertToShares(1_000n * s.unit);
        const held = assetsForRedeem(lpShares, await s.vault.totalSupply(), await s.vault.totalAssets());
        expect(await lpRedeem(s, s.lp, lpShares)).to.equal(held);
        await s.engine.unpause();
        await s.vault.connect(s.dave).requestDeposit(s.unit, s.dave, s.dave);
        expect((await s.vault.lpRequest(s.dave)).amount).to.equal(s.unit);
      });
    });

    describe("free liquidity", function () {
      it("with nothing held maxWithdraw and maxRedeem are zero and a claim reverts NoLpExit, and redemptions by request stop at free liquidity (LP balance less reserved profit caps)", async function () {
        const s = await networkHelpers.loadFixture(funded);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, 300n * WAD, 100_000n * u);
        const lpBalance = await s.engine.lpBalance();
        // Margin 100,000 above the entry's initial margin of 90,000 (10 % of $900,000): 9 x 90,000 reserved.
        const reserve = sideReserve(100_000n * u, notionalUsd(300n * WAD, usd(3_000)), WAD / 10n, 9n * WAD, s.decimals);
        expect(reserve).to.equal(810_000n * u);
        const free = lpBalance - reserve;
        expect(await s.engine.freeLiquidity()).to.equal(free);
        // No one-transaction exit: only a held redemption is claimed.
        expect(await s.vault.maxWithdraw(s.lp)).to.equal(0n);
        expect(await s.vault.maxRedeem(s.lp)).to.equal(0n);
        await expect(s.vault.connect(s.lp).withdraw(u, s.lp, s.lp))
          .to.be.revertedWithCustomError(s.vault, "NoLpExit")
          .withArgs(s.lp.address);
        await expect(s.vault.connect(s.lp).redeem(OFFSET, s.lp, s.lp))
          .to.be.revertedWithCustomError(s.vault, "NoLpExit")
          .withArgs(s.lp.address);
        // A redemption of the shares free liquidity can pay (no funding, no borrowing here: the delay moves no mark).
        const supply = await s.vault.totalSupply();
        const freeShares = mulDivDown(free, supply + OFFSET, lpBalance + 1n);
        const paid = await lpRedeem(s, s.lp, freeShares);
        expect(paid).to.equal(assetsForRedeem(freeShares, supply, lpBalance));
        const left = await s.engine.freeLiquidity();
        expect(left).to.equal(free - paid);
        expect(left).to.be.lessThanOrEqual(1n);
        // Beyond it, the execution reverts with the engine's InsufficientLiquidity (the request stays pending).
        await s.vault.connect(s.lp).requestRedeemWithLimit(3n * OFFSET, s.lp.address, s.lp.address, 0n, 0n);
        await networkHelpers.time.increase(await lpDelay(s));
        const rounds = await pushRounds(s);
        await expect(s.vault.connect(s.keeper).executeRequest(s.lp, rounds)).to.be.revertedWithCustomError(
          s.engine,
          "InsufficientLiquidity",
        );
      });

      it("the engine's LP entry points revert with OnlyVault for anyone but the vault", async function () {
        const s = await networkHelpers.loadFixture(funded);
        await expect(s.engine.connect(s.lp).creditLiquidity(1n))
          .to.be.revertedWithCustomError(s.engine, "OnlyVault")
          .withArgs(s.lp.address);
        await expect(s.engine.connect(s.lp).withdrawLiquidity(s.lp, 1n))
          .to.be.revertedWithCustomError(s.engine, "OnlyVault")
          .withArgs(s.lp.address);
      });
    });

    describe("totalAssets marks to the oracle", function () {
      async function withLong(s: System) {
        await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, 3_000n * s.unit);
        return s.engine.lpBalance();
      }

      it("counts a long's unrealized profit as a liability, up to the side's reserve", async function () {
        const s = await networkHelpers.loadFixture(funded);
        const lpBalance = await withLong(s);
        await s.ethFeed.updateAnswer(feedPrice(3_300));
        expect(await s.vault.totalAssets()).to.equal(lpBalance - 3_000n * s.unit);
        await s.ethFeed.updateAnswer(feedPrice(6_000)); // profit 30000, reserve 9 x 3000 = 27000
        expect(await s.vault.totalAssets()).to.equal(lpBalance - 27_000n * s.unit);
      });

      it("counts a long's unrealized loss as an asset, up to the side's margin", async function () {
        const s = await networkHelpers.loadFixture(funded);
        const lpBalance = await withLong(s);
        await s.ethFeed.updateAnswer(feedPrice(2_800));
        expect(await s.vault.totalAssets()).to.equal(lpBalance + 2_000n * s.unit);
        await s.ethFeed.updateAnswer(feedPrice(2_500)); // loss 5000 but margin 3000
        expect(await s.vault.totalAssets()).to.equal(lpBalance + 3_000n * s.unit);
      });

      it("marks a short's profit and loss the other way round, per market", async function () {
        const s = await networkHelpers.loadFixture(funded);
        await s.orders.connect(s.bob).openPosition(BTC, -WAD, 6_000n * s.unit);
        const lpBalance = await s.engine.lpBalance();
        await s.btcFeed.updateAnswer(feedPrice(59_000));
        expect(await s.vault.totalAssets()).to.equal(lpBalance - 1_000n * s.unit);
        await s.btcFeed.updateAnswer(feedPrice(61_500));
        expect(await s.vault.totalAssets()).to.equal(lpBalance + 1_500n * s.unit);
      });

      it("counts funding accrued but not yet settled", async function () {
        const s = await networkHelpers.loadFixture(fundedWithFunding);
        await s.ethFeed.updateAnswer(feedPrice(3_000));
        const t0 = BigInt(await networkHelpers.time.latest()) + 5n;
        await networkHelpers.time.setNextBlockTimestamp(t0);
        await s.orders.connect(s.alice).openPosition(ETH, 100n * WAD, 40_000n * s.unit);
        const lpBalance = await s.engine.lpBalance();
        await networkHelpers.time.setNextBlockTimestamp(t0 + 3_000n);
        await networkHelpers.mine();
        const index = indexDelta(fundingRate(100n * WAD, 1_000n * WAD, WAD / 1_000n), usd(3_000), 3_000n);
        const pending = (100n * WAD * index) / WAD / 10n ** (18n - BigInt(s.decimals));
        expect(pending).to.be.greaterThan(0n);
        expect(await s.vault.totalAssets()).to.equal(lpBalance + pending);
      });

      it("with positions open and a stale feed, claims of nothing revert (NoLpExit, ExceedsClaimable) and a request's execution the oracle's StalePrice", async function () {
        const s = await networkHelpers.loadFixture(funded);
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * s.unit);
        await s.vault.connect(s.lp).requestRedeemWithLimit(OFFSET, s.lp.address, s.lp.address, 0n, 0n);
        await s.vault.connect(s.bob).requestDepositWithLimit(s.unit, s.bob.address, s.bob.address, 0n, 0n);
        // A first round after the delay, then a later round that is already stale (updated more than the
        // oracle's hour ago): the feed's latest answer is stale while the request is still live.
        await networkHelpers.time.increase(await lpDelay(s));
        const rounds = await pushRounds(s);
        const stale = BigInt(await networkHelpers.time.latest()) - 3_601n;
        await s.ethFeed.updateRoundData(rounds[0] + 1n, feedPrice(3_000), stale, stale);
        const [, , , updatedAt] = await s.ethFeed.latestRoundData();
        expect(updatedAt).to.equal(stale);
        await expect(s.vault.connect(s.lp).withdraw(s.unit, s.lp, s.lp))
          .to.be.revertedWithCustomError(s.vault, "NoLpExit")
          .withArgs(s.lp.address);
        await expect(s.vault.connect(s.lp).redeem(OFFSET, s.lp, s.lp))
          .to.be.revertedWithCustomError(s.vault, "NoLpExit")
          .withArgs(s.lp.address);
        await expect(s.vault.connect(s.bob)["deposit(uint256,address)"](s.unit, s.bob))
          .to.be.revertedWithCustomError(s.vault, "ExceedsClaimable")
          .withArgs(s.bob.address, s.unit, 0n);
        await expect(s.vault.connect(s.keeper).executeRequest(s.lp, rounds))
          .to.be.revertedWithCustomError(s.ethOracle, "StalePrice")
          .withArgs(updatedAt, 3_600n);
        await expect(s.vault.connect(s.keeper).executeRequest(s.bob, rounds))
          .to.be.revertedWithCustomError(s.ethOracle, "StalePrice")
          .withArgs(updatedAt, 3_600n);
      });

      it("a stale feed of a market without positions blocks neither deposits nor redemptions (request, execution, claim)", async function () {
        const s = await networkHelpers.loadFixture(funded);
        await networkHelpers.time.increase(3_601);
        await expect(s.ethOracle.price()).to.be.revertedWithCustomError(s.ethOracle, "StalePrice");
        const lpBalance = await s.engine.lpBalance();
        expect(await s.vault.totalAssets()).to.equal(lpBalance);
        const shares = await s.vault.convertToShares(s.unit);
        const held = assetsForRedeem(shares, await s.vault.totalSupply(), lpBalance);
        expect(await lpRedeem(s, s.lp, shares)).to.equal(held);
        const bobBefore: bigint = await s.token.balanceOf(s.bob);
        expect(await lpDeposit(s, s.bob, s.unit)).to.be.greaterThan(0n);
        expect(await s.token.balanceOf(s.bob)).to.equal(bobBefore - s.unit);
      });

      it("share price follows trader losses: an LP redeems more after a trader's loss is realized", async function () {
        const s = await networkHelpers.loadFixture(funded);
        const shares = await s.vault.balanceOf(s.lp);
        const before = await s.vault.convertToAssets(shares);
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * s.unit);
        await s.ethFeed.updateAnswer(feedPrice(2_900));
        await s.orders.connect(s.alice).closePosition(ETH);
        const total = await s.engine.lpBalance();
        expect(await s.vault.convertToAssets(shares)).to.equal(assetsForRedeem(shares, shares, total));
        expect(await s.vault.convertToAssets(shares)).to.be.greaterThan(before + 100n * s.unit - 1n);
      });
    });
  });
}
