// LP requests off chain: the vault takes deposits and redemptions only by ERC-7540 request (`requestDeposit` /
// `requestRedeem` and their `...WithLimit` forms), executed by the book's executors at, for each market with
// positions, the first round of its feed at or after the request's `notBefore` (found by `RoundFinder`, the one piece of
// code that finds execution rounds). Shared by the LP tools, the keeper, the demo and the bench.
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { ToolSigner } from "../chain/cli.js";
import { MaxUint256 } from "ethers";
import type { Deployment } from "../chain/deployment.js";
import { MarketFeeds, RoundFinder } from "./rounds.js";

/** An LP's pending request, as `lpRequest(controller)` returns it (amount 0: none); `owner` is its controller. */
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
 * Each market's state as the vault sees it: `open` when it has positions (then a request needs its round),
 * `settled` when it needs no round (its settlement price marks it).
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

/** Whether any market has positions: then an LP request waits for a round of each such market. */
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
  const owners = [...new Set(events.map((e) => e.args.controller))];
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

/**
 * Seeds the pool before trading starts (the demo, the playground, the stress lab): `lp` deposits `assets` the
 * ERC-7540 way in one go, with no bound and the order book's minimum fee (the LP must hold both), `executor` (an
 * executor of the book) executes it at once, since with no position open there is no round to wait for, and the
 * LP claims all its shares. Returns the shares.
 */
export async function seedLpDeposit(
  d: D & Pick<Deployment, "addresses" | "collateral">,
  lp: ToolSigner,
  executor: ToolSigner,
  assets: bigint,
): Promise<bigint> {
  if (await anyPositions(d)) throw new Error("seedLpDeposit seeds an empty pool: markets have positions");
  await (await d.collateral.connect(lp).approve(d.addresses.vault, MaxUint256)).wait();
  await (await d.vault.connect(lp).requestDeposit(assets, lp.address, lp.address)).wait();
  const zeros = Array.from({ length: Number(await d.engine.marketCount()) }, () => 0n);
  await (await d.vault.connect(executor).executeRequest(lp.address, zeros)).wait();
  const { shares } = await d.vault.lpDeposit(lp.address);
  await (await d.vault.connect(lp)["mint(uint256,address)"](shares, lp.address)).wait();
  return shares;
}
