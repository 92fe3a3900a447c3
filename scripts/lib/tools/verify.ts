import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import { Contract, id, ZeroAddress, ZeroHash } from "ethers";
import { type Deployment } from "../chain/deployment.js";
import { short } from "../chain/errors.js";
import { EXECUTION_GAS } from "../../../deploy/lib/system.js";

export const MARKET_ADMIN_ROLE = id("MARKET_ADMIN_ROLE");
export const GUARDIAN_ROLE = id("GUARDIAN_ROLE");
export const EXECUTOR_ROLE = id("EXECUTOR_ROLE");
export const PROPOSER_ROLE = id("PROPOSER_ROLE");
export const CANCELLER_ROLE = id("CANCELLER_ROLE");
/** The least timelock delay a deployment off hardhat and localhost may have. */
export const MIN_PUBLIC_TIMELOCK_DELAY = 2n * 24n * 3600n;

/** MarketConfig's fields in order. */
export const CONFIG_FIELDS = [
  "initialMarginRatio",
  "maintenanceMarginRatio",
  "tradingFeeRatio",
  "liquidationPenaltyRatio",
  "keeperFeeRatio",
  "maxProfitFactor",
  "maxFundingRatePerDay",
  "partialLiquidationBuffer",
  "minKeeperFee",
  "maxKeeperFee",
  "minMargin",
  "minNotional",
  "maxOpenInterest",
  "skewScale",
  "partialLiquidationThreshold",
] as const;

export interface VerifyInput {
  /** The module's parameters (the `Bulwark` or `LocalBulwark` object of the parameter file). */
  params: Record<string, unknown>;
  /** The account that deployed the system (must hold no role afterwards; default guardian and proposer). */
  deployer: string;
  /** Local networks (hardhat, localhost) may run the timelock with no delay; every other needs two days. */
  local?: boolean;
  /** The feeds the oracles must read: from the parameters (Bulwark) or the mocks' addresses (LocalBulwark). */
  ethFeed: string;
  btcFeed: string;
  /** First block to scan for role events (the deployment's first block is enough). */
  fromBlock?: number;
  /** Also require the feeds' description() to be "ETH / USD" and "BTC / USD" (real Chainlink feeds). */
  checkFeedDescriptions?: boolean;
}

/**
 * Reads every wired address, role and market parameter of a deployment back from the chain and returns
 * one line per mismatch with what was expected (empty when the deployment is exactly as configured).
 */
