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

/// @notice A request as the trader made it. The book stores only a commitment to it (one word: the
/// request's execution window and a hash), and whoever executes or cancels it passes it back from the
/// `OrderRequested` event. `size` carries the side of the position it is for (positive: long); for Open,
/// Increase and Reduce its magnitude is the size traded, for Close and RemoveMargin only its sign counts.
/// `amount` is the collateral escrowed for an Open or an Increase (the trading fee is taken from it at
/// execution), or the margin a RemoveMargin takes out; a Reduce or a Close escrows only the execution fee.
struct Request {
    OrderKind kind;
    int128 size;
    uint96 amount;
    uint128 acceptablePrice; // a buy executes at or below it, a sell at or above it (18 decimals)
    uint96 executionFee; // collateral units, to whoever executes or cancels the request
    uint32 createdAt;
}

/// @notice One entry of `executeBatch`.
struct Execution {
    address account;
    uint80 roundId;
    uint256 marketId;
    Request request;
}

/// @title IOrderBook
/// @notice Two-step trading: a trader's request escrows what it needs; any keeper executes it at the price
/// of the first oracle round updated at least `minDelay` after it, a price nobody knew when it was asked.
interface IOrderBook {
    /// @notice `request` may be priced by the first round updated at or after `notBefore`, and executed
    /// until `expiresAt` (both fixed at the request).
    event OrderRequested(
        address indexed account,
        uint256 indexed marketId,
        Request request,
        uint256 notBefore,
        uint256 expiresAt
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
    /// @notice No pending request of `account` in `marketId` matches the one given.
    error UnknownRequest(address account, uint256 marketId);
    /// @notice Past `createdAt + maxAge` a request can only be cancelled.
    error RequestExpired(address account, uint256 marketId, uint256 expiredAt);
    /// @notice Before `createdAt + maxAge` nobody may cancel a request: a pending request is no free option.
    error RequestNotExpired(address account, uint256 marketId, uint256 expiresAt);
    error ExecutionFeeTooLow(uint256 executionFee, uint256 minExecutionFee);
    error InvalidRequest(OrderKind kind, int256 size, uint256 amount);
    error ZeroAcceptablePrice();
    /// @notice The price of the execution round is worse for the trader than their bound.
    error PriceNotAcceptable(uint256 price, uint256 acceptablePrice);
    /// @notice The engine's call ran out of gas: the keeper must send more, the request stays.
    error InsufficientExecutionGas();
    error ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    error TransferAmountMismatch(uint256 expected, uint256 received);

    /// @notice Asks for a trade in `marketId`; escrows `amount` (Open, Increase) plus `executionFee`.
    /// One pending request per account and market. It can be priced by the first round of the market's
    /// feed at or after `block.timestamp + minDelay`, and executed until `block.timestamp + maxAge` (both
    /// fixed now). A request for new risk made while the engine is paused is cancelled at execution.
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
    function execute(
        address account,
        uint256 marketId,
        Request calldata request,
        uint80 roundId
    ) external returns (bool executed);

    /// @notice `execute` for many requests; skips (without reverting) those not executable at the given
    /// round. Pays the fees in one transfer.
    /// @return done How many requests were executed or cancelled.
    function executeBatch(Execution[] calldata executions) external returns (uint256 done);

    /// @notice Cancels an expired request (past `createdAt + maxAge`): the escrow goes back to the account
    /// less the execution fee, which goes to the caller, or to the treasury when the caller is the account.
    function cancel(address account, uint256 marketId, Request calldata request) external;

    function setParameters(uint256 minDelay, uint256 maxAge, uint256 minExecutionFee) external;

    /// @notice `account`'s pending request in `marketId`: when it may first be priced, when it expires, and
    /// the commitment to it (all zero if none).
    function pendingRequest(
        address account,
        uint256 marketId
    ) external view returns (uint256 notBefore, uint256 expiresAt, bytes32 commitment);

    /// @notice Whether `request` is `account`'s pending request in `marketId`.
    function isPending(address account, uint256 marketId, Request calldata request) external view returns (bool);

    /// @notice The commitment the book stores for `request`: the low 192 bits of keccak256(abi.encode(request)).
    function commitmentOf(Request calldata request) external pure returns (bytes32);
    function engine() external view returns (address);
    function minDelay() external view returns (uint32);
    function maxAge() external view returns (uint32);
    function minExecutionFee() external view returns (uint96);
}
