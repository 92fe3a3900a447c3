/**
 * The upkeep-only run (issue 20): does a crash liquidated by Chainlink Automation alone end as it does with the
 * project's keeper? The scenario's book is opened once; from that state it is replayed twice at the same backstop
 * size: once with the keeper (`runScenario` as the lab always runs it), once with a `LiquidationUpkeep` as the only
 * liquidator, driven as the registry drives it (test/Automation.test.ts): positions listed by `checkLog` on each
 * of the book's `OrderExecuted` logs, and after each round `checkUpkeep` simulated from the zero address under the
 * check gas limit, each perform sent through an `AutomationForwarder` in its own block. Then the two runs are
 * compared position by position from the engine's events.
 *
 * The clock is frozen for the whole comparison (`freezeClock`): a block's time moves only when the lab moves it (a
 * round's `after`, the order book's delay), so every liquidation of a round, the keeper's or the upkeep's, lands at
 * the round's time, however many blocks the liquidator needs. Funding and borrowing accrue by the second, so
 * this is what makes the two runs comparable to the unit.
 */
import { AbiCoder, ZeroAddress } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { automationLog, FORWARD_TX_GAS, PERFORM_GAS_LIMIT, performCall, simulateCheck } from "../chain/automation.js";
import { mapLimit } from "../chain/concurrency.js";
import { formatUnits } from "../chain/deployment.js";
import { ToolError } from "../chain/errors.js";
import { pct, table } from "./report.js";
import {
  type Book,
  keeperLiquidator,
  type Liquidator,
  openBook,
  type RoundLiquidations,
  type RunResult,
  runScenario,
} from "./run.js";
import type { Scenario } from "./scenario.js";
import type { StressSystem } from "./system.js";
import type { AutomationForwarder, LiquidationUpkeep } from "../../../types/ethers-contracts/index.js";

/**
 * Automation checks at every block; a check scans about 283 positions from a place that changes each block, so
 * while some remain it can come back empty. The lab mines a block and checks again, up to this many times in a row.
 */
export const MAX_IDLE_BLOCKS = 100;
/** The signers the run uses beyond the lab's (admin 0, keeper 1, staker 2): the upkeep's fee recipient and the registry. */
const FEE_RECIPIENT_SIGNER = 3;
const REGISTRY_SIGNER = 4;

const FORWARDER = "@chainlink/contracts/src/v0.8/automation/AutomationForwarder.sol:AutomationForwarder";

/** The methods that mine a block: the in-process network automines each transaction. */
const MINES = new Set(["eth_sendTransaction", "eth_sendRawTransaction", "evm_mine", "hardhat_mine"]);

/**
 * Freezes the chain's clock: every block gets the time of the block before it unless the lab moves the clock
 * (`evm_setNextBlockTimestamp`, `evm_increaseTime`). The in-process network otherwise stamps a block with the wall
 * clock, so that a liquidator that needs more blocks, or a slower machine, accrues more funding. Needs a
 * connection with `allowBlocksWithSameTimestamp` (`network.create({ override: { allowBlocksWithSameTimestamp:
 * true } })`); wraps the connection's provider, whose `request` every ethers call goes through, and returns the
 * function that unwraps it. Transactions are serialized (each is stamped just before it is mined).
 */
export async function freezeClock(connection: NetworkConnection): Promise<() => void> {
  const provider = connection.provider;
  const request = provider.request.bind(provider);
  const latest = async () => {
    const block = (await request({ method: "eth_getBlockByNumber", params: ["latest", false] })) as {
      timestamp: string;
    };
    return Number(block.timestamp);
  };
  let next = await latest();
  const arm = async (t: number) => {
    next = t;
    await request({ method: "evm_setNextBlockTimestamp", params: [t] });
  };
  try {
    await arm(next);
  } catch (error) {
    throw new ToolError(
      "SameTimestampsOff",
      `the clock cannot be frozen: the network refuses a block at its last block's time (${(error as Error).message}); ` +
        "create the connection with { override: { allowBlocksWithSameTimestamp: true } }",
    );
  }
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
  provider.request = (args) => {
    const params = (args.params ?? []) as unknown[];
    switch (args.method) {
      case "evm_setNextBlockTimestamp":
        return serial(async () => {
          await arm(Number(params[0]));
          return null;
        });
      case "evm_increaseTime":
        return serial(async () => {
          const answer = await request(args);
          await arm(next + Number(params[0]));
          return answer;
        });
      case "evm_revert":
        return serial(async () => {
          const answer = await request(args);
          await arm(await latest());
          return answer;
        });
      default:
        if (!MINES.has(args.method)) return request(args);
        return serial(async () => {
          try {
            return await request(args);
          } finally {
            await arm(await latest());
          }
        });
    }
  };
  return () => {
    delete (provider as { request?: unknown }).request; // back to the provider's own method
  };
}

