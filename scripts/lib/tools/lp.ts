// LP tools: deposit and withdraw (always by ERC-7540 request), execute, claim what executed and cancel a request,
// and see an LP's position. Each checks its input before it sends anything and reports what
// the transaction did from the receipt's events (shares minted, assets paid), never from a preview.
import type { ContractTransactionReceipt } from "ethers";
import { type CommonArgs, type Tool, type ToolContext, amountOption, optionalAddress } from "../chain/cli.js";
import { ToolError, describeError } from "../chain/errors.js";
import { type Units, date, decimal, when } from "../chain/format.js";
import { mined, oneEvent } from "../chain/receipts.js";
import { lpRoundIds, readLpRequest } from "../requests/lp.js";
import { ExecutionClass, atGasPrice, parseSlippage, priceExecutionFee, refuseNonExecutor } from "../requests/orders.js";
import { type Account, type Amount, checkBalance, ensureAllowance, t } from "./common.js";

const vaultShares = (u: Units, x: bigint) => `${decimal(x, u.vaultShareDecimals, 0, 6)} LP shares`;

type LpArgs = { slippage?: string; executionFee?: string };

/**
 * An LP request's limit and fee: the least out the owner accepts, `--slippage` (default 1 %) below what the
 * amount converts to at the current mark (the vault's previews revert: requests are priced later), and the order book's minimum fee for an LP execution at the gas price
 * the request is sent at (or `--execution-fee`, refused below that minimum before anything is sent).
 */
async function lpTerms(ctx: ToolContext, args: LpArgs, previewOf: () => Promise<bigint>) {
  const slippage = args.slippage === undefined ? 100n : parseSlippage(args.slippage);
  // A pool that cannot be marked now (a stale feed) converts nothing: the request is still taken (it is priced
  // after the next round), with no limit unless --slippage asked for one, which then cannot be set.
  const preview = await previewOf().catch((error: unknown) => {
    if (args.slippage !== undefined) {
      const why = describeError(error, ctx.units);
      throw new ToolError(
        "NoPreview",
        `--slippage needs the pool's mark, which it cannot give now (${why.name}: ${why.message})`,
      );
    }
    return 0n;
  });
  const limit = (preview * (10_000n - slippage)) / 10_000n;
  const priced = await priceExecutionFee(ctx.ethers, ctx.d, ExecutionClass.Lp);
  const fee =
    args.executionFee === undefined ? priced.fee : amountOption(args.executionFee, "executionFee", ctx.d.decimals, "");
  if (fee < priced.minimum) {
    throw new ToolError(
      "ExecutionFeeTooLow",
      `--execution-fee ${t(ctx, fee)} is below the order book's minimum for an LP request, ${t(ctx, priced.minimum)}`,
      { executionFee: fee, minimum: priced.minimum },
    );
  }
  return { limit, fee, overrides: atGasPrice(priced.gasPrice) };
}
/**
 * Throws `code` naming the oracle's refusal when the vault cannot mark the pool (its `totalAssets` reverts):
 * then its maxWithdraw is 0 and a claim would revert.
 */
async function refuseUnmarked(ctx: ToolContext, code: string, what: string) {
  const why = await ctx.d.vault.totalAssets().then(
    () => undefined,
    (error: unknown) => describeError(error, ctx.units),
  );
  if (why) {
    throw new ToolError(
      code,
      `nothing can be ${what} while the vault cannot mark the pool (${why.name}: ${why.message})`,
      {
        cause: why,
      },
    );
  }
}

/** Refuses before anything is sent when `owner` already has a pending LP request. */
async function refusePendingLp(ctx: ToolContext, owner: string) {
  const r = await readLpRequest(ctx.d, owner);
  if (r) {
    throw new ToolError(
      "LpRequestPending",
      `${owner} already has a pending LP ${r.redeem ? "redemption" : "deposit"} (${lpAmount(ctx, r)}): ` +
        (ctx.units.now > r.expiresAt
          ? `it expired on ${date(r.expiresAt)}, cancel it first (\`lp cancel\`)`
          : `the keepers execute it from ${when(r.notBefore, ctx.units.now)}; if they have not by ${when(r.expiresAt, ctx.units.now)}, cancel it after that (\`lp cancel\`)`),
      { request: r },
    );
  }
}

