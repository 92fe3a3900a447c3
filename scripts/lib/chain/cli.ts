// The one path every tool takes: connect, load the deployment, check the input, run, and print a report
// (text, or one JSON object with --json) or one error (one line, or one {"error": …} object on stderr),
// and return the exit code. Tasks call `runTask`; tests call `execute` with a connection and a deployment.
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { type Signer, Wallet, getAddress, isAddress, ZeroAddress } from "ethers";
import type { HookManager } from "hardhat/types/hooks";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { NetworkConnection } from "hardhat/types/network";
import { type Deployment, loadDeployment, parseUnits } from "./deployment.js";
import { type Failure, type Overrides, ToolError, describeError, firstLine } from "./errors.js";
import { type Units, toJson } from "./format.js";

/** What a tool reports: `lines` for people, `data` (bigints become strings) for --json. */
export interface Report {
  lines: string[];
  data: Record<string, unknown>;
}

/** Who signs: one of the network's accounts, or a wallet whose key a keystore holds. */
export type ToolSigner = Signer & { readonly address: string };

export interface ToolContext {
  ethers: HardhatEthers;
  connection: NetworkConnection;
  d: Deployment;
  signer: ToolSigner;
  units: Units;
  /** Progress lines (stderr in --json mode, so that stdout stays one JSON object). */
  note: (line: string) => void;
}

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const processIo: Io = { out: (line) => console.log(line), err: (line) => console.error(line) };

/** Options every tool takes. */
export interface CommonArgs {
  json?: boolean;
  deploymentId?: string;
  /** The signer: an account index, or the name of a keystore entry (or environment variable) with a key. */
  from?: string;
}

export interface Tool<A> {
  /** Whether the tool needs a deployment (the local playground's `time` does not). */
  needsDeployment?: boolean;
  /** Messages that replace the generic rendering of an error for this tool (e.g. "already paused"). */
  overrides?: Overrides;
  run: (ctx: ToolContext, args: A) => Promise<Report>;
}

export interface Runtime {
  connection: NetworkConnection;
  io?: Io;
  /** A deployment to use instead of Ignition's records (tests). */
  deployment?: Deployment;
  /** The signer (default: `--from`, or the network's first account). */
  signer?: HardhatEthersSigner;
  /** Hardhat's hooks, to read a `--from` key from the keystore (tasks pass the runtime's). */
  hooks?: HookManager;
}

/** Runs `tool` and reports; returns the exit code (0 on success, 1 on any failure). */
export async function execute<A extends CommonArgs>(rt: Runtime, args: A, tool: Tool<A>): Promise<number> {
  const io = rt.io ?? processIo;
  let units: Units | undefined;
  try {
    const { ethers } = rt.connection;
    const d =
      tool.needsDeployment === false
        ? (undefined as unknown as Deployment)
        : (rt.deployment ?? (await loadDeploymentFor(rt.connection, args.deploymentId)));
    units = d ? await unitsOf(ethers, d) : undefined;
    const signer = rt.signer ?? (await signerFrom(rt.connection, args.from, rt.hooks));
    const note = (line: string) => (args.json ? io.err(line) : io.out(line));
    const report = await tool.run({ ethers, connection: rt.connection, d, signer, units: units!, note }, args);
    io.out(args.json ? toJson(report.data) : report.lines.join("\n"));
    return 0;
  } catch (error) {
    printFailure(io, args.json ?? false, describeError(error, units, tool.overrides));
    return 1;
  }
}

export function printFailure(io: Io, json: boolean, failure: Failure) {
  io.err(json ? toJson({ error: failure }) : `error: ${failure.message} [${failure.name}]`);
}

/** A task's action: runs `tool` on the task's network and sets the process's exit code. */
export async function runTask<A extends CommonArgs>(hre: HardhatRuntimeEnvironment, args: A, tool: Tool<A>) {
  let connection: NetworkConnection;
  try {
    connection = await hre.network.getOrCreate();
  } catch (error) {
    printFailure(processIo, args.json ?? false, describeError(error));
    process.exitCode = 1;
    return;
  }
  const code = await execute({ connection, hooks: hre.hooks }, args, tool);
  if (code !== 0) process.exitCode = code;
}

/** Ignition's deployment on this network, with a hint when the network is the empty in-process one. */
export async function loadDeploymentFor(connection: NetworkConnection, deploymentId?: string) {
  try {
    return await loadDeployment(connection.ethers, deploymentId || undefined);
  } catch (error) {
    // Forgetting --network lands on the in-process chain, which never has a deployment: a localhost
    // deployment's records (chain 31337 too) point at addresses with no code there.
    if (
      error instanceof ToolError &&
      (error.code === "NoDeployment" || error.code === "StaleDeployment") &&
      connection.networkConfig.type === "edr-simulated" &&
      !deploymentId
    ) {
      throw new ToolError(
        "NoNetwork",
        `the ${connection.networkName} network is an empty in-process chain: pass --network localhost ` +
          "(a running `npx hardhat node` with the system deployed) or a testnet such as --network sepolia",
        { network: connection.networkName },
      );
    }
    throw error;
  }
}

export async function unitsOf(ethers: HardhatEthers, d: Deployment): Promise<Units> {
  const block = await ethers.provider.getBlock("latest");
  return {
    decimals: d.decimals,
    symbol: d.symbol,
    backstopShareDecimals: d.backstopShareDecimals,
    vaultShareDecimals: d.vaultShareDecimals,
    now: BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000)),
  };
}

