import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { buildSystem } from "../lib/system.js";
import LocalMocks from "./LocalMocks.js";

/** The full system on a local network (hardhat, localhost) over the mock token and mock feeds. */
export default buildModule("LocalBulwark", (m) => {
  const mocks = m.useModule(LocalMocks);
  const system = buildSystem(m, { collateral: mocks.collateral, ethFeed: mocks.ethFeed, btcFeed: mocks.btcFeed });
  return { ...mocks, ...system };
});
