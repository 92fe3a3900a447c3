import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { ToolError } from "../chain/errors.js";

/** The markets a stress deployment lists, in the engine's order (market id = index). */
export const MARKETS = ["ETH", "BTC"] as const;
export type MarketName = (typeof MARKETS)[number];

/** Starting prices in USD; a round's prices are multiples of these. */
export const START_PRICE: Record<MarketName, number> = { ETH: 3_000, BTC: 60_000 };

export interface Range {
  min: number;
  max: number;
}

/** The book a scenario opens before its first round. */
export interface Population {
  /** Number of positions (one account each). */
  positions: number;
  /** Share of positions that are long, 0..1. */
  longShare: number;
  /** Leverage (notional / margin), drawn uniformly. */
  leverage: Range;
  /** Notional in USD, drawn log-uniformly (many small positions, a few whales). */
  notionalUsd: Range;
  /** Weight of each market; a position's market is drawn in proportion. */
  markets: Partial<Record<MarketName, number>>;
}

/**
 * One oracle round. `after` seconds pass since the previous round (or since the book was opened), then the
 * markets named in `prices` move to that multiple of their starting price.
 */
export interface Round {
  after: number;
  prices?: Partial<Record<MarketName, number>>;
  /**
   * false: the market moved but no round was published (a missed heartbeat); the feeds keep their last
   * answer and go stale once it is older than the oracle's max age (1 hour).
   */
  publish?: boolean;
  /**
   * The L2 sequencer's status from this round on. While it is "down" nothing lands on the chain: no
   * round is published and the keeper cannot send; the round that sets it "up" again publishes.
   */
  sequencer?: "up" | "down";
  /** Shown in the progress line and the report. */
  label?: string;
}

export interface Scenario {
  name: string;
  description: string;
  /** Seed of the population's PRNG (the --seed option overrides it). */
  seed: number;
  population: Population;
  /** LP capital as a multiple of the book's open interest (the vault reserves about 0.9x OI of profit caps). */
  lpCapital: number;
  /** Backstop sizes to report, each as a share of open interest at the start. */
  backstopSizes: number[];
  rounds: Round[];
}

export const SCENARIO_DIR = path.resolve(import.meta.dirname, "../../../stress/scenarios");

function fail(file: string, message: string): never {
  throw new ToolError("BadScenario", `${file}: ${message}`);
}

function checkRange(file: string, what: string, r: Range | undefined, min: number) {
  if (!r || typeof r.min !== "number" || typeof r.max !== "number" || r.min < min || r.max < r.min)
    fail(file, `${what} must be { "min": a, "max": b } with ${min} <= a <= b`);
}

/** Checks a parsed scenario, naming the first problem; returns it typed. */
export function validateScenario(raw: unknown, file: string): Scenario {
  const s = raw as Scenario;
  if (typeof s?.name !== "string" || !/^[a-z0-9-]+$/.test(s.name)) fail(file, `"name" must be lower-case-with-dashes`);
  if (!Number.isInteger(s.seed)) fail(file, `"seed" must be an integer`);
  const p = s.population;
  if (!p || !Number.isInteger(p.positions) || p.positions < 1) fail(file, `"population.positions" must be >= 1`);
  if (!(p.longShare >= 0 && p.longShare <= 1)) fail(file, `"population.longShare" must be in 0..1`);
  checkRange(file, "population.leverage", p.leverage, 1.1);
  if (p.leverage.max > 10) fail(file, `"population.leverage.max" is above the markets' 10x`);
  checkRange(file, "population.notionalUsd", p.notionalUsd, 100);
  const weights = Object.entries(p.markets ?? {});
  if (weights.length === 0 || weights.some(([m, w]) => !MARKETS.includes(m as MarketName) || !(w > 0)))
    fail(file, `"population.markets" must weigh some of ${MARKETS.join(", ")} with positive numbers`);
  if (!(s.lpCapital >= 1)) fail(file, `"lpCapital" must be at least 1 (the vault reserves the book's profit caps)`);
  if (!Array.isArray(s.backstopSizes) || s.backstopSizes.some((x) => !(x >= 0 && x <= 1)))
    fail(file, `"backstopSizes" must be shares of open interest in 0..1`);
  if (!Array.isArray(s.rounds) || s.rounds.length === 0) fail(file, `"rounds" must list at least one round`);
  s.rounds.forEach((r, i) => {
    if (!Number.isInteger(r.after) || r.after < 1) fail(file, `rounds[${i}].after must be whole seconds >= 1`);
    for (const [m, x] of Object.entries(r.prices ?? {}))
      if (!MARKETS.includes(m as MarketName) || !(x > 0))
        fail(file, `rounds[${i}].prices.${m} must be a market and > 0`);
    if (r.sequencer !== undefined && r.sequencer !== "up" && r.sequencer !== "down")
      fail(file, `rounds[${i}].sequencer must be "up" or "down"`);
  });
  return s;
}

