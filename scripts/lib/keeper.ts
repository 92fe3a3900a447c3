import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { ToolSigner } from "./cli.js";
import { Contract, Interface } from "ethers";
import { type Deployment, formatUnits } from "./deployment.js";
import { ToolError, describeError } from "./errors.js";
import type { Units } from "./format.js";
import {
  MarketFeeds,
  type PendingRequest,
  RoundFinder,
  classGas,
  classOf,
  execution,
  fromRequestedEvent,
  isStillPending,
  requestStruct,
} from "./orders.js";
import { type LpRequest, lpRoundIds } from "./lp.js";
import { ChainWatch, SenderWatch } from "./keeper-guard.js";

const FEED_ABI = [
  "function decimals() view returns (uint8)",
  "function latestRoundData() view returns (uint80, int256, uint256, uint256, uint80)",
];
const WAD = 10n ** 18n;
/** EIP-7825: no transaction may ask for more gas than this. */
export const TX_GAS_CAP = 16_777_216n;
/** The keeper asks for this much more than the estimate (refunds only count after execution). */
const GAS_HEADROOM_PERCENT = 124n;

export interface KeeperOptions {
  /** Receives the keeper fees; defaults to the signer. */
  feeRecipient?: string;
  /** Profit a batch must make beyond its gas cost, in collateral units. */
  minProfit: bigint;
  /** Most positions per liquidateBatch transaction; a batch whose gas would pass `maxTxGas` is split. */
  batchSize: number;
  /** Most gas one transaction may ask for, headroom included (default `TX_GAS_CAP`, EIP-7825's cap). */
  maxTxGas?: bigint;
  /** First block to scan for PositionModified events. */
  startBlock: number;
  /** Log what would be liquidated without sending transactions. */
  dryRun: boolean;
  /** Blocks per eth_getLogs request. */
  logChunk?: number;
  /** eth_calls in flight at once when checking positions (default 32). */
  concurrency?: number;
  /**
   * A position is rechecked when the price is within this fraction (18 decimals) of its indexed
   * liquidation price (default 2 %): the index ignores funding accrued since it was read.
   */
  band?: bigint;
  /** Index entries refreshed per block, oldest first, so funding drift never goes unseen (default: 1/20 of all, at least 50). */
  refreshPerBlock?: number;
  /** Preview every open position at every block, as the first keeper did (for comparison). */
  fullScan?: boolean;
  log?: (line: string) => void;
  /** Units for rendering errors (token symbol, clock). */
  units?: Units;
  /**
   * Gas price (wei) at which to price the gas of liquidations, executions and cancellations; default: the
   * node's current fee data (maxFeePerGas, else gasPrice).
   */
  gasPrice?: bigint;
  /** Execute and cancel order book requests (default true). */
  orders?: boolean;
  /** Execute ready LP requests whose fee pays their gas and cancel expired ones (default true). */
  lpRequests?: boolean;
  /** Most LP requests executed or cancelled per block (default 10). */
  lpPerBlock?: number;
}

/** A pending request that the keeper can execute now at `roundId`, or cancel (expired). */
export interface OrderCandidate {
  account: string;
  marketId: bigint;
  executionFee: bigint;
  /** The request, rebuilt from its OrderRequested event, to pass back to the book. */
  request: PendingRequest;
  roundId?: bigint;
}

export interface Candidate {
  account: string;
  marketId: bigint;
  keeperFee: bigint;
}

/** What one block's round did; the keeper's --json prints one of these per block. */
export interface TickResult {
  block: number;
  open: number;
  /** Positions whose health was read this block (index refreshes plus confirmations). */
  checked: number;
  liquidatable: number;
  liquidated: number;
  /** Fees received (or, in a dry run, that would be received). */
  keeperFees: bigint;
  skipped: number;
  /** Order book requests still pending after the tick's sync (before executions). */
  pendingOrders: number;
  /** Requests whose execution round has come. */
  ordersReady: number;
  /** Requests executed (the trade happened). */
  ordersExecuted: number;
  /** Requests the book cancelled at execution (price beyond the bound, or the engine refused the trade). */
  ordersRefused: number;
  /** Expired requests the keeper cancelled. */
  ordersCancelled: number;
  /** Requests left because their fee does not pay for their gas. */
  ordersSkipped: number;
  /** Execution fees received (or, in a dry run, that would be received). */
  executionFees: bigint;
  /** LP requests seen requested and not yet executed or cancelled (before this block's work). */
  pendingLpRequests: number;
  /** LP requests executed at their rounds (or, in a dry run, that would be). */
  lpExecuted: number;
  /** Expired LP requests cancelled (their escrow back to their owners). */
  lpCancelled: number;
  /** LP requests left because their fee does not pay for their gas. */
  lpSkipped: number;
  /** LP execution fees received (or, in a dry run, that would be). */
  lpExecutionFees: bigint;
  errors: number;
  /** The chain was not the one indexed (reset, another chain, a reorg): the index was rebuilt this block. */
  chainReset: boolean;
  /** Transactions another process sent from the keeper's account since its last block. */
  otherSenderTxs: number;
  dryRun: boolean;
  ms: number;
}

