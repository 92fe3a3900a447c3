import type { NetworkConnection } from "hardhat/types/network";
import LocalBulwark from "../../../deploy/modules/LocalBulwark.js";
import { addressesOfModule, attach, readParameters } from "./deployment.js";

/**
 * Deploys the whole system with mocks through the LocalBulwark Ignition module, with the parameters of
 * deploy/parameters/<parameterFile>.json (each of `overrides` replacing the module parameter of its name),
 * and returns typed handles plus the mock feeds.
 */
export async function deployLocal(
  connection: NetworkConnection,
  parameterFile = "hardhat",
  overrides: Record<string, unknown> = {},
) {
  const parameters = await readParameters(parameterFile);
  parameters.LocalBulwark = { ...parameters.LocalBulwark, ...overrides };
  const r = await connection.ignition.deploy(LocalBulwark, { parameters: parameters as never, displayUi: false });
  const addresses = await addressesOfModule(r);
  const d = await attach(connection.ethers, addresses);
  const ethFeed = await connection.ethers.getContractAt("MockV3Aggregator", await r.ethFeed.getAddress());
  const btcFeed = await connection.ethers.getContractAt("MockV3Aggregator", await r.btcFeed.getAddress());
  return { ...d, ethFeed, btcFeed, parameters };
}
