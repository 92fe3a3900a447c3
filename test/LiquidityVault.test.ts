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
import { lpDelay, lpRedeem, pushRounds } from "./helpers/lp.js";

const OFFSET = 10n ** 6n; // virtual shares of the vault's 6-decimal offset

/** OpenZeppelin ERC-4626 conversions with the virtual share and asset, computed here. */
const sharesForDeposit = (assets: bigint, supply: bigint, total: bigint) =>
  mulDivDown(assets, supply + OFFSET, total + 1n);
const assetsForMint = (shares: bigint, supply: bigint, total: bigint) => mulDivUp(shares, total + 1n, supply + OFFSET);
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
    describe("deposit, mint, withdraw, redeem", function () {
      it("deposit sends the tokens straight to the engine, books them and mints assets x 1e6 shares to an empty vault", async function () {
        const s = await networkHelpers.loadFixture(bare);
        const assets = 1_000n * s.unit;
        const tx = s.vault.connect(s.lp).deposit(assets, s.carol);
        await expect(tx)
          .to.emit(s.vault, "Deposit")
          .withArgs(s.lp.address, s.carol.address, assets, assets * OFFSET);
        await expect(tx).to.emit(s.engine, "LiquidityAdded").withArgs(assets, assets);
        await expect(tx).to.changeTokenBalances(ethers, s.token, [s.lp, s.engine, s.vault], [-assets, assets, 0n]);
        expect(await s.vault.balanceOf(s.carol)).to.equal(assets * OFFSET);
        expect(await s.engine.lpBalance()).to.equal(assets);
        expect(await s.vault.totalAssets()).to.equal(assets);
        expect(await s.vault.engine()).to.equal(await s.engine.getAddress());
      });

      it("mint, withdraw and redeem convert with the virtual offset, rounding against the caller", async function () {
        const s = await networkHelpers.loadFixture(funded);
        const u = s.unit;
        // Give the pool a non-round share price: a trader loses 123.456789 to it.
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * u);
        await s.ethFeed.updateAnswer(287_654_321_100n);
        await s.orders.connect(s.alice).closePosition(ETH);
        let supply = await s.vault.totalSupply();
        let total = await s.engine.lpBalance();
        expect(await s.vault.totalAssets()).to.equal(total);

        const shares = 777_777_777_777n;
        const paid = assetsForMint(shares, supply, total);
        await expect(s.vault.connect(s.bob).mint(shares, s.bob)).to.changeTokenBalances(
          ethers,
          s.token,
          [s.bob, s.engine],
          [-paid, paid],
        );
        expect(await s.vault.balanceOf(s.bob)).to.equal(shares);
        supply += shares;
        total += paid;

        const assets = 333n * u + 1n;
        const burnt = sharesForWithdraw(assets, supply, total);
        const tx = s.vault.connect(s.lp).withdraw(assets, s.dave, s.lp);
        await expect(tx)
          .to.emit(s.engine, "LiquidityRemoved")
          .withArgs(s.dave.address, assets, total - assets);
        await expect(tx).to.changeTokenBalances(ethers, s.token, [s.dave, s.engine], [assets, -assets]);
        supply -= burnt;
        total -= assets;
        expect(await s.vault.totalSupply()).to.equal(supply);

        const redeemed = assetsForRedeem(shares, supply, total);
        await expect(s.vault.connect(s.bob).redeem(shares, s.bob, s.bob)).to.changeTokenBalance(
          ethers,
          s.token,
          s.bob,
          redeemed,
        );
        expect(redeemed).to.be.lessThanOrEqual(paid); // no round trip gains
        expect(await s.vault.balanceOf(s.bob)).to.equal(0n);
      });

      it("withdraw on behalf of an owner spends the caller's share allowance", async function () {
        const s = await networkHelpers.loadFixture(funded);
        const assets = 100n * s.unit;
        const shares = sharesForWithdraw(assets, await s.vault.totalSupply(), await s.vault.totalAssets());
        await expect(s.vault.connect(s.bob).withdraw(assets, s.bob, s.lp))
          .to.be.revertedWithCustomError(s.vault, "ERC20InsufficientAllowance")
          .withArgs(s.bob.address, 0n, shares);
        await s.vault.connect(s.lp).approve(s.bob, shares);
        await expect(s.vault.connect(s.bob).withdraw(assets, s.bob, s.lp)).to.changeTokenBalance(
          ethers,
          s.token,
          s.bob,
          assets,
        );
        expect(await s.vault.allowance(s.lp, s.bob)).to.equal(0n);
      });

      it("reverts with ZeroAmount on a zero deposit, mint, withdraw or redeem", async function () {
        const s = await networkHelpers.loadFixture(funded);
        const v = s.vault.connect(s.lp);
        await expect(v.deposit(0n, s.lp)).to.be.revertedWithCustomError(s.vault, "ZeroAmount").withArgs();
        await expect(v.mint(0n, s.lp)).to.be.revertedWithCustomError(s.vault, "ZeroAmount").withArgs();
        await expect(v.withdraw(0n, s.lp, s.lp))
          .to.be.revertedWithCustomError(s.vault, "ZeroAmount")
          .withArgs();
        await expect(v.redeem(0n, s.lp, s.lp))
          .to.be.revertedWithCustomError(s.vault, "ZeroAmount")
          .withArgs();
      });
    });

    describe("pause", function () {
      it("refuses deposits and mints with DepositsPaused (maxDeposit = maxMint = 0) but lets LPs withdraw", async function () {
        const s = await networkHelpers.loadFixture(funded);
        await s.engine.pause();
        await expect(s.vault.connect(s.bob).deposit(s.unit, s.bob))
          .to.be.revertedWithCustomError(s.vault, "DepositsPaused")
          .withArgs();
        await expect(s.vault.connect(s.bob).mint(OFFSET, s.bob))
          .to.be.revertedWithCustomError(s.vault, "DepositsPaused")
          .withArgs();
        expect(await s.vault.maxDeposit(s.bob)).to.equal(0n);
        expect(await s.vault.maxMint(s.bob)).to.equal(0n);
        await expect(s.vault.connect(s.lp).withdraw(1_000n * s.unit, s.lp, s.lp)).to.changeTokenBalance(
          ethers,
          s.token,
          s.lp,
          1_000n * s.unit,
        );
        await s.engine.unpause();
        expect(await s.vault.maxDeposit(s.bob)).to.equal(ethers.MaxUint256);
      });
    });

    describe("free liquidity", function () {
      it("with positions open maxWithdraw and maxRedeem are zero, and redemptions by request stop at free liquidity (LP balance less reserved profit caps)", async function () {
        const s = await networkHelpers.loadFixture(funded);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, 300n * WAD, 100_000n * u);
        const lpBalance = await s.engine.lpBalance();
        // Margin 100,000 above the entry's initial margin of 90,000 (10 % of $900,000): 9 x 90,000 reserved.
        const reserve = sideReserve(100_000n * u, notionalUsd(300n * WAD, usd(3_000)), WAD / 10n, 9n * WAD, s.decimals);
        expect(reserve).to.equal(810_000n * u);
        const free = lpBalance - reserve;
        expect(await s.engine.freeLiquidity()).to.equal(free);
        // The one-transaction paths are closed while a market has positions.
        expect(await s.vault.maxWithdraw(s.lp)).to.equal(0n);
        expect(await s.vault.maxRedeem(s.lp)).to.equal(0n);
        await expect(s.vault.connect(s.lp).withdraw(u, s.lp, s.lp)).to.be.revertedWithCustomError(
          s.vault,
          "UseRequests",
        );
        await expect(s.vault.connect(s.lp).redeem(OFFSET, s.lp, s.lp)).to.be.revertedWithCustomError(
          s.vault,
          "UseRequests",
        );
        // A redemption of the shares free liquidity can pay (no funding, no borrowing here: the delay moves no mark).
        const supply = await s.vault.totalSupply();
        const freeShares = mulDivDown(free, supply + OFFSET, lpBalance + 1n);
        const paid = await lpRedeem(s, s.lp, freeShares);
        expect(paid).to.equal(assetsForRedeem(freeShares, supply, lpBalance));
        const left = await s.engine.freeLiquidity();
        expect(left).to.equal(free - paid);
        expect(left).to.be.lessThanOrEqual(1n);
        // Beyond it, the execution reverts with the engine's InsufficientLiquidity (the request stays pending).
        await s.vault.connect(s.lp).requestRedeem(3n * OFFSET, 0n, 0n);
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

      it("with positions open and a stale feed, the one-transaction paths revert UseRequests and a request's execution the oracle's StalePrice", async function () {
        const s = await networkHelpers.loadFixture(funded);
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * s.unit);
        await s.vault.connect(s.lp).requestRedeem(OFFSET, 0n, 0n);
        await s.vault.connect(s.bob).requestDeposit(s.unit, 0n, 0n);
        // A first round after the delay, then a later round that is already stale (updated more than the
        // oracle's hour ago): the feed's latest answer is stale while the request is still live.
        await networkHelpers.time.increase(await lpDelay(s));
        const rounds = await pushRounds(s);
        const stale = BigInt(await networkHelpers.time.latest()) - 3_601n;
        await s.ethFeed.updateRoundData(rounds[0] + 1n, feedPrice(3_000), stale, stale);
        const [, , , updatedAt] = await s.ethFeed.latestRoundData();
        expect(updatedAt).to.equal(stale);
        await expect(s.vault.connect(s.lp).withdraw(s.unit, s.lp, s.lp)).to.be.revertedWithCustomError(
          s.vault,
          "UseRequests",
        );
        await expect(s.vault.connect(s.lp).redeem(OFFSET, s.lp, s.lp)).to.be.revertedWithCustomError(
          s.vault,
          "UseRequests",
        );
        await expect(s.vault.connect(s.bob).deposit(s.unit, s.bob)).to.be.revertedWithCustomError(
          s.vault,
          "UseRequests",
        );
        await expect(s.vault.connect(s.keeper).executeRequest(s.lp, rounds))
          .to.be.revertedWithCustomError(s.ethOracle, "StalePrice")
          .withArgs(updatedAt, 3_600n);
        await expect(s.vault.connect(s.keeper).executeRequest(s.bob, rounds))
          .to.be.revertedWithCustomError(s.ethOracle, "StalePrice")
          .withArgs(updatedAt, 3_600n);
      });

      it("a stale feed of a market without positions blocks neither deposits nor withdrawals", async function () {
        const s = await networkHelpers.loadFixture(funded);
        await networkHelpers.time.increase(3_601);
        await expect(s.ethOracle.price()).to.be.revertedWithCustomError(s.ethOracle, "StalePrice");
        const lpBalance = await s.engine.lpBalance();
        expect(await s.vault.totalAssets()).to.equal(lpBalance);
        await expect(s.vault.connect(s.lp).withdraw(s.unit, s.lp, s.lp)).to.changeTokenBalance(
          ethers,
          s.token,
          s.lp,
          s.unit,
        );
        await expect(s.vault.connect(s.bob).deposit(s.unit, s.bob)).to.changeTokenBalance(
          ethers,
          s.token,
          s.bob,
          -s.unit,
        );
      });

      it("share price follows trader losses: an LP redeems more after a trader's loss is realized", async function () {
        const s = await networkHelpers.loadFixture(funded);
        const shares = await s.vault.balanceOf(s.lp);
        const before = await s.vault.previewRedeem(shares);
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * s.unit);
        await s.ethFeed.updateAnswer(feedPrice(2_900));
        await s.orders.connect(s.alice).closePosition(ETH);
        const total = await s.engine.lpBalance();
        expect(await s.vault.previewRedeem(shares)).to.equal(assetsForRedeem(shares, shares, total));
        expect(await s.vault.previewRedeem(shares)).to.be.greaterThan(before + 100n * s.unit - 1n);
      });
    });
  });
}
