// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";

/// @notice Test double: an ERC20 whose transfers, once armed, call `callbackTarget` with `callbackData` and
/// bubble up its revert, to prove that a hostile collateral token cannot re-enter Bulwark's contracts.
contract ReentrantToken is ERC20 {
    address public callbackTarget;
    bytes public callbackData;
    bool public armed;

    constructor() ERC20("Reentrant USD", "reUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the callback: the next transfer calls `target_` with `data_`. A transfer whose callback
    /// succeeds disarms it; one whose callback reverts rolls the disarming back too, so call `disarm`.
    function arm(address target_, bytes calldata data_) external {
        callbackTarget = target_;
        callbackData = data_;
        armed = true;
    }

    function disarm() external {
        armed = false;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (armed && from != address(0) && to != address(0)) {
            armed = false;
            Address.functionCall(callbackTarget, callbackData);
        }
    }
}