export async function verifyDeployment(ethers: HardhatEthers, d: Deployment, input: VerifyInput): Promise<string[]> {
  const problems: string[] = [];
  const { params } = input;
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const expectAddress = (what: string, actual: string, expected: string) => {
    if (!same(actual, expected)) problems.push(`${what}: ${actual}, expected ${expected}`);
  };
  const expectValue = (what: string, actual: bigint | boolean, expected: bigint | boolean) => {
    if (actual !== expected) problems.push(`${what}: ${actual}, expected ${expected}`);
  };
  const param = (name: string, fallback?: unknown) => (name in params ? params[name] : fallback);
  const a = d.addresses;

  for (const [name, address] of Object.entries(a)) {
    if ((await ethers.provider.getCode(address)) === "0x") problems.push(`${name}: no code at ${address}`);
  }
  if (problems.length > 0) return problems;

  // ---- wiring
  if (typeof params.collateral === "string") expectAddress("collateral", a.collateral, params.collateral);
  expectAddress("engine.collateral()", await d.engine.collateral(), a.collateral);
  expectAddress("engine.vault()", await d.engine.vault(), a.vault);
  expectAddress("engine.backstop()", await d.engine.backstop(), a.backstop);
  expectAddress("engine.treasury()", await d.engine.treasury(), String(param("treasury", input.deployer)));
  expectAddress("vault.asset()", await d.vault.asset(), a.collateral);
  expectAddress("vault.engine()", await d.vault.engine(), a.engine);
  expectAddress("backstop.asset()", await d.backstop.asset(), a.collateral);
  expectAddress("backstop.engine()", await d.backstop.engine(), a.engine);
  expectAddress("lens.engine()", await d.lens.engine(), a.engine);
  expectAddress("engine.orders()", await d.engine.orders(), a.orderBook);
  expectAddress("orderBook.engine()", await d.orderBook.engine(), a.engine);

  // ---- the Chainlink Automation upkeeps: this deployment's contracts, the configured fee recipient
  const upkeepFeeRecipient = String(param("upkeepFeeRecipient", input.deployer));
  const lu = d.liquidationUpkeep;
  expectAddress("liquidationUpkeep.lens()", await lu.lens(), a.lens);
  expectAddress("liquidationUpkeep.engine()", await lu.engine(), a.engine);
  expectAddress("liquidationUpkeep.orders()", await lu.orders(), a.orderBook);
  expectAddress("liquidationUpkeep.feeRecipient()", await lu.feeRecipient(), upkeepFeeRecipient);
  const eu = d.executionUpkeep;
  expectAddress("executionUpkeep.lens()", await eu.lens(), a.lens);
  expectAddress("executionUpkeep.engine()", await eu.engine(), a.engine);
  expectAddress("executionUpkeep.book()", await eu.book(), a.orderBook);
  expectAddress("executionUpkeep.vault()", await eu.vault(), a.vault);
  expectAddress("executionUpkeep.collateral()", await eu.collateral(), a.collateral);
  expectAddress("executionUpkeep.feeRecipient()", await eu.feeRecipient(), upkeepFeeRecipient);
  // It executes as an executor of the book (granted at deployment; its forwarders are granted by the timelock).
  if (!(await d.orderBook.hasRole(EXECUTOR_ROLE, a.executionUpkeep))) {
    problems.push(`orderBook EXECUTOR_ROLE: the executionUpkeep ${a.executionUpkeep} does not hold it`);
  }

  // ---- roles: the timelock holds every admin role, the guardian the pause, and nobody else anything
  const timelock = a.timelock;
  const expectedHolders: Record<string, string[]> = {
    DEFAULT_ADMIN_ROLE: [timelock],
    MARKET_ADMIN_ROLE: [timelock],
    GUARDIAN_ROLE: [String(param("guardian", input.deployer))],
    // The keeper's account executes requests from the first block (the execution upkeep too, checked above);
    // more executors (another keeper, the upkeeps' forwarders) are granted later by the timelock, so other
    // holders are not a problem here.
    EXECUTOR_ROLE: [String(param("orderExecutor", input.deployer))],
  };
  const roleIds: Record<string, string> = {
    DEFAULT_ADMIN_ROLE: ZeroHash,
    MARKET_ADMIN_ROLE,
    GUARDIAN_ROLE,
    EXECUTOR_ROLE,
  };
  /** The roles each contract is checked for. */
  const checked: Record<string, string[]> = {
    engine: ["DEFAULT_ADMIN_ROLE", "MARKET_ADMIN_ROLE", "GUARDIAN_ROLE"],
    backstop: ["DEFAULT_ADMIN_ROLE"],
    orderBook: ["DEFAULT_ADMIN_ROLE", "EXECUTOR_ROLE"],
  };
  for (const [label, contract] of [
    ["engine", d.engine],
    ["backstop", d.backstop],
    ["orderBook", d.orderBook],
  ] as const) {
    const holders = await roleHolders(contract, input.fromBlock ?? 0);
    for (const [name, role] of Object.entries(roleIds)) {
      if (!checked[label].includes(name)) continue;
      const want = new Set(expectedHolders[name].map((x) => x.toLowerCase()));
      const have = holders.get(role) ?? new Set<string>();
      for (const who of want) {
        if (!(await contract.hasRole(role, who))) problems.push(`${label} ${name}: ${who} does not hold it`);
      }
      for (const who of have) {
        if (name === "EXECUTOR_ROLE") break;
        if (!want.has(who) && (await contract.hasRole(role, who)))
          problems.push(`${label} ${name}: unexpected holder ${who}`);
      }
    }
  }

  // ---- the order book's parameters: as configured, and within the contract's bounds (ConstantsLib)
  const [orderMinDelay, orderMaxAge, minExecutionFee] = await Promise.all([
    d.orderBook.minDelay(),
    d.orderBook.maxAge(),
    d.orderBook.minExecutionFee(),
  ]);
  expectValue("orderBook.minDelay()", orderMinDelay, BigInt(param("orderMinDelay", -1n) as bigint));
  expectValue("orderBook.maxAge()", orderMaxAge, BigInt(param("orderMaxAge", -1n) as bigint));
  expectValue("orderBook.minExecutionFee()", minExecutionFee, BigInt(param("minExecutionFee", -1n) as bigint));
  for (const problem of orderBookBounds(orderMinDelay, orderMaxAge, minExecutionFee, d.decimals)) {
    problems.push(problem);
  }
  // ---- the gap guard: each market's design gap as configured (zero when the file names none)
  for (const [marketId, name] of [
    [0n, "ethDesignGap"],
    [1n, "btcDesignGap"],
  ] as const) {
    expectValue(
      `orderBook.designGap(${marketId})`,
      await d.orderBook.designGap(marketId),
      BigInt(param(name, 0n) as bigint),
    );
  }
  // The fee's gas side: the gas token is priced by the deployment's ETH-USD oracle, and each class's gas
  // estimate is as configured (EXECUTION_GAS unless the parameter file gives them) and within its bounds.
  expectAddress("orderBook.gasTokenOracle()", await d.orderBook.gasTokenOracle(), a.ethOracle);
  const gas = await d.orderBook.executionGas();
  const wanted = (param("executionGas", EXECUTION_GAS) ?? EXECUTION_GAS) as Record<string, bigint | string>;
  for (const field of ["open", "close", "lp", "lpPerMarket"] as const) {
    expectValue(`orderBook.executionGas().${field}`, BigInt(gas[field]), BigInt(wanted[field]));
  }
  problems.push(...executionGasBounds(gas));

  // ---- the timelock: its delay, and it administers itself
  const minDelay = await d.timelock.getMinDelay();
  expectValue("timelock.getMinDelay()", minDelay, BigInt(param("timelockDelay", -1n) as bigint));
  if (!input.local && minDelay < MIN_PUBLIC_TIMELOCK_DELAY) {
    problems.push(
      `timelock.getMinDelay(): ${minDelay} s, below the ${MIN_PUBLIC_TIMELOCK_DELAY} s required off local networks`,
    );
  }
  if (await d.timelock.hasRole(ZeroHash, input.deployer)) {
    problems.push(`timelock DEFAULT_ADMIN_ROLE: the deployer ${input.deployer} still holds it`);
  }
  const proposer = String(param("timelockProposer", input.deployer));
  if (!(await d.timelock.hasRole(PROPOSER_ROLE, proposer))) {
    problems.push(`timelock PROPOSER_ROLE: ${proposer} does not hold it`);
  }
  const guardian = String(param("guardian", input.deployer));
  if (!(await d.timelock.hasRole(CANCELLER_ROLE, guardian))) {
    problems.push(`timelock CANCELLER_ROLE: the guardian ${guardian} does not hold it`);
  }

  // ---- markets
  expectValue("engine.marketCount()", await d.engine.marketCount(), 2n);
  const markets = [
    { id: 0n, name: "ETH-USD", prefix: "eth", oracle: d.ethOracle, oracleAddress: a.ethOracle, feed: input.ethFeed },
    { id: 1n, name: "BTC-USD", prefix: "btc", oracle: d.btcOracle, oracleAddress: a.btcOracle, feed: input.btcFeed },
  ];
  for (const m of markets) {
    let market;
    try {
      market = await d.lens.getMarket(m.id);
    } catch (error) {
      problems.push(`market ${m.id} (${m.name}): cannot read: ${short(error)}`);
      continue;
    }
    expectAddress(`market ${m.id} (${m.name}) oracle`, market.oracle, m.oracleAddress);
    const config = param(`${m.prefix}Config`) as Record<string, bigint> | undefined;
    if (config === undefined) problems.push(`parameters: ${m.prefix}Config is missing`);
    else {
      for (const field of CONFIG_FIELDS) {
        expectValue(`market ${m.id} (${m.name}) config.${field}`, BigInt(market.config[field]), BigInt(config[field]));
      }
    }
    expectAddress(`${m.name} oracle feed()`, await m.oracle.feed(), m.feed);
    if (input.checkFeedDescriptions) {
      const pair = m.name.replace("-", " / ");
      const feed = new Contract(m.feed, ["function description() view returns (string)"], ethers.provider);
      const description = await feed.description().catch((error: unknown) => `unreadable (${short(error)})`);
      if (description !== pair) problems.push(`${m.name} feed description(): "${description}", expected "${pair}"`);
    }
    expectValue(`${m.name} oracle maxAge()`, await m.oracle.maxAge(), BigInt(param(`${m.prefix}MaxAge`) as bigint));
    expectValue(
      `${m.name} oracle minPrice()`,
      await m.oracle.minPrice(),
      BigInt(param(`${m.prefix}MinPrice`) as bigint),
    );
    expectValue(
      `${m.name} oracle maxPrice()`,
      await m.oracle.maxPrice(),
      BigInt(param(`${m.prefix}MaxPrice`) as bigint),
    );
    expectAddress(
      `${m.name} oracle sequencerFeed()`,
      await m.oracle.sequencerFeed(),
      String(param("sequencerFeed", ZeroAddress)),
    );
    expectValue(
      `${m.name} oracle gracePeriod()`,
      await m.oracle.gracePeriod(),
      BigInt(param("sequencerGracePeriod", 3_600n) as bigint),
    );
    try {
      await m.oracle.price();
    } catch (error) {
      problems.push(`${m.name} oracle price() reverts: ${short(error)}`);
    }
  }
  return problems;
}

