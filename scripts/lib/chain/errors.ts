// One error path for every tool: a mistake in the input is a ToolError raised before anything is sent; a
// revert of the system is decoded by name with the ABIs of every compiled contract (so an error someone adds
// to contracts/interfaces is named without touching this file) and rendered in tokens, percent and dates.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { type ErrorFragment, Interface, type Result, decodeBytes32String, id, isHexString } from "ethers";
import { type Units, baseUnits, date, duration, percent, tokens, usd, when } from "./format.js";

/** A failure with a name, a one-line message a person can act on, and details for --json. */
export class ToolError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** How a failure is reported: `{ name, message, ...details }`. */
export interface Failure {
  name: string;
  message: string;
  [detail: string]: unknown;
}

export const ARTIFACTS_DIR = path.resolve(import.meta.dirname, "../../../artifacts");

let errorIndex: { byName: Map<string, ErrorFragment>; bySelector: Map<string, ErrorFragment> } | undefined;
let roleNames: Map<string, string> | undefined;

/** Every custom error declared in any compiled artifact (ours, OpenZeppelin's, the mocks'), by selector. */
function loadErrors() {
  if (errorIndex) return errorIndex;
  const bySelector = new Map<string, ErrorFragment>();
  const byName = new Map<string, ErrorFragment>();
  const roles = new Map<string, string>([["0x" + "0".repeat(64), "DEFAULT_ADMIN_ROLE"]]);
  for (const file of artifactFiles(ARTIFACTS_DIR)) {
    let abi: unknown;
    try {
      abi = JSON.parse(readFileSync(file, "utf8")).abi;
    } catch {
      continue;
    }
    if (!Array.isArray(abi)) continue;
    const iface = new Interface(abi as never);
    iface.forEachError((fragment) => {
      bySelector.set(fragment.selector, fragment);
      byName.set(fragment.name, fragment);
    });
    // Role constants (`FOO_ROLE()`) name the hashes that AccessControl errors carry.
    iface.forEachFunction((f) => {
      if (/_ROLE$/.test(f.name) && f.inputs.length === 0 && f.name !== "DEFAULT_ADMIN_ROLE")
        roles.set(id(f.name), f.name);
    });
  }
  roleNames = roles;
  errorIndex = { byName, bySelector };
  return errorIndex;
}

function* artifactFiles(dir: string): Generator<string> {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "build-info") yield* artifactFiles(full);
    } else if (entry.name.endsWith(".json") && !entry.name.endsWith(".dbg.json") && entry.name !== "artifacts.d.ts") {
      yield full;
    }
  }
}

/** The name of a role hash (MARKET_ADMIN_ROLE, PROPOSER_ROLE, …), or the hash itself. */
export function roleName(hash: string): string {
  loadErrors();
  return roleNames!.get(hash.toLowerCase()) ?? hash;
}

