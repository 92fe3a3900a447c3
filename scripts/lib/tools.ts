import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { NetworkConnection } from "hardhat/types/network";
import { type Deployment, formatUnits, loadDeployment, parseUnits } from "./deployment.js";
import { short } from "./keeper.js";
import { CONFIG_FIELDS } from "./verify.js";

/** What a tool reports: `lines` for people, `data` (bigints become strings) for --json. */
export interface Report {
  lines: string[];
  data: Record<string, unknown>;
}

export interface ToolContext {
  ethers: HardhatEthers;
  d: Deployment;
  signer: HardhatEthersSigner;
}

/** Loads the deployment of the task's network, runs `tool`, and prints its report as text or JSON. */
export async function runTool(
  connection: NetworkConnection,
  args: { json: boolean; deploymentId: string },
  tool: (ctx: ToolContext) => Promise<Report>,
) {
  const { ethers } = connection;
  const d = await loadDeployment(ethers, args.deploymentId || undefined);
  const [signer] = await ethers.getSigners();
  try {
    const report = await tool({ ethers, d, signer });
    console.log(args.json ? toJson(report.data) : report.lines.join("\n"));
  } catch (error) {
    console.error(args.json ? toJson({ error: short(error) }) : `error: ${short(error)}`);
    process.exitCode = 1;
  }
}

export const toJson = (data: unknown) =>
  JSON.stringify(data, (_key, value) => (typeof value === "bigint" ? value.toString() : value));

const money = (d: Deployment, x: bigint) => formatUnits(x, d.decimals);
const date = (seconds: bigint) => (seconds === 0n ? "-" : new Date(Number(seconds) * 1000).toISOString());
const percent = (wad: bigint) => (wad === 2n ** 256n - 1n ? "no open interest" : `${formatUnits(wad, 16, 2)} %`);

async function ensureAllowance(d: Deployment, signer: HardhatEthersSigner, spender: string, amount: bigint) {
  const token = d.collateral.connect(signer);
  if ((await token.allowance(signer.address, spender)) < amount) await (await token.approve(spender, amount)).wait();
}

// ---------------------------------------------------------------- stakers
export async function stake({ d, signer }: ToolContext, amountText: string): Promise<Report> {
  const assets = parseUnits(amountText, d.decimals);
  await ensureAllowance(d, signer, d.addresses.backstop, assets);
  const shares = await d.backstop.previewDeposit(assets);
  const tx = await d.backstop.connect(signer).deposit(assets, signer.address);
  await tx.wait();
  return {
    lines: [`Staked ${money(d, assets)} for ${shares} shares (tx ${tx.hash})`],
    data: { action: "stake", account: signer.address, assets, shares, tx: tx.hash },
  };
}

export async function cooldown({ d, signer }: ToolContext, sharesText: string): Promise<Report> {
  const shares = sharesText ? BigInt(sharesText) : await d.backstop.balanceOf(signer.address);
  const tx = await d.backstop.connect(signer).cooldown(shares);
  await tx.wait();
  const s = await d.backstop.cooldownStatus(signer.address);
  return {
    lines: [
      `Cooldown started for ${shares} shares worth ${money(d, s.valueAtRequest)} (tx ${tx.hash})`,
      `Unstake window: ${date(s.windowStart)} to ${date(s.windowEnd)}`,
    ],
    data: { action: "cooldown", account: signer.address, shares, ...statusOf(s) },
  };
}

export async function unstake({ d, signer }: ToolContext, sharesText: string): Promise<Report> {
  const status = await d.backstop.cooldownStatus(signer.address);
  const shares = sharesText ? BigInt(sharesText) : status.shares;
  const assets = await d.backstop.previewRedeem(shares);
  const before = await d.collateral.balanceOf(signer.address);
  const tx = await d.backstop.connect(signer).redeem(shares, signer.address, signer.address);
  await tx.wait();
  const received = (await d.collateral.balanceOf(signer.address)) - before;
  return {
    lines: [`Unstaked ${shares} shares for ${money(d, received)} (value now ${money(d, assets)}; tx ${tx.hash})`],
    data: { action: "unstake", account: signer.address, shares, received, tx: tx.hash },
  };
}

