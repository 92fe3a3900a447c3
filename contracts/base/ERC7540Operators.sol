// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC7540Operator, IERC7575} from "../interfaces/IERC7540.sol";

/// @title ERC7540Operators
/// @notice The part of ERC-7540 both vaults share: operators, who may request and claim for a controller, and the
/// ERC-7575 share address. A controller is their own operator; an operator is never set for oneself.
abstract contract ERC7540Operators is IERC7540Operator, IERC7575 {
    /// @notice ERC-165 ids of the operator methods and of ERC-7575.
    bytes4 internal constant OPERATOR_INTERFACE = 0xe3bc4e65;
    bytes4 internal constant ERC7575_INTERFACE = 0x2f0a18c5;

    /// @inheritdoc IERC7540Operator
    mapping(address controller => mapping(address operator => bool)) public isOperator;

    /// @notice `caller` is neither `controller` nor an operator `controller` approved.
    error NotControllerOrOperator(address controller, address caller);
    /// @notice A controller cannot approve themselves: they already act for themselves.
    error OperatorIsSelf(address controller);

    /// @inheritdoc IERC7540Operator
    function setOperator(address operator, bool approved) external returns (bool) {
        if (operator == msg.sender) revert OperatorIsSelf(msg.sender);
        isOperator[msg.sender][operator] = approved;
        emit OperatorSet(msg.sender, operator, approved);
        return true;
    }

    /// @inheritdoc IERC7575
    function share() external view returns (address) {
        return address(this);
    }

    /// @dev Reverts unless the caller acts for `controller`: is it, or its operator.
    function _checkOperator(address controller) internal view {
        if (msg.sender != controller && !isOperator[controller][msg.sender]) {
            revert NotControllerOrOperator(controller, msg.sender);
        }
    }
}
