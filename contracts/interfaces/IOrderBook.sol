// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @notice What a request asks the engine to do.
enum OrderKind {
    Open,
    Increase,
    Reduce,
    Close,
    RemoveMargin
}

/// @notice A pending request, in two words. `size` carries the side of the position it is for (positive:
/// long); for Open, Increase and Reduce its magnitude is the size traded, for Close and RemoveMargin only
/// its sign counts. `amount` is the collateral escrowed for an Open or an Increase, or the margin an
/// RemoveMargin takes out; a Reduce or a Close escrows only the execution fee.
struct Request {
    int128 size;
    uint96 amount;
    uint32 createdAt;
    uint128 acceptablePrice; // a buy executes at or below it, a sell at or above it (18 decimals)
    uint96 executionFee; // collateral units, to whoever executes or cancels the request
    OrderKind kind;
}

/// @title IOrderBook
/// @notice Two-step trading: a trader's request escrows what it needs; any keeper executes it at the price
/// of the first oracle round updated at least `minDelay` after it, a price nobody knew when it was asked.
interface IOrderBook {
    event OrderRequested(
        address indexed account,
        uint256 indexed marketId,
        OrderKind kind,
        int256 size,
        uint256 amount,
        uint256 acceptablePrice,
        uint256 executionFee
    );
    event OrderExecuted(
        address indexed account,
        uint256 indexed marketId,
        address indexed keeper,
        uint80 roundId,
        uint256 price
    );
    /// @notice The request ended without a trade: `reason` is the engine's revert data, or the encoded
    /// `PriceNotAcceptable`/`RequestExpired` error. `refund` went back to the account, `fee` to `feeRecipient`.
    event OrderCancelled(
        address indexed account,
        uint256 indexed marketId,
        address indexed feeRecipient,
        uint256 refund,
        uint256 fee,
        bytes reason
    );
    event ParametersUpdated(uint256 minDelay, uint256 maxAge, uint256 minExecutionFee);

    error RequestPending(address account, uint256 marketId);
    error NoRequest(address account, uint256 marketId);
    /// @notice Past `createdAt + maxAge` a request can only be cancelled.
    error RequestExpired(address account, uint256 marketId, uint256 expiredAt);
    /// @notice Before `createdAt + maxAge` nobody may cancel a request: a pending request is no free option.
    error RequestNotExpired(address account, uint256 marketId, uint256 expiresAt);
    error ExecutionFeeTooLow(uint256 executionFee, uint256 minExecutionFee);
    error InvalidRequest(OrderKind kind, int256 size, uint256 amount);
    error ZeroAcceptablePrice();
    error NewRiskPaused();
    /// @notice The price of the execution round is worse for the trader than their bound.
    error PriceNotAcceptable(uint256 price, uint256 acceptablePrice);
    /// @notice The engine's call ran out of gas: the keeper must send more, the request stays.
    error InsufficientExecutionGas();
    error OnlyOrderBook(address caller);
    error LengthMismatch(uint256 accounts, uint256 marketIds, uint256 roundIds);
    error ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    error TransferAmountMismatch(uint256 expected, uint256 received);

    /// @notice Asks for a trade in `marketId`; escrows `amount` (Open, Increase) plus `executionFee`.
    /// One pending request per account and market. New risk (Open, Increase, RemoveMargin) is refused
    /// while the engine is paused.
    function request(
        uint256 marketId,
        OrderKind kind,
        int256 size,
        uint256 amount,
        uint256 acceptablePrice,
        uint256 executionFee
    ) external;

    /// @notice Executes `account`'s request in `marketId` at round `roundId` of the market's feed, which
    /// must be the first round updated at or after `createdAt + minDelay`. The price is that round's
    /// answer, or the current answer where a later round exists and it is worse for the trader (so holding
    /// a request back never helps it). At a price beyond the trader's bound, or if the engine refuses the
    /// trade, the request is cancelled instead: the escrow goes back less the execution fee. Either way
    /// the caller is paid the execution fee.
    /// @return executed Whether the trade happened.
    function execute(address account, uint256 marketId, uint80 roundId) external returns (bool executed);

    /// @notice `execute` for many requests; skips (without reverting) those not executable at the given
    /// round. Pays the fees in one transfer.
    /// @return done How many requests were executed or cancelled.
    function executeBatch(
        address[] calldata accounts,
        uint256[] calldata marketIds,
        uint80[] calldata roundIds
    ) external returns (uint256 done);

    /// @notice Cancels an expired request (past `createdAt + maxAge`): the escrow goes back to the account
    /// less the execution fee, which goes to the caller, or to the treasury when the caller is the account.
    function cancel(address account, uint256 marketId) external;

    function setParameters(uint256 minDelay, uint256 maxAge, uint256 minExecutionFee) external;

    function getRequest(address account, uint256 marketId) external view returns (Request memory);
    /// @notice When `account`'s request in `marketId` may first be priced, and when it expires (0, 0 if none).
    function executionWindow(address account, uint256 marketId) external view returns (uint256 notBefore, uint256 expiresAt);
    function engine() external view returns (address);
    function minDelay() external view returns (uint32);
    function maxAge() external view returns (uint32);
    function minExecutionFee() external view returns (uint96);
}
