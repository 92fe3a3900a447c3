import { formatUnits } from "../chain/deployment.js";
import type { Frontier, GuardedBook } from "./guard.js";
import type { Book, RunResult } from "./run.js";

/** The smallest backstop found (by bisection) at which a scenario socializes nothing. */
export interface Sizing {
  /** Share of open interest, or null when even the largest size tried socializes a loss. */
  share: number | null;
  /** What the stakers lose at that size (collateral units). */
  stakersLose: bigint | null;
  /** The largest share tried that still socialized a loss. */
  failsAt: number | null;
  /** Runs the bisection took beyond the listed sizes. */
  runs: number;
  /** Every size tried: share of OI and what was socialized. */
  curve: { share: number; socialized: bigint; covered: bigint }[];
}

export interface ScenarioReport {
  name: string;
  description: string;
  book: Book;
  runs: RunResult[];
  /** The smallest listed size that socializes nothing, or null. */
  smallestListedSafe: number | null;
  sizing?: Sizing;
  seconds: number;
}

const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)} %`;

/** Right-aligned columns under a header, indented by two spaces. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => "  " + cells.map((c, i) => c.padStart(widths[i])).join("  ");
  return [line(header), ...rows.map(line)];
}

/** A readable table of one scenario's runs, one line per backstop size. */
export function renderScenario(s: ScenarioReport, decimals: number): string {
  const usd = (x: bigint) => formatUnits(x, decimals, 0);
  const price = (x: bigint) => formatUnits(x, decimals, 4);
  const lines = [
    `${s.name}: ${s.description}`,
    `  book: ${s.book.positions} positions, ${pct(s.book.longShare, 0)} long, OI ${usd(s.book.openInterest)} USD, ` +
      `LP capital ${usd(s.book.lpCapital)} USD (${s.seconds.toFixed(1)} s)`,
    `  requests: ${s.book.requestsExecuted} of ${s.book.requestsPaid} paid at the network's gas price executed by the keeper`,
  ];
  const header = [
    "backstop",
    "assets",
    "liq full/part",
    "keeper fees",
    "penalties",
    "bad debt",
    "covered",
    "socialized",
    "limit hits",
    "drawdown",
    "LP share",
    "gas/liq",
    "max batch gas",
    "txs",
  ];
  const rows = s.runs.map((r) => [
    pct(r.backstopShare),
    usd(r.backstopAssetsBefore),
    `${r.liquidations.full}/${r.liquidations.partial}`,
    usd(r.keeperFees),
    usd(r.penalties),
    usd(r.badDebt),
    usd(r.covered),
    usd(r.socialized),
    String(r.coverLimitHits),
    r.backstopAssetsBefore > 0n ? `${pct(Number(r.backstopDrawdown) / Number(r.backstopAssetsBefore))}` : "-",
    `${price(r.lpSharePriceBefore)}→${price(r.lpSharePriceAfter)}`,
    r.gas.perLiquidation.toLocaleString("en-US"),
    `${r.gas.maxBatch.toLocaleString("en-US")} (${r.gas.maxBatchPositions})`,
    String(r.gas.transactions),
  ]);
  lines.push(...table(header, rows));
  lines.push(
    `  smallest listed backstop with nothing socialized: ${s.smallestListedSafe === null ? "none of the listed sizes" : pct(s.smallestListedSafe)}`,
  );
  if (s.sizing) {
    const z = s.sizing;
    lines.push(
      z.share === null
        ? `  sizing: still socializes at ${pct(z.failsAt ?? 0, 2)} of OI (the per-window cover limit binds)`
        : `  sizing (bisection, ${z.runs} more runs): ${pct(z.share, 2)} of OI (${usd((s.book.openInterest * BigInt(Math.round(z.share * 1e6))) / 1_000_000n)} USD) ` +
            `socializes nothing; stakers lose ${usd(z.stakersLose ?? 0n)} USD there` +
            (z.failsAt !== null ? `; ${pct(z.failsAt, 2)} still socializes` : ""),
    );
  }
  const errors = s.runs.map((r) => r.keeperErrors);
  lines.push(
    errors.every((e) => e === 0)
      ? "  keeper: no errors"
      : `  keeper errors per run (oracle refusals while a feed is stale, failed batches): ${errors.join(", ")}`,
  );
  const broken = s.runs.flatMap((r) =>
    r.conservation.filter((c) => !c.ok).map((c) => `${pct(r.backstopShare)}: ${c.name}`),
  );
  lines.push(
    broken.length === 0
      ? "  conservation: holds to the unit in every run"
      : `  CONSERVATION BROKEN: ${broken.join("; ")}`,
  );
  return lines.join("\n");
}