const lpAmount = (ctx: ToolContext, r: { redeem: boolean; amount: bigint }) =>
  r.redeem ? vaultShares(ctx.units, r.amount) : t(ctx, r.amount);

/** The report of a request just sent: what is escrowed, from when it executes and until when. */
function requested(ctx: ToolContext, receipt: ContractTransactionReceipt, action: string) {
  const e = oneEvent(receipt, ctx.d.vault, "LpRequested");
  const [amount, notBefore, expiresAt] = [
    e.args.amount as bigint,
    e.args.notBefore as bigint,
    e.args.expiresAt as bigint,
  ];
  const redeem = e.args.redeem as boolean;
  const [limit, executionFee] = [e.args.limit as bigint, e.args.executionFee as bigint];
  return {
    lines: [
      `Requested ${redeem ? "a redemption of" : "a deposit of"} ${lpAmount(ctx, { redeem, amount })} (tx ${receipt.hash}): ` +
        "the vault takes every deposit and redemption by request (ERC-7540)",
      `It is priced at the worse for you of the pool's mark at the first oracle round from ${date(notBefore)} and its mark at execution ` +
        `(by a keeper: only executors execute requests); if none has by ${date(expiresAt)}, anyone may cancel it after that (\`lp cancel\`)`,
      `  at least ${redeem ? t(ctx, limit) : vaultShares(ctx.units, limit)} or it is refused and returned; execution fee ${t(ctx, executionFee)} for the keeper (back to you if it expires)`,
      ...(redeem
        ? [
            "  once executed, the redemption is held for an hour with its shares in the pool, then you claim the lesser of its price and their value (`lp claim`)",
          ]
        : ["  once executed, its shares wait in the vault until you claim them (`lp claim`)"]),
    ],
    data: {
      action,
      mode: "request",
      account: ctx.signer.address,
      redeem,
      amount,
      limit,
      executionFee,
      notBefore,
      expiresAt,
      tx: receipt.hash,
    },
  };
}

export const lpDeposit: Tool<Amount & LpArgs> = {
  async run(ctx, args) {
    const { d, signer } = ctx;
    const assets = amountOption(args.amount, "amount", d.decimals, `the collateral to deposit, in ${d.symbol}`);
    await checkBalance(ctx, assets, "depositing");
    if (await d.engine.paused()) {
      throw new ToolError("DepositsPaused", "LP deposits are paused while the engine is paused");
    }
    await refusePendingLp(ctx, signer.address);
    const terms = await lpTerms(ctx, args, () => d.vault.convertToShares(assets));
    await checkBalance(ctx, assets + terms.fee, "depositing");
    await ensureAllowance(d, signer, d.addresses.vault, assets + terms.fee);
    const who = signer.address;
    return requested(
      ctx,
      await mined(
        d.vault.connect(signer).requestDepositWithLimit(assets, who, who, terms.limit, terms.fee, terms.overrides),
      ),
      "requestDeposit",
    );
  },
};

type Withdrawal = CommonArgs & LpArgs & { amount?: string; shares?: string };

