import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { runTool, setParameter } from "../lib/tools.js";

interface Args {
  json: boolean;
  deploymentId: string;
  market: number;
  field: string;
  value: string;
}

export default async function (args: Args, hre: HardhatRuntimeEnvironment) {
  await runTool(await hre.network.getOrCreate(), args, (ctx) =>
    setParameter(ctx, BigInt(args.market), args.field, args.value),
  );
}
