// Chainlink Automation as a registry runs an upkeep (test/Automation.test.ts, the stress lab's upkeep-only run,
// test/Upkeeps.deploy.test.ts): a check is an eth_call from the zero address, so that `tx.origin` is zero (the
// upkeeps' checks revert `OnlySimulatedBackend` otherwise), under the check gas limit; `checkLog` gets the log in
// Chainlink's `Log` shape; a perform is the registry's `forward(gas, performUpkeep(data))` on the registration's
// AutomationForwarder.
import { type Interface, type Log, type Provider, ZeroAddress } from "ethers";

/** The check gas limit of the Automation 2.3 registries (docs/OPERATIONS.md): a check is simulated under it. */
export const CHECK_GAS_LIMIT = 10_000_000n;
/** The registries' perform gas limit: the forwarder calls `performUpkeep` with at most this much. */
export const PERFORM_GAS_LIMIT = 5_000_000n;
/** The gas limit of the registry's `forward` transaction: the perform gas, the forwarder's cushion and 1/64 kept. */
export const FORWARD_TX_GAS = 6_000_000n;

/** A log as Automation hands it to `checkLog` (ILogAutomation's `Log`). */
export interface AutomationLog {
  index: number;
  timestamp: number;
  txHash: string;
  blockNumber: number;
  blockHash: string;
  source: string;
  topics: string[];
  data: string;
}

/** `log`, mined in a block of time `timestamp`, in the shape `checkLog` takes. */
export function automationLog(log: Log, timestamp: number): AutomationLog {
  return {
    index: log.index,
    timestamp,
    txHash: log.transactionHash,
    blockNumber: log.blockNumber,
    blockHash: log.blockHash,
    source: log.address,
    topics: [...log.topics],
    data: log.data,
  };
}

/** An upkeep contract as the helpers need it: its address and its interface. */
export interface UpkeepLike {
  target: unknown;
  interface: Interface;
}

/** `checkUpkeep(checkData)` or `checkLog(log, checkData)` as the registry simulates it. */
export async function simulateCheck(
  provider: Provider,
  upkeep: UpkeepLike,
  fn: "checkUpkeep" | "checkLog",
  args: unknown[],
  gasLimit = CHECK_GAS_LIMIT,
): Promise<{ needed: boolean; performData: string }> {
  const data = upkeep.interface.encodeFunctionData(fn, args);
  const raw = await provider.call({ to: upkeep.target as string, data, from: ZeroAddress, gasLimit });
  const [needed, performData] = upkeep.interface.decodeFunctionResult(fn, raw);
  return { needed: needed as boolean, performData: performData as string };
}

/** The calldata of `performUpkeep(performData)`, what the registry hands the forwarder. */
export const performCall = (upkeep: UpkeepLike, performData: string) =>
  upkeep.interface.encodeFunctionData("performUpkeep", [performData]);
