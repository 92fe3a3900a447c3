// Two-step orders off chain: the request kinds, the acceptable price a slippage allows, and the round a
// request executes at (the first round of its market's feed updated at or after `createdAt + minDelay`).
// Shared by the keeper, the trader tools, the demo, the bench and the stress lab.
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { Contract, type Provider } from "ethers";
import type { Deployment } from "./deployment.js";
import { ToolError } from "./errors.js";
import { mapLimit } from "./keeper.js";

/** OrderKind in IOrderBook.sol, by the name the tools take. */
export const ORDER_KINDS = ["open", "increase", "reduce", "close", "remove-margin"] as const;
export type OrderKindName = (typeof ORDER_KINDS)[number];
export const OrderKind = { Open: 0, Increase: 1, Reduce: 2, Close: 3, RemoveMargin: 4 } as const;

const WAD = 10n ** 18n;
const FEED_ABI = [
  "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
  "function getRoundData(uint80 roundId) view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
];
/** Chainlink proxies number rounds `phase << 64 | round`; round 1 of a phase has no predecessor in it. */
const PHASE_ROUND_MASK = (1n << 64n) - 1n;

/** Whether a request buys (a higher price is worse for the trader), as OrderBook._isBuy. */
export function isBuy(kind: number, size: bigint): boolean {
  const addsSize = kind === OrderKind.Open || kind === OrderKind.Increase;
  return addsSize === size > 0n;
}

/** What escrows collateral besides the fee: Open and Increase. */
export const escrowsAmount = (kind: number) => kind === OrderKind.Open || kind === OrderKind.Increase;

/**
 * The bound that `slippageBps` basis points allow around `price` (18 decimals): a buy at or below
 * price x (1 + s), a sell at or above price x (1 - s), rounded in the trader's favour of execution.
 */
export function acceptablePrice(kind: number, size: bigint, price: bigint, slippageBps: bigint): bigint {
  return isBuy(kind, size)
    ? (price * (10_000n + slippageBps) + 9_999n) / 10_000n
    : (price * (10_000n - slippageBps)) / 10_000n;
}

/** The trading fee on `size` at `price` in collateral units, rounded up as the engine rounds it. */
export function tradingFee(size: bigint, price: bigint, feeRatio: bigint, decimals: number): bigint {
  const abs = size < 0n ? -size : size;
  const den = WAD * 10n ** BigInt(18 - decimals);
  const notional = (abs * price + den - 1n) / den;
  return (notional * feeRatio + WAD - 1n) / WAD;
}

/**
 * Finds execution rounds. A round's timestamp never changes, so each is read once per feed; the latest
 * round is read again on every `refresh`.
 */
export class RoundFinder {
  private readonly times = new Map<string, Map<bigint, bigint | null>>();
  private readonly latest = new Map<string, { roundId: bigint; updatedAt: bigint }>();

  constructor(readonly provider: Provider) {}

  private feed(address: string) {
    return new Contract(address, FEED_ABI, this.provider);
  }

  /** Forgets the latest rounds (call once per block). */
  refresh() {
    this.latest.clear();
  }

  async latestRound(feed: string) {
    let l = this.latest.get(feed);
    if (!l) {
      const r = await this.feed(feed).latestRoundData();
      l = { roundId: r.roundId as bigint, updatedAt: r.updatedAt as bigint };
      this.latest.set(feed, l);
      this.remember(feed, l.roundId, l.updatedAt);
    }
    return l;
  }

  private remember(feed: string, roundId: bigint, updatedAt: bigint | null) {
    let m = this.times.get(feed);
    if (!m) this.times.set(feed, (m = new Map()));
    m.set(roundId, updatedAt);
  }

  /** A round's updatedAt, or null when the feed has no such round (it reverts or answers zeros). */
  async updatedAt(feed: string, roundId: bigint): Promise<bigint | null> {
    const known = this.times.get(feed)?.get(roundId);
    if (known !== undefined) return known;
    let at: bigint | null;
    try {
      const r = await this.feed(feed).getRoundData(roundId);
      at = (r.updatedAt as bigint) === 0n ? null : (r.updatedAt as bigint);
    } catch {
      at = null;
    }
    this.remember(feed, roundId, at);
    return at;
  }

  /**
   * The first round of `feed` updated at or after `notBefore`, walking back from the latest round until the
   * one before is earlier; undefined while no round has reached `notBefore`.
   */
  async first(feed: string, notBefore: bigint): Promise<bigint | undefined> {
    const { roundId, updatedAt } = await this.latestRound(feed);
    if (updatedAt < notBefore) return undefined;
    let id = roundId;
    while ((id & PHASE_ROUND_MASK) > 1n) {
      const previous = await this.updatedAt(feed, id - 1n);
      if (previous === null || previous < notBefore) break;
      id -= 1n;
    }
    return id;
  }
}

/** Each market's feed address, read once (a market's oracle never changes). */
export class MarketFeeds {
  private readonly feeds = new Map<bigint, Promise<string>>();

  constructor(
    readonly ethers: HardhatEthers,
    readonly d: Pick<Deployment, "lens">,
  ) {}

