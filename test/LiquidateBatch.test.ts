import { expect } from "chai";
import { BTC, deploySystem, ethers, ETH, networkHelpers, WAD } from "./helpers/system.js";
import { blockTime, checkedBatch, extraTraders, GAS, inOneBlock, setPrice, usd } from "./helpers/liq.js";
import { lpDeposit } from "./helpers/lp.js";

for (const decimals of [6, 18]) {
  describe(`LiquidateBatch (${decimals}-decimal collateral)`, function () {
    const unit = 10n ** BigInt(decimals);
    const tokens = (n: bigint) => n * unit;

    /**
     * Dave is short 30 ETH; Alice, Bob (3,000 margin) and Carol (6,000) are long 10 ETH each, opened in
     * one block (skew zero after). The LP opened and closed a long (an already-closed entry). A trader is
     * long 1 BTC with 6,000 margin. ETH falls to $2,700 (Alice and Bob at zero equity, Carol healthy),
     * BTC to $54,000 (zero equity) and then the BTC feed goes stale while ETH is refreshed.
     */
    async function mixedBook() {
      const s = await deploySystem({ decimals });
      const [btcTrader] = await extraTraders(s, 1);
      await lpDeposit(s, s.lp, tokens(1_000_000n));
      await s.backstop.connect(s.staker).deposit(tokens(10_000n), s.staker);
      await s.orders.connect(s.lp).openPosition(ETH, WAD, tokens(1_000n));
      await s.orders.connect(s.lp).closePosition(ETH);
      await s.orders.connect(s.dave).openPosition(ETH, -30n * WAD, tokens(30_000n));
      await inOneBlock([
        () => s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, tokens(3_000n), GAS),
        () => s.orders.connect(s.bob).openPosition(ETH, 10n * WAD, tokens(3_000n), GAS),
        () => s.orders.connect(s.carol).openPosition(ETH, 10n * WAD, tokens(6_000n), GAS),
      ]);
      await s.orders.connect(btcTrader).openPosition(BTC, WAD, tokens(6_000n));
      await setPrice(s.btcFeed, usd(54_000n));
      await networkHelpers.time.increase(3_601n);
      await setPrice(s.ethFeed, usd(2_700n));
      return { ...s, btcTrader };
    }
    const accountsOf = (s: any) => [s.lp, s.staker, s.keeper, s.alice, s.bob, s.carol, s.dave, s.btcTrader];

    it("skips healthy, closed, duplicate, unknown-market and stale-oracle entries without reverting; pays the keeper fees once", async function () {
      const s = await networkHelpers.loadFixture(mixedBook);
      await expect(s.btcOracle.price()).to.be.revertedWithCustomError(s.btcOracle, "StalePrice");
      const entries = [
        { account: s.alice, marketId: ETH },
        { account: s.carol, marketId: ETH }, // healthy
        { account: s.lp, marketId: ETH }, // closed before
        { account: s.alice, marketId: ETH }, // duplicate
        { account: s.bob, marketId: ETH },
        { account: s.alice, marketId: 9n }, // unknown market
        { account: s.btcTrader, marketId: BTC }, // stale oracle
      ];
      const r = await checkedBatch(s, entries, {
        staleMarkets: [BTC],
        backstopAssets: tokens(10_000n),
        accounts: accountsOf(s),
        recipient: s.treasury,
      });
      expect(r.plans.map((x) => x.entry.account.address)).to.deep.equal([s.alice.address, s.bob.address]);
      expect(r.fees).to.equal(tokens(200n));
      expect(r.covered).to.equal(tokens(200n));
      expect((await s.engine.getPosition(s.carol, ETH)).size).to.equal(10n * WAD);
      expect((await s.engine.getPosition(s.btcTrader, BTC)).size).to.equal(WAD);
    });

    it("a batch with nothing to liquidate succeeds, returns (0, 0), transfers nothing and emits BatchLiquidated", async function () {
      const s = await networkHelpers.loadFixture(mixedBook);
      const entries = [
        { account: s.carol, marketId: ETH },
        { account: s.btcTrader, marketId: BTC },
      ];
      const r = await checkedBatch(s, entries, {
        staleMarkets: [BTC],
        backstopAssets: tokens(10_000n),
        accounts: accountsOf(s),
      });
      expect(r.plans.length).to.equal(0);
    });

    it("liquidateBatch reverts with LengthMismatch when the arrays differ in length", async function () {
      const s = await networkHelpers.loadFixture(mixedBook);
      await expect(s.engine.liquidateBatch([s.alice, s.bob], [ETH], s.keeper))
        .to.be.revertedWithCustomError(s.engine, "LengthMismatch")
        .withArgs(2n, 1n);
    });

    it("liquidates bad debt in order: the covers of one window take at most 30 % of the backstop in all", async function () {
      const s = await networkHelpers.loadFixture(mixedBook);
      await setPrice(s.ethFeed, usd(2_000n)); // Alice and Bob: equity -7,000, bad debt 7,100 each
      const r = await checkedBatch(
        s,
        [
          { account: s.alice, marketId: ETH },
          { account: s.bob, marketId: ETH },
        ],
        { staleMarkets: [BTC], backstopAssets: tokens(10_000n), accounts: accountsOf(s) },
      );
      expect(r.plans.map((x) => x.covered)).to.deep.equal([tokens(3_000n), 0n]);
      expect(r.plans.map((x) => x.socialized)).to.deep.equal([tokens(4_100n), tokens(7_100n)]);
      await expect(r.tx)
        .to.emit(s.backstop, "CoverLimitReached")
        .withArgs((await blockTime(await r.tx)) - 86_400n, tokens(10_000n), tokens(3_000n), tokens(3_000n));
    });
  });
}

