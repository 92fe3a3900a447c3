// Two-step orders off chain: the request kinds, the acceptable price a slippage allows, the round a request
// executes at (the first round of its market's feed updated at or after its `notBefore`, fixed at the
// request, found by `RoundFinder` in rounds.ts), and the one place pending requests are found: the book keeps
// only a commitment to each, so they are rebuilt from `OrderRequested` events. Shared by the keeper, the
// trader tools, the demo, the bench and the stress lab.
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { AbiCoder, keccak256 } from "ethers";
import { mapLimit } from "../chain/concurrency.js";
import { type Deployment, parseUnits } from "../chain/deployment.js";
import { ToolError } from "../chain/errors.js";
import { MarketFeeds, RoundFinder } from "./rounds.js";

/** OrderKind in IOrderBook.sol, by the name the tools take. */
export const ORDER_KINDS = ["open", "increase", "reduce", "close", "remove-margin"] as const;
export type OrderKindName = (typeof ORDER_KINDS)[number];
export const OrderKind = { Open: 0, Increase: 1, Reduce: 2, Close: 3, RemoveMargin: 4 } as const;

const WAD = 10n ** 18n;
const MAX_SLIPPAGE_BPS = 5_000n;

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

/** The Request struct of IOrderBook.sol, field for field and in its order. */
export interface RequestStruct {
  kind: number;
  size: bigint;
  amount: bigint;
  acceptablePrice: bigint;
  executionFee: bigint;
  createdAt: bigint;
  /** The window the book gave it: part of the request, so of its commitment. */
  notBefore: bigint;
  expiresAt: bigint;
}

/** A pending request as the tools and the keeper see it: who, where, the request (with its window). */
export interface PendingRequest extends RequestStruct {
  account: string;
  marketId: bigint;
}

const REQUEST_TUPLE =
  "tuple(uint8 kind, int128 size, uint96 amount, uint128 acceptablePrice, uint96 executionFee, uint32 createdAt, uint32 notBefore, uint32 expiresAt)";

/** The struct to pass back to `execute`, `executeBatch`, `cancel` and `isPending` (the order of IOrderBook.sol). */
export function requestStruct(r: RequestStruct): RequestStruct {
  return {
    kind: r.kind,
    size: r.size,
    amount: r.amount,
    acceptablePrice: r.acceptablePrice,
    executionFee: r.executionFee,
    createdAt: r.createdAt,
    notBefore: r.notBefore,
    expiresAt: r.expiresAt,
  };
}

/** The commitment the book stores for `r`, as `OrderBook.commitmentOf`: keccak256(abi.encode(r)), window included. */
export function commitmentOf(r: RequestStruct): string {
  const s = requestStruct(r);
  const encoded = AbiCoder.defaultAbiCoder().encode(
    [REQUEST_TUPLE],
    [[s.kind, s.size, s.amount, s.acceptablePrice, s.executionFee, s.createdAt, s.notBefore, s.expiresAt]],
  );
  return keccak256(encoded);
}

type RequestedLog = {
  args: { account: string; marketId: bigint; request: RequestStruct };
};

/** A request rebuilt from an `OrderRequested` event (the request carries its window). */
export function fromRequestedEvent(e: RequestedLog): PendingRequest {
  const { account, marketId, request } = e.args;
  return {
    account,
    marketId,
    kind: Number(request.kind),
    size: request.size,
    amount: request.amount,
    acceptablePrice: request.acceptablePrice,
    executionFee: request.executionFee,
    createdAt: request.createdAt,
    notBefore: request.notBefore,
    expiresAt: request.expiresAt,
  };
}

const requestKey = (account: string, marketId: bigint) => `${account.toLowerCase()}:${marketId}`;

/**
 * The one way the tools find pending requests: the book stores only a commitment to each, so the requests
 * are rebuilt from `OrderRequested` events since `fromBlock` (the last per account and market: a new one
 * needs the last gone) and kept where the book's commitment (`pendingRequest`, one call each) matches the
 * one computed here. Oldest first.
 */
export async function pendingRequests(
  d: Pick<Deployment, "orderBook">,
  fromBlock = 0,
  filter: { account?: string; marketId?: bigint } = {},
  concurrency = 16,
): Promise<PendingRequest[]> {
  const last = await lastRequests(d, fromBlock, filter);
  const checked = await mapLimit([...last.values()], concurrency, async (r) =>
    (await isStillPending(d, r)) ? r : undefined,
  );
  return checked.filter((r): r is PendingRequest => r !== undefined).sort((a, b) => Number(a.createdAt - b.createdAt));
}

