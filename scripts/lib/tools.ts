// The staker, LP and operator tools. Each checks its input before it sends anything and reports what the
// transaction did from the receipt's events (shares minted, assets paid), never from a preview.
import type { BaseContract, ContractTransactionReceipt, ContractTransactionResponse, LogDescription } from "ethers";
import {
  type CommonArgs,
  type Report,
  type Tool,
  type ToolContext,
  type ToolSigner,
  addressOption,
  amountOption,
  marketOption,
  optionalAddress,
  optionalAmount,
  required,
} from "./cli.js";
import { type Deployment, formatUnits } from "./deployment.js";
import { ToolError, describeError, renderParameter } from "./errors.js";
import { type Units, baseUnits, date, decimal, duration, percent, tokens, usd, when } from "./format.js";
import { CONFIG_FIELDS } from "./verify.js";
import { parseDecimal } from "./numbers.js";
import { anyPositions, lpRoundIds, readLpRequest } from "./lp.js";
import { ExecutionClass, atGasPrice, parseSlippage, priceExecutionFee } from "./orders.js";
import { type TimelockArgs, scheduleCall, viaTimelock } from "./timelock.js";

export type { Report, ToolContext } from "./cli.js";

const t = (ctx: ToolContext, x: bigint) => tokens(ctx.units, x);
const backstopShares = (u: Units, x: bigint) => `${decimal(x, u.backstopShareDecimals, 0, 6)} shares`;
const vaultShares = (u: Units, x: bigint) => `${decimal(x, u.vaultShareDecimals, 0, 6)} LP shares`;

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

function oneEvent(receipt: ContractTransactionReceipt, contract: BaseContract, name: string): LogDescription {
  const [event] = eventsIn(receipt, contract, name);
  if (!event) throw new ToolError("MissingEvent", `the transaction ${receipt.hash} emitted no ${name}`);
  return event;
}

/** Refuses before anything is sent when the signer cannot pay `amount`. */
async function checkBalance(ctx: ToolContext, amount: bigint, action: string) {
  const balance = await ctx.d.collateral.balanceOf(ctx.signer.address);
  if (balance < amount) {
    throw new ToolError(
      "InsufficientBalance",
      `${action} needs ${t(ctx, amount)}; ${ctx.signer.address} holds ${t(ctx, balance)}`,
      { balance, needed: amount },
    );
  }
}

async function ensureAllowance(d: Deployment, signer: ToolSigner, spender: string, amount: bigint) {
  const token = d.collateral.connect(signer);
  if ((await token.allowance(signer.address, spender)) < amount) await mined(token.approve(spender, amount));
}

// ---------------------------------------------------------------- stakers

type Amount = CommonArgs & { amount?: string };
type LpArgs = { slippage?: string; executionFee?: string };

/**
 * An LP request's limit and fee: the least out the owner accepts, `--slippage` (default 1 %) below the
 * vault's preview at the current mark, and the order book's minimum fee for an LP execution at the gas price
 * the request is sent at (or `--execution-fee`, refused below that minimum before anything is sent).
 */
