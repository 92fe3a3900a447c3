import { expect } from "chai";
import { deploySystem, ethers, ETH, networkHelpers, WAD } from "./helpers/system.js";
import { blockTime, extraTraders, setPrice, standaloneBackstop, usd } from "./helpers/liq.js";
import { lpDeposit } from "./helpers/lp.js";

/**
 * Named attacks on the backstop's cover limit and cooldown (issue 10, issue 8's cooldown lever). Each
 * test logs the figure it measures, so that the report can compare the code before and after.
 */

const DAY = 86_400n;
const COOLDOWN = 7n * DAY;
const WINDOW = 2n * DAY;
const INCOME_PERIOD = 7n * DAY;
const POSITIONS = 10;

/** A small deterministic PRNG (xorshift32), so that a "random" split is reproducible from its seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

for (const decimals of [6, 18]) {
  describe(`Backstop cover window: attacks (${decimals}-decimal collateral)`, function () {
    const unit = 10n ** BigInt(decimals);
    const tokens = (n: bigint) => n * unit;
    const STAKE = tokens(100_000n);
    const LIMIT = tokens(30_000n); // 30 % of the backstop at the window's start

    /**
     * The crash: a 100,000 backstop (the staker and Carol, 50,000 each; the staker's cooldown is
     * in its window), ten traders long 50 ETH from $3,000 with 15,000 margin (10x) in one block; ETH
     * then falls 20 % to $2,400: each position owes 30,000 on 15,000 margin, so with the 100 keeper fee
     * its bad debt is about 15,100 (151,000 in all).
     */
    async function crash() {
      return crashWith(50_000n, 50_000n, POSITIONS);
    }

    /** The crash above with the leaver (staker) and Carol staking the given tokens over `positions` longs. */
    async function crashWith(leaverStake: bigint, otherStake: bigint, positions: number) {
      const s = await deploySystem({ decimals });
      const traders = await extraTraders(s, positions);
      await lpDeposit(s, s.lp, tokens(2_000_000n));
      await s.backstop.connect(s.staker).deposit(tokens(leaverStake), s.staker);
      await s.backstop.connect(s.carol).deposit(tokens(otherStake), s.carol);
      const leaverShares: bigint = await s.backstop.balanceOf(s.staker);
      const cooldownStart = await blockTime(
        await s.backstop.connect(s.staker).requestRedeem(leaverShares, s.staker, s.staker),
      );
      await networkHelpers.time.increaseTo(cooldownStart + COOLDOWN);
      await setPrice(s.ethFeed, usd(3_000n));
      for (const t of traders) await s.orders.connect(t).openPosition(ETH, 50n * WAD, tokens(15_000n));
      await setPrice(s.ethFeed, usd(2_400n));
      return { ...s, traders, leaverShares, cooldownStart };
    }

    const socializedIn = async (s: any, tx: any) => {
      const receipt = await (await tx).wait();
      let sum = 0n;
      for (const log of receipt.logs) {
        if (log.address !== s.engine.target) continue;
        const parsed = s.engine.interface.parseLog(log);
        if (parsed?.name === "LossSocialized") sum += parsed.args[2];
      }
      return sum;
    };
    /** Mines the next transaction at `ts`, so that both branches of a comparison accrue the same funding. */
    const at = async (ts: bigint) => networkHelpers.time.setNextBlockTimestamp(ts);
    const pct = (part: bigint, whole: bigint) => `${Number((part * 10_000n) / whole) / 100} %`;

    it("attack (a): the ten-position crash in one liquidateBatch takes at most 30 % of a 100,000 backstop", async function () {
      const s = await networkHelpers.loadFixture(crash);
      const accounts = s.traders.map((t: any) => t.address);
      const tx = s.engine.connect(s.keeper).liquidateBatch(
        accounts,
        accounts.map(() => ETH),
        s.keeper,
      );
      const socialized = await socializedIn(s, tx);
      const after: bigint = await s.backstop.totalAssets();
      const fell = STAKE - after;
      console.log(
        `      [figure] batch: backstop fell ${pct(fell, STAKE)} (${ethers.formatUnits(fell, decimals)} of 100,000), ` +
          `socialized ${ethers.formatUnits(socialized, decimals)}`,
      );
      expect(fell, "one window's covers take at most 30 % of the backstop at its start").to.be.lte(LIMIT);
      expect(fell, "the limit binds exactly: 30,000 covered").to.equal(LIMIT);
      await expect(tx).to.emit(s.backstop, "CoverLimitReached");
    });

    it("attack (a, fuzzed split): the same crash split at random across calls, batches and blocks within the window takes at most 30 %", async function () {
      for (const seed of [1, 7, 42, 1_234, 99_999]) {
        const s = await networkHelpers.loadFixture(crash);
        const next = rng(seed);
        const left = [...s.traders];
        let socialized = 0n;
        while (left.length > 0) {
          // Up to 2 hours between calls (10 calls at most: all within the 24-hour window); fresh price each time.
          await networkHelpers.time.increase(BigInt(1 + next(2 * 3_600)));
          await setPrice(s.ethFeed, usd(2_400n) - BigInt(next(50)) * WAD);
          const take = 1 + next(Math.min(left.length, 4));
          const chunk = left.splice(next(left.length - take + 1), take);
          const tx =
            chunk.length === 1 && next(2) === 0
              ? s.engine.connect(s.keeper).liquidate(chunk[0], ETH, s.keeper)
              : s.engine.connect(s.keeper).liquidateBatch(
                  chunk.map((t: any) => t.address),
                  chunk.map(() => ETH),
                  s.keeper,
                );
          socialized += await socializedIn(s, tx);
        }
        const fell = STAKE - (await s.backstop.totalAssets());
        console.log(`      [figure] split seed ${seed}: backstop fell ${pct(fell, STAKE)}`);
        expect(fell, `seed ${seed}: at most 30 % of the backstop in one window`).to.be.lte(LIMIT);
        expect(socialized, `seed ${seed}: the rest is socialized`).to.be.gt(0n);
      }
    });

    it("attack (b): a staker in their window leaving after the window's first cover pushes nothing more onto the LPs", async function () {
      const s = await networkHelpers.loadFixture(crash);
      const [first, ...rest] = s.traders;
      const batchRest = () =>
        s.engine.connect(s.keeper).liquidateBatch(
          rest.map((t: any) => t.address),
          rest.map(() => ETH),
          s.keeper,
        );
      // The window's first cover.
      const firstSocialized = await socializedIn(s, s.engine.connect(s.keeper).liquidate(first, ETH, s.keeper));
      const snapshot = await networkHelpers.takeSnapshot();
      const t = BigInt(await networkHelpers.time.latest()) + 10n;

      // Without the leaver.
      await at(t);
      const withoutLeaver = firstSocialized + (await socializedIn(s, batchRest()));
      await snapshot.restore();

      // With the leaver: everything the staker may take, in the block before the rest of the crash.
      const exit: bigint = await s.backstop.maxRedeem(s.staker);
      let received = 0n;
      if (exit > 0n) {
        const before: bigint = await s.token.balanceOf(s.staker);
        await at(t - 1n);
        await s.backstop.connect(s.staker).redeem(exit, s.staker, s.staker);
        received = (await s.token.balanceOf(s.staker)) - before;
      }
      await at(t);
      const withLeaver = firstSocialized + (await socializedIn(s, batchRest()));
      console.log(
        `      [figure] leaver took ${ethers.formatUnits(received, decimals)}; LPs absorbed ` +
          `${ethers.formatUnits(withLeaver, decimals)} with the leaver vs ${ethers.formatUnits(withoutLeaver, decimals)} without ` +
          `(+${ethers.formatUnits(withLeaver - withoutLeaver, decimals)})`,
      );
      expect(received, "the staker could still leave with part of the stake").to.be.gt(0n);
      expect(withLeaver, "the LPs absorb no more than without the leaver").to.be.lte(withoutLeaver);
    });

    it("attack (b, the whale): the leaver holds 90 % and leaves after the first cover; the window's remaining capacity stays", async function () {
      const s = await crashWith(90_000n, 10_000n, 3);
      const { traders, leaverShares: shares } = s;
      await s.engine.connect(s.keeper).liquidate(traders[0], ETH, s.keeper);
      const snapshot = await networkHelpers.takeSnapshot();
      const t = BigInt(await networkHelpers.time.latest()) + 10n;
      const rest = () =>
        s.engine.connect(s.keeper).liquidateBatch([traders[1].address, traders[2].address], [ETH, ETH], s.keeper);
      await at(t);
      const withoutLeaver = await socializedIn(s, rest());
      await snapshot.restore();
      const exit: bigint = await s.backstop.maxRedeem(s.staker);
      await at(t - 1n);
      if (exit > 0n) await s.backstop.connect(s.staker).redeem(exit, s.staker, s.staker);
      await at(t);
      const withLeaver = await socializedIn(s, rest());
      console.log(
        `      [figure] whale leaver: LPs absorbed ${ethers.formatUnits(withLeaver, decimals)} with vs ` +
          `${ethers.formatUnits(withoutLeaver, decimals)} without`,
      );
      expect(withLeaver, "the LPs absorb no more than without the leaver").to.be.lte(withoutLeaver);
      expect(exit, "the window's reserve holds back part of the whale's exit").to.be.lt(shares);
    });

    it("known issue, bounded: leaving before a crash's first cover shifts at most maxCoverRatio x what left onto the LPs", async function () {
      const s = await networkHelpers.loadFixture(crash);
      const accounts = s.traders.map((t: any) => t.address);
      const batch = () =>
        s.engine.connect(s.keeper).liquidateBatch(
          accounts,
          accounts.map(() => ETH),
          s.keeper,
        );
      const snapshot = await networkHelpers.takeSnapshot();
      const t = BigInt(await networkHelpers.time.latest()) + 10n;
      await at(t);
      const withoutLeaver = await socializedIn(s, batch());
      await snapshot.restore();
      const before: bigint = await s.token.balanceOf(s.staker);
      await at(t - 1n);
      await s.backstop.connect(s.staker).redeem(s.leaverShares, s.staker, s.staker);
      const left = (await s.token.balanceOf(s.staker)) - before;
      await at(t);
      const withLeaver = await socializedIn(s, batch());
      console.log(
        `      [figure] leaving before the first cover: took ${ethers.formatUnits(left, decimals)}, LPs absorbed ` +
          `+${ethers.formatUnits(withLeaver - withoutLeaver, decimals)}`,
      );
      expect(withLeaver - withoutLeaver, "at most 30 % of what left").to.be.lte((left * 3n) / 10n + 1n);
    });
  });
}