/** The last request of each account and market since `fromBlock`, from `OrderRequested` events (unchecked). */
async function lastRequests(
  d: Pick<Deployment, "orderBook">,
  fromBlock: number,
  filter: { account?: string; marketId?: bigint } = {},
): Promise<Map<string, PendingRequest>> {
  const events = await d.orderBook.queryFilter(
    d.orderBook.filters.OrderRequested(filter.account, filter.marketId),
    fromBlock,
  );
  const last = new Map<string, PendingRequest>();
  for (const e of events) {
    const r = fromRequestedEvent(e as unknown as RequestedLog);
    last.set(requestKey(r.account, r.marketId), r);
  }
  return last;
}

/** Whether `r` is still its account's pending request in its market (its commitment is the book's). */
export async function isStillPending(d: Pick<Deployment, "orderBook">, r: PendingRequest): Promise<boolean> {
  const commitment = await d.orderBook.pendingRequest(r.account, r.marketId);
  return BigInt(commitment) !== 0n && BigInt(commitment) === BigInt(commitmentOf(r));
}

/** `account`'s pending request in `marketId`, or undefined (one call when there is none). */
export async function readRequest(
  d: Pick<Deployment, "orderBook">,
  account: string,
  marketId: bigint,
  fromBlock = 0,
): Promise<PendingRequest | undefined> {
  const commitment = await d.orderBook.pendingRequest(account, marketId);
  if (BigInt(commitment) === 0n) return undefined;
  const [r] = await pendingRequests(d, fromBlock, { account, marketId });
  return r;
}

export async function orderParams(d: Pick<Deployment, "orderBook">) {
  const [minDelay, maxAge, minExecutionFee] = await Promise.all([
    d.orderBook.minDelay(),
    d.orderBook.maxAge(),
    d.orderBook.minExecutionFee(),
  ]);
  return { minDelay, maxAge, minExecutionFee };
}

/** ExecutionClass in IOrderBook.sol: Open and Increase; Reduce, Close and RemoveMargin; LP requests. */
export const ExecutionClass = { Open: 0, Close: 1, Lp: 2 } as const;

/** The execution class of an order kind, as `OrderBook.request` picks it. */
export const classOf = (kind: number) => (escrowsAmount(kind) ? ExecutionClass.Open : ExecutionClass.Close);

/**
 * The gas the book expects an execution of each class to cost (`executionGas`), with the LP term for the
 * engine's markets added: what a keeper's estimate must not exceed for a fee paid at a gas price to pay it.
 */
export async function classGas(d: Pick<Deployment, "orderBook" | "engine">) {
  const [g, markets] = await Promise.all([d.orderBook.executionGas(), d.engine.marketCount()]);
  return {
    [ExecutionClass.Open]: BigInt(g.open),
    [ExecutionClass.Close]: BigInt(g.close),
    [ExecutionClass.Lp]: BigInt(g.lp) + BigInt(g.lpPerMarket) * markets,
  } as Record<number, bigint>;
}

/**
 * The book's minimum fee for `gas` at `gasPrice` (wei) with the gas token at `gasTokenUsd` (18 decimals), in
 * collateral units: max(floor, ceil(gas x gasPrice x price / 10^(36 - decimals))), as `OrderBook.minimumFee`.
 */
export function minimumFeeAt(gas: bigint, gasPrice: bigint, gasTokenUsd: bigint, decimals: number, floor: bigint) {
  const den = 10n ** 36n / 10n ** BigInt(decimals);
  const cost = (gas * gasPrice * gasTokenUsd + den - 1n) / den;
  return cost > floor ? cost : floor;
}

/** An `executeBatch` entry. */
export function execution(r: PendingRequest, roundId: bigint) {
  return { account: r.account, roundId, marketId: r.marketId, request: requestStruct(r) };
}

/** Refuses before anything is sent when `account` is not one of the order book's executors. */
export async function refuseNonExecutor(d: Pick<Deployment, "orderBook">, account: string) {
  if (await d.orderBook.isExecutor(account)) return;
  throw new ToolError(
    "NotExecutor",
    `${account} is not an executor of the order book: only executors (the keepers) execute requests`,
    { account },
  );
}

