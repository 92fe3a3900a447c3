// Chainlink Automation: what to register, for each upkeep of a deployment, in the Automation app or with a
// registrar (name, upkeep contract, trigger, log filter, checkData, gas limit), and the timelock calls that make the
// execution upkeeps' registry forwarders executors of the order book (docs/OPERATIONS.md, "Chainlink Automation").
import { createRequire } from "node:module";
import { AbiCoder, Contract, Interface, ZeroHash } from "ethers";
import { type Report, type Tool, type ToolContext, integerOption, optionalAddress } from "../chain/cli.js";
import { ToolError } from "../chain/errors.js";
import { decimal } from "../chain/format.js";
import { type TimelockArgs, scheduleCall, viaTimelock } from "./timelock.js";
import { EXECUTOR_ROLE } from "./verify.js";

const require = createRequire(import.meta.url);
/** An ABI shipped by the @chainlink/contracts package, so that topics and selectors come from Chainlink's own ABIs. */
const chainlinkAbi = (name: string) => new Interface(require(`@chainlink/contracts/abi/v0.8/${name}.json`));
/** The aggregator behind a feed's proxy emits `AnswerUpdated` at each round. */
const AGGREGATOR = chainlinkAbi("AggregatorInterface");
const AGGREGATOR_PROXY = chainlinkAbi("IAggregatorProxy");
const FORWARDER = chainlinkAbi("AutomationForwarder");
/** Chainlink's ABI helper for the registrar's trigger config (`_logTriggerConfig(LogTriggerConfig)`). */
const AUTOMATION_UTILS = chainlinkAbi("AutomationCompatibleUtils");

/** The registrar's trigger types (Chainlink's `Trigger` enum): custom logic (a condition checked each block) or a log. */
export const TRIGGER = { custom: 0, log: 1 } as const;

/**
 * The least gas limit at which each log-trigger perform succeeds through its forwarder, measured by bisection on
 * the in-process network against the LocalBulwark Ignition deployment (test/Upkeeps.deploy.test.ts,
 * `log_trigger_performs_fit_the_registered_gas_limits_measured_through_the_forwarder`, which fails if a figure
 * measured there passes the one here). Each is the costliest case: the first position listed on an empty list
 * (81,700; the same perform once the position is listed, the batch path, 77,199), the first trade request (an open)
 * queued on an empty queue, the first LP request queued; a new array length, element and mapping slot cost the most.
 */
export const MEASURED_PERFORM_GAS = { track: 81_700n, enqueue: 148_243n, enqueueLp: 72_853n };

/**
 * The perform gas limit to register for each upkeep. The registry calls `performUpkeep` with exactly this much gas
 * (through the upkeep's forwarder) and charges the gas used, not the limit; the limit sets the LINK balance the
 * registry requires. The log-trigger queueing and listing limits are twice the measured figure, rounded up to
 * 50,000 (a changed book or vault, or repriced opcodes, may cost more than the test's case); the batch performs take the
 * registries' 5,000,000 perform gas limit, which the contracts' perform sizes were chosen to fit.
 */
export const UPKEEP_GAS_LIMIT = {
  /** 25 positions a perform (LiquidationUpkeep.MAX_PER_PERFORM) at about 140,000 gas each. */
  liquidations: 5_000_000n,
  /** Lists one position: twice `MEASURED_PERFORM_GAS.track`. */
  track: 200_000n,
  /** Queues one trade request: twice `MEASURED_PERFORM_GAS.enqueue`. */
  enqueue: 300_000n,
  /** Queues one LP request: twice `MEASURED_PERFORM_GAS.enqueueLp`. */
  enqueueLp: 150_000n,
  /** 12 trades a perform (ExecutionUpkeep.MAX_PERFORM_DATA) at about 250,000 gas each, or LP requests. */
  execute: 5_000_000n,
};

/**
 * Positions one liquidation check scans within the registries' 10,000,000 check gas limit: 283 measured at 34,160
 * gas a position (test/Automation.test.ts, "one liquidation check scans about 280 positions"), rounded down.
 */
