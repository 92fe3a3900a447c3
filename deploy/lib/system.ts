import type {
  ContractFuture,
  IgnitionModuleBuilder,
  ModuleParameterRuntimeValue,
} from "@nomicfoundation/ignition-core";
import { id, ZeroAddress, ZeroHash } from "ethers";

export const MARKET_ADMIN_ROLE = id("MARKET_ADMIN_ROLE");
/** 0.025 % of notional a day: 10.1 % a year of what a position opened at 10 % margin reserves at a 9x cap. */
export const BORROW_RATE_PER_DAY = 250_000_000_000_000n;
export const GUARDIAN_ROLE = id("GUARDIAN_ROLE");
export const DEFAULT_ADMIN_ROLE = ZeroHash;
export const CANCELLER_ROLE = id("CANCELLER_ROLE");
/** The order book's executors: only they execute trade and LP requests (IOrderBook.isExecutor). */
export const EXECUTOR_ROLE = id("EXECUTOR_ROLE");

/** An address the module reads from its parameters, or a contract another module deploys. */
type AddressInput = ContractFuture<string> | ModuleParameterRuntimeValue<string>;

export interface SystemInputs {
  collateral: AddressInput;
  ethFeed: AddressInput;
  btcFeed: AddressInput;
}

/**
 * The Bulwark system on top of a collateral token and two Chainlink feeds, shared by the `Bulwark`
 * (addresses from parameters) and `LocalBulwark` (mock token and feeds) modules so that both deploy and
 * wire exactly the same thing. Parameters are read in the calling module's namespace.
 *
 * Roles: every admin lever sits behind OpenZeppelin's TimelockController, whose delay is the
 * `timelockDelay` parameter (0 only on hardhat and localhost; the deployment verifier refuses less than
 * two days elsewhere). The deployer holds DEFAULT_ADMIN_ROLE on the engine and the backstop only while it
 * wires the system and adds the two markets; then MARKET_ADMIN_ROLE and DEFAULT_ADMIN_ROLE of both go to
 * the timelock, GUARDIAN_ROLE (an immediate pause of new risk, nothing else) to the configured guardian,
 * and the deployer renounces everything. The timelock administers itself; its proposers and executors are
 * the `timelockProposer` and `timelockExecutor` parameters (the deployer by default), and the guardian may
 * cancel any scheduled call (CANCELLER_ROLE, granted by the deployer, who then renounces the timelock's
 * admin role: a guardian who sees a harmful change scheduled stops it without waiting on the proposers).
 *
 * The OrderBook (two-step trading: a request now, an execution at the first oracle round `orderMinDelay`
 * seconds later) is the engine's third wired address. The deployer holds its DEFAULT_ADMIN_ROLE (its
 * parameters: `orderMinDelay` and `orderMaxAge` in seconds, `minExecutionFee` in collateral units, and each
 * market's design gap) only until it has set the markets' design gaps (`ethDesignGap`, `btcDesignGap`:
 * 18-decimal shares of the price, zero by default, 0.35e18 in the testnets' parameter files; see
 * docs/ARCHITECTURE.md, "The gap guard"); then the role goes to the timelock and the deployer renounces it. The book prices execution gas
 * with the ETH-USD oracle (the gas token's price) and the `executionGas` estimates (`EXECUTION_GAS` unless a
 * parameter file gives them): a request's fee must pay its execution's gas at its own gas price. Only the book's executors
 * (EXECUTOR_ROLE) execute trade and LP requests, so that no requester chooses when (docs/ORACLE.md); the
 * constructor grants it to the `orderExecutor` parameter (the keeper's account; the deployer by default, so
 * that the local keeper runs from the first block), and later grants (a second keeper, the forwarders of Chainlink
 * Automation upkeeps) and revocations go through the timelock, the book's admin.
 *
 * The two Chainlink Automation upkeeps (docs/OPERATIONS.md, "Chainlink Automation") are deployed on every network,
 * once the engine is wired (their constructors read the book, the vault and the collateral from it):
 * `LiquidationUpkeep` and `ExecutionUpkeep`, both paying what they earn to `upkeepFeeRecipient` (the deployer by
 * default, as the treasury). `ExecutionUpkeep` executes as an executor of the book, so the deployer grants it
 * EXECUTOR_ROLE in the same window as the design gaps, before the book's admin goes to the timelock; the
 * registry forwarders that may drive it are granted the role later, through the timelock (`npx hardhat upkeeps`).
 */
