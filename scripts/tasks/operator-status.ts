import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { runTool, systemStatus } from "../lib/tools.js";

export default async function (args: { json: boolean; deploymentId: string }, hre: HardhatRuntimeEnvironment) {
  await runTool(await hre.network.getOrCreate(), args, (ctx) => systemStatus(ctx));
}