export const LIQUIDATION_PAGE_SIZE = 280n;

/** `checkData` of a liquidation page: `abi.encode(start, count)`; the last page runs to the end of the list. */
export const liquidationPage = (start: bigint, count: bigint) =>
  AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [start, count]);

/** The registrar's `triggerConfig` for a log trigger on `topic0` of `emitter`, no other topic filtered. */
export function logTriggerConfig(emitter: string, topic0: string): string {
  const input = AUTOMATION_UTILS.getFunction("_logTriggerConfig")!.inputs[0];
  return AbiCoder.defaultAbiCoder().encode([input], [[emitter, 0, topic0, ZeroHash, ZeroHash, ZeroHash]]);
}

/**
 * The contract whose `AnswerUpdated` logs a feed's rounds give: the aggregator behind a Chainlink proxy
 * (`aggregator()`, which changes when Chainlink upgrades the feed), or the feed itself when it answers no
 * `aggregator()` (a feed that is its own aggregator, such as the local mocks).
 */
export async function roundEmitter(ctx: Pick<ToolContext, "ethers">, feed: string) {
  const { provider } = ctx.ethers;
  if ((await provider.getCode(feed)) === "0x") {
    throw new ToolError("NoContract", `the feed ${feed} has no contract on this network`, { feed });
  }
  const proxy = new Contract(feed, AGGREGATOR_PROXY, provider);
  let aggregator: string;
  try {
    aggregator = await proxy.aggregator();
  } catch {
    return { address: feed, proxy: false };
  }
  if ((await provider.getCode(aggregator)) === "0x") {
    throw new ToolError("NoContract", `the feed ${feed} names the aggregator ${aggregator}, which has no contract`, {
      feed,
      aggregator,
    });
  }
  return { address: aggregator, proxy: true };
}

export interface Upkeep {
  name: string;
  /** The contract the registry checks and performs on. */
  upkeep: string;
  contract: "LiquidationUpkeep" | "ExecutionUpkeep";
  trigger: "custom" | "log";
  triggerType: number;
  /** For a log trigger: the emitting contract and the event's topic0; no other topic is filtered. */
  log?: { emitter: string; emitterName: string; event: string; topic0: string };
  /** `triggerConfig` for a registrar: empty for custom logic. */
  triggerConfig: string;
  checkData: string;
  gasLimit: bigint;
  /** Its forwarder must hold the order book's EXECUTOR_ROLE (granted through the timelock after registration). */
  forwarderExecutes: boolean;
  /** What it does, in one line. */
  does: string;
}

export type UpkeepsArgs = TimelockArgs & { forwarder?: string; pages?: string | number };

/** The forwarders named by --forwarder (comma-separated), each checked to forward to the execution upkeep. */
async function forwardersOf(ctx: ToolContext, text: string | undefined) {
  if (text === undefined || text.trim() === "") return [];
  const a = ctx.d.addresses;
  const out: string[] = [];
  for (const item of text.split(",")) {
    const forwarder = optionalAddress(item.trim(), "forwarder");
    if (forwarder === undefined) throw new ToolError("BadAddress", `--forwarder has an empty entry: "${text}"`);
    if ((await ctx.ethers.provider.getCode(forwarder)) === "0x") {
      throw new ToolError("NoContract", `the forwarder ${forwarder} has no contract on this network`, { forwarder });
    }
    let target: string;
    try {
      target = await new Contract(forwarder, FORWARDER, ctx.ethers.provider).getTarget();
    } catch {
      throw new ToolError(
        "NotAForwarder",
        `${forwarder} is not an Automation forwarder (it answers no getTarget()): pass the forwarder the Automation ` +
          "app shows for the upkeep",
        { forwarder },
      );
    }
    if (target.toLowerCase() === a.liquidationUpkeep.toLowerCase()) {
      throw new ToolError(
        "NotAnExecutionForwarder",
        `the forwarder ${forwarder} forwards to the LiquidationUpkeep, whose performs anyone may make: only the ` +
          "forwarders of the execution upkeeps (the market rounds and the fallback) need EXECUTOR_ROLE",
        { forwarder, target },
      );
    }
    if (target.toLowerCase() !== a.executionUpkeep.toLowerCase()) {
      throw new ToolError(
        "NotAnExecutionForwarder",
        `the forwarder ${forwarder} forwards to ${target}, not to this deployment's ExecutionUpkeep ${a.executionUpkeep}`,
        { forwarder, target },
      );
    }
    if (!out.includes(forwarder)) out.push(forwarder);
  }
  return out;
}