/**
 * The gas an execution of each class is expected to cost (`OrderBook.executionGas`): the keeper's estimate
 * for one execution of the costliest request of the class, measured on the in-process network (docs/GAS.md),
 * plus headroom.
 */
export const EXECUTION_GAS = { open: 270_000n, close: 210_000n, lp: 220_000n, lpPerMarket: 40_000n };

export function buildSystem(m: IgnitionModuleBuilder, inputs: SystemInputs) {
  const deployer = m.getAccount(0);
  const treasury = m.getParameter("treasury", deployer);
  const timelockDelay = m.getParameter<bigint>("timelockDelay");
  const proposer = m.getParameter("timelockProposer", deployer);
  const executor = m.getParameter("timelockExecutor", deployer);
  const guardian = m.getParameter("guardian", deployer);
  const sequencerFeed = m.getParameter("sequencerFeed", ZeroAddress);
  const gracePeriod = m.getParameter("sequencerGracePeriod", 3_600n);
  const orderExecutor = m.getParameter("orderExecutor", deployer);
  const upkeepFeeRecipient = m.getParameter("upkeepFeeRecipient", deployer);

  const oracle = (market: "eth" | "btc", feed: AddressInput) =>
    m.contract(
      "ChainlinkOracle",
      [
        feed,
        m.getParameter(`${market}MaxAge`),
        m.getParameter(`${market}MinPrice`),
        m.getParameter(`${market}MaxPrice`),
        sequencerFeed,
        gracePeriod,
      ],
      { id: market === "eth" ? "EthUsdOracle" : "BtcUsdOracle" },
    );
  const ethOracle = oracle("eth", inputs.ethFeed);
  const btcOracle = oracle("btc", inputs.btcFeed);

  const { collateral } = inputs;
  const configLogic = m.library("ConfigLogic");
  const engine = m.contract("PerpEngine", [collateral, deployer, treasury], {
    libraries: { ConfigLogic: configLogic },
  });
  const vault = m.contract("LiquidityVault", [
    collateral,
    engine,
    m.getParameter("vaultName", "Bulwark LP"),
    m.getParameter("vaultSymbol", "bwLP"),
  ]);
  const backstop = m.contract("BackstopModule", [
    collateral,
    engine,
    deployer,
    m.getParameter("backstopName", "Bulwark Backstop"),
    m.getParameter("backstopSymbol", "bwBACK"),
  ]);
  const lens = m.contract("PerpLens", [engine]);
  const timelock = m.contract("TimelockController", [timelockDelay, [proposer], [executor], deployer], {
    id: "Timelock",
  });
  const guardianCancels = m.call(timelock, "grantRole", [CANCELLER_ROLE, guardian], { id: "GrantGuardianCanceller" });
  m.call(timelock, "renounceRole", [DEFAULT_ADMIN_ROLE, deployer], {
    id: "RenounceDeployerTimelockAdmin",
    after: [guardianCancels],
  });
  const orderBook = m.contract("OrderBook", [
    engine,
    deployer,
    ethOracle, // the gas token's price, to turn execution gas into collateral
    m.getParameter<bigint>("orderMinDelay"),
    m.getParameter<bigint>("orderMaxAge"),
    m.getParameter<bigint>("minExecutionFee"),
    m.getParameter("executionGas", EXECUTION_GAS),
    [orderExecutor],
  ]);

  const wire = m.call(engine, "wire", [vault, backstop, orderBook]);
  // Chainlink Automation: each upkeep reads the engine's wiring in its constructor.
  const liquidationUpkeep = m.contract("LiquidationUpkeep", [lens, upkeepFeeRecipient], { after: [wire] });
  const executionUpkeep = m.contract("ExecutionUpkeep", [lens, upkeepFeeRecipient], { after: [wire] });
  const selfGrant = m.call(engine, "grantRole", [MARKET_ADMIN_ROLE, deployer], { id: "GrantDeployerMarketAdmin" });
  const addEth = m.call(engine, "addMarket", [ethOracle, m.getParameter("ethConfig")], {
    id: "AddEthUsdMarket",
    after: [wire, selfGrant],
  });
  const addBtc = m.call(engine, "addMarket", [btcOracle, m.getParameter("btcConfig")], {
    id: "AddBtcUsdMarket",
    after: [addEth],
  });
  // Borrowing on reserved liquidity from the first block (ARCHITECTURE.md, "Borrowing"): later changes go
  // through the timelock.
  const borrowRate = m.getParameter<bigint>("borrowRatePerDay", BORROW_RATE_PER_DAY);
  const borrowEth = m.call(engine, "setBorrowRate", [0n, borrowRate], { id: "SetEthUsdBorrowRate", after: [addBtc] });
  // The gap guard of each market (the order book checks new risk against the backstop's window capacity).
  const gapEth = m.call(orderBook, "setDesignGap", [0n, m.getParameter<bigint>("ethDesignGap", 0n)], {
    id: "SetEthUsdDesignGap",
    after: [addBtc],
  });
  const gapBtc = m.call(orderBook, "setDesignGap", [1n, m.getParameter<bigint>("btcDesignGap", 0n)], {
    id: "SetBtcUsdDesignGap",
    after: [addBtc],
  });
  // The execution upkeep executes as an executor of the book (its forwarders are granted later, by the timelock).
  const upkeepExecutes = m.call(orderBook, "grantRole", [EXECUTOR_ROLE, executionUpkeep], {
    id: "GrantExecutionUpkeepExecutor",
  });
  const bookToTimelock = m.call(orderBook, "grantRole", [DEFAULT_ADMIN_ROLE, timelock], {
    id: "GrantTimelockOrderBookAdmin",
    after: [gapEth, gapBtc, upkeepExecutes],
  });
  m.call(orderBook, "renounceRole", [DEFAULT_ADMIN_ROLE, deployer], {
    id: "RenounceDeployerOrderBookAdmin",
    after: [bookToTimelock],
  });
  const borrowBtc = m.call(engine, "setBorrowRate", [1n, borrowRate], { id: "SetBtcUsdBorrowRate", after: [addBtc] });
  const renounce = m.call(engine, "renounceRole", [MARKET_ADMIN_ROLE, deployer], {
    id: "RenounceDeployerMarketAdmin",
    after: [borrowEth, borrowBtc],
  });
  const grants = [
    m.call(engine, "grantRole", [MARKET_ADMIN_ROLE, timelock], { id: "GrantTimelockMarketAdmin", after: [renounce] }),
    m.call(engine, "grantRole", [GUARDIAN_ROLE, guardian], { id: "GrantGuardian", after: [renounce] }),
    m.call(engine, "grantRole", [DEFAULT_ADMIN_ROLE, timelock], { id: "GrantTimelockEngineAdmin", after: [renounce] }),
    m.call(backstop, "grantRole", [DEFAULT_ADMIN_ROLE, timelock], { id: "GrantTimelockBackstopAdmin" }),
  ];
  m.call(engine, "renounceRole", [DEFAULT_ADMIN_ROLE, deployer], { id: "RenounceDeployerEngineAdmin", after: grants });
  m.call(backstop, "renounceRole", [DEFAULT_ADMIN_ROLE, deployer], {
    id: "RenounceDeployerBackstopAdmin",
    after: grants,
  });

  return {
    engine,
    vault,
    backstop,
    lens,
    orderBook,
    ethOracle,
    btcOracle,
    timelock,
    configLogic,
    liquidationUpkeep,
    executionUpkeep,
  };
}
