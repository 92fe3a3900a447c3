// Puts activity on a local deployment so that the keeper and the tools have something to show:
// mints mock collateral, deposits LP liquidity, stakes, opens six positions and drops ETH by 8 %, which
// makes the two 9x ETH longs liquidatable.
//   npx hardhat run --network localhost scripts/seed-local.ts
import { network } from "hardhat";
import { loadDeployment } from "./lib/deployment.js";

const { ethers } = await network.getOrCreate();
const d = await loadDeployment(ethers);
const feeds = await Promise.all(
  [d.ethOracle, d.btcOracle].map(async (o) => ethers.getContractAt("MockV3Aggregator", await o.feed())),
);
const unit = 10n ** BigInt(d.decimals);
const WAD = 10n ** 18n;
const [, , lp, staker, , a, b, c, e, f, g] = await ethers.getSigners();
for (const who of [lp, staker, a, b, c, e, f, g]) {
  await (await d.collateral.mint(who.address, 1_000_000n * unit)).wait();
  for (const spender of [d.addresses.engine, d.addresses.vault, d.addresses.backstop]) {
    await (await d.collateral.connect(who).approve(spender, ethers.MaxUint256)).wait();
  }
}
await (await d.vault.connect(lp).deposit(500_000n * unit, lp.address)).wait();
await (await d.backstop.connect(staker).deposit(50_000n * unit, staker.address)).wait();
const [ethPrice, btcPrice] = await Promise.all([d.ethOracle.price(), d.btcOracle.price()]);
const open = async (who: typeof a, market: bigint, leverage: bigint, margin: bigint, long: boolean) => {
  const price = market === 0n ? ethPrice : btcPrice;
  const size = (leverage * margin * unit * WAD * 10n ** BigInt(18 - d.decimals)) / price;
  await (await d.engine.connect(who).openPosition(market, long ? size : -size, margin * unit)).wait();
  console.log(
    `${who.address} opened ${market === 0n ? "ETH" : "BTC"} ${long ? "long" : "short"} ${leverage}x with ${margin}`,
  );
};
await open(a, 0n, 9n, 5_000n, true);
await open(b, 0n, 9n, 4_000n, true);
await open(c, 0n, 3n, 10_000n, true);
await open(e, 0n, 5n, 8_000n, false);
await open(f, 1n, 4n, 10_000n, true);
await open(g, 1n, 2n, 10_000n, false);
const [, answer] = await feeds[0].latestRoundData();
await (await feeds[0].updateAnswer((answer * 92n) / 100n)).wait();
console.log(`ETH feed moved from ${answer} to ${(answer * 92n) / 100n}: the 9x longs are now liquidatable`);
