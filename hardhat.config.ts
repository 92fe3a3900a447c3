import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";
import { bulwarkTasks } from "./scripts/tasks/index.js";

const require = createRequire(import.meta.url);

// The compiler comes from the npm `solc` package (WASM), pinned exactly in package.json:
// this machine and CI cannot download compilers.
const solc = {
  version: require("solc/package.json").version as string,
  path: require.resolve("solc/soljson.js"),
  settings: { optimizer: { enabled: true, runs: 200 }, viaIR: true },
};

// Testnets: RPC URLs and the deployer key are config variables, read from the environment or from
// the encrypted keystore (`npx hardhat keystore set DEPLOYER_PRIVATE_KEY`); never from this file.
const deployer = [configVariable("DEPLOYER_PRIVATE_KEY")];

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  tasks: bulwarkTasks,
  solidity: {
    profiles: {
      default: solc,
      production: solc,
    },
    npmFilesToBuild: [
      "@chainlink/contracts/src/v0.8/tests/MockV3Aggregator.sol",
      // Tests only: the registry's forwarder, through which Automation calls performUpkeep.
      "@chainlink/contracts/src/v0.8/automation/AutomationForwarder.sol",
      "@openzeppelin/contracts/governance/TimelockController.sol",
    ],
  },
  networks: {
    // The in-process network starts with a zero base fee (empty blocks keep it there), so that a transaction's
    // gas price is its priority fee, 1 gwei unless set: requests' minimum execution fees
    // (OrderBook.minimumFee, gas x tx.gasprice) are the same in every test and every run.
    default: { type: "edr-simulated", chainType: "l1", initialBaseFeePerGas: 0 },
    sepolia: {
      type: "http",
      chainType: "l1",
      chainId: 11_155_111,
      url: configVariable("SEPOLIA_RPC_URL"),
      accounts: deployer,
    },
    arbitrumSepolia: {
      type: "http",
      chainType: "generic",
      chainId: 421_614,
      url: configVariable("ARBITRUM_SEPOLIA_RPC_URL"),
      accounts: deployer,
    },
    baseSepolia: {
      type: "http",
      chainType: "op",
      chainId: 84_532,
      url: configVariable("BASE_SEPOLIA_RPC_URL"),
      accounts: deployer,
    },
  },
  // Source verification (`--verify` on `ignition deploy`, or `npx hardhat verify`): Etherscan's v2 API takes one
  // key for every chain it serves (Sepolia, Arbitrum Sepolia, Base Sepolia), Blockscout's public instances and
  // Sourcify need none. The key is a config variable like the others, read only when a verification runs.
  verify: {
    etherscan: { apiKey: configVariable("ETHERSCAN_API_KEY"), enabled: true },
    blockscout: { enabled: true },
    sourcify: { enabled: true },
  },
  paths: { ignition: "deploy" },
  test: {
    solidity: {
      fuzz: { runs: 256 },
      // `npm run test:deep` (BULWARK_DEEP=1) runs the invariant suite longer; runs and depth can be overridden.
      invariant: process.env.BULWARK_DEEP
        ? {
            runs: Number(process.env.INVARIANT_RUNS ?? 1000),
            depth: Number(process.env.INVARIANT_DEPTH ?? 50),
            failOnRevert: false,
          }
        : { runs: 64, depth: 32, failOnRevert: false },
    },
  },
});
