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
import { ToolError } from "../chain/errors.js";
import type { Liquidator, RoundLiquidations } from "./run.js";
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
