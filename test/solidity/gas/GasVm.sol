// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @notice The few cheatcodes the gas snapshots use (forge-std is not installable here; Hardhat serves
/// the cheatcodes at the usual address).
interface GasVm {
    function warp(uint256 timestamp) external;
    function prank(address sender) external;
    function snapshotGasLastCall(string calldata name) external returns (uint256 gasUsed);
    function snapshotValue(string calldata name, uint256 value) external;
}

GasVm constant GAS_VM = GasVm(address(uint160(uint256(keccak256("hevm cheat code")))));