export const lpWithdraw: Tool<Withdrawal> = {
  async run(ctx, args) {
    const { d, signer, units } = ctx;
    if (args.amount !== undefined && args.shares !== undefined) {
      throw new ToolError("ConflictingOptions", "give --amount (collateral) or --shares (LP shares), not both");
    }
    const byShares = args.shares !== undefined;
    const amount = byShares
      ? amountOption(args.shares, "shares", units.vaultShareDecimals, "the LP shares to redeem")
      : amountOption(args.amount, "amount", d.decimals, `the collateral to withdraw, in ${d.symbol}`);
    const balance = await d.vault.balanceOf(signer.address);
    if (byShares && amount > balance) {
      throw new ToolError(
        "InsufficientShares",
        `--shares ${vaultShares(units, amount)} is more than the ${vaultShares(units, balance)} held`,
      );
    }
    await refusePendingLp(ctx, signer.address);
    const exit = await d.vault.lpExit(signer.address);
    if (exit.shares > 0n) {
      throw new ToolError(
        "LpExitUnclaimed",
        `${signer.address} has a held redemption of ${vaultShares(units, exit.shares)}: claim it first (\`lp claim\`, ${when(exit.claimableAt, units.now)})`,
        { claimableAt: exit.claimableAt },
      );
    }
    let shares = amount;
    if (!byShares) {
      await refuseUnmarked(ctx, "LpUnpriced", "converted to shares");
      // The shares that amount is worth at the current mark (rounded down): the request is priced later.
      shares = await d.vault.convertToShares(amount);
      if (shares > balance) {
        throw new ToolError(
          "InsufficientShares",
          `--amount ${t(ctx, amount)} needs ${vaultShares(units, shares)}; ${signer.address} holds ${vaultShares(units, balance)}`,
        );
      }
    }
    if (shares === 0n) throw new ToolError("ZeroAmount", "the amount is zero shares");
    const terms = await lpTerms(ctx, args, () => d.vault.convertToAssets(shares));
    await checkBalance(ctx, terms.fee, "paying the execution fee");
    await ensureAllowance(d, signer, d.addresses.vault, terms.fee);
    const who = signer.address;
    return requested(
      ctx,
      await mined(
        d.vault.connect(signer).requestRedeemWithLimit(shares, who, who, terms.limit, terms.fee, terms.overrides),
      ),
      "requestRedeem",
    );
  },
};

export const lpExecute: Tool<Account> = {
  async run(ctx, args) {
    const { d, signer, units } = ctx;
    const owner = optionalAddress(args.account, "account") ?? signer.address;
    await refuseNonExecutor(ctx.d, ctx.signer.address);
    const r = await readLpRequest(d, owner);
    if (!r)
      throw new ToolError("NoLpRequest", `${owner} has no pending LP request (executed, cancelled, or never made)`);
    if (units.now >= r.expiresAt) {
      throw new ToolError(
        "LpRequestExpired",
        `${owner}'s LP request expired on ${when(r.expiresAt, units.now)}: it can only be cancelled (\`lp cancel\`)`,
        { expiresAt: r.expiresAt },
      );
    }
    const rounds = await lpRoundIds(ctx.ethers, d, r.notBefore);
    if (!rounds) {
      throw new ToolError(
        "RoundNotYet",
        `${owner}'s LP request is priced at the first round from ${when(r.notBefore, units.now)}: a market with positions has no such round yet`,
        { notBefore: r.notBefore },
      );
    }
    const receipt = await mined(d.vault.connect(signer).executeRequest(owner, rounds));
    const e = oneEvent(receipt, d.vault, "LpRequestExecuted");
    const [assets, shares, pricedAt] = [e.args.assets as bigint, e.args.shares as bigint, e.args.pricedAt as bigint];
    const redeem = e.args.redeem as boolean;
    const claimableAt = redeem ? BigInt(oneEvent(receipt, d.vault, "LpExitHeld").args.claimableAt) : undefined;
    return {
      lines: [
        redeem
          ? `Executed ${owner}'s redemption: ${vaultShares(units, shares)} for ${t(ctx, assets)}, held until ${date(claimableAt!)}: its owner claims it then (\`lp claim\`) (tx ${receipt.hash})`
          : `Executed ${owner}'s deposit: ${t(ctx, assets)} for ${vaultShares(units, shares)}, claimable now by its owner (\`lp claim\`) (tx ${receipt.hash})`,
        `Priced with the pool at ${t(ctx, pricedAt)} (rounds ${rounds.join(", ")})`,
      ],
      data: {
        action: "execute",
        account: owner,
        redeem,
        assets,
        shares,
        pricedAt,
        roundIds: rounds,
        ...(redeem ? { claimableAt } : {}),
        tx: receipt.hash,
      },
    };
  },
};