interface Entry {
  account: string;
  marketId: bigint;
  /** Indexed liquidation price (18 decimals; 0: none for a long, any price for a short), undefined if unknown. */
  liquidationPrice?: bigint;
  long: boolean;
  /** Needs its health read again (new, modified, its market's config changed, or unreadable). */
  dirty: boolean;
  refreshedAt: number;
}

const key = (account: string, marketId: bigint) => `${account.toLowerCase()}:${marketId}`;

/** Runs `work` over `items` with at most `limit` in flight. */
export async function mapLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}

/**
 * A liquidation keeper: follows positions through the engine's events, keeps an index of their liquidation
 * prices (from the lens), and at each new block reads one price per market and rechecks only the positions
 * whose liquidation price the price has reached (within a band), plus a slice of the index refreshed
 * round-robin. Liquidatable ones go to `liquidateBatch` when the keeper fee beats the gas. Every RPC call
 * is guarded: an error is logged and the keeper carries on at the next block.
 */
export class Keeper {
  /** Open positions, by `account:marketId`. */
  readonly open = new Map<string, Entry>();
  /**
   * Order book requests seen requested (rebuilt from their OrderRequested events) and not yet executed or
   * cancelled, by `account:marketId`.
   */
  readonly requests = new Map<string, PendingRequest>();
  /** LP requests seen in LpRequested events and not yet executed or cancelled, by owner (lower case). */
  readonly lpRequests = new Map<string, LpRequest>();
  private rounds: RoundFinder;
  private feeds: MarketFeeds;
  private readonly chain: ChainWatch;
  private readonly sender: SenderWatch;
  private scannedTo: number;
  private readonly oracles = new Map<bigint, Deployment["ethOracle"]>();
  private lastBlock = -1;
  private readonly log: (line: string) => void;

  constructor(
    readonly ethers: HardhatEthers,
    readonly d: Deployment,
    readonly signer: ToolSigner,
    readonly options: KeeperOptions,
  ) {
    this.scannedTo = options.startBlock - 1;
    this.rounds = new RoundFinder(ethers.provider);
    this.feeds = new MarketFeeds(ethers, d);
    this.log = options.log ?? ((line) => console.log(`[keeper ${new Date().toISOString()}] ${line}`));
    this.chain = new ChainWatch(ethers.provider);
    this.sender = new SenderWatch(ethers.provider, signer.address);
  }

  /** Forgets everything read from the chain, so that the next sync rebuilds it from `startBlock`. */
  private reload() {
    this.open.clear();
    this.requests.clear();
    this.lpRequests.clear();
    this.oracles.clear();
    this.rounds = new RoundFinder(this.ethers.provider);
    this.feeds = new MarketFeeds(this.ethers, this.d);
    this.scannedTo = this.options.startBlock - 1;
    this.lastBlock = -1;
    this.sender.forget();
  }

  get feeRecipient() {
    return this.options.feeRecipient || this.signer.address;
  }

  /** The chain's clock at the last block seen, for rendering errors' dates. */
  private now = BigInt(Math.floor(Date.now() / 1000));

  private why(error: unknown) {
    const d = this.d;
    const units = this.options.units ?? {
      decimals: d.decimals,
      symbol: d.symbol,
      backstopShareDecimals: d.backstopShareDecimals,
      vaultShareDecimals: d.vaultShareDecimals,
      now: this.now,
    };
    const f = describeError(error, { ...units, now: this.now });
    return f.name === "Error" || f.message.startsWith(f.name) ? f.message : `${f.name}: ${f.message}`;
  }

  /**
   * Only the order book's executors execute trade and LP requests: a keeper that would execute them from
   * another account refuses to start, before it sends anything.
   */
  async checkExecutor(): Promise<void> {
    if (this.options.orders === false && this.options.lpRequests === false) return;
    if (await this.d.orderBook.isExecutor(this.signer.address)) return;
    throw new ToolError(
      "NotExecutor",
      `${this.signer.address} is not an executor of the order book: only executors execute requests; run the keeper from an executor's key (the timelock grants EXECUTOR_ROLE)`,
      { account: this.signer.address },
    );
  }

  /**
   * Whether the fee recipient can receive the collateral: a transfer of one unit from the engine to it,
   * simulated. A blocklisted address (as USDC has) or a token that refuses it fails here, before any batch.
   */
  async checkFeeRecipient(): Promise<void> {
    const token = new Interface([
      "function transfer(address to, uint256 amount) returns (bool)",
      "function balanceOf(address) view returns (uint256)",
    ]);
    const engine = this.d.addresses.engine;
    const collateral = this.d.addresses.collateral;
    try {
      // One unit when the engine holds any (an engine with none, on a fresh deployment, simulates zero).
      const [balance] = token.decodeFunctionResult(
        "balanceOf",
        await this.ethers.provider.call({ to: collateral, data: token.encodeFunctionData("balanceOf", [engine]) }),
      );
      const amount = (balance as bigint) > 0n ? 1n : 0n;
      await this.ethers.provider.call({
        from: engine,
        to: collateral,
        data: token.encodeFunctionData("transfer", [this.feeRecipient, amount]),
      });
    } catch (error) {
      throw new ToolError(
        "FeeRecipientCannotReceive",
        `the fee recipient ${this.feeRecipient} cannot receive ${this.d.symbol}: the token refuses a transfer to it (${this.why(error)}); pass another --fee-recipient`,
        { feeRecipient: this.feeRecipient },
      );
    }
  }

