import type { NetworkConnection } from "hardhat/types/network";
import LocalBulwark from "../../deploy/modules/LocalBulwark.js";
import { attach, readParameters } from "./deployment.js";

/**
 * Deploys the whole system with mocks through the LocalBulwark Ignition module, with the parameters of
 * deploy/parameters/<parameterFile>.json, and returns typed handles plus the mock feeds.
 */
export async function deployLocal(connection: NetworkConnection, parameterFile = "hardhat") {
  const parameters = await readParameters(parameterFile);
  const r = await connection.ignition.deploy(LocalBulwark, { parameters: parameters as never, displayUi: false });
  const addresses = {
    collateral: await r.collateral.getAddress(),
    engine: await r.engine.getAddress(),
    vault: await r.vault.getAddress(),
    backstop: await r.backstop.getAddress(),
    lens: await r.lens.getAddress(),
    ethOracle: await r.ethOracle.getAddress(),
    btcOracle: await r.btcOracle.getAddress(),
  };
  // The module gains a TimelockController (issue 8); until then there is none to record.
  const timelock = (r as unknown as Record<string, { getAddress(): Promise<string> } | undefined>).timelock;
  if (timelock) Object.assign(addresses, { timelock: await timelock.getAddress() });
  const d = await attach(connection.ethers, addresses);
  const ethFeed = await connection.ethers.getContractAt("MockV3Aggregator", await r.ethFeed.getAddress());
  const btcFeed = await connection.ethers.getContractAt("MockV3Aggregator", await r.btcFeed.getAddress());
  return { ...d, ethFeed, btcFeed, parameters };
}
