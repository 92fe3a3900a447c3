import { expect } from "chai";
import { BTC, ETH, ethers, feedPrice, marketConfig, networkHelpers, WAD } from "./helpers/system.js";
import {
  deployNoFunding6,
  deployNoFunding18,
  funded6,
  funded18,
  fundedNoFunding6,
  fundedNoFunding18,
  mulDivDown,
  mulDivUp,
  notional,
  notionalUsd,
  pnl,
  profitCap,
  sideReserve,
  splitFee,
  tradingFee,
  usd,
  type System,
} from "./helpers/trading.js";
import { deployAround } from "./helpers/tokens.js";
import { lpDeposit } from "./helpers/lp.js";

const FEE_RATIO = (5n * WAD) / 10_000n; // 5 bps, the fixture's default
const IMR = WAD / 10n;
const MAX_PROFIT_FACTOR = 9n * WAD;

/** The reserve of one side of the ETH market at the fixture's config. */
const reserveOf = (sideMargin: bigint, sideEntryNotionalUsd: bigint, decimals: number) =>
  sideReserve(sideMargin, sideEntryNotionalUsd, IMR, MAX_PROFIT_FACTOR, decimals);

/** The engine's LP ledger and token balance, to compare before and after an action. */
async function ledger(s: System) {
  return {
    lpBalance: await s.engine.lpBalance(),
    totalReserved: await s.engine.totalReserved(),
    pendingProtocolFees: await s.lens.pendingProtocolFees(),
    engineTokens: await s.token.balanceOf(s.engine),
  };
}

async function positionOf(s: System, who: { address: string }) {
  const p = await s.engine.getPosition(who.address, ETH);
  return { size: p.size, entryPrice: p.entryPrice, margin: p.margin, fundingIndex: p.fundingIndex };
}

const cases = [
  ["6-decimal", fundedNoFunding6, deployNoFunding6],
  ["18-decimal", fundedNoFunding18, deployNoFunding18],
] as const;

