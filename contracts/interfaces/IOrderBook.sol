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

/// @notice A request as the trader made it, with the window the book gave it. The book stores only a commitment
/// to it (one word: keccak256 of the whole struct, window included), and the executor or canceller passes it
/// back from the `OrderRequested` event. `size` carries the side of the position it is for (positive: long); for Open,
/// Increase and Reduce its magnitude is the size traded, for Close and RemoveMargin only its sign counts.
/// `amount` is the collateral escrowed for an Open or an Increase (the trading fee is taken from it at
/// execution), or the margin a RemoveMargin takes out; a Reduce or a Close escrows only the execution fee.
struct Request {
    OrderKind kind;
    int128 size;
    uint96 amount;
    uint128 acceptablePrice; // a buy executes at or below it, a sell at or above it (18 decimals)
    uint96 executionFee; // collateral units, to the executor; back to the owner if nobody executed in time
    uint32 createdAt;
    uint32 notBefore; // `createdAt + minDelay`: the first round updated at or after it prices the request
    uint32 expiresAt; // `createdAt + maxAge`: executors may execute until then inclusive, anyone cancels after
}

/// @notice The gas an execution is expected to cost, per class of request, to price the minimum execution fee.
/// `open` covers Open and Increase, `close` covers Reduce, Close and RemoveMargin, and an LP request costs
/// `lp + lpPerMarket` for each market of the engine (its execution marks every market with positions).
struct ExecutionGas {
    uint24 open;
    uint24 close;
    uint24 lp;
    uint24 lpPerMarket;
}

/// @notice The classes of request whose executions cost alike (see `ExecutionGas`).
enum ExecutionClass {
    Open,
    Close,
    Lp
}

/// @notice One entry of `executeBatch`.
struct Execution {
    address account;
    uint80 roundId;
    uint256 marketId;
    Request request;
}

