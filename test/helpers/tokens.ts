import { deploySystem } from "./system.js";

/** The whole system around a hand-made collateral token (fee-on-transfer, re-entrant, blocklist), funding off. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function deployAround(token: any, decimals = 6) {
  const s = await deploySystem({ decimals, token, ethConfig: { maxFundingRatePerDay: 0n } });
  return { ...s, feed: s.ethFeed, oracle: s.ethOracle };
}
