// The keeper's loop, above its duties: at each new block it checks its surroundings (guard.ts), reads the
// events since the last block into each duty's index, then runs the duties in order: liquidations first (they
// protect the pool), then the order book's requests (orders.ts, expired ones by expiry.ts), then LP requests
// (lp-requests.ts). It reports what the block's round did as one TickResult.
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { ToolSigner } from "../chain/cli.js";
import type { Deployment } from "../chain/deployment.js";
import { KeeperContext, type KeeperOptions } from "./context.js";
import { cancelExpiredOrders } from "./expiry.js";
import { ChainWatch, SenderWatch, checkExecutor, checkFeeRecipient } from "./guard.js";
import { Liquidations } from "./liquidations.js";
import { LpRequests } from "./lp-requests.js";
import { Orders } from "./orders.js";
import { type RiskReading, readRisk } from "./risk.js";

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
  /** With `riskGap`: the open positions' bad debt at that gap beside the backstop's window capacity. */
  risk?: RiskReading;
  dryRun: boolean;
  ms: number;
}

/**
 * A keeper: liquidates the positions whose keeper fee beats the gas (liquidations.ts), executes the order
 * book's and the vault's requests whose fees pay for their gas (orders.ts, lp-requests.ts) and cancels the
 * expired ones (expiry.ts). Every RPC call is guarded: an error is logged and the keeper carries on at the next
 * block.
 */
export class Keeper {
  readonly ctx: KeeperContext;
  readonly liquidations: Liquidations;
  readonly orders: Orders;
  readonly lpRequests: LpRequests;
  private readonly chain: ChainWatch;
  private readonly sender: SenderWatch;
  private scannedTo: number;
  private lastBlock = -1;

  constructor(
    readonly ethers: HardhatEthers,
    readonly d: Deployment,
    readonly signer: ToolSigner,
    readonly options: KeeperOptions,
  ) {
    this.scannedTo = options.startBlock - 1;
    this.ctx = new KeeperContext(ethers, d, signer, options);
    this.liquidations = new Liquidations(this.ctx);
    this.orders = new Orders(this.ctx);
    this.lpRequests = new LpRequests(this.ctx);
    this.chain = new ChainWatch(ethers.provider);
    this.sender = new SenderWatch(ethers.provider, signer.address);
  }

  /** Forgets everything read from the chain, so that the next sync rebuilds it from `startBlock`. */
  private reload() {
    this.liquidations.forget();
    this.orders.requests.clear();
    this.lpRequests.requests.clear();
    this.ctx.forget();
    this.scannedTo = this.options.startBlock - 1;
    this.lastBlock = -1;
    this.sender.forget();
  }

  /** Refuses to start when the keeper would execute requests from an account that is not an executor. */
  checkExecutor(): Promise<void> {
    return checkExecutor(this.ctx);
  }

  /** Refuses to start when the fee recipient cannot receive the collateral. */
  checkFeeRecipient(): Promise<void> {
    return checkFeeRecipient(this.ctx);
  }

  /**
   * Reads PositionModified, PositionLiquidated and MarketConfigUpdated events, the order book's
   * OrderRequested, OrderExecuted and OrderCancelled, and the vault's LP request events, up to `toBlock`.
   */
  async sync(toBlock: number) {
    const chunk = this.options.logChunk ?? 2_000;
    for (let from = this.scannedTo + 1; from <= toBlock; from += chunk) {
      const to = Math.min(toBlock, from + chunk - 1);
      const [positions, orders, lp] = await Promise.all([
        this.liquidations.events(from, to),
        this.orders.events(from, to),
        this.lpRequests.events(from, to),
      ]);
      this.lpRequests.apply(lp);
      this.orders.apply(orders);
      this.liquidations.apply(positions);
      this.scannedTo = to;
    }
  }

  /** One poll: on a new block, check the surroundings, sync events and run the duties in order. */
  async tick(): Promise<TickResult | undefined> {
    const started = Date.now();
    let block: number;
    let chainReset = false;
    let otherSenderTxs = 0;
    try {
      const latest = (await this.ctx.ethers.provider.getBlock("latest"))!;
      block = latest.number;
      this.ctx.now = BigInt(latest.timestamp);
      const reset = await this.chain.changed(latest);
      if (reset) {
        this.ctx.log(
          `${reset}: the positions and requests indexed are stale; reloading them from block ${this.options.startBlock}`,
        );
        this.reload();
        chainReset = true;
      }
      if (block === this.lastBlock) return undefined;
      otherSenderTxs = await this.sender.others();
      if (otherSenderTxs > 0) {
        this.ctx.log(
          `warning: ${otherSenderTxs} transaction(s) from ${this.signer.address} since the last block were not sent by this keeper: ` +
            "another process signs from this account; two keepers on one account race for the same work and the loser pays gas for nothing (give each its own account with --from)",
        );
      }
    } catch (error) {
      this.ctx.log(`cannot read the latest block: ${this.ctx.why(error)}`);
      return undefined;
    }
    try {
      await this.sync(block);
    } catch (error) {
      this.ctx.log(`event scan up to block ${block} failed, will retry: ${this.ctx.why(error)}`);
      return undefined;
    }
    this.lastBlock = block;
    const found = await this.liquidations.find(block);
    const result = found.candidates.length > 0 ? await this.liquidations.liquidate(found.candidates) : undefined;
    // Liquidations first (they protect the pool); then the order book's requests.
    const pendingOrders = this.orders.requests.size;
    const orders = this.options.orders === false ? undefined : await this.orders.find();
    const exec = orders && orders.ready.length > 0 ? await this.orders.execute(orders.ready) : undefined;
    const cancel =
      orders && orders.expired.length > 0
        ? await cancelExpiredOrders(this.ctx, orders.expired, this.orders.requests)
        : undefined;
    const lp = this.options.lpRequests === false ? undefined : await this.lpRequests.process();
    const risk =
      this.options.riskGap === undefined
        ? undefined
        : await readRisk(this.ctx, this.liquidations.open.values(), this.options.riskGap);
    const tick: TickResult = {
      block,
      open: this.liquidations.open.size,
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
      ...(risk ? { risk } : {}),
      dryRun: this.options.dryRun,
      ms: Date.now() - started,
    };
    await this.sender.settle().catch(() => this.sender.forget());
    if (orders && orders.ready.length + orders.expired.length > 0) {
      const fees = this.ctx.fmt(tick.executionFees);
      this.ctx.log(
        `block ${block}: ${pendingOrders} pending request(s), ${tick.ordersReady} ready, ` +
          (this.options.dryRun
            ? `${tick.ordersReady + orders.expired.length - tick.ordersSkipped} would be executed or cancelled for ${fees} (dry run)`
            : `${tick.ordersExecuted} executed, ${tick.ordersRefused} refused at execution, ${tick.ordersCancelled} expired cancelled, for ${fees}`) +
          `, ${tick.ordersSkipped} skipped`,
      );
    }
    if (this.options.dryRun || found.candidates.length > 0 || tick.errors > 0) {
      const fees = this.ctx.fmt(tick.keeperFees);
      this.ctx.log(
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
    this.ctx.log(
      `watching from block ${this.options.startBlock}, liquidation fees to ${this.ctx.feeRecipient}` +
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
