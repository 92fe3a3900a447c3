import { expect } from "chai";
import { Keeper } from "../scripts/lib/keeper/loop.js";
import { risk } from "../scripts/lib/tools/risk.js";
import { BTC, ETH, WAD, deployThroughIgnition, ethers, networkHelpers, openThroughBook } from "./helpers/ops.js";
import { expectRefusal, run } from "./helpers/tool-run.js";

/** The playground with six traders long and short ETH and BTC at 3x to 9x. */
async function book() {
  const s = await deployThroughIgnition();
  const [t1, t2, t3, t4, t5, t6] = s.traders;
  await openThroughBook(s, s.keeper, [
    { trader: t1, market: ETH, size: 10n * WAD, margin: 3_400n * s.unit }, // 9x long
    { trader: t2, market: ETH, size: 5n * WAD, margin: 5_000n * s.unit }, // 3x long
    { trader: t3, market: ETH, size: -8n * WAD, margin: 3_000n * s.unit }, // 8x short
    { trader: t4, market: BTC, size: WAD / 2n, margin: 3_500n * s.unit }, // about 8.6x long
    { trader: t5, market: BTC, size: -WAD / 4n, margin: 5_000n * s.unit }, // 3x short
    { trader: t6, market: ETH, size: 2n * WAD, margin: 700n * s.unit }, // about 8.6x long
  ]);
  return s;
}

