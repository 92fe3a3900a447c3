// The keeper's expiry duty: requests nobody executed in the executors' window are cancelled, so that their
// escrow and fee go back to their owners without them acting (their owners could cancel them too). The
// keeper pays that gas and earns nothing.
import { type PendingRequest, requestStruct } from "../requests/orders.js";
import { type KeeperContext, type OrderCandidate, describe, key } from "./context.js";
import { GAS_HEADROOM_PERCENT } from "./gas.js";

/** Whether a request that expires at `expiresAt` has expired by the next block (at least a second after the last one). */
export const expiredByNextBlock = (ctx: KeeperContext, expiresAt: bigint) => ctx.now + 1n > expiresAt;

/**
 * Cancels expired requests (nobody executed them in the executors' window): the escrow and the fee go back to
 * their owners, who could also cancel them; the keeper pays the gas and earns nothing, so that an owner whose
 * request expired while the keepers were down gets their money back without acting. A cancelled request
 * leaves `requests`.
 */
export async function cancelExpiredOrders(
  ctx: KeeperContext,
  expired: OrderCandidate[],
  requests: Map<string, PendingRequest>,
) {
  let cancelled = 0;
  const skipped = 0;
  let errors = 0;
  const fees = 0n; // the fee goes back to the owner
  const fmt = (x: bigint) => ctx.fmt(x);
  const book = ctx.d.orderBook.connect(ctx.signer);
  for (const c of expired) {
    try {
      const gas = await book.cancel.estimateGas(c.account, c.marketId, requestStruct(c.request));
      if (ctx.options.dryRun) {
        ctx.log(`dry run: would cancel the expired request ${describe([c])}, refunding ${fmt(c.executionFee)} fee`);
        continue;
      }
      const tx = await book.cancel(c.account, c.marketId, requestStruct(c.request), {
        gasLimit: (gas * GAS_HEADROOM_PERCENT) / 100n,
      });
      const receipt = await tx.wait();
      requests.delete(key(c.account, c.marketId));
      cancelled++;
      ctx.log(
        `cancelled the expired request ${describe([c])}, fee ${fmt(c.executionFee)} back to its owner, tx ${tx.hash} gas ${receipt?.gasUsed}`,
      );
    } catch (error) {
      errors++;
      ctx.log(`cancelling ${describe([c])} failed: ${ctx.why(error)}`);
    }
  }
  return { cancelled, skipped, errors, fees };
}

/**
 * Cancels `owner`'s expired LP request (its escrow and fee back to its owner), or in a dry run says it would.
 * Returns whether a transaction was sent.
 */
export async function cancelExpiredLpRequest(ctx: KeeperContext, owner: string, what: string): Promise<boolean> {
  if (ctx.options.dryRun) {
    ctx.log(`dry run: would cancel the expired ${what}`);
    return false;
  }
  const receipt = await (await ctx.d.vault.connect(ctx.signer).cancelRequest(owner)).wait();
  ctx.log(`cancelled the expired ${what} tx ${receipt?.hash} gas ${receipt?.gasUsed}`);
  return true;
}