/** The execution gas bounds (ConstantsLib): each class 100,000 to 3,000,000, the LP term per market up to 200,000. */
export const EXECUTION_GAS_BOUNDS = { min: 100_000n, max: 3_000_000n, maxPerMarket: 200_000n };

/** One line per execution gas estimate outside its bounds. */
export function executionGasBounds(gas: { open: bigint; close: bigint; lp: bigint; lpPerMarket: bigint }): string[] {
  const b = EXECUTION_GAS_BOUNDS;
  const out: string[] = [];
  for (const field of ["open", "close", "lp"] as const) {
    const v = BigInt(gas[field]);
    if (v < b.min || v > b.max) out.push(`orderBook.executionGas().${field}: ${v}, outside ${b.min} to ${b.max}`);
  }
  if (BigInt(gas.lpPerMarket) > b.maxPerMarket)
    out.push(`orderBook.executionGas().lpPerMarket: ${gas.lpPerMarket}, above ${b.maxPerMarket}`);
  return out;
}

/** The OrderBook's bounds (ConstantsLib): delay 1 s to 1 h, age from delay + 1 min to 2 days, fee up to 100 tokens. */
export const ORDER_BOUNDS = {
  minDelay: { min: 1n, max: 3_600n },
  minWindow: 60n,
  maxAge: 2n * 86_400n,
  maxExecutionFeeTokens: 100n,
};

