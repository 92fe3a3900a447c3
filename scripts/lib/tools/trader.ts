// Trader tools for two-step orders: request a trade, list pending requests, cancel an expired one. Each
// checks its input (and what the order book would refuse) before it sends anything; a keeper executes.
import { formatUnits as formatGweiUnits } from "ethers";
import {
  type CommonArgs,
  type Tool,
  type ToolContext,
  addressOption,
  integerOption,
  marketOption,
  optionalAddress,
  required,
} from "../chain/cli.js";
import { parseUnits } from "../chain/deployment.js";
import { ToolError, describeError } from "../chain/errors.js";
import { baseUnits, usd, when } from "../chain/format.js";
import { eventsIn, mined, oneEvent } from "../chain/receipts.js";
import {
  ORDER_KINDS,
  OrderKind,
  type PendingRequest,
  acceptablePrice,
  atGasPrice,
  classOf,
  escrowsAmount,
  isBuy,
  parseSlippage,
  priceExecutionFee,
  pendingRequests,
  readRequest,
  requestStruct,
} from "../requests/orders.js";
import { MarketFeeds, RoundFinder } from "../requests/rounds.js";
import { checkRequest } from "./checks.js";
import { ensureAllowance, t } from "./common.js";

const formatGwei = (wei: bigint) => formatGweiUnits(wei, 9);

const DEFAULT_SLIPPAGE_BPS = 100n; // 1 %

const kindName = (kind: number) => ORDER_KINDS[kind] ?? `kind ${kind}`;
const sideOf = (size: bigint) => (size > 0n ? "long" : "short");

/**
 * The default execution fee of a request of `executionClass`: the order book's minimum at the gas price the
 * request is sent at (`priceExecutionFee`).
 */
export const defaultExecutionFee = (ctx: ToolContext, executionClass: number) =>
  priceExecutionFee(ctx.ethers, ctx.d, executionClass);

type RequestArgs = CommonArgs & {
  market?: string;
  kind?: string;
  side?: string;
  size?: string;
  amount?: string;
  acceptablePrice?: string;
  slippage?: string;
  executionFee?: string;
};

