import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { erc20Metadata } from "../lib/erc20.js";
import { buildSystem } from "../lib/system.js";

/**
 * The full system on a network that already has its collateral token and Chainlink feeds (testnets,
 * later mainnets): every address comes from the parameter file (deploy/parameters/<network>.json).
 */
export default buildModule("Bulwark", (m) => {
  const collateral = m.contractAt("IERC20Metadata", erc20Metadata, m.getParameter<string>("collateral"));
  const system = buildSystem(m, {
    collateral,
    ethFeed: m.getParameter<string>("ethFeed"),
    btcFeed: m.getParameter<string>("btcFeed"),
  });
  return { collateral, ...system };
});
