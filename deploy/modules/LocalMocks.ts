import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Test doubles for local networks only: a mintable collateral token and two Chainlink
 * MockV3Aggregator feeds (8 decimals) for ETH/USD and BTC/USD.
 */
export default buildModule("LocalMocks", (m) => {
  const collateral = m.contract("MockERC20", [
    m.getParameter("collateralName", "Mock USD"),
    m.getParameter("collateralSymbol", "mUSD"),
    m.getParameter("collateralDecimals", 6n),
  ]);
  const feedDecimals = m.getParameter("feedDecimals", 8n);
  const ethFeed = m.contract(
    "MockV3Aggregator",
    [feedDecimals, m.getParameter("ethInitialAnswer", 3_000n * 10n ** 8n)],
    {
      id: "EthUsdFeed",
    },
  );
  const btcFeed = m.contract(
    "MockV3Aggregator",
    [feedDecimals, m.getParameter("btcInitialAnswer", 60_000n * 10n ** 8n)],
    {
      id: "BtcUsdFeed",
    },
  );
  return { collateral, ethFeed, btcFeed };
});