for (const [name, fixture, bareFixture] of cases) {
  describe(`PerpEngine trading (${name} collateral; funding off here, see Funding.test.ts)`, function () {
    describe("openPosition", function () {
      it("opens a long: pulls margin + fee, stores the position, splits the fee, reserves the profit cap", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        const size = 2n * WAD;
        const margin = 1_000n * u;
        const fee = tradingFee(size, usd(3_000), FEE_RATIO, s.decimals);
        expect(fee).to.equal(3n * u); // $6000 of notional at 5 bps
        const before = await ledger(s);
        const tx = s.orders.connect(s.alice).openPosition(ETH, size, margin);
        await expect(tx)
          .to.emit(s.engine, "PositionModified")
          .withArgs(s.alice.address, ETH, size, size, usd(3_000), usd(3_000), margin, 0n, 0n, fee);
        await expect(tx).to.changeTokenBalances(ethers, s.token, [s.alice, s.engine], [-(margin + fee), margin + fee]);
        expect(await positionOf(s, s.alice)).to.deep.equal({ size, entryPrice: usd(3_000), margin, fundingIndex: 0n });
        const split = splitFee(fee);
        const after = await ledger(s);
        expect(after.lpBalance - before.lpBalance).to.equal(split.lp);
        expect(after.pendingProtocolFees - before.pendingProtocolFees).to.equal(split.protocol);
        // Margin 1,000 exceeds the entry's initial margin of 600: the cap is 9 x 600, not 9 x 1,000.
        expect(after.totalReserved).to.equal(reserveOf(margin, notionalUsd(size, usd(3_000)), s.decimals));
        expect(after.totalReserved).to.equal(5_400n * u);
        const m = await s.lens.getMarket(ETH);
        expect([m.longSize, m.longMargin, m.longEntryNotional, m.shortSize]).to.deep.equal([
          size,
          margin,
          usd(6_000),
          0n,
        ]);
      });

      it("opens a short: negative size, short-side aggregates, same fee rule", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        const size = -3n * WAD;
        const margin = 1_500n * u;
        const fee = tradingFee(size, usd(3_000), FEE_RATIO, s.decimals);
        expect(fee).to.equal((45n * u) / 10n);
        const tx = s.orders.connect(s.bob).openPosition(ETH, size, margin);
        await expect(tx)
          .to.emit(s.engine, "PositionModified")
          .withArgs(s.bob.address, ETH, size, size, usd(3_000), usd(3_000), margin, 0n, 0n, fee);
        await expect(tx).to.changeTokenBalances(ethers, s.token, [s.bob, s.engine], [-(margin + fee), margin + fee]);
        const m = await s.lens.getMarket(ETH);
        expect([m.shortSize, m.shortMargin, m.shortEntryNotional, m.longSize]).to.deep.equal([
          3n * WAD,
          margin,
          usd(9_000),
          0n,
        ]);
        expect(await s.lens.openInterestNotional()).to.equal(notional(size, usd(3_000), s.decimals));
      });

      it("accepts margin exactly at the initial margin (10x) and reverts with InsufficientInitialMargin one unit below, state unchanged", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const initial = mulDivUp(notional(WAD, usd(3_000), s.decimals), IMR, WAD);
        expect(initial).to.equal(300n * s.unit);
        const before = await ledger(s);
        await expect(s.orders.connect(s.alice).openPosition(ETH, WAD, initial - 1n))
          .to.be.revertedWithCustomError(s.engine, "InsufficientInitialMargin")
          .withArgs(initial - 1n, initial);
        expect(await ledger(s)).to.deep.equal(before);
        expect((await positionOf(s, s.alice)).size).to.equal(0n);
        await s.orders.connect(s.alice).openPosition(ETH, WAD, initial);
        expect((await positionOf(s, s.alice)).margin).to.equal(initial);
      });

      it("reverts with ZeroSize, UnknownMarket and PositionExists", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const e = s.orders.connect(s.alice);
        await expect(e.openPosition(ETH, 0n, 100n * s.unit))
          .to.be.revertedWithCustomError(s.engine, "ZeroSize")
          .withArgs();
        await expect(e.openPosition(2n, WAD, 500n * s.unit))
          .to.be.revertedWithCustomError(s.engine, "UnknownMarket")
          .withArgs(2n);
        await e.openPosition(ETH, WAD, 500n * s.unit);
        await expect(e.openPosition(ETH, -WAD, 500n * s.unit))
          .to.be.revertedWithCustomError(s.engine, "PositionExists")
          .withArgs(s.alice.address, ETH);
      });

      it("reverts with MarginBelowMinimum below minMargin and NotionalBelowMinimum below minNotional", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const e = s.orders.connect(s.alice);
        await expect(e.openPosition(ETH, WAD, 10n * s.unit - 1n))
          .to.be.revertedWithCustomError(s.engine, "MarginBelowMinimum")
          .withArgs(10n * s.unit - 1n, 10n * s.unit);
        // 0.03 ETH at $3000 is $90 < $100.
        await expect(e.openPosition(ETH, (3n * WAD) / 100n, 20n * s.unit))
          .to.be.revertedWithCustomError(s.engine, "NotionalBelowMinimum")
          .withArgs(usd(90), usd(100));
      });

      it("caps open interest per side: exactly the cap opens, one more base unit reverts with OpenInterestCapExceeded", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        await s.engine.setMarketConfig(
          ETH,
          marketConfig(s.decimals, { maxFundingRatePerDay: 0n, maxOpenInterest: 2n * WAD }),
        );
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * s.unit);
        await s.orders.connect(s.bob).openPosition(ETH, WAD, 500n * s.unit);
        await expect(s.orders.connect(s.carol).openPosition(ETH, WAD / 10n, 100n * s.unit))
          .to.be.revertedWithCustomError(s.engine, "OpenInterestCapExceeded")
          .withArgs(2n * WAD + WAD / 10n, 2n * WAD);
        // The short side has its own cap.
        await s.orders.connect(s.carol).openPosition(ETH, -2n * WAD, 1_000n * s.unit);
        await expect(s.orders.connect(s.alice).increasePosition(ETH, 1n, 0n))
          .to.be.revertedWithCustomError(s.engine, "OpenInterestCapExceeded")
          .withArgs(2n * WAD + 1n, 2n * WAD);
      });

      it("reverts with InsufficientLiquidity when the LP pool cannot reserve the profit cap, and opens when it exactly can", async function () {
        const s = await networkHelpers.loadFixture(bareFixture);
        const u = s.unit;
        const margin = 300n * u;
        const reserve = reserveOf(margin, notionalUsd(WAD, usd(3_000)), s.decimals);
        expect(reserve).to.equal(2_700n * u);
        const lpFee = splitFee(tradingFee(WAD, usd(3_000), FEE_RATIO, s.decimals)).lp;
        await expect(s.orders.connect(s.alice).openPosition(ETH, WAD, margin))
          .to.be.revertedWithCustomError(s.engine, "InsufficientLiquidity")
          .withArgs(reserve, lpFee);
        await lpDeposit(s, s.lp, reserve - lpFee);
        await s.orders.connect(s.alice).openPosition(ETH, WAD, margin);
        expect(await s.engine.lpBalance()).to.equal(reserve);
        expect(await s.engine.totalReserved()).to.equal(reserve);
        expect(await s.engine.freeLiquidity()).to.equal(0n);
      });

      it("reverts with EnforcedPause while the guardian has paused the engine", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        await s.engine.pause();
        await expect(s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * s.unit))
          .to.be.revertedWithCustomError(s.engine, "EnforcedPause")
          .withArgs();
      });
    });

    describe("increasePosition", function () {
      it("on a long: entry becomes the size-weighted average rounded up; pulls marginDelta + fee", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * u);
        await s.ethFeed.updateAnswer(feedPrice(3_001));
        const weighted = WAD * usd(3_000) + 2n * WAD * usd(3_001);
        const entry = mulDivUp(weighted, 1n, 3n * WAD);
        expect(entry).to.equal(3_000_666666666666666667n);
        const fee = tradingFee(2n * WAD, usd(3_001), FEE_RATIO, s.decimals);
        const before = await ledger(s);
        const tx = s.orders.connect(s.alice).increasePosition(ETH, 2n * WAD, 500n * u);
        await expect(tx)
          .to.emit(s.engine, "PositionModified")
          .withArgs(s.alice.address, ETH, 2n * WAD, 3n * WAD, usd(3_001), entry, 1_000n * u, 0n, 0n, fee);
        await expect(tx).to.changeTokenBalances(
          ethers,
          s.token,
          [s.alice, s.engine],
          [-(500n * u + fee), 500n * u + fee],
        );
        expect(await positionOf(s, s.alice)).to.deep.equal({
          size: 3n * WAD,
          entryPrice: entry,
          margin: 1_000n * u,
          fundingIndex: 0n,
        });
        const after = await ledger(s);
        expect(after.lpBalance - before.lpBalance).to.equal(splitFee(fee).lp);
        // 9 x the initial margin of the averaged entry (900.2 plus a unit from rounding up), below 9 x 1,000.
        expect(after.totalReserved).to.equal(reserveOf(1_000n * u, notionalUsd(3n * WAD, entry), s.decimals));
        expect(after.totalReserved).to.be.lessThan(9_000n * u);
      });

      it("on a short: entry becomes the size-weighted average rounded down", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.bob).openPosition(ETH, -WAD, 500n * u);
        await s.ethFeed.updateAnswer(feedPrice(3_001));
        const entry = (WAD * usd(3_000) + 2n * WAD * usd(3_001)) / (3n * WAD);
        expect(entry).to.equal(3_000_666666666666666666n);
        await s.orders.connect(s.bob).increasePosition(ETH, 2n * WAD, 500n * u);
        expect(await positionOf(s, s.bob)).to.deep.equal({
          size: -3n * WAD,
          entryPrice: entry,
          margin: 1_000n * u,
          fundingIndex: 0n,
        });
      });

      it("reverts with ZeroSize, UnknownMarket, NoPosition, InsufficientInitialMargin and EnforcedPause", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        const e = s.orders.connect(s.alice);
        await expect(e.increasePosition(ETH, 0n, 0n))
          .to.be.revertedWithCustomError(s.engine, "ZeroSize")
          .withArgs();
        await expect(e.increasePosition(7n, WAD, 0n))
          .to.be.revertedWithCustomError(s.engine, "UnknownMarket")
          .withArgs(7n);
        await expect(e.increasePosition(ETH, WAD, 0n))
          .to.be.revertedWithCustomError(s.engine, "NoPosition")
          .withArgs(s.alice.address, ETH);
        await e.openPosition(ETH, WAD, 300n * u);
        const before = await ledger(s);
        // Doubling the size without margin: equity 300 against an initial margin of 600.
        await expect(e.increasePosition(ETH, WAD, 0n))
          .to.be.revertedWithCustomError(s.engine, "InsufficientInitialMargin")
          .withArgs(300n * u, 600n * u);
        expect(await ledger(s)).to.deep.equal(before);
        await s.engine.pause();
        await expect(e.increasePosition(ETH, WAD, 300n * u))
          .to.be.revertedWithCustomError(s.engine, "EnforcedPause")
          .withArgs();
      });
    });

    describe("reducePosition", function () {
      it("realizes a long's profit into margin and takes the fee from margin; no tokens move", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, 2n * WAD, 1_000n * u);
        await s.ethFeed.updateAnswer(feedPrice(3_300));
        const fullCap = profitCap(1_000n * u, 2n * WAD, usd(3_000), IMR, MAX_PROFIT_FACTOR, s.decimals);
        expect(fullCap).to.equal(5_400n * u);
        const cap = mulDivDown(fullCap, WAD / 2n, 2n * WAD);
        const realized = pnl(WAD / 2n, usd(3_000), usd(3_300), cap, s.decimals);
        expect(realized).to.equal(150n * u);
        const fee = tradingFee(WAD / 2n, usd(3_300), FEE_RATIO, s.decimals);
        const margin = 1_000n * u + realized - fee;
        const before = await ledger(s);
        const tx = s.orders.connect(s.alice).reducePosition(ETH, WAD / 2n);
        await expect(tx)
          .to.emit(s.engine, "PositionModified")
          .withArgs(
            s.alice.address,
            ETH,
            -(WAD / 2n),
            (3n * WAD) / 2n,
            usd(3_300),
            usd(3_000),
            margin,
            realized,
            0n,
            fee,
          );
        await expect(tx).to.changeTokenBalances(ethers, s.token, [s.alice, s.engine], [0n, 0n]);
        expect(await positionOf(s, s.alice)).to.deep.equal({
          size: (3n * WAD) / 2n,
          entryPrice: usd(3_000),
          margin,
          fundingIndex: 0n,
        });
        const after = await ledger(s);
        expect(after.lpBalance - before.lpBalance).to.equal(splitFee(fee).lp - realized);
        expect(after.pendingProtocolFees - before.pendingProtocolFees).to.equal(splitFee(fee).protocol);
        expect(after.totalReserved).to.equal(reserveOf(margin, notionalUsd((3n * WAD) / 2n, usd(3_000)), s.decimals));
      });

      it("realizes a short's loss (rounded up) into margin; the LP pool gains it; works while paused", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.bob).openPosition(ETH, -2n * WAD, 1_000n * u);
        await s.ethFeed.updateAnswer(310_000_000_001n); // $3100.00000001
        await s.engine.pause();
        const realized = pnl(-WAD, usd(3_000), 3_100_000_000_010_000_000_000n, 0n, s.decimals);
        expect(realized).to.be.lessThan(-100n * u); // rounded up in size: the trader loses the dust
        const fee = tradingFee(WAD, 3_100_000_000_010_000_000_000n, FEE_RATIO, s.decimals);
        const before = await ledger(s);
        await s.orders.connect(s.bob).reducePosition(ETH, WAD);
        expect((await positionOf(s, s.bob)).margin).to.equal(1_000n * u + realized - fee);
        expect((await ledger(s)).lpBalance - before.lpBalance).to.equal(-realized + splitFee(fee).lp);
      });

      it("reverts with ZeroSize, NoPosition, ReduceExceedsSize and NotionalBelowMinimum", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const e = s.orders.connect(s.alice);
        await expect(e.reducePosition(ETH, 0n)).to.be.revertedWithCustomError(s.engine, "ZeroSize").withArgs();
        await expect(e.reducePosition(ETH, WAD))
          .to.be.revertedWithCustomError(s.engine, "NoPosition")
          .withArgs(s.alice.address, ETH);
        await e.openPosition(ETH, 2n * WAD, 1_000n * s.unit);
        await expect(e.reducePosition(ETH, 2n * WAD))
          .to.be.revertedWithCustomError(s.engine, "ReduceExceedsSize")
          .withArgs(2n * WAD, 2n * WAD);
        await expect(e.reducePosition(ETH, 3n * WAD))
          .to.be.revertedWithCustomError(s.engine, "ReduceExceedsSize")
          .withArgs(3n * WAD, 2n * WAD);
        // Leaving 0.03 ETH ($90) is below the $100 minimum.
        await expect(e.reducePosition(ETH, 2n * WAD - (3n * WAD) / 100n))
          .to.be.revertedWithCustomError(s.engine, "NotionalBelowMinimum")
          .withArgs(usd(90), usd(100));
      });

      it("reverts with PositionWouldBeLiquidatable when the remainder would be below its liquidation margin", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
        await s.ethFeed.updateAnswer(feedPrice(2_750));
        const realized = pnl(WAD / 2n, usd(3_000), usd(2_750), 0n, s.decimals); // -125
        const fee = tradingFee(WAD / 2n, usd(2_750), FEE_RATIO, s.decimals);
        const margin = 300n * u + realized - fee;
        const equity = margin + pnl(WAD / 2n, usd(3_000), usd(2_750), 0n, s.decimals);
        const rest = notional(WAD / 2n, usd(2_750), s.decimals);
        const keeper = mulDivUp(rest, (5n * WAD) / 1_000n, WAD); // 6.875, inside [2, 100]
        const liquidationMargin = mulDivUp(rest, WAD / 20n, WAD) + keeper;
        expect([equity, liquidationMargin]).to.deep.equal([(493_125n * u) / 10_000n, (75_625n * u) / 1_000n]);
        await expect(s.orders.connect(s.alice).reducePosition(ETH, WAD / 2n))
          .to.be.revertedWithCustomError(s.engine, "PositionWouldBeLiquidatable")
          .withArgs(equity, liquidationMargin);
      });
    });

    describe("closePosition", function () {
      it("pays a long's equity less the fee: margin + profit - fee", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
        await s.ethFeed.updateAnswer(feedPrice(3_300));
        const profit = pnl(WAD, usd(3_000), usd(3_300), 2_700n * u, s.decimals);
        const fee = tradingFee(WAD, usd(3_300), FEE_RATIO, s.decimals);
        const payout = 300n * u + profit - fee;
        const before = await ledger(s);
        const tx = s.orders.connect(s.alice).closePosition(ETH);
        await expect(tx)
          .to.emit(s.engine, "PositionModified")
          .withArgs(s.alice.address, ETH, -WAD, 0n, usd(3_300), usd(3_000), 0n, profit, 0n, fee);
        await expect(tx).to.changeTokenBalances(ethers, s.token, [s.alice, s.engine], [payout, -payout]);
        expect((await positionOf(s, s.alice)).size).to.equal(0n);
        const after = await ledger(s);
        expect(after.lpBalance - before.lpBalance).to.equal(splitFee(fee).lp - profit);
        expect(after.totalReserved).to.equal(0n);
        expect(after.engineTokens).to.equal(after.lpBalance + after.pendingProtocolFees);
      });

      it("caps a long's profit at maxProfitFactor x margin when margin is the initial margin", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
        await s.ethFeed.updateAnswer(feedPrice(6_000)); // uncapped profit would be 3000
        const fee = tradingFee(WAD, usd(6_000), FEE_RATIO, s.decimals);
        const payout = 300n * u + 2_700n * u - fee;
        await expect(s.orders.connect(s.alice).closePosition(ETH)).to.changeTokenBalances(
          ethers,
          s.token,
          [s.alice, s.engine],
          [payout, -payout],
        );
      });

      it("caps an over-margined long's profit at maxProfitFactor x its entry's initial margin, not x its margin", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * u);
        await s.ethFeed.updateAnswer(feedPrice(6_000)); // uncapped profit 3,000; 9 x margin would be 4,500
        const cap = profitCap(500n * u, WAD, usd(3_000), IMR, MAX_PROFIT_FACTOR, s.decimals);
        expect(cap).to.equal(2_700n * u);
        const profit = pnl(WAD, usd(3_000), usd(6_000), cap, s.decimals);
        expect(profit).to.equal(cap);
        const fee = tradingFee(WAD, usd(6_000), FEE_RATIO, s.decimals);
        const payout = 500n * u + profit - fee;
        const before = await ledger(s);
        const tx = s.orders.connect(s.alice).closePosition(ETH);
        await expect(tx)
          .to.emit(s.engine, "PositionModified")
          .withArgs(s.alice.address, ETH, -WAD, 0n, usd(6_000), usd(3_000), 0n, profit, 0n, fee);
        await expect(tx).to.changeTokenBalances(ethers, s.token, [s.alice, s.engine], [payout, -payout]);
        expect((await ledger(s)).lpBalance - before.lpBalance).to.equal(splitFee(fee).lp - profit);
      });

      it("pays a short's margin less its loss and fee; the LP pool gains the loss; works while paused", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.bob).openPosition(ETH, -WAD, 300n * u);
        await s.ethFeed.updateAnswer(feedPrice(3_100));
        await s.engine.pause();
        const fee = tradingFee(WAD, usd(3_100), FEE_RATIO, s.decimals);
        const payout = 300n * u - 100n * u - fee;
        const before = await ledger(s);
        await expect(s.orders.connect(s.bob).closePosition(ETH)).to.changeTokenBalances(
          ethers,
          s.token,
          [s.bob, s.engine],
          [payout, -payout],
        );
        expect((await ledger(s)).lpBalance - before.lpBalance).to.equal(100n * u + splitFee(fee).lp);
      });

      it("takes at most the equity as fee, paying nothing, when equity is below the fee", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
        await s.ethFeed.updateAnswer(270_050_000_000n); // $2700.50: equity 0.5, fee 1.35025
        const equity = 300n * u + pnl(WAD, usd(3_000), 2_700_500_000_000_000_000_000n, 0n, s.decimals);
        expect(equity).to.equal(u / 2n);
        const before = await ledger(s);
        const tx = s.orders.connect(s.alice).closePosition(ETH);
        await expect(tx).to.changeTokenBalances(ethers, s.token, [s.alice, s.engine], [0n, 0n]);
        await expect(tx)
          .to.emit(s.engine, "PositionModified")
          .withArgs(
            s.alice.address,
            ETH,
            -WAD,
            0n,
            2_700_500_000_000_000_000_000n,
            usd(3_000),
            0n,
            -((2995n * u) / 10n),
            0n,
            equity,
          );
        expect((await ledger(s)).lpBalance - before.lpBalance).to.equal((2995n * u) / 10n + splitFee(equity).lp);
      });

      it("reverts with PositionBankrupt on negative equity, and with NoPosition / UnknownMarket", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await expect(s.orders.connect(s.alice).closePosition(ETH))
          .to.be.revertedWithCustomError(s.engine, "NoPosition")
          .withArgs(s.alice.address, ETH);
        await expect(s.orders.connect(s.alice).closePosition(9n))
          .to.be.revertedWithCustomError(s.engine, "UnknownMarket")
          .withArgs(9n);
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
        await s.ethFeed.updateAnswer(feedPrice(2_600));
        await expect(s.orders.connect(s.alice).closePosition(ETH))
          .to.be.revertedWithCustomError(s.engine, "PositionBankrupt")
          .withArgs(s.alice.address, ETH, -100n * u);
      });
    });

    describe("addMargin", function () {
      it("adds margin while paused and with a stale feed (it needs no price)", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
        await networkHelpers.time.increase(3_601);
        await s.engine.pause();
        const [, , , updatedAt] = await s.ethFeed.latestRoundData();
        await expect(s.ethOracle.price())
          .to.be.revertedWithCustomError(s.ethOracle, "StalePrice")
          .withArgs(updatedAt, 3_600n);
        const tx = s.engine.connect(s.alice).addMargin(ETH, 50n * u);
        await expect(tx)
          .to.emit(s.engine, "PositionModified")
          .withArgs(s.alice.address, ETH, 0n, WAD, 0n, usd(3_000), 350n * u, 0n, 0n, 0n);
        await expect(tx).to.changeTokenBalances(ethers, s.token, [s.alice, s.engine], [-50n * u, 50n * u]);
        expect((await positionOf(s, s.alice)).margin).to.equal(350n * u);
        // The top-up does not raise the reserve: it stays 9 x the entry's initial margin of 300.
        expect(await s.engine.totalReserved()).to.equal(reserveOf(350n * u, notionalUsd(WAD, usd(3_000)), s.decimals));
        expect(await s.engine.totalReserved()).to.equal(2_700n * u);
      });

      it("reverts with ZeroAmount, NoPosition and UnknownMarket", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const e = s.engine.connect(s.alice);
        await expect(e.addMargin(ETH, 0n)).to.be.revertedWithCustomError(s.engine, "ZeroAmount").withArgs();
        await expect(e.addMargin(ETH, 1n))
          .to.be.revertedWithCustomError(s.engine, "NoPosition")
          .withArgs(s.alice.address, ETH);
        await expect(e.addMargin(3n, 1n)).to.be.revertedWithCustomError(s.engine, "UnknownMarket").withArgs(3n);
      });
    });

    describe("removeMargin", function () {
      it("removes margin down to exactly the initial margin", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * u);
        const before = await ledger(s);
        const tx = s.orders.connect(s.alice).removeMargin(ETH, 200n * u);
        await expect(tx)
          .to.emit(s.engine, "PositionModified")
          .withArgs(s.alice.address, ETH, 0n, WAD, usd(3_000), usd(3_000), 300n * u, 0n, 0n, 0n);
        await expect(tx).to.changeTokenBalances(ethers, s.token, [s.alice, s.engine], [200n * u, -200n * u]);
        const after = await ledger(s);
        expect(after.lpBalance).to.equal(before.lpBalance);
        expect(after.totalReserved).to.equal(reserveOf(300n * u, notionalUsd(WAD, usd(3_000)), s.decimals));
      });

      it("reverts with InsufficientInitialMargin one unit past the initial margin, counting losses but not profits", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * u);
        const before = await ledger(s);
        await expect(s.orders.connect(s.alice).removeMargin(ETH, 200n * u + 1n))
          .to.be.revertedWithCustomError(s.engine, "InsufficientInitialMargin")
          .withArgs(300n * u - 1n, 300n * u);
        expect(await ledger(s)).to.deep.equal(before);
        // A loss of 100 counts: margin 389 - 100 = 289 < 290.
        await s.ethFeed.updateAnswer(feedPrice(2_900));
        await expect(s.orders.connect(s.alice).removeMargin(ETH, 111n * u))
          .to.be.revertedWithCustomError(s.engine, "InsufficientInitialMargin")
          .withArgs(289n * u, 290n * u);
        // A profit of 300 does not: margin 299 < 330.
        await s.ethFeed.updateAnswer(feedPrice(3_300));
        await expect(s.orders.connect(s.alice).removeMargin(ETH, 201n * u))
          .to.be.revertedWithCustomError(s.engine, "InsufficientInitialMargin")
          .withArgs(299n * u, 330n * u);
      });

      it("reverts with MarginBelowMinimum below minMargin (and reports 0 when removing more than the margin)", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, WAD / 10n, 50n * u);
        await expect(s.orders.connect(s.alice).removeMargin(ETH, 41n * u))
          .to.be.revertedWithCustomError(s.engine, "MarginBelowMinimum")
          .withArgs(9n * u, 10n * u);
        await expect(s.orders.connect(s.alice).removeMargin(ETH, 51n * u))
          .to.be.revertedWithCustomError(s.engine, "MarginBelowMinimum")
          .withArgs(0n, 10n * u);
      });

      it("reverts with ZeroAmount, NoPosition and EnforcedPause", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const e = s.orders.connect(s.alice);
        await expect(e.removeMargin(ETH, 0n)).to.be.revertedWithCustomError(s.engine, "ZeroAmount").withArgs();
        await expect(e.removeMargin(ETH, 1n))
          .to.be.revertedWithCustomError(s.engine, "NoPosition")
          .withArgs(s.alice.address, ETH);
        await e.openPosition(ETH, WAD, 500n * s.unit);
        await s.engine.pause();
        await expect(e.removeMargin(ETH, 1n)).to.be.revertedWithCustomError(s.engine, "EnforcedPause").withArgs();
      });
    });

    describe("fees", function () {
      it("distributeFees pays pending protocol fees: a third to the treasury (rounded down), the rest to the backstop", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
        await s.orders.connect(s.bob).openPosition(ETH, -(7n * WAD) / 3n, 1_000n * u);
        const fees = [WAD, (7n * WAD) / 3n].map((size) => tradingFee(size, usd(3_000), FEE_RATIO, s.decimals));
        const pending = fees.map((f) => splitFee(f).protocol).reduce((a, b) => a + b);
        expect(await s.lens.pendingProtocolFees()).to.equal(pending);
        // One unit stays behind so that the slot never returns to zero (a cheaper next fee).
        const paid = pending - 1n;
        const toTreasury = mulDivDown(paid, WAD / 10n, (3n * WAD) / 10n);
        const toBackstop = paid - toTreasury;
        const tx = s.engine.connect(s.keeper).distributeFees();
        await expect(tx).to.emit(s.engine, "FeesDistributed").withArgs(toBackstop, toTreasury);
        await expect(tx).to.changeTokenBalances(
          ethers,
          s.token,
          [s.engine, s.backstop, s.treasury],
          [-paid, toBackstop, toTreasury],
        );
        expect(await s.lens.pendingProtocolFees()).to.equal(1n);
        // Only the unit left behind: a second call moves nothing.
        await expect(s.engine.distributeFees()).to.emit(s.engine, "FeesDistributed").withArgs(0n, 0n);
      });

      it("claim reverts with NothingToClaim when no refund was deferred", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        await expect(s.engine.connect(s.alice).claim(s.alice))
          .to.be.revertedWithCustomError(s.engine, "NothingToClaim")
          .withArgs(s.alice.address);
      });
    });
  });
}

