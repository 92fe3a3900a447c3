import { readFile } from "node:fs/promises";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { addMarket, runTool } from "../lib/tools.js";

interface Args {
  json: boolean;
  deploymentId: string;
  oracle: string;
  configFile: string;
}

export default async function (args: Args, hre: HardhatRuntimeEnvironment) {
  // The config file holds a MarketConfig object; "123n" strings are bigints, as in Ignition parameter files.
  const config = JSON.parse(await readFile(args.configFile, "utf8"), (_key, value) =>
    typeof value === "string" && /^\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value,
  );
  await runTool(await hre.network.getOrCreate(), args, (ctx) => addMarket(ctx, args.oracle, config));
}
