import { expect } from "chai";
import { ETH, ethers, feedPrice, marketConfig, networkHelpers, WAD } from "./helpers/system.js";
import {
  denOf,
  fundedNoFunding6,
  funded6,
  funded18,
  fundingOwed,
  fundingRate,
  indexDelta,
  mulDivDown,
  splitFee,
  tradingFee,
  usd,
  type System,
} from "./helpers/trading.js";
import { lpDeposit } from "./helpers/lp.js";

const MAX_RATE = WAD / 1_000n; // 0.1 % a day, the fixture's default
const SKEW_SCALE = 1_000n * WAD;
const FEE_RATIO = (5n * WAD) / 10_000n;
const PRICE = usd(3_000);

/** Refreshes the feed and returns a start time a little ahead of the chain. */
async function start(s: System) {
  await s.ethFeed.updateAnswer(feedPrice(3_000));
  return BigInt(await networkHelpers.time.latest()) + 10n;
}
const at = (t: bigint) => networkHelpers.time.setNextBlockTimestamp(t);

const cases = [
  ["6-decimal", funded6],
  ["18-decimal", funded18],
] as const;

for (const [name, fixture] of cases) {
  describe(`PerpEngine funding (${name} collateral)`, function () {
    it("a lone long pays skew/skewScale x maxRate x price x elapsed, rounded up, settled on close into the LP pool", async function () {
      const s = await networkHelpers.loadFixture(fixture);
      const u = s.unit;
      const size = 100n * WAD;
      const margin = 40_000n * u;
      const t0 = await start(s);
      await at(t0);
      await s.orders.connect(s.alice).openPosition(ETH, size, margin);
      const rate = fundingRate(size, SKEW_SCALE, MAX_RATE);
      expect(rate).to.equal(WAD / 10_000n); // 10 % of the maximum
      expect(await s.lens.fundingRate(ETH)).to.equal(rate);
      const elapsed = 3_000n;
      const index = indexDelta(rate, PRICE, elapsed);
      const owed = fundingOwed(size, index, s.decimals);
      expect(owed).to.equal(mulDivDown(size, index, denOf(s.decimals)) + (s.decimals === 6 ? 1n : 0n));
      const fee = tradingFee(size, PRICE, FEE_RATIO, s.decimals);
      const lpBefore = await s.engine.lpBalance();
      await at(t0 + elapsed);
      const tx = s.orders.connect(s.alice).closePosition(ETH);
      await expect(tx)
        .to.emit(s.engine, "PositionModified")
        .withArgs(s.alice.address, ETH, -size, 0n, PRICE, PRICE, 0n, 0n, owed, fee);
      await expect(tx).to.changeTokenBalance(ethers, s.token, s.alice, margin - owed - fee);
      expect((await s.lens.getMarket(ETH)).fundingIndex).to.equal(index);
      expect((await s.engine.lpBalance()) - lpBefore).to.equal(owed + splitFee(fee).lp);
    });

    it("the majority side pays more than the minority receives; the LP pool gains the net", async function () {
      const s = await networkHelpers.loadFixture(fixture);
      const u = s.unit;
      const long = 300n * WAD;
      const short = -100n * WAD;
      await lpDeposit(s, s.lp, 1_000_000n * u); // room to reserve both profit caps
      const t0 = await start(s);
      await at(t0);
      await s.orders.connect(s.alice).openPosition(ETH, long, 100_000n * u);
      await at(t0 + 1n);
      await s.orders.connect(s.bob).openPosition(ETH, short, 40_000n * u);
      // One second with only the long open, then 2999 s at a skew of 200, then 1 s at a skew of -100.
      const i1 = indexDelta(fundingRate(long, SKEW_SCALE, MAX_RATE), PRICE, 1n);
      const i2 = i1 + indexDelta(fundingRate(long + short, SKEW_SCALE, MAX_RATE), PRICE, 2_999n);
      const i3 = i2 + indexDelta(fundingRate(short, SKEW_SCALE, MAX_RATE), PRICE, 1n);
      expect(i3 - i2).to.be.lessThan(0n); // once shorts dominate, the index falls
      const aliceOwes = fundingOwed(long, i2, s.decimals);
      const bobOwes = fundingOwed(short, i3 - i1, s.decimals); // negative: bob receives
      expect(bobOwes).to.be.lessThan(0n);
      expect(aliceOwes).to.be.greaterThan(-bobOwes);
      const lpBefore = await s.engine.lpBalance();
      await at(t0 + 3_000n);
      await expect(s.orders.connect(s.alice).closePosition(ETH))
        .to.emit(s.engine, "PositionModified")
        .withArgs(
          s.alice.address,
          ETH,
          -long,
          0n,
          PRICE,
          PRICE,
          0n,
          0n,
          aliceOwes,
          tradingFee(long, PRICE, FEE_RATIO, s.decimals),
        );
      await at(t0 + 3_001n);
      const bobFee = tradingFee(short, PRICE, FEE_RATIO, s.decimals);
      await expect(s.orders.connect(s.bob).closePosition(ETH)).to.changeTokenBalance(
        ethers,
        s.token,
        s.bob,
        40_000n * u - bobOwes - bobFee,
      );
      const fees = splitFee(tradingFee(long, PRICE, FEE_RATIO, s.decimals)).lp + splitFee(bobFee).lp;
      expect((await s.engine.lpBalance()) - lpBefore).to.equal(aliceOwes + bobOwes + fees);
    });

    it("clamps the rate at maxFundingRatePerDay once the skew reaches skewScale", async function () {
      const s = await networkHelpers.loadFixture(fixture);
      const u = s.unit;
      const scale = 50n * WAD;
      await s.engine.setMarketConfig(ETH, marketConfig(s.decimals, { skewScale: scale }));
      const t0 = await start(s);
      await at(t0);
      await s.orders.connect(s.alice).openPosition(ETH, 60n * WAD, 20_000n * u);
      expect(fundingRate(60n * WAD, scale, MAX_RATE)).to.equal(MAX_RATE);
      expect(await s.lens.fundingRate(ETH)).to.equal(MAX_RATE);
      await at(t0 + 1n);
      await s.orders.connect(s.bob).openPosition(ETH, -120n * WAD, 40_000n * u);
      expect(await s.lens.fundingRate(ETH)).to.equal(-MAX_RATE);
      await at(t0 + 2_000n);
      await networkHelpers.mine();
      const expected =
        indexDelta(MAX_RATE, PRICE, 1n) + indexDelta(fundingRate(-60n * WAD, scale, MAX_RATE), PRICE, 1_999n);
      expect(await s.lens.currentFundingIndex(ETH)).to.equal(expected);
      // Settled at the clamp: the long, opened at index 0, receives (rounded down) what the short side pays.
      await at(t0 + 2_001n);
      const index = expected + indexDelta(-MAX_RATE, PRICE, 1n);
      const owed = fundingOwed(60n * WAD, index, s.decimals);
      expect(owed).to.be.lessThan(0n);
      const fee = tradingFee(60n * WAD, PRICE, FEE_RATIO, s.decimals);
      await expect(s.orders.connect(s.alice).closePosition(ETH)).to.changeTokenBalance(
        ethers,
        s.token,
        s.alice,
        20_000n * u - owed - fee,
      );
    });

    it("is settled on increase, reduce and removeMargin: each charges the accrued funding and moves the checkpoint", async function () {
      const s = await networkHelpers.loadFixture(fixture);
      const u = s.unit;
      const t0 = await start(s);
      await at(t0);
      await s.orders.connect(s.alice).openPosition(ETH, 100n * WAD, 40_000n * u);
      const e = s.orders.connect(s.alice);

      const i1 = indexDelta(fundingRate(100n * WAD, SKEW_SCALE, MAX_RATE), PRICE, 1_000n);
      const f1 = fundingOwed(100n * WAD, i1, s.decimals);
      const fee1 = tradingFee(10n * WAD, PRICE, FEE_RATIO, s.decimals);
      const m1 = 40_000n * u - f1;
      await at(t0 + 1_000n);
      await expect(e.increasePosition(ETH, 10n * WAD, 0n))
        .to.emit(s.engine, "PositionModified")
        .withArgs(s.alice.address, ETH, 10n * WAD, 110n * WAD, PRICE, PRICE, m1, 0n, f1, fee1);
      expect((await s.engine.getPosition(s.alice, ETH)).fundingIndex).to.equal(i1);

      const i2 = i1 + indexDelta(fundingRate(110n * WAD, SKEW_SCALE, MAX_RATE), PRICE, 1_000n);
      const f2 = fundingOwed(110n * WAD, i2 - i1, s.decimals);
      const fee2 = tradingFee(20n * WAD, PRICE, FEE_RATIO, s.decimals);
      const m2 = m1 - f2 - fee2;
      await at(t0 + 2_000n);
      await expect(e.reducePosition(ETH, 20n * WAD))
        .to.emit(s.engine, "PositionModified")
        .withArgs(s.alice.address, ETH, -20n * WAD, 90n * WAD, PRICE, PRICE, m2, 0n, f2, fee2);
      expect((await s.engine.getPosition(s.alice, ETH)).fundingIndex).to.equal(i2);

      const i3 = i2 + indexDelta(fundingRate(90n * WAD, SKEW_SCALE, MAX_RATE), PRICE, 1_000n);
      const f3 = fundingOwed(90n * WAD, i3 - i2, s.decimals);
      const m3 = m2 - f3 - 100n * u;
      const lpBefore = await s.engine.lpBalance();
      await at(t0 + 3_000n);
      const tx = e.removeMargin(ETH, 100n * u);
      await expect(tx)
        .to.emit(s.engine, "PositionModified")
        .withArgs(s.alice.address, ETH, 0n, 90n * WAD, PRICE, PRICE, m3, 0n, f3, 0n);
      await expect(tx).to.changeTokenBalance(ethers, s.token, s.alice, 100n * u);
      expect((await s.engine.getPosition(s.alice, ETH)).fundingIndex).to.equal(i3);
      expect((await s.engine.lpBalance()) - lpBefore).to.equal(f3);
    });
  });
}

