import { expect } from "chai";
import { network } from "hardhat";
import { ToolError } from "../scripts/lib/chain/errors.js";
import { loadScenarios } from "../scripts/lib/stress/scenario.js";
import { deployStressSystem } from "../scripts/lib/stress/system.js";
import { compareUpkeeps, type UpkeepComparison } from "../scripts/lib/stress/upkeep-compare.js";
import { freezeClock } from "../scripts/lib/stress/upkeeps.js";

// The upkeep-only run freezes the clock, which needs blocks that may share a timestamp.
const connection = await network.create({ override: { allowBlocksWithSameTimestamp: true } });
const { ethers } = connection;
const [gap] = await loadScenarios(undefined, "gap");
/** The shipped gap scenario (ETH -35 % in one round, backstop 2 % of OI) on a book of 150 positions, seed 12. */
const POSITIONS = 150;

describe("Stress lab, upkeeps as the only liquidator", function () {
  this.timeout(120_000);
  let sys: Awaited<ReturnType<typeof deployStressSystem>>;
  let c: UpkeepComparison;

  before(async function () {
    sys = await deployStressSystem(connection);
    c = await compareUpkeeps(connection, sys, gap, { positions: POSITIONS, seed: 12 });
  });

  it("stress_upkeeps_liquidate_exactly_the_keepers_positions_with_the_same_outcomes_and_totals", async function () {
    const keys = (run: UpkeepComparison["keeper"]) => run.positions.map((o) => `${o.account}:${o.marketId}`);
    expect(c.keeper.positions.length, "the gap liquidates part of the book").to.be.greaterThan(POSITIONS / 4);
    expect(keys(c.upkeep), "the same positions, (account, market)").to.deep.equal(keys(c.keeper));
    const own = ["liquidations", "sizeClosed", "price", "traderLoss", "keeperFee", "penalty", "refund", "badDebt"];
    for (const [i, k] of c.keeper.positions.entries()) {
      const u = c.upkeep.positions[i];
      for (const f of own) expect(u[f as keyof typeof u], `${k.account} ${f}`).to.equal(k[f as keyof typeof k]);
      expect(u.covered + u.socialized, `${k.account}: its bad debt is covered or socialized`).to.equal(u.badDebt);
    }
    for (const name of ["keeperFees", "penalties", "refunds", "badDebt", "covered", "socialized"] as const)
      expect(c.upkeep.result[name], name).to.equal(c.keeper.result[name]);
    expect(c.keeper.result.socialized, "a 2 % backstop cannot cover the gap: the cover limit binds").to.be.greaterThan(
      0n,
    );
    expect(c.upkeep.result.backstopDrawdown).to.equal(c.keeper.result.backstopDrawdown);
    expect(c.upkeep.lp.balance, "the LP balance").to.equal(c.keeper.lp.balance);
    for (const run of [c.keeper, c.upkeep]) {
      for (const x of run.result.conservation) expect(x.left, `${run.liquidator}: ${x.name}`).to.equal(x.right);
      expect(run.feesReceived, `${run.liquidator}'s fee recipient receives the keeper fees`).to.equal(
        run.result.keeperFees,
      );
    }
    expect(c.problems).to.deep.equal([]);
  });

  it("stress_upkeeps_differ_only_in_what_the_order_of_liquidation_moves_and_the_vault_assets_before_vesting_agree", function () {
    // Which positions the window's cover limit leaves uncovered depends on the order they go in; each cover's step
    // vests in the LP pool (VestingLib), so the share price net of the vesting gains may differ; the assets with
    // them counted may not.
    const order = c.totals.filter((t) => t.orderDependent).map((t) => t.name);
    expect(order).to.deep.equal(["cover-limit events", "gains still vesting after", "LP share price after"]);
    expect(c.keeper.lp.assets + c.keeper.lp.unvested).to.equal(c.upkeep.lp.assets + c.upkeep.lp.unvested);
    for (const t of c.totals.filter((t) => !t.orderDependent)) expect(t.upkeep, t.name).to.equal(t.keeper);
    expect(c.splitDiffers).to.be.lessThanOrEqual(c.keeper.positions.length);
  });

  it("stress_upkeeps_run_as_automation_lists_from_logs_performs_25_at_most_one_per_block_and_drops_the_liquidated", async function () {
    expect([c.listing.logs, c.listing.tracked], "one listed position per OrderExecuted log").to.deep.equal([
      POSITIONS,
      POSITIONS,
    ]);
    const u = c.upkeep.upkeep!;
    expect(u.failedPerforms).to.equal(0);
    expect(c.upkeep.maxTransactionPositions, "a perform takes at most 25 positions").to.be.at.most(25);
    expect(u.performs, "25 positions a perform at most").to.be.at.least(Math.ceil(c.upkeep.positions.length / 25));
    expect(c.upkeep.blocks).to.equal(u.performs + u.idleBlocks);
    expect(u.checks, "a check before each perform and one that finds nothing").to.be.at.least(u.performs + 1);

    // The chain is where the upkeep's run ended: what it liquidated is gone and dropped, the rest still listed.
    const upkeep = await ethers.getContractAt("contracts/LiquidationUpkeep.sol:LiquidationUpkeep", c.listing.upkeep);
    expect(await upkeep.feeRecipient()).to.equal(c.upkeep.feeRecipient);
    expect(await upkeep.trackedCount()).to.equal(BigInt(POSITIONS - c.upkeep.positions.length));
    for (const o of c.upkeep.positions) {
      expect(await upkeep.isTracked(o.account, o.marketId)).to.equal(false);
      expect((await sys.engine.getPosition(o.account, o.marketId)).size).to.equal(0n);
    }
    // The clock was frozen: every liquidation of the round landed at one time, the round's.
    const events = await sys.engine.queryFilter(sys.engine.filters.PositionLiquidated(), c.book.startBlock);
    const times = new Set(
      await Promise.all(events.map(async (e) => (await ethers.provider.getBlock(e.blockNumber))!.timestamp)),
    );
    expect(events.length).to.equal(c.upkeep.positions.length);
    expect([...times]).to.deep.equal([c.book.openedAt + 60 + gap.rounds[0].after]);
  });

  it("stress_upkeeps_refuse_bad_input_with_a_named_error", async function () {
    const refused = async (work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (error) {
        if (error instanceof ToolError) return error.code;
        throw error;
      }
      throw new Error("not refused");
    };
    expect(await refused(() => compareUpkeeps(connection, sys, gap, { backstopShare: 1.5 }))).to.equal("BadBackstop");
    // The clock can freeze only where blocks may share a timestamp.
    expect(await refused(async () => freezeClock(await network.create()))).to.equal("SameTimestampsOff");
  });
});
