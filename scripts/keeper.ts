// The keeper as a script, configured from the environment (`hardhat run` forwards no flags):
//   KEEPER_FEE_RECIPIENT, KEEPER_MIN_PROFIT (collateral, e.g. "0.5"), KEEPER_BATCH_SIZE,
//   KEEPER_POLL_INTERVAL (ms), KEEPER_START_BLOCK, KEEPER_ITERATIONS (0: forever), KEEPER_CONCURRENCY, KEEPER_GAS_PRICE (gwei),
//   KEEPER_DRY_RUN=1, KEEPER_JSON=1, KEEPER_DEPLOYMENT_ID, KEEPER_FROM (an account index or a keystore name). The same options are flags of
//   `npx hardhat keeper --network <name>`; a bad value stops it with a one-line error that names the variable.
import hre from "hardhat";
import { keeperArgsFromEnv, runKeeper } from "./lib/keeper/cli.js";

const { args, names } = keeperArgsFromEnv(process.env);
const code = await runKeeper({ connection: await hre.network.getOrCreate(), hooks: hre.hooks }, args, names);
if (code !== 0) process.exitCode = code;