describe("PerpEngine funding larger than margin", function () {
  for (const [name, fixture] of [
    ["6-decimal", funded6],
    ["18-decimal", funded18],
  ] as const) {
    it(`increasePosition reverts with PositionWouldBeLiquidatable(margin - funding, 0) once funding exceeds the margin (${name})`, async function () {
      const s = await networkHelpers.loadFixture(fixture);
      const u = s.unit;
      const maxRate = WAD / 10n; // 10 % a day, the highest allowed
      await s.engine.setMarketConfig(ETH, marketConfig(s.decimals, { maxFundingRatePerDay: maxRate, skewScale: WAD }));
      const t0 = await start(s);
      await at(t0);
      await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, 3_000n * u);
      const elapsed = 2n * 86_400n; // 20 % of notional: twice the margin
      await at(t0 + elapsed - 1n);
      await s.ethFeed.updateAnswer(feedPrice(3_000));
      const owed = fundingOwed(10n * WAD, indexDelta(maxRate, PRICE, elapsed), s.decimals);
      expect(owed).to.equal(6_000n * u);
      await at(t0 + elapsed);
      await expect(s.orders.connect(s.alice).increasePosition(ETH, WAD, 1_000n * u))
        .to.be.revertedWithCustomError(s.engine, "PositionWouldBeLiquidatable")
        .withArgs(3_000n * u + 1_000n * u - owed, 0n);
    });
  }
});

describe("PerpEngine funding switched off", function () {
  it("a zero maxFundingRatePerDay leaves the index at zero whatever the skew", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.orders.connect(s.alice).openPosition(ETH, 100n * WAD, 40_000n * s.unit);
    await networkHelpers.time.increase(3_000);
    expect(await s.lens.fundingRate(ETH)).to.equal(0n);
    expect(await s.lens.currentFundingIndex(ETH)).to.equal(0n);
  });
});
