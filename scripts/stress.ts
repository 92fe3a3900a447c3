/**
 * Stress lab (issue 12): replays each scenario of stress/scenarios/ against the real contracts on the
 * in-process network, at each backstop size the scenario lists, with the project's keeper
 * (scripts/lib/keeper/) liquidating after every oracle round; prints a table per scenario, finds by
 * bisection the smallest backstop that socializes nothing, and writes stress-report.json.
 * Fails (exit 1) if conservation does not hold to the unit in any run.
 * Run: npm run stress [-- --scenario gap] [--positions 1000] [--seed 12] [--json] [--no-sizing]
 * Guarded run (issue 21): npm run stress -- --guard [--books 20] [--positions 150] [--seed 21] [--no-frontier]
 * [--png docs/images/stress-frontier.png]: the gap guard at 35 % over random books with a backstop staked
 * first, a 35 % gap down and up, socialized 0 asserted per book; then the frontier (scripts/lib/stress/guard.ts).
 * Upkeep-only run (issue 20): npm run stress -- --upkeeps [--scenario gap] [--backstop 0.02]: the scenario twice from
 * one opened book, liquidated by the keeper, then by a LiquidationUpkeep alone, compared (scripts/lib/stress/upkeeps.ts).
 * (scripts/stress-cli.mjs passes the flags through BULWARK_STRESS_ARGS: `hardhat run` forwards none.)
 */
import { writeFileSync } from "node:fs";
import { network } from "hardhat";
import { ToolError } from "./lib/chain/errors.js";
import { loadScenarios, type Scenario } from "./lib/stress/scenario.js";
import { deployStressSystem } from "./lib/stress/system.js";
import { GAS_HEADROOM_PERCENT, TX_GAS_CAP } from "./lib/keeper/gas.js";
import { type Book, openBook } from "./lib/stress/book.js";
import { runScenario, type RunResult } from "./lib/stress/run.js";
import { frontierSpec, renderGuardHtml, renderHtml, scenarioSpec, toPng } from "./lib/stress/charts.js";
import { renderFrontier, renderGuardedBooks } from "./lib/stress/guard-report.js";
import { renderScenario, type ScenarioReport, type Sizing, toJson } from "./lib/stress/report.js";
import { compareUpkeeps, renderUpkeeps } from "./lib/stress/upkeep-compare.js";
import {
  drawGuardedBooks,
  type Frontier,
  FRONTIER_BOOK,
  GUARD_DEFAULTS,
  type GuardedBook,
  runFrontier,
  runGuardedBook,
  wad,
} from "./lib/stress/guard.js";

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

/** The options, checked before anything is deployed; a bad one ends the run with its problem named. */
function parseOptions() {
  const known = new Set([
    "--scenario",
    "--positions",
    "--seed",
    "--json",
    "--no-sizing",
    "--out",
    "--html",
    "--png",
    "--batch",
    "--guard",
    "--books",
    "--no-frontier",
    "--upkeeps",
    "--backstop",
  ]);
  const unknown = args.filter((a) => a.startsWith("--") && !known.has(a));
  if (unknown.length > 0)
    throw new ToolError("BadOption", `unknown option ${unknown[0]} (known: ${[...known].join(", ")})`);
  const guard = flag("guard");
  const upkeeps = flag("upkeeps");
  if (guard && upkeeps) throw new ToolError("BadOption", "--guard and --upkeeps are two different runs: give one");
  const mode = guard ? "with --guard" : upkeeps ? "with --upkeeps" : "without --guard or --upkeeps";
  const notHere = guard
    ? ["--scenario", "--no-sizing", "--backstop"]
    : upkeeps
      ? ["--no-sizing", "--html", "--png", "--books", "--no-frontier"]
      : ["--books", "--no-frontier", "--backstop"];
  const misplaced = args.find((a) => notHere.includes(a));
  if (misplaced) throw new ToolError("BadOption", `${misplaced} does not apply ${mode}`);
  const backstop = option("backstop");
  if (backstop !== undefined && !(Number(backstop) >= 0 && Number(backstop) <= 1))
    throw new ToolError("BadOption", `--backstop must be a share of open interest in 0..1, not "${backstop}"`);
  return {
    guard,
    upkeeps,
    backstop: backstop === undefined ? undefined : Number(backstop),
    books: integer("books", 1),
    frontier: !flag("no-frontier"),
    json: flag("json"),
    positions: integer("positions", 1),
    seed: integer("seed", 0),
    batchSize: integer("batch", 1),
    sizing: !flag("no-sizing"),
    out: option("out") ?? "stress-report.json",
    html: option("html") ?? "stress-report.html",
    png: option("png"),
    scenario: option("scenario"),
  };
}

