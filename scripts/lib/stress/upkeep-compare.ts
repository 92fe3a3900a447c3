/**
 * The upkeep-only run's comparison (issue 20; the driving is in upkeeps.ts): the scenario replayed with the keeper
 * and with the upkeep alone from the same opened book, each position's outcome read from the engine's events,
 * compared position by position, and rendered as the report's table.
 */
import type { NetworkConnection } from "hardhat/types/network";
import { formatUnits } from "../chain/deployment.js";
import { ToolError } from "../chain/errors.js";
import { pct, table } from "./report.js";
import { type Book, openBook } from "./book.js";
import { keeperLiquidator, type Liquidator, type RunResult, runScenario } from "./run.js";
import type { Scenario } from "./scenario.js";
import type { StressSystem } from "./system.js";
import {
  deployUpkeep,
  freezeClock,
  listFromLogs,
  type Listing,
  upkeepLiquidator,
  type UpkeepStats,
} from "./upkeeps.js";

/** One position's liquidation over a run, summed over its liquidations (a partial one and then the rest). */
export interface Outcome {
  account: string;
  marketId: number;
  liquidations: number;
  sizeClosed: bigint;
  /** The price of its last liquidation. */
  price: bigint;
  traderLoss: bigint;
  keeperFee: bigint;
  penalty: bigint;
  refund: bigint;
  badDebt: bigint;
  covered: bigint;
  socialized: bigint;
}

const positionKey = (account: string, marketId: bigint | number) => `${account.toLowerCase()}:${marketId}`;
/** What must be the same for a position in both runs, whatever the order of liquidation. */
const OWN_FIELDS = [
  "liquidations",
  "sizeClosed",
  "price",
  "traderLoss",
  "keeperFee",
  "penalty",
  "refund",
  "badDebt",
] as const;

/** Every liquidated position's outcome in blocks `from`..`to`, from the engine's waterfall events. */
export async function readOutcomes(sys: StressSystem, from: number, to: number): Promise<Outcome[]> {
  const e = sys.engine;
  const q = <T>(filter: T) =>
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    e.queryFilter(filter as any, from, to) as Promise<{ args: any }[]>;
  const [paid, pens, liqs, bad, social] = await Promise.all([
    q(e.filters.KeeperPaid()),
    q(e.filters.PenaltyPaid()),
    q(e.filters.PositionLiquidated()),
    q(e.filters.BadDebtCovered()),
    q(e.filters.LossSocialized()),
  ]);
  const byKey = new Map<string, Outcome>();
  const at = (account: string, marketId: bigint) => {
    const k = positionKey(account, marketId);
    let o = byKey.get(k);
    if (!o) {
      o = {
        account,
        marketId: Number(marketId),
        liquidations: 0,
        sizeClosed: 0n,
        price: 0n,
        traderLoss: 0n,
        keeperFee: 0n,
        penalty: 0n,
        refund: 0n,
        badDebt: 0n,
        covered: 0n,
        socialized: 0n,
      };
      byKey.set(k, o);
    }
    return o;
  };
  for (const { args } of liqs) {
    const o = at(args.account, args.marketId);
    o.liquidations++;
    o.sizeClosed += args.sizeClosed;
    o.price = args.price;
    o.traderLoss += args.traderLoss;
    o.refund += args.refund;
  }
  for (const { args } of paid) at(args.account, args.marketId).keeperFee += args.fee;
  for (const { args } of pens) at(args.account, args.marketId).penalty += args.penalty;
  for (const { args } of bad) {
    const o = at(args.account, args.marketId);
    o.badDebt += args.badDebt;
    o.covered += args.covered;
  }
  for (const { args } of social) at(args.account, args.marketId).socialized += args.amount;
  return [...byKey.values()].sort((a, b) =>
    positionKey(a.account, a.marketId) < positionKey(b.account, b.marketId) ? -1 : 1,
  );
}

/** One replay of the scenario with one liquidator. */
export interface LiquidatorRun {
  liquidator: "keeper" | "upkeep";
  result: RunResult;
  positions: Outcome[];
  /** Where its keeper fees went, and the collateral it received over the run. */
  feeRecipient: string;
  feesReceived: bigint;
  /** Its transactions: the keeper's `liquidateBatch`es, the upkeep's performs (`forward`). */
  transactions: number;
  /** Blocks it took: those of its transactions, and for the upkeep the blocks it waited on an empty check. */
  blocks: number;
  /** Gas of its transactions. */
  gas: bigint;
  maxTransactionGas: bigint;
  maxTransactionPositions: number;
  upkeep?: UpkeepStats;
  /** The LP pool after the run: the engine's LP balance, the gains still vesting, the vault's `totalAssets`. */
  lp: { balance: bigint; unvested: bigint; assets: bigint };
  seconds: number;
}