describe("Backstop cooldown lever: attack (c)", function () {
  const unit = 10n ** 6n;
  const tokens = (n: bigint) => n * unit;

  async function cooled() {
    const s = await deploySystem({ decimals: 6 });
    await s.backstop.connect(s.staker).deposit(tokens(10_000n), s.staker);
    await s.backstop.connect(s.carol).deposit(tokens(10_000n), s.carol);
    const shares: bigint = await s.backstop.balanceOf(s.staker);
    const start = await blockTime(await s.backstop.connect(s.staker).requestRedeem(shares, s.staker, s.staker));
    return { ...s, shares, start };
  }

  it("attack (c): after the admin moves cooldownPeriod 7 -> 30 days, a staker already cooling unstakes on the original window", async function () {
    const s = await networkHelpers.loadFixture(cooled);
    await s.backstop.connect(s.admin).setParameters(30n * DAY, WINDOW, (3n * WAD) / 10n, 0n, INCOME_PERIOD);
    const status = await s.backstop.cooldownStatus(s.staker);
    console.log(
      `      [figure] after 7 -> 30 days the cooled staker's window opens on day ${(status.windowStart - s.start) / DAY} ` +
        `(requested on day 0 under a 7-day rule)`,
    );
    expect([status.windowStart, status.windowEnd], "the window fixed at the request").to.deep.equal([
      s.start + COOLDOWN,
      s.start + COOLDOWN + WINDOW,
    ]);
    await networkHelpers.time.setNextBlockTimestamp(s.start + COOLDOWN);
    await expect(s.backstop.connect(s.staker).redeem(s.shares, s.staker, s.staker)).to.changeTokenBalance(
      ethers,
      s.token,
      s.staker,
      tokens(10_000n),
    );
    // A cooldown started after the change runs on the new rule.
    const carolShares: bigint = await s.backstop.balanceOf(s.carol);
    const carolStart = await blockTime(await s.backstop.connect(s.carol).requestRedeem(carolShares, s.carol, s.carol));
    expect((await s.backstop.cooldownStatus(s.carol)).windowStart).to.equal(carolStart + 30n * DAY);
  });

  it("attack (c'): 7 -> 30 -> 1 days: a staker cooling under the 7-day rule neither waits 30 days nor leaves after 1", async function () {
    const s = await networkHelpers.loadFixture(cooled);
    await s.backstop.connect(s.admin).setParameters(30n * DAY, WINDOW, (3n * WAD) / 10n, 0n, INCOME_PERIOD);
    await s.backstop.connect(s.admin).setParameters(DAY, 3_600n, (3n * WAD) / 10n, 0n, INCOME_PERIOD);
    await networkHelpers.time.setNextBlockTimestamp(s.start + DAY);
    await expect(s.backstop.connect(s.staker).redeem(s.shares, s.staker, s.staker))
      .to.be.revertedWithCustomError(s.backstop, "OutsideUnstakeWindow")
      .withArgs(s.start + DAY, s.start + COOLDOWN, s.start + COOLDOWN + WINDOW);
    await networkHelpers.time.setNextBlockTimestamp(s.start + COOLDOWN + WINDOW);
    await expect(s.backstop.connect(s.staker).redeem(s.shares, s.staker, s.staker)).to.changeTokenBalance(
      ethers,
      s.token,
      s.staker,
      tokens(10_000n),
    );
  });
});

