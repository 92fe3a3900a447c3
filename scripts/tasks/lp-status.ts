import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { lpStatus, runTool } from "../lib/tools.js";

export default async function (
  args: { json: boolean; deploymentId: string; account: string },
  hre: HardhatRuntimeEnvironment,
) {
  await runTool(await hre.network.getOrCreate(), args, (ctx) => lpStatus(ctx, args.account));
}
