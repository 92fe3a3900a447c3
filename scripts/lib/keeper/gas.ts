// What the keeper's gas costs in collateral: every duty sends only work whose fees pay for it. Gas is priced at
// the keeper's --gas-price or the node's fee data, and ETH at the ETH-USD oracle (its feed's last answer when
// the oracle refuses: liquidations must not stop for it).
import { Contract } from "ethers";
import type { KeeperContext } from "./context.js";

const FEED_ABI = [
  "function decimals() view returns (uint8)",
  "function latestRoundData() view returns (uint80, int256, uint256, uint256, uint80)",
];
/** EIP-7825: no transaction may ask for more gas than this. */
export const TX_GAS_CAP = 16_777_216n;
/** The keeper asks for this much more than the estimate (refunds only count after execution). */
export const GAS_HEADROOM_PERCENT = 124n;

/** Gas cost of `gas` at the current gas price, in collateral units (ETH priced by the ETH-USD oracle). */
export async function gasCostInCollateral(ctx: KeeperContext, gas: bigint): Promise<bigint> {
  let gasPrice = ctx.options.gasPrice;
  if (gasPrice === undefined) {
    const fees = await ctx.ethers.provider.getFeeData();
    gasPrice = fees.maxFeePerGas ?? fees.gasPrice ?? 0n;
  }
  const usdPerEth = await ethUsd(ctx); // 18 decimals
  const wei = gas * gasPrice;
  // wei (1e18 per ETH) x USD/ETH (1e18) -> collateral units, rounded up: never overestimate profit.
  const denominator = 10n ** 36n / 10n ** BigInt(ctx.d.decimals);
  return (wei * usdPerEth + denominator - 1n) / denominator;
}

/**
 * ETH's price in USD (18 decimals) for gas costs: the ETH-USD oracle, or when it refuses (stale, out of
 * bounds), the feed's raw last answer: good enough to price gas, and liquidations must not stop for it.
 */
export async function ethUsd(ctx: KeeperContext): Promise<bigint> {
  try {
    return await ctx.d.ethOracle.price();
  } catch (error) {
    const feed = new Contract(await ctx.d.ethOracle.feed(), FEED_ABI, ctx.ethers.provider);
    const [[, answer], decimals] = await Promise.all([feed.latestRoundData(), feed.decimals()]);
    ctx.log(`ETH-USD oracle refused (${ctx.why(error)}); pricing gas at the feed's last answer`);
    return (answer as bigint) * 10n ** (18n - BigInt(decimals));
  }
}

/**
 * A duty's work in batches of at most `size` whose gas (with the headroom) stays under the transaction cap: a batch
 * over it is split in two and both halves go back to the front of the queue. A batch that would pass the cap at
 * the gas per item of the largest batch estimated so far is split without asking the node, whose estimate of a
 * batch over the cap bisects and then fails (the slowest call a keeper makes).
 */
export class GasBatches<T> {
  readonly queue: T[][] = [];
  private rate = { gas: 0n, items: 0 };

  constructor(
    items: T[],
    size: number,
    private readonly cap: bigint,
    private readonly log: (line: string) => void,
    private readonly noun = "",
  ) {
    for (let i = 0; i < items.length; i += size) this.queue.push(items.slice(i, i + size));
  }

  /** Whether `batch` would pass the cap at the rate seen so far; if so it is split (and need not be estimated). */
  splitAhead(batch: T[]): boolean {
    if (this.rate.items === 0) return false;
    return this.splitOver(batch, (this.rate.gas * BigInt(batch.length)) / BigInt(this.rate.items), "about ");
  }

  /** Records `batch`'s estimate (undefined: the estimate failed) and splits it if it would pass the cap. */
  splitAfter(batch: T[], gas: bigint | undefined): boolean {
    if (gas !== undefined && batch.length > this.rate.items) this.rate = { gas, items: batch.length };
    return this.splitOver(batch, gas ?? this.cap + 1n, "");
  }

  private splitOver(batch: T[], gas: bigint, about: string): boolean {
    if ((gas * GAS_HEADROOM_PERCENT) / 100n <= this.cap || batch.length === 1) return false;
    const half = Math.ceil(batch.length / 2);
    this.queue.unshift(batch.slice(0, half), batch.slice(half));
    this.log(
      `split a batch of ${batch.length}${this.noun}: ${about}${gas} gas (+24 %) would pass the ${this.cap} transaction cap`,
    );
    return true;
  }
}
