import { spawnSync } from "node:child_process";
import { expect } from "chai";
import hre from "hardhat";
import { network } from "hardhat";
import { demoJson, runDemo, waterfallTable } from "../scripts/lib/demo.js";
import { formatUnits } from "../scripts/lib/chain/deployment.js";

describe("Demo", function () {
  this.timeout(120_000);

  it("reports waterfall totals equal to the sums of the engine's and backstop's events, and a socialized remainder", async function () {
    const connection = await network.create();
    const result = await runDemo(connection);
    const json = demoJson(result);
    const { ethers } = connection;
    const engine = await ethers.getContractAt("PerpEngine", result.deployment.engine);
    const backstop = await ethers.getContractAt("BackstopModule", result.deployment.backstop);

    // Independent sums over every log of the run, decoded with the contracts' ABIs.
    const logs = await ethers.provider.getLogs({ fromBlock: 0, toBlock: "latest" });
    const sums = { keeper: 0n, penalty: 0n, badDebt: 0n, covered: 0n, socialized: 0n, liquidations: 0, paid: 0n };
    const perPosition = new Map<string, { badDebt: bigint; covered: bigint; socialized: bigint }>();
    for (const log of logs) {
      if (log.address === result.deployment.backstop) {
        const parsed = backstop.interface.parseLog(log);
        if (parsed?.name === "Covered") sums.paid += parsed.args.paid;
        continue;
      }
      if (log.address !== result.deployment.engine) continue;
      const parsed = engine.interface.parseLog(log);
      if (parsed === null) continue;
      const key = `${log.transactionHash}/${parsed.args.account}/${parsed.args.marketId}`;
      const entry = perPosition.get(key) ?? { badDebt: 0n, covered: 0n, socialized: 0n };
      if (parsed.name === "KeeperPaid") sums.keeper += parsed.args.fee;
      if (parsed.name === "PenaltyPaid") sums.penalty += parsed.args.penalty;
      if (parsed.name === "PositionLiquidated") sums.liquidations++;
      if (parsed.name === "BadDebtCovered") {
        sums.badDebt += parsed.args.badDebt;
        sums.covered += parsed.args.covered;
        entry.badDebt += parsed.args.badDebt;
        entry.covered += parsed.args.covered;
      }
      if (parsed.name === "LossSocialized") {
        sums.socialized += parsed.args.amount;
        entry.socialized += parsed.args.amount;
      }
      perPosition.set(key, entry);
    }
    expect(json.keeperFees).to.equal(sums.keeper.toString());
    expect(json.penalties).to.equal(sums.penalty.toString());
    expect(json.badDebt).to.equal(sums.badDebt.toString());
    expect(json.coveredByBackstop).to.equal(sums.covered.toString());
    expect(json.socialized).to.equal(sums.socialized.toString());
    // Loss recovery: what the LPs absorbed is owed back, and the next distribution repaid part of it.
    expect(BigInt(json.recoveryOutstanding) + BigInt(json.recovered)).to.equal(sums.socialized);
    expect(BigInt(json.recovered)).to.be.greaterThan(0n);
    expect(json.liquidations).to.equal(sums.liquidations);
    // The backstop paid what the engine says it covered, and every bad debt is covered or socialized.
    expect(sums.paid).to.equal(sums.covered);
    expect(await backstop.totalCovered()).to.equal(sums.covered);
    for (const [key, e] of perPosition) expect(e.covered + e.socialized).to.equal(e.badDebt, key);

    // The story: liquidations with penalties, bad debt the backstop covers, then a remainder socialized.
    expect(result.traders).to.be.greaterThanOrEqual(20);
    const [move, crash1, crash2] = result.phases;
    expect(move.liquidations).to.be.greaterThan(0);
    expect(move.penalties).to.be.greaterThan(0n);
    expect(move.badDebt).to.equal(0n);
    expect(crash1.badDebt).to.be.greaterThan(0n);
    expect(crash1.coveredByBackstop).to.equal(crash1.badDebt);
    expect(crash2.socialized).to.be.greaterThan(0n);
    expect(crash2.coveredByBackstop).to.be.greaterThan(0n);
    expect(BigInt(json.backstopSharePrice.after)).to.be.lessThan(BigInt(json.backstopSharePrice.before));

    // The table's Total column and the JSON give the same share prices: the first phase's before, the last's after.
    const first = result.phases[0];
    const last = result.phases.at(-1)!;
    expect(json.lpSharePrice).to.deep.equal({
      before: first.lpSharePrice.before.toString(),
      after: last.lpSharePrice.after.toString(),
    });
    const total = (x: bigint) => formatUnits(x, result.decimals, Math.min(result.decimals, 6));
    const lpRow = waterfallTable(result)
      .split("\n")
      .find((line) => line.startsWith("LP share price"))!;
    expect(lpRow.trimEnd(), "the Total column").to.satisfy((row: string) =>
      row.endsWith(`| ${total(first.lpSharePrice.before)} > ${total(last.lpSharePrice.after)}`),
    );
  });

  it("`npm run demo -- --json` prints one JSON object on stdout", async function () {
    // A separate process: under `--coverage` it would compile and run the instrumented contracts, slower than
    // the timeout; the in-process demo test above covers the same path.
    if (hre.globalOptions.coverage === true) this.skip();
    const run = spawnSync(process.execPath, ["scripts/demo-cli.mjs", "--json"], { encoding: "utf8" });
    expect(run.status).to.equal(0, run.stderr);
    const parsed = JSON.parse(run.stdout);
    for (const field of ["keeperFees", "penalties", "badDebt", "coveredByBackstop", "socialized"]) {
      expect(parsed[field]).to.match(/^\d+$/, field);
    }
    expect(parsed.liquidations).to.be.greaterThan(0);
    expect(BigInt(parsed.badDebt)).to.equal(BigInt(parsed.coveredByBackstop) + BigInt(parsed.socialized));
    expect(Object.keys(parsed.lpSharePrice)).to.deep.equal(["before", "after"]);
  });
});
