import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { ToolError } from "./errors.js";
import { parseDecimal } from "./numbers.js";

/** Where a deployment's contracts live, by role. */
export interface DeploymentAddresses {
  collateral: string;
  engine: string;
  vault: string;
  backstop: string;
  lens: string;
  /** The OrderBook: two-step trading (requests, executions by keepers). */
  orderBook: string;
  ethOracle: string;
  btcOracle: string;
  /** OpenZeppelin TimelockController holding every admin role. */
  timelock: string;
  /** Chainlink Automation: lists positions from the book's executions and liquidates them. */
  liquidationUpkeep: string;
  /** Chainlink Automation: queues trade and LP requests from their logs and executes them (an executor of the book). */
  executionUpkeep: string;
}

export const DEPLOY_DIR = path.resolve(import.meta.dirname, "../../../deploy");
export const DEPLOYMENTS_DIR = path.join(DEPLOY_DIR, "deployments");

/** Ignition future ids (after `Module#`) for each role, in the Bulwark and LocalBulwark modules. */
const FUTURE_IDS: Record<keyof DeploymentAddresses, string[]> = {
  collateral: ["IERC20Metadata", "MockERC20"],
  engine: ["PerpEngine"],
  vault: ["LiquidityVault"],
  backstop: ["BackstopModule"],
  lens: ["PerpLens"],
  orderBook: ["OrderBook"],
  ethOracle: ["EthUsdOracle"],
  btcOracle: ["BtcUsdOracle"],
  timelock: ["Timelock"],
  liquidationUpkeep: ["LiquidationUpkeep"],
  executionUpkeep: ["ExecutionUpkeep"],
};

/** The Ignition module a deployment used, from the keys of its deployed_addresses.json. */
export function moduleIdOf(deployed: Record<string, string>): "Bulwark" | "LocalBulwark" {
  return Object.keys(deployed).some((key) => key.startsWith("LocalBulwark#")) ? "LocalBulwark" : "Bulwark";
}

/** Maps Ignition's `Module#FutureId` keys to the roles above; throws naming any role that is missing. */
export function addressesFromIgnition(deployed: Record<string, string>): DeploymentAddresses {
  const out: Partial<DeploymentAddresses> = {};
  const find = (ids: string[]) => Object.keys(deployed).find((k) => ids.includes(k.split("#")[1]));
  for (const [role, ids] of Object.entries(FUTURE_IDS) as [keyof DeploymentAddresses, string[]][]) {
    const key = find(ids);
    if (key === undefined)
      throw new ToolError(
        "IncompleteDeployment",
        `deployment has no ${role} (looked for ${ids.join(" or ")}; a deployment made before the modules deployed ` +
          "it must be deployed again)",
      );
    out[role] = deployed[key];
  }
  return out as DeploymentAddresses;
}

/** The addresses of a Bulwark or LocalBulwark Ignition deployment's result, by role. */
export async function addressesOfModule(
  r: Record<keyof DeploymentAddresses, { getAddress(): Promise<string> }>,
): Promise<DeploymentAddresses> {
  const roles = Object.keys(FUTURE_IDS) as (keyof DeploymentAddresses)[];
  const values = await Promise.all(roles.map((role) => r[role].getAddress()));
  return Object.fromEntries(roles.map((role, i) => [role, values[i]])) as unknown as DeploymentAddresses;
}

/** Reads deploy/deployments/<id>/deployed_addresses.json; the id defaults to Ignition's `chain-<chainId>`. */
export async function readIgnitionAddresses(chainId: bigint, deploymentId?: string, dir = DEPLOYMENTS_DIR) {
  const id = deploymentId ?? `chain-${chainId}`;
  const file = path.join(dir, id, "deployed_addresses.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    const available = await readdir(dir).catch(() => [] as string[]);
    const list = available.length > 0 ? `deployments here: ${available.join(", ")}` : "no deployment exists yet";
    const hint =
      deploymentId === undefined
        ? `nothing is deployed on chain ${chainId} (${path.relative(process.cwd(), file)} is missing; ${list})`
        : `no deployment "${deploymentId}" (${list})`;
    throw new ToolError("NoDeployment", hint, { deploymentId: id, chainId });
  }
  const deployed = JSON.parse(text) as Record<string, string>;
  return { deploymentId: id, deployed, addresses: addressesFromIgnition(deployed) };
}

/**
 * The first block of a deployment, from Ignition's journal (its TRANSACTION_CONFIRM receipts), so that the
 * keeper scans events from there rather than from block 0; undefined when there is no journal.
 */
