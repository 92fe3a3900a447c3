// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Test double: a 6-decimal stablecoin with a blocklist, as USDC and USDT have. Transfers to or from
/// a blocked account revert, so a refund to a blocked trader cannot be delivered.
contract BlocklistToken is ERC20 {
    error Blocked(address account);

    mapping(address account => bool) public blocked;

    constructor() ERC20("Blocklist USD", "blUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setBlocked(address account, bool isBlocked) external {
        blocked[account] = isBlocked;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert Blocked(from);
        if (blocked[to]) revert Blocked(to);
        super._update(from, to, value);
    }
}
