// The keeper's first duty: find the positions that can be liquidated and liquidate them in batches that pay for
// themselves. It follows positions through the engine's events, keeps an index of their liquidation prices
// (from the lens), and at each new block reads one price per market and rechecks only the positions whose
// liquidation price the price has reached (within a band), plus a slice of the index refreshed round-robin.
import { mapLimit } from "../chain/concurrency.js";
import type { Deployment } from "../chain/deployment.js";
import { positionChanges, positionEvents } from "../chain/positions.js";
import { type KeeperContext, describe, key } from "./context.js";
import { GAS_HEADROOM_PERCENT, GasBatches, TX_GAS_CAP, gasCostInCollateral } from "./gas.js";
import { checkFeeRecipient } from "./guard.js";

const WAD = 10n ** 18n;

export interface Candidate {
  account: string;
  marketId: bigint;
  keeperFee: bigint;
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

type KeeperEvents = Awaited<ReturnType<Liquidations["events"]>>;

/**
 * The liquidation finder and liquidator: an index of open positions with their liquidation prices, the
 * liquidatable ones among them at each block, and `liquidateBatch` transactions when the keeper fee beats the
 * gas. Every RPC call is guarded: an error is logged and counted, and the keeper carries on.
 */
export class Liquidations {
  /** Open positions, by `account:marketId`. */
  readonly open = new Map<string, Entry>();
  private readonly oracles = new Map<bigint, Deployment["ethOracle"]>();

  constructor(private readonly ctx: KeeperContext) {}

  /** Forgets every position and oracle read from the chain. */
  forget() {
    this.open.clear();
    this.oracles.clear();
  }

  /** The engine's position events and MarketConfigUpdated in `from`..`to`. */
  async events(from: number, to: number) {
    const engine = this.ctx.d.engine;
    const [positions, configs] = await Promise.all([
      positionEvents(this.ctx.d, from, to),
      engine.queryFilter(engine.filters.MarketConfigUpdated(), from, to),
    ]);
    return { positions, configs };
  }

  /** Updates the index from `events`, in the chain's order: a position of size 0 is gone, any other is dirty. */
  apply({ positions, configs }: KeeperEvents) {
    for (const { account, marketId, size } of positionChanges(positions)) {
      const k = key(account, marketId);
      if (size === 0n) this.open.delete(k);
      else this.open.set(k, { account, marketId, long: size > 0n, dirty: true, refreshedAt: -1 });
    }
    const changedMarkets = new Set(configs.map((e) => e.args.marketId));
    for (const entry of this.open.values()) if (changedMarkets.has(entry.marketId)) entry.dirty = true;
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
            const m = await this.ctx.d.lens.getMarket(id);
            oracle = await this.ctx.ethers.getContractAt("ChainlinkOracle", m.oracle);
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
    const band = this.ctx.options.band ?? WAD / 50n;
    const lp = entry.liquidationPrice;
    if (lp === undefined) return true;
    if (entry.long) return lp !== 0n && price * WAD <= lp * (WAD + band);
    return lp === 0n || price * WAD >= lp * (WAD - band);
  }

