// What the engine would refuse when a keeper executes a request, checked at the price now before the request
// is sent: the book takes a request that breaks a market's rules, escrows it, and at execution cancels it
// and keeps its execution fee. Each refusal names the rule and the numbers; the execution price may still
// differ from the price now by the time the round comes, so a request that passes here can still fail.
import type { ToolContext } from "../chain/cli.js";
import { ToolError } from "../chain/errors.js";
import { decimal, percent, tokens, usd } from "../chain/format.js";
import { gapBound, guardedBounds } from "../chain/gap-guard.js";
import { OrderKind, isBuy, tradingFee } from "../requests/orders.js";

const WAD = 10n ** 18n;

export interface PlannedRequest {
  account: string;
  marketId: bigint;
  kind: number;
  /** The signed size traded (open, increase, reduce), 18 decimals; the position's sign for the others. */
  size: bigint;
  /** Collateral escrowed (open, increase) or margin removed (remove-margin). */
  amount: bigint;
  acceptablePrice: bigint;
  /** The oracle's price now, 18 decimals. */
  price: bigint;
}

const refuse = (code: string, message: string) => {
  throw new ToolError(code, message);
};

/** "51x" with up to two decimals. */
const times = (wad: bigint) => `${decimal(wad, 18, 0, 2)}x`;

/** Refuses a request the engine (or its price bound) would refuse at `r.price`. */
export async function checkRequest(ctx: Pick<ToolContext, "d" | "units">, r: PlannedRequest): Promise<void> {
  checkAcceptablePrice(r);
  const { d, units } = ctx;
  const t = (x: bigint) => tokens(units, x);
  const m = await d.lens.getMarket(r.marketId);
  const c = m.config;
  const den = WAD * 10n ** BigInt(18 - d.decimals); // base units x USD price -> collateral units
  const notionalOf = (abs: bigint) => (abs * r.price + den - 1n) / den;
  const abs = (x: bigint) => (x < 0n ? -x : x);
  const imr = BigInt(c.initialMarginRatio);
  const maxLeverage = (WAD * WAD) / imr;

  if (r.kind === OrderKind.Open || r.kind === OrderKind.Increase) {
    const health = r.kind === OrderKind.Open ? undefined : await d.lens.positionHealth(r.account, r.marketId);
    const held = health ? abs(BigInt(health.size)) : 0n;
    const traded = abs(r.size);
    const fee = tradingFee(traded, r.price, BigInt(c.tradingFeeRatio), d.decimals);
    const margin = (health ? BigInt(health.margin) - BigInt(health.funding) : 0n) + r.amount - fee;
    const equity = (health ? BigInt(health.equity) : 0n) + r.amount - fee;
    if (margin < 0n || equity <= 0n) {
      refuse(
        "InsufficientInitialMargin",
        `--amount ${t(r.amount)} does not cover the trading fee of ${t(fee)}: the engine would refuse it`,
      );
    }
    if (margin < BigInt(c.minMargin)) {
      refuse(
        "MarginBelowMinimum",
        `margin ${t(margin)} (--amount less the trading fee ${t(fee)}) is below the market's minimum ${t(BigInt(c.minMargin))}`,
      );
    }
    const usdNotional = ((held + traded) * r.price) / WAD;
    if (usdNotional < BigInt(c.minNotional)) {
      refuse(
        "NotionalBelowMinimum",
        `notional ${usd(usdNotional)} (--size at ${usd(r.price)}) is below the market's minimum ${usd(BigInt(c.minNotional))}`,
      );
    }
    const openInterest = BigInt(r.size > 0n ? m.longSize : m.shortSize) + traded;
    if (openInterest > BigInt(c.maxOpenInterest)) {
      refuse(
        "OpenInterestCapExceeded",
        `open interest on the ${r.size > 0n ? "long" : "short"} side would be ${decimal(openInterest, 18, 0, 6)}, above the market's cap ${decimal(BigInt(c.maxOpenInterest), 18, 0, 6)} (base units)`,
      );
    }
    await checkGapGuard(ctx, r, m);
    const notional = notionalOf(held + traded);
    const initialMargin = (notional * imr + WAD - 1n) / WAD;
    if (equity < initialMargin) {
      refuse(
        "InsufficientInitialMargin",
        `leverage ${times((notional * WAD) / equity)} (notional ${t(notional)} on equity ${t(equity)}) is above the market's maximum ${times(maxLeverage)} (initial margin ${percent(imr)}): add --amount or lower --size`,
      );
    }
  } else if (r.kind === OrderKind.Reduce) {
    const health = await d.lens.positionHealth(r.account, r.marketId);
    const remaining = ((abs(BigInt(health.size)) - abs(r.size)) * r.price) / WAD;
    if (remaining < BigInt(c.minNotional)) {
      refuse(
        "NotionalBelowMinimum",
        `the reduce would leave ${usd(remaining)} of notional, below the market's minimum ${usd(BigInt(c.minNotional))}: use --kind close`,
      );
    }
  } else if (r.kind === OrderKind.RemoveMargin) {
    const health = await d.lens.positionHealth(r.account, r.marketId);
    const margin = BigInt(health.margin) - BigInt(health.funding) - r.amount;
    if (margin < BigInt(c.minMargin)) {
      refuse(
        "MarginBelowMinimum",
        `removing ${t(r.amount)} would leave a margin of ${t(margin)}, below the market's minimum ${t(BigInt(c.minMargin))}`,
      );
    }
    // Unrealized profit counts as zero when margin is removed.
    const pnl = BigInt(health.pnl);
    const equity = margin + (pnl < 0n ? pnl : 0n);
    const notional = notionalOf(abs(BigInt(health.size)));
    const initialMargin = (notional * imr + WAD - 1n) / WAD;
    if (equity < initialMargin) {
      refuse(
        "InsufficientInitialMargin",
        `removing ${t(r.amount)} would leave equity ${t(equity)} below the initial margin ${t(initialMargin)} (${percent(imr)} of ${t(notional)}; at most ${times(maxLeverage)})`,
      );
    }
  }
}

