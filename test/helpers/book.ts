import type { ContractTransactionResponse } from "ethers";
import type { OrderBook } from "../../types/ethers-contracts/index.js";
import { requestStruct, type RequestStruct } from "../../scripts/lib/requests/orders.js";

/** A request as the book committed to it, with its window: what `execute`, `cancel` and `isPending` take back. */
export interface Sent {
  request: RequestStruct;
  notBefore: bigint;
  expiresAt: bigint;
}

/** The request a `request(...)` transaction made, read from its `OrderRequested` event. */
export async function sentRequest(book: OrderBook, tx: Promise<ContractTransactionResponse>): Promise<Sent> {
  const receipt = await (await tx).wait();
  for (const log of receipt!.logs) {
    const parsed = book.interface.parseLog(log);
    if (parsed?.name === "OrderRequested") {
      return {
        request: requestStruct(parsed.args.request),
        notBefore: parsed.args.notBefore as bigint,
        expiresAt: parsed.args.expiresAt as bigint,
      };
    }
  }
  throw new Error("the transaction made no request (no OrderRequested)");
}