/** The first revert data (0x + selector + args) found anywhere in an ethers or Hardhat error. */
export function revertData(error: unknown, depth = 0): string | undefined {
  if (error === null || typeof error !== "object" || depth > 6) return undefined;
  const e = error as Record<string, unknown>;
  for (const field of ["data", "returnData"]) {
    const value = e[field];
    if (typeof value === "string" && isHexString(value) && value.length >= 10) return value;
    if (value && typeof value === "object") {
      const nested = (value as Record<string, unknown>).data;
      if (typeof nested === "string" && isHexString(nested) && nested.length >= 10) return nested;
    }
  }
  for (const field of ["error", "info", "cause", "parent"]) {
    const found = revertData(e[field], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** A decoded custom error: its name, its arguments by name (or position), and its fragment. */
export interface DecodedError {
  name: string;
  args: Result;
  fragment?: ErrorFragment;
}

/** Decodes revert data with every known error ABI, plus Solidity's Error(string) and Panic(uint256). */
export function decodeRevertData(data: string): DecodedError | undefined {
  const selector = data.slice(0, 10).toLowerCase();
  const builtIn = new Interface(["error Error(string message)", "error Panic(uint256 code)"]);
  const fragment = loadErrors().bySelector.get(selector) ?? builtIn.getError(selector) ?? undefined;
  if (!fragment) return undefined;
  try {
    const iface = new Interface([fragment]);
    return { name: fragment.name, args: iface.decodeErrorResult(fragment, data), fragment };
  } catch {
    return undefined;
  }
}

/** Per-call overrides of an error's message (e.g. EnforcedPause on `pause` means "already paused"). */
export type Overrides = Record<string, string | ((e: DecodedError) => string)>;

/** Turns any error into a Failure: ToolErrors as they are, reverts by name in units, the rest in one line. */
export function describeError(error: unknown, units?: Units, overrides: Overrides = {}): Failure {
  if (error instanceof ToolError) return { name: error.code, message: error.message, ...error.details };
  const data = revertData(error);
  const decoded = data ? decodeRevertData(data) : undefined;
  if (decoded) {
    const override = overrides[decoded.name];
    const message =
      typeof override === "function"
        ? override(decoded)
        : (override ?? (units ? renderRevert(decoded, units) : generic(decoded, undefined)));
    return { name: decoded.name, message, args: namedArgs(decoded) };
  }
  if (data) return { name: "UnknownRevert", message: `the transaction reverted with unknown data ${data}`, data };
  return { name: errorName(error), message: firstLine(error) };
}

/** The first line of an error, with a decoded custom error name when one is found. */
export function short(error: unknown): string {
  const f = describeError(error);
  return f.args ? `${f.name}(${Object.values(f.args as object).join(", ")})` : f.message;
}

function errorName(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; descriptor?: { number?: number } };
  if (e?.descriptor?.number !== undefined) return `HHE${e.descriptor.number}`;
  if (typeof e?.code === "string" && /^[A-Z_]+$/.test(e.code)) return e.code;
  if (typeof e?.name === "string" && e.name !== "Error") return e.name;
  return "Error";
}

/** The first line of an error's message, without ethers' "(action=…, data=…)" tail. */
export function firstLine(error: unknown): string {
  const e = error as { shortMessage?: string; message?: string };
  const text = String(e?.shortMessage ?? e?.message ?? error).split("\n")[0];
  if (/ECONNREFUSED|fetch failed|Cannot connect to the network/.test(text) || /ECONNREFUSED/.test(String(e?.message))) {
    return "cannot reach the network's RPC endpoint: check its URL (for --network localhost, start `npx hardhat node` first)";
  }
  const variable = /Configuration Variable "(\w+)" not found/.exec(text)?.[1];
  if (variable) {
    return `the configuration variable ${variable} is not set: \`npx hardhat keystore set ${variable}\` (or export ${variable}=…)`;
  }
  return text.replace(/ \((action|code|info|transaction|data)=.*$/, "");
}

/** Arguments by name, bigints as strings, for --json. */
function namedArgs(d: DecodedError): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const inputs = d.fragment?.inputs ?? [];
  d.args.forEach((value, i) => {
    out[inputs[i]?.name || String(i)] = typeof value === "bigint" ? value.toString() : value;
  });
  return out;
}

// ---------------------------------------------------------------- rendering

/** Units of the parameters that ParameterOutOfBounds names (engine, backstop, fee split). */
const PARAMETER_UNITS: Record<string, "ratio" | "factor" | "token" | "usd" | "base" | "duration" | "gas"> = {
  initialMarginRatio: "ratio",
  maintenanceMarginRatio: "ratio",
  tradingFeeRatio: "ratio",
  liquidationPenaltyRatio: "ratio",
  keeperFeeRatio: "ratio",
  maxFundingRatePerDay: "ratio",
  partialLiquidationBuffer: "ratio",
  maxCoverRatio: "ratio",
  protocolFeeShare: "ratio",
  maxProfitFactor: "factor",
  minKeeperFee: "token",
  maxKeeperFee: "token",
  minMargin: "token",
  minAssetsRemaining: "token",
  minNotional: "usd",
  partialLiquidationThreshold: "usd",
  maxOpenInterest: "base",
  skewScale: "base",
  cooldownPeriod: "duration",
  unstakeWindow: "duration",
  incomePeriod: "duration",
  minDelay: "duration",
  maxAge: "duration",
  minExecutionFee: "token",
  openGas: "gas",
  closeGas: "gas",
  lpGas: "gas",
  lpGasPerMarket: "gas",
};

/** A parameter's value in its unit: "9.5 %", "9x", "2 mUSD", "$100", "7 d". */
export function renderParameter(name: string, value: bigint, u: Pick<Units, "decimals" | "symbol">): string {
  switch (PARAMETER_UNITS[name]) {
    case "ratio":
      return percent(value);
    case "factor":
      return `${baseUnits(value)}x`;
    case "token":
      return tokens(u, value);
    case "usd":
      return usd(value);
    case "base":
      return `${baseUnits(value)} base units`;
    case "duration":
      return duration(value);
    case "gas":
      return `${value.toLocaleString("en-US")} gas`;
    default:
      return value.toString();
  }
}

const bytes32Text = (value: string) => {
  try {
    return decodeBytes32String(value);
  } catch {
    return value;
  }
};

/** The message for a decoded revert of the system, in units and dates. */
export function renderRevert(e: DecodedError, u: Units): string {
  const a = e.args;
  const t = (x: bigint) => tokens(u, x);
  const shares = (x: bigint) => `${baseUnits(x * 10n ** BigInt(18 - u.backstopShareDecimals))} shares`;
  switch (e.name) {
    case "OutsideUnstakeWindow": {
      const [now, start, end] = [a[0], a[1], a[2]] as bigint[];
      return now < start
        ? `the unstake window opens on ${when(start, now)} and closes on ${date(end)}`
        : `the unstake window closed on ${when(end, now)}: cancel the cooldown or start it again`;
    }
    case "ParameterOutOfBounds": {
      const name = bytes32Text(a[0] as string);
      const [value, min, max] = [a[1], a[2], a[3]] as bigint[];
      const r = (x: bigint) => renderParameter(name, x, u);
      return value > max
        ? `${name} ${r(value)} is above its maximum ${r(max)}`
        : `${name} ${r(value)} is below its minimum ${r(min)}`;
    }
    case "ParameterPrecision": {
      const name = bytes32Text(a[0] as string);
      return `${name} ${renderParameter(name, a[1], u)} is not a multiple of its step ${renderParameter(name, a[2], u)}`;
    }
    case "StalePrice": {
      const [updatedAt, maxAge] = [a[0], a[1]] as bigint[];
      return `the price feed is stale: its last round is from ${when(updatedAt, u.now)}, older than its heartbeat of ${duration(maxAge)}`;
    }
    case "PriceOutOfBounds":
      return `the feed's price ${usd(a[0])} is outside the oracle's bounds ${usd(a[1])} .. ${usd(a[2])}`;
    case "NonPositivePrice":
      return `the feed reports a non-positive price (${a[0]})`;
    case "SequencerDown":
      return `the L2 sequencer is down (since ${when(a[0], u.now)}): new risk waits until it is back`;
    case "SequencerGracePeriodNotOver":
      return `the L2 sequencer restarted on ${date(a[0])}; new risk waits until ${when(a[0] + a[1], u.now)}`;
    case "EnforcedPause":
      return "the engine is paused: opening, increasing and LP deposits wait for the guardian to unpause";
    case "ExpectedPause":
      return "the engine is not paused";
    case "DepositsPaused":
      return "LP deposits are paused while the engine is paused";
    case "AccessControlUnauthorizedAccount":
      return `${a[0]} does not hold ${roleName(a[1])}`;
    case "NoCooldown":
      return `${a[0]} has no cooldown: run \`backstop cooldown\` first`;
    case "ExceedsCooldownShares":
      return `${shares(a[0])} is more than the ${shares(a[1])} in cooldown`;
    case "ExceedsCooldownAssets":
      return `${t(a[0])} is more than the ${t(a[1])} the cooldown allows`;
    case "InsufficientShares":
      return `${shares(a[0])} is more than the ${shares(a[1])} held`;
    case "UnknownRequestId":
      return `request ${a[0]} does not exist: every request of a controller is request 0`;
    case "AsyncRedeem":
      return "the backstop's redeem is asynchronous: quote with previewRedeemFor / previewWithdrawFor";
    case "ZeroAmount":
      return "the amount is zero";
    case "UnknownMarket":
      return `market ${a[0]} does not exist`;
    case "MarginBelowMinimum":
      return `margin ${t(a[0])} is below the market's minimum ${t(a[1])}`;
    case "NotionalBelowMinimum":
      return `notional ${usd(a[0])} is below the market's minimum ${usd(a[1])}`;
    case "InsufficientInitialMargin":
      return `equity ${t(a[0])} is below the initial margin ${t(a[1])}`;
    case "OpenInterestCapExceeded":
      return `open interest ${baseUnits(a[0])} would exceed the cap ${baseUnits(a[1])} (base units)`;
    case "InsufficientLiquidity":
      return `needs ${t(a[0])} of free LP liquidity, ${t(a[1])} is available`;
    case "PositionWouldBeLiquidatable":
      return `the position would be liquidatable: equity ${t(a[0])} below ${t(a[1])}`;
    case "PositionHealthy":
      return `${a[0]}'s position in market ${a[1]} is healthy: equity ${t(a[2])} >= liquidation margin ${t(a[3])}`;
    case "PositionBankrupt":
      return `${a[0]}'s position in market ${a[1]} is bankrupt (equity ${t(a[2])}): it can only be liquidated`;
    case "NoPosition":
      return `${a[0]} has no position in market ${a[1]}`;
    case "PositionExists":
      return `${a[0]} already has a position in market ${a[1]}`;
    case "ERC20InsufficientBalance":
      return `${a[0]} holds ${t(a[1])}, needs ${t(a[2])}`;
    case "ERC20InsufficientAllowance":
      return `allowance of ${a[0]} is ${t(a[1])}, needs ${t(a[2])}`;
    case "ERC20InvalidReceiver":
      return `${a[0]} cannot receive tokens (the zero address)`;
    case "ERC4626ExceededMaxWithdraw":
      return a[2] === 0n
        ? `${a[0]} can withdraw nothing now: the vault cannot mark the pool while a market with open positions has a stale or refused price (see \`status\`), or no liquidity is free`
        : `${t(a[1])} is more than the ${t(a[2])} that ${a[0]} can withdraw now`;
    case "ERC4626ExceededMaxRedeem":
      return a[2] === 0n
        ? `${a[0]} can redeem nothing now: the vault cannot mark the pool while a market with open positions has a stale or refused price (see \`status\`), or no liquidity is free`
        : `${baseUnits(a[1] * 10n ** BigInt(18 - u.vaultShareDecimals))} shares are more than the ${baseUnits(a[2] * 10n ** BigInt(18 - u.vaultShareDecimals))} that ${a[0]} can redeem now`;
    case "ERC4626ExceededMaxDeposit":
    case "ERC4626ExceededMaxMint":
      return a[2] === 0n
        ? "the vault takes no deposits now: the engine is paused, or a market with open positions has a stale or refused price (see `status`)"
        : `${t(a[1])} is more than the ${t(a[2])} that ${a[0]} can deposit now`;
    case "TimelockInsufficientDelay":
      return `delay ${duration(a[0])} is below the timelock's minimum ${duration(a[1])}`;
    case "TimelockUnexpectedOperationState":
      return `operation ${a[0]} is not ${operationStates(a[1])}`;
    case "TimelockUnexecutedPredecessor":
      return `operation's predecessor ${a[0]} has not been executed`;
    case "TimelockUnauthorizedCaller":
      return `${a[0]} may not call the timelock directly`;
    case "Blocked":
      return `the token refuses transfers to or from ${a[0]} (blocklisted)`;
    case "RequestPending":
      return `${a[0]} already has a pending request in market ${a[1]}: wait for its execution (or its expiry)`;
    case "UnknownRequest":
      return `${a[0]} has no pending request in market ${a[1]} with these fields (executed, cancelled, or never made)`;
    case "RequestExpired":
      return `${a[0]}'s request in market ${a[1]} expired on ${when(a[2], u.now)}: it can only be cancelled`;
    case "RequestNotExpired":
      return `${a[0]}'s request in market ${a[1]} cannot be cancelled before it expires, ${when(a[2], u.now)}`;
    case "ExecutionFeeTooLow":
      return `execution fee ${t(a[0])} is below the order book's minimum ${t(a[1])} at this gas price (the execution's gas, priced by the ETH-USD oracle, or the floor)`;
    case "NotVault":
      return `${a[0]} is not the engine's LP vault: only the vault hands the order book a refund to pay`;
    case "ZeroGasTokenOracle":
      return "the order book needs an oracle for the gas token (the ETH-USD oracle), not the zero address";
    case "InvalidRequest":
      return `invalid request: kind ${a[0]}, size ${a[1]}, amount ${a[2]}`;
    case "ZeroAcceptablePrice":
      return "a buy needs an acceptable price above 0";
    case "PriceNotAcceptable":
      return `execution price ${usd(a[0])} is beyond the acceptable ${usd(a[1])}`;
    case "AsyncFlow":
      return "the LP vault prices deposits and redemptions at a later round (ERC-7540): it has no preview; `lp deposit` / `lp withdraw` send a request";
    case "ExceedsClaimable":
      return `${a[1]} is more than ${a[0]} can claim now (${a[2]}): \`lp status\` shows what executed`;
    case "LpExitUnclaimed":
      return `${a[0]} has a held redemption: claim it (\`lp claim\`) before requesting another`;
    case "NoLpExit":
      return `${a[0]} has no held redemption (claimed, or none executed)`;
    case "LpExitNotClaimable":
      return `${a[0]}'s held redemption is claimable ${when(a[1], u.now)}`;
    case "ZeroController":
      return "a request needs a controller (who claims it), not the zero address";
    case "NotControllerOrOperator":
      return `${a[1]} acts neither as ${a[0]} nor as an operator ${a[0]} approved (\`setOperator\`)`;
    case "OperatorIsSelf":
      return `${a[0]} cannot approve themselves as an operator: they already act for themselves`;
    case "LpRequestPending":
      return `${a[0]} already has a pending LP request: execute it (\`lp execute\`) or, once expired, cancel it (\`lp cancel\`)`;
    case "NoLpRequest":
      return `${a[0]} has no pending LP request (executed, cancelled, or never made)`;
    case "LpRequestExpired":
      return `${a[0]}'s LP request expired on ${when(a[1], u.now)}: it can only be cancelled (\`lp cancel\`)`;
    case "LpRequestNotExpired":
      return `${a[0]}'s LP request cannot be cancelled before it expires, ${when(a[1], u.now)}`;
    case "RoundCount":
      return `${a[0]} round ids given for ${a[1]} markets: one per market is needed`;
    case "RoundTooEarly":
      return `round ${a[0]} was updated ${date(a[1])}, before the request could be priced (${date(a[2])})`;
    case "NotFirstRound":
      return `round ${a[0]} is not the first round after the delay (the one before it was updated ${date(a[1])})`;
    default:
      return generic(e, u);
  }
}

/** OpenZeppelin's TimelockController encodes the expected states as a bitmap. */
function operationStates(bitmap: string | bigint): string {
  const bits = BigInt(bitmap);
  const names = ["unset", "waiting", "ready", "done"].filter((_n, i) => (bits >> BigInt(i)) & 1n);
  return names.join(" or ") || "in the expected state";
}

/**
 * An error that has no message of its own yet: its name and arguments, with times as dates, bytes32 names
 * as text, and everything else raw, e.g. `NewThing(marketId: 3, since: 2026-12-08 14:02 UTC)`.
 */
export function generic(e: DecodedError, u?: Units): string {
  if (e.name === "Error") return `reverted: ${e.args[0]}`;
  if (e.name === "Panic") return `panicked with code 0x${(e.args[0] as bigint).toString(16)}`;
  const inputs = e.fragment?.inputs ?? [];
  const parts = inputs.map((input, i) => {
    const value = e.args[i];
    let shown = String(value);
    if (input.type === "bytes32") shown = bytes32Text(value);
    else if (
      input.type.startsWith("uint") &&
      /(time|timestamp|since|start|end|deadline|at)$/i.test(input.name) &&
      value > 1_000_000_000n &&
      value < 100_000_000_000n
    ) {
      shown = u ? when(value, u.now) : date(value);
    }
    return input.name ? `${input.name}: ${shown}` : shown;
  });
  return `${e.name}(${parts.join(", ")})`;
}
