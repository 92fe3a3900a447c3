// What a keeper checks about its surroundings at each block, apart from its work: that the chain is still the
// one it indexed (a restarted node or a reorg past its last block makes its positions and requests stale),
// and that no other process signs from its account (two keepers on one key race for the same requests, and
// the loser pays gas for nothing).
import type { Block, Provider } from "ethers";

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
