// The order book's gap guard as the chain computes it (OrderBook._exposure; docs/ARCHITECTURE.md, "The gap
// guard"): a guarded market's bound on what a move of its design gap could leave unpaid is its larger side's
// notional times (gap x (1 + keeper fee ratio) - maintenance ratio), each product rounded up. The trader's
// checks use it to refuse at the prompt what the book would cancel, and `risk` to show each bound at the price now.
import type { Deployment } from "./deployment.js";

const WAD = 10n ** 18n;
const divUp = (x: bigint, d: bigint) => (x + d - 1n) / d;

export interface GapTerms {
  longSize: bigint;
  shortSize: bigint;
  maintenanceMarginRatio: bigint;
  keeperFeeRatio: bigint;
}

/** The share of its larger side's notional a market's bound counts at a gap of `gap`: gap x (1 + keeper fee
 * ratio) - maintenance ratio, the product rounded up; zero when the gap is too small to leave bad debt. */
export function gapShare(gap: bigint, maintenanceMarginRatio: bigint, keeperFeeRatio: bigint): bigint {
  const share = divUp(gap * (WAD + keeperFeeRatio), WAD);
  return share > maintenanceMarginRatio ? share - maintenanceMarginRatio : 0n;
}

/**
 * The bound of a market with `terms` at `price` (18 decimals) and a design gap of `gap`, in collateral units of
 * `decimals`; zero when the gap is too small to leave bad debt.
 */
export function gapBound(terms: GapTerms, gap: bigint, price: bigint, decimals: number): bigint {
  const share = gapShare(gap, terms.maintenanceMarginRatio, terms.keeperFeeRatio);
  const larger = terms.longSize > terms.shortSize ? terms.longSize : terms.shortSize;
  if (larger === 0n || share === 0n) return 0n;
  const notional = divUp(larger * price, WAD * 10n ** BigInt(18 - decimals));
  return divUp(notional * share, WAD);
}

/** A guarded market's bound as the book stores it (`gapExposure`) and at the market's price now. */
export interface GuardedBound {
  marketId: bigint;
  designGap: bigint;
  stored: bigint;
  now: bigint;
}

/**
 * Every guarded market's bound at its price now, as the book brings the other markets' bounds before it checks
 * an open (OrderBook._refreshOtherBounds): a market whose price cannot be read now, or a settled one, counts with
 * its stored bound.
 */
export async function guardedBounds(d: Pick<Deployment, "engine" | "lens" | "orderBook" | "decimals">) {
  const bounds: GuardedBound[] = [];
  const count = await d.engine.marketCount();
  for (let marketId = 0n; marketId < count; marketId++) {
    const designGap = await d.orderBook.designGap(marketId);
    if (designGap === 0n) continue;
    const [m, stored] = await Promise.all([d.lens.getMarket(marketId), d.orderBook.gapExposure(marketId)]);
    let now = stored;
    if (m.settlementPrice === 0n) {
      try {
        const price = await d.engine.marketPrice(marketId);
        now = gapBound(
          {
            longSize: m.longSize,
            shortSize: m.shortSize,
            maintenanceMarginRatio: m.config.maintenanceMarginRatio,
            keeperFeeRatio: m.config.keeperFeeRatio,
          },
          designGap,
          price,
          d.decimals,
        );
      } catch {
        // The oracle refuses a price: the book, too, counts the stored bound.
      }
    }
    bounds.push({ marketId, designGap, stored, now });
  }
  return bounds;
}
