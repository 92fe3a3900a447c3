/**
 * Stress lab (issue 12): replays each scenario of stress/scenarios/ against the real contracts on the
 * in-process network, at each backstop size the scenario lists, with the project's keeper
 * (scripts/lib/keeper.ts) liquidating after every oracle round; prints a table per scenario, finds by
 * bisection the smallest backstop that socializes nothing, and writes stress-report.json.
 * Fails (exit 1) if conservation does not hold to the unit in any run.
 * Run: npm run stress [-- --scenario gap] [--positions 1000] [--seed 12] [--json] [--no-sizing]
 * (scripts/stress-cli.mjs passes the flags through BULWARK_STRESS_ARGS: `hardhat run` forwards none.)
 */
import { writeFileSync } from "node:fs";
import { network } from "hardhat";
import { ToolError } from "./lib/errors.js";
import { loadScenarios, type Scenario } from "./lib/stress/scenario.js";
import { deployStressSystem } from "./lib/stress/system.js";
import { openBook, runScenario, type RunResult } from "./lib/stress/run.js";
import { renderScenario, type ScenarioReport, type Sizing, toJson } from "./lib/stress/report.js";

const args: string[] = JSON.parse(process.env.BULWARK_STRESS_ARGS ?? "[]");
const flag = (name: string) => args.includes(`--${name}`);
function option(name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("--")) throw new ToolError("BadOption", `--${name} needs a value`);
  return value;
}
function integer(name: string, min: number): number | undefined {
  const text = option(name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new ToolError("BadOption", `--${name} must be an integer >= ${min}, not "${text}"`);
  return n;
}

const known = new Set(["--scenario", "--positions", "--seed", "--json", "--no-sizing", "--out", "--batch"]);
const unknown = args.filter((a, i) => a.startsWith("--") && !known.has(a) && i >= 0);
if (unknown.length > 0)
  throw new ToolError("BadOption", `unknown option ${unknown[0]} (known: ${[...known].join(", ")})`);
const json = flag("json");
const positions = integer("positions", 1);
const seed = integer("seed", 0);
const batchSize = integer("batch", 1);
const sizing = !flag("no-sizing");
const out = option("out") ?? "stress-report.json";
const scenarios = await loadScenarios(undefined, option("scenario"));
// With --json stdout carries the report alone; progress goes to stderr.
const say = (line: string) => (json ? process.stderr : process.stdout).write(line + "\n");

const connection = await network.create();
const { provider } = connection.ethers;
const started = Date.now();
const sys = await deployStressSystem(connection);
const deployed: string = await provider.send("evm_snapshot", []);

const reports: ScenarioReport[] = [];
let broken = false;
for (const scenario of scenarios) {
  const t0 = Date.now();
  await provider.send("evm_revert", [deployed]);
  const book = await openBook(connection, sys, scenario, { positions, seed });
  say(`[stress] ${scenario.name}: ${book.positions} positions open (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  let snapshot: string = await provider.send("evm_snapshot", []);
  const runAt = async (share: number) => {
    await provider.send("evm_revert", [snapshot]);
    snapshot = await provider.send("evm_snapshot", []);
    const r = await runScenario(connection, sys, scenario, book, share, { batchSize });
    if (r.conservation.some((c) => !c.ok)) broken = true;
    return r;
  };
  const runs: RunResult[] = [];
  for (const share of scenario.backstopSizes) runs.push(await runAt(share));
  const safe = runs.filter((r) => r.socialized === 0n).map((r) => r.backstopShare);
  const report: ScenarioReport = {
    name: scenario.name,
    description: scenario.description,
    book,
    runs,
    smallestListedSafe: safe.length > 0 ? Math.min(...safe) : null,
    seconds: 0,
  };
  if (sizing) report.sizing = await size(scenario, runs, runAt);
  report.seconds = (Date.now() - t0) / 1000;
  reports.push(report);
  say(renderScenario(report, sys.decimals));
}

/**
 * Bisection on the backstop size (share of OI) between the largest listed size that socializes and the
 * smallest that does not, to 0.1 % of OI; when every listed size socializes, doubles up to 100 % first.
 */
async function size(
  scenario: Scenario,
  runs: RunResult[],
  runAt: (share: number) => Promise<RunResult>,
): Promise<Sizing> {
  const curve = runs.map((r) => ({ share: r.backstopShare, socialized: r.socialized, covered: r.covered }));
  let extra = 0;
  const at = async (share: number) => {
    const r = await runAt(share);
    extra++;
    curve.push({ share, socialized: r.socialized, covered: r.covered });
    return r;
  };
  const ok = runs.filter((r) => r.socialized === 0n).sort((a, b) => a.backstopShare - b.backstopShare);
  const bad = runs.filter((r) => r.socialized > 0n).sort((a, b) => b.backstopShare - a.backstopShare);
  if (bad.length === 0 && runs.every((r) => r.badDebt === 0n))
    return { share: 0, stakersLose: 0n, failsAt: null, runs: 0, curve };
  let lo = bad.length > 0 ? bad[0].backstopShare : 0;
  let hi: RunResult | undefined = ok[0];
  if (lo === 0 && hi && hi.badDebt > 0n) {
    const zero = await at(0);
    if (zero.socialized === 0n) hi = zero;
  }
  while (!hi) {
    const next = Math.min(1, Math.max(0.01, lo * 2));
    const r = await at(next);
    if (r.socialized === 0n) hi = r;
    else if (next >= 1) return { share: null, stakersLose: null, failsAt: next, runs: extra, curve };
    else lo = next;
  }
  while (hi.backstopShare - lo > 0.001) {
    const mid = Math.round(((lo + hi.backstopShare) / 2) * 10_000) / 10_000;
    const r = await at(mid);
    if (r.socialized === 0n) hi = r;
    else lo = mid;
  }
  curve.sort((a, b) => a.share - b.share);
  return {
    share: hi.backstopShare,
    stakersLose: hi.backstopDrawdown,
    failsAt: hi.backstopShare === 0 ? null : lo,
    runs: extra,
    curve,
  };
}

const seconds = (Date.now() - started) / 1000;
const full = { generatedBy: "npm run stress", args, decimals: sys.decimals, seconds, scenarios: reports };
writeFileSync(out, toJson(full) + "\n");
say(`[stress] ${reports.length} scenario(s) in ${seconds.toFixed(1)} s; report written to ${out}`);
if (broken) {
  process.stderr.write("[stress] conservation does not hold in some run (see CONSERVATION BROKEN above)\n");
  process.exitCode = 1;
}