type Claim = CommonArgs & { to?: string };

/**
 * Claims what the signer's executed requests left claimable (ERC-7540's claims, the signer as controller): the
 * shares of executed deposits (`mint`), and a held redemption once its hold is over (`redeem`: the lesser of its
 * price and its shares' value now).
 */
export const lpClaim: Tool<Claim> = {
  async run(ctx, args) {
    const { d, signer, units } = ctx;
    const who = signer.address;
    const receiver = optionalAddress(args.to, "to") ?? who;
    const [deposit, exit] = await Promise.all([d.vault.lpDeposit(who), d.vault.lpExit(who)]);
    const exitDue = exit.shares > 0n && units.now >= exit.claimableAt;
    if (deposit.shares === 0n && !exitDue) {
      if (exit.shares > 0n) {
        throw new ToolError(
          "LpExitNotClaimable",
          `${who}'s redemption of ${t(ctx, exit.assets)} is held until ${when(exit.claimableAt, units.now)}`,
          { claimableAt: exit.claimableAt },
        );
      }
      throw new ToolError("NothingToClaim", `${who} has no executed deposit or held redemption to claim`);
    }
    const lines: string[] = [];
    const data: Record<string, unknown> = { action: "claim", account: who, receiver };
    if (deposit.shares > 0n) {
      const receipt = await mined(d.vault.connect(signer)["mint(uint256,address)"](deposit.shares, receiver));
      const e = oneEvent(receipt, d.vault, "Deposit");
      const [assets, shares] = [e.args.assets as bigint, e.args.shares as bigint];
      lines.push(
        `Claimed ${vaultShares(units, shares)} bought for ${t(ctx, assets)} to ${receiver} (tx ${receipt.hash})`,
      );
      data.deposit = { assets, shares, tx: receipt.hash };
    }
    if (exitDue) {
      // The claim values the shares at the current prices: while an oracle refuses one, say so before sending.
      await refuseUnmarked(ctx, "LpExitUnpriced", "claimed");
      const receipt = await mined(d.vault.connect(signer).redeem(exit.shares, receiver, who));
      const e = oneEvent(receipt, d.vault, "LpExitClaimed");
      const [shares, held, paid] = [e.args.shares as bigint, e.args.held as bigint, e.args.paid as bigint];
      lines.push(
        `Claimed ${t(ctx, paid)} of a redemption executed at ${t(ctx, held)} for ${vaultShares(units, shares)}` +
          (paid < held ? ` (its shares were worth less at the claim: ${t(ctx, held - paid)} stays in the pool)` : "") +
          ` to ${receiver} (tx ${receipt.hash})`,
      );
      Object.assign(data, { shares, held, paid, tx: receipt.hash });
    } else if (exit.shares > 0n) {
      lines.push(`Held redemption of ${t(ctx, exit.assets)}: claimable ${when(exit.claimableAt, units.now)}`);
    }
    return { lines, data };
  },
};

export const lpCancel: Tool<Account> = {
  async run(ctx, args) {
    const { d, signer, units } = ctx;
    const owner = optionalAddress(args.account, "account") ?? signer.address;
    const r = await readLpRequest(d, owner);
    if (!r)
      throw new ToolError("NoLpRequest", `${owner} has no pending LP request (executed, cancelled, or never made)`);
    if (units.now < r.expiresAt) {
      throw new ToolError(
        "LpRequestNotExpired",
        `${owner}'s LP request cannot be cancelled before it expires, ${when(r.expiresAt, units.now)}`,
        { expiresAt: r.expiresAt },
      );
    }
    const receipt = await mined(d.vault.connect(signer).cancelRequest(owner));
    const e = oneEvent(receipt, d.vault, "LpRequestCancelled");
    const [redeem, amount] = [e.args.redeem as boolean, e.args.amount as bigint];
    return {
      lines: [
        `Cancelled ${owner}'s expired LP request: ${lpAmount(ctx, { redeem, amount })} returned (tx ${receipt.hash})`,
      ],
      data: { action: "cancel", account: owner, redeem, amount, tx: receipt.hash },
    };
  },
};

