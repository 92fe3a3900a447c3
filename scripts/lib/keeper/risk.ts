// A keeper duty that sends nothing: with `--risk G`, at each block, the bad debt the open positions would leave
// if every market's price jumped G % (down or up, the worse) before any liquidation, beside what the backstop
// can still cover in its window; a warning when it cannot cover it.
import { decimal } from "../chain/format.js";
import { worseGap } from "../chain/positions.js";
import type { KeeperContext } from "./context.js";

const WAD = 10n ** 18n;

export interface RiskReading {
  /** The gap, an 18-decimal fraction. */
  gap: bigint;
  shortfall: bigint;
  /** What the backstop can cover in its window now (`maxCover`). */
  capacity: bigint;
}

/** Reads and logs the risk line for the open positions the keeper indexes; undefined (logged) when a read fails. */
export async function readRisk(
  ctx: KeeperContext,
  open: Iterable<{ account: string; marketId: bigint }>,
  gap: bigint,
): Promise<RiskReading | undefined> {
  const book = new Map<bigint, string[]>();
  for (const { account, marketId } of open) book.set(marketId, [...(book.get(marketId) ?? []), account]);
  try {
    const [worse, capacity] = await Promise.all([worseGap(ctx.d, book, gap), ctx.d.backstop.maxCover()]);
    const line =
      `risk: a ${decimal(gap * 100n, 18, 0, 2)} % gap would leave ${ctx.fmt(worse.total)} of bad debt; ` +
      `the backstop can cover ${ctx.fmt(capacity)} in its window now`;
    if (worse.total > capacity) {
      ctx.log(`warning: ${line}: coverage ${decimal((capacity * WAD) / worse.total, 18, 2, 2)}, below 1`);
    } else ctx.log(line);
    return { gap, shortfall: worse.total, capacity };
  } catch (error) {
    ctx.log(`risk reading failed, will retry next block: ${ctx.why(error)}`);
    return undefined;
  }
}
