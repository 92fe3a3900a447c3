import { toBeHex } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { Keeper } from "../keeper/loop.js";
import { type Book, MARKETS, type MarketName, type Scenario } from "./scenario.js";
import { publish, type StressSystem } from "./system.js";

/**
 * Most positions per liquidateBatch. At about 31k gas per position, a crash's hundreds of liquidations do
 * not fit one transaction: the keeper splits every batch whose estimate (+24 %) would pass the cap, so the
 * run exercises its gas sizing. The run records the largest batch and fails if one ever asks for more
 * than the cap.
 */
export const DEFAULT_BATCH = 1_000;

/** A staker (the third signer) deposits `amount` collateral units into the backstop. */
export async function stakeBackstop(connection: NetworkConnection, sys: StressSystem, amount: bigint) {
  if (amount === 0n) return;
  const [, , staker] = await connection.ethers.getSigners();
  await (await sys.collateral.mint(staker.address, amount)).wait();
  await (await sys.collateral.connect(staker).approve(sys.addresses.backstop, amount)).wait();
  await (await sys.backstop.connect(staker).deposit(amount, staker.address)).wait();
}

/** The state of the pools after a round. */
export interface RoundRecord {
  round: number;
  label?: string;
  /** Seconds since the first round's clock started. */
  time: number;
  prices: Record<MarketName, number>;
  published: boolean;
  sequencer: "up" | "down";
  /** The keeper could not read a price (stale or refused) for some market. */
  oracleRefused: boolean;
  liquidated: number;
  backstopAssets: bigint;
  /** LP assets per whole share (collateral units), or null while the oracle refuses a price. */
  lpSharePrice: bigint | null;
  badDebt: bigint;
  covered: bigint;
  socialized: bigint;
}

export interface RunResult {
  scenario: string;
  backstopShare: number;
  backstopAssetsBefore: bigint;
  backstopAssetsAfter: bigint;
  /** What the stakers lost: backstop assets before less after. */
  backstopDrawdown: bigint;
  backstopSharePriceBefore: bigint;
  backstopSharePriceAfter: bigint;
  lpSharePriceBefore: bigint;
  lpSharePriceAfter: bigint;
  liquidations: { full: number; partial: number };
  keeperFees: bigint;
  penalties: bigint;
  refunds: bigint;
  refundsDeferred: bigint;
  badDebt: bigint;
  covered: bigint;
  socialized: bigint;
  /** CoverLimitReached events: covers cut short by the rolling limit. */
  coverLimitHits: number;
  gas: { transactions: number; total: bigint; perLiquidation: bigint; maxBatch: bigint; maxBatchPositions: number };
  keeperErrors: number;
  conservation: { name: string; left: bigint; right: bigint; ok: boolean }[];
  rounds: RoundRecord[];
}

export interface RunOptions {
  batchSize?: number;
  /** Collateral units to stake before the path; default `backstopShare` x the book's open interest. */
  stake?: bigint;
  /** Keeper log lines (oracle refusals, failed batches). */
  log?: (line: string) => void;
  /** Who liquidates; default the project's keeper (`keeperLiquidator`). The upkeep-only run passes its own (upkeeps.ts). */
  liquidator?: Liquidator;
}

/** What liquidated after one round. */
export interface RoundLiquidations {
  liquidated: number;
  errors: number;
  /** Some market's oracle refused a price (stale or refused), so nothing there could be liquidated. */
  oracleRefused: boolean;
}

/** The run's liquidator: readied once the backstop is staked, then run after each round while the sequencer is up. */
export interface Liquidator {
  /** Before the first round (the keeper indexes the book: its cold start). */
  start(): Promise<void>;
  /** After a round: liquidates until it finds nothing more. */
  afterRound(): Promise<RoundLiquidations>;
}

/**
 * The project's keeper (signer 1, fees to itself), ticking after each round until it liquidates nothing more (at most
 * 10 ticks). Its order and LP duties are off: every request executed before the book's snapshot, so they would only
 * read the book's request events again each run to find nothing.
 */
export async function keeperLiquidator(
  connection: NetworkConnection,
  sys: StressSystem,
  book: Book,
  options: RunOptions = {},
): Promise<Liquidator> {
  const [, keeperSigner] = await connection.ethers.getSigners();
  const keeper = new Keeper(connection.ethers, sys, keeperSigner, {
    minProfit: 0n,
    batchSize: options.batchSize ?? DEFAULT_BATCH,
    startBlock: book.startBlock,
    dryRun: false,
    concurrency: 16,
    orders: false,
    lpRequests: false,
    log: (line) => options.log?.(line),
  });
  return {
    start: async () => void (await keeper.tick()),
    afterRound: async () => {
      const out: RoundLiquidations = { liquidated: 0, errors: 0, oracleRefused: false };
      for (let tick = 0; tick < 10; tick++) {
        const t = await keeper.tick();
        if (!t) break;
        out.errors += t.errors;
        out.liquidated += t.liquidated;
        if (t.errors > 0 && t.liquidatable === 0) out.oracleRefused = true;
        if (t.liquidated === 0) break;
      }
      return out;
    },
  };
}

