import { Interface } from "ethers";
import type { Artifact } from "hardhat/types/artifacts";

const ABI = new Interface([
  "function name() view returns (string)",
  "function symbol() view returns (string)",
  "function decimals() view returns (uint8)",
  "function totalSupply() view returns (uint256)",
  "function balanceOf(address account) view returns (uint256)",
  "function allowance(address owner, address spender) view returns (uint256)",
  "function approve(address spender, uint256 value) returns (bool)",
  "function transfer(address to, uint256 value) returns (bool)",
  "function transferFrom(address from, address to, uint256 value) returns (bool)",
]);

/**
 * An artifact for an existing ERC-20 collateral token: Ignition's `contractAt` needs one, and Hardhat
 * builds none for an npm package's interface. Only the ABI is used; nothing is deployed from it.
 */
export const erc20Metadata: Artifact = {
  _format: "hh3-artifact-1",
  contractName: "IERC20Metadata",
  sourceName: "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol",
  abi: JSON.parse(ABI.formatJson()),
  bytecode: "0x",
  deployedBytecode: "0x",
  linkReferences: {},
  deployedLinkReferences: {},
};