  /**
   * Reads PositionModified, PositionLiquidated and MarketConfigUpdated events, and the order book's
   * OrderRequested, OrderExecuted and OrderCancelled, up to `toBlock`.
   */
  async sync(toBlock: number) {
    const chunk = this.options.logChunk ?? 2_000;
    const engine = this.d.engine;
    const book = this.d.orderBook;
    const orders = this.options.orders !== false;
    const vault = this.d.vault;
    const lp = this.options.lpRequests !== false;
    for (let from = this.scannedTo + 1; from <= toBlock; from += chunk) {
      const to = Math.min(toBlock, from + chunk - 1);
      const none = Promise.resolve([]);
      const [modified, liquidated, configs, requested, executed, cancelled, lpRequested, lpDone] = await Promise.all([
        engine.queryFilter(engine.filters.PositionModified(), from, to),
        engine.queryFilter(engine.filters.PositionLiquidated(), from, to),
        engine.queryFilter(engine.filters.MarketConfigUpdated(), from, to),
        orders ? book.queryFilter(book.filters.OrderRequested(), from, to) : none,
        orders ? book.queryFilter(book.filters.OrderExecuted(), from, to) : none,
        orders ? book.queryFilter(book.filters.OrderCancelled(), from, to) : none,
        lp ? vault.queryFilter(vault.filters.LpRequested(), from, to) : none,
        lp
          ? Promise.all([
              vault.queryFilter(vault.filters.LpRequestExecuted(), from, to),
              vault.queryFilter(vault.filters.LpRequestCancelled(), from, to),
            ]).then(([a, b]) => [...a, ...b])
          : none,
      ]);
      const lpEvents = [
        ...lpRequested.map((e) => ({ e, pending: true })),
        ...lpDone.map((e) => ({ e, pending: false })),
      ].sort((a, b) => a.e.blockNumber - b.e.blockNumber || a.e.index - b.e.index);
      for (const { e, pending } of lpEvents) {
        const a = e.args as unknown as {
          owner: string;
          redeem: boolean;
          amount: bigint;
          notBefore: bigint;
          expiresAt: bigint;
          executionFee: bigint;
        };
        if (!pending) this.lpRequests.delete(a.owner.toLowerCase());
        else
          this.lpRequests.set(a.owner.toLowerCase(), {
            owner: a.owner,
            redeem: a.redeem,
            amount: a.amount,
            notBefore: a.notBefore,
            expiresAt: a.expiresAt,
            executionFee: a.executionFee,
          });
      }
      const orderEvents = [
        ...requested.map((e) => ({ e, pending: true })),
        ...executed.map((e) => ({ e, pending: false })),
        ...cancelled.map((e) => ({ e, pending: false })),
      ].sort((a, b) => a.e.blockNumber - b.e.blockNumber || a.e.index - b.e.index);
      for (const { e, pending } of orderEvents) {
        const { account, marketId } = e.args as unknown as { account: string; marketId: bigint };
        if (pending) this.requests.set(key(account, marketId), fromRequestedEvent(e as never));
        else this.requests.delete(key(account, marketId));
      }
      const events = [
        ...modified.map((e) => ({ e, account: e.args.account, marketId: e.args.marketId, size: e.args.size })),
        ...liquidated.map((e) => ({
          e,
          account: e.args.account,
          marketId: e.args.marketId,
          size: e.args.remainingSize,
        })),
      ].sort((a, b) => a.e.blockNumber - b.e.blockNumber || a.e.index - b.e.index);
      for (const { account, marketId, size } of events) {
        const k = key(account, marketId);
        if (size === 0n) this.open.delete(k);
        else this.open.set(k, { account, marketId, long: size > 0n, dirty: true, refreshedAt: -1 });
      }
      const changedMarkets = new Set(configs.map((e) => e.args.marketId));
      for (const entry of this.open.values()) if (changedMarkets.has(entry.marketId)) entry.dirty = true;
      this.scannedTo = to;
    }
  }

  /** The price of each market with open positions, or the error its oracle gives. */
  private async prices(): Promise<Map<bigint, bigint | Error>> {
    const markets = new Set([...this.open.values()].map((e) => e.marketId));
    const out = new Map<bigint, bigint | Error>();
    await Promise.all(
      [...markets].map(async (id) => {
        try {
          let oracle = this.oracles.get(id);
          if (!oracle) {
            const m = await this.d.lens.getMarket(id);
            oracle = await this.ethers.getContractAt("ChainlinkOracle", m.oracle);
            this.oracles.set(id, oracle);
          }
          out.set(id, await oracle.price());
        } catch (error) {
          out.set(id, error as Error);
        }
      }),
    );
    return out;
  }

  /** Whether `price` has reached (within the band) the entry's indexed liquidation price. */
  private crossed(entry: Entry, price: bigint): boolean {
    const band = this.options.band ?? WAD / 50n;
    const lp = entry.liquidationPrice;
    if (lp === undefined) return true;
    if (entry.long) return lp !== 0n && price * WAD <= lp * (WAD + band);
    return lp === 0n || price * WAD >= lp * (WAD - band);
  }

