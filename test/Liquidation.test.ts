import { expect } from "chai";
import { deploySystem, ethers, ETH, networkHelpers, WAD } from "./helpers/system.js";
import {
  checkedLiquidation,
  coverCap,
  deployWithToken,
  expectedAt,
  FEED_STEP,
  liquidationMargin,
  configOf,
  notional,
  denOf,
  setPrice,
  usd,
  wMulUp,
  wMulDown,
  divUp,
  PARTIAL_ROUNDING_ALLOWANCE,
  keeperFee,
  pnl,
  position,
  inOneBlock,
  GAS,
} from "./helpers/liq.js";
import { lpDeposit } from "./helpers/lp.js";

for (const decimals of [6, 18]) {
  describe(`Liquidation (${decimals}-decimal collateral)`, function () {
    const unit = 10n ** BigInt(decimals);
    const tokens = (n: bigint) => n * unit;
    const den = denOf(decimals);
    const accountsOf = (s: any) => [s.lp, s.staker, s.keeper, s.alice, s.bob, s.carol, s.dave];

    describe("threshold edges", function () {
      // Long 10 ETH from $3,000. At $2,750: loss 2,500 tokens, notional 27,500, maintenance 1,375, keeper
      // fee 137.5 capped at 100, liquidation margin 1,475. Margin 3,975 puts equity exactly at it.
      const LONG_MARGIN = tokens(3_975n);
      // Short 10 ETH from $3,000. At $3,250: loss 2,500, notional 32,500, maintenance 1,625, keeper fee
      // 100 (capped), liquidation margin 1,725. Margin 4,225 puts equity exactly at it.
      const SHORT_MARGIN = tokens(4_225n);

      async function edgePositions() {
        const s = await deploySystem({ decimals });
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        await s.backstop.connect(s.staker).deposit(tokens(10_000n), s.staker);
        // Opposite books first, then the two positions under test in one block: skew is zero after.
        await s.orders.connect(s.bob).openPosition(ETH, -20n * WAD, tokens(20_000n));
        await inOneBlock([
          () => s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, LONG_MARGIN, GAS),
          () => s.orders.connect(s.carol).openPosition(ETH, 10n * WAD, LONG_MARGIN - 1n, GAS),
        ]);
        return s;
      }

      async function shortEdgePositions() {
        const s = await deploySystem({ decimals });
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        await s.backstop.connect(s.staker).deposit(tokens(10_000n), s.staker);
        await s.orders.connect(s.bob).openPosition(ETH, 20n * WAD, tokens(20_000n));
        await inOneBlock([
          () => s.orders.connect(s.alice).openPosition(ETH, -10n * WAD, SHORT_MARGIN, GAS),
          () => s.orders.connect(s.carol).openPosition(ETH, -10n * WAD, SHORT_MARGIN - 1n, GAS),
        ]);
        return s;
      }

      it("the test's arithmetic: equity equals the liquidation margin at $2,750 (long) and $3,250 (short)", async function () {
        const c = (await configOf((await networkHelpers.loadFixture(edgePositions)).lens, ETH)) as any;
        expect(liquidationMargin(c, notional(10n * WAD, usd(2_750n), den))).to.equal(tokens(1_475n));
        expect(LONG_MARGIN + pnl(10n * WAD, usd(3_000n), usd(2_750n), 0n, den)).to.equal(tokens(1_475n));
        expect(liquidationMargin(c, notional(10n * WAD, usd(3_250n), den))).to.equal(tokens(1_725n));
        expect(SHORT_MARGIN + pnl(-10n * WAD, usd(3_000n), usd(3_250n), 0n, den)).to.equal(tokens(1_725n));
      });

      it("liquidate reverts with PositionHealthy when a long's equity equals the liquidation margin", async function () {
        const s = await networkHelpers.loadFixture(edgePositions);
        await setPrice(s.ethFeed, usd(2_750n));
        await expect(s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper))
          .to.be.revertedWithCustomError(s.engine, "PositionHealthy")
          .withArgs(s.alice.address, ETH, tokens(1_475n), tokens(1_475n));
        expect(await s.lens.isLiquidatable(s.alice, ETH)).to.equal(false);
      });

      it("a long with one unit of margin less is liquidatable at the same price", async function () {
        const s = await networkHelpers.loadFixture(edgePositions);
        await setPrice(s.ethFeed, usd(2_750n));
        expect(await s.lens.isLiquidatable(s.carol, ETH)).to.equal(true);
        const r = await checkedLiquidation(s, s.carol, ETH, {
          coverCap: coverCap(tokens(10_000n)),
          accounts: accountsOf(s),
        });
        expect(r.e.equity).to.equal(tokens(1_475n) - 1n);
        expect(r.e.liquidationMargin).to.equal(tokens(1_475n));
        // Full (below the $100k partial threshold): keeper 100, penalty 1 % of 27,500, the rest refunded.
        expect([r.e.keeperFee, r.e.penalty, r.e.refund]).to.deep.equal([
          tokens(100n),
          tokens(275n),
          tokens(1_100n) - 1n,
        ]);
      });

      it("one feed step below the edge price the long at the edge becomes liquidatable; ten steps above it stays healthy", async function () {
        const s = await networkHelpers.loadFixture(edgePositions);
        await setPrice(s.ethFeed, usd(2_750n) + 10n * FEED_STEP);
        const up = (await expectedAt(s, s.alice, ETH, BigInt(await networkHelpers.time.latest()))).e;
        expect(up.equity - up.liquidationMargin, "ten steps above: at or above the edge").to.be.gte(0n);
        await expect(s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper))
          .to.be.revertedWithCustomError(s.engine, "PositionHealthy")
          .withArgs(s.alice.address, ETH, up.equity, up.liquidationMargin);
        await setPrice(s.ethFeed, usd(2_750n) - FEED_STEP);
        const r = await checkedLiquidation(s, s.alice, ETH, {
          coverCap: coverCap(tokens(10_000n)),
          accounts: accountsOf(s),
        });
        // 10 ETH x 1e-8 USD: a loss of 1e-7 USD, rounded up to one unit of a 6-decimal token.
        expect(r.e.equity).to.equal(tokens(1_475n) - (decimals === 6 ? 1n : 10n ** 11n));
      });

      if (decimals === 6) {
        it("at the unit scale health is not monotonic in price: one feed step ABOVE the edge, the long is liquidatable (requirement rounds up one unit, the rounded-up loss does not move)", async function () {
          const s = await networkHelpers.loadFixture(edgePositions);
          await setPrice(s.ethFeed, usd(2_750n) + FEED_STEP);
          // Loss ceil(2,500e6 - 0.1) = 2,500e6: equity stays 1,475e6. Notional ceil(27,500e6 + 0.1) =
          // 27,500e6 + 1, maintenance ceil(1,375e6 + 0.05) = 1,375e6 + 1: requirement 1,475e6 + 1.
          const r = await checkedLiquidation(s, s.alice, ETH, {
            coverCap: coverCap(tokens(10_000n)),
            accounts: accountsOf(s),
          });
          expect([r.e.equity, r.e.liquidationMargin]).to.deep.equal([tokens(1_475n), tokens(1_475n) + 1n]);
        });
      }

      it("liquidate reverts with PositionHealthy when a short's equity equals the liquidation margin; one unit less is liquidatable", async function () {
        const s = await networkHelpers.loadFixture(shortEdgePositions);
        await setPrice(s.ethFeed, usd(3_250n));
        await expect(s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper))
          .to.be.revertedWithCustomError(s.engine, "PositionHealthy")
          .withArgs(s.alice.address, ETH, tokens(1_725n), tokens(1_725n));
        const r = await checkedLiquidation(s, s.carol, ETH, {
          coverCap: coverCap(tokens(10_000n)),
          accounts: accountsOf(s),
        });
        expect(r.e.equity).to.equal(tokens(1_725n) - 1n);
        expect([r.e.keeperFee, r.e.penalty, r.e.refund]).to.deep.equal([
          tokens(100n),
          tokens(325n),
          tokens(1_300n) - 1n,
        ]);
      });

      it("with a proportional keeper fee the edge is exact too (1 ETH long, margin 306.75 at $2,850)", async function () {
        // Notional 2,850: maintenance 142.5, keeper fee 0.5 % = 14.25 (inside its floor and cap).
        async function small() {
          const s = await deploySystem({ decimals });
          await lpDeposit(s, s.lp, tokens(1_000_000n));
          await s.orders.connect(s.bob).openPosition(ETH, -2n * WAD, tokens(1_000n));
          const margin = (tokens(30_675n) / 100n) as bigint;
          await inOneBlock([
            () => s.orders.connect(s.alice).openPosition(ETH, WAD, margin, GAS),
            () => s.orders.connect(s.carol).openPosition(ETH, WAD, margin - 1n, GAS),
          ]);
          return s;
        }
        const s = await networkHelpers.loadFixture(small);
        await setPrice(s.ethFeed, usd(2_850n));
        const c = await configOf(s.lens, ETH);
        expect(keeperFee(c, tokens(2_850n))).to.equal(tokens(1_425n) / 100n);
        const edge = tokens(15_675n) / 100n;
        await expect(s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper))
          .to.be.revertedWithCustomError(s.engine, "PositionHealthy")
          .withArgs(s.alice.address, ETH, edge, edge);
        const r = await checkedLiquidation(s, s.carol, ETH, { coverCap: 0n, accounts: accountsOf(s) });
        expect(r.e.equity).to.equal(edge - 1n);
        expect(r.e.keeperFee).to.equal(tokens(1_425n) / 100n);
      });
    });

    describe("partial liquidation", function () {
      // Long 20 ETH from $3,000 with 6,000 margin (Bob's short first). Partial threshold lowered to $10k.
      // At $2,840: equity 2,800 < 2,840 + 100.
      function partialFixture(overrides: Record<string, bigint>) {
        return async function partialPositions() {
          const s = await deploySystem({
            decimals,
            ethConfig: { partialLiquidationThreshold: 10_000n * WAD, ...overrides },
          });
          await lpDeposit(s, s.lp, tokens(1_000_000n));
          await s.backstop.connect(s.staker).deposit(tokens(10_000n), s.staker);
          await s.orders.connect(s.bob).openPosition(ETH, -20n * WAD, tokens(20_000n));
          await s.orders.connect(s.alice).openPosition(ETH, 20n * WAD, tokens(6_000n));
          return s;
        };
      }
      const lowThreshold = partialFixture({});
      const dustGuard = partialFixture({ minNotional: 40_000n * WAD });

      it("a partial close restores health with the buffer: sizeClosed < size, remaining healthy, no dust", async function () {
        const s = await networkHelpers.loadFixture(lowThreshold);
        await setPrice(s.ethFeed, usd(2_840n));
        const c = await configOf(s.lens, ETH);
        const r = await checkedLiquidation(s, s.alice, ETH, {
          coverCap: coverCap(tokens(10_000n)),
          accounts: accountsOf(s),
        });
        // Equity 2,800 < 2,840 + 100: liquidatable, and partial.
        expect([r.e.equity, r.e.liquidationMargin]).to.deep.equal([tokens(2_800n), tokens(2_940n)]);
        expect(r.e.full).to.equal(false);
        expect(r.e.sizeClosed).to.be.gt(0n);
        expect(r.e.sizeClosed).to.be.lt(20n * WAD);
        const rest = await position(s.engine, s.alice, ETH);
        const restNotional = notional(rest.size, usd(2_840n), den);
        expect((rest.size * usd(2_840n)) / WAD, "remaining notional >= minNotional").to.be.gte(c.minNotional);
        const restEquity = rest.margin + pnl(rest.size, rest.entryPrice, usd(2_840n), 0n, den);
        const buffered =
          wMulUp(restNotional, c.maintenanceMarginRatio + c.partialLiquidationBuffer) + keeperFee(c, restNotional);
        expect(restEquity, "remaining equity meets maintenance + buffer + keeper fee").to.be.gte(buffered);
        // No refund and no bad debt in a partial liquidation.
        expect([r.e.refund, r.e.badDebt]).to.deep.equal([0n, 0n]);
        await expect(s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper)).to.be.revertedWithCustomError(
          s.engine,
          "PositionHealthy",
        );
      });

      /** Long 10 ETH from $3,000 with 3,000 margin (Bob's short first), partial threshold $10k, at $2,850. */
      async function tenEth() {
        const s = await deploySystem({ decimals, ethConfig: { partialLiquidationThreshold: 10_000n * WAD } });
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        await s.orders.connect(s.bob).openPosition(ETH, -10n * WAD, tokens(10_000n));
        await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, tokens(3_000n));
        await setPrice(s.ethFeed, usd(2_850n));
        return s;
      }

      it("10 ETH long at $2,850 (equity 1,500 < 1,525, keeper fee proportional) is liquidated in part: the closed-form size with the rounding allowance", async function () {
        const s = await networkHelpers.loadFixture(tenEth);
        const c = await configOf(s.lens, ETH);
        const price = usd(2_850n);
        // The closed form, by hand: need = N x (m + buffer + k) + allowance; close the fraction
        // (need - equity) / (N x (m + buffer - penalty)) of the size, rounded up.
        const n = notional(10n * WAD, price, den);
        expect(n).to.equal(tokens(28_500n));
        const target = c.maintenanceMarginRatio + c.partialLiquidationBuffer;
        const need = wMulUp(n, target + c.keeperFeeRatio) + PARTIAL_ROUNDING_ALLOWANCE;
        const excess = need - tokens(1_500n);
        const fraction = divUp(excess * WAD, wMulDown(n, target - c.liquidationPenaltyRatio));
        const sizeClosed = wMulUp(10n * WAD, fraction);
        // 780 / 1,852.5 of 10 ETH = 4.2105263... ETH, plus the allowance's 8 units / 185.25 tokens per ETH.
        expect(sizeClosed).to.be.closeTo(4_210_526_315_789_473_690n, divUp(8n * WAD, 185n * unit) + 10n);
        const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: 0n, accounts: accountsOf(s) });
        expect([r.e.equity, r.e.liquidationMargin]).to.deep.equal([tokens(1_500n), tokens(1_525n)]);
        expect([r.e.full, r.e.sizeClosed]).to.deep.equal([false, sizeClosed]);
        // The rest, read back from the engine, is healthy with the buffer and above minNotional.
        const rest = await position(s.engine, s.alice, ETH);
        expect(rest.size).to.equal(10n * WAD - sizeClosed);
        const restNotional = notional(rest.size, price, den);
        const restEquity = rest.margin + pnl(rest.size, rest.entryPrice, price, 0n, den);
        expect(restEquity, "rest healthy with the buffer").to.be.gte(
          wMulUp(restNotional, target) + keeperFee(c, restNotional),
        );
        expect((rest.size * price) / WAD, "rest above minNotional").to.be.gte(c.minNotional);
        // The penalty is paid on the closed notional only, not on 28,500.
        expect(r.e.penalty).to.equal(wMulUp(notional(sizeClosed, price, den), c.liquidationPenaltyRatio));
        expect(r.e.penalty).to.be.lessThan(tokens(285n));
      });

      it("a partial close is not attempted below partialLiquidationThreshold (full liquidation)", async function () {
        const s = await deploySystem({ decimals });
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        await s.orders.connect(s.bob).openPosition(ETH, -10n * WAD, tokens(10_000n));
        await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, tokens(3_000n));
        await setPrice(s.ethFeed, usd(2_850n));
        const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: 0n, accounts: accountsOf(s) });
        expect([r.e.full, r.e.sizeClosed]).to.deep.equal([true, 10n * WAD]);
        expect([r.e.keeperFee, r.e.penalty, r.e.refund]).to.deep.equal([tokens(100n), tokens(285n), tokens(1_115n)]);
      });

      it("when no partial close restores health (fraction >= 1) the position is closed in full", async function () {
        const s = await networkHelpers.loadFixture(lowThreshold);
        await setPrice(s.ethFeed, usd(2_720n)); // equity 400 against a buffered need of 4,352
        const r = await checkedLiquidation(s, s.alice, ETH, {
          coverCap: coverCap(tokens(10_000n)),
          accounts: accountsOf(s),
        });
        expect([r.e.full, r.e.equity]).to.deep.equal([true, tokens(400n)]);
      });

      it("a position with non-positive equity is closed in full even above the threshold", async function () {
        const s = await networkHelpers.loadFixture(lowThreshold);
        await setPrice(s.ethFeed, usd(2_650n));
        const r = await checkedLiquidation(s, s.alice, ETH, {
          coverCap: coverCap(tokens(10_000n)),
          accounts: accountsOf(s),
        });
        expect([r.e.full, r.e.badDebt, r.covered]).to.deep.equal([true, tokens(1_100n), tokens(1_100n)]);
      });

      it("a large position whose keeper fee sits at its cap is still liquidated in part when that restores health", async function () {
        // 100 ETH long from $3,000 with 30,000 margin, default $100k threshold. At $2,740 equity is 4,000,
        // at most 1.5 % of the 274,000 notional: the proportional bound would close everything, the
        // capped-fee bound closes about 94 % and leaves the rest healthy with the buffer.
        const s = await networkHelpers.loadFixture(async function whale() {
          const s = await deploySystem({ decimals });
          await lpDeposit(s, s.lp, tokens(1_000_000n));
          await s.backstop.connect(s.staker).deposit(tokens(10_000n), s.staker);
          await s.orders.connect(s.bob).openPosition(ETH, -100n * WAD, tokens(100_000n));
          await s.orders.connect(s.alice).openPosition(ETH, 100n * WAD, tokens(30_000n));
          return s;
        });
        await setPrice(s.ethFeed, usd(2_740n));
        const c = await configOf(s.lens, ETH);
        const r = await checkedLiquidation(s, s.alice, ETH, {
          coverCap: coverCap(tokens(10_000n)),
          accounts: accountsOf(s),
        });
        expect([r.e.equity, r.e.full]).to.deep.equal([tokens(4_000n), false]);
        expect(r.e.keeperFee, "the closed part's fee is capped too").to.equal(c.maxKeeperFee);
        expect(r.e.sizeClosed).to.be.gt(90n * WAD);
        expect(r.e.sizeClosed).to.be.lt(95n * WAD);
        const rest = await position(s.engine, s.alice, ETH);
        const restNotional = notional(rest.size, usd(2_740n), den);
        const restEquity = rest.margin + pnl(rest.size, usd(3_000n), usd(2_740n), 0n, den);
        const buffered =
          wMulUp(restNotional, c.maintenanceMarginRatio + c.partialLiquidationBuffer) + keeperFee(c, restNotional);
        expect(restEquity, "the rest is healthy with the buffer").to.be.gte(buffered);
      });

      it("a partial close that would leave less than minNotional is refused: full liquidation", async function () {
        const s = await networkHelpers.loadFixture(dustGuard);
        await setPrice(s.ethFeed, usd(2_840n));
        const r = await checkedLiquidation(s, s.alice, ETH, {
          coverCap: coverCap(tokens(10_000n)),
          accounts: accountsOf(s),
        });
        expect([r.e.full, r.e.sizeClosed]).to.deep.equal([true, 20n * WAD]);
      });
    });

    describe("refund deferral", function () {
      async function blocklisted() {
        const s = await deployWithToken("BlocklistToken", { decimals });
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        await s.orders.connect(s.bob).openPosition(ETH, -10n * WAD, tokens(10_000n));
        await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, tokens(3_000n));
        await setPrice(s.ethFeed, usd(2_800n)); // equity 1,000: refund 620
        await s.token.setBlocked(s.alice, true);
        return s;
      }

      it("a refund the token refuses is deferred to claimable (RefundDeferred) and the liquidation goes through", async function () {
        const s = await networkHelpers.loadFixture(blocklisted);
        const r = await checkedLiquidation(s, s.alice, ETH, {
          coverCap: 0n,
          accounts: accountsOf(s),
          refundDeferred: true,
        });
        expect(r.e.refund).to.equal(tokens(620n));
        expect(await s.engine.claimable(s.alice)).to.equal(tokens(620n));
      });

      it("claim pays the deferred refund to a receiver of the trader's choice, once; then NothingToClaim", async function () {
        const s = await networkHelpers.loadFixture(blocklisted);
        await s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper);
        const tx = s.engine.connect(s.alice).claim(s.dave);
        await expect(tx).to.emit(s.engine, "Claimed").withArgs(s.alice.address, s.dave.address, tokens(620n));
        await expect(tx).to.changeTokenBalances(ethers, s.token, [s.dave, s.engine], [tokens(620n), -tokens(620n)]);
        expect(await s.engine.claimable(s.alice)).to.equal(0n);
        await expect(s.engine.connect(s.alice).claim(s.alice))
          .to.be.revertedWithCustomError(s.engine, "NothingToClaim")
          .withArgs(s.alice.address);
      });

      it("claim reverts with NothingToClaim for an account that never had a refund deferred", async function () {
        const s = await networkHelpers.loadFixture(blocklisted);
        await expect(s.engine.connect(s.carol).claim(s.carol))
          .to.be.revertedWithCustomError(s.engine, "NothingToClaim")
          .withArgs(s.carol.address);
      });
    });

    describe("inputs and conditions", function () {
      async function opened() {
        const s = await deploySystem({ decimals });
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        await s.orders.connect(s.bob).openPosition(ETH, -10n * WAD, tokens(10_000n));
        await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, tokens(3_000n));
        return s;
      }

      it("liquidate reverts with NoPosition and UnknownMarket", async function () {
        const s = await networkHelpers.loadFixture(opened);
        await expect(s.engine.liquidate(s.carol, ETH, s.keeper))
          .to.be.revertedWithCustomError(s.engine, "NoPosition")
          .withArgs(s.carol.address, ETH);
        await expect(s.engine.liquidate(s.alice, 5n, s.keeper))
          .to.be.revertedWithCustomError(s.engine, "UnknownMarket")
          .withArgs(5n);
      });

      it("liquidate reverts with the oracle's StalePrice when the feed is older than its max age", async function () {
        const s = await networkHelpers.loadFixture(opened);
        await setPrice(s.ethFeed, usd(2_700n));
        const updatedAt = (await s.ethFeed.latestRoundData()).updatedAt;
        await networkHelpers.time.increase(3_601n);
        await expect(s.engine.liquidate(s.alice, ETH, s.keeper))
          .to.be.revertedWithCustomError(s.ethOracle, "StalePrice")
          .withArgs(updatedAt, 3_600n);
      });

      it("liquidation works while the engine is paused", async function () {
        const s = await networkHelpers.loadFixture(opened);
        await s.engine.connect(s.admin).pause();
        await setPrice(s.ethFeed, usd(2_800n));
        const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: 0n, accounts: accountsOf(s) });
        expect(r.e.refund).to.equal(tokens(620n));
      });

      it("funding owed is settled in the liquidation and counted in equity (skewed market, time passes)", async function () {
        const s = await networkHelpers.loadFixture(opened);
        await s.orders.connect(s.carol).openPosition(ETH, 5n * WAD, tokens(2_000n)); // skew +5: longs pay
        await networkHelpers.time.increase(5n * 86_400n);
        await setPrice(s.ethFeed, usd(2_810n));
        const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: 0n, accounts: accountsOf(s) });
        expect(r.e.funding, "Alice owes funding").to.be.gt(0n);
        expect(r.e.equity).to.equal(tokens(1_100n) - r.e.funding);
      });
    });
  });
}
