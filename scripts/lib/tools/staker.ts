// Staker tools: stake collateral in the backstop, start a cooldown (an ERC-7540 redeem request: the shares
// go into the backstop's custody), unstake in its window or cancel it, and see a staker's shares, value and
// window. Each checks its input before it sends anything and reports what the transaction
// did from the receipt's events, never from a preview.
import { type CommonArgs, type Tool, amountOption, optionalAddress, optionalAmount } from "../chain/cli.js";
import { ToolError, describeError } from "../chain/errors.js";
import { type Units, date, decimal, percent, when } from "../chain/format.js";
import { mined, oneEvent } from "../chain/receipts.js";
import { type Account, type Amount, checkBalance, ensureAllowance, t } from "./common.js";

const backstopShares = (u: Units, x: bigint) => `${decimal(x, u.backstopShareDecimals, 0, 6)} shares`;

type Shares = CommonArgs & { shares?: string };

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
    const topUp = (await d.backstop.cooldownStatus(signer.address)).start !== 0n;
    const receipt = await mined(d.backstop.connect(signer).requestRedeem(shares, signer.address, signer.address));
    const e = oneEvent(receipt, d.backstop, "CooldownStarted");
    const [cooled, value, windowStart, windowEnd] = ["shares", "value", "windowStart", "windowEnd"].map(
      (k) => e.args[k] as bigint,
    );
    const now = BigInt((await receipt.getBlock()).timestamp);
    return {
      lines: [
        `Cooldown started for ${backstopShares(units, cooled)} worth ${t(ctx, value)} (tx ${receipt.hash})`,
        ...(topUp ? [`  added to your earlier request: its clock restarted with it`] : []),
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

export const cancel: Tool<CommonArgs> = {
  async run(ctx) {
    const { d, signer, units } = ctx;
    const status = await d.backstop.cooldownStatus(signer.address);
    if (status.start === 0n) throw new ToolError("NoCooldown", `${signer.address} has no cooldown to cancel`);
    const receipt = await mined(d.backstop.connect(signer).cancelRedeemRequest(0n, signer.address));
    const e = oneEvent(receipt, d.backstop, "CancelRedeemClaim");
    const back = e.args.shares as bigint;
    return {
      lines: [`Cooldown cancelled: ${backstopShares(units, back)} back in your wallet (tx ${receipt.hash})`],
      data: { action: "cancel", account: signer.address, shares: back, tx: receipt.hash },
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
            : `window closed on ${date(s.windowEnd)}: \`backstop cancel\` returns the shares, \`backstop cooldown\` restarts it`;
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
