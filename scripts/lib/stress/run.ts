import { AbiCoder, keccak256, toBeHex, zeroPadValue } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { mapLimit } from "../chain/concurrency.js";
import { Keeper } from "../keeper/loop.js";
import {
  ExecutionClass,
  OrderKind,
  acceptablePrice,
  atGasPrice,
  priceExecutionFee,
  tradingFee,
} from "../requests/orders.js";
import { drawPopulation, MARKETS, type MarketName, type Scenario, START_PRICE } from "./scenario.js";
import { feedAnswer, type StressSystem } from "./system.js";

const WAD = 10n ** 18n;
/**
 * Most positions per liquidateBatch. At about 31k gas per position, a crash's hundreds of liquidations do
 * not fit one transaction: the keeper splits every batch whose estimate (+24 %) would pass the cap, so the
 * run exercises its gas sizing. The run records the largest batch and fails if one ever asks for more
 * than the cap.
 */
export const DEFAULT_BATCH = 1_000;

export interface Book {
  /** Positions open: the requests executed. */
  positions: number;
  /** Positions drawn (one request each). */
  positionsAsked: number;
  /** Open interest carried at the starting prices, in collateral units (the executed requests' drawn notionals). */
  openInterest: bigint;
  /** The drawn notionals of every request, executed or not. */
  openInterestAsked: bigint;
  /** Open interest carried per market and side (collateral units, at the starting prices). */
  sides: Record<MarketName, { long: bigint; short: bigint }>;
  /** The larger side's open interest, summed over the markets: what the gap guard bounds. */
  largerSides: bigint;
  lpCapital: bigint;
  longShare: number;
  /** First block with a position (the keeper scans events from here). */
  startBlock: number;
  /** The chain's clock when the book was complete. */
  openedAt: number;
  /** Requests made, each paying the book's minimum fee for an open at the network's gas price. */
  requestsPaid: number;
  /** Of those, executed by the project's keeper pricing gas at that gas price. */
  requestsExecuted: number;
  /**
   * Of those, cancelled at execution by the order book's gap guard (`GapCoverExceeded`). Every paid request
   * is executed or refused by the guard, or the run fails.
   */
  requestsRefusedByGuard: number;
}

/** The first account of the book's positions: position i trades from this address + i. */
const FIRST_ACCOUNT = 0x5000000n;

// OpenZeppelin ERC20 storage: balances at slot 0, allowances at slot 1 (as scripts/keeper-scale.ts).
const coder = AbiCoder.defaultAbiCoder();
const balanceSlot = (owner: string) => keccak256(coder.encode(["address", "uint256"], [owner, 0n]));
const allowanceSlot = (owner: string, spender: string) =>
  keccak256(
    coder.encode(["address", "bytes32"], [spender, keccak256(coder.encode(["address", "uint256"], [owner, 1n]))]),
  );

/** Sets every feed to `multiples` x its starting price (a fresh round). */
async function publish(sys: StressSystem, multiples: Record<MarketName, number>) {
  for (const [i, m] of MARKETS.entries()) await (await sys.feeds[i].updateAnswer(feedAnswer(m, multiples[m]))).wait();
}

/**
 * Funds the vault with the scenario's LP capital and opens the scenario's book: one fresh (impersonated)
 * account per position, its collateral written into the mock token's storage so that only the trades'
 * transactions are sent: each chunk's requests (margin plus the trading fee, and the execution fee), one
 * round of the feeds after the order book's delay, and the project's keeper executing them. With a market
 * guarded (`OrderBook.designGap`), the book cancels the requests the backstop's window capacity cannot
 * carry: they are counted from the `OrderCancelled` reasons (`GapCoverExceeded`), and the book's open
 * interest is what executed.
 */
