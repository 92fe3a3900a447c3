import { expect } from "chai";
import { deploySystem, ETH, BTC, networkHelpers, WAD } from "./helpers/system.js";
import {
  checkedLiquidation,
  configOf,
  coverCap,
  denOf,
  divUp,
  feedPriceOf,
  funding,
  fundingIndexAt,
  keeperFee,
  notional,
  pnl,
  position,
  setPrice,
  usd,
  wMulDown,
  wMulUp,
  abs,
  expectedLiquidation,
  FEED_STEP,
  fundingRatePerDay,
  lensLiquidationPrice,
  profitCap,
  inOneBlock,
  GAS,
} from "./helpers/liq.js";
import { lpDeposit } from "./helpers/lp.js";

const CENT = WAD / 100n;

for (const decimals of [6, 18]) {
  describe(`PerpLens (${decimals}-decimal collateral)`, function () {
    const unit = 10n ** BigInt(decimals);
    const tokens = (n: bigint) => n * unit;
    const den = denOf(decimals);
    const accountsOf = (s: any) => [s.lp, s.staker, s.keeper, s.alice, s.bob, s.carol, s.dave];

    /** Alice long 10 ETH from $3,000 with 3,000 margin; Bob's short first (no funding for Alice). */
    function book(stake: bigint, ethConfig = {}) {
      return async function lensBook() {
        const s = await deploySystem({ decimals, ethConfig });
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        if (stake > 0n) await s.backstop.connect(s.staker).deposit(stake, s.staker);
        await s.orders.connect(s.bob).openPosition(ETH, -20n * WAD, tokens(20_000n));
        await s.orders.connect(s.alice).openPosition(ETH, 20n * WAD, tokens(6_000n));
        return s;
      };
    }
    const staked = book(tokens(1_000n));
    const unstaked = book(0n);
    const partial = book(tokens(1_000n), { partialLiquidationThreshold: 10_000n * WAD });

    async function previewThenLiquidate(s: any, stake: bigint) {
      const preview = await s.lens.previewLiquidation(s.alice, ETH);
      expect(await s.lens.isLiquidatable(s.alice, ETH)).to.equal(true);
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: coverCap(stake), accounts: accountsOf(s) });
      expect({
        liquidatable: preview.liquidatable,
        full: preview.full,
        price: preview.price,
        sizeClosed: preview.sizeClosed,
        equity: preview.equity,
        liquidationMargin: preview.liquidationMargin,
        keeperFee: preview.keeperFee,
        penalty: preview.penalty,
        traderLoss: preview.traderLoss,
        traderRefund: preview.traderRefund,
        badDebt: preview.badDebt,
        coveredByBackstop: preview.coveredByBackstop,
        socialized: preview.socialized,
      }).to.deep.equal({
        liquidatable: true,
        full: r.e.full,
        price: r.price,
        sizeClosed: r.e.sizeClosed,
        equity: r.e.equity,
        liquidationMargin: r.e.liquidationMargin,
        keeperFee: r.e.keeperFee,
        penalty: r.e.penalty,
        traderLoss: r.e.funding - r.e.pnlClosed,
        traderRefund: r.e.refund,
        badDebt: r.e.badDebt,
        coveredByBackstop: r.covered,
        socialized: r.socialized,
      });
      return r;
    }

    describe("previewLiquidation equals what liquidate then does, field by field", function () {
      it("with a refund", async function () {
        const s = await networkHelpers.loadFixture(staked);
        await setPrice(s.ethFeed, usd(2_800n));
        const r = await previewThenLiquidate(s, tokens(1_000n));
        expect([r.e.keeperFee, r.e.penalty, r.e.refund]).to.deep.equal([tokens(100n), tokens(560n), tokens(1_340n)]);
      });

      it("with bad debt covered in part and socialized in part", async function () {
        const s = await networkHelpers.loadFixture(staked);
        await setPrice(s.ethFeed, usd(2_650n));
        const r = await previewThenLiquidate(s, tokens(1_000n));
        expect([r.e.badDebt, r.covered, r.socialized]).to.deep.equal([tokens(1_100n), tokens(300n), tokens(800n)]);
      });

      it("with an empty backstop (all socialized)", async function () {
        const s = await networkHelpers.loadFixture(unstaked);
        await setPrice(s.ethFeed, usd(2_690n));
        const r = await previewThenLiquidate(s, 0n);
        expect([r.e.badDebt, r.covered, r.socialized]).to.deep.equal([tokens(300n), 0n, tokens(300n)]);
      });

      it("for a partial liquidation", async function () {
        const s = await networkHelpers.loadFixture(partial);
        await setPrice(s.ethFeed, usd(2_840n));
        const r = await previewThenLiquidate(s, tokens(1_000n));
        expect(r.e.full).to.equal(false);
      });

      it("a healthy position previews not liquidatable with its equity and liquidation margin, the rest zero", async function () {
        const s = await networkHelpers.loadFixture(staked);
        const p = await s.lens.previewLiquidation(s.alice, ETH);
        // At $3,000: equity 6,000; notional 60,000: 3,000 + 100.
        expect([p.liquidatable, p.full, p.equity, p.liquidationMargin, p.keeperFee, p.badDebt]).to.deep.equal([
          false,
          false,
          tokens(6_000n),
          tokens(3_100n),
          0n,
          0n,
        ]);
        expect(await s.lens.isLiquidatable(s.alice, ETH)).to.equal(false);
      });

      it("no position: preview all zero and not liquidatable", async function () {
        const s = await networkHelpers.loadFixture(staked);
        const p = await s.lens.previewLiquidation(s.carol, ETH);
        expect([p.liquidatable, p.price, p.equity, p.liquidationMargin]).to.deep.equal([false, 0n, 0n, 0n]);
        expect(await s.lens.isLiquidatable(s.carol, ETH)).to.equal(false);
        await expect(s.lens.positionHealth(s.carol, ETH))
          .to.be.revertedWithCustomError(s.engine, "NoPosition")
          .withArgs(s.carol.address, ETH);
      });
    });

    describe("positionHealth", function () {
      /** Alice long 2 BTC, Bob short 1 BTC (skew +1 of 50: longs pay), ten days pass, BTC moves. */
      async function skewed() {
        const s = await deploySystem({ decimals });
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        await s.orders.connect(s.alice).openPosition(BTC, 2n * WAD, tokens(15_000n));
        await s.orders.connect(s.bob).openPosition(BTC, -WAD, tokens(8_000n));
        await networkHelpers.time.increase(10n * 86_400n);
        return s;
      }

      /** The health the lens must report for `account`, computed at the latest block's time. */
      async function expectedHealth(s: any, account: any, marketId: bigint) {
        const c = await configOf(s.lens, marketId);
        const price = await feedPriceOf(s, marketId);
        const now = BigInt(await networkHelpers.time.latest());
        const index = await fundingIndexAt(s.lens, marketId, c, price, now);
        const p = await position(s.engine, account, marketId);
        const size = p.size < 0n ? -p.size : p.size;
        const f = funding(p.size, index, p.fundingIndex, den);
        const u = pnl(p.size, p.entryPrice, price, profitCap(c, p.margin, size, p.entryPrice, den), den);
        const equity = p.margin + u - f;
        const n = notional(size, price, den);
        const kf = keeperFee(c, n);
        const mm = wMulUp(n, c.maintenanceMarginRatio);
        const liquidationPrice = lensLiquidationPrice(c, p, f, den);
        return {
          size: p.size,
          entryPrice: p.entryPrice,
          margin: p.margin,
          price,
          pnl: u,
          funding: f,
          equity,
          notional: n,
          leverage: equity > 0n ? divUp(n * WAD, equity) : 2n ** 256n - 1n,
          maintenanceMargin: mm,
          keeperFee: kf,
          liquidationMargin: mm + kf,
          liquidationPrice,
          liquidatable: equity < mm + kf,
        };
      }

      const asObject = (h: any) => ({
        size: h.size,
        entryPrice: h.entryPrice,
        margin: h.margin,
        price: h.price,
        pnl: h.pnl,
        funding: h.funding,
        equity: h.equity,
        notional: h.notional,
        leverage: h.leverage,
        maintenanceMargin: h.maintenanceMargin,
        keeperFee: h.keeperFee,
        liquidationMargin: h.liquidationMargin,
        liquidationPrice: h.liquidationPrice,
        liquidatable: h.liquidatable,
      });

      it("reports pnl, funding, equity, leverage, margins and liquidation price of a long and a short (funding accrued)", async function () {
        const s = await networkHelpers.loadFixture(skewed);
        await setPrice(s.btcFeed, usd(57_000n));
        const long = await expectedHealth(s, s.alice, BTC);
        const short = await expectedHealth(s, s.bob, BTC);
        expect(long.funding, "the long pays funding").to.be.gt(0n);
        expect(short.funding, "the short receives funding").to.be.lt(0n);
        expect(long.pnl).to.equal(-tokens(6_000n));
        expect(short.pnl).to.equal(tokens(3_000n));
        expect(asObject(await s.lens.positionHealth(s.alice, BTC))).to.deep.equal(long);
        expect(asObject(await s.lens.positionHealth(s.bob, BTC))).to.deep.equal(short);
      });

      it("moving the feed a cent past the reported liquidation price flips a long to liquidatable, a cent before keeps it healthy", async function () {
        const s = await networkHelpers.loadFixture(staked);
        const h = await s.lens.positionHealth(s.alice, ETH);
        // 20 ETH, margin 6,000, keeper fee capped at 100: 20P - 54,000 = P + 100  =>  P = 54,100 / 19.
        expect(h.liquidationPrice).to.equal((54_100n * WAD) / 19n);
        const feedLiq = (h.liquidationPrice / 10n ** 10n) * 10n ** 10n;
        await setPrice(s.ethFeed, feedLiq + CENT);
        expect(await s.lens.isLiquidatable(s.alice, ETH)).to.equal(false);
        await setPrice(s.ethFeed, feedLiq - CENT);
        expect(await s.lens.isLiquidatable(s.alice, ETH)).to.equal(true);
        expect((await s.lens.positionHealth(s.alice, ETH)).liquidatable).to.equal(true);
      });

      it("moving the feed a cent past the reported liquidation price flips a short to liquidatable, a cent before keeps it healthy", async function () {
        const s = await networkHelpers.loadFixture(staked);
        const h = await s.lens.positionHealth(s.bob, ETH);
        expect(asObject(h)).to.deep.equal(await expectedHealth(s, s.bob, ETH));
        // 20 ETH short, margin 20,000: 20,000 + 20 (3,000 - P) = P + 100  =>  P = 79,900 / 21, less the
        // second of funding Bob paid before Alice opened.
        expect(h.liquidationPrice).to.be.closeTo((79_900n * WAD) / 21n, CENT);
        const feedLiq = (h.liquidationPrice / 10n ** 10n) * 10n ** 10n;
        await setPrice(s.ethFeed, feedLiq - CENT);
        expect(await s.lens.isLiquidatable(s.bob, ETH)).to.equal(false);
        await setPrice(s.ethFeed, feedLiq + CENT);
        expect(await s.lens.isLiquidatable(s.bob, ETH)).to.equal(true);
      });

      it("with funding accrued the liquidation price still flips health within a cent (long and short)", async function () {
        const s = await networkHelpers.loadFixture(skewed);
        await setPrice(s.btcFeed, usd(60_000n));
        // Book the ten days of funding at today's price first: funding not yet accrued is priced at the
        // oracle price of the moment it is read, so it would move with the feed (see the report).
        await s.engine.connect(s.keeper).liquidateBatch([s.carol], [BTC], s.keeper);
        for (const [who, long] of [
          [s.alice, true],
          [s.bob, false],
        ] as const) {
          const h = await s.lens.positionHealth(who, BTC);
          expect(asObject(h)).to.deep.equal(await expectedHealth(s, who, BTC));
          const feedLiq = (h.liquidationPrice / 10n ** 10n) * 10n ** 10n;
          await setPrice(s.btcFeed, long ? feedLiq + CENT : feedLiq - CENT);
          expect(await s.lens.isLiquidatable(who, BTC), "a cent on the safe side").to.equal(false);
          await setPrice(s.btcFeed, long ? feedLiq - CENT : feedLiq + CENT);
          expect(await s.lens.isLiquidatable(who, BTC), "a cent on the other side").to.equal(true);
          await setPrice(s.btcFeed, usd(60_000n));
        }
      });
    });

    describe("liquidation price with the keeper fee proportional to price, or at its floor (at its cap: above)", function () {
      /**
       * From $3,000 at 10x, in one block (one funding checkpoint, zero skew after): Alice short 1 ETH and
       * Carol long 1 ETH (keeper fee proportional near their liquidation prices), Bob short 0.1 ETH and
       * Dave long 0.1 ETH (proportional fee below the 2-token floor there).
       */
      async function smallBook() {
        const s = await deploySystem({ decimals });
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        await inOneBlock([
          () => s.orders.connect(s.alice).openPosition(ETH, -WAD, tokens(300n), GAS),
          () => s.orders.connect(s.carol).openPosition(ETH, WAD, tokens(300n), GAS),
          () => s.orders.connect(s.bob).openPosition(ETH, -WAD / 10n, tokens(30n), GAS),
          () => s.orders.connect(s.dave).openPosition(ETH, WAD / 10n, tokens(30n), GAS),
        ]);
        return s;
      }

      /**
       * The feed price (a whole number of feed steps) at which the model first finds the position
       * liquidatable, moving away from the entry: the lowest such price for a short, the highest for a long.
       */
      async function modelBoundary(s: any, account: any) {
        const c = await configOf(s.lens, ETH);
        const m = await s.lens.getMarket(ETH);
        expect(fundingRatePerDay(c, m.longSize, m.shortSize), "zero skew: no funding accrues").to.equal(0n);
        const now = BigInt(await networkHelpers.time.latest());
        const index = await fundingIndexAt(s.lens, ETH, c, await feedPriceOf(s, ETH), now);
        const p = await position(s.engine, account, ETH);
        const liquidatable = (steps: bigint) => expectedLiquidation(c, p, steps * FEED_STEP, index, den).liquidatable;
        const entry = p.entryPrice / FEED_STEP;
        // Bisection between a healthy price (the entry) and a liquidatable one.
        let [healthy, unhealthy] = p.size < 0n ? [entry, 2n * entry] : [entry, 1n];
        expect([liquidatable(healthy), liquidatable(unhealthy)]).to.deep.equal([false, true]);
        while (abs(unhealthy - healthy) > 1n) {
          const mid = (healthy + unhealthy) / 2n;
          if (liquidatable(mid)) unhealthy = mid;
          else healthy = mid;
        }
        return { c, p, boundary: unhealthy * FEED_STEP, f: funding(p.size, index, p.fundingIndex, den) };
      }

      // Reported prices, by hand: short (300 + 3,000) / 1.055; long (3,000 - 300) / 0.945; with the 2-token
      // floor for 0.1 ETH: short (30 + 300 - 2) / (0.1 x 1.05); long (300 + 2 - 30) / (0.1 x 0.95).
      for (const [label, who, expectedPrice] of [
        ["a short 1 ETH, keeper fee proportional", "alice", (3_300n * WAD * 1_000n) / 1_055n],
        ["a long 1 ETH, keeper fee proportional", "carol", (2_700n * WAD * 1_000n) / 945n],
        ["a short 0.1 ETH, keeper fee at its floor", "bob", (328n * WAD * 10_000n) / 1_050n],
        ["a long 0.1 ETH, keeper fee at its floor", "dave", (272n * WAD * 10_000n) / 950n],
      ] as const) {
        it(`${label}: the reported price is within a feed step (plus unit rounding) of the true boundary; healthy a step before it, liquidated at it`, async function () {
          const s = await networkHelpers.loadFixture(smallBook);
          const account = s[who];
          const { c, p, boundary, f } = await modelBoundary(s, account);
          const reported = (await s.lens.positionHealth(account, ETH)).liquidationPrice;
          expect(reported).to.equal(expectedPrice);
          expect(reported).to.equal(lensLiquidationPrice(c, p, f, den));
          // The lens ignores unit rounding, which moves equity less the liquidation margin by under four
          // collateral units against the trader: as a price, 4 units over the slope |s| x (1 - m - k).
          const slope = wMulDown(abs(p.size), WAD - c.maintenanceMarginRatio - c.keeperFeeRatio);
          const rounding = divUp(4n * den, slope);
          expect(abs(reported - boundary), "reported vs true boundary").to.be.lte(FEED_STEP + rounding);
          if (decimals === 18) expect(abs(reported - boundary), "within one feed step").to.be.lte(FEED_STEP);
          // The contract agrees with the model on both sides of the boundary.
          const before = p.size < 0n ? boundary - FEED_STEP : boundary + FEED_STEP;
          await setPrice(s.ethFeed, before);
          expect(await s.lens.isLiquidatable(account, ETH), "a feed step before the boundary").to.equal(false);
          await setPrice(s.ethFeed, boundary);
          expect(await s.lens.isLiquidatable(account, ETH), "at the boundary").to.equal(true);
          const r = await checkedLiquidation(s, account, ETH, { coverCap: 0n, accounts: accountsOf(s) });
          expect([r.e.full, r.e.badDebt]).to.deep.equal([true, 0n]);
        });
      }
    });

    describe("leverage", function () {
      it("leverage is max when equity is not positive", async function () {
        const s = await networkHelpers.loadFixture(staked);
        await setPrice(s.ethFeed, usd(2_650n));
        const h = await s.lens.positionHealth(s.alice, ETH);
        expect(h.equity).to.equal(-tokens(1_000n));
        expect(h.leverage).to.equal(2n ** 256n - 1n);
      });
    });
  });
}
