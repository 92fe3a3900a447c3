import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { Contract } from "ethers";
import { type Deployment, formatUnits } from "./deployment.js";

const FEED_ABI = [
  "function decimals() view returns (uint8)",
  "function latestRoundData() view returns (uint80, int256, uint256, uint256, uint80)",
];

export interface KeeperOptions {
  /** Receives the keeper fees; defaults to the signer. */
  feeRecipient?: string;
  /** Profit a batch must make beyond its gas cost, in collateral units. */
  minProfit: bigint;
  /** Positions per liquidateBatch transaction. */
  batchSize: number;
  /** First block to scan for PositionModified events. */
  startBlock: number;
  /** Log what would be liquidated without sending transactions. */
  dryRun: boolean;
  /** Blocks per eth_getLogs request. */
  logChunk?: number;
  log?: (line: string) => void;
}

export interface Candidate {
  account: string;
  marketId: bigint;
  keeperFee: bigint;
}

export interface TickResult {
  block: number;
  open: number;
  liquidatable: number;
  liquidated: number;
  keeperFees: bigint;
  skipped: number;
  errors: number;
}

const key = (account: string, marketId: bigint) => `${account.toLowerCase()}:${marketId}`;

/**
 * A liquidation keeper: follows positions through the engine's events, asks the lens which are
 * liquidatable at each new block, and liquidates them in batches when the keeper fee beats the gas.
 * Every RPC call is guarded: an error is logged and the keeper carries on at the next block.
 */
export class Keeper {
  /** Open positions, by `account:marketId`. */
  readonly open = new Map<string, { account: string; marketId: bigint }>();
  private scannedTo: number;
  private lastBlock = -1;
  private readonly log: (line: string) => void;

  constructor(
    readonly ethers: HardhatEthers,
    readonly d: Deployment,
    readonly signer: HardhatEthersSigner,
    readonly options: KeeperOptions,
  ) {
    this.scannedTo = options.startBlock - 1;
    this.log = options.log ?? ((line) => console.log(`[keeper ${new Date().toISOString()}] ${line}`));
  }

  get feeRecipient() {
    return this.options.feeRecipient || this.signer.address;
  }