  /**
   * The liquidatable positions with their keeper fee: refreshes the index where needed, then previews
   * only the positions whose liquidation price the current price has reached.
   */
  async findLiquidatable(
    block = this.lastBlock,
  ): Promise<{ candidates: Candidate[]; errors: number; checked: number }> {
    const limit = this.options.concurrency ?? 32;
    const entries = [...this.open.values()];
    let errors = 0;
    let checked = 0;
    let toPreview: Entry[];
    if (this.options.fullScan) {
      toPreview = entries;
    } else {
      const prices = await this.prices();
      const usable: Entry[] = [];
      for (const [id, price] of prices) {
        const inMarket = entries.filter((e) => e.marketId === id);
        if (price instanceof Error) {
          errors++;
          this.log(
            `market ${id}: the oracle refuses a price (${this.why(price)}); ${inMarket.length} position(s) not checked`,
          );
        } else usable.push(...inMarket);
      }
      // Refresh the dirty entries and the oldest slice of the rest.
      const budget = this.options.refreshPerBlock ?? Math.max(50, Math.ceil(usable.length / 20));
      const dirty = usable.filter((e) => e.dirty);
      const stale = usable
        .filter((e) => !e.dirty)
        .sort((a, b) => a.refreshedAt - b.refreshedAt)
        .slice(0, Math.max(0, budget - dirty.length));
      const refresh = [...dirty, ...stale];
      const healthy = new Set<Entry>();
      const unhealthy = new Set<Entry>();
      await mapLimit(refresh, limit, async (e) => {
        checked++;
        try {
          const h = await this.d.lens.positionHealth(e.account, e.marketId);
          e.liquidationPrice = h.liquidationPrice;
          e.long = h.size > 0n;
          e.dirty = false;
          e.refreshedAt = block;
          (h.liquidatable ? unhealthy : healthy).add(e);
        } catch (error) {
          errors++;
          e.dirty = true;
          this.log(`health check failed for ${e.account} market ${e.marketId}: ${this.why(error)}`);
        }
      });
      toPreview = usable.filter(
        (e) => !e.dirty && (unhealthy.has(e) || (!healthy.has(e) && this.crossed(e, prices.get(e.marketId) as bigint))),
      );
    }
    const previews = await mapLimit(toPreview, limit, async ({ account, marketId }) => {
      checked++;
      try {
        const p = await this.d.lens.previewLiquidation(account, marketId);
        return p.liquidatable ? { account, marketId, keeperFee: p.keeperFee } : undefined;
      } catch (error) {
        errors++;
        this.log(`preview failed for ${account} market ${marketId}: ${this.why(error)}`);
        return undefined;
      }
    });
    return { candidates: previews.filter((c): c is Candidate => c !== undefined), errors, checked };
  }

  /** Gas cost of `gas` at the current gas price, in collateral units (ETH priced by the ETH-USD oracle). */
  async gasCostInCollateral(gas: bigint): Promise<bigint> {
    let gasPrice = this.options.gasPrice;
    if (gasPrice === undefined) {
      const fees = await this.ethers.provider.getFeeData();
      gasPrice = fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
    }
    const ethUsd = await this.ethUsd(); // 18 decimals
    const wei = gas * gasPrice;
    // wei (1e18 per ETH) x USD/ETH (1e18) -> collateral units, rounded up: never overestimate profit.
    const denominator = 10n ** 36n / 10n ** BigInt(this.d.decimals);
    return (wei * ethUsd + denominator - 1n) / denominator;
  }

  /**
   * ETH's price in USD (18 decimals) for gas costs: the ETH-USD oracle, or when it refuses (stale, out of
   * bounds), the feed's raw last answer: good enough to price gas, and liquidations must not stop for it.
   */
  async ethUsd(): Promise<bigint> {
    try {
      return await this.d.ethOracle.price();
    } catch (error) {
      const feed = new Contract(await this.d.ethOracle.feed(), FEED_ABI, this.ethers.provider);
      const [[, answer], decimals] = await Promise.all([feed.latestRoundData(), feed.decimals()]);
      this.log(`ETH-USD oracle refused (${this.why(error)}); pricing gas at the feed's last answer`);
      return (answer as bigint) * 10n ** (18n - BigInt(decimals));
    }
  }

