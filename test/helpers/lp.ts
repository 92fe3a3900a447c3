import type { Signer } from "ethers";
import { ethers, networkHelpers } from "./system.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Sys = { engine: any; vault: any; orders: any; lens: any; keeper?: Signer };

/**
 * Market `id`'s oracle, whether it has open positions and whether it is settled, as the lens decodes it from the
 * engine's storage (EngineStorage: no slot is known here).
 */
export async function marketState(s: Sys, id: bigint) {
  const m = await s.lens.getMarket(id);
  const open = m.longSize !== 0n || m.shortSize !== 0n;
  // A settled market is marked at its settlement price (zero until then).
  const settled = m.settlementPrice !== 0n;
  return { oracle: m.oracle as string, open, settled };
}

/** The feed (MockV3Aggregator) behind market `id`'s ChainlinkOracle. */
export async function feedOf(s: Sys, id: bigint) {
  const { oracle } = await marketState(s, id);
  const feed = await (await ethers.getContractAt("ChainlinkOracle", oracle)).feed();
  return ethers.getContractAt("MockV3Aggregator", feed);
}

/**
 * Pushes one round (the current answer again) on the feed of every market with positions that is not settled
 * (a settled market is marked at its settlement price and needs no round),
 * and returns the round ids an `executeRequest` made before now takes: each such feed's new latest round, 0
 * elsewhere (ignored by the vault).
 */
export async function pushRounds(s: Sys) {
  const count: bigint = await s.engine.marketCount();
  const ids: bigint[] = [];
  for (let id = 0n; id < count; id++) {
    const { open, settled } = await marketState(s, id);
    if (!open || settled) {
      ids.push(0n);
      continue;
    }
    const feed = await feedOf(s, id);
    await feed.updateAnswer(await feed.latestAnswer());
    ids.push(await feed.latestRound());
  }
  return ids;
}

/** The order book's delay before a request can be priced (InstantOrders: 30 s). */
export async function lpDelay(s: Sys) {
  const book = await ethers.getContractAt("IOrderBook", await s.engine.orders());
  return BigInt(await book.minDelay());
}

/**
 * The round ids an execution of a request with `notBefore` takes: for each market with positions (not settled),
 * the first round of its feed updated at or after `notBefore`, walking back from the latest as the invariant
 * handlers do; when a feed has none yet, one is pushed (the current answer again). 0 for the other markets.
 */
export async function firstRounds(s: Sys, notBefore: bigint) {
  const count: bigint = await s.engine.marketCount();
  const ids: bigint[] = [];
  for (let id = 0n; id < count; id++) {
    const { open, settled } = await marketState(s, id);
    if (!open || settled) {
      ids.push(0n);
      continue;
    }
    const feed = await feedOf(s, id);
    let first = 0n;
    for (let r: bigint = await feed.latestRound(); r >= 1n; r--) {
      if ((await feed.getTimestamp(r)) < notBefore) break;
      first = r;
    }
    if (first === 0n) {
      await feed.updateAnswer(await feed.latestAnswer());
      first = await feed.latestRound();
    }
    ids.push(first);
  }
  return ids;
}

/**
 * Executes `owner`'s pending request: moves time on to its notBefore if it is not there yet (exactly the order
 * book's delay after the request, when nothing else moved time), takes the first round at or after it of each
 * feed with positions (pushing one where there is none), and executes at those rounds. Returns the outcome
 * from LpRequestExecuted.
 */
export async function executeLpRequest(s: Sys, owner: Signer, executor?: Signer) {
  const { notBefore } = await s.vault.lpRequest(await owner.getAddress());
  if (BigInt(await networkHelpers.time.latest()) < notBefore) await networkHelpers.time.increaseTo(notBefore);
  const roundIds = await firstRounds(s, BigInt(notBefore));
  // Only executors execute LP requests: the fixture's keeper, unless the test names another.
  const by = executor ?? s.keeper;
  const vault = by ? s.vault.connect(by) : s.vault;
  const receipt = await (await vault.executeRequest(await owner.getAddress(), roundIds)).wait();
  for (const log of receipt.logs) {
    const parsed = s.vault.interface.parseLog(log);
    if (parsed?.name === "LpRequestExecuted") {
      const { assets, shares, pricedAt } = parsed.args;
      return { assets: assets as bigint, shares: shares as bigint, pricedAt: pricedAt as bigint, roundIds };
    }
  }
  throw new Error("no LpRequestExecuted");
}

/**
 * An LP deposit the ERC-7540 way: the standard request (the order book's minimum fee, no bound), its execution by
 * the fixture's keeper (delay, a round per market with positions) and the claim of all its shares. Returns the
 * shares.
 */
export async function lpDeposit(s: Sys, lp: Signer, assets: bigint) {
  const who = await lp.getAddress();
  await (await s.vault.connect(lp).requestDeposit(assets, who, who)).wait();
  const { shares } = await executeLpRequest(s, lp);
  await (await s.vault.connect(lp)["deposit(uint256,address)"](assets, who)).wait();
  return shares;
}

/**
 * Claims `owner`'s held redemption, all its shares, at the end of its hold (ERC-7540's `redeem` with the owner as
 * controller), with a new round (the same answer) in each market with positions, since the hold outlasts a feed's
 * heartbeat. Returns what was paid and what was held.
 */
export async function claimHeldExit(s: Sys, owner: Signer) {
  const who = await owner.getAddress();
  const { shares, claimableAt } = await s.vault.lpExit(who);
  if (BigInt(await networkHelpers.time.latest()) < claimableAt) await networkHelpers.time.increaseTo(claimableAt);
  await pushRounds(s);
  const receipt = await (await s.vault.connect(owner).redeem(shares, who, who)).wait();
  for (const log of receipt.logs) {
    const parsed = s.vault.interface.parseLog(log);
    if (parsed?.name === "LpExitClaimed") return { paid: parsed.args.paid as bigint, held: parsed.args.held as bigint };
  }
  throw new Error("no LpExitClaimed");
}

/** An LP redemption through the standard request, executed and then claimed at the end of its hold; returns the assets paid. */
export async function lpRedeem(s: Sys, lp: Signer, shares: bigint) {
  const who = await lp.getAddress();
  await (await s.vault.connect(lp).requestRedeem(shares, who, who)).wait();
  await executeLpRequest(s, lp);
  return (await claimHeldExit(s, lp)).paid;
}
