import { readFile } from "node:fs/promises";
import path from "node:path";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";

/** Where a deployment's contracts live, by role. */
export interface DeploymentAddresses {
  collateral: string;
  engine: string;
  vault: string;
  backstop: string;
  lens: string;
  ethOracle: string;
  btcOracle: string;
  /** OpenZeppelin TimelockController holding every admin role. */
  timelock: string;
}

export const DEPLOY_DIR = path.resolve(import.meta.dirname, "../../deploy");

/** Ignition future ids (after `Module#`) for each role, in the Bulwark and LocalBulwark modules. */
const FUTURE_IDS: Record<keyof DeploymentAddresses, string[]> = {
  collateral: ["IERC20Metadata", "MockERC20"],
  engine: ["PerpEngine"],
  vault: ["LiquidityVault"],
  backstop: ["BackstopModule"],
  lens: ["PerpLens"],
  ethOracle: ["EthUsdOracle"],
  btcOracle: ["BtcUsdOracle"],
  timelock: ["Timelock"],
};

/** The Ignition module a deployment used, from the keys of its deployed_addresses.json. */
export function moduleIdOf(deployed: Record<string, string>): "Bulwark" | "LocalBulwark" {
  return Object.keys(deployed).some((key) => key.startsWith("LocalBulwark#")) ? "LocalBulwark" : "Bulwark";
}

/** Maps Ignition's `Module#FutureId` keys to the roles above; throws naming any role that is missing. */
export function addressesFromIgnition(deployed: Record<string, string>): DeploymentAddresses {
  const out: Partial<DeploymentAddresses> = {};
  for (const [role, ids] of Object.entries(FUTURE_IDS) as [keyof DeploymentAddresses, string[]][]) {
    const key = Object.keys(deployed).find((k) => ids.includes(k.split("#")[1]));
    if (key === undefined) throw new Error(`deployment has no ${role} (looked for ${ids.join(" or ")})`);
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
export async function readIgnitionAddresses(chainId: bigint, deploymentId?: string) {
  const id = deploymentId ?? `chain-${chainId}`;
  const file = path.join(DEPLOY_DIR, "deployments", id, "deployed_addresses.json");
  const deployed = JSON.parse(await readFile(file, "utf8")) as Record<string, string>;
  return { deploymentId: id, deployed, addresses: addressesFromIgnition(deployed) };
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
  const [engine, vault, backstop, lens, collateral, ethOracle, btcOracle, timelock] = await Promise.all([
    ethers.getContractAt("PerpEngine", addresses.engine),
    ethers.getContractAt("LiquidityVault", addresses.vault),
    ethers.getContractAt("BackstopModule", addresses.backstop),
    ethers.getContractAt("PerpLens", addresses.lens),
    ethers.getContractAt("MockERC20", addresses.collateral),
    ethers.getContractAt("ChainlinkOracle", addresses.ethOracle),
    ethers.getContractAt("ChainlinkOracle", addresses.btcOracle),
    ethers.getContractAt("TimelockController", addresses.timelock),
  ]);
  const decimals = Number(await collateral.decimals());
  return { addresses, engine, vault, backstop, lens, collateral, ethOracle, btcOracle, timelock, decimals };
}

export type Deployment = Awaited<ReturnType<typeof attach>>;

/** Loads the deployment of the connected network (Ignition's records) as typed contracts. */
export async function loadDeployment(ethers: HardhatEthers, deploymentId?: string) {
  const { chainId } = await ethers.provider.getNetwork();
  const { addresses } = await readIgnitionAddresses(chainId, deploymentId);
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

/** Parses a decimal string of collateral ("1250.5") into units. */
export function parseUnits(text: string, decimals: number): bigint {
  const [whole, frac = ""] = text.trim().split(".");
  if (!/^\d+$/.test(whole) || !/^\d*$/.test(frac) || frac.length > decimals) throw new Error(`bad amount ${text}`);
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, "0") || "0");
}