async function blocklistSystem() {
  const s = await deployAround(await ethers.deployContract("BlocklistToken", ["Blocklist USD", "blUSD", 6]));
  await lpDeposit(s, s.lp, 1_000_000n * s.unit);
  return s;
}

describe("PerpEngine claim (6-decimal blocklist collateral)", function () {
  it("a refund the token refuses to deliver is deferred, and claim pays it to another receiver once", async function () {
    const s = await networkHelpers.loadFixture(blocklistSystem);
    const u = s.unit;
    const [, , , , keeper] = await ethers.getSigners();
    await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
    await s.feed.updateAnswer(feedPrice(2_850));
    // Equity 150; keeper fee ceil(2850 x 0.5 %) = 14.25; penalty ceil(2850 x 1 %) = 28.5; the rest is refunded.
    const refund = 150n * u - mulDivUp(2_850n * u, (5n * WAD) / 1_000n, WAD) - mulDivUp(2_850n * u, WAD / 100n, WAD);
    expect(refund).to.equal((10_725n * u) / 100n);
    await s.token.setBlocked(s.alice, true);
    await expect(s.engine.connect(keeper).liquidate(s.alice, ETH, keeper))
      .to.emit(s.engine, "RefundDeferred")
      .withArgs(s.alice.address, refund);
    expect(await s.engine.claimable(s.alice)).to.equal(refund);
    const tx = s.engine.connect(s.alice).claim(s.bob);
    await expect(tx).to.emit(s.engine, "Claimed").withArgs(s.alice.address, s.bob.address, refund);
    await expect(tx).to.changeTokenBalances(ethers, s.token, [s.bob, s.engine], [refund, -refund]);
    expect(await s.engine.claimable(s.alice)).to.equal(0n);
    await expect(s.engine.connect(s.alice).claim(s.bob))
      .to.be.revertedWithCustomError(s.engine, "NothingToClaim")
      .withArgs(s.alice.address);
  });
});

