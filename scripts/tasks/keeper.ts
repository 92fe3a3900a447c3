import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { loadDeployment, parseUnits } from "../lib/deployment.js";
import { Keeper } from "../lib/keeper.js";

interface Args {
  feeRecipient: string;
  minProfit: string;
  batchSize: number;
  pollInterval: number;
  startBlock: number;
  iterations: number;
  deploymentId: string;
  dryRun: boolean;
}

export default async function keeperTask(args: Args, hre: HardhatRuntimeEnvironment) {
  const { ethers } = await hre.network.getOrCreate();
  const d = await loadDeployment(ethers, args.deploymentId || undefined);
  const [signer] = await ethers.getSigners();
  const keeper = new Keeper(ethers, d, signer, {
    feeRecipient: args.feeRecipient || undefined,
    minProfit: parseUnits(args.minProfit, d.decimals),
    batchSize: args.batchSize,
    startBlock: args.startBlock,
    dryRun: args.dryRun,
  });
  await keeper.run(args.pollInterval, args.iterations);
}
