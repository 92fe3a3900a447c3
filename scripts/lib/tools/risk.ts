// The operator's risk report: is the backstop enough for the book, now? For each gap it asks the lens what the
// live positions would leave as bad debt if every market's price jumped there before any liquidation
// (`PerpLens.gapShortfall`, paged), and sets it beside what the backstop can still cover in its window.
import type { CommonArgs, Tool, ToolContext } from "../chain/cli.js";
import { integerOption } from "../chain/cli.js";
import { deploymentBlock } from "../chain/deployment.js";
import { ToolError } from "../chain/errors.js";
import { decimal } from "../chain/format.js";
import { parseDecimal } from "../chain/numbers.js";
import { openPositions, worseGap } from "../chain/positions.js";
import { t } from "./common.js";
import { guardedBounds } from "../chain/gap-guard.js";

const WAD = 10n ** 18n;

export type RiskArgs = CommonArgs & { gap?: string; page?: string | number; fromBlock?: string | number };

/** The gaps in percent, "20,35,50" -> [0.2e18, 0.35e18, 0.5e18]: each above 0 and below 100. */
function parseGaps(text: string | undefined): bigint[] {
  const gaps = (text ?? "20,35,50").split(",").map((g) => parseDecimal(g, 16, "--gap", { code: "BadGap" }));
  for (const g of gaps) {
    if (g === 0n || g >= WAD) {
      throw new ToolError(
        "BadGap",
        `--gap takes percents above 0 and below 100 (e.g. 20,35,50); got ${decimal(g * 100n, 18)}`,
      );
    }
  }
  return gaps;
}

/** The largest whole percent gap (1 to 99) whose worse shortfall the capacity covers, by bisection (0: none). */
async function largestCovered(ctx: ToolContext, book: Map<bigint, string[]>, capacity: bigint, page: number) {
  let [lo, hi] = [0, 100]; // covered at lo (0 % always is), not known at hi
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if ((await worseGap(ctx.d, book, (BigInt(mid) * WAD) / 100n, page)).total <= capacity) lo = mid;
    else hi = mid;
  }
  return lo;
}

export const risk: Tool<RiskArgs> = {
  async run(ctx, args) {
    const { d, units, ethers } = ctx;
    const gaps = parseGaps(args.gap);
    const page = integerOption(args.page, "page", { min: 1, max: 5_000, fallback: 200 });
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const from = integerOption(args.fromBlock, "fromBlock", { fallback: (await deploymentBlock(chainId)) ?? 0 });
    const head = await ethers.provider.getBlockNumber();
    const book = await openPositions(d, from, head);
    const capacity = await d.backstop.maxCover();
    const lines: string[] = [];
    const markets = [];
    for (const [marketId, accounts] of book) {
      const g = await d.lens.gapShortfall(marketId, 0n, []);
      let openInterest = 0n;
      for (let i = 0; i < accounts.length; i += page) {
        openInterest += (await d.lens.gapShortfall(marketId, 0n, accounts.slice(i, i + page))).openInterest;
      }
      markets.push({ marketId, positions: accounts.length, openInterest, price: g.price });
      lines.push(`Market ${marketId}: ${accounts.length} positions, open interest ${t(ctx, openInterest)}`);
    }
    const atGaps = [];
    for (const gap of gaps) {
      const w = await worseGap(ctx.d, book, gap, page);
      const pct = decimal(gap * 100n, 18, 0, 2);
      for (const [marketId] of book) {
        const [down, up] = [w.down.perMarket.get(marketId)!, w.up.perMarket.get(marketId)!];
        lines.push(
          `  gap ${pct} %, market ${marketId}: down ${t(ctx, down.badDebt)} (${down.liquidatable} liquidatable), ` +
            `up ${t(ctx, up.badDebt)} (${up.liquidatable} liquidatable)`,
        );
      }
      const coverage = w.total === 0n ? undefined : (capacity * WAD) / w.total;
      lines.push(
        `Gap ${pct} %: shortfall ${t(ctx, w.total)} (the worse of every market down or up), ` +
          `coverage ${coverage === undefined ? "full (no shortfall)" : decimal(coverage, 18, 2, 2)}`,
      );
      atGaps.push({ gap, down: w.down.total, up: w.up.total, shortfall: w.total, coverage: coverage ?? null });
    }
    // The order book's gap guard: each guarded market's bound at its design gap and its price now (as the book
    // values the other markets before it checks an open), and their sum against the same capacity (new risk that
    // would take the sum past it is cancelled).
    const guarded = (await guardedBounds(d)).map((b) => ({
      marketId: b.marketId,
      designGap: b.designGap,
      bound: b.now,
    }));
    const guardTotal = guarded.reduce((sum, g) => sum + g.bound, 0n);
    lines.push(
      guarded.length === 0
        ? "Gap guard: off in every market"
        : `Gap guard: ${guarded.map((g) => `market ${g.marketId} at ${decimal(g.designGap * 100n, 18, 0, 2)} % bounds ${t(ctx, g.bound)}`).join(", ")}; ` +
            `${t(ctx, guardTotal)} in all, against ${t(ctx, capacity)} (new risk past it is refused)`,
    );
    const covered = await largestCovered(ctx, book, capacity, page);
    lines.push(`Backstop: can cover ${t(ctx, capacity)} in its window now (maxCover)`);
    lines.push(
      covered === 99
        ? "Largest gap fully covered: 99 % (every gap the report tries)"
        : `Largest gap fully covered: ${covered} % (at ${covered + 1} % the shortfall exceeds what the backstop can cover)`,
    );
    return {
      lines,
      data: {
        block: head,
        coverCapacity: capacity,
        markets,
        gaps: atGaps,
        largestCoveredGapPercent: covered,
        guard: { markets: guarded, total: guardTotal },
      },
    };
  },
};
