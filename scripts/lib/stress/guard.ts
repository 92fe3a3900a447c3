/**
 * The guarded run (issue 21): the order book's gap guard (`OrderBook.designGap`) on in both markets, a
 * backstop staked BEFORE the book opens (the guard cancels what its window capacity cannot carry), then a
 * gap of the design size in both markets as one round before any liquidation, and the keeper liquidating.
 * And the frontier: how much open interest a backstop carries at each design gap, against what an actual
 * gap of that size would cost the same book.
 */
import type { NetworkConnection } from "hardhat/types/network";
import { gapShare } from "../chain/gap-guard.js";
import { GAS_HEADROOM_PERCENT, TX_GAS_CAP } from "../keeper/gas.js";
import { type Book, openBook } from "./book.js";
import { type RunResult, runScenario, stakeBackstop } from "./run.js";
import { MARKETS, type MarketName, prng, type Range, type Scenario, validateScenario } from "./scenario.js";
import { setDesignGaps, type StressSystem } from "./system.js";

const WAD = 10n ** 18n;
/** A share as an 18-decimal fixed-point number (0.35 → 0.35e18). */
export const wad = (x: number) => BigInt(Math.round(x * 1e6)) * 10n ** 12n;

/** The share of a side's notional the guard bounds a gap's shortfall by (the chain's `gapShare`, as a number). */
export const boundShare = (gap: number, keeperFeeRatio: number, maintenance: number) =>
  Number(gapShare(wad(gap), wad(maintenance), wad(keeperFeeRatio))) / 1e18;

export type Direction = "down" | "up";

export interface GuardOptions {
  /** Random books (default 20). */
  books: number;
  /** Positions asked per book (default 150). */
  positions: number;
  /** Seed of the books' draws (each book's own seed and backstop come from it). */
  seed: number;
  /** The design gap of both markets, also the size of the gap replayed (default 0.35). */
  gap: number;
  /** Backstop per book in USD, drawn log-uniformly (default $50k..$5M). */
  backstopUsd: Range;
  /** Positions' notional in USD, log-uniform (default $1k..$500k). */
  notionalUsd: Range;
  /** Leverage, uniform (default 2..10: the markets' initial margin of 10 % allows no more). */
  leverage: Range;
  /** Share of long positions per book, uniform in this range (default 0.2..0.8, so either side can be larger). */
  longShare: Range;
  /** Each book's ETH weight, uniform in this range (the rest BTC; default 0.3..0.8). */
  ethWeight: Range;
  /** The gaps replayed per book (default both: down hurts the longs, up the shorts). */
  directions: Direction[];
  batchSize?: number;
}

export const GUARD_DEFAULTS: GuardOptions = {
  books: 20,
  positions: 150,
  seed: 21,
  gap: 0.35,
  backstopUsd: { min: 50_000, max: 5_000_000 },
  notionalUsd: { min: 1_000, max: 500_000 },
  leverage: { min: 2, max: 10 },
  longShare: { min: 0.2, max: 0.8 },
  ethWeight: { min: 0.3, max: 0.8 },
  directions: ["down", "up"],
};

/** The gap of `size` in both markets as one round, a minute after the book (down: prices x (1 - size)). */
export function gapScenario(base: Scenario, size: number, direction: Direction): Scenario {
  const x = direction === "down" ? 1 - size : 1 + size;
  const label = `ETH and BTC ${direction === "down" ? "−" : "+"}${Math.round(size * 100)} %`;
  return validateScenario(
    { ...base, name: `${base.name}-${direction}`, rounds: [{ after: 60, prices: { ETH: x, BTC: x }, label }] },
    base.name,
  );
}

export interface GuardedBookSpec {
  index: number;
  scenario: Scenario;
  /** Staked before the book opens (collateral units). */
  backstop: bigint;
}

