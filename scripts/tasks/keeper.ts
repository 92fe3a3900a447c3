import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { runKeeper } from "../lib/keeper/cli.js";

export default async function keeperTask(
  args: Record<string, string | boolean | undefined>,
  hre: HardhatRuntimeEnvironment,
) {
  let connection;
  try {
    connection = await hre.network.getOrCreate();
  } catch (error) {
    const { describeError } = await import("../lib/chain/errors.js");
    const { printFailure, processIo } = await import("../lib/chain/cli.js");
    printFailure(processIo, args.json === true, describeError(error));
    process.exitCode = 1;
    return;
  }
  const code = await runKeeper({ connection, hooks: hre.hooks }, args);
  if (code !== 0) process.exitCode = code;
}
