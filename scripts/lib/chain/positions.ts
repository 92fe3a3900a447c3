// Open positions from the engine's events: every position change (an open, a modification, a liquidation) with
// its account, market and new size, in the chain's order; and what a set of open positions would leave as bad
// debt in a gap (the lens's `gapShortfall`, paged). The keeper's liquidation index and its risk line, and the
// risk report, all read positions from here.
import type { Deployment } from "./deployment.js";

export interface PositionChange {
  account: string;
  marketId: bigint;
  /** The position's size after the change: 0 when it is gone. */
  size: bigint;
}

/** The engine's PositionModified and PositionLiquidated events in `from`..`to`. */
export function positionEvents(d: Pick<Deployment, "engine">, from: number, to: number) {
  return Promise.all([
    d.engine.queryFilter(d.engine.filters.PositionModified(), from, to),
    d.engine.queryFilter(d.engine.filters.PositionLiquidated(), from, to),
  ]);
}

export type PositionEvents = Awaited<ReturnType<typeof positionEvents>>;

/** Each change the events record, in the chain's order (block, then log index). */
export function positionChanges([modified, liquidated]: PositionEvents): PositionChange[] {
  return [
    ...modified.map((e) => ({ e, account: e.args.account, marketId: e.args.marketId, size: e.args.size })),
    ...liquidated.map((e) => ({ e, account: e.args.account, marketId: e.args.marketId, size: e.args.remainingSize })),
  ]
    .sort((a, b) => a.e.blockNumber - b.e.blockNumber || a.e.index - b.e.index)
    .map(({ account, marketId, size }) => ({ account, marketId, size }));
}

/**
 * The accounts with an open position in each market at block `to`, from the events since `from` (the deployment's
 * block), read `step` blocks at a time.
 */
export async function openPositions(d: Pick<Deployment, "engine">, from: number, to: number, step = 50_000) {
  const open = new Map<bigint, Set<string>>();
  for (let start = from; start <= to; start += step) {
    const changes = positionChanges(await positionEvents(d, start, Math.min(to, start + step - 1)));
    for (const { account, marketId, size } of changes) {
      const accounts = open.get(marketId) ?? new Set<string>();
      if (size === 0n) accounts.delete(account);
      else accounts.add(account);
      open.set(marketId, accounts);
    }
  }
  return new Map([...open].map(([id, accounts]) => [id, [...accounts]]));
}

/** The bad debt and liquidatable positions of one market's accounts at a move. */
export interface MarketShortfall {
  badDebt: bigint;
  liquidatable: bigint;
}

/**
 * What `book` (accounts with a position, by market) would leave as bad debt if every market's price moved by
 * `move` (a signed fraction, 18 decimals) before any liquidation, per market and in total, asking the lens for
 * `page` accounts at a time.
 */
export async function bookShortfall(
  d: Pick<Deployment, "lens">,
  book: Map<bigint, string[]>,
  move: bigint,
  page = 200,
) {
  const perMarket = new Map<bigint, MarketShortfall>();
  let total = 0n;
  for (const [marketId, accounts] of book) {
    const market: MarketShortfall = { badDebt: 0n, liquidatable: 0n };
    for (let i = 0; i < accounts.length; i += page) {
      const g = await d.lens.gapShortfall(marketId, move, accounts.slice(i, i + page));
      market.badDebt += g.badDebt;
      market.liquidatable += g.liquidatable;
    }
    perMarket.set(marketId, market);
    total += market.badDebt;
  }
  return { perMarket, total };
}

/** The worse, for the backstop, of every market gapping down by `gap` or every market gapping up by it. */
export async function worseGap(d: Pick<Deployment, "lens">, book: Map<bigint, string[]>, gap: bigint, page = 200) {
  const [down, up] = await Promise.all([bookShortfall(d, book, -gap, page), bookShortfall(d, book, gap, page)]);
  return { down, up, total: down.total > up.total ? down.total : up.total };
}
