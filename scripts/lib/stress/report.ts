import { formatUnits } from "../chain/deployment.js";
import type { Book } from "./book.js";
import type { RunResult } from "./run.js";

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

export const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)} %`;

/** Right-aligned columns under a header, indented by two spaces. */
export function table(header: string[], rows: string[][]): string[] {
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