  /**
   * The liquidatable positions with their keeper fee: refreshes the index where needed, then previews
   * only the positions whose liquidation price the current price has reached.
   */
  async find(block: number): Promise<{ candidates: Candidate[]; errors: number; checked: number }> {
    const limit = this.ctx.options.concurrency ?? 32;
    const entries = [...this.open.values()];
    let errors = 0;
    let checked = 0;
    let toPreview: Entry[];
    if (this.ctx.options.fullScan) {
      toPreview = entries;
    } else {
      const prices = await this.prices();
      const usable: Entry[] = [];
      for (const [id, price] of prices) {
        const inMarket = entries.filter((e) => e.marketId === id);
        if (price instanceof Error) {
          errors++;
          this.ctx.log(
            `market ${id}: the oracle refuses a price (${this.ctx.why(price)}); ${inMarket.length} position(s) not checked`,
          );
        } else usable.push(...inMarket);
      }
      // Refresh the dirty entries and the oldest slice of the rest.
      const budget = this.ctx.options.refreshPerBlock ?? Math.max(50, Math.ceil(usable.length / 20));
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
          const h = await this.ctx.d.lens.positionHealth(e.account, e.marketId);
          e.liquidationPrice = h.liquidationPrice;
          e.long = h.size > 0n;
          e.dirty = false;
          e.refreshedAt = block;
          (h.liquidatable ? unhealthy : healthy).add(e);
        } catch (error) {
          errors++;
          e.dirty = true;
          this.ctx.log(`health check failed for ${e.account} market ${e.marketId}: ${this.ctx.why(error)}`);
        }
      });
      toPreview = usable.filter(
        (e) => !e.dirty && (unhealthy.has(e) || (!healthy.has(e) && this.crossed(e, prices.get(e.marketId) as bigint))),
      );
    }
    const previews = await mapLimit(toPreview, limit, async ({ account, marketId }) => {
      checked++;
      try {
        const p = await this.ctx.d.lens.previewLiquidation(account, marketId);
        return p.liquidatable ? { account, marketId, keeperFee: p.keeperFee } : undefined;
      } catch (error) {
        errors++;
        this.ctx.log(`preview failed for ${account} market ${marketId}: ${this.ctx.why(error)}`);
        return undefined;
      }
    });
    return { candidates: previews.filter((c): c is Candidate => c !== undefined), errors, checked };
  }

  /** Liquidates `candidates` in batches that pay for themselves. */
  async liquidate(candidates: Candidate[]) {
    let liquidated = 0;
    let keeperFees = 0n;
    let skipped = 0;
    let errors = 0;
    const fmt = (x: bigint) => this.ctx.fmt(x);
    const cap = this.ctx.options.maxTxGas ?? TX_GAS_CAP;
    const batches = new GasBatches(candidates, this.ctx.options.batchSize, cap, this.ctx.log);
    while (batches.queue.length > 0) {
      const batch = batches.queue.shift()!;
      if (batches.splitAhead(batch)) continue;
      const accounts = batch.map((c) => c.account);
      const ids = batch.map((c) => c.marketId);
      const expectedFee = batch.reduce((sum, c) => sum + c.keeperFee, 0n);
      const engine = this.ctx.d.engine.connect(this.ctx.signer);
      try {
        let gas: bigint | undefined;
        try {
          gas = await engine.liquidateBatch.estimateGas(accounts, ids, this.ctx.feeRecipient);
        } catch (error) {
          // A batch too large for a block cannot even be estimated: split it.
          if (batch.length === 1) throw error;
        }
        if (batches.splitAfter(batch, gas) || gas === undefined) continue;
        const cost = await gasCostInCollateral(this.ctx, gas);
        if (expectedFee < cost + this.ctx.options.minProfit) {
          skipped += batch.length;
          this.ctx.log(
            `skip batch of ${batch.length}: fee ${fmt(expectedFee)} < gas ${fmt(cost)} + min profit ${fmt(this.ctx.options.minProfit)}`,
          );
          continue;
        }
        if (this.ctx.options.dryRun) {
          keeperFees += expectedFee;
          this.ctx.log(
            `dry run: would liquidate ${batch.length} (${describe(batch)}) for ${fmt(expectedFee)}, gas ${fmt(cost)}`,
          );
          continue;
        }
        const gasLimit = (gas * GAS_HEADROOM_PERCENT) / 100n;
        const tx = await engine.liquidateBatch(accounts, ids, this.ctx.feeRecipient, {
          gasLimit: gasLimit < cap ? gasLimit : cap,
        });
        const receipt = await tx.wait();
        const event = receipt?.logs
          .map((l) => {
            try {
              return this.ctx.d.engine.interface.parseLog(l);
            } catch {
              return null;
            }
          })
          .find((parsed) => parsed?.name === "BatchLiquidated");
        const count = event ? Number(event.args.liquidated) : 0;
        const fees = event ? (event.args.keeperFees as bigint) : 0n;
        liquidated += count;
        keeperFees += fees;
        this.ctx.log(
          `liquidated ${count}/${batch.length} (${describe(batch)}) fee ${fmt(fees)} tx ${tx.hash} gas ${receipt?.gasUsed}`,
        );
      } catch (error) {
        errors++;
        let reason = this.ctx.why(error);
        // A recipient the token refuses fails every batch: say so plainly.
        try {
          await checkFeeRecipient(this.ctx);
        } catch (recipientError) {
          reason = (recipientError as Error).message;
        }
        this.ctx.log(`batch of ${batch.length} failed (${describe(batch)}): ${reason}`);
      }
    }
    return { liquidated, keeperFees, skipped, errors };
  }
}