/** A total of both runs: the same, or not. */
export interface Total {
  name: string;
  keeper: bigint | number;
  upkeep: bigint | number;
  same: boolean;
  /**
   * Depends on the order the positions are liquidated in, so it may differ without a fault: once the window's
   * cover limit binds, which positions the backstop covers, hence the cover-limit events, the covers' steps that
   * vest in the LP pool (`VestingLib`) and the LP share price read net of what still vests.
   */
  orderDependent?: boolean;
}

export interface UpkeepComparison {
  scenario: string;
  description: string;
  book: Book;
  backstopShare: number;
  clock: string;
  listing: Listing;
  keeper: LiquidatorRun;
  upkeep: LiquidatorRun;
  totals: Total[];
  /** Positions liquidated in one run only. */
  onlyKeeper: string[];
  onlyUpkeep: string[];
  /** Positions liquidated in both whose own outcome (fee, penalty, refund, loss, bad debt...) differs. */
  outcomesDiffer: string[];
  /**
   * Positions whose bad debt the two runs split differently between the backstop and the LPs: once the window's
   * cover limit binds, which positions it covers depends on the order they are liquidated in.
   */
  splitDiffers: number;
  /** Everything the comparison asserts that does not hold (empty: the runs agree). */
  problems: string[];
  seconds: number;
}

export interface CompareOptions {
  positions?: number;
  seed?: number;
  /** Backstop size as a share of open interest; default the scenario's first listed size. */
  backstopShare?: number;
  /** The keeper's most positions per `liquidateBatch`. */
  batchSize?: number;
  say?: (line: string) => void;
}

/**
 * Opens the scenario's book (clock frozen), then replays the scenario from it twice at one backstop size: with
 * the keeper, then, reverted to the opened book, with a `LiquidationUpkeep` deployed, listing the book from its
 * logs, as the only liquidator; and compares them. Leaves the chain at the end of the upkeep's run, the clock
 * unfrozen.
 */
