import { expect } from "chai";
import { BTC, ETH, ethers, feedPrice, networkHelpers, WAD } from "./helpers/system.js";
import { fundedNoFunding6 } from "./helpers/trading.js";

/**
 * The live book's gap shortfall (PerpLens.gapShortfall): for random books and random gaps, the bad debt the view
 * says a gap would leave is, to the unit, what liquidating every position at the gapped price then leaves
 * (BadDebtCovered's badDebt over one liquidateBatch). Funding is off so that the index does not move between the
 * view's block and the batch's; the view accrues it at the gapped price as the engine does.
 */

/** A small deterministic generator (mulberry32), so that each book is reproducible from its seed. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const ETH_PRICES = [2_700, 2_850, 3_000, 3_150, 3_300];

/** Twelve traders, each long or short ETH at 2-10x from one of five entry prices; returns them and the book's seed. */
async function randomBook(seed: number) {
  const s = await networkHelpers.loadFixture(fundedNoFunding6);
  await s.backstop.connect(s.staker).deposit(50_000n * s.unit, s.staker);
  const next = random(seed);
  const traders = (await ethers.getSigners()).slice(9, 21);
  for (const trader of traders) {
    await s.token.mint(trader, 1_000_000n * s.unit);
    await s.token.connect(trader).approve(s.orders, ethers.MaxUint256);
  }
  for (const trader of traders) {
    const dollars = ETH_PRICES[Math.floor(next() * ETH_PRICES.length)];
    await s.ethFeed.updateAnswer(feedPrice(dollars));
    const size = (BigInt(1 + Math.floor(next() * 40)) * WAD) / 4n; // 0.25 to 10 ETH
    const leverage = 2n + BigInt(Math.floor(next() * 8)); // 2x to 9x
    const margin = (size * BigInt(dollars) * s.unit) / WAD / leverage;
    await s.orders.connect(trader).openPosition(ETH, next() < 0.5 ? size : -size, margin);
  }
  await s.ethFeed.updateAnswer(feedPrice(3_000));
  return { s, traders, next };
}

describe("Gap shortfall of the live book", function () {
  it("gap_shortfall_is_exactly_the_bad_debt_a_real_gap_then_leaves_over_random_books_and_gaps", async function () {
    for (let seed = 1; seed <= 12; seed++) {
      const { s, traders, next } = await randomBook(seed);
      const bps = BigInt(500 + Math.floor(next() * 5_500)) * (next() < 0.5 ? -1n : 1n); // ±5 % to ±60 %
      const move = (bps * WAD) / 10_000n;
      const accounts = traders.map((t) => t.address);
      const view = await s.lens.gapShortfall(ETH, move, accounts);
      // Two pages give the same sums as one.
      const [first, second] = await Promise.all([
        s.lens.gapShortfall(ETH, move, accounts.slice(0, 5)),
        s.lens.gapShortfall(ETH, move, accounts.slice(5)),
      ]);
      expect(first.badDebt + second.badDebt, `seed ${seed}: pages add up`).to.equal(view.badDebt);
      expect(first.liquidatable + second.liquidatable).to.equal(view.liquidatable);

      expect(view.price).to.equal((3_000n * WAD * (10_000n + bps)) / 10_000n);
      await s.ethFeed.updateAnswer(view.price / 10n ** 10n);
      const liquidatable = [];
      for (const account of accounts) if (await s.lens.isLiquidatable(account, ETH)) liquidatable.push(account);
      expect(BigInt(liquidatable.length), `seed ${seed}: the same positions are liquidatable`).to.equal(
        view.liquidatable,
      );
      let badDebt = 0n;
      if (liquidatable.length > 0) {
        const receipt = await (
          await s.engine.connect(s.keeper).liquidateBatch(
            liquidatable,
            liquidatable.map(() => ETH),
            s.keeper,
          )
        ).wait();
        for (const log of receipt!.logs) {
          const parsed = s.engine.interface.parseLog(log);
          if (parsed?.name === "BadDebtCovered") badDebt += parsed.args.badDebt as bigint;
        }
      }
      expect(badDebt, `seed ${seed}: a ${bps} bps gap`).to.equal(view.badDebt);
      if (seed === 1)
        console.log(`      seed 1: a ${bps} bps gap leaves ${ethers.formatUnits(badDebt, 6)} of bad debt`);
    }
  });

  it("gap_shortfall_refuses_a_gap_of_minus_100_percent_or_more_and_skips_accounts_without_a_position", async function () {
    const { s, traders } = await randomBook(1);
    await expect(s.lens.gapShortfall(ETH, -WAD, []))
      .to.be.revertedWithCustomError(s.lens, "InvalidGap")
      .withArgs(-WAD);
    const almost = await s.lens.gapShortfall(ETH, -WAD + 1n, [traders[0].address]);
    expect(almost.positions).to.equal(1n);
    const none = await s.lens.gapShortfall(
      BTC,
      -WAD / 2n,
      traders.map((t) => t.address),
    );
    expect([none.positions, none.liquidatable, none.openInterest, none.badDebt]).to.deep.equal([0n, 0n, 0n, 0n]);
    expect(none.coverCapacity).to.equal(await s.backstop.maxCover());
  });
});