/**
 * The order book's gap guard (docs/ARCHITECTURE.md, "The gap guard"): an Open or Increase that raises its
 * guarded market's bound (larger side's notional x (gap x (1 + keeper fee ratio) - maintenance)) past what the
 * backstop can still cover, summed over the guarded markets, would be cancelled at execution.
 */
async function checkGapGuard(
  ctx: Pick<ToolContext, "d" | "units">,
  r: PlannedRequest,
  m: Awaited<ReturnType<ToolContext["d"]["lens"]["getMarket"]>>,
) {
  const { d, units } = ctx;
  const gap = BigInt(await d.orderBook.designGap(r.marketId));
  if (gap === 0n) return;
  const traded = r.size < 0n ? -r.size : r.size;
  const terms = {
    longSize: BigInt(m.longSize) + (r.size > 0n ? traded : 0n),
    shortSize: BigInt(m.shortSize) + (r.size < 0n ? traded : 0n),
    maintenanceMarginRatio: BigInt(m.config.maintenanceMarginRatio),
    keeperFeeRatio: BigInt(m.config.keeperFeeRatio),
  };
  const bound = gapBound(terms, gap, r.price, d.decimals);
  const before = BigInt(await d.orderBook.gapExposure(r.marketId));
  if (bound <= before) return;
  // As the book checks it: the other guarded markets at their prices now, this one with the trade.
  const others = (await guardedBounds(d)).filter((b) => b.marketId !== r.marketId);
  const total = others.reduce((sum, b) => sum + b.now, bound);
  const capacity = BigInt(await d.backstop.maxCover());
  if (total <= capacity) return;
  refuse(
    "GapCoverExceeded",
    `the gap guard: with this trade a ${percent(gap)} move could leave ${tokens(units, total)} unpaid over the ` +
      `guarded markets, above the ${tokens(units, capacity)} the backstop can still cover in its window: lower --size`,
  );
}

/**
 * A buy executes at or below its acceptable price, a sell at or above: a bound on the wrong side of the price
 * now is refused at execution unless the price moves past it before the round.
 */
export function checkAcceptablePrice(r: Pick<PlannedRequest, "kind" | "size" | "acceptablePrice" | "price">) {
  const buy = isBuy(r.kind, r.size);
  const bound = r.acceptablePrice;
  if (buy ? bound >= r.price : bound <= r.price) return;
  const gap = ((bound > r.price ? bound - r.price : r.price - bound) * WAD) / r.price;
  refuse(
    "PriceNotAcceptable",
    `--acceptable-price ${usd(bound)} is ${percent(gap)} ${buy ? "below" : "above"} the price now ${usd(r.price)}: ` +
      `${buy ? "a buy" : "a sell"} executes only at ${buy ? "<=" : ">="} it, so the keeper would cancel the request and keep its fee`,
  );
}
