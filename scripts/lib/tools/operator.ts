// Operator tools: add a market, set a market parameter (directly or through the timelock), pause and unpause,
// and the system's status. Each checks its input before it sends anything.
import { type CommonArgs, type Tool, type ToolContext, addressOption, marketOption, required } from "../chain/cli.js";
import { formatUnits } from "../chain/deployment.js";
import { ToolError, describeError, renderParameter } from "../chain/errors.js";
import { type Units, baseUnits, duration, percent, usd } from "../chain/format.js";
import { parseDecimal } from "../chain/numbers.js";
import { mined, oneEvent } from "../chain/receipts.js";
import { t } from "./common.js";
import { type TimelockArgs, scheduleCall, viaTimelock } from "./timelock.js";
import { CONFIG_FIELDS } from "./verify.js";

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
        d.lens.pendingProtocolFees(),
        d.lens.pendingPenalties(),
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