  /** Liquidates `candidates` in batches that pay for themselves. */
  async liquidate(candidates: Candidate[]) {
    let liquidated = 0;
    let keeperFees = 0n;
    let skipped = 0;
    let errors = 0;
    const fmt = (x: bigint) => `${formatUnits(x, this.d.decimals)} ${this.d.symbol}`;
    // Batches of at most `batchSize`; one whose gas (with headroom) would pass the transaction cap is split
    // in two and both halves go back to the front of the queue, so no batch ever asks for more than the cap.
    const cap = this.options.maxTxGas ?? TX_GAS_CAP;
    const queue: Candidate[][] = [];
    for (let i = 0; i < candidates.length; i += this.options.batchSize) {
      queue.push(candidates.slice(i, i + this.options.batchSize));
    }
    while (queue.length > 0) {
      const batch = queue.shift()!;
      const accounts = batch.map((c) => c.account);
      const ids = batch.map((c) => c.marketId);
      const expectedFee = batch.reduce((sum, c) => sum + c.keeperFee, 0n);
      const engine = this.d.engine.connect(this.signer);
      try {
        let gas: bigint;
        try {
          gas = await engine.liquidateBatch.estimateGas(accounts, ids, this.feeRecipient);
        } catch (error) {
          // A batch too large for a block cannot even be estimated: split it.
          if (batch.length === 1) throw error;
          gas = cap + 1n;
        }
        if ((gas * GAS_HEADROOM_PERCENT) / 100n > cap && batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          queue.unshift(batch.slice(0, half), batch.slice(half));
          this.log(`split a batch of ${batch.length}: ${gas} gas (+24 %) would pass the ${cap} transaction cap`);
          continue;
        }
        const cost = await this.gasCostInCollateral(gas);
        if (expectedFee < cost + this.options.minProfit) {
          skipped += batch.length;
          this.log(
            `skip batch of ${batch.length}: fee ${fmt(expectedFee)} < gas ${fmt(cost)} + min profit ${fmt(this.options.minProfit)}`,
          );
          continue;
        }
        if (this.options.dryRun) {
          keeperFees += expectedFee;
          this.log(
            `dry run: would liquidate ${batch.length} (${describe(batch)}) for ${fmt(expectedFee)}, gas ${fmt(cost)}`,
          );
          continue;
        }
        const gasLimit = (gas * GAS_HEADROOM_PERCENT) / 100n;
        const tx = await engine.liquidateBatch(accounts, ids, this.feeRecipient, {
          gasLimit: gasLimit < cap ? gasLimit : cap,
        });
        const receipt = await tx.wait();
        const event = receipt?.logs
          .map((l) => {
            try {
              return this.d.engine.interface.parseLog(l);
            } catch {
              return null;
            }
          })
          .find((parsed) => parsed?.name === "BatchLiquidated");
        const count = event ? Number(event.args.liquidated) : 0;
        const fees = event ? (event.args.keeperFees as bigint) : 0n;
        liquidated += count;
        keeperFees += fees;
        this.log(
          `liquidated ${count}/${batch.length} (${describe(batch)}) fee ${fmt(fees)} tx ${tx.hash} gas ${receipt?.gasUsed}`,
        );
      } catch (error) {
        errors++;
        let reason = this.why(error);
        // A recipient the token refuses fails every batch: say so plainly.
        try {
          await this.checkFeeRecipient();
        } catch (recipientError) {
          reason = (recipientError as Error).message;
        }
        this.log(`batch of ${batch.length} failed (${describe(batch)}): ${reason}`);
      }
    }
    return { liquidated, keeperFees, skipped, errors };
  }

  /**
   * The pending requests that can be executed now (their round has come) and those expired (to cancel),
   * each checked against the book's commitment (`pendingRequest`, one call); requests no longer pending
   * (or not as the event said) are forgotten.
   */
  async findOrders(): Promise<{ ready: OrderCandidate[]; expired: OrderCandidate[]; errors: number }> {
    const ready: OrderCandidate[] = [];
    const expired: OrderCandidate[] = [];
    let errors = 0;
    if (this.requests.size === 0) return { ready, expired, errors };
    this.rounds.refresh();
    await mapLimit([...this.requests.entries()], this.options.concurrency ?? 32, async ([k, r]) => {
      try {
        if (!(await isStillPending(this.d, r))) {
          this.requests.delete(k);
          return;
        }
        const c = { account: r.account, marketId: r.marketId, executionFee: r.executionFee, request: r };
        // The next block comes at least a second after the last one.
        if (this.now + 1n > r.expiresAt) {
          expired.push(c);
          return;
        }
        const roundId = await this.rounds.first(await this.feeds.feedOf(r.marketId), r.notBefore);
        if (roundId !== undefined) ready.push({ ...c, roundId });
      } catch (error) {
        errors++;
        this.log(`request check failed for ${r.account} market ${r.marketId}: ${this.why(error)}`);
      }
    });
    // Oldest first, so a full batch never starves the earliest requests.
    const order = [...this.requests.keys()];
    const rank = (c: OrderCandidate) => order.indexOf(key(c.account, c.marketId));
    ready.sort((a, b) => rank(a) - rank(b));
    return { ready, expired, errors };
  }