export async function loadScenario(file: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new ToolError("NoScenario", `no scenario file ${file}`);
  }
  try {
    return validateScenario(JSON.parse(text), path.basename(file));
  } catch (error) {
    if (error instanceof SyntaxError) fail(path.basename(file), `not JSON (${error.message})`);
    throw error;
  }
}

/** Every scenario in `dir`, in file-name order; `only` picks one by name. */
export async function loadScenarios(dir = SCENARIO_DIR, only?: string): Promise<Scenario[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".json")).sort();
  const all = await Promise.all(files.map((f) => loadScenario(path.join(dir, f))));
  if (only === undefined) return all;
  const picked = all.filter((s) => s.name === only);
  if (picked.length === 0)
    throw new ToolError("NoScenario", `no scenario "${only}" (there are: ${all.map((s) => s.name).join(", ")})`);
  return picked;
}

/** A small seeded PRNG (a 32-bit xorshift with a scrambled seed): the same seed draws the same book. */
export function prng(seed: number): () => number {
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4_294_967_296;
  };
}

export interface Draw {
  market: MarketName;
  long: boolean;
  leverage: number;
  notionalUsd: number;
}

/** Draws the book: market by weight, side by long share, leverage uniform, notional log-uniform. */
export function drawPopulation(p: Population, seed: number): Draw[] {
  const random = prng(seed);
  const weights = Object.entries(p.markets) as [MarketName, number][];
  const total = weights.reduce((sum, [, w]) => sum + w, 0);
  const logMin = Math.log(p.notionalUsd.min);
  const logMax = Math.log(p.notionalUsd.max);
  return Array.from({ length: p.positions }, () => {
    let pick = random() * total;
    let market = weights[weights.length - 1][0];
    for (const [m, w] of weights) {
      if (pick < w) {
        market = m;
        break;
      }
      pick -= w;
    }
    const long = random() < p.longShare;
    const leverage = p.leverage.min + random() * (p.leverage.max - p.leverage.min);
    const notionalUsd = Math.round(Math.exp(logMin + random() * (logMax - logMin)));
    return { market, long, leverage, notionalUsd };
  });
}

/** A book opened for a scenario (book.ts `openBook`), as the runs and the reports read it. */
export interface Book {
  /** Positions open: the requests executed. */
  positions: number;
  /** Positions drawn (one request each). */
  positionsAsked: number;
  /** Open interest carried at the starting prices, in collateral units (the executed requests' drawn notionals). */
  openInterest: bigint;
  /** The drawn notionals of every request, executed or not. */
  openInterestAsked: bigint;
  /** Open interest carried per market and side (collateral units, at the starting prices). */
  sides: Record<MarketName, { long: bigint; short: bigint }>;
  /** The larger side's open interest, summed over the markets: what the gap guard bounds. */
  largerSides: bigint;
  lpCapital: bigint;
  longShare: number;
  /** First block with a position (the keeper scans events from here). */
  startBlock: number;
  /** The chain's clock when the book was complete. */
  openedAt: number;
  /** Requests made, each paying the book's minimum fee for an open at the network's gas price. */
  requestsPaid: number;
  /** Of those, executed by the project's keeper pricing gas at that gas price. */
  requestsExecuted: number;
  /**
   * Of those, cancelled at execution by the order book's gap guard (`GapCoverExceeded`). Every paid request
   * is executed or refused by the guard, or the run fails.
   */
  requestsRefusedByGuard: number;
}