  /** Reads PositionModified and PositionLiquidated events up to `toBlock` into the open set. */
  async sync(toBlock: number) {
    const chunk = this.options.logChunk ?? 2_000;
    const engine = this.d.engine;
    for (let from = this.scannedTo + 1; from <= toBlock; from += chunk) {
      const to = Math.min(toBlock, from + chunk - 1);
      const [modified, liquidated] = await Promise.all([
        engine.queryFilter(engine.filters.PositionModified(), from, to),
        engine.queryFilter(engine.filters.PositionLiquidated(), from, to),
      ]);
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
        if (size === 0n) this.open.delete(key(account, marketId));
        else this.open.set(key(account, marketId), { account, marketId });
      }
      this.scannedTo = to;
    }
  }

  /** Previews every open position; returns the liquidatable ones with their keeper fee. */
  async findLiquidatable(): Promise<{ candidates: Candidate[]; errors: number }> {
    let errors = 0;
    const previews = await Promise.all(
      [...this.open.values()].map(async ({ account, marketId }) => {
        try {
          const p = await this.d.lens.previewLiquidation(account, marketId);
          return p.liquidatable ? { account, marketId, keeperFee: p.keeperFee } : undefined;
        } catch (error) {
          errors++;
          this.log(`preview failed for ${account} market ${marketId}: ${short(error)}`);
          return undefined;
        }
      }),
    );
    return { candidates: previews.filter((c): c is Candidate => c !== undefined), errors };
  }

  /** Gas cost of `gas` at the current gas price, in collateral units (ETH priced by the ETH-USD oracle). */
  async gasCostInCollateral(gas: bigint): Promise<bigint> {
    const fees = await this.ethers.provider.getFeeData();
    const gasPrice = fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
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
      this.log(`ETH-USD oracle refused (${short(error)}); pricing gas at the feed's last answer`);
      return (answer as bigint) * 10n ** (18n - BigInt(decimals));
    }
  }

  /** Liquidates `candidates` in batches that pay for themselves. */
  async liquidate(candidates: Candidate[]) {
    let liquidated = 0;
    let keeperFees = 0n;
    let skipped = 0;
    let errors = 0;
    const fmt = (x: bigint) => formatUnits(x, this.d.decimals);
    for (let i = 0; i < candidates.length; i += this.options.batchSize) {
      const batch = candidates.slice(i, i + this.options.batchSize);
      const accounts = batch.map((c) => c.account);
      const ids = batch.map((c) => c.marketId);
      const expectedFee = batch.reduce((sum, c) => sum + c.keeperFee, 0n);
      const engine = this.d.engine.connect(this.signer);
      try {
        const gas = await engine.liquidateBatch.estimateGas(accounts, ids, this.feeRecipient);
        const cost = await this.gasCostInCollateral(gas);
        if (expectedFee < cost + this.options.minProfit) {
          skipped += batch.length;
          this.log(
            `skip batch of ${batch.length}: fee ${fmt(expectedFee)} < gas ${fmt(cost)} + min profit ${fmt(this.options.minProfit)}`,
          );
          continue;
        }
        if (this.options.dryRun) {
          this.log(
            `dry run: would liquidate ${batch.length} (${describe(batch)}) for ${fmt(expectedFee)}, gas ${fmt(cost)}`,
          );
          continue;
        }
        const tx = await engine.liquidateBatch(accounts, ids, this.feeRecipient, { gasLimit: (gas * 12n) / 10n });
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
        this.log(`batch of ${batch.length} failed (${describe(batch)}): ${short(error)}`);
      }
    }
    return { liquidated, keeperFees, skipped, errors };
  }

  /** One poll: on a new block, sync events, find and liquidate. */
  async tick(): Promise<TickResult | undefined> {
    let block: number;
    try {
      block = await this.ethers.provider.getBlockNumber();
    } catch (error) {
      this.log(`cannot read the block number: ${short(error)}`);
      return undefined;
    }
    if (block === this.lastBlock) return undefined;
    try {
      await this.sync(block);
    } catch (error) {
      this.log(`event scan up to block ${block} failed, will retry: ${short(error)}`);
      return undefined;
    }
    this.lastBlock = block;
    const found = await this.findLiquidatable();
    const result = found.candidates.length > 0 ? await this.liquidate(found.candidates) : undefined;
    const tick: TickResult = {
      block,
      open: this.open.size,
      liquidatable: found.candidates.length,
      liquidated: result?.liquidated ?? 0,
      keeperFees: result?.keeperFees ?? 0n,
      skipped: result?.skipped ?? 0,
      errors: found.errors + (result?.errors ?? 0),
    };
    if (found.candidates.length > 0 || tick.errors > 0) {
      this.log(
        `block ${block}: ${tick.open} open, ${tick.liquidatable} liquidatable, ${tick.liquidated} liquidated, ${tick.skipped} skipped, ${tick.errors} errors`,
      );
    }
    return tick;
  }

  /** Polls every `intervalMs` until `iterations` polls have run (forever when 0) or `signal` aborts. */
  async run(intervalMs: number, iterations = 0, signal?: AbortSignal) {
    this.log(
      `watching from block ${this.options.startBlock}, fees to ${this.feeRecipient}${this.options.dryRun ? " (dry run)" : ""}`,
    );
    for (let i = 0; iterations === 0 || i < iterations; i++) {
      if (signal?.aborted) break;
      await this.tick();
      if (iterations !== 0 && i === iterations - 1) break;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

function describe(batch: Candidate[]) {
  return batch.map((c) => `${c.account.slice(0, 8)}/${c.marketId}`).join(", ");
}

/** The first line of an error, with a decoded custom error name when ethers found one. */
export function short(error: unknown): string {
  const e = error as { shortMessage?: string; message?: string; revert?: { name?: string; args?: unknown[] } };
  if (e?.revert?.name) return `${e.revert.name}(${(e.revert.args ?? []).join(", ")})`;
  const text = (e?.shortMessage ?? e?.message ?? String(error)).split("\n")[0];
  return /reverted with custom error '([^']+)'/.exec(text)?.[1] ?? text;
}