/**
 * Issue 18, finding 1: the cover window was a bucket. A dust bad debt opened it; 24 h - 60 s later a crash
 * liquidated across its end took the old window's rest and, 60 seconds later, a fresh window's full limit.
 * The limit must hold over every interval of `coverWindow`, whatever the window edges.
 */
describe("Backstop cover window: attack_coverWindowEdge", function () {
  const unit = 10n ** 6n;
  const tokens = (n: bigint) => n * unit;
  const STAKE = tokens(100_000n);

  async function staked() {
    const b = await standaloneBackstop(6);
    await b.backstop.connect(b.alice).deposit(STAKE, b.alice);
    return b;
  }

  it("attack_coverWindowEdge: dust cover, then a crash 24 h - 60 s later across the old window's end takes at most 30 % in any 24 h", async function () {
    const b = await networkHelpers.loadFixture(staked);
    const covers: { t: bigint; paid: bigint; assetsBefore: bigint }[] = [];
    const cover = async (t: bigint, amount: bigint) => {
      await networkHelpers.time.setNextBlockTimestamp(t);
      const assetsBefore: bigint = await b.backstop.totalAssets();
      const receipt = await (await b.backstop.connect(b.engine).cover(amount)).wait();
      let paid = 0n;
      for (const log of receipt.logs) {
        const parsed = b.backstop.interface.parseLog(log);
        if (parsed?.name === "Covered") paid += parsed.args[1];
      }
      covers.push({ t, paid, assetsBefore });
    };
    const t0 = BigInt(await networkHelpers.time.latest()) + 100n;
    await cover(t0, tokens(10n)); // the dust bad debt
    // The crash: a keeper liquidates in blocks from 60 s before the old window's end to 60 s after it.
    for (let dt = -60n; dt <= 60n; dt += 12n) await cover(t0 + DAY + dt, tokens(1_000_000n));
    // The worst interval of 24 h: the one starting just before some cover, against the assets then.
    let worst = 0n;
    let worstText = "";
    for (const [i, first] of covers.entries()) {
      const inside = covers.slice(i).filter((c) => c.t < first.t + DAY);
      const taken = inside.reduce((sum, c) => sum + c.paid, 0n);
      const bps = (taken * 10_000n) / first.assetsBefore;
      if (bps > worst) {
        worst = bps;
        worstText = `${ethers.formatUnits(taken, 6)} of ${ethers.formatUnits(first.assetsBefore, 6)} from t0 + ${first.t - t0} s`;
      }
    }
    const fell = STAKE - (await b.backstop.totalAssets());
    console.log(
      `      [figure] coverWindowEdge: worst 24 h took ${Number(worst) / 100} % (${worstText}); ` +
        `backstop fell ${ethers.formatUnits(fell, 6)} of 100,000 in all`,
    );
    expect(worst, "no interval of 24 h sees covers above 30 % of the assets at its start").to.be.lte(3_000n);
    // Rolling: 10 at t0; 29,990 at t0 + 24 h - 60 s; at t0 + 24 h the dust leaves the interval: the base is
    // 70,000 + 29,990 covered since, the limit 29,997, so 7 more; nothing after within the 24 h.
    expect(fell, "10 + 29,990 + 7").to.equal(tokens(30_007n));
  });
});
