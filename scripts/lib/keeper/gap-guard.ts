// The keeper's gap-guard duty: the order book stores each guarded market's bound as its last execution or
// refresh computed it (docs/ARCHITECTURE.md, "The gap guard"). The guard does not depend on it (before it checks
// an open the book brings every other guarded market's bound to its price now), but `gapExposure`, `risk` and
// the trader's check read the stored bounds. At each block the keeper recomputes each guarded market's bound at
// the price now and refreshes it on chain (`refreshGapExposure`) when the stored one is below it, or above it by
// more than `GAP_TOLERANCE`. It pays that gas and earns nothing, as for an expired request.
import { gapBound } from "../chain/gap-guard.js";
import type { KeeperContext } from "./context.js";
import { GAS_HEADROOM_PERCENT } from "./gas.js";

const WAD = 10n ** 18n;
/** A stored bound above the one at the price now by at most this fraction is left as it is (1 %). */
export const GAP_TOLERANCE = WAD / 100n;

/** Refreshes the guarded markets' stale bounds; returns how many were refreshed and how many reads or sends failed. */
export async function refreshGapBounds(ctx: KeeperContext) {
  let refreshed = 0;
  let errors = 0;
  const { d } = ctx;
  const count = await d.engine.marketCount();
  for (let marketId = 0n; marketId < count; marketId++) {
    try {
      const gap = await d.orderBook.designGap(marketId);
      if (gap === 0n) continue;
      const [m, stored] = await Promise.all([d.lens.getMarket(marketId), d.orderBook.gapExposure(marketId)]);
      if (m.settlementPrice !== 0n) continue; // a settled market's bound goes to zero at its next refresh anyway
      const price = await d.engine.marketPrice(marketId);
      const now = gapBound(
        {
          longSize: m.longSize,
          shortSize: m.shortSize,
          maintenanceMarginRatio: m.config.maintenanceMarginRatio,
          keeperFeeRatio: m.config.keeperFeeRatio,
        },
        gap,
        price,
        d.decimals,
      );
      if (stored >= now && (stored - now) * WAD <= now * GAP_TOLERANCE) continue;
      const what = `market ${marketId}'s gap bound from ${ctx.fmt(stored)} to ${ctx.fmt(now)}`;
      if (ctx.options.dryRun) {
        ctx.log(`dry run: would refresh ${what}`);
        continue;
      }
      const book = d.orderBook.connect(ctx.signer);
      const gas = await book.refreshGapExposure.estimateGas(marketId);
      const tx = await book.refreshGapExposure(marketId, { gasLimit: (gas * GAS_HEADROOM_PERCENT) / 100n });
      const receipt = await tx.wait();
      refreshed++;
      ctx.log(`refreshed ${what}, tx ${tx.hash} gas ${receipt?.gasUsed}`);
    } catch (error) {
      errors++;
      ctx.log(`gap bound of market ${marketId}: ${ctx.why(error)}`);
    }
  }
  return { refreshed, errors };
}