for (const [name, fixture] of [
  ["6-decimal", funded6],
  ["18-decimal", funded18],
] as const) {
  describe(`PerpEngine token accounting (${name} collateral, funding on)`, function () {
    it("after every action the engine holds exactly lpBalance + all margins + pending protocol fees", async function () {
      const s = await networkHelpers.loadFixture(fixture);
      const u = s.unit;
      const traders = [s.alice, s.bob, s.carol, s.dave];
      const check = async (step: string) => {
        let margins = 0n;
        for (const t of traders) {
          for (const id of [ETH, BTC]) margins += (await s.engine.getPosition(t, id)).margin;
        }
        const owed =
          (await s.engine.lpBalance()) +
          margins +
          (await s.lens.pendingProtocolFees()) +
          (await s.lens.pendingPenalties());
        expect(await s.token.balanceOf(s.engine), step).to.equal(owed);
      };
      const odd = (n: bigint) => (n * WAD) / 7n + 13n; // sizes that divide unevenly
      const steps: [string, () => Promise<unknown>][] = [
        ["alice opens long", () => s.orders.connect(s.alice).openPosition(ETH, odd(10n), 1_777n * u + 3n)],
        ["bob opens short", () => s.orders.connect(s.bob).openPosition(ETH, -odd(25n), 3_333n * u + 1n)],
        ["carol opens BTC long", () => s.orders.connect(s.carol).openPosition(BTC, odd(1n), 2_000n * u)],
        ["price moves", () => s.ethFeed.updateAnswer(3_123_45678901n)],
        ["time passes", () => networkHelpers.time.increase(1_800)],
        ["alice increases", () => s.orders.connect(s.alice).increasePosition(ETH, odd(3n), 111n * u)],
        ["bob reduces", () => s.orders.connect(s.bob).reducePosition(ETH, odd(4n))],
        ["btc moves", () => s.btcFeed.updateAnswer(61_234_98765432n)],
        ["carol adds margin", () => s.engine.connect(s.carol).addMargin(BTC, 7n * u + 5n)],
        ["dave opens short", () => s.orders.connect(s.dave).openPosition(ETH, -odd(2n), 500n * u)],
        ["time passes again", () => networkHelpers.time.increase(1_700)],
        ["eth refreshes", () => s.ethFeed.updateAnswer(2_987_00000001n)],
        ["btc refreshes", () => s.btcFeed.updateAnswer(59_999_99999999n)],
        ["alice removes margin", () => s.orders.connect(s.alice).removeMargin(ETH, 13n * u + 7n)],
        ["bob closes", () => s.orders.connect(s.bob).closePosition(ETH)],
        ["carol closes", () => s.orders.connect(s.carol).closePosition(BTC)],
        ["fees distributed", () => s.engine.distributeFees()],
        ["alice closes", () => s.orders.connect(s.alice).closePosition(ETH)],
        ["dave closes", () => s.orders.connect(s.dave).closePosition(ETH)],
      ];
      for (const [step, action] of steps) {
        await action();
        await check(step);
      }
      expect(await s.engine.totalReserved()).to.equal(0n);
      const m = await s.lens.getMarket(ETH);
      expect([m.longSize, m.shortSize, m.longMargin, m.shortMargin, m.fundingCheckpointSum]).to.deep.equal([
        0n,
        0n,
        0n,
        0n,
        0n,
      ]);
      // With no position open the pool is worth exactly its ledger.
      expect(await s.vault.totalAssets()).to.equal(await s.engine.lpBalance());
    });
  });
}

