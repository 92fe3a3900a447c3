import type {
  ContractFuture,
  IgnitionModuleBuilder,
  ModuleParameterRuntimeValue,
} from "@nomicfoundation/ignition-core";
import { id, ZeroAddress } from "ethers";

export const MARKET_ADMIN_ROLE = id("MARKET_ADMIN_ROLE");
export const GUARDIAN_ROLE = id("GUARDIAN_ROLE");

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
 * Roles: the deployer keeps DEFAULT_ADMIN_ROLE on the engine and the backstop; it holds
 * MARKET_ADMIN_ROLE only while it adds the two markets, renounces it, and then MARKET_ADMIN_ROLE and
 * GUARDIAN_ROLE go to the configured holders (the deployer by default) and to nobody else.
 */
export function buildSystem(m: IgnitionModuleBuilder, inputs: SystemInputs) {
  const deployer = m.getAccount(0);
  const treasury = m.getParameter("treasury", deployer);
  const marketAdmin = m.getParameter("marketAdmin", deployer);
  const guardian = m.getParameter("guardian", deployer);
  const sequencerFeed = m.getParameter("sequencerFeed", ZeroAddress);
  const gracePeriod = m.getParameter("sequencerGracePeriod", 3_600n);

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
  const engine = m.contract("PerpEngine", [collateral, deployer, treasury]);
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

  const wire = m.call(engine, "wire", [vault, backstop]);
  const selfGrant = m.call(engine, "grantRole", [MARKET_ADMIN_ROLE, deployer], { id: "GrantDeployerMarketAdmin" });
  const addEth = m.call(engine, "addMarket", [ethOracle, m.getParameter("ethConfig")], {
    id: "AddEthUsdMarket",
    after: [wire, selfGrant],
  });
  const addBtc = m.call(engine, "addMarket", [btcOracle, m.getParameter("btcConfig")], {
    id: "AddBtcUsdMarket",
    after: [addEth],
  });
  const renounce = m.call(engine, "renounceRole", [MARKET_ADMIN_ROLE, deployer], {
    id: "RenounceDeployerMarketAdmin",
    after: [addBtc],
  });
  m.call(engine, "grantRole", [MARKET_ADMIN_ROLE, marketAdmin], { id: "GrantMarketAdmin", after: [renounce] });
  m.call(engine, "grantRole", [GUARDIAN_ROLE, guardian], { id: "GrantGuardian", after: [renounce] });

  return { engine, vault, backstop, lens, ethOracle, btcOracle };
}
