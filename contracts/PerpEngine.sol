// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ConfigLogic} from "./ConfigLogic.sol";
import {IBackstopModule} from "./interfaces/IBackstopModule.sol";
import {ILiquidityVault} from "./interfaces/ILiquidityVault.sol";
import {IPerpEngine, MarketConfig, MarketState, Pool, Position} from "./interfaces/IPerpEngine.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {AccrualLib} from "./libraries/AccrualLib.sol";
import {ConfigLib} from "./libraries/ConfigLib.sol";
import {ConstantsLib} from "./libraries/ConstantsLib.sol";
import {EngineStorage} from "./libraries/EngineStorage.sol";
import {MarketLib} from "./libraries/MarketLib.sol";
import {MathLib, WAD} from "./libraries/MathLib.sol";
import {PositionMath} from "./libraries/PositionMath.sol";
import {RiskLib} from "./libraries/RiskLib.sol";

/// @title PerpEngine
/// @notice Markets, isolated positions, the LP ledger and the loss waterfall of Bulwark.
/// @dev Custody: the engine holds every collateral token of the system except the backstop's: traders'
/// margins, the LP pool (whose ERC-4626 shares the LiquidityVault issues) and fees not yet distributed.
/// So a trade moves no tokens between contracts; only the ledger below changes.
contract PerpEngine is IPerpEngine, AccessControl, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;
    using MathLib for uint256;

    bytes32 public constant MARKET_ADMIN_ROLE = keccak256("MARKET_ADMIN_ROLE");
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    uint48 private constant SETTLED = AccrualLib.SETTLED;

    IERC20 private immutable COLLATERAL;
    /// @dev 1e18 x 10^(18 - decimals): size x price / DEN is an amount of collateral.
    uint256 private immutable DEN;
    /// @dev 10^(18 - decimals): an 18-decimal USD amount / SCALE is an amount of collateral.
    uint256 private immutable SCALE;
    /// @dev 10^decimals: one whole collateral token, for bounds expressed in tokens.
    uint256 private immutable ONE_TOKEN;

    // These three share a slot with Pausable's flag, which every trade reads anyway.
    uint64 public backstopFeeShare;
    uint64 public treasuryFeeShare;
    uint64 public marketCount;

    ILiquidityVault public vault;
    IBackstopModule public backstop;
    address public treasury;

    // The markets, the positions and the LP pool live at EngineStorage's ERC-7201 root (`_markets()`,
    // `_positions()`, `_pool()`), where the lens, the vault and the order book read them through `extsload`.
    mapping(address account => uint256) public claimable;
    /// @notice The order book: the only caller of the `execute*` functions, fixed when the engine is wired.
    address public orders;

    constructor(IERC20Metadata collateral_, address admin, address treasury_) {
        uint8 decimals = collateral_.decimals();
        if (decimals < 6 || decimals > 18) revert UnsupportedDecimals(decimals);
        if (admin == address(0) || treasury_ == address(0)) revert ZeroAddress();
        COLLATERAL = collateral_;
        SCALE = 10 ** (18 - decimals);
        DEN = WAD * SCALE;
        ONE_TOKEN = 10 ** decimals;
        treasury = treasury_;
        backstopFeeShare = 0.2e18;
        treasuryFeeShare = 0.1e18;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    modifier onlyVault() {
        if (msg.sender != address(vault)) revert OnlyVault(msg.sender);
        _;
    }

    /// @dev Trades that add risk or realize PnL come only from the order book, at the price of an oracle
    /// round that came after they were requested.
    modifier onlyOrders() {
        if (msg.sender != orders) revert OnlyOrders(msg.sender);
        _;
    }

    // ================================================================ orders

    /// @inheritdoc IPerpEngine
    function executeOpen(
        address account,
        uint256 marketId,
        int256 size,
        uint256 amount,
        uint256 price,
        uint256 latest
    ) external onlyOrders nonReentrant whenNotPaused {
        if (size == 0) revert ZeroSize();
        MarketState storage m = _open(marketId);
        // Only the size is read: the position is new, so its other word is zero too.
        if (_positions()[account][marketId].size != 0) revert PositionExists(account, marketId);
        Position memory old;

        int256 index = _accrueFunding(m, price, size > 0);
        uint256 fee = _tradingFee(m, MathLib.abs(size), price);
        if (amount < fee) revert PositionWouldBeLiquidatable(int256(amount) - int256(fee), 0);
        Position memory p = Position(size.toInt128(), price.toUint128(), (amount - fee).toUint128(), index.toInt128());
        _checkNewRisk(m, p, price, latest, MathLib.abs(size));

        _writePosition(account, marketId, m, old, p);
        _chargeFee(fee);
        _checkReserve();
        _pull(msg.sender, amount);
        emit PositionModified(account, marketId, size, size, price, price, p.margin, 0, 0, fee);
    }

    /// @inheritdoc IPerpEngine
    function executeIncrease(
        address account,
        uint256 marketId,
        int256 sizeDelta,
        uint256 amount,
        uint256 price,
        uint256 latest
    ) external onlyOrders nonReentrant whenNotPaused {
        if (sizeDelta == 0) revert ZeroSize();
        MarketState storage m = _open(marketId);
        Position memory old = _onSide(account, marketId, sizeDelta);

        int256 index = _accrueFunding(m, price, old.size > 0);
        uint256 delta = MathLib.abs(sizeDelta);
        uint256 fee = _tradingFee(m, delta, price);
        int256 funding = PositionMath.funding(old.size, index, old.fundingIndex, DEN);
        int256 margin = int256(uint256(old.margin) + amount) - funding - int256(fee);
        if (margin < 0) revert PositionWouldBeLiquidatable(margin, 0);

        uint256 oldAbs = MathLib.abs(old.size);
        uint256 newAbs = oldAbs + delta;
        // The new entry is the size-weighted average, rounded against the trader: up for a long, down
        // for a short.
        uint256 weighted = oldAbs * old.entryPrice + delta * price;
        uint256 entry = old.size > 0 ? weighted.mulDivUp(1, newAbs) : weighted / newAbs;
        Position memory p = Position(
            (old.size + sizeDelta).toInt128(),
            entry.toUint128(),
            uint256(margin).toUint128(),
            index.toInt128()
        );
        _checkNewRisk(m, p, price, latest, delta);

        _writePosition(account, marketId, m, old, p);
        _settleVault(funding, false);
        _chargeFee(fee);
        _checkReserve();
        _pull(msg.sender, amount);
        emit PositionModified(account, marketId, sizeDelta, p.size, price, entry, p.margin, 0, funding, fee);
    }

    /// @inheritdoc IPerpEngine
    function executeReduce(
        address account,
        uint256 marketId,
        int256 sizeDelta,
        uint256 price
    ) external onlyOrders nonReentrant {
        if (sizeDelta == 0) revert ZeroSize();
        MarketState storage m = _open(marketId);
        Position memory old = _onSide(account, marketId, sizeDelta);
        uint256 delta = MathLib.abs(sizeDelta);
        uint256 oldAbs = MathLib.abs(old.size);
        if (delta >= oldAbs) revert ReduceExceedsSize(delta, oldAbs);

        int256 index = _accrueFunding(m, price, old.size > 0);
        MarketConfig memory c = ConfigLib.risk(m.config);
        int256 funding = PositionMath.funding(old.size, index, old.fundingIndex, DEN);
        // The closed part may realize its share of the position's profit cap.
        uint256 cap = RiskLib.profitCap(c, old.margin, oldAbs, old.entryPrice, DEN).mulDivDown(delta, oldAbs);
        int256 realized = PositionMath.pnl(sizeDelta, old.entryPrice, price, cap, DEN);
        uint256 fee = PositionMath.notional(delta, price, DEN).wMulUp(c.tradingFeeRatio);
        int256 margin = int256(uint256(old.margin)) - funding + realized - int256(fee);

        Position memory p = Position(old.size - sizeDelta.toInt128(), old.entryPrice, 0, index.toInt128());
        uint256 remainingUsd = PositionMath.notionalUsd(oldAbs - delta, price);
        if (remainingUsd < c.minNotional) revert NotionalBelowMinimum(remainingUsd, c.minNotional);
        (int256 equity, uint256 liquidationMargin) = RiskLib.health(c, p.size, p.entryPrice, margin, price, DEN);
        if (margin < 0 || equity < int256(liquidationMargin)) {
            revert PositionWouldBeLiquidatable(equity, liquidationMargin);
        }
        p.margin = uint256(margin).toUint128();

        // Realized profit added to the margin can lift the remaining position's profit cap.
        bool reserveGrew = _writePosition(account, marketId, m, old, p);
        _settleVault(funding - realized, false);
        _chargeFee(fee);
        if (reserveGrew) _checkReserve();
        emit PositionModified(
            account,
            marketId,
            -sizeDelta,
            p.size,
            price,
            old.entryPrice,
            p.margin,
            realized,
            funding,
            fee
        );
    }

    /// @inheritdoc IPerpEngine
    function executeClose(
        address account,
        uint256 marketId,
        bool long,
        uint256 price
    ) external onlyOrders nonReentrant returns (uint256 payout) {
        return _close(account, marketId, _open(marketId), _onSide(account, marketId, long ? int256(1) : -1), price);
    }

    /// @inheritdoc IPerpEngine
    function executeRemoveMargin(
        address account,
        uint256 marketId,
        bool long,
        uint256 amount,
        uint256 price
    ) external onlyOrders nonReentrant whenNotPaused {
        if (amount == 0) revert ZeroAmount();
        MarketState storage m = _open(marketId);
        Position memory old = _onSide(account, marketId, long ? int256(1) : -1);

        int256 index = _accrueFunding(m, price, long);
        int256 funding = PositionMath.funding(old.size, index, old.fundingIndex, DEN);
        int256 margin = int256(uint256(old.margin)) - funding - int256(amount);
        uint256 minMargin = m.config.minMargin;
        if (margin < int256(minMargin)) revert MarginBelowMinimum(MathLib.pos(margin), minMargin);

        // Unrealized profit counts as zero here: a price spike must not let margin out before the
        // profit is realized (and paid for with a closing fee).
        uint256 notional = PositionMath.notional(MathLib.abs(old.size), price, DEN);
        int256 loss = PositionMath.pnl(old.size, old.entryPrice, price, 0, DEN);
        int256 equity = margin + loss;
        // Meeting the initial margin implies meeting the liquidation margin (ConfigLogic's bounds).
        uint256 initialMargin = notional.wMulUp(m.config.initialMarginRatio * ConfigLib.RATIO_UNIT);
        if (equity < int256(initialMargin)) revert InsufficientInitialMargin(equity, initialMargin);

        Position memory p = Position(old.size, old.entryPrice, uint256(margin).toUint128(), index.toInt128());
        _writePosition(account, marketId, m, old, p);
        _settleVault(funding, false);
        _pay(account, amount);
        emit PositionModified(account, marketId, 0, p.size, price, p.entryPrice, p.margin, 0, funding, 0);
    }

    // ================================================================ traders

    /// @inheritdoc IPerpEngine
    function addMargin(uint256 marketId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        MarketState storage m = _market(marketId);
        Position memory old = _existing(msg.sender, marketId);
        Position memory p = Position(old.size, old.entryPrice, (old.margin + amount).toUint128(), old.fundingIndex);

        // More margin can lift the profit cap (up to the entry's initial margin): a lift the pool cannot back is
        // refused; a top-up that lifts nothing always works, and so does a reduce or a close.
        if (_writePosition(msg.sender, marketId, m, old, p)) _checkReserve();
        _pull(msg.sender, amount);
        emit PositionModified(msg.sender, marketId, 0, p.size, 0, p.entryPrice, p.margin, 0, 0, 0);
    }

    /// @inheritdoc IPerpEngine
    function closeSettled(uint256 marketId) external nonReentrant returns (uint256 payout) {
        MarketState storage m = _market(marketId);
        if (m.lastFundingTime != SETTLED) revert MarketNotSettled(marketId);
        return _close(msg.sender, marketId, m, _existing(msg.sender, marketId), m.settlementPrice);
    }

    /// @inheritdoc IPerpEngine
    function claim(address receiver) external nonReentrant returns (uint256 amount) {
        amount = claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        claimable[msg.sender] = 0;
        COLLATERAL.safeTransfer(receiver, amount);
        emit Claimed(msg.sender, receiver, amount);
    }

    // ================================================================ keepers

    /// @inheritdoc IPerpEngine
    function liquidate(
        address account,
        uint256 marketId,
        address feeRecipient
    ) external nonReentrant returns (uint256 keeperFee) {
        MarketState storage m = _market(marketId);
        Position memory p = _existing(account, marketId);
        uint256 price = _price(m);
        int256 index = _accrueFunding(m, price, p.size > 0);
        RiskLib.Plan memory plan = RiskLib.plan(ConfigLib.risk(m.config), p, price, index, DEN);
        if (!plan.liquidatable) revert PositionHealthy(account, marketId, plan.equity, plan.liquidationMargin);

        _execute(account, marketId, m, p, plan, price, index, feeRecipient);
        keeperFee = plan.keeperFee;
        COLLATERAL.safeTransfer(feeRecipient, keeperFee);
    }

    /// @inheritdoc IPerpEngine
    function liquidateBatch(
        address[] calldata accounts,
        uint256[] calldata marketIds,
        address feeRecipient
    ) external nonReentrant returns (uint256 liquidated, uint256 keeperFees) {
        if (accounts.length != marketIds.length) revert LengthMismatch(accounts.length, marketIds.length);
        // Each market's price and funding index are read once; a price of max means its oracle refused.
        uint256 count = marketCount;
        uint256[] memory prices = new uint256[](count);
        int256[] memory indexes = new int256[](count);
        uint256[] memory borrows = new uint256[](count);
        MarketConfig[] memory configs = new MarketConfig[](count);
        for (uint256 i; i < accounts.length; ++i) {
            uint256 marketId = marketIds[i];
            if (marketId >= count) continue;
            MarketState storage m = _markets()[marketId];
            if (prices[marketId] == 0) {
                try this.marketPrice(marketId) returns (uint256 price) {
                    prices[marketId] = price;
                    (indexes[marketId], borrows[marketId]) = _accrue(m, price);
                    configs[marketId] = ConfigLib.risk(m.config);
                } catch {
                    prices[marketId] = type(uint256).max;
                }
            }
            if (prices[marketId] == type(uint256).max) continue;

            Position memory p = _positions()[accounts[i]][marketId];
            if (p.size == 0) continue;
            int256 index = _sideIndex(indexes[marketId], borrows[marketId], p.size > 0);
            RiskLib.Plan memory plan = RiskLib.plan(configs[marketId], p, prices[marketId], index, DEN);
            if (!plan.liquidatable) continue;
            _execute(accounts[i], marketId, m, p, plan, prices[marketId], index, feeRecipient);
            ++liquidated;
            keeperFees += plan.keeperFee;
        }
        if (keeperFees > 0) COLLATERAL.safeTransfer(feeRecipient, keeperFees);
        emit BatchLiquidated(msg.sender, accounts.length, liquidated, keeperFees);
    }

    /// @inheritdoc IPerpEngine
    function distributeFees() external nonReentrant {
        if (address(backstop) == address(0)) revert NotWired();
        ConfigLogic.distributeFees(
            claimable,
            backstop,
            treasury,
            address(COLLATERAL),
            backstopFeeShare,
            treasuryFeeShare
        );
    }

    // ================================================================ vault

    /// @inheritdoc IPerpEngine
    function creditLiquidity(uint256 assets) external onlyVault nonReentrant {
        Pool storage pool = _pool();
        uint256 balance = pool.lpBalance + assets;
        pool.lpBalance = balance.toUint128();
        emit LiquidityAdded(assets, balance);
    }

    /// @inheritdoc IPerpEngine
    function withdrawLiquidity(address receiver, uint256 assets) external onlyVault nonReentrant {
        uint256 free = freeLiquidity();
        if (assets > free) revert InsufficientLiquidity(assets, free);
        Pool storage pool = _pool();
        uint256 balance = pool.lpBalance - assets;
        pool.lpBalance = uint128(balance); // cannot truncate: it only decreased
        COLLATERAL.safeTransfer(receiver, assets);
        emit LiquidityRemoved(receiver, assets, balance);
    }

    // ================================================================ admin

    /// @inheritdoc IPerpEngine
    function wire(address vault_, address backstop_, address orders_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(vault) != address(0)) revert AlreadyWired();
        ConfigLogic.checkCounterparties(vault_, backstop_, orders_, address(COLLATERAL));
        vault = ILiquidityVault(vault_);
        backstop = IBackstopModule(backstop_);
        orders = orders_;
        emit Wired(vault_, backstop_, orders_);
    }

    /// @inheritdoc IPerpEngine
    function addMarket(
        IPriceOracle oracle,
        MarketConfig calldata config
    ) external onlyRole(MARKET_ADMIN_ROLE) returns (uint256 marketId) {
        marketId = marketCount;
        if (marketId == ConstantsLib.MAX_MARKETS) revert TooManyMarkets(ConstantsLib.MAX_MARKETS);
        ConfigLogic.initMarket(marketId, oracle, config, SCALE);
        marketCount = uint64(marketId + 1); // at most MAX_MARKETS
        emit MarketAdded(marketId, address(oracle), config);
    }

    /// @inheritdoc IPerpEngine
    function setMarketConfig(uint256 marketId, MarketConfig calldata config) external onlyRole(MARKET_ADMIN_ROLE) {
        ConfigLogic.setConfig(marketId, config, SCALE);
    }

    /// @inheritdoc IPerpEngine
    function settleMarket(uint256 marketId, uint80 roundId) external {
        // At the oracle's current price only for the market admin; at a proved last good round for anyone.
        if (roundId == 0) _checkRole(MARKET_ADMIN_ROLE);
        ConfigLogic.settle(marketId, roundId);
    }

    /// @inheritdoc IPerpEngine
    function setBorrowRate(uint256 marketId, uint256 ratePerDay) external onlyRole(MARKET_ADMIN_ROLE) {
        ConfigLogic.setBorrowRate(marketId, ratePerDay);
    }

    /// @inheritdoc IPerpEngine
    function setFeeShares(uint256 backstopShare, uint256 treasuryShare) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 max = ConstantsLib.MAX_PROTOCOL_FEE_SHARE;
        if (backstopShare + treasuryShare > max) {
            revert ParameterOutOfBounds("protocolFeeShare", backstopShare + treasuryShare, 0, max);
        }
        backstopFeeShare = uint64(backstopShare);
        treasuryFeeShare = uint64(treasuryShare);
        emit FeeSharesUpdated(backstopShare, treasuryShare);
    }

    /// @inheritdoc IPerpEngine
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert ZeroAddress();
        treasury = treasury_;
        emit TreasuryUpdated(treasury_);
    }

    /// @inheritdoc IPerpEngine
    function pause() external onlyRole(GUARDIAN_ROLE) {
        _pause();
    }

    /// @inheritdoc IPerpEngine
    function unpause() external onlyRole(GUARDIAN_ROLE) {
        _unpause();
    }

    // ================================================================ views

    /// @inheritdoc IPerpEngine
    function collateral() external view returns (address) {
        return address(COLLATERAL);
    }

    /// @inheritdoc IPerpEngine
    function getPosition(address account, uint256 marketId) external view returns (Position memory) {
        return _positions()[account][marketId];
    }

    /// @inheritdoc IPerpEngine
    function extsload(bytes32 startSlot, uint256 nSlots) external view returns (bytes32[] memory values) {
        values = new bytes32[](nSlots);
        for (uint256 i; i < nSlots; ++i) {
            bytes32 value;
            // Reads storage only; `values` is written through Solidity's own bounds-checked indexing.
            // solhint-disable-next-line no-inline-assembly
            assembly ("memory-safe") {
                value := sload(add(startSlot, i))
            }
            values[i] = value;
        }
    }

    /// @inheritdoc IPerpEngine
    function lpBalance() external view returns (uint128) {
        return _pool().lpBalance;
    }

    /// @inheritdoc IPerpEngine
    function totalReserved() external view returns (uint128) {
        return _pool().totalReserved;
    }

    /// @inheritdoc IPerpEngine
    function marketPrice(uint256 marketId) external view returns (uint256) {
        return _price(_market(marketId));
    }

    /// @inheritdoc IPerpEngine
    function freeLiquidity() public view returns (uint256) {
        Pool storage pool = _pool();
        return MathLib.pos(int256(uint256(pool.lpBalance)) - int256(uint256(pool.totalReserved)));
    }

    // ================================================================ internal: liquidation

    /// @dev Carries out `plan` and emits one event per waterfall step. The keeper fee is transferred by
    /// the caller (once per batch).
    function _execute(
        address account,
        uint256 marketId,
        MarketState storage m,
        Position memory p,
        RiskLib.Plan memory plan,
        uint256 price,
        int256 index,
        address feeRecipient
    ) internal {
        int256 traderLoss = plan.funding - plan.pnlClosed;
        int256 remainingSize;
        uint256 covered;
        if (plan.full) {
            // A bankrupt position's mark is capped (at most what its side's margins can pay), so what the pool
            // receives for it may exceed what the mark counted: that part is a step, and it vests.
            int256 markBefore = plan.badDebt > 0 ? ConfigLogic.mark(m, price, SCALE, DEN) : int256(0);
            _writePosition(account, marketId, m, p, Position(0, 0, 0, 0));
            if (plan.badDebt > 0) covered = backstop.cover(plan.badDebt);
            // The engine holds the margin and now the cover; after paying the keeper, the penalty and the
            // refund, the vault books the rest: the trader's loss less what is socialized.
            int256 received = int256(uint256(p.margin) + covered) - int256(plan.keeperFee + plan.penalty + plan.refund);
            _settleVault(received, true);
            if (plan.badDebt > 0) ConfigLogic.vestStep(m, price, SCALE, DEN, received - markBefore);
        } else {
            remainingSize = p.size > 0 ? p.size - int256(plan.sizeClosed) : p.size + int256(plan.sizeClosed);
            Position memory r = Position(
                remainingSize.toInt128(),
                p.entryPrice,
                plan.newMargin.toUint128(),
                index.toInt128()
            );
            _writePosition(account, marketId, m, p, r);
            _settleVault(traderLoss, true);
        }
        if (plan.penalty > 0) _pool().pendingPenalties += plan.penalty.toUint128();

        emit KeeperPaid(account, marketId, feeRecipient, plan.keeperFee);
        if (plan.penalty > 0) emit PenaltyPaid(account, marketId, plan.penalty);
        emit PositionLiquidated(
            account,
            marketId,
            msg.sender,
            price,
            plan.sizeClosed,
            remainingSize,
            plan.full ? 0 : plan.newMargin,
            traderLoss,
            plan.refund
        );
        if (plan.badDebt > 0) {
            emit BadDebtCovered(account, marketId, plan.badDebt, covered);
            if (plan.badDebt > covered) emit LossSocialized(account, marketId, plan.badDebt - covered);
        }
        _pay(account, plan.refund);
    }

    // ================================================================ internal: positions

    /// @dev Closes `old` at `price` and pays the account its equity less the fee.
    function _close(
        address account,
        uint256 marketId,
        MarketState storage m,
        Position memory old,
        uint256 price
    ) internal returns (uint256 payout) {
        int256 index = _accrueFunding(m, price, old.size > 0);
        MarketConfig memory c = ConfigLib.risk(m.config);
        uint256 absSize = MathLib.abs(old.size);
        int256 funding = PositionMath.funding(old.size, index, old.fundingIndex, DEN);
        uint256 cap = RiskLib.profitCap(c, old.margin, absSize, old.entryPrice, DEN);
        int256 pnl = PositionMath.pnl(old.size, old.entryPrice, price, cap, DEN);
        int256 equity = int256(uint256(old.margin)) + pnl - funding;
        if (equity < 0) revert PositionBankrupt(account, marketId, equity);
        uint256 fee = PositionMath.notional(absSize, price, DEN).wMulUp(c.tradingFeeRatio).min(uint256(equity));
        payout = uint256(equity) - fee;

        _writePosition(account, marketId, m, old, Position(0, 0, 0, 0));
        // The vault receives the trader's loss (margin - equity), or pays their profit when negative.
        _settleVault(funding - pnl, false);
        _chargeFee(fee);
        _pay(account, payout);
        emit PositionModified(account, marketId, -old.size, 0, price, old.entryPrice, 0, pnl, funding, fee);
    }

    /// @dev Replaces `old` by `p` in storage and in the market's aggregates, keeping `totalReserved` equal
    /// to the sum of the markets' reserves. Returns whether `totalReserved` grew (its side's reserve did).
    function _writePosition(
        address account,
        uint256 marketId,
        MarketState storage m,
        Position memory old,
        Position memory p
    ) internal returns (bool reserveGrew) {
        // A position never changes side (open starts it, close ends it), so only its side's reserve moves.
        bool long = old.size > 0 || p.size > 0;
        uint256 im = m.config.initialMarginRatio * ConfigLib.RATIO_UNIT;
        uint256 factor = m.config.maxProfitFactor * ConfigLib.RATIO_UNIT;
        uint256 reserveBefore = _reserveOf(m, long, im, factor);
        _aggregate(m, old, false);
        _aggregate(m, p, true);
        uint256 reserveAfter = _reserveOf(m, long, im, factor);
        Pool storage pool = _pool();
        pool.totalReserved = (pool.totalReserved + reserveAfter - reserveBefore).toUint128();
        reserveGrew = reserveAfter > reserveBefore;
        mapping(uint256 => Position) storage positions = _positions()[account];
        if (p.size == 0) delete positions[marketId];
        else positions[marketId] = p;
    }

    /// @dev Adds `p` to (or removes it from) its market's sums. Each term is computed the same way both
    /// times, so the sums equal the sums over open positions exactly.
    function _aggregate(MarketState storage m, Position memory p, bool add) internal {
        if (p.size == 0) return;
        uint128 absSize = uint128(MathLib.abs(p.size)); // |int128| fits uint128
        uint128 entryNotional = PositionMath.notionalUsd(absSize, p.entryPrice).toUint128();
        int128 checkpoint = ((int256(p.size) * p.fundingIndex) / int256(WAD)).toInt128();
        if (add) {
            m.fundingCheckpointSum += checkpoint;
            if (p.size > 0) {
                m.longSize += absSize;
                m.longEntryNotional += entryNotional;
                m.longMargin = (uint256(m.longMargin) + p.margin).toUint104();
            } else {
                m.shortSize += absSize;
                m.shortEntryNotional += entryNotional;
                m.shortMargin = (uint256(m.shortMargin) + p.margin).toUint104();
            }
        } else {
            m.fundingCheckpointSum -= checkpoint;
            if (p.size > 0) {
                m.longSize -= absSize;
                m.longEntryNotional -= entryNotional;
                m.longMargin -= uint104(p.margin); // was added to the sum, so it fits
            } else {
                m.shortSize -= absSize;
                m.shortEntryNotional -= entryNotional;
                m.shortMargin -= uint104(p.margin); // was added to the sum, so it fits
            }
        }
    }

    /// @dev Checks a position after an open or increase of `traded` size at `price`, and its health at the
    /// `latest` price: a trade executed at its round must not leave a position liquidatable at once.
    function _checkNewRisk(
        MarketState storage m,
        Position memory p,
        uint256 price,
        uint256 latest,
        uint256 traded
    ) internal view {
        MarketConfig memory c = ConfigLib.risk(m.config);
        uint256 absSize = MathLib.abs(p.size);
        uint256 minMargin = m.config.minMargin; // the trade limits: ConfigLib.risk leaves them out
        if (p.margin < minMargin) revert MarginBelowMinimum(p.margin, minMargin);
        uint256 usd = PositionMath.notionalUsd(absSize, price);
        if (usd < c.minNotional) revert NotionalBelowMinimum(usd, c.minNotional);
        uint256 openInterest = (p.size > 0 ? m.longSize : m.shortSize) + traded;
        uint256 maxOpenInterest = m.config.maxOpenInterest;
        if (openInterest > maxOpenInterest) revert OpenInterestCapExceeded(openInterest, maxOpenInterest);

        // ConfigLogic's bounds keep the initial margin at or above the liquidation margin at every notional
        // from the minimum up, so a position that meets it is healthy.
        (int256 equity, ) = RiskLib.health(c, p.size, p.entryPrice, int256(uint256(p.margin)), price, DEN);
        uint256 initialMargin = PositionMath.notional(absSize, price, DEN).wMulUp(c.initialMarginRatio);
        if (equity < int256(initialMargin)) revert InsufficientInitialMargin(equity, initialMargin);
        // At the execution price that implies health; at a latest price that moved against it, check.
        if (latest != price) {
            uint256 liquidationMargin;
            (equity, liquidationMargin) = RiskLib.health(
                c,
                p.size,
                p.entryPrice,
                int256(uint256(p.margin)),
                latest,
                DEN
            );
            if (equity < int256(liquidationMargin)) revert PositionWouldBeLiquidatable(equity, liquidationMargin);
        }
    }

    /// @dev The trading fee on `traded` size at `price`, rounded up.
    function _tradingFee(MarketState storage m, uint256 traded, uint256 price) internal view returns (uint256) {
        return PositionMath.notional(traded, price, DEN).wMulUp(m.config.tradingFeeRatio * ConfigLib.RATIO_UNIT);
    }

    // ================================================================ internal: markets and money

    /// @dev The markets (EngineStorage).
    function _markets() private view returns (mapping(uint256 => MarketState) storage) {
        return EngineStorage.load().markets;
    }

    /// @dev The positions (EngineStorage).
    function _positions() private view returns (mapping(address => mapping(uint256 => Position)) storage) {
        return EngineStorage.load().positions;
    }

    /// @dev The LP pool's ledger (EngineStorage).
    function _pool() private view returns (Pool storage) {
        return EngineStorage.load().pool;
    }

    /// @dev Market `marketId`, which must exist (EngineStorage.existingMarket).
    function _market(uint256 marketId) internal view returns (MarketState storage) {
        return EngineStorage.existingMarket(marketId);
    }

    /// @dev Market `marketId`, which must exist and not be settled (EngineStorage.openMarket).
    function _open(uint256 marketId) internal view returns (MarketState storage) {
        return EngineStorage.openMarket(marketId);
    }

    /// @dev A market's price: its oracle's, or the settlement price once settled (its feed is never read
    /// again).
    function _price(MarketState storage m) internal view returns (uint256) {
        return m.lastFundingTime == SETTLED ? m.settlementPrice : m.oracle.price();
    }

    function _existing(address account, uint256 marketId) internal view returns (Position memory p) {
        p = _positions()[account][marketId];
        if (p.size == 0) revert NoPosition(account, marketId);
    }

    /// @dev The account's position, which must be on the side of `signed` (the order book's requests carry
    /// the side they were made for, and price their execution by it).
    function _onSide(address account, uint256 marketId, int256 signed) internal view returns (Position memory p) {
        p = _existing(account, marketId);
        if ((p.size > 0) != (signed > 0) || signed == 0) revert WrongSide(account, marketId, p.size);
    }

    /// @dev Moves the funding and borrow indexes to now at `price` and returns the index a position on the
    /// `long` side settles against (`_sideIndex`).
    function _accrueFunding(MarketState storage m, uint256 price, bool long) internal returns (int256) {
        (int256 index, uint256 borrow) = _accrue(m, price);
        return _sideIndex(index, borrow, long);
    }

    /// @dev Moves the funding index and the borrow index to now at `price` and returns both (AccrualLib).
    function _accrue(MarketState storage m, uint256 price) internal returns (int256 index, uint256 borrow) {
        return AccrualLib.accrue(m, _pool(), price);
    }

    /// @dev The index a position on the `long` side settles against, from the borrow index as stored
    /// (AccrualLib.sideIndex).
    function _sideIndex(int256 index, uint256 borrow, bool long) internal pure returns (int256) {
        return AccrualLib.sideIndex(index, borrow * PositionMath.BORROW_UNIT, long);
    }

    function _reserveOf(MarketState storage m, bool long, uint256 im, uint256 factor) internal view returns (uint256) {
        (uint256 margin, uint256 entryNotional) = long
            ? (m.longMargin, m.longEntryNotional)
            : (m.shortMargin, m.shortEntryNotional);
        return MarketLib.sideReserve(margin, entryNotional, im, factor, DEN);
    }

    /// @dev New positions must leave every open position's capped profit payable from the LP pool.
    function _checkReserve() internal view {
        Pool storage pool = _pool();
        (uint256 reserved, uint256 balance) = (pool.totalReserved, pool.lpBalance);
        if (reserved > balance) revert InsufficientLiquidity(reserved, balance);
    }

    /// @dev Books `delta` to the LP pool (positive: the vault gains). A trader action that would overdraw
    /// the pool reverts; a liquidation (`saturate`) never does, and the pool then stops at zero.
    function _settleVault(int256 delta, bool saturate) internal {
        Pool storage pool = _pool();
        int256 balance = int256(uint256(pool.lpBalance)) + delta;
        if (balance < 0) {
            if (!saturate) revert InsufficientLiquidity(MathLib.abs(delta), pool.lpBalance);
            emit PoolShortfall(uint256(-balance));
            balance = 0;
        }
        pool.lpBalance = uint256(balance).toUint128();
    }

    /// @dev Splits a trading fee: the protocol's part (rounded down) waits for `distributeFees`; the rest
    /// goes to the LP pool at once.
    function _chargeFee(uint256 fee) internal {
        if (fee == 0) return;
        uint256 protocolPart = fee.wMulDown(uint256(backstopFeeShare) + treasuryFeeShare);
        Pool storage pool = _pool();
        pool.pendingProtocolFees += protocolPart.toUint128();
        pool.lpBalance += (fee - protocolPart).toUint128();
    }

    /// @dev Pays `amount` to `account`; if the token refuses (a blocklist), it waits in `claimable`.
    function _pay(address account, uint256 amount) internal {
        if (amount == 0) return;
        if (!COLLATERAL.trySafeTransfer(account, amount)) {
            claimable[account] += amount;
            emit RefundDeferred(account, amount);
        }
    }

    /// @dev Pulls `amount` from `from`, refusing tokens that deliver less than asked (fee on transfer).
    function _pull(address from, uint256 amount) internal {
        uint256 before = COLLATERAL.balanceOf(address(this));
        COLLATERAL.safeTransferFrom(from, address(this), amount);
        uint256 received = COLLATERAL.balanceOf(address(this)) - before;
        if (received != amount) revert TransferAmountMismatch(amount, received);
    }
}
