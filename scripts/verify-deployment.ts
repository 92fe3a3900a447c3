// Checks a deployment against its parameter file and exits non-zero with one line per mismatch.
//   npx hardhat run --network localhost scripts/verify-deployment.ts
// Environment: VERIFY_PARAMETERS (parameter file name, default: the network's name),
// VERIFY_DEPLOYMENT_ID (default chain-<chainId>), VERIFY_DEPLOYER (default: the first configured account).
// A deployment or parameter file that cannot be read is one line on stderr and exit 1, like every tool.
import { network } from "hardhat";
import { printFailure, processIo } from "./lib/chain/cli.js";
import { attach, moduleIdOf, readIgnitionAddresses, readParameters } from "./lib/chain/deployment.js";
import { ToolError, describeError } from "./lib/chain/errors.js";
import { verifyDeployment } from "./lib/tools/verify.js";

try {
  const connection = await network.getOrCreate();
  const { ethers } = connection;
  if (connection.networkConfig.type === "edr-simulated") {
    throw new ToolError(
      "NoNetwork",
      `the ${connection.networkName} network is an empty in-process chain: pass --network localhost or a testnet`,
    );
  }
  const { chainId } = await ethers.provider.getNetwork();
  const { deploymentId, deployed, addresses } = await readIgnitionAddresses(chainId, process.env.VERIFY_DEPLOYMENT_ID);
  const moduleId = moduleIdOf(deployed);
  const parameterFile = process.env.VERIFY_PARAMETERS ?? connection.networkName;
  const params =
    (
      await readParameters(parameterFile).catch(() => {
        throw new ToolError(
          "NoParameters",
          `cannot read deploy/parameters/${parameterFile}.json (set VERIFY_PARAMETERS)`,
        );
      })
    )[moduleId] ?? {};
  const deployer = process.env.VERIFY_DEPLOYER ?? (await ethers.getSigners())[0].address;
  const feed = (suffix: string, param: string) =>
    moduleId === "LocalBulwark" ? deployed[`LocalMocks#${suffix}`] : String(params[param]);

  const d = await attach(ethers, addresses);
  const problems = await verifyDeployment(ethers, d, {
    params,
    deployer,
    ethFeed: feed("EthUsdFeed", "ethFeed"),
    btcFeed: feed("BtcUsdFeed", "btcFeed"),
    // Real Chainlink feeds name their pair; the local mocks do not.
    checkFeedDescriptions: moduleId === "Bulwark",
    local: ["hardhat", "localhost"].includes(connection.networkName),
  });
  if (problems.length > 0) {
    for (const line of problems) console.error(`MISMATCH ${line}`);
    console.error(
      `${problems.length} mismatch(es) in deployment ${deploymentId} (${moduleId}, parameters ${parameterFile}.json)`,
    );
    process.exitCode = 1;
  } else {
    console.log(
      `OK: deployment ${deploymentId} (${moduleId}) matches ${parameterFile}.json: wiring, roles, 2 markets, oracles, order book, upkeeps`,
    );
  }
} catch (error) {
  printFailure(processIo, false, describeError(error));
  process.exitCode = 1;
}