/** The fixture with `s.orders` (InstantOrders) impersonated: a signer that may call the engine's execute* functions. */
async function asOrders(s: System) {
  const address = await s.orders.getAddress();
  await networkHelpers.impersonateAccount(address);
  await networkHelpers.setBalance(address, 10n ** 18n);
  return ethers.getSigner(address);
}

describe("PerpEngine order guards (6-decimal collateral)", function () {
  it("every execute* function reverts with OnlyOrders for any caller but the wired orders contract", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    const u = s.unit;
    await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * u);
    const price = usd(3_000);
    for (const caller of [s.alice, s.admin]) {
      const e = s.engine.connect(caller);
      for (const call of [
        () => e.executeOpen(s.bob, ETH, WAD, 500n * u, price, price),
        () => e.executeIncrease(s.alice, ETH, WAD, 500n * u, price, price),
        () => e.executeReduce(s.alice, ETH, WAD / 2n, price),
        () => e.executeClose(s.alice, ETH, true, price),
        () => e.executeRemoveMargin(s.alice, ETH, true, u, price),
      ]) {
        await expect(call()).to.be.revertedWithCustomError(s.engine, "OnlyOrders").withArgs(caller.address);
      }
    }
    // The OrderBook deployed beside the fixture is not the wired orders contract either.
    await networkHelpers.impersonateAccount(await s.book.getAddress());
    await networkHelpers.setBalance(await s.book.getAddress(), 10n ** 18n);
    const book = await ethers.getSigner(await s.book.getAddress());
    await expect(s.engine.connect(book).executeClose(s.alice, ETH, true, price))
      .to.be.revertedWithCustomError(s.engine, "OnlyOrders")
      .withArgs(await s.book.getAddress());
    expect(await positionOf(s, s.alice)).to.deep.include({ size: WAD, margin: 500n * u });
  });

  it("a request for the other side reverts with WrongSide(account, market, size), and zero sizes with ZeroSize", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    const u = s.unit;
    const price = usd(3_000);
    await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * u);
    await s.orders.connect(s.bob).openPosition(ETH, -2n * WAD, 1_000n * u);
    const before = await ledger(s);
    const e = s.engine.connect(await asOrders(s));
    // Alice is long: requests signed for a short (or naming the short side) are refused; so is the reverse for Bob.
    await expect(e.executeIncrease(s.alice, ETH, -WAD, 500n * u, price, price))
      .to.be.revertedWithCustomError(s.engine, "WrongSide")
      .withArgs(s.alice.address, ETH, WAD);
    await expect(e.executeReduce(s.alice, ETH, -WAD / 2n, price))
      .to.be.revertedWithCustomError(s.engine, "WrongSide")
      .withArgs(s.alice.address, ETH, WAD);
    await expect(e.executeClose(s.alice, ETH, false, price))
      .to.be.revertedWithCustomError(s.engine, "WrongSide")
      .withArgs(s.alice.address, ETH, WAD);
    await expect(e.executeRemoveMargin(s.alice, ETH, false, u, price))
      .to.be.revertedWithCustomError(s.engine, "WrongSide")
      .withArgs(s.alice.address, ETH, WAD);
    await expect(e.executeIncrease(s.bob, ETH, WAD, 500n * u, price, price))
      .to.be.revertedWithCustomError(s.engine, "WrongSide")
      .withArgs(s.bob.address, ETH, -2n * WAD);
    await expect(e.executeReduce(s.bob, ETH, WAD, price))
      .to.be.revertedWithCustomError(s.engine, "WrongSide")
      .withArgs(s.bob.address, ETH, -2n * WAD);
    await expect(e.executeClose(s.bob, ETH, true, price))
      .to.be.revertedWithCustomError(s.engine, "WrongSide")
      .withArgs(s.bob.address, ETH, -2n * WAD);
    await expect(e.executeRemoveMargin(s.bob, ETH, true, u, price))
      .to.be.revertedWithCustomError(s.engine, "WrongSide")
      .withArgs(s.bob.address, ETH, -2n * WAD);
    // Without a position there is no side: NoPosition.
    await expect(e.executeClose(s.carol, ETH, true, price))
      .to.be.revertedWithCustomError(s.engine, "NoPosition")
      .withArgs(s.carol.address, ETH);
    // Zero sizes, before anything else.
    await expect(e.executeOpen(s.carol, ETH, 0n, 500n * u, price, price)).to.be.revertedWithCustomError(
      s.engine,
      "ZeroSize",
    );
    await expect(e.executeIncrease(s.alice, ETH, 0n, 500n * u, price, price)).to.be.revertedWithCustomError(
      s.engine,
      "ZeroSize",
    );
    await expect(e.executeReduce(s.alice, ETH, 0n, price)).to.be.revertedWithCustomError(s.engine, "ZeroSize");
    await expect(e.executeRemoveMargin(s.alice, ETH, true, 0n, price)).to.be.revertedWithCustomError(
      s.engine,
      "ZeroAmount",
    );
    // Through InstantOrders too: a zero increase or reduce is refused by the engine.
    await expect(s.orders.connect(s.alice).increasePosition(ETH, 0n, 100n * u)).to.be.revertedWithCustomError(
      s.engine,
      "ZeroSize",
    );
    await expect(s.orders.connect(s.bob).reducePosition(ETH, 0n)).to.be.revertedWithCustomError(s.engine, "ZeroSize");
    expect(await ledger(s)).to.deep.equal(before);
    expect(await positionOf(s, s.alice)).to.deep.include({ size: WAD, margin: 500n * u });
    expect(await positionOf(s, s.bob)).to.deep.include({ size: -2n * WAD, margin: 1_000n * u });
  });

  it("executeOpen pulls the amount from the orders contract, not the account; the fee comes out of it", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    const u = s.unit;
    const price = usd(3_000);
    const fee = tradingFee(WAD, price, FEE_RATIO, s.decimals);
    const signer = await asOrders(s);
    await s.token.mint(signer, 1_000n * u);
    const e = s.engine.connect(signer);
    // Less than the fee: nothing would be left for margin.
    await expect(e.executeOpen(s.carol, ETH, WAD, fee - 1n, price, price))
      .to.be.revertedWithCustomError(s.engine, "PositionWouldBeLiquidatable")
      .withArgs(-1n, 0n);
    const tx = e.executeOpen(s.carol, ETH, WAD, 500n * u, price, price);
    await expect(tx)
      .to.emit(s.engine, "PositionModified")
      .withArgs(s.carol.address, ETH, WAD, WAD, price, price, 500n * u - fee, 0n, 0n, fee);
    await expect(tx).to.changeTokenBalances(ethers, s.token, [signer, s.carol, s.engine], [-500n * u, 0n, 500n * u]);
    expect(await positionOf(s, s.carol)).to.deep.include({ size: WAD, entryPrice: price, margin: 500n * u - fee });
  });
});