let parsed: ReturnType<typeof parseOptions>;
let scenarios: Scenario[];
let upkeepScenario: Scenario | undefined;
try {
  parsed = parseOptions();
  scenarios = parsed.guard || parsed.upkeeps ? [] : await loadScenarios(undefined, parsed.scenario);
  if (parsed.upkeeps) [upkeepScenario] = await loadScenarios(undefined, parsed.scenario ?? "gap");
} catch (error) {
  if (!(error instanceof ToolError)) throw error;
  process.stderr.write(`stress: ${error.message}\n`);
  process.exit(2);
}
const { json, positions, seed, batchSize, sizing, out, html, png } = parsed;
// With --json stdout carries the report alone; progress goes to stderr.
const say = (line: string) => (json ? process.stderr : process.stdout).write(line + "\n");

// The upkeep-only run freezes the clock (upkeeps.ts), which needs blocks that may share a timestamp.
const connection = await network.create(
  parsed.upkeeps ? { override: { allowBlocksWithSameTimestamp: true } } : undefined,
);
const { provider } = connection.ethers;
const started = Date.now();
const guardOptions = {
  ...GUARD_DEFAULTS,
  books: parsed.books ?? GUARD_DEFAULTS.books,
  positions: positions ?? GUARD_DEFAULTS.positions,
  seed: seed ?? GUARD_DEFAULTS.seed,
  batchSize,
};
// The guarded run deploys with both markets guarded (the Ignition parameters ethDesignGap / btcDesignGap).
const sys = await deployStressSystem(connection, parsed.guard ? { designGap: wad(guardOptions.gap) } : {});
let deployed: string = await provider.send("evm_snapshot", []);
const reports: ScenarioReport[] = [];
const tables: string[] = [];
let broken = false;
// Scenarios that draw the same book (population, seed, LP capital: the five shipped ones do) share one
// opening: the chain is reverted to the snapshot taken right after it, instead of opening the book again.
let opened: { key: string; book: Book; snapshot: string } | undefined;
// (In a guarded or upkeep-only run `scenarios` is empty: guardMain or upkeepsMain below does the work.)
for (const scenario of scenarios) {
  const t0 = Date.now();
  const key = JSON.stringify([scenario.population, seed ?? scenario.seed, positions, scenario.lpCapital]);
  let book: Book;
  if (opened?.key === key) {
    // A revert consumes its snapshot (and every later one): take it again for the next scenario.
    await provider.send("evm_revert", [opened.snapshot]);
    opened.snapshot = await provider.send("evm_snapshot", []);
    book = opened.book;
    say(`[stress] ${scenario.name}: the same ${book.positions} positions, reverted to just after they opened`);
  } else {
    await provider.send("evm_revert", [deployed]);
    deployed = await provider.send("evm_snapshot", []);
    book = await openBook(connection, sys, scenario, { positions, seed });
    say(`[stress] ${scenario.name}: ${book.positions} positions open (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    opened = { key, book, snapshot: await provider.send("evm_snapshot", []) };
  }
  let snapshot: string = await provider.send("evm_snapshot", []);
  const runAt = async (share: number) => {
    await provider.send("evm_revert", [snapshot]);
    snapshot = await provider.send("evm_snapshot", []);
    const r = await runScenario(connection, sys, scenario, book, share, { batchSize });
    if (r.conservation.some((c) => !c.ok)) broken = true;
    // The keeper asks for 1.2x its estimate: a batch whose gas comes near the cap is a failure in waiting.
    if ((r.gas.maxBatch * GAS_HEADROOM_PERCENT) / 100n > TX_GAS_CAP) {
      say(`[stress] a batch used ${r.gas.maxBatch} gas: 1.24x that is over the ${TX_GAS_CAP} transaction cap`);
      broken = true;
    }
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
  if (sizing) report.sizing = await size(scenario, book, runs, runAt);
  report.seconds = (Date.now() - t0) / 1000;
  reports.push(report);
  tables.push(renderScenario(report, sys.decimals));
  say(tables[tables.length - 1]);
}

/**
 * Bisection on the backstop size (share of OI), to 0.1 % of OI, between the largest size known to
 * socialize and the smallest known not to. The book's bad debt does not depend on the backstop (the same
 * positions go under at the same prices), and a window's covers are capped at `maxCoverRatio` of the
 * backstop's assets, so the first guess is bad debt / (maxCoverRatio x OI); most scenarios settle in two runs.
 */
async function size(
  scenario: Scenario,
  book: Book,
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
  const done = (hi: RunResult, lo: number | null): Sizing => {
    curve.sort((a, b) => a.share - b.share);
    return { share: hi.backstopShare, stakersLose: hi.backstopDrawdown, failsAt: lo, runs: extra, curve };
  };
  const badDebt = runs[0].badDebt;
  if (badDebt === 0n) return done(runs[0].backstopShare === 0 ? runs[0] : await at(0), null);
  const ok = runs.filter((r) => r.socialized === 0n).sort((a, b) => a.backstopShare - b.backstopShare);
  const bad = runs.filter((r) => r.socialized > 0n).sort((a, b) => b.backstopShare - a.backstopShare);
  let lo = bad.length > 0 ? bad[0].backstopShare : 0;
  let hi: RunResult | undefined = ok[0];
  const ratio = Number(await sys.backstop.maxCoverRatio()) / 1e18;
  const guess = Math.min(1, Math.ceil((Number(badDebt) / (ratio * Number(book.openInterest))) * 1_000) / 1_000);
  if (guess > lo && (!hi || guess < hi.backstopShare)) {
    const r = await at(guess);
    if (r.socialized === 0n) hi = r;
    else lo = guess;
  }
  while (!hi) {
    if (lo >= 1) return { share: null, stakersLose: null, failsAt: lo, runs: extra, curve };
    const next = Math.min(1, Math.max(lo + 0.01, lo * 1.5));
    const r = await at(next);
    if (r.socialized === 0n) hi = r;
    else lo = next;
  }
  while (hi.backstopShare - lo > 0.001 + 1e-9) {
    // The first step below a guess is one grid step: the guess is usually right to the grid.
    const mid = extra === 1 ? hi.backstopShare - 0.001 : Math.round(((lo + hi.backstopShare) / 2) * 10_000) / 10_000;
    const r = await at(mid);
    if (r.socialized === 0n) hi = r;
    else lo = mid;
  }
  return done(hi, lo);
}

if (parsed.guard) await guardMain();
else if (upkeepScenario) await upkeepsMain(upkeepScenario);
else {
  const seconds = (Date.now() - started) / 1000;
  const full = { generatedBy: "npm run stress", args, decimals: sys.decimals, seconds, scenarios: reports };
  writeFileSync(out, toJson(full) + "\n");
  writeFileSync(html, await renderHtml(reports, tables, sys.decimals, seconds));
  if (png) writeFileSync(png, await toPng(scenarioSpec(reports[0], sys.decimals)));
  say(
    `[stress] ${reports.length} scenario(s) in ${seconds.toFixed(1)} s; reports written to ${out} and ${html}` +
      (png ? ` (${reports[0].name}'s charts to ${png})` : ""),
  );
  if (broken) {
    process.stderr.write("[stress] conservation or the gas cap failed in some run (see above)\n");
    process.exitCode = 1;
  }
}

/**
 * The guarded run: each random book from the deployment's state (guard at the design gap in both markets),
 * its backstop staked first, its book opened through the order book, a gap down and up; then the frontier.
 */
async function guardMain() {
  const books: GuardedBook[] = [];
  for (const spec of drawGuardedBooks(guardOptions, sys.decimals)) {
    await provider.send("evm_revert", [deployed]);
    deployed = await provider.send("evm_snapshot", []);
    const b = await runGuardedBook(connection, sys, spec, guardOptions);
    books.push(b);
    const runs = b.runs.map((r) => `${r.direction}: bad debt ${r.result.badDebt}, socialized ${r.result.socialized}`);
    say(
      `[guard] book ${b.index}: ${b.book.requestsExecuted} executed, ${b.book.requestsRefusedByGuard} refused by the guard; ` +
        `${runs.join("; ")} (units; ${b.seconds.toFixed(1)} s)${b.ok ? "" : ` FAILED: ${b.problems.join(", ")}`}`,
    );
  }
  const booksSeconds = (Date.now() - started) / 1000;
  const tables = [renderGuardedBooks(books, sys.decimals, guardOptions.gap, booksSeconds)];
  say(tables[0]);
  let frontier: Frontier | undefined;
  if (parsed.frontier) {
    await provider.send("evm_revert", [deployed]);
    deployed = await provider.send("evm_snapshot", []);
    frontier = await runFrontier(
      connection,
      sys,
      { gaps: [0.15, 0.2, 0.25, 0.35, 0.5], backstopUsd: 1_000_000, scenario: FRONTIER_BOOK, batchSize },
      say,
    );
    tables.push(renderFrontier(frontier, sys.decimals));
    say(tables[1]);
  }
  const seconds = (Date.now() - started) / 1000;
  const report = { generatedBy: "npm run stress -- --guard", args, decimals: sys.decimals, seconds, booksSeconds };
  writeFileSync(out, toJson({ ...report, options: guardOptions, books, frontier }) + "\n");
  writeFileSync(html, await renderGuardHtml(tables, frontier, seconds));
  if (png && frontier) writeFileSync(png, await toPng(frontierSpec(frontier)));
  say(
    `[stress] guarded run: the deployment and ${books.length} books in ${booksSeconds.toFixed(1)} s, ${seconds.toFixed(1)} s in all; ` +
      `reports written to ${out} and ${html}` +
      (png && frontier ? ` (the frontier's chart to ${png})` : ""),
  );
  if (books.some((b) => !b.ok)) {
    process.stderr.write("[stress] a guarded book socialized a loss or broke conservation (see above)\n");
    process.exitCode = 1;
  }
}

/**
 * The upkeep-only run: the scenario's book opened once, then replayed with the keeper and with a LiquidationUpkeep
 * as the only liquidator, at one backstop size, and the two compared (upkeeps.ts). Fails (exit 1) on any difference
 * the comparison asserts, or if conservation breaks in either run.
 */
async function upkeepsMain(scenario: Scenario) {
  const c = await compareUpkeeps(connection, sys, scenario, {
    positions,
    seed,
    backstopShare: parsed.backstop,
    batchSize,
    say,
  });
  const text = renderUpkeeps(c, sys.decimals);
  say(text);
  const seconds = (Date.now() - started) / 1000;
  const report = { generatedBy: "npm run stress -- --upkeeps", args, decimals: sys.decimals, seconds, table: text };
  writeFileSync(out, toJson({ ...report, comparison: c }) + "\n");
  say(`[stress] upkeep-only run of ${scenario.name} in ${seconds.toFixed(1)} s; report written to ${out}`);
  if (c.problems.length > 0) {
    process.stderr.write("[stress] the upkeep-only run differs from the keeper's (see above)\n");
    process.exitCode = 1;
  }
}