/** Every upkeep to register for the deployment, in the order to register them. */
export async function upkeepsOf(ctx: ToolContext, pages: bigint): Promise<Upkeep[]> {
  const { d } = ctx;
  const a = d.addresses;
  const list: Upkeep[] = [];
  const custom = { trigger: "custom" as const, triggerType: TRIGGER.custom, triggerConfig: "0x" };
  const onLog = (emitter: string, emitterName: string, event: string, topic0: string) => ({
    trigger: "log" as const,
    triggerType: TRIGGER.log,
    log: { emitter, emitterName, event, topic0 },
    triggerConfig: logTriggerConfig(emitter, topic0),
  });
  const topic = (iface: { getEvent(name: string): { topicHash: string } | null }, event: string) =>
    iface.getEvent(event)!.topicHash;

  // (a) Liquidations: the whole list in one check, or pages of LIQUIDATION_PAGE_SIZE (the last to the list's end).
  for (let i = 0n; i < pages; i++) {
    const start = i * LIQUIDATION_PAGE_SIZE;
    const last = i === pages - 1n;
    list.push({
      name: pages === 1n ? "Bulwark liquidations" : `Bulwark liquidations, page ${i + 1n} of ${pages}`,
      upkeep: a.liquidationUpkeep,
      contract: "LiquidationUpkeep",
      ...custom,
      checkData: pages === 1n ? "0x" : liquidationPage(start, last ? 2n ** 256n - 1n : LIQUIDATION_PAGE_SIZE),
      gasLimit: UPKEEP_GAS_LIMIT.liquidations,
      forwarderExecutes: false,
      does:
        `scans the listed positions${pages === 1n ? "" : last ? ` from ${start} on` : ` ${start} to ${start + LIQUIDATION_PAGE_SIZE - 1n}`}, ` +
        "liquidates the liquidatable (fees to the fee recipient), drops the closed",
    });
  }
  // (b) Position listing: each execution lists the position it left.
  list.push({
    name: "Bulwark position listing",
    upkeep: a.liquidationUpkeep,
    contract: "LiquidationUpkeep",
    ...onLog(a.orderBook, "OrderBook", "OrderExecuted", topic(d.orderBook.interface, "OrderExecuted")),
    checkData: "0x",
    gasLimit: UPKEEP_GAS_LIMIT.track,
    forwarderExecutes: false,
    does: "lists the position each executed trade leaves, for the liquidation checks",
  });
  // (c), (d) Request queueing: the book keeps only commitments, so the upkeep keeps the requests.
  list.push({
    name: "Bulwark order requests",
    upkeep: a.executionUpkeep,
    contract: "ExecutionUpkeep",
    ...onLog(a.orderBook, "OrderBook", "OrderRequested", topic(d.orderBook.interface, "OrderRequested")),
    checkData: "0x",
    gasLimit: UPKEEP_GAS_LIMIT.enqueue,
    forwarderExecutes: false,
    does: "queues each trade request from its log",
  });
  list.push({
    name: "Bulwark LP requests",
    upkeep: a.executionUpkeep,
    contract: "ExecutionUpkeep",
    ...onLog(a.vault, "LiquidityVault", "LpRequested", topic(d.vault.interface, "LpRequested")),
    checkData: "0x",
    gasLimit: UPKEEP_GAS_LIMIT.enqueueLp,
    forwarderExecutes: false,
    does: "queues each LP request from its log",
  });
  // (e) One per market: each new round of its feed executes what that round prices.
  const answerUpdated = topic(AGGREGATOR, "AnswerUpdated");
  const markets = await d.engine.marketCount();
  for (let id = 0n; id < markets; id++) {
    const market = await d.lens.getMarket(id);
    if (market.settlementPrice !== 0n) continue; // settled: no round prices anything any more
    const oracle = await ctx.ethers.getContractAt("ChainlinkOracle", market.oracle);
    const feed = await oracle.feed();
    const emitter = await roundEmitter(ctx, feed);
    const pair = await new Contract(feed, ["function description() view returns (string)"], ctx.ethers.provider)
      .description()
      .catch(() => "");
    list.push({
      name: `Bulwark market ${id} rounds${pair ? ` (${pair})` : ""}`,
      upkeep: a.executionUpkeep,
      contract: "ExecutionUpkeep",
      ...onLog(
        emitter.address,
        emitter.proxy
          ? `the aggregator behind the feed's proxy ${feed}: it changes when Chainlink upgrades the feed`
          : "the feed itself, which has no proxy",
        "AnswerUpdated",
        answerUpdated,
      ),
      checkData: AbiCoder.defaultAbiCoder().encode(["uint256"], [id]),
      gasLimit: UPKEEP_GAS_LIMIT.execute,
      forwarderExecutes: true,
      does: `executes the queued requests of market ${id} (and LP requests) that the new round prices, cancels the expired`,
    });
  }
  // (f) The fallback: every block, whatever is due (a dropped log, a round no log upkeep saw).
  list.push({
    name: "Bulwark execution fallback",
    upkeep: a.executionUpkeep,
    contract: "ExecutionUpkeep",
    ...custom,
    checkData: "0x",
    gasLimit: UPKEEP_GAS_LIMIT.execute,
    forwarderExecutes: true,
    does: "each block, executes every queued request that is due, cancels the expired, drops the done",
  });
  return list;
}