/** JSON with bigints as decimal strings (units of the collateral, 6 decimals). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2);
}

/** The guarded run: one line per book, what the guard let in and what each gap cost. */
export function renderGuardedBooks(books: GuardedBook[], decimals: number, gap: number, seconds: number): string {
  const usd = (x: bigint) => formatUnits(x, decimals, 0);
  const directions = books[0]?.runs.map((r) => r.direction) ?? [];
  const arrow = (d: string) => (d === "down" ? "↓" : "↑");
  const header = [
    "book",
    "long/ETH",
    "backstop",
    "asked",
    "executed",
    "refused",
    "OI asked",
    "OI carried",
    "larger sides",
    "gap exposure",
    "maxCover",
    ...directions.flatMap((d) => [`bad debt ${arrow(d)}`, `covered ${arrow(d)}`, `socialized ${arrow(d)}`]),
    "s",
  ];
  const rows = books.map((b) => [
    String(b.index),
    `${pct(b.longShareAsked, 0)}/${pct(b.markets.ETH ?? 0, 0)}`,
    usd(b.backstop),
    String(b.book.positionsAsked),
    String(b.book.requestsExecuted),
    String(b.book.requestsRefusedByGuard),
    usd(b.book.openInterestAsked),
    usd(b.book.openInterest),
    usd(b.book.largerSides),
    usd(b.guard.totalGapExposure),
    usd(b.guard.maxCover),
    ...b.runs.flatMap((r) => [usd(r.result.badDebt), usd(r.result.covered), usd(r.result.socialized)]),
    b.seconds.toFixed(1),
  ]);
  const sum = (f: (b: GuardedBook) => bigint) => books.reduce((t, b) => t + f(b), 0n);
  const count = (f: (b: GuardedBook) => number) => books.reduce((t, b) => t + f(b), 0);
  const bad = books.filter((b) => !b.ok);
  return [
    `guarded run: ${books.length} random books, the gap guard at ${pct(gap, 0)} in both markets, the backstop staked ` +
      `before the book opens, then a ${pct(gap, 0)} gap of both prices (${directions.join(" and ")}) as one round before any liquidation`,
    ...table(header, rows),
    `  totals: ${count((b) => b.book.requestsExecuted)} of ${count((b) => b.book.positionsAsked)} requests executed, ` +
      `${count((b) => b.book.requestsRefusedByGuard)} refused by the guard (GapCoverExceeded); OI carried ${usd(sum((b) => b.book.openInterest))} ` +
      `of ${usd(sum((b) => b.book.openInterestAsked))} USD asked; bad debt ${directions
        .map((d, i) => `${arrow(d)} ${usd(sum((b) => b.runs[i].result.badDebt))}`)
        .join(", ")}; socialized ${usd(sum((b) => b.runs.reduce((t, r) => t + r.result.socialized, 0n)))}`,
    bad.length === 0
      ? `  every book: socialized 0, covers within maxCover, conservation to the unit (${seconds.toFixed(1)} s with the deployment)`
      : `  FAILED: ${bad.map((b) => `book ${b.index}: ${b.problems.join(", ")}`).join("; ")}`,
  ].join("\n");
}

/** The frontier: per design gap, the guard's bound, what the lab let in, and what an actual gap costs. */
export function renderFrontier(f: Frontier, decimals: number): string {
  const usd = (x: bigint) => formatUnits(x, decimals, 0);
  const header = [
    "design gap",
    "bound (larger sides)",
    "carried (larger sides)",
    "of bound",
    "OI carried",
    "executed",
    "refused",
    "gap exposure",
    "maxCover",
    "actual gap: bad debt",
    "% of larger sides",
    "per $1: bound",
    "lab",
    "actual gap exhausts cover",
  ];
  const rows = f.points.map((p) => [
    pct(p.gap, 0),
    usd(p.bound),
    usd(p.guarded.largerSides),
    pct(Number(p.guarded.largerSides) / Number(p.bound)),
    usd(p.guarded.openInterest),
    String(p.guarded.positions),
    String(p.guarded.refused),
    usd(p.guarded.totalGapExposure),
    usd(p.guarded.maxCover),
    usd(p.actual.badDebt),
    pct(Number(p.actual.badDebt) / Number(f.book.largerSides), 2),
    p.perDollar.bound.toFixed(2),
    p.perDollar.guarded.toFixed(2),
    p.perDollar.actual === null ? "-" : p.perDollar.actual.toFixed(2),
  ]);
  return [
    `frontier: a backstop of ${usd(f.backstop)} USD (window cover ${pct(f.maxCoverRatio, 0)} of it), the book "${f.book.name}" ` +
      `(${f.book.description}; ${usd(f.book.openInterest)} USD of OI, larger sides ${usd(f.book.largerSides)}) asked at each design gap`,
    ...table(header, rows),
    `  bound = maxCover / (gap x (1 + ${pct(f.keeperFeeRatio)} keeper fee) − ${pct(f.maintenance, 0)} maintenance); "actual gap exhausts cover" = ${pct(f.maxCoverRatio, 0)} x larger sides / ` +
      `bad debt of the whole book (guard off) at a down gap of that size in both markets (${f.seconds.toFixed(1)} s)`,
  ].join("\n");
}
