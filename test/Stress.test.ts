import { expect } from "chai";
import { network } from "hardhat";
import { validateScenario } from "../scripts/lib/stress/scenario.js";
import { openBook } from "../scripts/lib/stress/book.js";
import { runScenario } from "../scripts/lib/stress/run.js";
import { deployStressSystem } from "../scripts/lib/stress/system.js";

const connection = await network.create();
const { networkHelpers } = connection;

/** 30 positions, all on ETH, mostly long and leveraged, then one -35 % gap round. */
const TINY = validateScenario(
  {
    name: "tiny-gap",
    description: "test",
    seed: 7,
    population: {
      positions: 30,
      longShare: 0.8,
      leverage: { min: 4, max: 10 },
      notionalUsd: { min: 1_000, max: 50_000 },
      markets: { ETH: 1 },
    },
    lpCapital: 1.05,
    backstopSizes: [0.02],
    rounds: [{ after: 60, prices: { ETH: 0.65 } }],
  },
  "test",
);

async function tinyBook() {
  const sys = await deployStressSystem(connection);
  const book = await openBook(connection, sys, TINY);
  return { sys, book };
}

/** Sums a field over every event of `filter` since the book was opened, read here, apart from the lab's own sums. */
async function sumEvents(contract: { queryFilter: Function }, filter: unknown, field: string, from: number) {
  const events = await contract.queryFilter(filter, from, "latest");
  return (events as { args: Record<string, bigint> }[]).reduce((s, e) => s + e.args[field], 0n);
}

describe("Stress lab", function () {
  it("stress_gap_conserves_bad_debt_as_covered_plus_socialized_to_the_unit", async function () {
    const { sys, book } = await networkHelpers.loadFixture(tinyBook);
    const backstopBefore = await sys.backstop.totalAssets();
    const r = await runScenario(connection, sys, TINY, book, 0.02);
    const from = book.startBlock;

    const badDebt = await sumEvents(sys.engine, sys.engine.filters.BadDebtCovered(), "badDebt", from);
    const covered = await sumEvents(sys.engine, sys.engine.filters.BadDebtCovered(), "covered", from);
    const socialized = await sumEvents(sys.engine, sys.engine.filters.LossSocialized(), "amount", from);
    const paid = await sumEvents(sys.backstop, sys.backstop.filters.Covered(), "paid", from);
    const staked = await sumEvents(sys.backstop, sys.backstop.filters.Deposit(), "assets", from);

    expect(badDebt, "a -35 % gap over 4x-10x longs leaves bad debt").to.be.greaterThan(0n);
    expect(socialized, "a 2 % backstop cannot cover it all").to.be.greaterThan(0n);
    expect(badDebt, "bad debt = covered + socialized, to the unit").to.equal(covered + socialized);
    expect(paid, "the backstop's Covered events pay what the engine booked as covered").to.equal(covered);
    expect(
      backstopBefore + staked - (await sys.backstop.totalAssets()),
      "the backstop's drawdown is what it covered",
    ).to.equal(covered);
    expect(
      [r.badDebt, r.covered, r.socialized, r.backstopDrawdown],
      "the report's totals match the events",
    ).to.deep.equal([badDebt, covered, socialized, covered]);
    expect(r.liquidations.full + r.liquidations.partial, "every liquidation is counted").to.equal(
      (await sys.engine.queryFilter(sys.engine.filters.PositionLiquidated(), from, "latest")).length,
    );
    for (const c of r.conservation) expect(c.left, `conservation: ${c.name}`).to.equal(c.right);
  });

  it("stress_large_backstop_socializes_nothing", async function () {
    const { sys, book } = await networkHelpers.loadFixture(tinyBook);
    const r = await runScenario(connection, sys, TINY, book, 0.6);
    expect(r.badDebt, "the same gap leaves bad debt").to.be.greaterThan(0n);
    expect(r.socialized, "a backstop of 60 % of OI (covers capped at 30 % of it) covers it all").to.equal(0n);
    expect(r.covered, "the backstop covers all of it").to.equal(r.badDebt);
    expect(r.gas.maxBatch, "no batch comes near the transaction gas cap").to.be.lessThan(16_777_216n / 2n);
    for (const c of r.conservation) expect(c.left, `conservation: ${c.name}`).to.equal(c.right);
  });

  it("stress_rejects_a_scenario_with_a_named_problem", function () {
    expect(() => validateScenario({ ...TINY, rounds: [] }, "bad.json")).to.throw(/bad.json: "rounds"/);
    expect(() =>
      validateScenario({ ...TINY, population: { ...TINY.population, leverage: { min: 2, max: 20 } } }, "x.json"),
    ).to.throw(/above the markets' 10x/);
  });
});
