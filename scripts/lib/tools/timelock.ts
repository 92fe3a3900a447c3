// Operator tools for the OpenZeppelin TimelockController that holds the admin roles: schedule a call
// (or any `operator set`/`add-market` with --via-timelock), list operations with their ETA, execute one.
import { Interface, ZeroHash, hexlify, isHexString, randomBytes } from "ethers";
import {
  type CommonArgs,
  type Report,
  type Tool,
  type ToolContext,
  integerOption,
  optionalAddress,
  required,
} from "../chain/cli.js";
import { ToolError, renderParameter } from "../chain/errors.js";
import { CONFIG_FIELDS } from "./verify.js";
import { date, duration, toJson, when } from "../chain/format.js";

export type TimelockArgs = CommonArgs & {
  viaTimelock?: boolean;
  delay?: string;
  salt?: string;
  timelock?: string;
};

export const viaTimelock = (args: TimelockArgs) => args.viaTimelock === true;

const STATES = ["unset", "waiting", "ready", "done"] as const;

/** The deployment's timelock, or the one given with --timelock (deployments before issue 8 have none). */
async function timelockOf(ctx: ToolContext, args: TimelockArgs) {
  const address = optionalAddress(args.timelock, "timelock") ?? ctx.d.addresses.timelock;
  if (!address) {
    throw new ToolError(
      "NoTimelock",
      "this deployment has no Timelock (deployed before the timelock was added): pass --timelock 0x…",
    );
  }
  if ((await ctx.ethers.provider.getCode(address)) === "0x") {
    throw new ToolError("NoContract", `the timelock ${address} has no contract on this network`);
  }
  return ctx.d.timelock && address === ctx.d.addresses.timelock
    ? ctx.d.timelock
    : await ctx.ethers.getContractAt("TimelockController", address);
}

/** "3600", "90s", "45min", "12h", "2d" as seconds. */
export function parseDuration(text: string, name: string): bigint {
  const match = /^(\d+)\s*(s|min|m|h|d)?$/.exec(text.trim());
  if (!match)
    throw new ToolError("BadDuration", `--${name} "${text}" is not a duration such as 3600, 45min, 12h or 2d`);
  const scale = { s: 1n, min: 60n, m: 60n, h: 3_600n, d: 86_400n }[match[2] ?? "s"]!;
  return BigInt(match[1]) * scale;
}

/** The deployment's contracts by role name, and a decoder of calldata against their ABIs. */
function targets(ctx: ToolContext) {
  const d = ctx.d;
  const byName: Record<string, { address: string; iface: Interface }> = {
    engine: { address: d.addresses.engine, iface: d.engine.interface as unknown as Interface },
    vault: { address: d.addresses.vault, iface: d.vault.interface as unknown as Interface },
    backstop: { address: d.addresses.backstop, iface: d.backstop.interface as unknown as Interface },
    lens: { address: d.addresses.lens, iface: d.lens.interface as unknown as Interface },
    orderBook: { address: d.addresses.orderBook, iface: d.orderBook.interface as unknown as Interface },
    collateral: { address: d.addresses.collateral, iface: d.collateral.interface as unknown as Interface },
    ethOracle: { address: d.addresses.ethOracle, iface: d.ethOracle.interface as unknown as Interface },
    btcOracle: { address: d.addresses.btcOracle, iface: d.btcOracle.interface as unknown as Interface },
  };
  if (d.timelock && d.addresses.timelock) {
    byName.timelock = { address: d.addresses.timelock, iface: d.timelock.interface as unknown as Interface };
  }
  const nameOf = (address: string) =>
    Object.entries(byName).find(([, v]) => v.address.toLowerCase() === address.toLowerCase())?.[0];
  /** The call in words; a config change against the config just before `executedBlock`, or now if pending. */
  const describeCall = async (target: string, data: string, executedBlock?: number) => {
    const name = nameOf(target) ?? target;
    const iface = byName[name]?.iface;
    let parsed;
    try {
      parsed = iface?.parseTransaction({ data });
    } catch {
      // not a function of that contract
    }
    if (!parsed) return `${name} with calldata ${data.slice(0, 10)}…`;
    if (name === "engine" && parsed.name === "setMarketConfig") {
      // A config is 15 numbers: show the fields that differ from the market's config now, in their units.
      const marketId = parsed.args[0] as bigint;
      const next = parsed.args[1] as unknown as bigint[];
      const blockTag = executedBlock === undefined ? "latest" : executedBlock - 1;
      const current = (await d.lens.getMarket(marketId, { blockTag }).catch(() => undefined))?.config;
      if (current) {
        const changes = CONFIG_FIELDS.flatMap((f, i) =>
          BigInt(current[f]) === BigInt(next[i])
            ? []
            : [`${f} ${renderParameter(f, BigInt(current[f]), d)} -> ${renderParameter(f, BigInt(next[i]), d)}`],
        );
        const same = executedBlock === undefined ? "as it is now" : "as it was";
        return `engine.setMarketConfig(market ${marketId}: ${changes.length > 0 ? changes.join(", ") : same})`;
      }
    }
    return `${name}.${parsed.name}(${toJson([...parsed.args])
      .slice(1, -1)
      .slice(0, 120)})`;
  };
  return { byName, nameOf, describeCall };
}

