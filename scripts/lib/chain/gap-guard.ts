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