export async function openBook(
  connection: NetworkConnection,
  sys: StressSystem,
  scenario: Scenario,
  options: { positions?: number; seed?: number; ordered?: boolean; onProgress?: (opened: number) => void } = {},
): Promise<Book> {
  const { ethers } = connection;
  const provider = ethers.provider;
  const population = { ...scenario.population, positions: options.positions ?? scenario.population.positions };
  const draws = drawPopulation(population, options.seed ?? scenario.seed);
  const unit = 10n ** BigInt(sys.decimals);
  const openInterestAsked = draws.reduce((sum, d) => sum + BigInt(d.notionalUsd) * unit, 0n);
  const lpCapital = (openInterestAsked * BigInt(Math.round(scenario.lpCapital * 1_000))) / 1_000n;
  const lp = sys.admin;
  await (await sys.collateral.mint(lp.address, lpCapital)).wait();
  await (await sys.collateral.connect(lp).approve(sys.addresses.vault, ethers.MaxUint256)).wait();
  await (await sys.vault.connect(lp).deposit(lpCapital, lp.address)).wait();

  const token = sys.addresses.collateral;
  const setStorage = (slot: string, value: bigint) =>
    provider.send("hardhat_setStorageAt", [token, slot, zeroPadValue(toBeHex(value), 32)]);
  const startBlock = (await provider.getBlockNumber()) + 1;
  const chunk = 400; // blocks come a second apart: republish the feeds between chunks so they stay fresh
  // Every request pays the book's minimum for an open at the network's gas price, as the request tool would.
  let [paid, executed, refusedByGuard] = [0, 0, 0];
  const opened: number[] = [];
  const [minDelay, { fee: executionFee, gasPrice }] = await Promise.all([
    sys.orderBook.minDelay(),
    priceExecutionFee(ethers, sys, ExecutionClass.Open),
  ]);
  const feeRatios = await Promise.all(
    MARKETS.map(async (_m, id) => BigInt((await sys.lens.getMarket(id)).config.tradingFeeRatio)),
  );
  for (let from = 0; from < draws.length; from += chunk) {
    const indices = Array.from({ length: Math.min(chunk, draws.length - from) }, (_, k) => from + k);
    const chunkStart = (await provider.getBlockNumber()) + 1; // the chunk's requests are in its blocks
    // The accounts are funded concurrently; the requests are sent in the draw's order when `ordered` (the
    // keeper executes them in the order they landed, and the gap guard's decisions depend on that order).
    const sent = await mapLimit(indices, 16, async (i) => {
      const d = draws[i];
      const address = ethers.getAddress(toBeHex(FIRST_ACCOUNT + BigInt(i), 20));
      const notional = BigInt(d.notionalUsd) * unit;
      // Margin for the drawn leverage; the wallet also holds the opening fee (5 bps), charged on top.
      const margin = (notional * 100n) / BigInt(Math.round(d.leverage * 100));
      const price = BigInt(Math.round(START_PRICE[d.market] * 1e8)) * 10n ** 10n;
      const size = (BigInt(d.notionalUsd) * WAD * WAD) / price;
      const marketId = MARKETS.indexOf(d.market);
      const signed = d.long ? size : -size;
      // The request escrows the margin plus the opening fee (5 bps), so that the margin is as drawn.
      const amount = margin + tradingFee(size, price, feeRatios[marketId], sys.decimals);
      await Promise.all([
        provider.send("hardhat_impersonateAccount", [address]),
        provider.send("hardhat_setBalance", [address, toBeHex(10n ** 20n)]),
        setStorage(balanceSlot(address), amount + executionFee + unit),
        setStorage(allowanceSlot(address, sys.addresses.orderBook), ethers.MaxUint256),
      ]);
      const trader = await ethers.getSigner(address);
      const bound = acceptablePrice(OrderKind.Open, signed, price, 100n);
      const send = async () => {
        const tx = await sys.orderBook
          .connect(trader)
          .request(BigInt(marketId), OrderKind.Open, signed, amount, bound, executionFee, {
            gasLimit: 1_000_000n,
            ...atGasPrice(gasPrice),
          });
        await tx.wait();
      };
      if (!options.ordered) await send();
      return send;
    });
    if (options.ordered) for (const send of sent) await send();
    await provider.send("evm_increaseTime", [Number(minDelay)]);
    await publish(sys, { ETH: 1, BTC: 1 });
    // The project's keeper executes them, pricing gas at the gas price they were paid at: every one must go.
    const keeper = new Keeper(ethers, sys, lp, {
      minProfit: 0n,
      batchSize: 40,
      startBlock: chunkStart,
      dryRun: false,
      gasPrice,
      lpRequests: false,
      log: () => {},
    });
    const tick = await keeper.tick();
    const [done, cancelled] = await Promise.all([
      sys.orderBook.queryFilter(sys.orderBook.filters.OrderExecuted(), chunkStart, "latest"),
      sys.orderBook.queryFilter(sys.orderBook.filters.OrderCancelled(), chunkStart, "latest"),
    ]);
    const guarded = cancelled.filter(
      (e) => sys.orderBook.interface.parseError(e.args.reason)?.name === "GapCoverExceeded",
    ).length;
    paid += indices.length;
    executed += done.length;
    refusedByGuard += guarded;
    for (const e of done) opened.push(Number(BigInt(e.args.account) - FIRST_ACCOUNT));
    if (tick?.ordersExecuted !== done.length || done.length + guarded !== indices.length) {
      throw new Error(
        `stress book: of ${indices.length} paid requests the keeper executed ${tick?.ordersExecuted} (${done.length} OrderExecuted), ` +
          `the gap guard refused ${guarded}, ${cancelled.length - guarded} were refused otherwise ` +
          `(${tick?.ordersSkipped} skipped, ${tick?.errors} errors)`,
      );
    }
    options.onProgress?.(indices[indices.length - 1] + 1);
  }
  const latest = await provider.getBlock("latest");
  const sides = Object.fromEntries(MARKETS.map((m) => [m, { long: 0n, short: 0n }])) as Book["sides"];
  for (const i of opened)
    sides[draws[i].market][draws[i].long ? "long" : "short"] += BigInt(draws[i].notionalUsd) * unit;
  const sum = (f: (s: { long: bigint; short: bigint }) => bigint) => MARKETS.reduce((t, m) => t + f(sides[m]), 0n);
  return {
    positions: opened.length,
    positionsAsked: draws.length,
    openInterest: sum((s) => s.long + s.short),
    openInterestAsked,
    sides,
    largerSides: sum((s) => (s.long > s.short ? s.long : s.short)),
    lpCapital,
    longShare: opened.length > 0 ? opened.filter((i) => draws[i].long).length / opened.length : 0,
    startBlock,
    openedAt: latest!.timestamp,
    requestsPaid: paid,
    requestsExecuted: executed,
    requestsRefusedByGuard: refusedByGuard,
  };
}

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