function statusOf(s: Awaited<ReturnType<Deployment["backstop"]["cooldownStatus"]>>) {
  return {
    cooldownStart: s.start,
    windowStart: s.windowStart,
    windowEnd: s.windowEnd,
    cooldownShares: s.shares,
    valueAtRequest: s.valueAtRequest,
    valueNow: s.valueNow,
    inWindow: s.inWindow,
  };
}

export async function stakerStatus({ ethers, d, signer }: ToolContext, accountText: string): Promise<Report> {
  const account = accountText || signer.address;
  const b = d.backstop;
  const [shares, s, streaming, coverage, assets, maxCover, lastAmount, lastTime, totalCovered, now] = await Promise.all(
    [
      b.balanceOf(account),
      b.cooldownStatus(account),
      b.incomeStreaming(),
      b.coverageRatio().catch(() => undefined), // reverts while an oracle with open interest refuses a price
      b.totalAssets(),
      b.maxCover(),
      b.lastCoverAmount(),
      b.lastCoverTime(),
      b.totalCovered(),
      ethers.provider.getBlock("latest").then((block) => BigInt(block!.timestamp)),
    ],
  );
  const value = await b.convertToAssets(shares);
  const phase =
    s.start === 0n
      ? "no cooldown"
      : now < s.windowStart
        ? `cooling down, window opens in ${s.windowStart - now} s`
        : now <= s.windowEnd
          ? `in the unstake window, closes in ${s.windowEnd - now} s`
          : "window expired: start a new cooldown";
  return {
    lines: [
      `Staker ${account}`,
      `  shares ${shares}, worth ${money(d, value)}`,
      `  cooldown: ${phase}`,
      ...(s.start === 0n
        ? []
        : [
            `    requested ${date(s.start)} for ${s.shares} shares worth ${money(d, s.valueAtRequest)} (now ${money(d, s.valueNow)})`,
            `    window ${date(s.windowStart)} .. ${date(s.windowEnd)}`,
          ]),
      `Backstop: assets ${money(d, assets)}, income streaming ${money(d, streaming)}, coverage ratio ${coverage === undefined ? "unavailable (an oracle refuses a price)" : percent(coverage)}`,
      `  max cover now ${money(d, maxCover)}; covered in total ${money(d, totalCovered)}; last cover ${money(d, lastAmount)} at ${date(lastTime)}`,
    ],
    data: {
      account,
      shares,
      value,
      phase,
      ...statusOf(s),
      backstopAssets: assets,
      incomeStreaming: streaming,
      coverageRatio: coverage,
      maxCover,
      totalCovered,
      lastCoverAmount: lastAmount,
      lastCoverTime: lastTime,
    },
  };
}

// ---------------------------------------------------------------- LPs
export async function lpDeposit({ d, signer }: ToolContext, amountText: string): Promise<Report> {
  const assets = parseUnits(amountText, d.decimals);
  await ensureAllowance(d, signer, d.addresses.vault, assets);
  const shares = await d.vault.previewDeposit(assets);
  const tx = await d.vault.connect(signer).deposit(assets, signer.address);
  await tx.wait();
  return {
    lines: [`Deposited ${money(d, assets)} for ${shares} LP shares (tx ${tx.hash})`],
    data: { action: "deposit", account: signer.address, assets, shares, tx: tx.hash },
  };
}

export async function lpWithdraw({ d, signer }: ToolContext, amountText: string): Promise<Report> {
  const assets = parseUnits(amountText, d.decimals);
  const tx = await d.vault.connect(signer).withdraw(assets, signer.address, signer.address);
  await tx.wait();
  return {
    lines: [`Withdrew ${money(d, assets)} (tx ${tx.hash})`],
    data: { action: "withdraw", account: signer.address, assets, tx: tx.hash },
  };
}

export async function lpStatus({ d, signer }: ToolContext, accountText: string): Promise<Report> {
  const account = accountText || signer.address;
  const shares = await d.vault.balanceOf(account);
  const [value, maxWithdraw, totalAssets, free, reserved] = await Promise.all([
    d.vault.convertToAssets(shares),
    d.vault.maxWithdraw(account),
    d.vault.totalAssets(),
    d.engine.freeLiquidity(),
    d.engine.totalReserved(),
  ]);
  return {
    lines: [
      `LP ${account}: ${shares} shares worth ${money(d, value)}; withdrawable now ${money(d, maxWithdraw)}`,
      `Vault: assets ${money(d, totalAssets)}, reserved for open profits ${money(d, reserved)}, free ${money(d, free)}`,
    ],
    data: { account, shares, value, maxWithdraw, vaultAssets: totalAssets, reserved, freeLiquidity: free },
  };
}

