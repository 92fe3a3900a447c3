// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

uint256 constant WAD = 1e18;

/// @title MathLib
/// @notice Fixed-point helpers. Every name says which way it rounds; callers pick the direction that
/// favours the protocol (see DESIGN.md, "Numbers").
library MathLib {
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d);
    }

    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return Math.mulDiv(x, y, d, Math.Rounding.Ceil);
    }

    function wMulDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, y, WAD);
    }

    function wMulUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, y, WAD, Math.Rounding.Ceil);
    }

    function wDivDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, WAD, y);
    }

    function wDivUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return Math.mulDiv(x, WAD, y, Math.Rounding.Ceil);
    }

    function abs(int256 x) internal pure returns (uint256) {
        return x >= 0 ? uint256(x) : uint256(-x);
    }

    function min(uint256 x, uint256 y) internal pure returns (uint256) {
        return x < y ? x : y;
    }

    function max(uint256 x, uint256 y) internal pure returns (uint256) {
        return x > y ? x : y;
    }

    /// @dev Clamps `x` into [lo, hi]; `lo` wins if the bounds cross.
    function clamp(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return x > hi ? (hi > lo ? hi : lo) : (x < lo ? lo : x);
    }

    /// @dev Positive part of a signed number.
    function pos(int256 x) internal pure returns (uint256) {
        return x > 0 ? uint256(x) : 0;
    }
}