export async function compareUpkeeps(
  connection: NetworkConnection,
  sys: StressSystem,
  scenario: Scenario,
  options: CompareOptions = {},
): Promise<UpkeepComparison> {
  const t0 = Date.now();
  const say = options.say ?? (() => {});
  const { ethers } = connection;
  const provider = ethers.provider;
  const share = options.backstopShare ?? scenario.backstopSizes[0];
  if (share === undefined || !(share >= 0 && share <= 1))
    throw new ToolError(
      "BadBackstop",
      share === undefined
        ? `the upkeep-only run needs a backstop size: ${scenario.name} lists none (give one as a share of open interest)`
        : `the backstop must be a share of open interest in 0..1, not ${share}`,
    );
  const unfreeze = await freezeClock(connection);
  try {
    const book = await openBook(connection, sys, scenario, { positions: options.positions, seed: options.seed });
    const openedBlock = await provider.getBlockNumber();
    say(`[upkeeps] ${scenario.name}: ${book.positions} positions open (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    const opened: string = await provider.send("evm_snapshot", []);
    const [, keeperSigner] = await ethers.getSigners();

    const replay = async (name: LiquidatorRun["liquidator"], recipient: string, liquidator: Liquidator) => {
      const t = Date.now();
      const from = (await provider.getBlockNumber()) + 1;
      const before = await sys.collateral.balanceOf(recipient);
      const result = await runScenario(connection, sys, scenario, book, share, {
        batchSize: options.batchSize,
        liquidator,
      });
      const to = await provider.getBlockNumber();
      const batches = await sys.engine.queryFilter(sys.engine.filters.BatchLiquidated(), from, to);
      const [balance, unvested, assets] = await Promise.all([
        sys.engine.lpBalance(),
        sys.lens.unvestedGains(),
        sys.vault.totalAssets(),
      ]);
      return {
        liquidator: name,
        result,
        positions: await readOutcomes(sys, from, to),
        feeRecipient: recipient,
        feesReceived: (await sys.collateral.balanceOf(recipient)) - before,
        transactions: result.gas.transactions,
        blocks: new Set(batches.map((b) => b.blockNumber)).size,
        gas: result.gas.total,
        maxTransactionGas: result.gas.maxBatch,
        maxTransactionPositions: result.gas.maxBatchPositions,
        lp: { balance, unvested, assets },
        seconds: (Date.now() - t) / 1000,
      } satisfies LiquidatorRun;
    };

    const keeper = await replay(
      "keeper",
      keeperSigner.address,
      await keeperLiquidator(connection, sys, book, { batchSize: options.batchSize }),
    );
    say(`[upkeeps] keeper: ${keeper.positions.length} positions liquidated (${keeper.seconds.toFixed(1)} s)`);

    await provider.send("evm_revert", [opened]);
    const u = await deployUpkeep(connection, sys);
    const listing = await listFromLogs(connection, sys, u, book.startBlock, openedBlock);
    say(
      `[upkeeps] listed ${listing.tracked} positions from ${listing.logs} OrderExecuted logs ` +
        `(${listing.performs} performs, ${listing.seconds.toFixed(1)} s)`,
    );
    const liquidator = upkeepLiquidator(connection, sys, u, (line) => say(`[upkeeps] ${line}`));
    const upkeepRun = await replay("upkeep", u.feeRecipient, liquidator);
    const upkeep: LiquidatorRun = {
      ...upkeepRun,
      transactions: liquidator.stats.performs,
      blocks: liquidator.stats.performs + liquidator.stats.idleBlocks,
      gas: liquidator.stats.gas,
      maxTransactionGas: liquidator.stats.maxPerformGas,
      maxTransactionPositions: liquidator.stats.maxPerformPositions,
      upkeep: liquidator.stats,
    };
    say(`[upkeeps] upkeep: ${upkeep.positions.length} positions liquidated (${upkeep.seconds.toFixed(1)} s)`);
    return compare(scenario, book, share, listing, keeper, upkeep, (Date.now() - t0) / 1000);
  } finally {
    unfreeze();
  }
}

function compare(
  scenario: Scenario,
  book: Book,
  backstopShare: number,
  listing: Listing,
  keeper: LiquidatorRun,
  upkeep: LiquidatorRun,
  seconds: number,
): UpkeepComparison {
  const k = new Map(keeper.positions.map((o) => [positionKey(o.account, o.marketId), o]));
  const u = new Map(upkeep.positions.map((o) => [positionKey(o.account, o.marketId), o]));
  const onlyKeeper = [...k.keys()].filter((x) => !u.has(x));
  const onlyUpkeep = [...u.keys()].filter((x) => !k.has(x));
  const outcomesDiffer: string[] = [];
  let splitDiffers = 0;
  for (const [key, a] of k) {
    const b = u.get(key);
    if (!b) continue;
    if (OWN_FIELDS.some((f) => a[f] !== b[f])) outcomesDiffer.push(key);
    if (a.covered !== b.covered || a.socialized !== b.socialized) splitDiffers++;
  }
  const total = (name: string, f: (x: LiquidatorRun) => bigint | number, orderDependent = false): Total => {
    const [a, b] = [f(keeper), f(upkeep)];
    return { name, keeper: a, upkeep: b, same: a === b, ...(orderDependent ? { orderDependent } : {}) };
  };
  const totals = [
    { name: "positions liquidated", keeper: k.size, upkeep: u.size, same: k.size === u.size },
    total("liquidations, full", (x) => x.result.liquidations.full),
    total("liquidations, partial", (x) => x.result.liquidations.partial),
    total("keeper fees", (x) => x.result.keeperFees),
    total("penalties", (x) => x.result.penalties),
    total("refunds", (x) => x.result.refunds),
    total("refunds deferred", (x) => x.result.refundsDeferred),
    total("bad debt", (x) => x.result.badDebt),
    total("covered", (x) => x.result.covered),
    total("socialized", (x) => x.result.socialized),
    total("backstop drawdown", (x) => x.result.backstopDrawdown),
    total("backstop share price after", (x) => x.result.backstopSharePriceAfter),
    total("LP balance after", (x) => x.lp.balance),
    // The vault's assets with the vesting gains counted: what the order of liquidation cannot move.
    total("LP assets + unvested after", (x) => x.lp.assets + x.lp.unvested),
    total("cover-limit events", (x) => x.result.coverLimitHits, true),
    total("gains still vesting after", (x) => x.lp.unvested, true),
    total("LP share price after", (x) => x.result.lpSharePriceAfter, true),
  ];
  const problems: string[] = [];
  if (onlyKeeper.length > 0) problems.push(`${onlyKeeper.length} positions liquidated by the keeper only`);
  if (onlyUpkeep.length > 0) problems.push(`${onlyUpkeep.length} positions liquidated by the upkeep only`);
  if (outcomesDiffer.length > 0)
    problems.push(`${outcomesDiffer.length} positions liquidated by both with another outcome`);
  for (const t of totals.filter((t) => !t.same && !t.orderDependent))
    problems.push(`${t.name}: keeper ${t.keeper}, upkeep ${t.upkeep}`);
  for (const run of [keeper, upkeep]) {
    for (const c of run.result.conservation.filter((c) => !c.ok)) problems.push(`${run.liquidator}: ${c.name}`);
    if (run.feesReceived !== run.result.keeperFees)
      problems.push(`${run.liquidator}: its fee recipient received ${run.feesReceived}, not the keeper fees paid`);
  }
  if (upkeep.upkeep && upkeep.upkeep.failedPerforms > 0)
    problems.push(`upkeep: ${upkeep.upkeep.failedPerforms} performs failed`);
  return {
    scenario: scenario.name,
    description: scenario.description,
    book,
    backstopShare,
    clock:
      "frozen: a block's time moves only with the scenario's rounds, so each round's liquidations land at its time",
    listing,
    keeper,
    upkeep,
    totals,
    onlyKeeper,
    onlyUpkeep,
    outcomesDiffer,
    splitDiffers,
    problems,
    seconds,
  };
}

/** The comparison as text: one line per total and per cost, keeper beside upkeep. */
export function renderUpkeeps(c: UpkeepComparison, decimals: number): string {
  const usd = (x: bigint) => formatUnits(x, decimals, 2);
  const price = (x: bigint) => formatUnits(x, decimals, 6);
  const n = (x: number | bigint) => x.toLocaleString("en-US");
  const counts = new Set(["positions liquidated", "liquidations, full", "liquidations, partial", "cover-limit events"]);
  const shown = (t: Total, x: bigint | number) =>
    counts.has(t.name) ? n(x) : t.name.endsWith("share price after") ? price(x as bigint) : usd(x as bigint);
  const same = (t: Total) => (t.same ? "yes" : t.orderDependent ? "no: order" : "NO");
  const rows = c.totals.map((t) => [t.name, shown(t, t.keeper), shown(t, t.upkeep), same(t)]);
  const holds = (run: LiquidatorRun) => (run.result.conservation.every((x) => x.ok) ? "holds" : "BROKEN");
  const cost = (name: string, f: (run: LiquidatorRun) => string) => [name, f(c.keeper), f(c.upkeep), ""];
  const u = c.upkeep.upkeep!;
  rows.push(
    ["conservation (5 checks)", holds(c.keeper), holds(c.upkeep), ""],
    cost("fees to its recipient", (run) => usd(run.feesReceived)),
    cost("transactions", (run) => n(run.transactions)),
    cost("blocks", (run) => n(run.blocks)),
    cost("gas", (run) => n(run.gas)),
    cost("gas per position", (run) => n(run.positions.length > 0 ? run.gas / BigInt(run.positions.length) : 0n)),
    cost("largest tx gas (positions)", (run) => `${n(run.maxTransactionGas)} (${run.maxTransactionPositions})`),
    cost("errors", (run) => n(run.result.keeperErrors)),
    cost("wall time, s", (run) => run.seconds.toFixed(1)),
  );
  const alike = c.keeper.positions.length - c.onlyKeeper.length - c.outcomesDiffer.length;
  return [
    `${c.scenario} (upkeep-only run): ${c.description}`,
    `  book: ${c.book.positions} positions, OI ${formatUnits(c.book.openInterest, decimals, 0)} USD, backstop ${pct(c.backstopShare)} of OI; ` +
      `the same opened book for both runs, clock ${c.clock}`,
    `  listing: ${n(c.listing.logs)} OrderExecuted logs, checkLog on each, ${n(c.listing.performs)} performs through the log ` +
      `forwarder (${n(c.listing.gas)} gas), ${n(c.listing.tracked)} positions listed (${c.listing.seconds.toFixed(1)} s)`,
    ...table(["", "keeper", "upkeep", "same"], rows),
    `  upkeep: ${n(u.checks)} checks simulated (10M gas each, from the zero address), ${n(u.performs)} performs of at most ` +
      `25 positions (5M perform gas; ${n(u.forwardedGas)} gas inside the forwarder), ${n(u.idleBlocks)} blocks waited on an empty check`,
    `  per position: ${n(alike)} of ${n(c.keeper.positions.length)} liquidated by both with the same size closed, price, trader loss, ` +
      `keeper fee, penalty, refund and bad debt; ${n(c.splitDiffers)} with their bad debt split otherwise between covered and socialized ` +
      `(the order of liquidation against the window's cover limit)`,
    c.problems.length === 0
      ? "  the upkeep-only run liquidates the keeper's positions with the same outcomes and totals; conservation holds in both"
      : `  DIFFERENCES: ${c.problems.join("; ")}`,
  ].join("\n");
}