/** Schedules `data` on `target` through the timelock instead of sending it, and reports the operation. */
export async function scheduleCall(
  ctx: ToolContext,
  args: TimelockArgs,
  call: { target: string; data: string; value?: bigint; summary: string },
): Promise<Report> {
  const timelock = await timelockOf(ctx, args);
  const timelockAddress = await timelock.getAddress();
  const minDelay = await timelock.getMinDelay();
  const delay = args.delay ? parseDuration(args.delay, "delay") : minDelay;
  if (delay < minDelay) {
    throw new ToolError(
      "TimelockInsufficientDelay",
      `--delay ${duration(delay)} is below the timelock's minimum ${duration(minDelay)}`,
    );
  }
  const salt = args.salt ?? hexlify(randomBytes(32));
  if (!isHexString(salt, 32)) throw new ToolError("BadSalt", `--salt must be 32 bytes of hex (0x + 64 digits)`);
  const value = call.value ?? 0n;
  // The call must work when the timelock makes it: simulated now as the timelock, so that a value outside its
  // bounds or a role the timelock lacks fails here rather than days later at execution.
  await ctx.ethers.provider.call({ from: timelockAddress, to: call.target, data: call.data, value });
  const tx = await timelock.connect(ctx.signer).schedule(call.target, value, call.data, ZeroHash, salt, delay);
  const receipt = await tx.wait();
  const parsed = receipt!.logs
    .filter((l) => l.address.toLowerCase() === timelockAddress.toLowerCase())
    .map((l) => timelock.interface.parseLog(l))
    .find((e) => e?.name === "CallScheduled");
  if (!parsed) throw new ToolError("MissingEvent", `the transaction ${receipt!.hash} emitted no CallScheduled`);
  const id = parsed.args.id as string;
  const scheduledAt = BigInt((await receipt!.getBlock()).timestamp);
  const eta = scheduledAt + delay;
  return {
    lines: [
      `Scheduled on the timelock: ${call.summary}`,
      `  operation ${id}`,
      `  executable from ${when(eta, scheduledAt)} (delay ${duration(delay)}): operator timelock execute --id ${id}`,
      `  (tx ${receipt!.hash})`,
    ],
    data: { action: "schedule", id, target: call.target, value, data: call.data, salt, delay, eta, tx: receipt!.hash },
  };
}

type ScheduleArgs = TimelockArgs & { target?: string; call?: string; args?: string; value?: string };