async function lpTerms(ctx: ToolContext, args: LpArgs, previewOf: () => Promise<bigint>) {
  const slippage = args.slippage === undefined ? 100n : parseSlippage(args.slippage);
  // A pool that cannot be marked now (a stale feed) gives no preview: the request is still taken (it is
  // priced after the next round), with no limit unless --slippage asked for one, which then cannot be set.
  const preview = await previewOf().catch((error: unknown) => {
    if (args.slippage !== undefined) {
      const why = describeError(error, ctx.units);
      throw new ToolError(
        "NoPreview",
        `--slippage needs the vault's preview, which the pool cannot give now (${why.name}: ${why.message})`,
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
type Shares = CommonArgs & { shares?: string };
type Account = CommonArgs & { account?: string };

export const stake: Tool<Amount> = {
  async run(ctx, args) {
    const { d, signer } = ctx;
    const assets = amountOption(args.amount, "amount", d.decimals, `the collateral to stake, in ${d.symbol}`);
    await checkBalance(ctx, assets, "staking");
    const max = await d.backstop.maxDeposit(signer.address);
    if (assets > max) throw new ToolError("ExceedsMaxDeposit", `the backstop accepts at most ${t(ctx, max)} now`);
    await ensureAllowance(d, signer, d.addresses.backstop, assets);
    const receipt = await mined(d.backstop.connect(signer).deposit(assets, signer.address));
    const e = oneEvent(receipt, d.backstop, "Deposit");
    const [paid, minted] = [e.args.assets as bigint, e.args.shares as bigint];
    return {
      lines: [`Staked ${t(ctx, paid)} for ${backstopShares(ctx.units, minted)} (tx ${receipt.hash})`],
      data: { action: "stake", account: signer.address, assets: paid, shares: minted, tx: receipt.hash },
    };
  },
};

export const cooldown: Tool<Shares> = {
  async run(ctx, args) {
    const { d, signer, units } = ctx;
    const balance = await d.backstop.balanceOf(signer.address);
    const shares = optionalAmount(args.shares, "shares", units.backstopShareDecimals) ?? balance;
    if (balance === 0n) throw new ToolError("NoShares", `${signer.address} holds no backstop shares`);
    if (shares > balance) {
      throw new ToolError(
        "InsufficientShares",
        `--shares ${backstopShares(units, shares)} is more than the ${backstopShares(units, balance)} held`,
      );
    }
    const receipt = await mined(d.backstop.connect(signer).cooldown(shares));
    const e = oneEvent(receipt, d.backstop, "CooldownStarted");
    const [cooled, value, windowStart, windowEnd] = ["shares", "value", "windowStart", "windowEnd"].map(
      (k) => e.args[k] as bigint,
    );
    const now = BigInt((await receipt.getBlock()).timestamp);
    return {
      lines: [
        `Cooldown started for ${backstopShares(units, cooled)} worth ${t(ctx, value)} (tx ${receipt.hash})`,
        `Unstake window: opens ${when(windowStart, now)}, closes ${date(windowEnd)}`,
      ],
      data: { action: "cooldown", account: signer.address, shares: cooled, value, windowStart, windowEnd },
    };
  },
};

export const unstake: Tool<Shares> = {
  async run(ctx, args) {
    const { d, signer, units } = ctx;
    const status = await d.backstop.cooldownStatus(signer.address);
    if (status.start === 0n) {
      throw new ToolError("NoCooldown", `${signer.address} has no cooldown: run \`backstop cooldown\` first`);
    }
    const shares = optionalAmount(args.shares, "shares", units.backstopShareDecimals) ?? status.shares;
    if (shares > status.shares) {
      throw new ToolError(
        "ExceedsCooldownShares",
        `--shares ${backstopShares(units, shares)} is more than the ${backstopShares(units, status.shares)} in cooldown`,
      );
    }
    // The window is checked by the contract; its revert (OutsideUnstakeWindow) is rendered with dates.
    const receipt = await mined(d.backstop.connect(signer).redeem(shares, signer.address, signer.address));
    const e = oneEvent(receipt, d.backstop, "Withdraw");
    const [burned, received] = [e.args.shares as bigint, e.args.assets as bigint];
    return {
      lines: [`Unstaked ${backstopShares(units, burned)} for ${t(ctx, received)} (tx ${receipt.hash})`],
      data: { action: "unstake", account: signer.address, shares: burned, received, tx: receipt.hash },
    };
  },
};

export const stakerStatus: Tool<Account> = {
  async run(ctx, args) {
    const { d, signer, units } = ctx;
    const account = optionalAddress(args.account, "account") ?? signer.address;
    const b = d.backstop;
    const [shares, s, streaming, coverage, assets, maxCover, lastAmount, lastTime, totalCovered] = await Promise.all([
      b.balanceOf(account),
      b.cooldownStatus(account),
      b.incomeStreaming(),
      d.lens.coverageRatio().catch((error: unknown) => describeError(error, units)), // an oracle with open interest refuses
      b.totalAssets(),
      b.maxCover(),
      b.lastCoverAmount(),
      b.lastCoverTime(),
      b.totalCovered(),
    ]);
    const value = await b.convertToAssets(shares);
    const now = units.now;
    const phase =
      s.start === 0n
        ? "no cooldown"
        : now < s.windowStart
          ? `cooling down: the unstake window opens on ${when(s.windowStart, now)}`
          : now <= s.windowEnd
            ? `in the unstake window until ${when(s.windowEnd, now)}`
            : `window closed on ${date(s.windowEnd)}: start a new cooldown`;
    const coverageText =
      typeof coverage === "bigint"
        ? coverage === 2n ** 256n - 1n
          ? "no open interest"
          : percent(coverage)
        : `unavailable (${coverage.message})`;
    return {
      lines: [
        `Staker ${account}`,
        `  ${backstopShares(units, shares)}, worth ${t(ctx, value)}`,
        `  cooldown: ${phase}`,
        ...(s.start === 0n
          ? []
          : [
              `    requested ${date(s.start)} for ${backstopShares(units, s.shares)} worth ${t(ctx, s.valueAtRequest)} (now ${t(ctx, s.valueNow)})`,
              `    window ${date(s.windowStart)} to ${date(s.windowEnd)}`,
            ]),
        `Backstop: assets ${t(ctx, assets)}, income streaming ${t(ctx, streaming)}, coverage ratio ${coverageText}`,
        `  max cover now ${t(ctx, maxCover)}; covered in total ${t(ctx, totalCovered)}; last cover ${t(ctx, lastAmount)} on ${date(lastTime)}`,
      ],
      data: {
        account,
        shares,
        value,
        phase,
        cooldownStart: s.start,
        windowStart: s.windowStart,
        windowEnd: s.windowEnd,
        cooldownShares: s.shares,
        valueAtRequest: s.valueAtRequest,
        valueNow: s.valueNow,
        inWindow: s.inWindow,
        backstopAssets: assets,
        incomeStreaming: streaming,
        coverageRatio: typeof coverage === "bigint" ? coverage : null,
        coverageError: typeof coverage === "bigint" ? undefined : coverage,
        maxCover,
        totalCovered,
        lastCoverAmount: lastAmount,
        lastCoverTime: lastTime,
      },
    };
  },
};

// ---------------------------------------------------------------- LPs

/**
 * Throws `code` naming the oracle's refusal when the vault cannot mark the pool (its `totalAssets` reverts):
 * then its maxDeposit and maxWithdraw are 0 and a deposit or withdrawal would revert.
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

/** Refuses before anything is sent when the signer is not one of the order book's executors. */
export async function refuseNonExecutor(ctx: Pick<ToolContext, "d" | "signer">) {
  if (await ctx.d.orderBook.isExecutor(ctx.signer.address)) return;
  throw new ToolError(
    "NotExecutor",
    `${ctx.signer.address} is not an executor of the order book: only executors (the keepers) execute requests`,
    { account: ctx.signer.address },
  );
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
        "a market has open positions, so the vault takes it by request",
      `It is priced at the worse for you of the pool's mark at the first oracle round from ${date(notBefore)} and its mark at execution ` +
        `(by a keeper: only executors execute requests); if none has by ${date(expiresAt)}, anyone may cancel it after that (\`lp cancel\`)`,
      `  at least ${redeem ? t(ctx, limit) : vaultShares(ctx.units, limit)} or it is refused and returned; execution fee ${t(ctx, executionFee)} for the keeper (back to you if it expires)`,
      ...(redeem
        ? [
            "  once executed, the redemption is held for an hour with its shares in the pool, then you claim the lesser of its price and their value (`lp claim`)",
          ]
        : []),
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
    const { d, signer, units } = ctx;
    const assets = amountOption(args.amount, "amount", d.decimals, `the collateral to deposit, in ${d.symbol}`);
    await checkBalance(ctx, assets, "depositing");
    if (await d.engine.paused()) {
      throw new ToolError("DepositsPaused", "LP deposits are paused while the engine is paused");
    }
    if (await anyPositions(d)) {
      // One-transaction deposits revert UseRequests while positions are open: escrow a request instead.
      await refusePendingLp(ctx, signer.address);
      const terms = await lpTerms(ctx, args, () => d.vault.previewDeposit(assets));
      await checkBalance(ctx, assets + terms.fee, "depositing");
      await ensureAllowance(d, signer, d.addresses.vault, assets + terms.fee);
      return requested(
        ctx,
        await mined(d.vault.connect(signer).requestDeposit(assets, terms.limit, terms.fee, terms.overrides)),
        "requestDeposit",
      );
    }
    if ((await d.vault.maxDeposit(signer.address)) === 0n)
      await refuseUnmarked(ctx, "ERC4626ExceededMaxDeposit", "deposited");
    await ensureAllowance(d, signer, d.addresses.vault, assets);
    const receipt = await mined(d.vault.connect(signer).deposit(assets, signer.address));
    const e = oneEvent(receipt, d.vault, "Deposit");
    const [paid, minted] = [e.args.assets as bigint, e.args.shares as bigint];
    return {
      lines: [`Deposited ${t(ctx, paid)} for ${vaultShares(units, minted)} (tx ${receipt.hash})`],
      data: {
        action: "deposit",
        mode: "direct",
        account: signer.address,
        assets: paid,
        shares: minted,
        tx: receipt.hash,
      },
    };
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
    if (await anyPositions(d)) {
      // One-transaction withdrawals revert UseRequests while positions are open: escrow shares instead.
      await refusePendingLp(ctx, signer.address);
      let shares = amount;
      if (!byShares) {
        await refuseUnmarked(ctx, "ERC4626ExceededMaxWithdraw", "withdrawn");
        shares = await d.vault.previewWithdraw(amount);
        if (shares > balance) {
          throw new ToolError(
            "InsufficientShares",
            `--amount ${t(ctx, amount)} needs ${vaultShares(units, shares)}; ${signer.address} holds ${vaultShares(units, balance)}`,
          );
        }
      }
      if (shares === 0n) throw new ToolError("ZeroAmount", "the amount is zero shares");
      const terms = await lpTerms(ctx, args, () => d.vault.previewRedeem(shares));
      await checkBalance(ctx, terms.fee, "paying the execution fee");
      await ensureAllowance(d, signer, d.addresses.vault, terms.fee);
      return requested(
        ctx,
        await mined(d.vault.connect(signer).requestRedeem(shares, terms.limit, terms.fee, terms.overrides)),
        "requestRedeem",
      );
    }
    // The vault allows no withdrawal (maxWithdraw 0, no revert) while it cannot mark the pool: say why.
    if ((await d.vault.maxWithdraw(signer.address)) === 0n)
      await refuseUnmarked(ctx, "ERC4626ExceededMaxWithdraw", "withdrawn");
    const vault = d.vault.connect(signer);
    const receipt = await mined(
      byShares
        ? vault.redeem(amount, signer.address, signer.address)
        : vault.withdraw(amount, signer.address, signer.address),
    );
    const e = oneEvent(receipt, d.vault, "Withdraw");
    const [paid, burned] = [e.args.assets as bigint, e.args.shares as bigint];
    return {
      lines: [`Withdrew ${t(ctx, paid)} for ${vaultShares(units, burned)} (tx ${receipt.hash})`],
      data: {
        action: "withdraw",
        mode: "direct",
        account: signer.address,
        assets: paid,
        shares: burned,
        tx: receipt.hash,
      },
    };
  },
};

export const lpExecute: Tool<Account> = {
  async run(ctx, args) {
    const { d, signer, units } = ctx;
    const owner = optionalAddress(args.account, "account") ?? signer.address;
    await refuseNonExecutor(ctx);
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
          : `Executed ${owner}'s deposit: ${t(ctx, assets)} for ${vaultShares(units, shares)} (tx ${receipt.hash})`,
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

/** Claims the signer's held redemption once its hold is over: the lesser of its price and its shares' value now. */
export const lpClaim: Tool<Claim> = {
  async run(ctx, args) {
    const { d, signer, units } = ctx;
    const receiver = optionalAddress(args.to, "to") ?? signer.address;
    const exit = await d.vault.lpExit(signer.address);
    if (exit.shares === 0n)
      throw new ToolError("NoLpExit", `${signer.address} has no held redemption (claimed, or none executed)`);
    if (units.now < exit.claimableAt) {
      throw new ToolError(
        "LpExitNotClaimable",
        `${signer.address}'s redemption of ${t(ctx, exit.assets)} is held until ${when(exit.claimableAt, units.now)}`,
        { claimableAt: exit.claimableAt },
      );
    }
    // The claim values the shares at the current prices: while an oracle refuses one, say so before sending.
    await refuseUnmarked(ctx, "LpExitUnpriced", "claimed");
    const receipt = await mined(d.vault.connect(signer).claimExit(receiver));
    const e = oneEvent(receipt, d.vault, "LpExitClaimed");
    const [shares, held, paid] = [e.args.shares as bigint, e.args.held as bigint, e.args.paid as bigint];
    return {
      lines: [
        `Claimed ${t(ctx, paid)} of a redemption executed at ${t(ctx, held)} for ${vaultShares(units, shares)}` +
          (paid < held ? ` (its shares were worth less at the claim: ${t(ctx, held - paid)} stays in the pool)` : "") +
          ` to ${receiver} (tx ${receipt.hash})`,
      ],
      data: { action: "claim", account: signer.address, receiver, shares, held, paid, tx: receipt.hash },
    };
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
    const [value, maxWithdraw, totalAssets, free, reserved, request, byRequest, exit] = await Promise.all([
      marked(d.vault.convertToAssets(shares)),
      marked(d.vault.maxWithdraw(account)),
      marked(d.vault.totalAssets()),
      d.engine.freeLiquidity(),
      d.engine.totalReserved(),
      readLpRequest(d, account),
      anyPositions(d),
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
        `LP ${account}: ${vaultShares(units, shares)} worth ${show(value)}; withdrawable now ${show(maxWithdraw)}`,
        `Vault: assets ${show(totalAssets)}, reserved for open profits ${t(ctx, reserved)}, free ${t(ctx, free)}`,
        byRequest
          ? "Markets have open positions: deposits and withdrawals go by request (`lp deposit` / `lp withdraw` send one)"
          : "No market has positions: deposits and withdrawals are immediate",
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
        byRequest,
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

// ---------------------------------------------------------------- operators

type ConfigField = (typeof CONFIG_FIELDS)[number];
type Config = Record<ConfigField, bigint>;

/** The unit of each MarketConfig field, as `--value` takes it and reports show it. */
const FIELD_UNITS: Record<ConfigField, { unit: string; decimals: (u: Units) => number; suffix: RegExp }> = (() => {
  const ratio = { unit: "percent (4 or 4%)", decimals: () => 16, suffix: /\s*%$/ };
  const token = { unit: "collateral tokens (2.5)", decimals: (u: Units) => u.decimals, suffix: /$^/ };
  const dollars = { unit: "USD (100000)", decimals: () => 18, suffix: /^\$/ };
  const base = { unit: "base units (10000)", decimals: () => 18, suffix: /$^/ };
  return {
    initialMarginRatio: ratio,
    maintenanceMarginRatio: ratio,
    tradingFeeRatio: ratio,
    liquidationPenaltyRatio: ratio,
    keeperFeeRatio: ratio,
    maxProfitFactor: { unit: "a multiple of margin (9 or 9x)", decimals: () => 18, suffix: /\s*x$/i },
    maxFundingRatePerDay: ratio,
    partialLiquidationBuffer: ratio,
    minKeeperFee: token,
    maxKeeperFee: token,
    minMargin: token,
    minNotional: dollars,
    maxOpenInterest: base,
    skewScale: base,
    partialLiquidationThreshold: dollars,
  };
})();

/** Parses `--value` in the field's unit into its raw on-chain value. */
export function parseFieldValue(field: ConfigField, text: string, u: Units): bigint {
  const spec = FIELD_UNITS[field];
  const clean = text.trim().replace(spec.suffix, "");
  const value = parseDecimal(clean, spec.decimals(u), "--value", { code: "BadValue" });
  if (spec.decimals(u) === 16 && value > 10n ** 18n) {
    throw new ToolError(
      "BadValue",
      `--value ${text} for ${field} is more than 100 %: give percent (4 or 4%), not the raw 18-decimal fraction`,
    );
  }
  // The field's storage width (MarketConfig packs uint64, uint96 and uint128 fields).
  const index = CONFIG_FIELDS.indexOf(field);
  const bits = index < 8 ? 64n : index < 11 ? 96n : 128n;
  if (value >= 1n << bits) {
    throw new ToolError("BadValue", `--value ${text} does not fit ${field} (uint${bits}): is it in ${spec.unit}?`);
  }
  return value;
}

const renderField = (field: string, value: bigint, u: Units) => renderParameter(field, value, u);

/** The signer must hold MARKET_ADMIN_ROLE to send directly; when the timelock holds it, say to go through it. */
async function requireMarketAdmin({ d, signer }: ToolContext) {
  const role = await d.engine.MARKET_ADMIN_ROLE();
  if (await d.engine.hasRole(role, signer.address)) return;
  const timelock = d.addresses.timelock;
  const viaTimelock = timelock && (await d.engine.hasRole(role, timelock));
  throw new ToolError(
    "AccessControlUnauthorizedAccount",
    `${signer.address} does not hold MARKET_ADMIN_ROLE` +
      (viaTimelock ? `; the timelock ${timelock} does: add --via-timelock` : ""),
  );
}

type SetArgs = TimelockArgs & { market?: string; field?: string; value?: string };

/** Reads a market's config, changes one field and writes it back (the engine enforces the bounds). */
export const setParameter: Tool<SetArgs> = {
  async run(ctx, args) {
    const { d, units } = ctx;
    const marketId = await marketOption(d, required(args.market, "market", "the market id (0: ETH-USD, 1: BTC-USD)"));
    const field = required(args.field, "field", `one of ${CONFIG_FIELDS.join(", ")}`);
    if (!(CONFIG_FIELDS as readonly string[]).includes(field)) {
      throw new ToolError("UnknownField", `unknown field ${field}; one of ${CONFIG_FIELDS.join(", ")}`);
    }
    const f = field as ConfigField;
    const value = parseFieldValue(
      f,
      required(args.value, "value", `the new ${field}, in ${FIELD_UNITS[f].unit}`),
      units,
    );
    const current = (await d.lens.getMarket(marketId)).config;
    const config = Object.fromEntries(CONFIG_FIELDS.map((k) => [k, k === f ? value : BigInt(current[k])])) as Config;
    const before = BigInt(current[f]);
    const change = `market ${marketId}: ${field} ${renderField(field, before, units)} -> ${renderField(field, value, units)}`;
    const data = d.engine.interface.encodeFunctionData("setMarketConfig", [marketId, config]);
    if (viaTimelock(args)) return scheduleCall(ctx, args, { target: d.addresses.engine, data, summary: change });
    await requireMarketAdmin(ctx);
    // Simulated first by the signer (estimateGas): a value outside its bounds reverts before anything is sent.
    const receipt = await mined(d.engine.connect(ctx.signer).setMarketConfig(marketId, config as never));
    oneEvent(receipt, d.engine, "MarketConfigUpdated");
    return {
      lines: [`${change[0].toUpperCase()}${change.slice(1)} (tx ${receipt.hash})`],
      data: { action: "setMarketConfig", marketId, field, before, after: value, tx: receipt.hash },
    };
  },
};

type AddMarketArgs = TimelockArgs & { oracle?: string; configFile?: string };

/** Reads a MarketConfig JSON file ("123n" strings are bigints, as in Ignition parameter files). */
export async function readMarketConfig(file: string): Promise<Config> {
  const { readFile } = await import("node:fs/promises");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new ToolError("NoConfigFile", `cannot read --config-file ${file}: no such file`);
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ToolError("BadConfigFile", `--config-file ${file} is not JSON: ${(error as Error).message}`);
  }
  const missing = CONFIG_FIELDS.filter((f) => !(f in parsed));
  if (missing.length > 0) throw new ToolError("BadConfigFile", `--config-file ${file} lacks ${missing.join(", ")}`);
  const config = {} as Config;
  for (const f of CONFIG_FIELDS) {
    const v = parsed[f];
    const text = typeof v === "string" ? v.replace(/n$/, "") : typeof v === "number" ? String(v) : "";
    if (!/^\d+$/.test(text) || (typeof v === "number" && !Number.isSafeInteger(v))) {
      throw new ToolError("BadConfigFile", `--config-file ${file}: ${f} must be a whole number in raw units ("123n")`);
    }
    config[f] = BigInt(text);
  }
  return config;
}

export const addMarket: Tool<AddMarketArgs> = {
  async run(ctx, args) {
    const { d, ethers } = ctx;
    const oracle = addressOption(args.oracle, "oracle", "the market's ChainlinkOracle address");
    const file = required(args.configFile, "configFile", 'a JSON file with the MarketConfig fields ("123n" bigints)');
    const config = await readMarketConfig(file);
    if ((await ethers.provider.getCode(oracle)) === "0x") {
      throw new ToolError("NoContract", `--oracle ${oracle} has no contract on this network`);
    }
    const data = d.engine.interface.encodeFunctionData("addMarket", [oracle, config]);
    const summary = `add market ${await d.engine.marketCount()} with oracle ${oracle}`;
    if (viaTimelock(args)) return scheduleCall(ctx, args, { target: d.addresses.engine, data, summary });
    await requireMarketAdmin(ctx);
    const receipt = await mined(d.engine.connect(ctx.signer).addMarket(oracle, config as never));
    const id = oneEvent(receipt, d.engine, "MarketAdded").args.marketId as bigint;
    return {
      lines: [`Added market ${id} with oracle ${oracle} (tx ${receipt.hash})`],
      data: { action: "addMarket", marketId: id, oracle, tx: receipt.hash },
    };
  },
};

export function pauseTool(paused: boolean): Tool<CommonArgs> {
  return {
    overrides: { EnforcedPause: "already paused", ExpectedPause: "not paused" },
    async run(ctx) {
      const engine = ctx.d.engine.connect(ctx.signer);
      if ((await engine.paused()) === paused) {
        throw new ToolError(paused ? "EnforcedPause" : "ExpectedPause", paused ? "already paused" : "not paused");
      }
      const receipt = await mined(paused ? engine.pause() : engine.unpause());
      oneEvent(receipt, ctx.d.engine, paused ? "Paused" : "Unpaused");
      return {
        lines: [`Engine ${paused ? "paused" : "unpaused"} (tx ${receipt.hash})`],
        data: { action: paused ? "pause" : "unpause", tx: receipt.hash },
      };
    },
  };
}
export const pause = pauseTool(true);
export const unpause = pauseTool(false);

export const systemStatus: Tool<CommonArgs> = {
  async run(ctx) {
    const { ethers, d, units } = ctx;
    const count = await d.engine.marketCount();
    const markets = [];
    const lines: string[] = [];
    for (let id = 0n; id < count; id++) {
      const m = await d.lens.getMarket(id);
      let price: bigint | undefined;
      let priceError: string | undefined;
      try {
        price = await (await ethers.getContractAt("ChainlinkOracle", m.oracle)).price();
      } catch (error) {
        priceError = describeError(error, units).message;
      }
      const rate = await d.lens.fundingRate(id);
      const skew = BigInt(m.longSize) - BigInt(m.shortSize);
      const oiUsd = price === undefined ? undefined : ((BigInt(m.longSize) + BigInt(m.shortSize)) * price) / 10n ** 18n;
      markets.push({
        marketId: id,
        oracle: m.oracle,
        price,
        priceError,
        longSize: m.longSize,
        shortSize: m.shortSize,
        skew,
        openInterestUsd: oiUsd,
        fundingRatePerDay: rate,
      });
      lines.push(
        `Market ${id}: price ${price === undefined ? `unavailable (${priceError})` : usd(price)}, ` +
          `OI long ${baseUnits(BigInt(m.longSize))} short ${baseUnits(BigInt(m.shortSize))} (skew ${baseUnits(skew)}), ` +
          `OI ${oiUsd === undefined ? "?" : usd(oiUsd)}, funding ${formatUnits(rate, 16, 4)} %/day`,
      );
    }
    const orNull = <T>(p: Promise<T>) => p.catch(() => undefined);
    const [paused, lpBalance, reserved, free, vaultAssets, backstopAssets, coverage, streaming, fees, penalties] =
      await Promise.all([
        d.engine.paused(),
        d.engine.lpBalance(),
        d.engine.totalReserved(),
        d.engine.freeLiquidity(),
        orNull(d.vault.totalAssets()),
        d.backstop.totalAssets(),
        orNull(d.lens.coverageRatio()),
        d.backstop.incomeStreaming(),
        d.engine.pendingProtocolFees(),
        d.engine.pendingPenalties(),
      ]);
    const tk = (x: bigint) => t(ctx, x);
    lines.push(
      `Engine ${paused ? "PAUSED" : "active"}; LP balance ${tk(lpBalance)}, reserved ${tk(reserved)}, free ${tk(free)}`,
      `Vault assets (marked) ${vaultAssets === undefined ? "unavailable (an oracle refuses a price)" : tk(vaultAssets)}; pending fees ${tk(fees)}, penalties ${tk(penalties)}`,
      `Backstop assets ${tk(backstopAssets)} (streaming ${tk(streaming)}), coverage ratio ${coverage === undefined ? "unavailable" : coverage === 2n ** 256n - 1n ? "no open interest" : percent(coverage)}`,
    );
    const [orderMinDelay, orderMaxAge, minExecutionFee] = await Promise.all([
      d.orderBook.minDelay(),
      d.orderBook.maxAge(),
      d.orderBook.minExecutionFee(),
    ]);
    lines.push(
      `Order book ${d.addresses.orderBook}: requests execute at the first round ${duration(orderMinDelay)} after them, ` +
        `expire after ${duration(orderMaxAge)}, pay keepers at least ${tk(minExecutionFee)}`,
    );
    if (d.timelock) {
      lines.push(`Timelock ${d.addresses.timelock}: minimum delay ${duration(await d.timelock.getMinDelay())}`);
    }
    return {
      lines,
      data: {
        paused,
        markets,
        lpBalance,
        reserved,
        freeLiquidity: free,
        vaultAssets,
        backstopAssets,
        coverageRatio: coverage,
        incomeStreaming: streaming,
        pendingProtocolFees: fees,
        pendingPenalties: penalties,
        orderBook: { address: d.addresses.orderBook, minDelay: orderMinDelay, maxAge: orderMaxAge, minExecutionFee },
        timelock: d.addresses.timelock ?? null,
      },
    };
  },
};
