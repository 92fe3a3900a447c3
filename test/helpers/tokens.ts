import { ethers, feedPrice, marketConfig, WAD } from "./system.js";

/** A whole system around a hand-made collateral token (fee-on-transfer, re-entrant, blocklist), one ETH market. */
export async function deployAround(token: any, decimals = 6) {
  const [admin, treasury, lp, , , alice, bob] = await ethers.getSigners();
  const feed = await ethers.deployContract("MockV3Aggregator", [8, feedPrice(3_000)]);
  const oracle = await ethers.deployContract("ChainlinkOracle", [
    feed,
    3_600n,
    WAD / 100n,
    10n ** 25n,
    ethers.ZeroAddress,
    0n,
  ]);
  const engine = await ethers.deployContract("PerpEngine", [token, admin, treasury]);
  const vault = await ethers.deployContract("LiquidityVault", [token, engine, "LP", "LP"]);
  const backstop = await ethers.deployContract("BackstopModule", [token, engine, admin, "B", "B"]);
  await engine.wire(vault, backstop);
  await engine.grantRole(await engine.MARKET_ADMIN_ROLE(), admin);
  await engine.addMarket(oracle, marketConfig(decimals, { maxFundingRatePerDay: 0n }));
  const unit = 10n ** BigInt(decimals);
  for (const who of [lp, alice, bob]) {
    await token.mint(who, 10_000_000n * unit);
    await token.connect(who).approve(engine, ethers.MaxUint256);
    await token.connect(who).approve(vault, ethers.MaxUint256);
  }
  return { token, feed, oracle, engine, vault, backstop, lp, alice, bob, unit, decimals };
}