describe("LiquidateBatch gas", function () {
  /** Ten traders long 1 ETH from $3,000 with 300 margin each; ETH at `price`. */
  const book = (price: bigint) =>
    async function tenLiquidatable() {
      const s = await deploySystem({ decimals: 6 });
      const traders = await extraTraders(s, 10);
      await lpDeposit(s, s.lp, 1_000_000n * s.unit);
      await s.backstop.connect(s.staker).deposit(10_000n * s.unit, s.staker);
      await s.orders.connect(s.dave).openPosition(ETH, -10n * WAD, 10_000n * s.unit);
      await inOneBlock(traders.map((t) => () => s.orders.connect(t).openPosition(ETH, WAD, 300n * s.unit, GAS)));
      await setPrice(s.ethFeed, price);
      return { ...s, traders };
    };
  const withRefunds = book(usd(2_750n)); // equity 50 < 137.5 + 13.75: the trader gets a refund
  const withBadDebt = book(usd(2_650n)); // equity -50: the backstop covers 63.25 each

  async function batchGas(fixture: typeof withRefunds, n: number) {
    const s = await networkHelpers.loadFixture(fixture);
    const chosen = s.traders.slice(0, n);
    const tx = await s.engine.connect(s.keeper).liquidateBatch(
      chosen,
      chosen.map(() => ETH),
      s.keeper,
    );
    const receipt = await tx.wait();
    const event = receipt!.logs
      .map((log: any) => s.engine.interface.parseLog(log))
      .find((e: any) => e?.name === "BatchLiquidated");
    expect(event!.args.liquidated).to.equal(BigInt(n));
    return receipt!.gasUsed;
  }

  for (const [label, fixture] of [
    ["with refunds", withRefunds],
    ["with bad debt covered by the backstop", withBadDebt],
  ] as const) {
    it(`gas grows linearly with the number of liquidated positions (1, 5, 10) ${label}, under 150k per extra position`, async function () {
      const g1 = await batchGas(fixture, 1);
      const g5 = await batchGas(fixture, 5);
      const g10 = await batchGas(fixture, 10);
      const perExtra = (g10 - g1) / 9n;
      expect(g5).to.be.gt(g1);
      expect(g10).to.be.gt(g5);
      expect(perExtra).to.be.lt(150_000n);
      // Linear: the 1→5 slope and the 5→10 slope agree within 10 %.
      const slopeA = (g5 - g1) / 4n;
      const slopeB = (g10 - g5) / 5n;
      expect(slopeA > slopeB ? slopeA - slopeB : slopeB - slopeA).to.be.lt(slopeA / 10n);
      if (process.env.BATCH_GAS_REPORT) {
        process.stdout.write(`batch gas ${label}: 1=${g1} 5=${g5} 10=${g10} per extra=${perExtra}\n`);
      }
    });
  }
});