const gas = (x: bigint) => decimal(x, 0);

export const upkeeps: Tool<UpkeepsArgs> = {
  async run(ctx, args) {
    const { d } = ctx;
    const a = d.addresses;
    const pages = BigInt(integerOption(args.pages, "pages", { min: 1, max: 100, fallback: 1 }));
    const forwarders = await forwardersOf(ctx, args.forwarder);
    if (viaTimelock(args) && forwarders.length === 0) {
      throw new ToolError("MissingOption", "--via-timelock schedules the grants of --forwarder: pass the forwarders", {
        option: "--forwarder",
      });
    }
    const network = ctx.connection.networkName;
    const chosen = args.deploymentId ? ` --deployment-id ${args.deploymentId}` : "";
    const [tracked, queued, liquidationFees, executionFees, upkeepExecutes] = await Promise.all([
      d.liquidationUpkeep.trackedCount(),
      d.executionUpkeep.queueLength(),
      d.liquidationUpkeep.feeRecipient(),
      d.executionUpkeep.feeRecipient(),
      d.orderBook.hasRole(EXECUTOR_ROLE, a.executionUpkeep),
    ]);
    const list = await upkeepsOf(ctx, pages);

    const lines = [
      `Chainlink Automation upkeeps of this deployment (network ${network}): register each below and fund it with LINK.`,
      `  LiquidationUpkeep ${a.liquidationUpkeep}: ${tracked} position(s) listed; keeper fees to ${liquidationFees}`,
      `  ExecutionUpkeep   ${a.executionUpkeep}: ${queued} request(s) queued; execution fees to ${executionFees}`,
    ];
    if (!upkeepExecutes) {
      lines.push(
        `  warning: the ExecutionUpkeep does not hold the order book's EXECUTOR_ROLE, so none of its executions can ` +
          `succeed: grant it through the timelock (orderBook.grantRole(EXECUTOR_ROLE, ${a.executionUpkeep}))`,
      );
    }
    const needed = tracked === 0n ? 1n : (tracked + LIQUIDATION_PAGE_SIZE - 1n) / LIQUIDATION_PAGE_SIZE;
    if (pages < needed) {
      lines.push(
        `  note: ${tracked} positions are listed and one check scans about ${LIQUIDATION_PAGE_SIZE}: register ` +
          `${needed} liquidation pages (--pages ${needed}); with fewer, a page is scanned over several blocks`,
      );
    }
    const field = (label: string, value: string) => lines.push(`   ${label.padEnd(18)}${value}`);
    list.forEach((u, i) => {
      lines.push(``, `${i + 1}. ${u.name}: ${u.does}`);
      field("upkeep contract", `${u.upkeep} (${u.contract})`);
      if (u.log) {
        field("trigger", `log (triggerType ${u.triggerType})`);
        field("emitting contract", `${u.log.emitter} (${u.log.emitterName})`);
        field("topic0", `${u.log.topic0} (${u.log.event}); no topic1 to topic3 filter`);
        field("triggerConfig", u.triggerConfig);
      } else {
        field("trigger", `custom logic (triggerType ${u.triggerType})`);
      }
      field("checkData", u.checkData);
      field("gas limit", gas(u.gasLimit));
      if (u.forwarderExecutes) lines.push(`   its forwarder must hold the order book's EXECUTOR_ROLE (below)`);
    });

    const executing = list.filter((u) => u.forwarderExecutes).map((u) => u.name);
    lines.push(
      ``,
      `After registration, the forwarder of each executing upkeep (${executing.join("; ")}) must be an executor ` +
        `of the order book: the timelock, the book's admin, grants it.`,
    );
    const grants = [];
    const scheduled: Report[] = [];
    if (forwarders.length === 0) {
      lines.push(
        `  Pass the forwarders the Automation app shows: npx hardhat upkeeps --network ${network}${chosen} --forwarder 0x…,0x…`,
      );
    }
    for (const forwarder of forwarders) {
      const data = d.orderBook.interface.encodeFunctionData("grantRole", [EXECUTOR_ROLE, forwarder]);
      const holds = await d.orderBook.hasRole(EXECUTOR_ROLE, forwarder);
      const callArgs = JSON.stringify([EXECUTOR_ROLE, forwarder]);
      const command =
        `npx hardhat operator timelock schedule --network ${network}${chosen} --target orderBook ` +
        `--call 'grantRole(bytes32,address)' --args '${callArgs}'`;
      grants.push({ forwarder, target: a.orderBook, call: "grantRole(bytes32,address)", data, holds, command });
      if (holds) {
        lines.push(`  forwarder ${forwarder}: already an executor, nothing to grant`);
        continue;
      }
      if (viaTimelock(args)) {
        const report = await scheduleCall(ctx, args, {
          target: a.orderBook,
          data,
          summary: `orderBook.grantRole(EXECUTOR_ROLE, ${forwarder})`,
        });
        scheduled.push(report);
        lines.push(...report.lines.map((l) => `  ${l}`));
        continue;
      }
      lines.push(
        `  forwarder ${forwarder}: orderBook.grantRole(EXECUTOR_ROLE, ${forwarder}) through the timelock`,
        `    target ${a.orderBook}, value 0, calldata ${data}`,
        `    ${command}`,
      );
    }
    if (forwarders.length > 0 && !viaTimelock(args) && grants.some((g) => !g.holds)) {
      lines.push(`  (or run this command again with --via-timelock to schedule them; then operator timelock execute)`);
    }

    return {
      lines,
      data: {
        network,
        liquidationUpkeep: { address: a.liquidationUpkeep, feeRecipient: liquidationFees, tracked },
        executionUpkeep: {
          address: a.executionUpkeep,
          feeRecipient: executionFees,
          queued,
          executorRole: upkeepExecutes,
        },
        liquidationPagesNeeded: needed,
        upkeeps: list,
        grants,
        scheduled: scheduled.map((r) => r.data),
      },
    };
  },
};
