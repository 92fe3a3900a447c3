// The keeper as a script, configured from the environment (`hardhat run` forwards no flags):
//   KEEPER_FEE_RECIPIENT, KEEPER_MIN_PROFIT (collateral, e.g. "0.5"), KEEPER_BATCH_SIZE,
//   KEEPER_POLL_INTERVAL (ms), KEEPER_START_BLOCK, KEEPER_ITERATIONS (0: forever), KEEPER_DRY_RUN=1,
//   KEEPER_DEPLOYMENT_ID. The same options are flags of `npx hardhat keeper --network <name>`.
import { network } from "hardhat";
import { loadDeployment, parseUnits } from "./lib/deployment.js";
import { Keeper } from "./lib/keeper.js";

const env = process.env;
const { ethers } = await network.getOrCreate();
const d = await loadDeployment(ethers, env.KEEPER_DEPLOYMENT_ID || undefined);
const [signer] = await ethers.getSigners();
const keeper = new Keeper(ethers, d, signer, {
  feeRecipient: env.KEEPER_FEE_RECIPIENT || undefined,
  minProfit: parseUnits(env.KEEPER_MIN_PROFIT ?? "0", d.decimals),
  batchSize: Number(env.KEEPER_BATCH_SIZE ?? 20),
  startBlock: Number(env.KEEPER_START_BLOCK ?? 0),
  dryRun: env.KEEPER_DRY_RUN === "1",
});
await keeper.run(Number(env.KEEPER_POLL_INTERVAL ?? 4_000), Number(env.KEEPER_ITERATIONS ?? 0));