/**
 * Executes pending requests at their rounds with `executeBatch` from `signer` (an executor of the book, or
 * this refuses before sending anything), `chunk` at a time (the
 * seeding path of the demo, the playground and the stress lab; the keeper has its own, gas-priced one).
 * `requests` are requests found by `pendingRequests`, or accounts and markets whose pending requests are
 * looked up here (from events since `fromBlock`). Requests whose round has not come yet are left; returns
 * how many were executed and how many cancelled.
 */
export async function executeRequests(
  ethers: HardhatEthers,
  d: Pick<Deployment, "orderBook" | "lens">,
  signer: HardhatEthersSigner,
  requests: ({ account: string; marketId: bigint } | PendingRequest)[],
  options: { chunk?: number; gasLimit?: bigint; fromBlock?: number } = {},
): Promise<{ executed: number; cancelled: number; waiting: number; gasUsed: bigint }> {
  await refuseNonExecutor(d, signer.address);
  const finder = new RoundFinder(ethers.provider);
  const feeds = new MarketFeeds(ethers, d);
  const last = requests.every((r): r is PendingRequest => "createdAt" in r)
    ? undefined
    : await lastRequests(d, options.fromBlock ?? 0);
  // Checks and rounds read in parallel (16 at a time), executions in the requests' order.
  const found = await mapLimit(requests, 16, async (given) => {
    const r = last ? last.get(requestKey(given.account, given.marketId)) : (given as PendingRequest);
    if (r === undefined || !(await isStillPending(d, r))) return undefined;
    return { r, roundId: await finder.first(await feeds.feedOf(r.marketId), r.notBefore) };
  });
  const ready: ReturnType<typeof execution>[] = [];
  let waiting = 0;
  for (const f of found) {
    if (f === undefined) continue;
    if (f.roundId === undefined) waiting++;
    else ready.push(execution(f.r, f.roundId));
  }
  let executed = 0;
  let cancelled = 0;
  let gasUsed = 0n;
  const chunk = options.chunk ?? 50;
  const book = d.orderBook.connect(signer);
  for (let i = 0; i < ready.length; i += chunk) {
    const part = ready.slice(i, i + chunk);
    const tx = await book.executeBatch(part, options.gasLimit === undefined ? {} : { gasLimit: options.gasLimit });
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

/** "1", "0.5%", "50bps" as basis points. */
export function parseSlippage(text: string): bigint {
  const clean = text.trim();
  const bps = /^(\d+)\s*bps$/i.exec(clean);
  const value = bps ? BigInt(bps[1]) : parseUnits(clean.replace(/\s*%$/, ""), 2, "--slippage");
  if (value > MAX_SLIPPAGE_BPS) {
    throw new ToolError("OutOfRange", `--slippage ${text} is more than ${MAX_SLIPPAGE_BPS / 100n} %`);
  }
  return value;
}

/**
 * The gas price a request is sent at and the order book's minimum fee for its class at that price
 * (`OrderBook.minimumFee`: the class's gas estimate priced by the gas-token oracle, or the floor when that is
 * more or the oracle refuses). The request is sent with exactly this gas price (`maxFeePerGas` and
 * `maxPriorityFeePerGas` both set to it, so `tx.gasprice` is it), so the default fee is the on-chain minimum
 * and a keeper pricing gas at the same price is paid to execute it.
 */
export async function priceExecutionFee(
  ethers: HardhatEthers,
  d: Pick<Deployment, "orderBook" | "engine" | "decimals">,
  executionClass: number,
  gasPriceWei?: bigint,
): Promise<{ fee: bigint; gasPrice: bigint; minimum: bigint }> {
  let gasPrice = gasPriceWei;
  if (gasPrice === undefined) {
    const fees = await ethers.provider.getFeeData();
    gasPrice = fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
  }
  const [gas, floor, oracle] = await Promise.all([
    classGas(d),
    d.orderBook.minExecutionFee(),
    d.orderBook.gasTokenOracle(),
  ]);
  const gasTokenUsd = await (await ethers.getContractAt("ChainlinkOracle", oracle)).price().catch(() => undefined);
  const minimum =
    gasTokenUsd === undefined ? floor : minimumFeeAt(gas[executionClass], gasPrice, gasTokenUsd, d.decimals, floor);
  return { fee: minimum, gasPrice, minimum };
}

/** The transaction overrides that make `tx.gasprice` exactly `gasPrice`. */
export const atGasPrice = (gasPrice: bigint) => ({ maxFeePerGas: gasPrice, maxPriorityFeePerGas: gasPrice });
