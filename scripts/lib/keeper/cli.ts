// The keeper's command line (task flags or KEEPER_* environment variables): options checked before
// anything runs, the fee recipient checked before the first batch, one JSON object per block with --json.
// The keeper liquidates and executes (or cancels, once expired) the order book's requests that pay for their gas.
import type { HookManager } from "hardhat/types/hooks";
import type { NetworkConnection } from "hardhat/types/network";
import {
  type Io,
  integerOption,
  signerFrom,
  loadDeploymentFor,
  optionalAddress,
  printFailure,
  processIo,
  unitsOf,
} from "../chain/cli.js";
import type { Deployment } from "../chain/deployment.js";
import { deploymentBlock, parseUnits } from "../chain/deployment.js";
import { ToolError, describeError } from "../chain/errors.js";
import { toJson } from "../chain/format.js";
import { parseDecimal } from "../chain/numbers.js";
import type { KeeperOptions } from "./context.js";
import { Keeper } from "./loop.js";

export interface KeeperArgs {
  feeRecipient?: string;
  minProfit?: string;
  batchSize?: string;
  pollInterval?: string;
  startBlock?: string;
  iterations?: string;
  concurrency?: string;
  /** Gas price in gwei at which to price the keeper's gas (default: the node's fee data). */
  gasPrice?: string;
  deploymentId?: string;
  /** The signer: an account index or a keystore name (default: the network's first account). */
  from?: string;
  /** A gap in percent: log the open positions' bad debt at it, and the backstop's window capacity, each block. */
  risk?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** KEEPER_* environment variables as keeper arguments (for `hardhat run scripts/keeper.ts`). */
export function keeperArgsFromEnv(env: NodeJS.ProcessEnv): { args: KeeperArgs; names: Record<string, string> } {
  const names: Record<string, string> = {};
  const args: Record<string, string | boolean | undefined> = {};
  for (const name of [
    "feeRecipient",
    "minProfit",
    "batchSize",
    "pollInterval",
    "startBlock",
    "iterations",
    "concurrency",
    "gasPrice",
    "deploymentId",
    "from",
    "risk",
  ]) {
    const variable = `KEEPER_${name.replace(/[A-Z]/g, (c) => "_" + c).toUpperCase()}`;
    names[name] = variable;
    args[name] = env[variable] === "" ? undefined : env[variable];
  }
  args.dryRun = env.KEEPER_DRY_RUN === "1" || env.KEEPER_DRY_RUN === "true";
  args.json = env.KEEPER_JSON === "1" || env.KEEPER_JSON === "true";
  return { args: args as KeeperArgs, names };
}

/** Checks every option; `names` maps an option to what the user typed it as (a flag or a variable). */
export function parseKeeperOptions(args: KeeperArgs, decimals: number, names: Record<string, string> = {}) {
  const n = (name: string) => names[name] ?? name;
  const minProfitText = (args.minProfit ?? "0").trim();
  if (minProfitText.startsWith("-")) {
    throw new ToolError("OutOfRange", `${label(n("minProfit"))} must be 0 or more, got "${minProfitText}"`);
  }
  return {
    feeRecipient: optionalAddress(args.feeRecipient, n("feeRecipient")),
    minProfit: parseUnits(minProfitText, decimals, label(n("minProfit"))),
    batchSize: integerOption(args.batchSize, n("batchSize"), { min: 1, max: 200, fallback: 20 }),
    pollInterval: integerOption(args.pollInterval, n("pollInterval"), { min: 100, fallback: 4_000 }),
    startBlock: integerOption(args.startBlock, n("startBlock"), { fallback: 0 }),
    iterations: integerOption(args.iterations, n("iterations"), { fallback: 0 }),
    concurrency: integerOption(args.concurrency, n("concurrency"), { min: 1, max: 256, fallback: 32 }),
    gasPrice:
      args.gasPrice === undefined || args.gasPrice === ""
        ? undefined
        : parseUnits(args.gasPrice.trim(), 9, `${label(n("gasPrice"))} (gwei)`),
    riskGap: args.risk === undefined || args.risk === "" ? undefined : riskGap(args.risk, label(n("risk"))),
    dryRun: args.dryRun === true,
  };
}

/** `--risk 35`: a gap in percent above 0 and below 100, as an 18-decimal fraction. */
function riskGap(text: string, option: string): bigint {
  const gap = parseDecimal(text, 16, option, { code: "BadGap" });
  if (gap === 0n || gap >= 10n ** 18n) {
    throw new ToolError(
      "BadGap",
      `${option} takes a gap in percent above 0 and below 100 (e.g. 35), got "${text.trim()}"`,
    );
  }
  return gap;
}

const label = (name: string) =>
  /^[A-Z_]+$/.test(name) ? name : `--${name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}`;

/** Runs the keeper until its iterations are done (or forever); returns the exit code. */
export async function runKeeper(
  rt: { connection: NetworkConnection; io?: Io; deployment?: Deployment; signal?: AbortSignal; hooks?: HookManager },
  args: KeeperArgs,
  names: Record<string, string> = {},
): Promise<number> {
  const io = rt.io ?? processIo;
  const json = args.json === true;
  let units;
  try {
    const { ethers } = rt.connection;
    const d = rt.deployment ?? (await loadDeploymentFor(rt.connection, args.deploymentId));
    units = await unitsOf(ethers, d);
    const o = parseKeeperOptions(args, d.decimals, names);
    if (args.startBlock === undefined || args.startBlock === "") {
      // Default: the deployment's first block (Ignition's journal), not block 0, which on a testnet means
      // millions of empty log queries.
      const { chainId } = await ethers.provider.getNetwork();
      o.startBlock = (rt.deployment ? undefined : await deploymentBlock(chainId, args.deploymentId || undefined)) ?? 0;
    }
    const signer = await signerFrom(rt.connection, args.from, rt.hooks);
    const options: KeeperOptions = {
      ...o,
      units,
      // Logs go to stderr with --json, so that stdout is one JSON object per block.
      log: (line) => (json ? io.err : io.out)(`[keeper ${new Date().toISOString()}] ${line}`),
    };
    const keeper = new Keeper(ethers, d, signer, options);
    await keeper.checkExecutor();
    await keeper.checkFeeRecipient();
    await keeper.run(o.pollInterval, o.iterations, rt.signal, json ? (tick) => io.out(toJson(tick)) : undefined);
    return 0;
  } catch (error) {
    printFailure(io, json, describeError(error, units));
    return 1;
  }
}
