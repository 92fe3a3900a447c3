import { network } from "hardhat";
import type { AddressLike } from "ethers";
import type { InstantOrders, PerpEngine } from "../../types/ethers-contracts/index.js";
import { EXECUTION_GAS } from "../../deploy/lib/system.js";

export { EXECUTION_GAS };

/** One in-process network shared by every mocha test file that imports this module. */
export const { ethers, networkHelpers } = await network.create();

export const WAD = 10n ** 18n;
export const ETH = 0n;
export const BTC = 1n;
export const FEED_DECIMALS = 8;

/** A price in the feeds' 8 decimals from a number of dollars. */
export const feedPrice = (usd: number | bigint) => BigInt(usd) * 10n ** 8n;

export interface MarketConfig {
  initialMarginRatio: bigint;
  maintenanceMarginRatio: bigint;
  tradingFeeRatio: bigint;
  liquidationPenaltyRatio: bigint;
  keeperFeeRatio: bigint;
  maxProfitFactor: bigint;
  maxFundingRatePerDay: bigint;
  partialLiquidationBuffer: bigint;
  minKeeperFee: bigint;
  maxKeeperFee: bigint;
  minMargin: bigint;
  minNotional: bigint;
  maxOpenInterest: bigint;
  skewScale: bigint;
  partialLiquidationThreshold: bigint;
}

/** The default market parameters (docs/ARCHITECTURE.md), with money in a token of `decimals`. */
export function marketConfig(decimals: number, overrides: Partial<MarketConfig> = {}): MarketConfig {
  const token = 10n ** BigInt(decimals);
  return {
    initialMarginRatio: WAD / 10n, // 10 %: 10x
    maintenanceMarginRatio: WAD / 20n, // 5 %
    tradingFeeRatio: (5n * WAD) / 10_000n, // 5 bps
    liquidationPenaltyRatio: WAD / 100n, // 1 %
    keeperFeeRatio: (5n * WAD) / 1_000n, // 0.5 %
    maxProfitFactor: 9n * WAD, // 900 % of margin
    maxFundingRatePerDay: WAD / 1_000n, // 0.1 % a day at full skew
    partialLiquidationBuffer: (25n * WAD) / 1_000n, // 2.5 %
    minKeeperFee: 2n * token,
    maxKeeperFee: 100n * token,
    minMargin: 10n * token,
    minNotional: 100n * WAD, // $100
    maxOpenInterest: 10_000n * WAD,
    skewScale: 1_000n * WAD,
    partialLiquidationThreshold: 100_000n * WAD, // $100k
    ...overrides,
  };
}

export interface SystemOptions {
  decimals?: number;
  /** A collateral contract already deployed (a test token), instead of a fresh MockERC20. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  token?: any;
  ethConfig?: Partial<MarketConfig>;
  btcConfig?: Partial<MarketConfig>;
  /**
   * "instant" (the default) wires the test-only InstantOrders, which executes one-step trades at the current
   * price so that accounting tests stay exact; "book" wires the real two-step OrderBook.
   */
  orders?: "instant" | "book";
  /** The feeds' contract: Chainlink's MockV3Aggregator (the default), or EmittingFeed, which logs each round. */
  feed?: "MockV3Aggregator" | "EmittingFeed";
  /** OrderBook parameters when `orders` is "book": seconds, seconds, collateral units. */
  orderBook?: {
    minDelay?: bigint;
    maxAge?: bigint;
    minExecutionFee?: bigint;
    executionGas?: { open: bigint; close: bigint; lp: bigint; lpPerMarket: bigint };
  };
}

/** The OrderBook's defaults in tests: a 30 s delay, a request lives an hour, a fee of at least 1 token. */
export const ORDER_DELAY = 30n;
export const ORDER_MAX_AGE = 3_600n;

/**
 * OrderBook parameters whose minimum fee is its 0.5-token floor for every class at the network's 1 gwei: the gas
 * estimates at their lowest bound put every class's gas term below it. The attack tests' figures were measured
 * with it.
 */
export const FLOOR_FEE_BOOK = {
  minExecutionFee: 500_000n,
  executionGas: { open: 100_000n, close: 100_000n, lp: 100_000n, lpPerMarket: 0n },
};

/** PerpEngine's factory, linked to a fresh ConfigLogic (the library its admin path DELEGATECALLs). */
export async function engineFactory() {
  const configLogic = await ethers.deployContract("ConfigLogic");
  return ethers.getContractFactory("PerpEngine", { libraries: { ConfigLogic: await configLogic.getAddress() } });
}

