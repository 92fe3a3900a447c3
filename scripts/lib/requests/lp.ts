// LP requests off chain: while any market has positions the vault takes deposits and redemptions only by
// request (`requestDeposit` / `requestRedeem`), executed by anyone at, for each market with positions, the
// first round of its feed at or after the request's `notBefore` (found by `RoundFinder`, the one piece of
// code that finds execution rounds). Shared by the LP tools, the keeper, the demo and the bench.
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { ToolSigner } from "../chain/cli.js";
import type { Deployment } from "../chain/deployment.js";
import { MarketFeeds, RoundFinder } from "./rounds.js";

/** An LP's pending request, as `lpRequest(owner)` returns it (amount 0: none). */
export interface LpRequest {
  owner: string;
  amount: bigint;
  notBefore: bigint;
  expiresAt: bigint;
  redeem: boolean;
  /** Collateral units, paid to the executor (escrowed beside the amount). */
  executionFee: bigint;
}

type D = Pick<Deployment, "vault" | "engine" | "lens">;

/** `owner`'s pending LP request, or undefined. */
export async function readLpRequest(d: Pick<Deployment, "vault">, owner: string): Promise<LpRequest | undefined> {
  const r = await d.vault.lpRequest(owner);
  if (r.amount === 0n) return undefined;
  return {
    owner,
    amount: r.amount,
    notBefore: BigInt(r.notBefore),
    expiresAt: BigInt(r.expiresAt),
    redeem: r.redeem,
    executionFee: r.executionFee,
  };
}

/**
 * Each market's state as the vault sees it: `open` when it has positions (then one-transaction deposits and
 * withdrawals are closed), `settled` when it needs no round (its settlement price marks it).
 */
export async function marketStates(d: D): Promise<{ open: boolean; settled: boolean }[]> {
  const count = Number(await d.engine.marketCount());
  return Promise.all(
    Array.from({ length: count }, async (_, id) => {
      const m = await d.lens.getMarket(id);
      return { open: m.longSize !== 0n || m.shortSize !== 0n, settled: m.settlementPrice !== 0n };
    }),
  );
}

/** Whether any market has positions: then the vault takes LP deposits and withdrawals only by request. */
export async function anyPositions(d: D): Promise<boolean> {
  return (await marketStates(d)).some((m) => m.open);
}

/**
 * The `roundIds` for `executeRequest` of a request with `notBefore`: for each market with positions (and not
 * settled) the first round of its feed at or after `notBefore`, 0 for the others; undefined while one of
 * those markets has no such round yet.
 */
export async function lpRoundIds(
  ethers: HardhatEthers,
  d: D,
  notBefore: bigint,
  finder = new RoundFinder(ethers.provider),
  feeds = new MarketFeeds(ethers, d),
): Promise<bigint[] | undefined> {
  const states = await marketStates(d);
  const ids = await Promise.all(
    states.map(async (m, id) => (m.open && !m.settled ? finder.first(await feeds.feedOf(BigInt(id)), notBefore) : 0n)),
  );
  return ids.some((x) => x === undefined) ? undefined : (ids as bigint[]);
}

/** Owners with an `LpRequested` event since `fromBlock` whose request is still pending (oldest first). */
export async function pendingLpRequests(d: Pick<Deployment, "vault">, fromBlock = 0): Promise<LpRequest[]> {
  const events = await d.vault.queryFilter(d.vault.filters.LpRequested(), fromBlock);
  const owners = [...new Set(events.map((e) => e.args.owner))];
  const found = await Promise.all(owners.map((o) => readLpRequest(d, o)));
  return found.filter((r): r is LpRequest => r !== undefined).sort((a, b) => Number(a.notBefore - b.notBefore));
}

/**
 * Executes `owner`'s LP request from `signer` at its rounds (the demo's and the bench's path; the tools and
 * the keeper check more first). Returns the receipt, or undefined while its rounds have not come.
 */
export async function executeLpRequest(ethers: HardhatEthers, d: D, signer: ToolSigner, owner: string) {
  const r = await readLpRequest(d, owner);
  if (!r) return undefined;
  const rounds = await lpRoundIds(ethers, d, r.notBefore);
  if (!rounds) return undefined;
  return (await d.vault.connect(signer).executeRequest(owner, rounds)).wait();
}
