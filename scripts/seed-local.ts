// Puts activity on a local deployment so that the keeper and the tools have something to show: LP
// liquidity, a staker, six positions and an 8 % ETH drop that makes the two 9x ETH longs liquidatable.
// Idempotent: a second run says what exists and changes nothing. The same as `npx hardhat local seed`.
//   npx hardhat run --network localhost scripts/seed-local.ts
import { network } from "hardhat";
import { execute } from "./lib/chain/cli.js";
import { seed } from "./lib/tools/playground.js";

const code = await execute({ connection: await network.getOrCreate() }, {}, seed);
if (code !== 0) process.exitCode = code;