describe("PerpEngine payouts to a blocked trader (6-decimal blocklist collateral)", function () {
  it("a close's payout and removed margin wait in claimable with RefundDeferred; an open is refused at InstantOrders' pull", async function () {
    const s = await networkHelpers.loadFixture(blocklistSystem);
    const u = s.unit;
    await s.orders.connect(s.alice).openPosition(ETH, WAD, 1_000n * u);
    await s.orders.connect(s.alice).openPosition(BTC, WAD / 10n, 1_000n * u);
    await s.token.setBlocked(s.alice, true);

    // removeMargin: the amount is deferred, the margin still leaves the position.
    const removed = 100n * u;
    let tx = s.orders.connect(s.alice).removeMargin(ETH, removed);
    await expect(tx).to.emit(s.engine, "RefundDeferred").withArgs(s.alice.address, removed);
    await expect(tx).to.changeTokenBalances(ethers, s.token, [s.alice, s.engine], [0n, 0n]);
    expect((await s.engine.getPosition(s.alice, ETH)).margin).to.equal(900n * u);
    expect(await s.engine.claimable(s.alice)).to.equal(removed);

    // close: equity less the fee is deferred, the position is gone.
    const fee = tradingFee(WAD, usd(3_000), FEE_RATIO, 6);
    const payout = 900n * u - fee;
    tx = s.orders.connect(s.alice).closePosition(ETH);
    await expect(tx).to.emit(s.engine, "RefundDeferred").withArgs(s.alice.address, payout);
    await expect(tx).to.changeTokenBalances(ethers, s.token, [s.alice, s.engine], [0n, 0n]);
    expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(0n);
    expect(await s.engine.claimable(s.alice)).to.equal(removed + payout);

    // open and increase: InstantOrders pulls from the trader, which the token refuses.
    await expect(s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * u))
      .to.be.revertedWithCustomError(s.token, "Blocked")
      .withArgs(s.alice.address);
    await expect(s.orders.connect(s.alice).increasePosition(BTC, WAD / 10n, 0n))
      .to.be.revertedWithCustomError(s.token, "Blocked")
      .withArgs(s.alice.address);
    expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(0n);

    // The claim pays both to another receiver, at once.
    await expect(s.engine.connect(s.alice).claim(s.bob)).to.changeTokenBalances(
      ethers,
      s.token,
      [s.bob, s.engine],
      [removed + payout, -(removed + payout)],
    );
  });
});