/** Draws the books: each its own population seed, long share, market weights and backstop. */
export function drawGuardedBooks(o: GuardOptions, decimals: number): GuardedBookSpec[] {
  const random = prng(o.seed);
  const uniform = (r: Range) => r.min + random() * (r.max - r.min);
  const logUniform = (r: Range) => Math.exp(Math.log(r.min) + random() * (Math.log(r.max) - Math.log(r.min)));
  return Array.from({ length: o.books }, (_, index) => {
    const seed = Math.floor(random() * 1_000_000);
    const longShare = Math.round(uniform(o.longShare) * 100) / 100;
    const eth = Math.round(uniform(o.ethWeight) * 100) / 100;
    const backstopUsd = Math.round(logUniform(o.backstopUsd) / 1_000) * 1_000;
    const scenario = validateScenario(
      {
        name: `guarded-${index + 1}`,
        description: `random book ${index + 1}: ${Math.round(longShare * 100)} % long, ${Math.round(eth * 100)} % ETH`,
        seed,
        population: {
          positions: o.positions,
          longShare,
          leverage: o.leverage,
          notionalUsd: o.notionalUsd,
          markets: { ETH: eth, BTC: Math.round((1 - eth) * 100) / 100 },
        },
        lpCapital: 1.05,
        backstopSizes: [],
        rounds: [{ after: 60 }],
      },
      "guarded run",
    );
    return { index: index + 1, scenario, backstop: BigInt(backstopUsd) * 10n ** BigInt(decimals) };
  });
}

/** The guard's state once the book is open (collateral units). */
export interface GuardReading {
  /** `backstop.maxCover()`: what the backstop may still cover in its window. */
  maxCover: bigint;
  /** `orderBook.totalGapExposure()`: the summed bound on the guarded markets' shortfall at their design gap. */
  totalGapExposure: bigint;
  gapExposure: Record<MarketName, bigint>;
}

export async function readGuard(sys: StressSystem): Promise<GuardReading> {
  const [maxCover, totalGapExposure, ...byMarket] = await Promise.all([
    sys.backstop.maxCover(),
    sys.orderBook.totalGapExposure(),
    ...MARKETS.map((_m, id) => sys.orderBook.gapExposure(id)),
  ]);
  return {
    maxCover,
    totalGapExposure,
    gapExposure: Object.fromEntries(MARKETS.map((m, i) => [m, byMarket[i]])) as Record<MarketName, bigint>,
  };
}

export interface GuardedBook {
  index: number;
  scenario: string;
  seed: number;
  longShareAsked: number;
  markets: Partial<Record<MarketName, number>>;
  backstop: bigint;
  book: Book;
  guard: GuardReading;
  /** One run per direction, from the same open book. */
  runs: { direction: Direction; result: RunResult }[];
  /**
   * Every run socialized nothing, conserved to the unit, covered within `maxCover`, and no batch came near
   * the transaction gas cap.
   */
  ok: boolean;
  problems: string[];
  seconds: number;
}

/**
 * One guarded book: stake its backstop, open its book through the order book (the guard at `o.gap` refuses
 * what does not fit), read the guard, then from that state replay each direction's gap with the keeper.
 * The chain is left where the last run ended: the caller reverts.
 */