export const timelockSchedule: Tool<ScheduleArgs> = {
  async run(ctx, args) {
    const { byName } = targets(ctx);
    const targetText = required(args.target, "target", `a contract (${Object.keys(byName).join(", ")}) or an address`);
    const target = byName[targetText]?.address ?? optionalAddress(targetText, "target");
    if (!target) throw new ToolError("BadTarget", `--target ${targetText} is not a contract of the deployment`);
    const signature = required(args.call, "call", "the function, e.g. 'setTreasury(address)'");
    let iface: Interface;
    try {
      iface = new Interface([`function ${signature}`]);
    } catch {
      throw new ToolError("BadCall", `--call "${signature}" is not a function signature such as setTreasury(address)`);
    }
    let callArgs: unknown[];
    try {
      callArgs = JSON.parse(args.args ?? "[]");
      if (!Array.isArray(callArgs)) throw new Error("not an array");
    } catch {
      throw new ToolError("BadArgs", `--args must be a JSON array, e.g. '["0xabc…", "100"]'`);
    }
    const fragment = iface.fragments[0] as unknown as { name: string; inputs: unknown[] };
    if (callArgs.length !== fragment.inputs.length) {
      throw new ToolError(
        "BadArgs",
        `--call ${signature} takes ${fragment.inputs.length} argument(s), --args has ${callArgs.length}`,
      );
    }
    let data: string;
    try {
      data = iface.encodeFunctionData(fragment.name, callArgs);
    } catch (error) {
      throw new ToolError("BadArgs", `--args do not fit ${signature}: ${(error as Error).message.split(" (")[0]}`);
    }
    const value = BigInt(integerOption(args.value, "value", { fallback: 0 }));
    return scheduleCall(ctx, args, { target, data, value, summary: `${targetText}.${signature}` });
  },
};

interface Operation {
  id: string;
  state: (typeof STATES)[number] | "cancelled";
  calls: { index: bigint; target: string; value: bigint; data: string; description: string }[];
  predecessor: string;
  salt: string;
  delay: bigint;
  scheduledAt: bigint;
  eta: bigint;
  executedTx?: string;
  scheduledTx: string;
}

/** Every operation scheduled since `fromBlock`, rebuilt from CallScheduled, CallSalt, CallExecuted, Cancelled. */
async function operations(ctx: ToolContext, args: TimelockArgs, fromBlock: number, onlyId?: string) {
  const timelock = await timelockOf(ctx, args);
  const { describeCall } = targets(ctx);
  const f = timelock.filters;
  const [scheduled, salts, executed, cancelled] = await Promise.all([
    timelock.queryFilter(f.CallScheduled(onlyId), fromBlock),
    timelock.queryFilter(f.CallSalt(onlyId), fromBlock),
    timelock.queryFilter(f.CallExecuted(onlyId), fromBlock),
    timelock.queryFilter(f.Cancelled(onlyId), fromBlock),
  ]);
  const ops = new Map<string, Operation>();
  for (const e of scheduled) {
    let op = ops.get(e.args.id);
    if (!op) {
      const block = await e.getBlock();
      op = {
        id: e.args.id,
        state: "unset",
        calls: [],
        predecessor: e.args.predecessor,
        salt: ZeroHash,
        delay: e.args.delay,
        scheduledAt: BigInt(block.timestamp),
        eta: BigInt(block.timestamp) + e.args.delay,
        scheduledTx: e.transactionHash,
      };
      ops.set(e.args.id, op);
    }
    op.calls.push({
      index: e.args.index,
      target: e.args.target,
      value: e.args.value,
      data: e.args.data,
      description: "",
    });
  }
  for (const e of salts) {
    const op = ops.get(e.args.id);
    if (op) op.salt = e.args.salt;
  }
  const executedIn = new Map<string, number>();
  for (const e of executed) {
    const op = ops.get(e.args.id);
    if (op) op.executedTx = e.transactionHash;
    executedIn.set(e.args.id, e.blockNumber);
  }
  for (const op of ops.values()) {
    for (const c of op.calls) c.description = await describeCall(c.target, c.data, executedIn.get(op.id));
  }
  const cancelledIds = new Set(cancelled.map((e) => e.args.id));
  for (const op of ops.values()) {
    op.calls.sort((a, b) => Number(a.index - b.index));
    const state = STATES[Number(await timelock.getOperationState(op.id))];
    op.state = state === "unset" && cancelledIds.has(op.id) ? "cancelled" : state;
  }
  return { timelock, ops };
}

