// What every keeper duty shares, below the duties: the keeper's options, its connection and signer, its log,
// the chain's clock at the last block, the round finders, and how errors and requests are named in the log.
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { ToolSigner } from "../chain/cli.js";
import { type Deployment, formatUnits } from "../chain/deployment.js";
import { describeError } from "../chain/errors.js";
import type { Units } from "../chain/format.js";
import type { PendingRequest } from "../requests/orders.js";
import { MarketFeeds, RoundFinder } from "../requests/rounds.js";

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
  /**
   * A gap (18-decimal fraction) at which to log, each block, the bad debt the open positions would leave and
   * what the backstop can cover (`--risk`); none by default.
   */
  riskGap?: bigint;
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

/** The index key of a position or an order request: `account:marketId`, the account in lower case. */
export const key = (account: string, marketId: bigint) => `${account.toLowerCase()}:${marketId}`;

/** Positions or requests as the log names them: the account's first characters and the market. */
export function describe(batch: { account: string; marketId: bigint }[]) {
  return batch.map((c) => `${c.account.slice(0, 8)}/${c.marketId}`).join(", ");
}

/** The keeper's connection, options and log, and what it last read of the chain's clock and rounds. */
export class KeeperContext {
  rounds: RoundFinder;
  feeds: MarketFeeds;
  readonly log: (line: string) => void;
  /** The chain's clock at the last block seen, for rendering errors' dates. */
  now = BigInt(Math.floor(Date.now() / 1000));

  constructor(
    readonly ethers: HardhatEthers,
    readonly d: Deployment,
    readonly signer: ToolSigner,
    readonly options: KeeperOptions,
  ) {
    this.rounds = new RoundFinder(ethers.provider);
    this.feeds = new MarketFeeds(ethers, d);
    this.log = options.log ?? ((line) => console.log(`[keeper ${new Date().toISOString()}] ${line}`));
  }

  /** Forgets the rounds and feeds read, so that they are read again from the chain. */
  forget() {
    this.rounds = new RoundFinder(this.ethers.provider);
    this.feeds = new MarketFeeds(this.ethers, this.d);
  }

  get feeRecipient() {
    return this.options.feeRecipient || this.signer.address;
  }

  /** An error in one line for the log, rendered in the deployment's units at the chain's clock. */
  why(error: unknown) {
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

  /** An amount of collateral as the log shows it: 2 decimals and the symbol. */
  fmt(x: bigint) {
    return `${formatUnits(x, this.d.decimals)} ${this.d.symbol}`;
  }
}