  /**
   * Executes `ready` requests with `executeBatch` in batches sized like liquidations (split when the gas
   * would pass the transaction cap). Only paid work is sent: each request's fee must cover its share of the
   * batch's gas at the current gas price, shared in proportion to the book's gas estimate of each request's
   * class (a close costs less than an open, and its minimum fee is less), so that a request whose fee is the
   * book's minimum at this gas price is always paid; those that are not are left for later, when gas is
   * cheaper or someone else. The batch's fees must beat its gas by `minProfit`.
   */
  async executeOrders(ready: OrderCandidate[]) {
    let executed = 0;
    let refused = 0;
    let skipped = 0;
    let errors = 0;
    let fees = 0n;
    const fmt = (x: bigint) => `${formatUnits(x, this.d.decimals)} ${this.d.symbol}`;
    const cap = this.options.maxTxGas ?? TX_GAS_CAP;
    const queue: OrderCandidate[][] = [];
    for (let i = 0; i < ready.length; i += this.options.batchSize)
      queue.push(ready.slice(i, i + this.options.batchSize));
    const book = this.d.orderBook.connect(this.signer);
    while (queue.length > 0) {
      const batch = queue.shift()!;
      const args = [batch.map((c) => execution(c.request, c.roundId!))] as const;
      try {
        let gas: bigint;
        try {
          gas = await book.executeBatch.estimateGas(...args);
        } catch (error) {
          if (batch.length === 1) throw error;
          gas = cap + 1n;
        }
        if ((gas * GAS_HEADROOM_PERCENT) / 100n > cap && batch.length > 1) {
          const half = Math.ceil(batch.length / 2);
          queue.unshift(batch.slice(0, half), batch.slice(half));
          this.log(
            `split a batch of ${batch.length} requests: ${gas} gas (+24 %) would pass the ${cap} transaction cap`,
          );
          continue;
        }
        const cost = await this.gasCostInCollateral(gas);
        const weights = await classGas(this.d);
        const weightOf = (c: OrderCandidate) => weights[classOf(c.request.kind)];
        const total = batch.reduce((sum, c) => sum + weightOf(c), 0n);
        const shareOf = (c: OrderCandidate) => (cost * weightOf(c) + total - 1n) / total;
        const unpaid = batch.filter((c) => c.executionFee < shareOf(c));
        if (unpaid.length > 0) {
          skipped += unpaid.length;
          this.log(
            `skip ${unpaid.length} request(s) (${describe(unpaid)}): fee below their share of the gas (${unpaid.map((c) => fmt(shareOf(c))).join(", ")})`,
          );
          const paid = batch.filter((c) => c.executionFee >= shareOf(c));
          if (paid.length > 0) queue.unshift(paid); // re-estimated without them
          continue;
        }
        const expectedFee = batch.reduce((sum, c) => sum + c.executionFee, 0n);
        if (expectedFee < cost + this.options.minProfit) {
          skipped += batch.length;
          this.log(
            `skip batch of ${batch.length} requests: fees ${fmt(expectedFee)} < gas ${fmt(cost)} + min profit ${fmt(this.options.minProfit)}`,
          );
          continue;
        }
        if (this.options.dryRun) {
          fees += expectedFee;
          this.log(
            `dry run: would execute ${batch.length} request(s) (${describe(batch)}) for ${fmt(expectedFee)}, gas ${fmt(cost)}`,
          );
          continue;
        }
        const gasLimit = (gas * GAS_HEADROOM_PERCENT) / 100n;
        const tx = await book.executeBatch(...args, { gasLimit: gasLimit < cap ? gasLimit : cap });
        const receipt = await tx.wait();
        const feeOf = new Map(batch.map((c) => [key(c.account, c.marketId), c.executionFee]));
        const outcome = { executed: 0, refused: 0, fees: 0n };
        for (const log of receipt?.logs ?? []) {
          if (log.address.toLowerCase() !== String(this.d.orderBook.target).toLowerCase()) continue;
          const parsed = this.d.orderBook.interface.parseLog(log);
          if (parsed?.name !== "OrderExecuted" && parsed?.name !== "OrderCancelled") continue;
          const k = key(parsed.args.account, parsed.args.marketId);
          this.requests.delete(k);
          outcome.fees += feeOf.get(k) ?? 0n;
          if (parsed.name === "OrderExecuted") outcome.executed++;
          else outcome.refused++;
        }
        executed += outcome.executed;
        refused += outcome.refused;
        fees += outcome.fees;
        // The book skips, without an event, a request that is no longer pending (another executor or its owner
        // got there first) or whose round its oracle refuses now.
        const skippedByBook = batch.length - outcome.executed - outcome.refused;
        this.log(
          `batch of ${batch.length} request(s) (${describe(batch)}): ${outcome.executed} executed, ${outcome.refused} refused at execution` +
            (skippedByBook > 0
              ? `, ${skippedByBook} skipped by the book (no longer pending: another executor first? or its round refused)`
              : "") +
            `; fees ${fmt(outcome.fees)} tx ${tx.hash} gas ${receipt?.gasUsed}`,
        );
      } catch (error) {
        errors++;
        this.log(`batch of ${batch.length} request(s) failed (${describe(batch)}): ${this.why(error)}`);
      }
    }
    return { executed, refused, skipped, errors, fees };
  }

