import { expect } from "chai";
import { network } from "hardhat";
import { gapScenario, GUARD_DEFAULTS, type GuardedBookSpec, runGuardedBook, wad } from "../scripts/lib/stress/guard.js";
import { validateScenario } from "../scripts/lib/stress/scenario.js";
import { openBook } from "../scripts/lib/stress/book.js";
import { runScenario, stakeBackstop } from "../scripts/lib/stress/run.js";
import { deployStressSystem, setDesignGaps } from "../scripts/lib/stress/system.js";

const connection = await network.create();
const { networkHelpers } = connection;

/** 24 positions on ETH, mostly long and leveraged, asking many times the OI a $30k backstop carries. */
const BOOK = validateScenario(
  {
    name: "tiny-guarded",
    description: "test",
    seed: 5,
    population: {
      positions: 24,
      longShare: 0.8,
      leverage: { min: 4, max: 10 },
      notionalUsd: { min: 1_000, max: 50_000 },
      markets: { ETH: 1 },
    },
    lpCapital: 1.05,
    backstopSizes: [],
    rounds: [{ after: 60 }],
  },
  "test",
);
const BACKSTOP = 30_000n * 10n ** 6n;
const OPTIONS = { ...GUARD_DEFAULTS, directions: ["down" as const] };

/** The stress system with both markets guarded at 35 % from its deployment. */
const guarded = () => deployStressSystem(connection, { designGap: wad(0.35) });

describe("Stress lab, gap guard", function () {
  it("stress_guard_refuses_what_the_backstop_cannot_cover_and_a_35_percent_gap_socializes_nothing", async function () {
    const sys = await networkHelpers.loadFixture(guarded);
    const spec: GuardedBookSpec = { index: 1, scenario: BOOK, backstop: BACKSTOP };
    const b = await runGuardedBook(connection, sys, spec, OPTIONS);
    const r = b.runs[0].result;

    const cancelled = await sys.orderBook.queryFilter(sys.orderBook.filters.OrderCancelled(), b.book.startBlock);
    const refusals = cancelled.map((e) => sys.orderBook.interface.parseError(e.args.reason));
    expect(b.book.requestsRefusedByGuard, "the guard refused some of the book").to.be.greaterThan(0);
    expect(refusals.filter((e) => e?.name === "GapCoverExceeded").length, "each refusal is GapCoverExceeded").to.equal(
      b.book.requestsRefusedByGuard,
    );
    expect(b.book.requestsExecuted + b.book.requestsRefusedByGuard, "every paid request is accounted for").to.equal(24);
    expect(b.book.requestsExecuted, "the guard let some of the book in").to.be.greaterThan(0);
    expect(b.guard.maxCover, "30 % of the backstop").to.equal((BACKSTOP * 3n) / 10n);
    expect(b.guard.totalGapExposure, "the bound stays within the cover").to.be.at.most(b.guard.maxCover);

    expect(r.badDebt, "the gap leaves bad debt").to.be.greaterThan(0n);
    expect(r.socialized, "nothing reaches the LPs").to.equal(0n);
    expect(r.covered, "the backstop covers it all, within its window").to.equal(r.badDebt);
    expect(r.covered).to.be.at.most(b.guard.maxCover);
    for (const c of r.conservation) expect(c.left, `conservation: ${c.name}`).to.equal(c.right);
    expect(b.ok, b.problems.join(", ")).to.equal(true);
  });

  it("stress_guard_off_through_the_timelock_the_same_book_and_backstop_socialize", async function () {
    const sys = await networkHelpers.loadFixture(guarded);
    expect(await setDesignGaps(sys, 0n), "no bound once both markets are unguarded").to.equal(0n);
    await stakeBackstop(connection, sys, BACKSTOP);
    const book = await openBook(connection, sys, BOOK);
    expect(book.requestsExecuted, "unguarded, every request executes").to.equal(24);
    const r = await runScenario(connection, sys, gapScenario(BOOK, 0.35, "down"), book, 0, { stake: 0n });
    expect(r.socialized, "the backstop's window cover is exhausted and the LPs take the rest").to.be.greaterThan(0n);
    for (const c of r.conservation) expect(c.left, `conservation: ${c.name}`).to.equal(c.right);
  });
});
