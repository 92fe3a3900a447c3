/**
 * Where a transaction's gas goes, from the simulator's opcode trace (debug_traceTransaction): intrinsic
 * cost, storage reads and writes by kind and by contract, external calls (cold or warm), events, refund,
 * and the rest (computation and memory). Used by scripts/bench.ts with GAS_TRACE=1.
 */
import type { JsonRpcProvider } from "ethers";

interface Step {
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
  refund?: number;
}

export interface GasBreakdown {
  gasUsed: number;
  intrinsic: number;
  refund: number;
  sloadCold: number;
  sloadWarm: number;
  /** SSTORE gas by kind: set (zero to non-zero), reset (non-zero to other), dirty (slot written before). */
  sstore: Record<"set" | "reset" | "dirty", { count: number; gas: number }>;
  /** Storage reads (cold) and writes per contract, as "reads/writes". */
  storageByContract: Record<string, string>;
  calls: string[];
  coldAccounts: number;
  /** Gas of account accesses: 2,600 for a cold account, 100 for a warm one (calls and code or balance reads). */
  accountGas: number;
  logs: number;
  logGas: number;
  other: number;
  /** `other` per contract: the gas of its own computation and memory (every opcode but storage, logs and calls). */
  otherByContract: Record<string, number>;
}

const ACCOUNT_OPS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"]);
const ADDRESS_OPS = new Set(["EXTCODESIZE", "EXTCODEHASH", "EXTCODECOPY", "BALANCE"]);

const toAddress = (word: string) => "0x" + BigInt(word).toString(16).padStart(40, "0").slice(-40);

/** Calldata cost: 21,000 plus 4 per zero byte and 16 per other byte (no access list, no creation). */
function intrinsicGas(data: string): number {
  let gas = 21_000;
  for (let i = 2; i < data.length; i += 2) gas += data.slice(i, i + 2) === "00" ? 4 : 16;
  return gas;
}

export async function gasBreakdown(
  provider: JsonRpcProvider | { send(method: string, params: unknown[]): Promise<unknown> },
  txHash: string,
  labels: Record<string, string>,
): Promise<GasBreakdown> {
  const tx = (await provider.send("eth_getTransactionByHash", [txHash])) as { from: string; to: string; input: string };
  const receipt = (await provider.send("eth_getTransactionReceipt", [txHash])) as { gasUsed: string };
  const trace = (await provider.send("debug_traceTransaction", [txHash, {}])) as { structLogs: Step[] };
  const steps = trace.structLogs;
  const label = (address: string) => labels[address.toLowerCase()] ?? address.slice(0, 10);

  const warm = new Set([tx.from.toLowerCase(), tx.to.toLowerCase()]);
  for (let i = 1; i <= 0x11; i++) warm.add(toAddress("0x" + i.toString(16)));
  const frames = [tx.to.toLowerCase()];
  const result: GasBreakdown = {
    gasUsed: Number(BigInt(receipt.gasUsed)),
    intrinsic: intrinsicGas(tx.input),
    refund: 0,
    sloadCold: 0,
    sloadWarm: 0,
    sstore: { set: { count: 0, gas: 0 }, reset: { count: 0, gas: 0 }, dirty: { count: 0, gas: 0 } },
    storageByContract: {},
    calls: [],
    coldAccounts: 0,
    accountGas: 0,
    logs: 0,
    logGas: 0,
    other: 0,
    otherByContract: {},
  };
  const byContract: Record<string, { reads: number; writes: number }> = {};
  const tally = (kind: "reads" | "writes") => {
    const name = label(frames[frames.length - 1]);
    byContract[name] ??= { reads: 0, writes: 0 };
    byContract[name][kind]++;
  };

  let accounted = 0;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    while (frames.length > step.depth) frames.pop();
    const stack = step.stack ?? [];
    if (step.op === "SLOAD") {
      if (step.gasCost >= 2_100) {
        result.sloadCold++;
        tally("reads");
      } else result.sloadWarm++;
      accounted += step.gasCost;
    } else if (step.op === "SSTORE") {
      // 22,100 / 20,000: zero to non-zero (cold / warm); 5,000 / 2,900: non-zero to other; else dirty.
      const kind = step.gasCost >= 20_000 ? "set" : step.gasCost >= 2_900 ? "reset" : "dirty";
      result.sstore[kind].count++;
      result.sstore[kind].gas += step.gasCost;
      if (kind !== "dirty") tally("writes");
      accounted += step.gasCost;
    } else if (step.op.startsWith("LOG")) {
      result.logs++;
      result.logGas += step.gasCost;
      accounted += step.gasCost;
    } else if (ACCOUNT_OPS.has(step.op) || ADDRESS_OPS.has(step.op)) {
      const target = toAddress(stack[stack.length - (ACCOUNT_OPS.has(step.op) ? 2 : 1)]);
      const cold = !warm.has(target);
      warm.add(target);
      if (cold) result.coldAccounts++;
      result.accountGas += cold ? 2_600 : 100;
      accounted += cold ? 2_600 : 100;
      if (ACCOUNT_OPS.has(step.op)) {
        result.calls.push(`${label(frames[frames.length - 1])}->${label(target)}${cold ? " (cold)" : ""}`);
        const next = steps[i + 1];
        if (next !== undefined && next.depth > step.depth) frames.push(target);
      }
    } else {
      const name = label(frames[frames.length - 1]);
      result.otherByContract[name] = (result.otherByContract[name] ?? 0) + step.gasCost;
    }
    if (step.refund !== undefined) result.refund = step.refund;
  }
  const last = steps[steps.length - 1];
  const execution = steps[0].gas - (last.gas - last.gasCost);
  result.refund = Math.min(result.refund, Math.floor((result.intrinsic + execution) / 5));
  result.other = execution - accounted;
  result.storageByContract = Object.fromEntries(
    Object.entries(byContract).map(([name, { reads, writes }]) => [name, `${reads}/${writes}`]),
  );
  return result;
}

/** A breakdown in one line, each term's gas and what it counts; the terms add up to `gasUsed`. */
export function describeBreakdown(b: GasBreakdown): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const warmCalls = b.calls.filter((call) => !call.endsWith("(cold)")).length;
  const { set, reset, dirty } = b.sstore;
  const reads = b.sloadCold * 2_100 + b.sloadWarm * 100;
  const computation = Object.entries(b.otherByContract)
    .sort(([, x], [, y]) => y - x)
    .map(([name, gas]) => `${name} ${n(gas)}`)
    .join(", ");
  const byContract = Object.entries(b.storageByContract)
    .map(([name, rw]) => `${name} ${rw}`)
    .join(", ");
  return [
    `${n(b.gasUsed)} = intrinsic ${n(b.intrinsic)}`,
    `reads ${n(reads)} (${b.sloadCold} cold, ${b.sloadWarm} warm; cold reads/writes by contract: ${byContract})`,
    `new words ${n(set.gas)} (${set.count})`,
    `rewrites ${n(reset.gas + dirty.gas)} (${reset.count} + ${dirty.count} again)`,
    `accounts ${n(b.accountGas)} (${b.coldAccounts} cold, ${warmCalls} warm calls)`,
    `events ${n(b.logGas)} (${b.logs})`,
    `computation ${n(b.other)} (${computation})`,
    `refund -${n(b.refund)}`,
  ].join("; ");
}
