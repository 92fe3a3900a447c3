// The order book's gap guard as the chain computes it (OrderBook._exposure; docs/ARCHITECTURE.md, "The gap
// guard"): a guarded market's bound on what a move of its design gap could leave unpaid is its larger side's
// notional times (gap x (1 + keeper fee ratio) - maintenance ratio), each product rounded up. The trader's
// checks use it to refuse at the prompt what the book would cancel; the keeper, to refresh a stale bound.

const WAD = 10n ** 18n;
const divUp = (x: bigint, d: bigint) => (x + d - 1n) / d;

export interface GapTerms {
  longSize: bigint;
  shortSize: bigint;
  maintenanceMarginRatio: bigint;
  keeperFeeRatio: bigint;
}

/**
 * The bound of a market with `terms` at `price` (18 decimals) and a design gap of `gap`, in collateral units of
 * `decimals`; zero when the gap is too small to leave bad debt.
 */
export function gapBound(terms: GapTerms, gap: bigint, price: bigint, decimals: number): bigint {
  const share = divUp(gap * (WAD + terms.keeperFeeRatio), WAD);
  const larger = terms.longSize > terms.shortSize ? terms.longSize : terms.shortSize;
  if (larger === 0n || share <= terms.maintenanceMarginRatio) return 0n;
  const notional = divUp(larger * price, WAD * 10n ** BigInt(18 - decimals));
  return divUp(notional * (share - terms.maintenanceMarginRatio), WAD);
}