/** A PerpEngine over `token`, with `admin` as its default admin. */
export async function deployEngine(token: AddressLike, admin: AddressLike, treasury: AddressLike) {
  const engine = await (await engineFactory()).deploy(token, admin, treasury);
  await engine.waitForDeployment();
  return engine as unknown as PerpEngine;
}

/** Deploys and wires the whole system with mock collateral and mock Chainlink feeds. */
export async function deploySystem(options: SystemOptions = {}) {
  const decimals = options.decimals ?? 6;
  const unit = 10n ** BigInt(decimals);
  const [admin, treasury, lp, staker, keeper, alice, bob, carol, dave] = await ethers.getSigners();

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const token: any = options.token ?? (await ethers.deployContract("MockERC20", ["Mock USD", "mUSD", decimals]));
  // Typed as the Chainlink mock: EmittingFeed has the functions the tests call on it.
  const feedContract = (options.feed ?? "MockV3Aggregator") as "MockV3Aggregator";
  const ethFeed = await ethers.deployContract(feedContract, [FEED_DECIMALS, feedPrice(3_000)]);
  const btcFeed = await ethers.deployContract(feedContract, [FEED_DECIMALS, feedPrice(60_000)]);
  const oracleArgs = (feed: unknown) => [feed, 3_600n, WAD / 100n, 10_000_000n * WAD, ethers.ZeroAddress, 0n];
  const ethOracle = await ethers.deployContract("ChainlinkOracle", oracleArgs(ethFeed));
  const btcOracle = await ethers.deployContract("ChainlinkOracle", oracleArgs(btcFeed));

  const engine = await deployEngine(token, admin, treasury);
  const vault = await ethers.deployContract("LiquidityVault", [token, engine, "Bulwark LP", "bwLP"]);
  const backstop = await ethers.deployContract("BackstopModule", [token, engine, admin, "Bulwark Backstop", "bwBACK"]);
  const lens = await ethers.deployContract("PerpLens", [engine]);
  const book = await ethers.deployContract("OrderBook", [
    engine,
    admin,
    ethOracle, // prices execution gas
    options.orderBook?.minDelay ?? ORDER_DELAY,
    options.orderBook?.maxAge ?? ORDER_MAX_AGE,
    options.orderBook?.minExecutionFee ?? unit,
    options.orderBook?.executionGas ?? EXECUTION_GAS,
    [keeper], // the keeper is the executor of trade and LP requests
  ]);
  // The accounting tests trade through InstantOrders; the order book's own tests through the OrderBook.
  const orders = options.orders === "book" ? book : await ethers.deployContract("InstantOrders", [engine]);
  // The vault asks whatever the engine is wired to who may execute LP requests: the keeper, as in the book.
  if (options.orders !== "book") await (orders as InstantOrders).setExecutor(keeper, true);
  await engine.wire(vault, backstop, orders);
  await engine.grantRole(await engine.MARKET_ADMIN_ROLE(), admin);
  await engine.grantRole(await engine.GUARDIAN_ROLE(), admin);
  await engine.addMarket(ethOracle, marketConfig(decimals, options.ethConfig));
  await engine.addMarket(
    btcOracle,
    marketConfig(decimals, { maxOpenInterest: 500n * WAD, skewScale: 50n * WAD, ...options.btcConfig }),
  );

  for (const who of [lp, staker, keeper, alice, bob, carol, dave]) {
    await token.mint(who, 10_000_000n * unit);
    await token.connect(who).approve(engine, ethers.MaxUint256);
    await token.connect(who).approve(vault, ethers.MaxUint256);
    await token.connect(who).approve(backstop, ethers.MaxUint256);
    await token.connect(who).approve(orders, ethers.MaxUint256);
  }

  return {
    decimals,
    unit,
    token,
    ethFeed,
    btcFeed,
    ethOracle,
    btcOracle,
    engine,
    vault,
    backstop,
    lens,
    /** What the engine is wired to: InstantOrders (default) or the OrderBook (`orders: "book"`). */
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    orders: orders as any,
    /** The OrderBook, wired only with `orders: "book"`. */
    book,
    admin,
    treasury,
    lp,
    staker,
    keeper,
    alice,
    bob,
    carol,
    dave,
  };
}

export const deploy6 = () => deploySystem({ decimals: 6 });
export const deploy18 = () => deploySystem({ decimals: 18 });