/** A `LiquidationUpkeep` on the stress system, with the registry's two forwarders (one per registration). */
export async function deployUpkeep(connection: NetworkConnection, sys: StressSystem) {
  const { ethers } = connection;
  const signers = await ethers.getSigners();
  const registry = signers[REGISTRY_SIGNER];
  const feeRecipient = signers[FEE_RECIPIENT_SIGNER].address;
  // Fully qualified names: a test tree may compile contracts of the same names (mutants, harnesses).
  const upkeep = (await ethers.deployContract("contracts/LiquidationUpkeep.sol:LiquidationUpkeep", [
    sys.addresses.lens,
    feeRecipient,
  ])) as unknown as LiquidationUpkeep;
  // Automation registers the contract twice, a log trigger (OrderExecuted) and custom logic, each with its own
  // forwarder; `logic` serves only the forwarder's registry-facing fallback, unused here.
  const forwarder = async () =>
    (await ethers.deployContract(FORWARDER, [upkeep, registry, ZeroAddress])) as unknown as AutomationForwarder;
  const logForwarder = await forwarder();
  const customForwarder = await forwarder();
  return { upkeep, logForwarder, customForwarder, registry, feeRecipient };
}
export type Upkeep = Awaited<ReturnType<typeof deployUpkeep>>;

/** A check as the registry runs it (chain/automation.ts). */
const simulate = (connection: NetworkConnection, u: Upkeep, fn: "checkUpkeep" | "checkLog", args: unknown[]) =>
  simulateCheck(connection.ethers.provider, u.upkeep, fn, args);

/**
 * `performUpkeep(data)` as the registry sends it: `forward(PERFORM_GAS_LIMIT, call)` on the registration's forwarder,
 * from the registry; the forwarder's answer (did the call succeed, the gas it used: what the registry bills) read
 * by a static call first, as Automation's simulation would.
 */
async function perform(u: Upkeep, forwarder: Upkeep["logForwarder"], data: string) {
  const call = performCall(u.upkeep, data);
  const f = forwarder.connect(u.registry);
  const [success, forwarded] = await f.forward.staticCall(PERFORM_GAS_LIMIT, call, { gasLimit: FORWARD_TX_GAS });
  const receipt = (await (await f.forward(PERFORM_GAS_LIMIT, call, { gasLimit: FORWARD_TX_GAS })).wait())!;
  return { success: success as boolean, forwarded: forwarded as bigint, receipt };
}

/** How the upkeep's positions were listed: one `checkLog` per `OrderExecuted` log, and its perform. */
export interface Listing {
  /** The upkeep's address. */
  upkeep: string;
  logs: number;
  performs: number;
  tracked: number;
  gas: bigint;
  seconds: number;
}

/**
 * Lists the book's positions as the log-trigger registration does: for each of the order book's `OrderExecuted`
 * logs in `from`..`to`, in the chain's order, `checkLog` with the log in Chainlink's `Log` shape, then the perform
 * it asks for. Every executed position must end up listed, or this throws.
 */
export async function listFromLogs(
  connection: NetworkConnection,
  sys: StressSystem,
  u: Upkeep,
  from: number,
  to: number,
): Promise<Listing> {
  const t0 = Date.now();
  const provider = connection.ethers.provider;
  const logs = await sys.orderBook.queryFilter(sys.orderBook.filters.OrderExecuted(), from, to);
  const times = new Map<number, number>();
  let [performs, gas] = [0, 0n];
  for (const log of logs) {
    if (!times.has(log.blockNumber)) times.set(log.blockNumber, (await provider.getBlock(log.blockNumber))!.timestamp);
    const c = await simulate(connection, u, "checkLog", [automationLog(log, times.get(log.blockNumber)!), "0x"]);
    if (!c.needed) continue;
    const p = await perform(u, u.logForwarder, c.performData);
    if (!p.success) throw new Error(`listing: the perform for the execution in ${log.transactionHash} failed`);
    performs++;
    gas += p.receipt.gasUsed;
  }
  const tracked = Number(await u.upkeep.trackedCount());
  if (tracked !== logs.length)
    throw new Error(`listing: ${logs.length} OrderExecuted logs listed ${tracked} positions in the upkeep`);
  const upkeep = await u.upkeep.getAddress();
  return { upkeep, logs: logs.length, performs, tracked, gas, seconds: (Date.now() - t0) / 1000 };
}

