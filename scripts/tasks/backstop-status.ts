import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { stakerStatus, runTool } from "../lib/tools.js";

export default async function (
  args: { json: boolean; deploymentId: string; account: string },
  hre: HardhatRuntimeEnvironment,
) {
  await runTool(await hre.network.getOrCreate(), args, (ctx) => stakerStatus(ctx, args.account));
}