// ---------------------------------------------------------------- operators
export async function addMarket(
  { d, signer }: ToolContext,
  oracle: string,
  config: Record<string, bigint>,
): Promise<Report> {
  const tx = await d.engine.connect(signer).addMarket(oracle, config as never);
  await tx.wait();
  const id = (await d.engine.marketCount()) - 1n;
  return {
    lines: [`Added market ${id} with oracle ${oracle} (tx ${tx.hash})`],
    data: { action: "addMarket", marketId: id, oracle, tx: tx.hash },
  };
}

/** Reads a market's config, changes one field and writes it back (the engine enforces the bounds). */
export async function setParameter(
  { d, signer }: ToolContext,
  marketId: bigint,
  field: string,
  valueText: string,
): Promise<Report> {
  const current = (await d.lens.getMarket(marketId)).config;
  if (!(CONFIG_FIELDS as readonly string[]).includes(field)) {
    throw new Error(`unknown field ${field}; one of ${CONFIG_FIELDS.join(", ")}`);
  }
  const config = Object.fromEntries(
    CONFIG_FIELDS.map((f) => [f, f === field ? BigInt(valueText) : BigInt(current[f])]),
  );
  const before = BigInt(current[field as (typeof CONFIG_FIELDS)[number]]);
  const tx = await d.engine.connect(signer).setMarketConfig(marketId, config as never);
  await tx.wait();
  return {
    lines: [`Market ${marketId}: ${field} ${before} -> ${valueText} (tx ${tx.hash})`],
    data: { action: "setMarketConfig", marketId, field, before, after: BigInt(valueText), tx: tx.hash },
  };
}

export async function setPaused({ d, signer }: ToolContext, paused: boolean): Promise<Report> {
  const engine = d.engine.connect(signer);
  const tx = paused ? await engine.pause() : await engine.unpause();
  await tx.wait();
  return {
    lines: [`Engine ${paused ? "paused" : "unpaused"} (tx ${tx.hash})`],
    data: { action: paused ? "pause" : "unpause", tx: tx.hash },
  };
}

export async function systemStatus({ ethers, d }: ToolContext): Promise<Report> {
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
      priceError = short(error);
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
      `Market ${id}: price ${price === undefined ? `unavailable (${priceError})` : formatUnits(price, 18)}, ` +
        `OI long ${formatUnits(BigInt(m.longSize), 18, 4)} short ${formatUnits(BigInt(m.shortSize), 18, 4)} (skew ${formatUnits(skew, 18, 4)}), ` +
        `OI ${oiUsd === undefined ? "?" : "$" + formatUnits(oiUsd, 18)}, funding ${formatUnits(rate, 16, 4)} %/day`,
    );
  }
  const [
    paused,
    lpBalance,
    reserved,
    free,
    vaultAssets,
    backstopAssets,
    coverage,
    streaming,
    pendingFees,
    pendingPenalties,
  ] = await Promise.all([
    d.engine.paused(),
    d.engine.lpBalance(),
    d.engine.totalReserved(),
    d.engine.freeLiquidity(),
    d.vault.totalAssets().catch(() => undefined),
    d.backstop.totalAssets(),
    d.backstop.coverageRatio().catch(() => undefined),
    d.backstop.incomeStreaming(),
    d.engine.pendingProtocolFees(),
    d.engine.pendingPenalties(),
  ]);
  lines.push(
    `Engine ${paused ? "PAUSED" : "active"}; LP balance ${money(d, lpBalance)}, reserved ${money(d, reserved)}, free ${money(d, free)}`,
    `Vault assets (marked) ${vaultAssets === undefined ? "unavailable" : money(d, vaultAssets)}; pending fees ${money(d, pendingFees)}, penalties ${money(d, pendingPenalties)}`,
    `Backstop assets ${money(d, backstopAssets)} (streaming ${money(d, streaming)}), coverage ratio ${coverage === undefined ? "unavailable" : percent(coverage)}`,
  );
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
      pendingProtocolFees: pendingFees,
      pendingPenalties,
    },
  };
}