export const requestOrder: Tool<RequestArgs> = {
  async run(ctx, args) {
    const { d, signer, units } = ctx;
    const marketId = await marketOption(d, required(args.market, "market", "the market id (0: ETH-USD, 1: BTC-USD)"));
    const kindText = required(args.kind, "kind", ORDER_KINDS.join(", ")).trim().toLowerCase();
    const kind = ORDER_KINDS.indexOf(kindText as never);
    if (kind < 0) throw new ToolError("UnknownKind", `--kind ${kindText} is not one of ${ORDER_KINDS.join(", ")}`);

    // The side: given for an open, the position's for the rest.
    const position = await d.engine.getPosition(signer.address, marketId);
    let long: boolean;
    if (kind === OrderKind.Open) {
      if (position.size !== 0n) {
        throw new ToolError(
          "PositionExists",
          `${signer.address} already has a position in market ${marketId}: use --kind increase`,
        );
      }
      const side = required(args.side, "side", "long or short").trim().toLowerCase();
      if (side !== "long" && side !== "short") throw new ToolError("BadSide", `--side ${side} is not long or short`);
      long = side === "long";
    } else {
      if (position.size === 0n) {
        throw new ToolError(
          "NoPosition",
          `${signer.address} has no position in market ${marketId}: request --kind open first`,
        );
      }
      long = position.size > 0n;
      if (args.side !== undefined && args.side.trim().toLowerCase() !== sideOf(position.size)) {
        throw new ToolError(
          "WrongSide",
          `--side ${args.side} but the position in market ${marketId} is ${sideOf(position.size)}`,
        );
      }
    }

    // Size (base units) for open, increase and reduce; amount (tokens) for open, increase and remove-margin.
    const tradesSize = kind === OrderKind.Open || kind === OrderKind.Increase || kind === OrderKind.Reduce;
    let magnitude = 1n;
    if (tradesSize) {
      magnitude = parseUnits(required(args.size, "size", "the size in base units, e.g. 1.5 (ETH)"), 18, "--size");
      if (magnitude === 0n) throw new ToolError("BadAmount", "--size must be more than 0");
      const held = position.size < 0n ? -position.size : position.size;
      if (kind === OrderKind.Reduce && magnitude >= held) {
        throw new ToolError(
          "ReduceExceedsSize",
          `--size ${baseUnits(magnitude)} is not less than the position's ${baseUnits(held)}: use --kind close`,
        );
      }
    } else if (args.size !== undefined) {
      throw new ToolError("BadOptions", `--kind ${kindText} takes no --size`);
    }
    const size = long ? magnitude : -magnitude;
    const takesAmount = escrowsAmount(kind) || kind === OrderKind.RemoveMargin;
    let amount = 0n;
    if (takesAmount) {
      const what =
        kind === OrderKind.RemoveMargin
          ? "the margin to remove"
          : "the collateral to escrow (margin plus the trading fee)";
      amount = parseUnits(required(args.amount, "amount", `${what}, in ${d.symbol}`), d.decimals, "--amount");
      if (amount === 0n && kind !== OrderKind.Increase)
        throw new ToolError("BadAmount", "--amount must be more than 0");
    } else if (args.amount !== undefined) {
      throw new ToolError("BadOptions", `--kind ${kindText} takes no --amount`);
    }

    // Price bound, fee, and what the book would refuse.
    const pendingCommitment = await d.orderBook.pendingRequest(signer.address, marketId);
    if (BigInt(pendingCommitment) !== 0n) {
      const existing = await readRequest(d, signer.address, marketId).catch(() => undefined);
      throw new ToolError(
        "RequestPending",
        `${signer.address} already has a pending ${existing ? `${kindName(existing.kind)} ` : ""}request in market ${marketId}` +
          (existing ? ` (expires ${when(existing.expiresAt, units.now)})` : ""),
      );
    }
    // The book takes it, but the engine would refuse it at execution and the request would be cancelled,
    // its execution fee lost: refuse it here.
    if (kind !== OrderKind.Reduce && kind !== OrderKind.Close && (await d.engine.paused())) {
      throw new ToolError(
        "EnforcedPause",
        "the engine is paused: a request that adds risk (open, increase, remove margin) would be cancelled at execution, its execution fee lost; wait for the guardian to unpause",
      );
    }
    let bound: bigint;
    const oracle = await ctx.ethers.getContractAt("ChainlinkOracle", (await d.lens.getMarket(marketId)).oracle);
    // A refused price (stale, out of bounds) is rendered by name, unless the bound is given: then the request is
    // sent unchecked (its round, later, may be fresh), and the tool says so.
    const price = await oracle.price().catch((error: unknown) => {
      if (args.acceptablePrice === undefined) throw error;
      ctx.note(`not checked against the market's rules: ${describeError(error, units).message}`);
      return undefined;
    });
    if (args.acceptablePrice !== undefined) {
      if (args.slippage !== undefined)
        throw new ToolError("BadOptions", "give --acceptable-price or --slippage, not both");
      bound = parseUnits(args.acceptablePrice.replace(/^\$/, ""), 18, "--acceptable-price");
      if (bound === 0n && isBuy(kind, size))
        throw new ToolError("ZeroAcceptablePrice", "a buy needs an acceptable price above 0");
    } else {
      const slippage = args.slippage === undefined ? DEFAULT_SLIPPAGE_BPS : parseSlippage(args.slippage);
      bound = acceptablePrice(kind, size, price!, slippage); // without a bound, a refused price threw above
    }
    if (price !== undefined) {
      await checkRequest(ctx, { account: signer.address, marketId, kind, size, amount, acceptablePrice: bound, price });
    }
    const priced = await defaultExecutionFee(ctx, classOf(kind));
    const executionFee =
      args.executionFee === undefined ? priced.fee : parseUnits(args.executionFee, d.decimals, "--execution-fee");
    if (executionFee < priced.minimum) {
      throw new ToolError(
        "ExecutionFeeTooLow",
        `--execution-fee ${t(ctx, executionFee)} is below the order book's minimum ${t(ctx, priced.minimum)} at ${formatGwei(priced.gasPrice)} gwei`,
        { executionFee, minimum: priced.minimum },
      );
    }
    const escrow = (escrowsAmount(kind) ? amount : 0n) + executionFee;
    const balance = await d.collateral.balanceOf(signer.address);
    if (balance < escrow) {
      throw new ToolError(
        "InsufficientBalance",
        `the request escrows ${t(ctx, escrow)}; ${signer.address} holds ${t(ctx, balance)}`,
        {
          balance,
          needed: escrow,
        },
      );
    }
    await ensureAllowance(d, signer, d.addresses.orderBook, escrow);
    const receipt = await mined(
      d.orderBook
        .connect(signer)
        .request(marketId, kind, size, amount, bound, executionFee, atGasPrice(priced.gasPrice)),
    );
    const event = oneEvent(receipt, d.orderBook, "OrderRequested");
    const { notBefore, expiresAt } = event.args as unknown as { notBefore: bigint; expiresAt: bigint };
    // Counted from the request's own block: the latest block before it may be minutes old on a quiet chain.
    const now = BigInt((await receipt.getBlock()).timestamp);
    const buy = isBuy(kind, size);
    const what = `${kindName(kind)} ${sideOf(size)}${tradesSize ? ` ${baseUnits(magnitude)}` : ""}${takesAmount ? ` with ${t(ctx, amount)}` : ""}`;
    return {
      lines: [
        `Requested ${what} in market ${marketId} (tx ${receipt.hash})`,
        `  executes at the first oracle round from ${when(notBefore, now)}, at a price ${buy ? "<=" : ">="} ${usd(bound)}` +
          (price === undefined ? "" : ` (now ${usd(price)})`),
        `  escrowed ${t(ctx, escrow)} including an execution fee of ${t(ctx, executionFee)} for the keeper; expires ${when(expiresAt, now)}`,
      ],
      data: {
        action: "request",
        account: signer.address,
        marketId,
        kind: kindName(kind),
        size,
        amount,
        acceptablePrice: bound,
        executionFee,
        escrow,
        notBefore,
        expiresAt,
        tx: receipt.hash,
      },
    };
  },
};