export async function runGuardedBook(
  connection: NetworkConnection,
  sys: StressSystem,
  spec: GuardedBookSpec,
  o: GuardOptions,
): Promise<GuardedBook> {
  const t0 = Date.now();
  const { provider } = connection.ethers;
  await stakeBackstop(connection, sys, spec.backstop);
  const book = await openBook(connection, sys, spec.scenario, { ordered: true });
  const guard = await readGuard(sys);
  let snapshot: string = await provider.send("evm_snapshot", []);
  const runs: GuardedBook["runs"] = [];
  const problems: string[] = [];
  for (const [i, direction] of o.directions.entries()) {
    if (i > 0) {
      await provider.send("evm_revert", [snapshot]);
      snapshot = await provider.send("evm_snapshot", []);
    }
    const share = book.openInterest > 0n ? Number(spec.backstop) / Number(book.openInterest) : 0;
    const result = await runScenario(connection, sys, gapScenario(spec.scenario, o.gap, direction), book, share, {
      stake: 0n,
      batchSize: o.batchSize,
    });
    runs.push({ direction, result });
    if (result.socialized !== 0n) problems.push(`${direction}: socialized ${result.socialized}`);
    for (const c of result.conservation.filter((c) => !c.ok)) problems.push(`${direction}: ${c.name}`);
    if (result.covered > guard.maxCover) problems.push(`${direction}: covered more than maxCover`);
    if ((result.gas.maxBatch * GAS_HEADROOM_PERCENT) / 100n > TX_GAS_CAP)
      problems.push(`${direction}: a batch's gas (${result.gas.maxBatch}) with headroom is over the transaction cap`);
  }
  return {
    index: spec.index,
    scenario: spec.scenario.name,
    seed: spec.scenario.seed,
    longShareAsked: spec.scenario.population.longShare,
    markets: spec.scenario.population.markets,
    backstop: spec.backstop,
    book,
    guard,
    runs,
    ok: problems.length === 0,
    problems,
    seconds: (Date.now() - t0) / 1000,
  };
}

export interface FrontierOptions {
  /** Design gaps to measure (default 15, 20, 25, 35, 50 %). */
  gaps: number[];
  /** The fixed backstop, USD (default $1M). */
  backstopUsd: number;
  /** The book asked at every gap (larger than the guard lets in at the smallest gap). */
  scenario: Scenario;
  batchSize?: number;
}

/** The book the frontier asks for: 400 positions, 70 % long, 2x–10x, $1k–$100k, 70 % ETH / 30 % BTC. */
export const FRONTIER_BOOK: Scenario = validateScenario(
  {
    name: "frontier",
    description: "400 positions, 70 % long, 2x-10x, $1k-$100k log-uniform, 70 % ETH / 30 % BTC",
    seed: 21,
    population: {
      positions: 400,
      longShare: 0.7,
      leverage: { min: 2, max: 10 },
      notionalUsd: { min: 1_000, max: 100_000 },
      markets: { ETH: 0.7, BTC: 0.3 },
    },
    lpCapital: 1.05,
    backstopSizes: [],
    rounds: [{ after: 60 }],
  },
  "frontier",
);

export interface FrontierPoint {
  gap: number;
  /**
   * The guard's frontier for this backstop: maxCover / (gap × (1 + keeper fee ratio) − maintenance), larger
   * side summed over markets.
   */
  bound: bigint;
  /** Guard on at `gap`: the book the guard let in. */
  guarded: {
    positions: number;
    refused: number;
    openInterest: bigint;
    largerSides: bigint;
    totalGapExposure: bigint;
    maxCover: bigint;
  };
  /** Guard off: the whole book, then an actual down gap of `gap` in both markets. */
  actual: { badDebt: bigint; covered: bigint; socialized: bigint; liquidations: number };
  /** Larger side carried per $1 of backstop: the guard's bound, the lab's, and where the actual gap exhausts the cover. */
  perDollar: { bound: number; guarded: number; actual: number | null };
}

export interface Frontier {
  backstop: bigint;
  backstopUsd: number;
  maxCoverRatio: number;
  maintenance: number;
  keeperFeeRatio: number;
  book: { name: string; description: string; positions: number; openInterest: bigint; largerSides: bigint };
  points: FrontierPoint[];
  seconds: number;
}

/**
 * The frontier: a backstop of `backstopUsd`, then for each design gap the same book asked with the guard at
 * that gap (set through the timelock); then the whole book unguarded and an actual down gap of each size in
 * both markets, whose bad debt says at what open interest such a gap would just exhaust the window's cover
 * (cover ratio x larger side / bad debt per $1 of backstop; bad debt scales with the book). Reverts to
 * where it started between the runs; leaves the chain at the last one's end.
 */
