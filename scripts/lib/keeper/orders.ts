// The keeper's order duty: follow the order book's requests through its events, find those whose execution
// round has come (and those expired, for the expiry duty), and execute them with `executeBatch` when their
// fees pay for the gas.
import { mapLimit } from "../chain/concurrency.js";
import {
  type PendingRequest,
  classGas,
  classOf,
  execution,
  fromRequestedEvent,
  isStillPending,
} from "../requests/orders.js";
import { type KeeperContext, type OrderCandidate, describe, key } from "./context.js";
import { expiredByNextBlock } from "./expiry.js";
import { GAS_HEADROOM_PERCENT, GasBatches, TX_GAS_CAP, gasCostInCollateral } from "./gas.js";

type OrderEvents = Awaited<ReturnType<Orders["events"]>>;

/** The order book's pending requests and their execution. */
export class Orders {
  /**
   * Order book requests seen requested (rebuilt from their OrderRequested events) and not yet executed or
   * cancelled, by `account:marketId`.
   */
  readonly requests = new Map<string, PendingRequest>();

  constructor(private readonly ctx: KeeperContext) {}

  /** The book's OrderRequested, OrderExecuted and OrderCancelled events in `from`..`to` (none when orders are off). */
  events(from: number, to: number) {
    const book = this.ctx.d.orderBook;
    const none = Promise.resolve([]);
    const orders = this.ctx.options.orders !== false;
    return Promise.all([
      orders ? book.queryFilter(book.filters.OrderRequested(), from, to) : none,
      orders ? book.queryFilter(book.filters.OrderExecuted(), from, to) : none,
      orders ? book.queryFilter(book.filters.OrderCancelled(), from, to) : none,
    ]);
  }

  /** Updates the pending requests from `events`, in the chain's order. */
  apply([requested, executed, cancelled]: OrderEvents) {
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
  }

  /**
   * The pending requests that can be executed now (their round has come) and those expired (to cancel),
   * each checked against the book's commitment (`pendingRequest`, one call); requests no longer pending
   * (or not as the event said) are forgotten.
   */
  async find(): Promise<{ ready: OrderCandidate[]; expired: OrderCandidate[]; errors: number }> {
    const ready: OrderCandidate[] = [];
    const expired: OrderCandidate[] = [];
    let errors = 0;
    if (this.requests.size === 0) return { ready, expired, errors };
    this.ctx.rounds.refresh();
    await mapLimit([...this.requests.entries()], this.ctx.options.concurrency ?? 32, async ([k, r]) => {
      try {
        if (!(await isStillPending(this.ctx.d, r))) {
          this.requests.delete(k);
          return;
        }
        const c = { account: r.account, marketId: r.marketId, executionFee: r.executionFee, request: r };
        if (expiredByNextBlock(this.ctx, r.expiresAt)) {
          expired.push(c);
          return;
        }
        const roundId = await this.ctx.rounds.first(await this.ctx.feeds.feedOf(r.marketId), r.notBefore);
        if (roundId !== undefined) ready.push({ ...c, roundId });
      } catch (error) {
        errors++;
        this.ctx.log(`request check failed for ${r.account} market ${r.marketId}: ${this.ctx.why(error)}`);
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
  async execute(ready: OrderCandidate[]) {
    let executed = 0;
    let refused = 0;
    let skipped = 0;
    let errors = 0;
    let fees = 0n;
    const fmt = (x: bigint) => this.ctx.fmt(x);
    const cap = this.ctx.options.maxTxGas ?? TX_GAS_CAP;
    const batches = new GasBatches(ready, this.ctx.options.batchSize, cap, this.ctx.log, " requests");
    const book = this.ctx.d.orderBook.connect(this.ctx.signer);
    while (batches.queue.length > 0) {
      const batch = batches.queue.shift()!;
      if (batches.splitAhead(batch)) continue;
      const args = [batch.map((c) => execution(c.request, c.roundId!))] as const;
      try {
        let gas: bigint | undefined;
        try {
          gas = await book.executeBatch.estimateGas(...args);
        } catch (error) {
          if (batch.length === 1) throw error;
        }
        if (batches.splitAfter(batch, gas) || gas === undefined) continue;
        const cost = await gasCostInCollateral(this.ctx, gas);
        const weights = await classGas(this.ctx.d);
        const weightOf = (c: OrderCandidate) => weights[classOf(c.request.kind)];
        const total = batch.reduce((sum, c) => sum + weightOf(c), 0n);
        const shareOf = (c: OrderCandidate) => (cost * weightOf(c) + total - 1n) / total;
        const unpaid = batch.filter((c) => c.executionFee < shareOf(c));
        if (unpaid.length > 0) {
          skipped += unpaid.length;
          this.ctx.log(
            `skip ${unpaid.length} request(s) (${describe(unpaid)}): fee below their share of the gas (${unpaid.map((c) => fmt(shareOf(c))).join(", ")})`,
          );
          const paid = batch.filter((c) => c.executionFee >= shareOf(c));
          if (paid.length > 0) batches.queue.unshift(paid); // re-estimated without them
          continue;
        }
        const expectedFee = batch.reduce((sum, c) => sum + c.executionFee, 0n);
        if (expectedFee < cost + this.ctx.options.minProfit) {
          skipped += batch.length;
          this.ctx.log(
            `skip batch of ${batch.length} requests: fees ${fmt(expectedFee)} < gas ${fmt(cost)} + min profit ${fmt(this.ctx.options.minProfit)}`,
          );
          continue;
        }
        if (this.ctx.options.dryRun) {
          fees += expectedFee;
          this.ctx.log(
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
          if (log.address.toLowerCase() !== String(this.ctx.d.orderBook.target).toLowerCase()) continue;
          const parsed = this.ctx.d.orderBook.interface.parseLog(log);
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
        this.ctx.log(
          `batch of ${batch.length} request(s) (${describe(batch)}): ${outcome.executed} executed, ${outcome.refused} refused at execution` +
            (skippedByBook > 0
              ? `, ${skippedByBook} skipped by the book (no longer pending: another executor first? or its round refused)`
              : "") +
            `; fees ${fmt(outcome.fees)} tx ${tx.hash} gas ${receipt?.gasUsed}`,
        );
      } catch (error) {
        errors++;
        this.ctx.log(`batch of ${batch.length} request(s) failed (${describe(batch)}): ${this.ctx.why(error)}`);
      }
    }
    return { executed, refused, skipped, errors, fees };
  }
}