  /**
   * Cancels expired requests (nobody executed them in the executors' window): the escrow and the fee go back to
   * their owners, who could also cancel them; the keeper pays the gas and earns nothing, so that an owner whose
   * request expired while the keepers were down gets their money back without acting.
   */
  async cancelExpired(expired: OrderCandidate[]) {
    let cancelled = 0;
    const skipped = 0;
    let errors = 0;
    const fees = 0n; // the fee goes back to the owner
    const fmt = (x: bigint) => `${formatUnits(x, this.d.decimals)} ${this.d.symbol}`;
    const book = this.d.orderBook.connect(this.signer);
    for (const c of expired) {
      try {
        const gas = await book.cancel.estimateGas(c.account, c.marketId, requestStruct(c.request));
        if (this.options.dryRun) {
          this.log(`dry run: would cancel the expired request ${describe([c])}, refunding ${fmt(c.executionFee)} fee`);
          continue;
        }
        const tx = await book.cancel(c.account, c.marketId, requestStruct(c.request), {
          gasLimit: (gas * GAS_HEADROOM_PERCENT) / 100n,
        });
        const receipt = await tx.wait();
        this.requests.delete(key(c.account, c.marketId));
        cancelled++;
        this.log(
          `cancelled the expired request ${describe([c])}, fee ${fmt(c.executionFee)} back to its owner, tx ${tx.hash} gas ${receipt?.gasUsed}`,
        );
      } catch (error) {
        errors++;
        this.log(`cancelling ${describe([c])} failed: ${this.why(error)}`);
      }
    }
    return { cancelled, skipped, errors, fees };
  }

  /**
   * LP requests: each still pending (`lpRequest(owner).amount != 0`, one call) is executed once every market
   * with positions has its round (found as for orders) and its fee pays the execution's estimated gas at the
   * current gas price, or cancelled once expired (the keeper pays that gas: the fee goes back to the owner). At
   * most `lpPerBlock` are sent per block, oldest first; the rest wait for the next block.
   */
  async processLpRequests(): Promise<{
    pending: number;
    executed: number;
    cancelled: number;
    skipped: number;
    fees: bigint;
    errors: number;
  }> {
    const pending = this.lpRequests.size;
    let [executed, cancelled, skipped, errors, sent, fees] = [0, 0, 0, 0, 0, 0n];
    if (pending === 0) return { pending, executed, cancelled, skipped, fees, errors };
    const limit = this.options.lpPerBlock ?? 10;
    this.rounds.refresh();
    const vault = this.d.vault.connect(this.signer);
    const queue = [...this.lpRequests.entries()].sort((a, b) => Number(a[1].notBefore - b[1].notBefore));
    for (const [k, seen] of queue) {
      if (sent >= limit) break;
      // The next block comes at least a second after the last one.
      if (this.now + 1n < seen.notBefore) continue;
      try {
        const r = await this.d.vault.lpRequest(seen.owner);
        if (r.amount === 0n) {
          this.lpRequests.delete(k);
          continue;
        }
        const [notBefore, expiresAt] = [BigInt(r.notBefore), BigInt(r.expiresAt)];
        const what = `${seen.owner}'s LP ${r.redeem ? "redemption" : "deposit"}`;
        if (this.now + 1n > expiresAt) {
          sent++;
          if (this.options.dryRun) this.log(`dry run: would cancel the expired ${what}`);
          else {
            const receipt = await (await vault.cancelRequest(seen.owner)).wait();
            this.log(`cancelled the expired ${what} tx ${receipt?.hash} gas ${receipt?.gasUsed}`);
            this.lpRequests.delete(k);
          }
          cancelled++;
          continue;
        }
        const rounds = await lpRoundIds(this.ethers, this.d, notBefore, this.rounds, this.feeds);
        if (!rounds) continue;
        const gas = await vault.executeRequest.estimateGas(seen.owner, rounds);
        const cost = await this.gasCostInCollateral(gas);
        const fmt = (x: bigint) => `${formatUnits(x, this.d.decimals)} ${this.d.symbol}`;
        if (r.executionFee < cost + this.options.minProfit) {
          skipped++;
          this.log(`skip ${what}: fee ${fmt(r.executionFee)} < gas ${fmt(cost)} + min profit`);
          continue;
        }
        sent++;
        if (this.options.dryRun) this.log(`dry run: would execute ${what} at rounds ${rounds.join(", ")}`);
        else {
          const receipt = await (
            await vault.executeRequest(seen.owner, rounds, { gasLimit: (gas * GAS_HEADROOM_PERCENT) / 100n })
          ).wait();
          this.log(`executed ${what} at rounds ${rounds.join(", ")} tx ${receipt?.hash} gas ${receipt?.gasUsed}`);
          this.lpRequests.delete(k);
        }
        fees += r.executionFee;
        executed++;
      } catch (error) {
        errors++;
        this.log(`LP request of ${seen.owner} failed: ${this.why(error)}`);
      }
    }
    return { pending, executed, cancelled, skipped, fees, errors };
  }

