import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { unstake, runTool } from "../lib/tools.js";

export default async function (
  args: { json: boolean; deploymentId: string; shares: string },
  hre: HardhatRuntimeEnvironment,
) {
  await runTool(await hre.network.getOrCreate(), args, (ctx) => unstake(ctx, args.shares));
}