export async function runFrontier(
  connection: NetworkConnection,
  sys: StressSystem,
  o: FrontierOptions,
  say: (line: string) => void = () => {},
): Promise<Frontier> {
  const t0 = Date.now();
  const { provider } = connection.ethers;
  const unit = 10n ** BigInt(sys.decimals);
  const backstop = BigInt(o.backstopUsd) * unit;
  await stakeBackstop(connection, sys, backstop);
  const maxCoverRatio = Number(await sys.backstop.maxCoverRatio()) / 1e18;
  const { config } = await sys.lens.getMarket(0); // both markets have the same ratios
  const maintenance = Number(config.maintenanceMarginRatio) / 1e18;
  const keeperFeeRatio = Number(config.keeperFeeRatio) / 1e18;
  let staked: string = await provider.send("evm_snapshot", []);
  const again = async () => {
    await provider.send("evm_revert", [staked]);
    staked = await provider.send("evm_snapshot", []);
  };
  const guarded: FrontierPoint["guarded"][] = [];
  for (const gap of o.gaps) {
    await again();
    await setDesignGaps(sys, wad(gap));
    const book = await openBook(connection, sys, o.scenario, { ordered: true });
    const g = await readGuard(sys);
    guarded.push({
      positions: book.positions,
      refused: book.requestsRefusedByGuard,
      openInterest: book.openInterest,
      largerSides: book.largerSides,
      totalGapExposure: g.totalGapExposure,
      maxCover: g.maxCover,
    });
    say(
      `[frontier] guard at ${pct(gap)}: ${book.positions} of ${book.positionsAsked} executed, larger sides ${usd(book.largerSides, unit)} USD`,
    );
  }
  await again();
  await setDesignGaps(sys, 0n);
  const whole = await openBook(connection, sys, o.scenario, { ordered: true });
  let open: string = await provider.send("evm_snapshot", []);
  const points: FrontierPoint[] = [];
  for (const [i, gap] of o.gaps.entries()) {
    if (i > 0) {
      await provider.send("evm_revert", [open]);
      open = await provider.send("evm_snapshot", []);
    }
    const r = await runScenario(connection, sys, gapScenario(o.scenario, gap, "down"), whole, 0, {
      stake: 0n,
      batchSize: o.batchSize,
    });
    if (r.conservation.some((c) => !c.ok))
      throw new Error(`frontier: conservation failed at an actual ${pct(gap)} gap`);
    const maxCover = guarded[i].maxCover;
    const bound = (maxCover * WAD) / gapShare(wad(gap), wad(maintenance), wad(keeperFeeRatio));
    const perUsd = (x: bigint) => Number(x) / Number(backstop);
    points.push({
      gap,
      bound,
      guarded: guarded[i],
      actual: {
        badDebt: r.badDebt,
        covered: r.covered,
        socialized: r.socialized,
        liquidations: r.liquidations.full + r.liquidations.partial,
      },
      perDollar: {
        bound: perUsd(bound),
        guarded: perUsd(guarded[i].largerSides),
        actual: r.badDebt > 0n ? (maxCoverRatio * Number(whole.largerSides)) / Number(r.badDebt) : null,
      },
    });
    say(`[frontier] unguarded book, actual −${pct(gap)} gap: bad debt ${usd(r.badDebt, unit)} USD`);
  }
  return {
    backstop,
    backstopUsd: o.backstopUsd,
    maxCoverRatio,
    maintenance,
    keeperFeeRatio,
    book: {
      name: o.scenario.name,
      description: o.scenario.description,
      positions: whole.positions,
      openInterest: whole.openInterest,
      largerSides: whole.largerSides,
    },
    points,
    seconds: (Date.now() - t0) / 1000,
  };
}

const pct = (x: number) => `${Math.round(x * 1000) / 10} %`;
const usd = (x: bigint, unit: bigint) => (x / unit).toLocaleString("en-US");
