// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

uint256 constant WAD = 1e18;

/// @title MathLib
/// @notice Fixed-point helpers. Every name says which way it rounds; callers pick the direction that
/// favours the protocol (docs/ARCHITECTURE.md, "Rounding").
library MathLib {
    // Plain checked arithmetic, cheaper than a 512-bit mulDiv: Bulwark's products stay far below 2^256
    // (sizes and open interest are capped at 1e30, ratios at 1e20, money and prices at 1e38 by their
    // 128-bit slots, so a product is at most about 1e68), and one that overflowed would revert, never wrap.
    function mulDivDown(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return (x * y) / d;
    }

    function mulDivUp(uint256 x, uint256 y, uint256 d) internal pure returns (uint256) {
        return (x * y + (d - 1)) / d;
    }

    function wMulDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return (x * y) / WAD;
    }

    function wMulUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return (x * y + (WAD - 1)) / WAD;
    }

    function wDivDown(uint256 x, uint256 y) internal pure returns (uint256) {
        return (x * WAD) / y;
    }

    function wDivUp(uint256 x, uint256 y) internal pure returns (uint256) {
        return (x * WAD + (y - 1)) / y;
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