  /** One poll: on a new block, sync events, find and liquidate. */
  async tick(): Promise<TickResult | undefined> {
    const started = Date.now();
    let block: number;
    let chainReset = false;
    let otherSenderTxs = 0;
    try {
      const latest = (await this.ethers.provider.getBlock("latest"))!;
      block = latest.number;
      this.now = BigInt(latest.timestamp);
      const reset = await this.chain.changed(latest);
      if (reset) {
        this.log(
          `${reset}: the positions and requests indexed are stale; reloading them from block ${this.options.startBlock}`,
        );
        this.reload();
        chainReset = true;
      }
      if (block === this.lastBlock) return undefined;
      otherSenderTxs = await this.sender.others();
      if (otherSenderTxs > 0) {
        this.log(
          `warning: ${otherSenderTxs} transaction(s) from ${this.signer.address} since the last block were not sent by this keeper: ` +
            "another process signs from this account; two keepers on one account race for the same work and the loser pays gas for nothing (give each its own account with --from)",
        );
      }
    } catch (error) {
      this.log(`cannot read the latest block: ${this.why(error)}`);
      return undefined;
    }
    try {
      await this.sync(block);
    } catch (error) {
      this.log(`event scan up to block ${block} failed, will retry: ${this.why(error)}`);
      return undefined;
    }
    this.lastBlock = block;
    const found = await this.findLiquidatable(block);
    const result = found.candidates.length > 0 ? await this.liquidate(found.candidates) : undefined;
    // Liquidations first (they protect the pool); then the order book's requests.
    const pendingOrders = this.requests.size;
    const orders = this.options.orders === false ? undefined : await this.findOrders();
    const exec = orders && orders.ready.length > 0 ? await this.executeOrders(orders.ready) : undefined;
    const cancel = orders && orders.expired.length > 0 ? await this.cancelExpired(orders.expired) : undefined;
    const lp = this.options.lpRequests === false ? undefined : await this.processLpRequests();
    const tick: TickResult = {
      block,
      open: this.open.size,
      checked: found.checked,
      liquidatable: found.candidates.length,
      liquidated: result?.liquidated ?? 0,
      keeperFees: result?.keeperFees ?? 0n,
      skipped: result?.skipped ?? 0,
      pendingOrders,
      ordersReady: orders?.ready.length ?? 0,
      ordersExecuted: exec?.executed ?? 0,
      ordersRefused: exec?.refused ?? 0,
      ordersCancelled: cancel?.cancelled ?? 0,
      ordersSkipped: (exec?.skipped ?? 0) + (cancel?.skipped ?? 0),
      executionFees: (exec?.fees ?? 0n) + (cancel?.fees ?? 0n),
      pendingLpRequests: lp?.pending ?? 0,
      lpExecuted: lp?.executed ?? 0,
      lpCancelled: lp?.cancelled ?? 0,
      lpSkipped: lp?.skipped ?? 0,
      lpExecutionFees: lp?.fees ?? 0n,
      errors:
        found.errors +
        (result?.errors ?? 0) +
        (orders?.errors ?? 0) +
        (exec?.errors ?? 0) +
        (cancel?.errors ?? 0) +
        (lp?.errors ?? 0),
      chainReset,
      otherSenderTxs,
      dryRun: this.options.dryRun,
      ms: Date.now() - started,
    };
    await this.sender.settle().catch(() => this.sender.forget());
    if (orders && orders.ready.length + orders.expired.length > 0) {
      const fees = `${formatUnits(tick.executionFees, this.d.decimals)} ${this.d.symbol}`;
      this.log(
        `block ${block}: ${pendingOrders} pending request(s), ${tick.ordersReady} ready, ` +
          (this.options.dryRun
            ? `${tick.ordersReady + orders.expired.length - tick.ordersSkipped} would be executed or cancelled for ${fees} (dry run)`
            : `${tick.ordersExecuted} executed, ${tick.ordersRefused} refused at execution, ${tick.ordersCancelled} expired cancelled, for ${fees}`) +
          `, ${tick.ordersSkipped} skipped`,
      );
    }
    if (this.options.dryRun || found.candidates.length > 0 || tick.errors > 0) {
      const fees = `${formatUnits(tick.keeperFees, this.d.decimals)} ${this.d.symbol}`;
      this.log(
        `block ${block}: ${tick.open} open, ${tick.checked} checked, ${tick.liquidatable} liquidatable, ` +
          (this.options.dryRun
            ? `${tick.liquidatable - tick.skipped} would be liquidated for ${fees} (dry run)`
            : `${tick.liquidated} liquidated for ${fees}`) +
          `, ${tick.skipped} skipped, ${tick.errors} errors`,
      );
    }
    return tick;
  }

  /**
   * Polls every `intervalMs` until `iterations` polls have run (forever when 0) or `signal` aborts;
   * `onTick` sees each block's result.
   */
  async run(intervalMs: number, iterations = 0, signal?: AbortSignal, onTick?: (tick: TickResult) => void) {
    this.log(
      `watching from block ${this.options.startBlock}, liquidation fees to ${this.feeRecipient}` +
        (this.options.orders === false ? "" : `, execution fees to the signer ${this.signer.address}`) +
        (this.options.dryRun ? " (dry run)" : ""),
    );
    for (let i = 0; iterations === 0 || i < iterations; i++) {
      if (signal?.aborted) break;
      const tick = await this.tick();
      if (tick) onTick?.(tick);
      if (iterations !== 0 && i === iterations - 1) break;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

function describe(batch: { account: string; marketId: bigint }[]) {
  return batch.map((c) => `${c.account.slice(0, 8)}/${c.marketId}`).join(", ");
}

/** The first line of an error, with a decoded custom error name when one is found. */
export function short(error: unknown): string {
  const f = describeError(error);
  return f.args ? `${f.name}(${Object.values(f.args as object).join(", ")})` : f.message;
}
