import { toBeHex, ZeroHash } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { readParameters } from "../chain/deployment.js";
import { deployLocal } from "../chain/local.js";
import { type MarketName, MARKETS, START_PRICE } from "./scenario.js";

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
 * caps are raised to hold a book of a few hundred million USD per market; nothing else differs. With
 * `designGap` (18 decimals, e.g. 0.35e18) both markets' gap guards are set at deployment (the order book's
 * `ethDesignGap`/`btcDesignGap` parameters); without, no market is guarded.
 */
export async function deployStressSystem(connection: NetworkConnection, options: { designGap?: bigint } = {}) {
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
    ...(options.designGap !== undefined ? { ethDesignGap: options.designGap, btcDesignGap: options.designGap } : {}),
  });
  return { ...d, feeds: [d.ethFeed, d.btcFeed], sequencer, admin };
}

export type StressSystem = Awaited<ReturnType<typeof deployStressSystem>>;

let operations = 0;

/**
 * Sets both markets' design gap (0: unguarded) as the deployment does it after launch: one batch scheduled on
 * the timelock (the order book's admin) and executed at once (on the local network its delay is 0 and the
 * deployer is its proposer and executor). Returns the order book's `totalGapExposure` after it.
 */
export async function setDesignGaps(sys: StressSystem, gap: bigint): Promise<bigint> {
  const target = sys.addresses.orderBook;
  const calls = MARKETS.map((_m, id) => sys.orderBook.interface.encodeFunctionData("setDesignGap", [id, gap]));
  const targets = calls.map(() => target);
  const values = calls.map(() => 0n);
  const salt = toBeHex(++operations, 32); // a fresh operation id each time, reverts or not
  const timelock = sys.timelock.connect(sys.admin);
  await (await timelock.scheduleBatch(targets, values, calls, ZeroHash, salt, await timelock.getMinDelay())).wait();
  await (await timelock.executeBatch(targets, values, calls, ZeroHash, salt)).wait();
  for (const [id] of MARKETS.entries())
    if ((await sys.orderBook.designGap(id)) !== gap) throw new Error(`the timelock did not set market ${id}'s gap`);
  return sys.orderBook.totalGapExposure();
}

/** Sets every feed to `multiples` x its starting price (a fresh round). */
export async function publish(sys: StressSystem, multiples: Record<MarketName, number>) {
  for (const [i, m] of MARKETS.entries()) await (await sys.feeds[i].updateAnswer(feedAnswer(m, multiples[m]))).wait();
}