/// @title IOrderBook
/// @notice Two-step trading: a trader's request escrows what it needs, with an execution fee that pays for the
/// execution's gas at the request's gas price; an executor (`EXECUTOR_ROLE`) executes
/// it at the price of the first oracle round updated at least `minDelay` after it, a price nobody knew when it
/// was asked, within the executors' window `[notBefore, expiresAt]`. The book is also the one place that says
/// who may execute LP requests (`isExecutor`), with which delay and life, for at least which fee
/// (`requestTerms`), and it keeps the one ledger of refunds the token refused (`claimable`), the vault's
/// included. Who executes cannot time the execution: the requester is not an executor, cannot cancel inside
/// the window, and after it gets only a full refund.
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
    /// `PriceNotAcceptable`/`RequestExpired` error. `refund` went back to the account, `fee` to `feeRecipient`
    /// (the executor when refused at execution, the account itself when cancelled after expiry); either may
    /// have been deferred to `claimable` (`RefundDeferred`).
    event OrderCancelled(
        address indexed account,
        uint256 indexed marketId,
        address indexed feeRecipient,
        uint256 refund,
        uint256 fee,
        bytes reason
    );
    event ParametersUpdated(uint256 minDelay, uint256 maxAge, uint256 minExecutionFee);
    /// @notice The gas estimates that price the minimum execution fee changed.
    event ExecutionGasUpdated(uint256 open, uint256 close, uint256 lp, uint256 lpPerMarket);
    /// @notice A refund the token refused to deliver (e.g. a blocklisted owner); `claim` pays it.
    event RefundDeferred(address indexed account, uint256 amount);
    /// @notice `marketId`'s design gap (an 18-decimal share of the price; zero: the market is not guarded).
    event DesignGapSet(uint256 indexed marketId, uint256 designGap);
    /// @notice `marketId`'s bound on what a gap of its design size would leave unpaid is now `exposure`
    /// (collateral units), and the bound over every guarded market `total`.
    event GapExposureUpdated(uint256 indexed marketId, uint256 exposure, uint256 total);
    event Claimed(address indexed account, address indexed receiver, uint256 amount);

    error RequestPending(address account, uint256 marketId);
    /// @notice Only an executor (`EXECUTOR_ROLE`) may execute a request, trade or LP.
    error NotExecutor(address account);
    error NothingToClaim(address account);
    /// @notice No pending request of `account` in `marketId` matches the one given.
    error UnknownRequest(address account, uint256 marketId);
    /// @notice Past `createdAt + maxAge` (the end of the executors' window) a request can only be cancelled.
    error RequestExpired(address account, uint256 marketId, uint256 expiredAt);
    /// @notice Until `createdAt + maxAge` inclusive nobody may cancel a request: a pending request is no free
    /// option.
    error RequestNotExpired(address account, uint256 marketId, uint256 expiresAt);
    /// @notice The fee does not pay the execution's gas at this transaction's gas price (`minimumFee`).
    error ExecutionFeeTooLow(uint256 executionFee, uint256 minimum);
    /// @notice Only the engine's LP vault may hand the book a refund to pay (`refund`).
    error NotVault(address account);
    /// @notice The gas-token oracle is the zero address.
    error ZeroGasTokenOracle();
    error InvalidRequest(OrderKind kind, int256 size, uint256 amount);
    error ZeroAcceptablePrice();
    /// @notice The price of the execution round is worse for the trader than their bound.
    error PriceNotAcceptable(uint256 price, uint256 acceptablePrice);
    /// @notice The engine's call ran out of gas: the keeper must send more, the request stays.
    error InsufficientExecutionGas();
    /// @notice New risk would raise the bound on a design-gap shortfall (`exposure`, over every guarded market)
    /// above what the backstop can still cover in its window (`capacity`): the request is cancelled.
    error GapCoverExceeded(uint256 exposure, uint256 capacity);
    /// @notice `marketId` has no design gap, so it has no exposure to refresh.
    error NotGuarded(uint256 marketId);
    error ParameterOutOfBounds(bytes32 name, uint256 value, uint256 min, uint256 max);
    error TransferAmountMismatch(uint256 expected, uint256 received);

    /// @notice Asks for a trade in `marketId`; escrows `amount` (Open, Increase) plus `executionFee`, which
    /// must be at least `minimumFee` of the request's class at this transaction's gas price.
    /// One pending request per account and market. It can be priced by the first round of the market's
    /// feed at or after `block.timestamp + minDelay`, and executed by an executor until `block.timestamp +
    /// maxAge` (both fixed now). A request for new risk made while the engine is paused is cancelled at
    /// execution. An Open, an Increase or a RemoveMargin in a market gated by an L2 sequencer feed executes
    /// only while the sequencer is up and past its grace period (the executor waits or the request expires).
    function request(
        uint256 marketId,
        OrderKind kind,
        int256 size,
        uint256 amount,
        uint256 acceptablePrice,
        uint256 executionFee
    ) external;

    /// @notice Executes `account`'s request in `marketId` at round `roundId` of the market's feed, which
    /// must be the first round updated at or after the request's `notBefore`. Only an executor may call it,
    /// from `notBefore` (when that round can exist) until `expiresAt` inclusive. The price is that round's
    /// answer, or the current answer where a later round exists and it is worse for the trader (so holding
    /// a request back never helps it). At a price beyond the trader's bound, or if the engine refuses the
    /// trade, the request is cancelled instead: the escrow goes back less the execution fee (into
    /// `claimable` if the token refuses it). Either way the caller is paid the execution fee.
    /// @dev Reverts `NotExecutor(caller)`, `UnknownRequest`, `RequestExpired`, or the oracle's error for a
    /// round that is not the first after `notBefore` (or a sequencer that is down, for new risk).
    /// @return executed Whether the trade happened.
    function execute(
        address account,
        uint256 marketId,
        Request calldata request,
        uint80 roundId
    ) external returns (bool executed);

    /// @notice `execute` for many requests (executors only); skips without reverting those not pending, not
    /// executable at the given round, or expired (they stay pending until cancelled). A refund the token
    /// refuses waits in `claimable`, so one owner never reverts the batch. Pays the fees in one transfer.
    /// @return done How many requests were executed or cancelled.
    function executeBatch(Execution[] calldata executions) external returns (uint256 done);

    /// @notice Cancels an expired request (strictly after `createdAt + maxAge`; anyone may): the whole escrow
    /// and the execution fee go back to the account (into `claimable` if the token refuses them). Nobody
    /// executed it in the executors' window and the owner could not, so the owner owes nothing, and nobody
    /// gains by letting a request expire.
    function cancel(address account, uint256 marketId, Request calldata request) external;

    /// @notice Pays the caller's `claimable` refunds to `receiver`.
    /// @return amount What was paid.
    function claim(address receiver) external returns (uint256 amount);

    /// @notice Pays `amount` of collateral, which the vault has just transferred to the book, to `account`; if
    /// the token refuses it (a blocklist), it waits in `claimable` (`RefundDeferred`). The LP vault's refunds
    /// go through here, so that one ledger holds every refused refund and none reverts a cancellation.
    /// @dev Reverts `NotVault(caller)` for anyone but the engine's vault.
    function refund(address account, uint256 amount) external;

    /// @notice Sets the delay, the life and the fee floor (the admin: the timelock), within `ConstantsLib`'s
    /// bounds (`ParameterOutOfBounds`).
    function setParameters(uint256 minDelay, uint256 maxAge, uint256 minExecutionFee) external;

    /// @notice Sets the gas each class of execution is expected to cost (the admin: the timelock), within
    /// `ConstantsLib`'s bounds (`ParameterOutOfBounds`). Set them at or above what an executor's gas estimate
    /// for one execution of the class gives, so that a fee paid at a gas price pays the executor at that price.
    function setExecutionGas(ExecutionGas calldata gas) external;

    /// @notice Sets `marketId`'s design gap (the admin: the timelock): the price move, either way, that the
    /// backstop must be able to cover in one window. Zero turns the guard off for the market; above 100 % it
    /// reverts `ParameterOutOfBounds`, for a market that does not exist `UnknownMarket`. The market's
    /// exposure is recomputed at its current price (so a guarded market needs its feed live to be set).
    /// While a market is guarded, an Open or Increase there that raises its bound executes only if the bound
    /// over every guarded market (`totalGapExposure`) stays within the backstop's `maxCover()`; else it is
    /// cancelled with `GapCoverExceeded`. One that does not raise it (on the smaller side) is not checked.
    function setDesignGap(uint256 marketId, uint256 designGap) external;

    /// @notice Recomputes `marketId`'s exposure from its open interest now, at its current price (anyone may:
    /// executions in the market do it at their price, but a liquidation, a price move or a config change
    /// between them leave it behind).
    /// @return exposure The market's new exposure.
    function refreshGapExposure(uint256 marketId) external returns (uint256 exposure);

    /// @notice `marketId`'s design gap (18 decimals; zero when not guarded).
    function designGap(uint256 marketId) external view returns (uint256);

    /// @notice `marketId`'s bound on a design-gap shortfall, as last computed: its larger side's notional at
    /// the higher of the execution's round and latest price times (design gap × (1 + keeper fee ratio) −
    /// maintenance ratio), rounded up. A position that is not liquidatable keeps at least the maintenance
    /// margin and the keeper fee, so a gap of the design size leaves at most that share of its notional
    /// unpaid (the keeper fee grows with the notional a gap moves, and is paid in full).
    function gapExposure(uint256 marketId) external view returns (uint256);

    /// @notice The sum of every guarded market's `gapExposure`: a gap of the design size in every market at
    /// once, each against its larger side.
    function totalGapExposure() external view returns (uint256);

    /// @notice The least execution fee a request of `class_` may carry now, in collateral units: the larger of
    /// `minExecutionFee` and the class's gas (`executionGas`) at this transaction's gas price, priced by the
    /// gas-token oracle and rounded up. While that oracle refuses a price it is `minExecutionFee` alone, so that
    /// a broken gas-token feed never blocks a request (a close, most of all).
    function minimumFee(ExecutionClass class_) external view returns (uint256);

    /// @notice The window a request of `class_` made now gets, if `executionFee` is at least `minimumFee(class_)`
    /// (else it reverts `ExecutionFeeTooLow`). `request` and the LP vault's requests both take their terms from
    /// here, so that trades and LP requests share one delay, one life and one fee rule.
    function requestTerms(
        ExecutionClass class_,
        uint256 executionFee
    ) external view returns (uint256 notBefore, uint256 expiresAt);

    /// @notice The gas each class of execution is expected to cost (see `ExecutionGas`).
    function executionGas() external view returns (ExecutionGas memory);

    /// @notice The oracle (USD per gas token, 18 decimals) that prices execution gas in collateral.
    function gasTokenOracle() external view returns (address);

    /// @notice The commitment to `account`'s pending request in `marketId` (zero if none).
    function pendingRequest(address account, uint256 marketId) external view returns (bytes32 commitment);

    /// @notice Whether `account` may execute requests: holds `EXECUTOR_ROLE` in this book. The vault asks it
    /// for LP requests, so that one rule says who executes.
    function isExecutor(address account) external view returns (bool);

    /// @notice Refunds the token refused to deliver to `account` (a blocklist), waiting for `claim`.
    function claimable(address account) external view returns (uint256);

    /// @notice The role of the accounts that may execute requests (`keccak256("EXECUTOR_ROLE")`), granted by
    /// the book's admin (the timelock).
    function EXECUTOR_ROLE() external view returns (bytes32);

    /// @notice Whether `request` is `account`'s pending request in `marketId`.
    function isPending(address account, uint256 marketId, Request calldata request) external view returns (bool);

    /// @notice The commitment the book stores for `request`: keccak256(abi.encode(request)), window included.
    function commitmentOf(Request calldata request) external pure returns (bytes32);
    function engine() external view returns (address);
    function minDelay() external view returns (uint32);
    /// @notice A request's life, from its `createdAt`: executors may execute it until `createdAt + maxAge`
    /// (their window is `maxAge - minDelay`, at least a minute), after which anyone may cancel it for a full
    /// refund. LP requests have the same delay and life.
    function maxAge() external view returns (uint32);
    function minExecutionFee() external view returns (uint96);
}