  feedOf(marketId: bigint): Promise<string> {
    let f = this.feeds.get(marketId);
    if (!f) {
      f = (async () => {
        const m = await this.d.lens.getMarket(marketId);
        const oracle = await this.ethers.getContractAt("ChainlinkOracle", m.oracle);
        return oracle.feed();
      })();
      f.catch(() => this.feeds.delete(marketId));
      this.feeds.set(marketId, f);
    }
    return f;
  }
}

/** A request as the tools and the keeper see it. */
export interface PendingRequest {
  account: string;
  marketId: bigint;
  kind: number;
  size: bigint;
  amount: bigint;
  acceptablePrice: bigint;
  executionFee: bigint;
  createdAt: bigint;
  notBefore: bigint;
  expiresAt: bigint;
}

/** `account`'s pending request in `marketId`, or undefined. */
export async function readRequest(
  d: Pick<Deployment, "orderBook">,
  account: string,
  marketId: bigint,
  params?: { minDelay: bigint; maxAge: bigint },
): Promise<PendingRequest | undefined> {
  const [r, p] = await Promise.all([d.orderBook.getRequest(account, marketId), params ?? orderParams(d)]);
  if (r.createdAt === 0n) return undefined;
  return {
    account,
    marketId,
    kind: Number(r.kind),
    size: r.size,
    amount: r.amount,
    acceptablePrice: r.acceptablePrice,
    executionFee: r.executionFee,
    createdAt: r.createdAt,
    notBefore: r.createdAt + p.minDelay,
    expiresAt: r.createdAt + p.maxAge,
  };
}

export async function orderParams(d: Pick<Deployment, "orderBook">) {
  const [minDelay, maxAge, minExecutionFee] = await Promise.all([
    d.orderBook.minDelay(),
    d.orderBook.maxAge(),
    d.orderBook.minExecutionFee(),
  ]);
  return { minDelay, maxAge, minExecutionFee };
}

/** Accounts with a request in each market since `fromBlock` that is still pending, from OrderRequested events. */
export async function pendingRequests(
  d: Pick<Deployment, "orderBook">,
  fromBlock = 0,
  filter: { account?: string; marketId?: bigint } = {},
): Promise<PendingRequest[]> {
  const events = await d.orderBook.queryFilter(
    d.orderBook.filters.OrderRequested(filter.account, filter.marketId),
    fromBlock,
  );
  const keys = new Map<string, { account: string; marketId: bigint }>();
  for (const e of events) keys.set(`${e.args.account.toLowerCase()}:${e.args.marketId}`, e.args);
  const params = await orderParams(d);
  const all = await Promise.all(
    [...keys.values()].map(({ account, marketId }) => readRequest(d, account, marketId, params)),
  );
  return all.filter((r): r is PendingRequest => r !== undefined).sort((a, b) => Number(a.createdAt - b.createdAt));
}

/**
 * Executes pending requests at their rounds with `executeBatch` from `signer`, `chunk` at a time (the
 * seeding path of the demo, the playground and the stress lab; the keeper has its own, gas-priced one).
 * Requests whose round has not come yet are left; returns how many were executed and how many cancelled.
 */
export async function executeRequests(
  ethers: HardhatEthers,
  d: Pick<Deployment, "orderBook" | "lens">,
  signer: HardhatEthersSigner,
  requests: { account: string; marketId: bigint }[],
  options: { chunk?: number; gasLimit?: bigint } = {},
): Promise<{ executed: number; cancelled: number; waiting: number; gasUsed: bigint }> {
  const finder = new RoundFinder(ethers.provider);
  const feeds = new MarketFeeds(ethers, d);
  const params = await orderParams(d);
  // Reads in parallel (16 at a time), executions in the requests' order.
  const found = await mapLimit(requests, 16, async ({ account, marketId }) => {
    const r = await readRequest(d, account, marketId, params);
    if (!r) return undefined;
    return { account, marketId, roundId: await finder.first(await feeds.feedOf(marketId), r.notBefore) };
  });
  const ready: { account: string; marketId: bigint; roundId: bigint }[] = [];
  let waiting = 0;
  for (const f of found) {
    if (f === undefined) continue;
    if (f.roundId === undefined) waiting++;
    else ready.push({ account: f.account, marketId: f.marketId, roundId: f.roundId });
  }
  let executed = 0;
  let cancelled = 0;
  let gasUsed = 0n;
  const chunk = options.chunk ?? 50;
  const book = d.orderBook.connect(signer);
  for (let i = 0; i < ready.length; i += chunk) {
    const part = ready.slice(i, i + chunk);
    const tx = await book.executeBatch(
      part.map((r) => r.account),
      part.map((r) => r.marketId),
      part.map((r) => r.roundId),
      options.gasLimit === undefined ? {} : { gasLimit: options.gasLimit },
    );
    const receipt = await tx.wait();
    if (!receipt) throw new ToolError("NoReceipt", "the executeBatch transaction was not mined");
    gasUsed += receipt.gasUsed;
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== String(d.orderBook.target).toLowerCase()) continue;
      const parsed = d.orderBook.interface.parseLog(log);
      if (parsed?.name === "OrderExecuted") executed++;
      if (parsed?.name === "OrderCancelled") cancelled++;
    }
  }
  return { executed, cancelled, waiting, gasUsed };
}
