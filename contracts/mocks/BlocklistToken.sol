// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MockERC20} from "./MockERC20.sol";

/// @notice Test collateral with a blocklist (as USDC has): transfers from or to a blocked account revert.
/// Anyone may mint and block. Never deployed outside local networks.
contract BlocklistToken is MockERC20 {
    mapping(address account => bool) public blocked;

    error Blocked(address account);

    constructor(string memory name_, string memory symbol_, uint8 decimals_) MockERC20(name_, symbol_, decimals_) {}

    function setBlocked(address account, bool isBlocked) external {
        blocked[account] = isBlocked;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert Blocked(from);
        if (blocked[to]) revert Blocked(to);
        super._update(from, to, value);
    }
}
