// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MockERC20} from "./MockERC20.sol";

/// @notice Test double: an ERC20 that burns 1 % of every transfer between two accounts, so the
/// receiver gets less than the amount sent. Bulwark must refuse it as collateral. The fee can be switched
/// off and on, as a token with a dormant fee switch (USDT has one) could turn it on after listing.
contract FeeOnTransferToken is MockERC20 {
    bool public feeOn = true;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) MockERC20(name_, symbol_, decimals_) {}

    function setFeeOn(bool on) external {
        feeOn = on;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (!feeOn || from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 burnt = value / 100;
        super._update(from, address(0), burnt);
        super._update(from, to, value - burnt);
    }
}
