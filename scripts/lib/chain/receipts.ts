// Transactions sent and read back: wait for the receipt, find the events a contract emitted in it. The tools
// report what a transaction did from these events, never from a preview.
import type { BaseContract, ContractTransactionReceipt, ContractTransactionResponse, LogDescription } from "ethers";
import { ToolError } from "./errors.js";

/** Sends a transaction and waits for it; the receipt is never null for a mined transaction. */
export async function mined(tx: Promise<ContractTransactionResponse>): Promise<ContractTransactionReceipt> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new ToolError("NoReceipt", "the transaction was not mined");
  return receipt;
}

/** The events named `name` that `contract` emitted in `receipt`. */
export function eventsIn(receipt: ContractTransactionReceipt, contract: BaseContract, name: string): LogDescription[] {
  const address = (contract.target as string).toLowerCase();
  const out: LogDescription[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address) continue;
    try {
      const parsed = contract.interface.parseLog(log);
      if (parsed?.name === name) out.push(parsed);
    } catch {
      // another contract's event at the same address cannot happen; a log we cannot parse is not ours
    }
  }
  return out;
}

/** The one event named `name` that `contract` emitted in `receipt`; a transaction without it is an error. */
export function oneEvent(receipt: ContractTransactionReceipt, contract: BaseContract, name: string): LogDescription {
  const [event] = eventsIn(receipt, contract, name);
  if (!event) throw new ToolError("MissingEvent", `the transaction ${receipt.hash} emitted no ${name}`);
  return event;
}