// ---------------------------------------------------------------- input

/**
 * The signer `--from` names: an index into the network's configured accounts (default 0: the first), or the
 * name of a configuration variable (the keystore's, `npx hardhat keystore set NAME`, or an environment
 * variable) that holds a private key.
 */
export async function signerFrom(
  connection: NetworkConnection,
  from: string | undefined,
  hooks?: HookManager,
): Promise<ToolSigner> {
  const { ethers } = connection;
  const text = from?.trim() ?? "";
  const option = { option: "--from" };
  if (text === "" || /^\d+$/.test(text)) {
    const index = text === "" ? 0 : Number(text);
    const signers = await ethers.getSigners();
    if (index < signers.length) return signers[index];
    throw new ToolError(
      "UnknownAccount",
      signers.length === 0
        ? `the ${connection.networkName} network has no account configured: pass --from with the keystore name of a private key`
        : `--from ${text}: the ${connection.networkName} network has ${signers.length} account(s), 0 to ${signers.length - 1}`,
      option,
    );
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(text)) {
    throw new ToolError(
      "BadOption",
      `--from "${text}" is neither an account index (0, 1, …) nor a keystore name such as KEEPER_KEY`,
      option,
    );
  }
  const missing = () =>
    new ToolError("UnknownKey", `--from ${text}: no keystore entry or environment variable ${text}`, option);
  // An environment variable of that name first, as Hardhat resolves configuration variables; then the keystore.
  let key = process.env[text];
  if (key === undefined && hooks) {
    key = await hooks
      .runHandlerChain("configurationVariables", "fetchValue", [{ _type: "ConfigurationVariable", name: text }], () =>
        Promise.reject(missing()),
      )
      .catch((error: unknown) => {
        if (error instanceof ToolError) throw error;
        throw new ToolError("UnknownKey", `--from ${text}: the keystore cannot give it (${firstLine(error)})`, option);
      });
  }
  if (key === undefined) throw missing();
  const hex = key.trim().startsWith("0x") ? key.trim() : `0x${key.trim()}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
    throw new ToolError("BadKey", `--from ${text} does not hold a private key (32 bytes of hex)`, option);
  }
  return new Wallet(hex, ethers.provider);
}

/** How the user typed an option: `--batch-size` for a flag, or an environment variable's name as is. */
const flag = (name: string) =>
  /^[A-Z_]+$/.test(name) ? name : `--${name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())}`;

/** The option's text, or a MissingOption error that says what to pass. */
export function required(value: string | undefined, name: string, what: string): string {
  if (value === undefined || value.trim() === "") {
    throw new ToolError("MissingOption", `${flag(name)} is required: ${what}`, { option: flag(name) });
  }
  return value;
}

/** A positive amount of a token with `decimals` ("1000.5"). */
export function amountOption(value: string | undefined, name: string, decimals: number, what: string): bigint {
  const amount = parseUnits(required(value, name, what), decimals, flag(name));
  if (amount === 0n) throw new ToolError("BadAmount", `${flag(name)} must be more than 0`, { option: flag(name) });
  return amount;
}

/** An optional positive amount: undefined when the option is absent. */
export function optionalAmount(value: string | undefined, name: string, decimals: number): bigint | undefined {
  return value === undefined || value === "" ? undefined : amountOption(value, name, decimals, "");
}

/** A checksummed address that is not the zero address; no ENS names (tools sign real transactions). */
export function addressOption(value: string | undefined, name: string, what: string): string {
  const text = required(value, name, what).trim();
  if (!isAddress(text)) {
    const reason = /^0x[0-9a-fA-F]{40}$/.test(text)
      ? "its checksum is wrong (write it all in lower case, or copy it again)"
      : "an address is 0x followed by 40 hex digits";
    throw new ToolError("BadAddress", `${flag(name)} "${text}" is not an address: ${reason}`, { option: flag(name) });
  }
  if (getAddress(text) === ZeroAddress) {
    throw new ToolError("ZeroAddress", `${flag(name)} is the zero address`, { option: flag(name) });
  }
  return getAddress(text);
}

export function optionalAddress(value: string | undefined, name: string): string | undefined {
  return value === undefined || value === "" ? undefined : addressOption(value, name, "");
}

/** A whole number within [min, max]. */
export function integerOption(
  value: string | number | undefined,
  name: string,
  { min = 0, max = Number.MAX_SAFE_INTEGER, fallback }: { min?: number; max?: number; fallback?: number } = {},
): number {
  if ((value === undefined || value === "") && fallback !== undefined) return fallback;
  const text = String(required(value === undefined ? undefined : String(value), name, `a whole number`)).trim();
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new ToolError("OutOfRange", `${flag(name)} must be a whole number ${range}, got "${text}"`, {
      option: flag(name),
    });
  }
  return Number(text);
}

/** An existing market id. */
export async function marketOption(d: Deployment, value: string | undefined): Promise<bigint> {
  const count = await d.engine.marketCount();
  const id = integerOption(value, "market", { max: Number.MAX_SAFE_INTEGER });
  if (BigInt(id) >= count) {
    throw new ToolError("UnknownMarket", `market ${id} does not exist (markets 0 to ${count - 1n})`, {
      marketId: id,
    });
  }
  return BigInt(id);
}
