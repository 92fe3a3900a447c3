// The guarded run's report (npm run stress -- --guard): the books the guard let in and what a gap then did,
// and the frontier, as text tables.
import { formatUnits } from "../chain/deployment.js";
import type { Frontier, GuardedBook } from "./guard.js";
import { pct, table } from "./report.js";

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