export const lpStatus: Tool<Account> = {
  async run(ctx, args) {
    const { d, signer, units } = ctx;
    const account = optionalAddress(args.account, "account") ?? signer.address;
    const shares = await d.vault.balanceOf(account);
    // The vault marks to the oracles: while one refuses a price, its value and withdrawals are unavailable.
    const marked = <T>(p: Promise<T>) => p.catch((error: unknown) => describeError(error, units));
    const [value, maxWithdraw, totalAssets, free, reserved, request, deposit, exit] = await Promise.all([
      marked(d.vault.convertToAssets(shares)),
      marked(d.vault.maxWithdraw(account)),
      marked(d.vault.totalAssets()),
      d.engine.freeLiquidity(),
      d.engine.totalReserved(),
      readLpRequest(d, account),
      d.vault.lpDeposit(account),
      d.vault.lpExit(account),
    ]);
    const now = units.now;
    const requestState = !request
      ? undefined
      : now >= request.expiresAt
        ? "expired: cancel it (`lp cancel`)"
        : now < request.notBefore
          ? `waiting: priced at the first round from ${when(request.notBefore, now)}`
          : "ready once every market with positions has a round after that (`lp execute`)";
    const show = (x: bigint | object) => (typeof x === "bigint" ? t(ctx, x) : "unavailable");
    const raw = (x: bigint | object) => (typeof x === "bigint" ? x : null);
    const refusal = [value, maxWithdraw, totalAssets].find((x) => typeof x !== "bigint") as { message: string };
    return {
      lines: [
        `LP ${account}: ${vaultShares(units, shares)} worth ${show(value)}; claimable from a held redemption now ${show(maxWithdraw)}`,
        `Vault: assets ${show(totalAssets)}, reserved for open profits ${t(ctx, reserved)}, free ${t(ctx, free)}`,
        "Deposits and withdrawals go by request (ERC-7540: `lp deposit` / `lp withdraw` send one, `lp claim` takes what executed)",
        ...(deposit.shares > 0n
          ? [
              `Executed deposit: ${vaultShares(units, deposit.shares)} bought for ${t(ctx, deposit.assets)}, claimable now (\`lp claim\`)`,
            ]
          : []),
        ...(request
          ? [
              `Pending LP request: ${request.redeem ? "redeem" : "deposit"} ${lpAmount(ctx, request)}, ${requestState}; expires ${date(request.expiresAt)}`,
            ]
          : []),
        ...(exit.shares > 0n
          ? [
              `Held redemption: ${vaultShares(units, exit.shares)} executed at ${t(ctx, exit.assets)}, ` +
                (now < exit.claimableAt
                  ? `claimable ${when(exit.claimableAt, now)}`
                  : "claimable now (`lp claim`): pays the lesser of that and the shares' value"),
            ]
          : []),
        ...(refusal ? [`Unavailable while an oracle refuses a price: ${refusal.message}`] : []),
      ],
      data: {
        account,
        shares,
        value: raw(value),
        maxWithdraw: raw(maxWithdraw),
        vaultAssets: raw(totalAssets),
        reserved,
        freeLiquidity: free,
        claimableDeposit: deposit.shares > 0n ? { assets: deposit.assets, shares: deposit.shares } : null,
        lpRequest: request
          ? {
              redeem: request.redeem,
              amount: request.amount,
              notBefore: request.notBefore,
              expiresAt: request.expiresAt,
              state: now >= request.expiresAt ? "expired" : now < request.notBefore ? "waiting" : "due",
            }
          : null,
        heldExit: exit.shares > 0n ? { shares: exit.shares, assets: exit.assets, claimableAt: exit.claimableAt } : null,
        ...(typeof totalAssets === "bigint" ? {} : { unavailable: totalAssets }),
      },
    };
  },
};
