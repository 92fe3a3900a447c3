import type { NetworkConnection } from "hardhat/types/network";
import { readParameters } from "../chain/deployment.js";
import { deployLocal } from "../chain/local.js";
import { MARKETS, START_PRICE } from "./scenario.js";

const WAD = 10n ** 18n;
/** Seconds after a sequencer restart during which new risk is refused (liquidations are not). */
export const GRACE_PERIOD = 3_600;

/** The feed answer (8 decimals) of `multiple` times a market's starting price. */
export const feedAnswer = (market: (typeof MARKETS)[number], multiple: number) =>
  BigInt(Math.round(START_PRICE[market] * multiple * 1e8));

/**
 * Deploys the system for a stress run through the LocalBulwark Ignition module (deploy/parameters/
 * hardhat.json: the default market parameters, mock collateral of 6 decimals, 8-decimal mock feeds)
 * as an L2 deployment: both oracles read one sequencer-uptime feed, up for a day already. The open-interest
 * caps are raised to hold a book of a few hundred million USD per market; nothing else differs.
 */
export async function deployStressSystem(connection: NetworkConnection) {
  const { ethers } = connection;
  const [admin] = await ethers.getSigners();
  const sequencer = await ethers.deployContract("MockV3Aggregator", [0, 0n]);
  const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  await (await sequencer.updateRoundData(1n, 0n, now, now - 86_400n)).wait();
  const base = (await readParameters("hardhat")).LocalBulwark as Record<string, Record<string, bigint>>;
  const d = await deployLocal(connection, "hardhat", {
    sequencerFeed: await sequencer.getAddress(),
    sequencerGracePeriod: BigInt(GRACE_PERIOD),
    ethConfig: { ...base.ethConfig, maxOpenInterest: 100_000n * WAD },
    btcConfig: { ...base.btcConfig, maxOpenInterest: 5_000n * WAD },
  });
  return { ...d, feeds: [d.ethFeed, d.btcFeed], sequencer, admin };
}

export type StressSystem = Awaited<ReturnType<typeof deployStressSystem>>;
