// Open positions from the engine's events: every position change (an open, a modification, a liquidation) with
// its account, market and new size, in the chain's order. The keeper's liquidation index and the risk report
// both build their set of open positions from here.
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