/**
 * Stakes `backstopShare` x the book's open interest in the backstop, starts the project's keeper (or
 * `options.liquidator`), replays the scenario's rounds (the keeper runs after each until it finds nothing
 * more), then reads every waterfall event and checks conservation to the unit.
 */
export async function runScenario(
  connection: NetworkConnection,
  sys: StressSystem,
  scenario: Scenario,
  book: Book,
  backstopShare: number,
  options: RunOptions = {},
): Promise<RunResult> {
  const { ethers } = connection;
  const provider = ethers.provider;
  const { engine, backstop, vault, lens } = sys;
  const setTime = (t: number) => provider.send("evm_setNextBlockTimestamp", [toBeHex(t)]);

  // The clock restarts a minute after the book, whatever earlier runs did; the feeds publish afresh.
  let clock = book.openedAt + 60;
  await setTime(clock);
  await publish(sys, { ETH: 1, BTC: 1 });
  await stakeBackstop(
    connection,
    sys,
    options.stake ?? (book.openInterest * BigInt(Math.round(backstopShare * 1_000_000))) / 1_000_000n,
  );

  let keeperErrors = 0;
  const liquidator = options.liquidator ?? (await keeperLiquidator(connection, sys, book, options));
  await liquidator.start(); // cold start: the keeper has indexed the book before the crash

  const one = (decimals: number) => 10n ** BigInt(decimals);
  const lpSharePrice = () => vault.convertToAssets(one(sys.vaultShareDecimals)).catch(() => null as bigint | null);
  const marginSum = async () =>
    (await Promise.all(MARKETS.map((_m, id) => lens.getMarket(id)))).reduce(
      (sum, m) => sum + m.longMargin + m.shortMargin,
      0n,
    );
  const state = async () => {
    const [backstopAssets, backstopSharePrice, lpShare, lpBalance, margins, engineBalance] = await Promise.all([
      backstop.totalAssets(),
      backstop.convertToAssets(one(sys.backstopShareDecimals)),
      lpSharePrice(),
      engine.lpBalance(),
      marginSum(),
      sys.collateral.balanceOf(sys.addresses.engine),
    ]);
    return { backstopAssets, backstopSharePrice, lpSharePrice: lpShare, lpBalance, margins, engineBalance };
  };
  const before = await state();
  const firstBlock = (await provider.getBlockNumber()) + 1;
  const start = clock;

  const prices: Record<MarketName, number> = { ETH: 1, BTC: 1 };
  let sequencer: "up" | "down" = "up";
  const rounds: (RoundRecord & { lastBlock: number })[] = [];
  for (const [i, r] of scenario.rounds.entries()) {
    const latest = (await provider.getBlock("latest"))!.timestamp;
    clock = Math.max(clock + r.after, latest + 1);
    await setTime(clock);
    Object.assign(prices, r.prices ?? {});
    let sent = false;
    if (r.sequencer && r.sequencer !== sequencer) {
      sequencer = r.sequencer;
      await (await sys.sequencer.updateAnswer(sequencer === "down" ? 1n : 0n)).wait();
      sent = true;
    }
    const published = sequencer === "up" && r.publish !== false;
    if (published) await publish(sys, prices);
    else if (!sent) await provider.send("evm_mine", []);
    let liquidated = 0;
    let oracleRefused = false;
    // Nothing lands while the sequencer is down: the keeper waits for it.
    if (sequencer === "up") {
      const t = await liquidator.afterRound();
      keeperErrors += t.errors;
      ({ liquidated, oracleRefused } = t);
    }
    const [lastBlock, backstopAssets, lpShare] = await Promise.all([
      provider.getBlockNumber(),
      backstop.totalAssets(),
      lpSharePrice(),
    ]);
    rounds.push({
      round: i + 1,
      label: r.label,
      time: clock - start,
      prices: { ...prices },
      published,
      sequencer,
      oracleRefused,
      liquidated,
      backstopAssets,
      lpSharePrice: lpShare,
      // The waterfall's running totals, filled in from the run's events below.
      badDebt: 0n,
      covered: 0n,
      socialized: 0n,
      lastBlock,
    });
  }

  // The report reads the LP share price at the last round's prices: publish them if the path ended stale.
  if (sequencer === "down") {
    await (await sys.sequencer.updateAnswer(0n)).wait();
  }
  const lastBlock = await provider.getBlockNumber();
  let lpAfter = await lpSharePrice();
  if (lpAfter === null) {
    await publish(sys, prices);
    lpAfter = await lpSharePrice();
  }

  const q = <T>(filter: T) =>
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    engine.queryFilter(filter as any, firstBlock, lastBlock) as Promise<any[]>;
  const [kept, pens, liqs, bad, social, deferred, batches] = await Promise.all([
    q(engine.filters.KeeperPaid()),
    q(engine.filters.PenaltyPaid()),
    q(engine.filters.PositionLiquidated()),
    q(engine.filters.BadDebtCovered()),
    q(engine.filters.LossSocialized()),
    q(engine.filters.RefundDeferred()),
    q(engine.filters.BatchLiquidated()),
  ]);
  const [coveredEvents, limitHits] = await Promise.all([
    backstop.queryFilter(backstop.filters.Covered(), firstBlock, lastBlock),
    backstop.queryFilter(backstop.filters.CoverLimitReached(), firstBlock, lastBlock),
  ]);
  const sum = (events: { args: Record<string, bigint> }[], field: string) =>
    events.reduce((s, e) => s + e.args[field], 0n);

  const receipts = await Promise.all(
    [...new Set(batches.map((e) => e.transactionHash as string))].map((h) => provider.getTransactionReceipt(h)),
  );
  const gasTotal = receipts.reduce((s, r) => s + (r?.gasUsed ?? 0n), 0n);
  let maxBatch = 0n;
  let maxBatchPositions = 0;
  for (const e of batches) {
    const r = receipts.find((x) => x?.hash === e.transactionHash);
    if (r && r.gasUsed > maxBatch) {
      maxBatch = r.gasUsed;
      maxBatchPositions = Number(e.args.attempted);
    }
  }
  const full = liqs.filter((e) => e.args.remainingSize === 0n).length;

  const after = await state();
  for (const round of rounds) {
    const upTo = <T extends { blockNumber: number }>(events: T[]) =>
      events.filter((e) => e.blockNumber <= round.lastBlock);
    round.badDebt = sum(upTo(bad), "badDebt");
    round.covered = sum(upTo(bad), "covered");
    round.socialized = sum(upTo(social), "amount");
  }
  const keeperFees = sum(kept, "fee");
  const penalties = sum(pens, "penalty");
  const refunds = sum(liqs, "refund");
  const refundsDeferred = sum(deferred, "amount");
  const badDebt = sum(bad, "badDebt");
  const covered = sum(bad, "covered");
  const socialized = sum(social, "amount");
  const paid = sum(coveredEvents as never, "paid");
  const drawdown = before.backstopAssets - after.backstopAssets;
  const check = (name: string, left: bigint, right: bigint) => ({ name, left, right, ok: left === right });
  const conservation = [
    check("bad debt = covered + socialized", badDebt, covered + socialized),
    check("covered (engine) = paid (backstop Covered)", covered, paid),
    check("backstop drawdown = covered", drawdown, covered),
    check(
      "margins consumed + covered = keeper fees + penalties + refunds + LP balance change",
      before.margins - after.margins + covered,
      keeperFees + penalties + refunds + (after.lpBalance - before.lpBalance),
    ),
    check(
      "engine balance change = covered - keeper fees - refunds delivered",
      after.engineBalance - before.engineBalance,
      covered - keeperFees - (refunds - refundsDeferred),
    ),
  ];
  const liquidations = full + (liqs.length - full);
  return {
    scenario: scenario.name,
    backstopShare,
    backstopAssetsBefore: before.backstopAssets,
    backstopAssetsAfter: after.backstopAssets,
    backstopDrawdown: drawdown,
    backstopSharePriceBefore: before.backstopSharePrice,
    backstopSharePriceAfter: after.backstopSharePrice,
    lpSharePriceBefore: before.lpSharePrice ?? 0n,
    lpSharePriceAfter: lpAfter ?? 0n,
    liquidations: { full, partial: liqs.length - full },
    keeperFees,
    penalties,
    refunds,
    refundsDeferred,
    badDebt,
    covered,
    socialized,
    coverLimitHits: limitHits.length,
    gas: {
      transactions: receipts.length,
      total: gasTotal,
      perLiquidation: liquidations > 0 ? gasTotal / BigInt(liquidations) : 0n,
      maxBatch,
      maxBatchPositions,
    },
    keeperErrors,
    conservation,
    rounds: rounds.map(({ lastBlock: _, ...round }) => round),
  };
}