/** What the upkeep did over a run. */
export interface UpkeepStats {
  /** `checkUpkeep` simulations. */
  checks: number;
  performs: number;
  /** Performs whose forwarded call failed (the registry would have charged them). */
  failedPerforms: number;
  /** Blocks mined with no perform because the check came back empty while listed positions were still due. */
  idleBlocks: number;
  /** Gas of the `forward` transactions. */
  gas: bigint;
  /** Gas the forwarder measured for `performUpkeep` itself (what the registry bills, before its overhead). */
  forwardedGas: bigint;
  maxPerformGas: bigint;
  maxPerformPositions: number;
}

/**
 * The upkeep as the run's only liquidator: after each round, `checkUpkeep` simulated (checkData empty: the whole
 * list), and while it says needed, its perform through the custom-logic forwarder, one per block. A check that
 * comes back empty ends the round when no listed position is liquidatable or closed (the lab reads them all
 * from the lens); while some are, Automation would check again at the next block, so the lab mines one and
 * checks again (`idleBlocks`).
 */
export function upkeepLiquidator(
  connection: NetworkConnection,
  sys: StressSystem,
  u: Upkeep,
  log: (line: string) => void = () => {},
): Liquidator & { stats: UpkeepStats } {
  const provider = connection.ethers.provider;
  const stats: UpkeepStats = {
    checks: 0,
    performs: 0,
    failedPerforms: 0,
    idleBlocks: 0,
    gas: 0n,
    forwardedGas: 0n,
    maxPerformGas: 0n,
    maxPerformPositions: 0,
  };
  const batchTopic = sys.engine.interface.getEvent("BatchLiquidated")!.topicHash;
  /** Listed positions the upkeep's check would name: liquidatable, or gone. */
  const due = async () => {
    const count = await u.upkeep.trackedCount();
    const page = await u.upkeep.trackedPage(0n, count);
    const flags = await mapLimit([...page], 16, async ({ account, marketId }) => {
      try {
        return await sys.lens.isLiquidatable(account, marketId);
      } catch {
        return (await sys.engine.getPosition(account, marketId)).size === 0n;
      }
    });
    return flags.filter(Boolean).length;
  };
  /** Whether some market's oracle refuses a price (stale): nothing there can be liquidated. */
  const oracleRefuses = async () => {
    for (const oracle of [sys.ethOracle, sys.btcOracle]) {
      try {
        await oracle.price();
      } catch {
        return true;
      }
    }
    return false;
  };
  return {
    stats,
    start: async () => {},
    afterRound: async () => {
      const out: RoundLiquidations = { liquidated: 0, errors: 0, oracleRefused: await oracleRefuses() };
      let idle = 0;
      let failed = 0;
      for (;;) {
        const c = await simulate(connection, u, "checkUpkeep", ["0x"]);
        stats.checks++;
        if (!c.needed) {
          const left = await due();
          if (left === 0) break;
          if (++idle > MAX_IDLE_BLOCKS) {
            out.errors++;
            log(`upkeep: ${MAX_IDLE_BLOCKS} checks in a row found nothing while ${left} listed positions are due`);
            break;
          }
          await provider.send("evm_mine", []);
          stats.idleBlocks++;
          continue;
        }
        idle = 0;
        const [keys] = AbiCoder.defaultAbiCoder().decode(["uint256[]"], c.performData);
        const p = await perform(u, u.customForwarder, c.performData);
        stats.performs++;
        stats.gas += p.receipt.gasUsed;
        stats.forwardedGas += p.forwarded;
        if (p.receipt.gasUsed > stats.maxPerformGas) {
          stats.maxPerformGas = p.receipt.gasUsed;
          stats.maxPerformPositions = (keys as bigint[]).length;
        }
        if (!p.success) {
          stats.failedPerforms++;
          out.errors++;
          log(`upkeep: a perform of ${(keys as bigint[]).length} positions failed (tx ${p.receipt.hash})`);
          if (++failed >= 3) break; // the same check would ask for the same perform again
          continue;
        }
        const batch = p.receipt.logs.find((l) => l.topics[0] === batchTopic);
        if (batch) out.liquidated += Number(sys.engine.interface.parseLog(batch)!.args.liquidated);
      }
      return out;
    },
  };
}

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