type ListArgs = TimelockArgs & { fromBlock?: string; all?: boolean };

export const timelockList: Tool<ListArgs> = {
  async run(ctx, args) {
    const fromBlock = integerOption(args.fromBlock, "fromBlock", { fallback: 0 });
    const { ops } = await operations(ctx, args, fromBlock);
    const now = ctx.units.now;
    const list = [...ops.values()].sort((a, b) => Number(a.eta - b.eta));
    const lines = list.length === 0 ? ["No timelock operations."] : [];
    for (const op of list) {
      const status =
        op.state === "waiting"
          ? `waiting, executable from ${when(op.eta, now)}`
          : op.state === "ready"
            ? `ready since ${when(op.eta, now)}`
            : op.state === "done"
              ? `done (scheduled ${date(op.scheduledAt)})`
              : "cancelled";
      lines.push(`${op.id} ${status}`);
      for (const c of op.calls) lines.push(`    ${c.description}`);
    }
    return {
      lines,
      data: {
        operations: list.map((op) => ({
          ...op,
          calls: op.calls.map((c) => ({ ...c, index: c.index })),
        })),
      },
    };
  },
};

type ExecuteArgs = TimelockArgs & { id?: string; fromBlock?: string };

export const timelockExecute: Tool<ExecuteArgs> = {
  async run(ctx, args) {
    const id = required(args.id, "id", "the operation id that `operator timelock list` shows");
    if (!isHexString(id, 32)) throw new ToolError("BadId", `--id "${id}" is not an operation id (0x + 64 hex digits)`);
    const fromBlock = integerOption(args.fromBlock, "fromBlock", { fallback: 0 });
    const { timelock, ops } = await operations(ctx, args, fromBlock, id);
    const op = ops.get(id);
    if (!op) throw new ToolError("UnknownOperation", `no operation ${id} was scheduled on this timelock`);
    const now = ctx.units.now;
    if (op.state === "waiting") {
      throw new ToolError("OperationNotReady", `operation ${id} is waiting: executable from ${when(op.eta, now)}`, {
        eta: op.eta,
      });
    }
    if (op.state === "done") throw new ToolError("OperationDone", `operation ${id} was already executed`);
    if (op.state === "cancelled") throw new ToolError("OperationCancelled", `operation ${id} was cancelled`);
    const signer = timelock.connect(ctx.signer);
    const value = op.calls.reduce((sum, c) => sum + c.value, 0n);
    const tx =
      op.calls.length === 1
        ? await signer.execute(op.calls[0].target, op.calls[0].value, op.calls[0].data, op.predecessor, op.salt, {
            value,
          })
        : await signer.executeBatch(
            op.calls.map((c) => c.target),
            op.calls.map((c) => c.value),
            op.calls.map((c) => c.data),
            op.predecessor,
            op.salt,
            { value },
          );
    const receipt = await tx.wait();
    const executed = receipt!.logs
      .filter((l) => l.address.toLowerCase() === String(timelock.target).toLowerCase())
      .map((l) => timelock.interface.parseLog(l))
      .filter((e) => e?.name === "CallExecuted").length;
    return {
      lines: [
        `Executed operation ${id}: ${executed} call(s)`,
        ...op.calls.map((c) => `    ${c.description}`),
        `  (tx ${receipt!.hash})`,
      ],
      data: { action: "execute", id, calls: executed, tx: receipt!.hash },
    };
  },
};