/** One line per OrderBook parameter outside its bounds (the contract refuses them; a verifier says so too). */
export function orderBookBounds(minDelay: bigint, maxAge: bigint, minExecutionFee: bigint, decimals: number): string[] {
  const out: string[] = [];
  const b = ORDER_BOUNDS;
  if (minDelay < b.minDelay.min || minDelay > b.minDelay.max) {
    out.push(`orderBook.minDelay(): ${minDelay} s, outside ${b.minDelay.min} to ${b.minDelay.max} s`);
  }
  if (maxAge < minDelay + b.minWindow || maxAge > b.maxAge) {
    out.push(
      `orderBook.maxAge(): ${maxAge} s, outside minDelay + ${b.minWindow} (${minDelay + b.minWindow}) to ${b.maxAge} s`,
    );
  }
  const maxFee = b.maxExecutionFeeTokens * 10n ** BigInt(decimals);
  if (minExecutionFee > maxFee) out.push(`orderBook.minExecutionFee(): ${minExecutionFee}, above ${maxFee}`);
  return out;
}

/** Accounts that were granted each role and not revoked since, from a contract's role events. */
async function roleHolders(
  contract: Deployment["engine"] | Deployment["backstop"] | Deployment["orderBook"],
  fromBlock: number,
) {
  const [granted, revoked] = await Promise.all([
    contract.queryFilter(contract.filters.RoleGranted(), fromBlock),
    contract.queryFilter(contract.filters.RoleRevoked(), fromBlock),
  ]);
  const events = [...granted.map((e) => ({ e, grant: true })), ...revoked.map((e) => ({ e, grant: false }))].sort(
    (x, y) => x.e.blockNumber - y.e.blockNumber || x.e.index - y.e.index,
  );
  const holders = new Map<string, Set<string>>();
  for (const { e, grant } of events) {
    const set = holders.get(e.args.role) ?? new Set<string>();
    if (grant) set.add(e.args.account.toLowerCase());
    else set.delete(e.args.account.toLowerCase());
    holders.set(e.args.role, set);
  }
  return holders;
}
