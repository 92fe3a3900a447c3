// Checks a deployment against its parameter file and exits non-zero with one line per mismatch.
//   npx hardhat run --network localhost scripts/verify-deployment.ts
// Environment: VERIFY_PARAMETERS (parameter file name, default: the network's name),
// VERIFY_DEPLOYMENT_ID (default chain-<chainId>), VERIFY_DEPLOYER (default: the first configured account).
import { network } from "hardhat";
import { attach, moduleIdOf, readIgnitionAddresses, readParameters } from "./lib/deployment.js";
import { verifyDeployment } from "./lib/verify.js";

const connection = await network.getOrCreate();
const { ethers } = connection;
const { chainId } = await ethers.provider.getNetwork();
const { deploymentId, deployed, addresses } = await readIgnitionAddresses(chainId, process.env.VERIFY_DEPLOYMENT_ID);
const moduleId = moduleIdOf(deployed);
const parameterFile = process.env.VERIFY_PARAMETERS ?? connection.networkName;
const params = (await readParameters(parameterFile))[moduleId] ?? {};
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
    `OK: deployment ${deploymentId} (${moduleId}) matches ${parameterFile}.json: wiring, roles, 2 markets, oracles`,
  );
}
