// The keeper's LP duty: follow the vault's LP requests through its events, execute each at its rounds once its
// fee pays the gas, and hand the expired ones to the expiry duty, at most `lpPerBlock` a block, oldest first.
import { type LpRequest, lpRoundIds } from "../requests/lp.js";
import type { KeeperContext } from "./context.js";
import { cancelExpiredLpRequest, expiredByNextBlock } from "./expiry.js";
import { GAS_HEADROOM_PERCENT, gasCostInCollateral } from "./gas.js";

type LpEvents = Awaited<ReturnType<LpRequests["events"]>>;

/** The vault's pending LP requests and their execution. */
export class LpRequests {
  /** LP requests seen in LpRequested events and not yet executed or cancelled, by controller (lower case). */
  readonly requests = new Map<string, LpRequest>();

  constructor(private readonly ctx: KeeperContext) {}

  /** The vault's LpRequested events, and its LpRequestExecuted and LpRequestCancelled together, in `from`..`to`. */
  events(from: number, to: number) {
    const vault = this.ctx.d.vault;
    const none = Promise.resolve([]);
    const lp = this.ctx.options.lpRequests !== false;
    return Promise.all([
      lp ? vault.queryFilter(vault.filters.LpRequested(), from, to) : none,
      lp
        ? Promise.all([
            vault.queryFilter(vault.filters.LpRequestExecuted(), from, to),
            vault.queryFilter(vault.filters.LpRequestCancelled(), from, to),
          ]).then(([a, b]) => [...a, ...b])
        : none,
    ]);
  }

  /** Updates the pending requests from `events`, in the chain's order. */
  apply([lpRequested, lpDone]: LpEvents) {
    const lpEvents = [
      ...lpRequested.map((e) => ({ e, pending: true })),
      ...lpDone.map((e) => ({ e, pending: false })),
    ].sort((a, b) => a.e.blockNumber - b.e.blockNumber || a.e.index - b.e.index);
    for (const { e, pending } of lpEvents) {
      const a = e.args as unknown as {
        controller: string;
        redeem: boolean;
        amount: bigint;
        notBefore: bigint;
        expiresAt: bigint;
        executionFee: bigint;
      };
      if (!pending) this.requests.delete(a.controller.toLowerCase());
      else
        this.requests.set(a.controller.toLowerCase(), {
          owner: a.controller,
          redeem: a.redeem,
          amount: a.amount,
          notBefore: a.notBefore,
          expiresAt: a.expiresAt,
          executionFee: a.executionFee,
        });
    }
  }

  /**
   * LP requests: each still pending (`lpRequest(owner).amount != 0`, one call) is executed once every market
   * with positions has its round (found as for orders) and its fee pays the execution's estimated gas at the
   * current gas price, or cancelled once expired (the keeper pays that gas: the fee goes back to the owner). At
   * most `lpPerBlock` are sent per block, oldest first; the rest wait for the next block.
   */
  async process(): Promise<{
    pending: number;
    executed: number;
    cancelled: number;
    skipped: number;
    fees: bigint;
    errors: number;
  }> {
    const pending = this.requests.size;
    let [executed, cancelled, skipped, errors, sent, fees] = [0, 0, 0, 0, 0, 0n];
    if (pending === 0) return { pending, executed, cancelled, skipped, fees, errors };
    const limit = this.ctx.options.lpPerBlock ?? 10;
    this.ctx.rounds.refresh();
    const vault = this.ctx.d.vault.connect(this.ctx.signer);
    const queue = [...this.requests.entries()].sort((a, b) => Number(a[1].notBefore - b[1].notBefore));
    for (const [k, seen] of queue) {
      if (sent >= limit) break;
      // The next block comes at least a second after the last one.
      if (this.ctx.now + 1n < seen.notBefore) continue;
      try {
        const r = await this.ctx.d.vault.lpRequest(seen.owner);
        if (r.amount === 0n) {
          this.requests.delete(k);
          continue;
        }
        const [notBefore, expiresAt] = [BigInt(r.notBefore), BigInt(r.expiresAt)];
        const what = `${seen.owner}'s LP ${r.redeem ? "redemption" : "deposit"}`;
        if (expiredByNextBlock(this.ctx, expiresAt)) {
          sent++;
          if (await cancelExpiredLpRequest(this.ctx, seen.owner, what)) this.requests.delete(k);
          cancelled++;
          continue;
        }
        const rounds = await lpRoundIds(this.ctx.ethers, this.ctx.d, notBefore, this.ctx.rounds, this.ctx.feeds);
        if (!rounds) continue;
        const gas = await vault.executeRequest.estimateGas(seen.owner, rounds);
        const cost = await gasCostInCollateral(this.ctx, gas);
        const fmt = (x: bigint) => this.ctx.fmt(x);
        if (r.executionFee < cost + this.ctx.options.minProfit) {
          skipped++;
          this.ctx.log(`skip ${what}: fee ${fmt(r.executionFee)} < gas ${fmt(cost)} + min profit`);
          continue;
        }
        sent++;
        if (this.ctx.options.dryRun) this.ctx.log(`dry run: would execute ${what} at rounds ${rounds.join(", ")}`);
        else {
          const receipt = await (
            await vault.executeRequest(seen.owner, rounds, { gasLimit: (gas * GAS_HEADROOM_PERCENT) / 100n })
          ).wait();
          this.ctx.log(`executed ${what} at rounds ${rounds.join(", ")} tx ${receipt?.hash} gas ${receipt?.gasUsed}`);
          this.requests.delete(k);
        }
        fees += r.executionFee;
        executed++;
      } catch (error) {
        errors++;
        this.ctx.log(`LP request of ${seen.owner} failed: ${this.ctx.why(error)}`);
      }
    }
    return { pending, executed, cancelled, skipped, fees, errors };
  }
}
