import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { stake, runTool } from "../lib/tools.js";

export default async function (
  args: { json: boolean; deploymentId: string; amount: string },
  hre: HardhatRuntimeEnvironment,
) {
  await runTool(await hre.network.getOrCreate(), args, (ctx) => stake(ctx, args.amount));
}