export async function deploymentBlock(chainId: bigint, deploymentId?: string, dir = DEPLOYMENTS_DIR) {
  const file = path.join(dir, deploymentId ?? `chain-${chainId}`, "journal.jsonl");
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  let first: number | undefined;
  for (const line of text.split("\n")) {
    if (!line.includes('"TRANSACTION_CONFIRM"')) continue;
    try {
      const block = (JSON.parse(line) as { receipt?: { blockNumber?: number } }).receipt?.blockNumber;
      if (typeof block === "number" && (first === undefined || block < first)) first = block;
    } catch {
      // a torn last line of an interrupted deployment
    }
  }
  return first;
}

/** Reads deploy/parameters/<network>.json with Ignition's convention that "123n" is a bigint. */
export async function readParameters(networkName: string): Promise<Record<string, Record<string, unknown>>> {
  const file = path.join(DEPLOY_DIR, "parameters", `${networkName}.json`);
  return JSON.parse(await readFile(file, "utf8"), (_key, value) =>
    typeof value === "string" && /^\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value,
  );
}

/** Typed contract handles for a deployment, connected to `ethers`' provider (and a signer if given). */
export async function attach(ethers: HardhatEthers, addresses: DeploymentAddresses) {
  const [
    engine,
    vault,
    backstop,
    lens,
    orderBook,
    collateral,
    ethOracle,
    btcOracle,
    timelock,
    liquidationUpkeep,
    executionUpkeep,
  ] = await Promise.all([
    ethers.getContractAt("PerpEngine", addresses.engine),
    ethers.getContractAt("LiquidityVault", addresses.vault),
    ethers.getContractAt("BackstopModule", addresses.backstop),
    ethers.getContractAt("PerpLens", addresses.lens),
    ethers.getContractAt("OrderBook", addresses.orderBook),
    ethers.getContractAt("MockERC20", addresses.collateral),
    ethers.getContractAt("ChainlinkOracle", addresses.ethOracle),
    ethers.getContractAt("ChainlinkOracle", addresses.btcOracle),
    ethers.getContractAt("TimelockController", addresses.timelock),
    ethers.getContractAt("LiquidationUpkeep", addresses.liquidationUpkeep),
    ethers.getContractAt("ExecutionUpkeep", addresses.executionUpkeep),
  ]);
  const [decimals, symbol, backstopShareDecimals, vaultShareDecimals] = await Promise.all([
    collateral.decimals().then(Number),
    collateral.symbol().catch(() => "tokens"),
    backstop.decimals().then(Number),
    vault.decimals().then(Number),
  ]);
  return {
    addresses,
    engine,
    vault,
    backstop,
    lens,
    orderBook,
    collateral,
    ethOracle,
    btcOracle,
    timelock,
    liquidationUpkeep,
    executionUpkeep,
    decimals,
    symbol,
    backstopShareDecimals,
    vaultShareDecimals,
  };
}

export type Deployment = Awaited<ReturnType<typeof attach>>;

/** Loads the deployment of the connected network (Ignition's records) as typed contracts. */
export async function loadDeployment(ethers: HardhatEthers, deploymentId?: string) {
  const { chainId } = await ethers.provider.getNetwork();
  const { deploymentId: id, addresses } = await readIgnitionAddresses(chainId, deploymentId);
  // A restarted local node forgets the chain while Ignition's records stay: say so rather than fail later.
  if ((await ethers.provider.getCode(addresses.engine)) === "0x") {
    throw new ToolError(
      "StaleDeployment",
      `deployment ${id} records PerpEngine at ${addresses.engine}, but the chain has no code there ` +
        `(a restarted node?): delete deploy/deployments/${id} and deploy again`,
    );
  }
  return attach(ethers, addresses);
}

/** Formats collateral units as a decimal string with `decimals` places trimmed to `shown`. */
export function formatUnits(amount: bigint, decimals: number, shown = 2): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const unit = 10n ** BigInt(decimals);
  const whole = abs / unit;
  const frac = (abs % unit).toString().padStart(decimals, "0").slice(0, shown);
  const grouped = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${negative ? "-" : ""}${grouped}${shown > 0 ? "." + frac : ""}`;
}

/** A decimal amount ("1,250.5") in units of `decimals`; a mistake is a ToolError naming `option`. */
export const parseUnits = (text: string, decimals: number, option = "amount") => parseDecimal(text, decimals, option);