/** The project's keeper (signer 1, fees to itself), ticking after each round until it liquidates nothing more (at most 10 ticks). */
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
  const marginSum = async () => {
    let sum = 0n;
    for (let id = 0; id < MARKETS.length; id++) {
      const m = await lens.getMarket(id);
      sum += m.longMargin + m.shortMargin;
    }
    return sum;
  };
  const before = {
    backstopAssets: await backstop.totalAssets(),
    backstopSharePrice: await backstop.convertToAssets(one(sys.backstopShareDecimals)),
    lpSharePrice: (await lpSharePrice()) ?? 0n,
    lpBalance: await engine.lpBalance(),
    margins: await marginSum(),
    engineBalance: await sys.collateral.balanceOf(sys.addresses.engine),
  };
  const firstBlock = (await provider.getBlockNumber()) + 1;
  const start = clock;

  const prices: Record<MarketName, number> = { ETH: 1, BTC: 1 };
  let sequencer: "up" | "down" = "up";
  const rounds: RoundRecord[] = [];
  const totals = { badDebt: 0n, covered: 0n, socialized: 0n };
  for (const [i, r] of scenario.rounds.entries()) {
    const roundFrom = (await provider.getBlockNumber()) + 1;
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
    const to = await provider.getBlockNumber();
    const covers = await engine.queryFilter(engine.filters.BadDebtCovered(), roundFrom, to);
    const social = await engine.queryFilter(engine.filters.LossSocialized(), roundFrom, to);
    for (const e of covers) {
      totals.badDebt += e.args.badDebt;
      totals.covered += e.args.covered;
    }
    for (const e of social) totals.socialized += e.args.amount;
    rounds.push({
      round: i + 1,
      label: r.label,
      time: clock - start,
      prices: { ...prices },
      published,
      sequencer,
      oracleRefused,
      liquidated,
      backstopAssets: await backstop.totalAssets(),
      lpSharePrice: await lpSharePrice(),
      ...totals,
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

  const after = {
    backstopAssets: await backstop.totalAssets(),
    backstopSharePrice: await backstop.convertToAssets(one(sys.backstopShareDecimals)),
    lpBalance: await engine.lpBalance(),
    margins: await marginSum(),
    engineBalance: await sys.collateral.balanceOf(sys.addresses.engine),
  };
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
    lpSharePriceBefore: before.lpSharePrice,
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
    rounds,
  };
}
