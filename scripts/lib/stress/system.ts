import type { NetworkConnection } from "hardhat/types/network";
import { attach } from "../deployment.js";
import { MARKETS, START_PRICE } from "./scenario.js";

const WAD = 10n ** 18n;
export const FEED_DECIMALS = 8;
/** The oracles' max age (Chainlink's ETH-USD heartbeat on L2s is about this). */
export const MAX_AGE = 3_600;
/** Seconds after a sequencer restart during which new risk is refused (liquidations are not). */
export const GRACE_PERIOD = 3_600;
export const DECIMALS = 6;

/** The feed answer (8 decimals) of `multiple` times a market's starting price. */
export const feedAnswer = (market: (typeof MARKETS)[number], multiple: number) =>
  BigInt(Math.round(START_PRICE[market] * multiple * 1e8));

/** DESIGN.md's default market parameters (deploy/parameters/hardhat.json), with room for a large book. */
function marketConfig(maxOpenInterest: bigint, skewScale: bigint) {
  const unit = 10n ** BigInt(DECIMALS);
  return {
    initialMarginRatio: WAD / 10n,
    maintenanceMarginRatio: WAD / 20n,
    tradingFeeRatio: (5n * WAD) / 10_000n,
    liquidationPenaltyRatio: WAD / 100n,
    keeperFeeRatio: (5n * WAD) / 1_000n,
    maxProfitFactor: 9n * WAD,
    maxFundingRatePerDay: WAD / 1_000n,
    partialLiquidationBuffer: (25n * WAD) / 1_000n,
    minKeeperFee: 2n * unit,
    maxKeeperFee: 100n * unit,
    minMargin: 10n * unit,
    minNotional: 100n * WAD,
    maxOpenInterest,
    skewScale,
    partialLiquidationThreshold: 100_000n * WAD,
  };
}

/**
 * Deploys the system for a stress run, as an L2 deployment: mock collateral (6 decimals), one mock
 * Chainlink feed per market, one sequencer-uptime feed shared by both oracles (up for a day already), the
 * engine, vault, backstop and lens, wired. The deployer holds the admin roles directly (no timelock: a
 * stress run changes no parameter after deployment).
 */
export async function deployStressSystem(connection: NetworkConnection) {
  const { ethers } = connection;
  const [admin] = await ethers.getSigners();
  const token = await ethers.deployContract("MockERC20", ["Mock USD", "mUSD", DECIMALS]);
  const sequencer = await ethers.deployContract("MockV3Aggregator", [0, 0n]);
  const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  await (await sequencer.updateRoundData(1n, 0n, now, now - 86_400n)).wait();
  const feeds = [];
  const oracles = [];
  for (const m of MARKETS) {
    const feed = await ethers.deployContract("MockV3Aggregator", [FEED_DECIMALS, feedAnswer(m, 1)]);
    const oracle = await ethers.deployContract("ChainlinkOracle", [
      feed,
      BigInt(MAX_AGE),
      WAD / 100n,
      10_000_000n * WAD,
      sequencer,
      BigInt(GRACE_PERIOD),
    ]);
    feeds.push(feed);
    oracles.push(oracle);
  }
  const configLogic = await ethers.deployContract("ConfigLogic");
  const engineFactory = await ethers.getContractFactory("PerpEngine", {
    libraries: { ConfigLogic: await configLogic.getAddress() },
  });
  const engine = await engineFactory.deploy(token, admin, admin);
  await engine.waitForDeployment();
  const vault = await ethers.deployContract("LiquidityVault", [token, engine, "Bulwark LP", "bwLP"]);
  const backstop = await ethers.deployContract("BackstopModule", [token, engine, admin, "Bulwark Backstop", "bwBACK"]);
  const lens = await ethers.deployContract("PerpLens", [engine]);
  const e = await ethers.getContractAt("PerpEngine", await engine.getAddress());
  await (await e.wire(vault, backstop)).wait();
  await (await e.grantRole(await e.MARKET_ADMIN_ROLE(), admin)).wait();
  // Room for a book of a few hundred million USD per market; skew scales as in deploy/parameters.
  await (await e.addMarket(oracles[0], marketConfig(100_000n * WAD, 1_000n * WAD))).wait();
  await (await e.addMarket(oracles[1], marketConfig(5_000n * WAD, 50n * WAD))).wait();

  const d = await attach(ethers, {
    collateral: await token.getAddress(),
    engine: await engine.getAddress(),
    vault: await vault.getAddress(),
    backstop: await backstop.getAddress(),
    lens: await lens.getAddress(),
    ethOracle: await oracles[0].getAddress(),
    btcOracle: await oracles[1].getAddress(),
    timelock: admin.address, // none: the deployer is the admin
  });
  return { ...d, feeds, sequencer, admin };
}

export type StressSystem = Awaited<ReturnType<typeof deployStressSystem>>;