describe("Tools: the risk report", function () {
  it("risk_reports_the_shortfall_a_real_gap_then_leaves_within_the_funding_of_the_seconds_between", async function () {
    const s = await networkHelpers.loadFixture(book);
    const r = await run(risk, { gap: "20,35", json: true }, s);
    expect(r.code, r.err.join("\n")).to.equal(0);
    const report = JSON.parse(r.out[0]);
    const at35 = report.gaps[1];
    expect(BigInt(at35.gap)).to.equal((35n * WAD) / 100n);
    expect(BigInt(at35.down), "a 35 % gap down leaves bad debt").to.be.greaterThan(0n);
    expect(BigInt(report.coverCapacity)).to.equal(await s.backstop.maxCover());
    expect(report.markets.map((m: { positions: number }) => m.positions)).to.deep.equal([4, 2]);

    // Both markets gap down 35 % in one round; every liquidatable position is liquidated in one batch.
    for (const feed of [s.ethFeed, s.btcFeed]) {
      const [, answer] = await feed.latestRoundData();
      await feed.updateAnswer((answer * 65n) / 100n);
    }
    const positions = [
      ...s.traders.slice(0, 3).map((t) => [t.address, ETH] as const),
      [s.traders[5].address, ETH] as const,
      ...s.traders.slice(3, 5).map((t) => [t.address, BTC] as const),
    ];
    const liquidatable = [];
    for (const [account, market] of positions) {
      if (await s.lens.isLiquidatable(account, market)) liquidatable.push([account, market] as const);
    }
    const receipt = await (
      await s.engine.connect(s.keeper).liquidateBatch(
        liquidatable.map(([a]) => a),
        liquidatable.map(([, m]) => m),
        s.keeper.address,
      )
    ).wait();
    let badDebt = 0n;
    for (const log of receipt!.logs) {
      const parsed = s.engine.interface.parseLog(log);
      if (parsed?.name === "BadDebtCovered") badDebt += parsed.args.badDebt as bigint;
    }
    // The playground's markets have funding on: the gap lands three seconds after the report's block, and
    // those seconds' funding (at the gapped price) is the whole difference (test/Risk.test.ts pins the lens to
    // the unit with the index still).
    expect(badDebt, "the report's 35 % gap down").to.be.closeTo(BigInt(at35.down), s.unit / 1_000n);
    expect(badDebt).to.be.greaterThan(0n);
  });

  it("risk_prints_each_market_and_gap_the_coverage_and_the_largest_gap_covered", async function () {
    const s = await networkHelpers.loadFixture(book);
    const r = await run(risk, { gap: "35" }, s);
    expect(r.code, r.err.join("\n")).to.equal(0);
    const lines = r.out.join("\n").split("\n");
    expect(lines[0]).to.match(/^Market 0: 4 positions, open interest [\d,]+\.\d\d mUSD$/);
    expect(
      lines.some((l) =>
        /^Gap 35 %: shortfall [\d,]+\.\d\d mUSD \(the worse of every market down or up\), coverage /.test(l),
      ),
    ).to.equal(true);
    expect(lines.at(-1)).to.match(/^Largest gap fully covered: \d+ %/);
  });

  it("risk_shows_each_guarded_markets_bound_and_their_sum_against_the_backstops_capacity", async function () {
    const s = await networkHelpers.loadFixture(book);
    expect((await run(risk, { gap: "35" }, s)).out.join("\n")).to.include("Gap guard: off in every market");
    // The timelock (no delay on hardhat) sets ETH's design gap to 35 %: its bound is computed at once.
    const data = s.orderBook.interface.encodeFunctionData("setDesignGap", [ETH, (35n * WAD) / 100n]);
    await s.timelock.connect(s.admin).schedule(s.addresses.orderBook, 0n, data, ethers.ZeroHash, ethers.ZeroHash, 0n);
    await s.timelock.connect(s.admin).execute(s.addresses.orderBook, 0n, data, ethers.ZeroHash, ethers.ZeroHash);
    const bound = await s.orderBook.gapExposure(ETH);
    expect(bound).to.be.greaterThan(0n);
    const r = await run(risk, { gap: "35", json: true }, s);
    const guard = JSON.parse(r.out[0]).guard;
    expect(
      guard.markets.map((m: { marketId: string; bound: string }) => [BigInt(m.marketId), BigInt(m.bound)]),
    ).to.deep.equal([[ETH, bound]]);
    expect(BigInt(guard.total)).to.equal(bound);
    const text = (await run(risk, { gap: "35" }, s)).out.join("\n");
    expect(text).to.match(
      /Gap guard: market 0 at 35 % bounds [\d,]+\.\d\d mUSD; [\d,]+\.\d\d mUSD in all, against [\d,]+\.\d\d mUSD \(new risk past it is refused\)/,
    );
  });

  it("risk_refuses_a_gap_of_0_or_100_percent_and_a_bad_page_with_one_line", async function () {
    const s = await networkHelpers.loadFixture(book);
    await expectRefusal(() => run(risk, { gap: "100" }, s), "BadGap");
    await expectRefusal(() => run(risk, { gap: "0" }, s), "BadGap");
    await expectRefusal(() => run(risk, { gap: "20,-35" }, s), "BadGap");
    await expectRefusal(() => run(risk, { page: "0" }, s), "OutOfRange");
  });

  it("keeper_risk_logs_the_shortfall_at_its_gap_each_block_and_warns_when_the_backstop_cannot_cover_it", async function () {
    const s = await networkHelpers.loadFixture(book);
    const report = JSON.parse((await run(risk, { gap: "35,95", json: true }, s)).out[0]);
    for (const [gap, at] of [
      [35n, report.gaps[0]],
      [95n, report.gaps[1]],
    ] as const) {
      const lines: string[] = [];
      const keeper = new Keeper(ethers, s, s.keeper, {
        minProfit: 0n,
        batchSize: 10,
        startBlock: 0,
        dryRun: true,
        riskGap: (gap * WAD) / 100n,
        log: (line) => lines.push(line),
      });
      const tick = await keeper.tick();
      expect(tick!.risk!.shortfall, `${gap} %: the report's figure`).to.equal(BigInt(at.shortfall));
      expect(tick!.risk!.capacity).to.equal(BigInt(report.coverCapacity));
      const line = lines.find((l) => l.includes("risk: a"))!;
      if (gap === 35n)
        expect(line).to.match(
          /^risk: a 35 % gap would leave [\d,]+\.\d\d mUSD of bad debt; the backstop can cover 30,000\.00 mUSD in its window now$/,
        );
      else
        expect(line).to.match(
          /^warning: risk: a 95 % gap would leave .* in its window now: coverage 0\.\d\d, below 1$/,
        );
    }
  });

  it("risk_values_each_guarded_bound_at_the_price_now_not_as_the_book_last_stored_it", async function () {
    const s = await networkHelpers.loadFixture(book);
    const data = s.orderBook.interface.encodeFunctionData("setDesignGap", [ETH, (35n * WAD) / 100n]);
    await s.timelock.connect(s.admin).schedule(s.addresses.orderBook, 0n, data, ethers.ZeroHash, ethers.ZeroHash, 0n);
    await s.timelock.connect(s.admin).execute(s.addresses.orderBook, 0n, data, ethers.ZeroHash, ethers.ZeroHash);
    const stored = await s.orderBook.gapExposure(ETH);
    // ETH +2 %, nobody refreshing: the stored bound is behind; risk shows the one the book would use now.
    const [, answer] = await s.ethFeed.latestRoundData();
    await s.ethFeed.updateAnswer((answer * 102n) / 100n);
    const now = await s.orderBook.refreshGapExposure.staticCall(ETH);
    expect(now).to.be.greaterThan(stored);
    const guard = JSON.parse((await run(risk, { gap: "35", json: true }, s)).out[0]).guard;
    expect(BigInt(guard.markets[0].bound)).to.equal(now);
    expect(BigInt(guard.total)).to.equal(now);
    expect(await s.orderBook.gapExposure(ETH)).to.equal(stored); // a view: nothing was sent
  });
});
