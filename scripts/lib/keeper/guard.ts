// What a keeper checks about its surroundings, apart from its work: before it starts, that its signer may
// execute requests and that its fee recipient can receive the collateral; at each block, that the chain is
// still the one it indexed (a restarted node or a reorg past its last block makes its positions and requests
// stale), and that no other process signs from its account (two keepers on one key race for the same
// requests, and the loser pays gas for nothing).
import { type Block, Interface, type Provider } from "ethers";
import { ToolError } from "../chain/errors.js";
import type { KeeperContext } from "./context.js";

/**
 * Only the order book's executors execute trade and LP requests: a keeper that would execute them from
 * another account refuses to start, before it sends anything.
 */
export async function checkExecutor(ctx: KeeperContext): Promise<void> {
  if (ctx.options.orders === false && ctx.options.lpRequests === false) return;
  if (await ctx.d.orderBook.isExecutor(ctx.signer.address)) return;
  throw new ToolError(
    "NotExecutor",
    `${ctx.signer.address} is not an executor of the order book: only executors execute requests; run the keeper from an executor's key (the timelock grants EXECUTOR_ROLE)`,
    { account: ctx.signer.address },
  );
}

/**
 * Whether the fee recipient can receive the collateral: a transfer of one unit from the engine to it,
 * simulated. A blocklisted address (as USDC has) or a token that refuses it fails here, before any batch.
 */
export async function checkFeeRecipient(ctx: KeeperContext): Promise<void> {
  const token = new Interface([
    "function transfer(address to, uint256 amount) returns (bool)",
    "function balanceOf(address) view returns (uint256)",
  ]);
  const engine = ctx.d.addresses.engine;
  const collateral = ctx.d.addresses.collateral;
  try {
    // One unit when the engine holds any (an engine with none, on a fresh deployment, simulates zero).
    const [balance] = token.decodeFunctionResult(
      "balanceOf",
      await ctx.ethers.provider.call({ to: collateral, data: token.encodeFunctionData("balanceOf", [engine]) }),
    );
    const amount = (balance as bigint) > 0n ? 1n : 0n;
    await ctx.ethers.provider.call({
      from: engine,
      to: collateral,
      data: token.encodeFunctionData("transfer", [ctx.feeRecipient, amount]),
    });
  } catch (error) {
    throw new ToolError(
      "FeeRecipientCannotReceive",
      `the fee recipient ${ctx.feeRecipient} cannot receive ${ctx.d.symbol}: the token refuses a transfer to it (${ctx.why(error)}); pass another --fee-recipient`,
      { feeRecipient: ctx.feeRecipient },
    );
  }
}

/** Notices a chain that is no longer the one seen at the last block: a reset, another chain, or a reorg. */
export class ChainWatch {
  private last?: { number: number; hash: string; genesis: string; chainId: bigint };

  constructor(private readonly provider: Provider) {}

  /** Why `latest` does not extend the chain seen last (one line), or undefined when it does. */
  async changed(latest: Block): Promise<string | undefined> {
    const last = this.last;
    let reason: string | undefined;
    if (last && latest.number < last.number) {
      reason = `the block number went back from ${last.number} to ${latest.number}`;
    } else if (last) {
      const then = latest.number === last.number ? latest : await this.provider.getBlock(last.number);
      if (then?.hash !== last.hash) reason = `block ${last.number} is no longer the block seen before`;
    }
    if (reason || !last) {
      const [genesis, { chainId }] = await Promise.all([this.provider.getBlock(0), this.provider.getNetwork()]);
      if (last && chainId !== last.chainId) reason = `the chain id changed from ${last.chainId} to ${chainId}`;
      else if (last && genesis?.hash !== last.genesis) reason = `the chain was reset (a new genesis block): ${reason}`;
      this.last = { number: latest.number, hash: latest.hash!, genesis: genesis!.hash!, chainId };
    } else {
      this.last = { ...last!, number: latest.number, hash: latest.hash! };
    }
    return reason;
  }
}

/**
 * Counts the transactions another process sends from the keeper's account: the account's nonce read at the
 * start of a block's work against the one read at the end of the last (which includes the keeper's own).
 */
export class SenderWatch {
  private settled?: number;

  constructor(
    private readonly provider: Provider,
    readonly address: string,
  ) {}

  /** Transactions from the account since `settle` that this keeper did not send. */
  async others(): Promise<number> {
    const nonce = await this.provider.getTransactionCount(this.address, "pending");
    const others = this.settled === undefined ? 0 : nonce - this.settled;
    this.settled = nonce;
    return Math.max(others, 0);
  }

  /** Takes the account's nonce after the keeper's own transactions. */
  async settle() {
    this.settled = await this.provider.getTransactionCount(this.address, "pending");
  }

  forget() {
    this.settled = undefined;
  }
}