type ListArgs = CommonArgs & { account?: string; market?: string; fromBlock?: string };

/** Pending requests (an account's, or everyone's), each with its state: waiting, ready at a round, or expired. */
export const listOrders: Tool<ListArgs> = {
  async run(ctx, args) {
    const { d, units, ethers } = ctx;
    const account = optionalAddress(args.account, "account");
    const marketId = args.market === undefined ? undefined : await marketOption(d, args.market);
    const fromBlock = integerOption(args.fromBlock, "fromBlock", { fallback: 0 });
    const requests = await pendingRequests(d, fromBlock, { account, marketId });
    const finder = new RoundFinder(ethers.provider);
    const feeds = new MarketFeeds(ethers, d);
    const now = units.now;
    const lines = requests.length === 0 ? [`No pending requests${account ? ` for ${account}` : ""}.`] : [];
    const out = [];
    for (const r of requests) {
      const roundId = now >= r.expiresAt ? undefined : await finder.first(await feeds.feedOf(r.marketId), r.notBefore);
      const state = now >= r.expiresAt ? "expired" : roundId !== undefined ? "ready" : "waiting";
      const status =
        state === "expired"
          ? `expired ${when(r.expiresAt, now)}: anyone may cancel it (operator: orders cancel)`
          : state === "ready"
            ? `ready: executable at round ${roundId} until ${when(r.expiresAt, now)}`
            : `waiting for the first round from ${when(r.notBefore, now)}`;
      lines.push(`${r.account} market ${r.marketId}: ${describeRequest(ctx, r)}; ${status}`);
      out.push({ ...r, kind: kindName(r.kind), state, roundId: roundId ?? null });
    }
    return { lines, data: { requests: out } };
  },
};

function describeRequest(ctx: ToolContext, r: PendingRequest) {
  const tradesSize = r.kind === OrderKind.Open || r.kind === OrderKind.Increase || r.kind === OrderKind.Reduce;
  const abs = r.size < 0n ? -r.size : r.size;
  return (
    `${kindName(r.kind)} ${sideOf(r.size)}` +
    (tradesSize ? ` ${baseUnits(abs)}` : "") +
    (r.amount > 0n ? ` with ${t(ctx, r.amount)}` : "") +
    `, price ${isBuy(r.kind, r.size) ? "<=" : ">="} ${usd(r.acceptablePrice)}, fee ${t(ctx, r.executionFee)}`
  );
}

type CancelArgs = CommonArgs & { account?: string; market?: string; fromBlock?: string };

/** Cancels an expired request (anyone may): the escrow and the execution fee go back to the account. */
export const cancelOrder: Tool<CancelArgs> = {
  async run(ctx, args) {
    const { d, signer, units } = ctx;
    const account = args.account === undefined ? signer.address : addressOption(args.account, "account", "");
    const marketId = await marketOption(d, required(args.market, "market", "the market id of the request"));
    const fromBlock = integerOption(args.fromBlock, "fromBlock", { fallback: 0 });
    const r = await readRequest(d, account, marketId, fromBlock);
    if (!r) throw new ToolError("UnknownRequest", `${account} has no pending request in market ${marketId}`);
    if (units.now + 1n <= r.expiresAt) {
      throw new ToolError(
        "RequestNotExpired",
        `${account}'s request in market ${marketId} cannot be cancelled before it expires, ${when(r.expiresAt, units.now)}: until then an executor may execute it`,
        { expiresAt: r.expiresAt },
      );
    }
    const receipt = await mined(d.orderBook.connect(signer).cancel(account, marketId, requestStruct(r)));
    const [event] = eventsIn(receipt, d.orderBook, "OrderCancelled");
    if (!event) throw new ToolError("MissingEvent", `the transaction ${receipt.hash} emitted no OrderCancelled`);
    const [refund, fee, recipient] = [
      event.args.refund as bigint,
      event.args.fee as bigint,
      event.args.feeRecipient as string,
    ];
    return {
      lines: [
        `Cancelled ${account}'s expired ${kindName(r.kind)} request in market ${marketId} (tx ${receipt.hash})`,
        `  refunded ${t(ctx, refund)} and the execution fee ${t(ctx, fee)} to ${recipient}: nobody executed it in time`,
      ],
      data: { action: "cancel", account, marketId, refund, fee, feeRecipient: recipient, tx: receipt.hash },
    };
  },
};
