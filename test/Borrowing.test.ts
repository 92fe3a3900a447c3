import { expect } from "chai";
import { ETH, ethers, feedPrice, networkHelpers, WAD } from "./helpers/system.js";
import { fundedNoFunding6 } from "./helpers/trading.js";

const DAY = 86_400n;
/** 0.025 % of notional a day: at the default 9x cap on a 10 % initial margin, 10.1 % a year of what a
 * position reserves. */
const BORROW_RATE = 25n * 10n ** 13n;
/** The rate the LPs are promised on liquidity a position locks: 10 % a year. */
const STATED_APR = WAD / 10n;

/** Prices refreshed every day of `days`, so that the feed is never stale, ending `days` later. */
async function holdFor(s: Awaited<ReturnType<typeof fundedNoFunding6>>, days: bigint, dollars = 3_000) {
  for (let i = 0n; i < days; i++) {
    await networkHelpers.time.increase(DAY);
    await s.ethFeed.updateAnswer(feedPrice(dollars));
  }
}

describe("Borrowing: reserved liquidity is paid for", function () {
  it("attack_hedgeLocksPool: a hedged pair that locks the pool for 30 days pays the LPs at least 10 % a year on what it locks", async function () {
    // Without borrowing (the old code, or a zero rate) the pair locked 998,611.50 of the 1,000,000 free for
    // 30 days and cost each leg its two trading fees, 555; the LPs kept 777 of the four fees, 0.95 % a year
    // on what was locked, against 8,207.77 owed at 10 %.
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.engine.setBorrowRate(ETH, BORROW_RATE);
    // The pool's free liquidity (not reserved for open positions' capped profits): what LP redemptions can take.
    const free = await s.engine.freeLiquidity();
    const lpBefore = await s.vault.totalAssets();
    const attacker = s.dave;
    const before: bigint = await s.token.balanceOf(attacker);

    // A long and a short of 185 ETH at 5x: each reserves 9 x its initial margin.
    await s.orders.connect(attacker).openPosition(ETH, 185n * WAD, 111_000n * s.unit);
    await s.orders.connect(s.carol).openPosition(ETH, -185n * WAD, 111_000n * s.unit);
    const locked = free - (await s.engine.freeLiquidity());
    expect(free).to.be.greaterThan(0n);
    expect(locked * 10n).to.be.greaterThanOrEqual(free * 9n); // at least 90 % of the free liquidity
    await expect(s.orders.connect(s.bob).openPosition(ETH, WAD, 400n * s.unit)).to.be.revertedWithCustomError(
      s.engine,
      "InsufficientLiquidity",
    );

    await holdFor(s, 30n);
    await s.orders.connect(attacker).closePosition(ETH);
    await s.orders.connect(s.carol).closePosition(ETH);

    const owed = (locked * STATED_APR * 30n) / (365n * WAD);
    const lpGain = (await s.vault.totalAssets()) - lpBefore;
    const paid: bigint = before - (await s.token.balanceOf(attacker));
    // The LPs earned at least the stated rate on what was locked (both legs' borrowing, plus their part of
    // the trading fees), and the half of the pair that Dave held cost him his half of it.
    expect(lpGain).to.be.greaterThanOrEqual(owed);
    expect(paid * 2n).to.be.greaterThanOrEqual(owed);
    // Dave paid borrowing on 555,000 for 30 days at the base of 0.025 % a day times the multiplier at the
    // 99.86 % utilization the pair causes (1 + 19 x 0.1986 / 0.2, about 19.9: PositionMath.borrowRate), and
    // his two trading fees of 277.50.
    const borrowPerLeg = (555_000n * s.unit * BORROW_RATE * 30n) / WAD;
    expect(paid).to.be.greaterThan(19n * borrowPerLeg + 2n * 277_500_000n);
    expect(paid).to.be.lessThan(20n * borrowPerLeg + 2n * 277_500_000n);
  });

  it("a long and a short each pay rate x notional x time, and funding is unchanged", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.engine.setBorrowRate(ETH, BORROW_RATE);
    await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, 3_000n * s.unit);
    await s.orders.connect(s.bob).openPosition(ETH, -4n * WAD, 3_000n * s.unit);
    await holdFor(s, 2n);
    // 0.025 % a day of 30,000 and 12,000, for two days (and the seconds the blocks took).
    const aliceHealth = await s.lens.positionHealth(s.alice, ETH);
    const bobHealth = await s.lens.positionHealth(s.bob, ETH);
    expect(aliceHealth.funding).to.be.closeTo(15n * s.unit, s.unit / 100n);
    expect(bobHealth.funding).to.be.closeTo(6n * s.unit, s.unit / 100n);
    const lpValue = await s.vault.totalAssets();
    const tx = s.orders.connect(s.alice).closePosition(ETH);
    await expect(tx).to.emit(s.engine, "PositionModified");
    const receipt = await (await tx).wait();
    const event = s.engine.interface.parseLog(
      receipt!.logs.find((l: { address: string }) => l.address === s.engine.target)!,
    )!;
    // What the close settled is what the lens said, plus a second of accrual.
    expect(event.args[8]).to.be.closeTo(aliceHealth.funding, s.unit / 1_000n);
    // The LP mark had counted it already: closing moves the pool by the LP part of the closing fee only.
    const closeFee = event.args[9];
    expect((await s.vault.totalAssets()) - lpValue).to.be.closeTo((closeFee * 7n) / 10n, (2n * s.unit) / 1_000n);
  });

  it("setBorrowRate: market admin only (the timelock), at most 0.1 % a day in steps of 1e-8, accrues at the old rate first", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await expect(s.engine.connect(s.alice).setBorrowRate(ETH, BORROW_RATE)).to.be.revertedWithCustomError(
      s.engine,
      "AccessControlUnauthorizedAccount",
    );
    await expect(s.engine.setBorrowRate(ETH, WAD / 1_000n + 10n ** 10n))
      .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
      .withArgs(ethers.encodeBytes32String("borrowRatePerDay"), WAD / 1_000n + 10n ** 10n, 0n, WAD / 1_000n);
    await expect(s.engine.setBorrowRate(ETH, BORROW_RATE + 1n)).to.be.revertedWithCustomError(
      s.engine,
      "ParameterPrecision",
    );
    await expect(s.engine.setBorrowRate(7n, BORROW_RATE)).to.be.revertedWithCustomError(s.engine, "UnknownMarket");
    await expect(s.engine.setBorrowRate(ETH, BORROW_RATE))
      .to.emit(s.engine, "BorrowRateUpdated")
      .withArgs(ETH, BORROW_RATE);
    expect((await s.lens.getMarket(ETH)).borrowRatePerDay).to.equal(BORROW_RATE);

    await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, 3_000n * s.unit);
    await holdFor(s, 1n);
    await s.engine.setBorrowRate(ETH, 0n); // a day at the old rate is booked
    const index = (await s.lens.getMarket(ETH)).borrowIndex;
    expect(index).to.be.closeTo((3_000n * WAD * BORROW_RATE) / WAD, (3_000n * WAD * BORROW_RATE) / WAD / 1_000n);
    await holdFor(s, 1n);
    expect((await s.lens.getMarket(ETH)).borrowIndex).to.equal(index); // and nothing since
    await s.engine.settleMarket(ETH, 0n);
    await expect(s.engine.setBorrowRate(ETH, BORROW_RATE)).to.be.revertedWithCustomError(s.engine, "MarketIsSettled");
  });
});
