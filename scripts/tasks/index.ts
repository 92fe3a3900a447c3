import { emptyTask, task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

// Every option is read as text and checked by the tool itself (scripts/lib/chain/cli.ts), so that a bad value gets
// the same one-line error, exit code and --json shape as every other mistake. Options a tool cannot run
// without say "required" in their description (Hardhat's help has no required options).
const text = (name: string, description: string) => ({
  name,
  description,
  type: ArgumentType.STRING_WITHOUT_DEFAULT,
  defaultValue: undefined,
});

const FROM =
  "Signer: an account index of the network (default: 0, its first account) or the keystore name of a private key";

// Every tool prints a human-readable summary by default and one JSON object with --json.
function toolTask(id: string[], description: string) {
  return task(id, description)
    .addFlag({ name: "json", description: "Print one JSON object instead of text (errors: one object on stderr)" })
    .addOption(text("deploymentId", "Ignition deployment id (default: chain-<chainId>)"))
    .addOption(text("from", FROM));
}

function timelockOptions<T extends ReturnType<typeof toolTask>>(t: T) {
  return t
    .addFlag({ name: "viaTimelock", description: "Schedule the call on the timelock instead of sending it" })
    .addOption(text("delay", "Timelock delay, e.g. 2d or 3600 (default: the timelock's minimum)"))
    .addOption(text("salt", "Timelock salt, 32 bytes of hex (default: random)"))
    .addOption(text("timelock", "Timelock address (default: the deployment's Timelock)"));
}

export const bulwarkTasks = [
  task(
    "keeper",
    "Liquidate unhealthy positions, execute (or, once expired, cancel) order requests when their fees beat the gas cost, and LP requests",
  )
    .addOption(text("feeRecipient", "Receives keeper fees (default: the signer)"))
    .addOption(text("minProfit", "Minimum profit per batch, in collateral tokens (default: 0)"))
    .addOption(text("batchSize", "Positions per transaction, 1 to 200 (default: 20)"))
    .addOption(text("pollInterval", "Milliseconds between polls, 100 or more (default: 4000)"))
    .addOption(text("startBlock", "First block to scan for positions (default: the deployment's first block)"))
    .addOption(text("iterations", "Stop after N polls (default: 0, run until Ctrl-C)"))
    .addOption(text("concurrency", "Parallel eth_calls when checking positions, 1 to 256 (default: 32)"))
    .addOption(text("gasPrice", "Gas price in gwei to price the keeper's gas at (default: the node's fee data)"))
    .addOption(text("deploymentId", "Ignition deployment id (default: chain-<chainId>)"))
    .addOption(text("from", FROM))
    .addOption(text("risk", "A gap in percent: log the book's bad debt at it and the backstop's capacity each block"))
    .addFlag({ name: "dryRun", description: "Log what would be liquidated, executed or cancelled, send nothing" })
    .addFlag({ name: "json", description: "One JSON object per block on stdout" })
    .setAction(() => import("./keeper.js"))
    .build(),

  emptyTask(
    "orders",
    "Two-step trading: request a trade (a keeper executes it at the next oracle round), list, cancel",
  ).build(),
  toolTask(["orders", "request"], "Request a trade; escrows the collateral and an execution fee for the keeper")
    .addOption(text("market", "Market id, 0 (ETH-USD) or 1 (BTC-USD) (required)"))
    .addOption(text("kind", "open, increase, reduce, close or remove-margin (required)"))
    .addOption(text("side", "long or short (required to open; default: the position's side)"))
    .addOption(text("size", "Size in base units, e.g. 1.5 (open, increase, reduce)"))
    .addOption(text("amount", "Tokens: collateral to escrow (open, increase: margin plus fee) or margin to remove"))
    .addOption(text("acceptablePrice", "Worst price in USD at which it may execute (default: --slippage from now)"))
    .addOption(
      text("slippage", "Percent from the oracle's price for the default bound, e.g. 0.5 or 50bps (default: 1)"),
    )
    .addOption(text("executionFee", "Tokens paid to the keeper (default: the book's minimum, or the gas cost if more)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.ordersRequest })))
    .build(),
  toolTask(["orders", "list"], "Pending requests with their state: waiting for a round, ready, or expired")
    .addOption(text("account", "Only this account's (default: everyone's)"))
    .addOption(text("market", "Only this market's"))
    .addOption(text("fromBlock", "First block to scan for requests (default: 0)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.ordersList })))
    .build(),
  toolTask(["orders", "cancel"], "Cancel an expired request (anyone may): escrow and fee back to its owner")
    .addOption(text("market", "Market id of the request (required)"))
    .addOption(text("account", "Whose request (default: the signer)"))
    .addOption(text("fromBlock", "First block to scan for the request's OrderRequested event (default: 0)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.ordersCancel })))
    .build(),

  emptyTask("backstop", "Backstop staker tools").build(),
  toolTask(["backstop", "stake"], "Stake collateral into the backstop")
    .addOption(text("amount", "Collateral to stake in tokens, e.g. 1000.5 (required)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.stake })))
    .build(),
  toolTask(["backstop", "cooldown"], "Request the redemption of shares: the cooldown starts (default: all)")
    .addOption(text("shares", "Shares to cool down, e.g. 1000.5 (default: all; adds to a request and restarts it)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.cooldown })))
    .build(),
  toolTask(["backstop", "unstake"], "Redeem shares in the unstake window (default: all cooled down)")
    .addOption(text("shares", "Shares to redeem, e.g. 1000.5 (default: all in cooldown)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.unstake })))
    .build(),
  toolTask(["backstop", "cancel"], "Cancel the cooldown: its shares come back to the wallet at once")
    .setAction(() => import("./actions.js").then((m) => ({ default: m.cancel })))
    .build(),
  toolTask(["backstop", "status"], "A staker's cooldown timeline, value, income streaming, coverage")
    .addOption(text("account", "Staker (default: the signer)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.stakerStatus })))
    .build(),

  emptyTask("lp", "Liquidity provider tools").build(),
  toolTask(
    ["lp", "deposit"],
    "Deposit collateral into the LiquidityVault (by request while a market has positions: `lp execute` executes it)",
  )
    .addOption(text("amount", "Collateral to deposit in tokens (required)"))
    .addOption(text("slippage", "By request: the least shares accepted, percent below the preview (default: 1)"))
    .addOption(text("executionFee", "By request: the keeper's fee in tokens (default: the order book's minimum)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.lpDeposit })))
    .build(),
  toolTask(
    ["lp", "withdraw"],
    "Withdraw collateral from the LiquidityVault (by request while a market has positions: `lp execute` executes it)",
  )
    .addOption(text("amount", "Collateral to withdraw in tokens (this or --shares)"))
    .addOption(text("shares", "Or LP shares to redeem"))
    .addOption(text("slippage", "By request: the least assets accepted, percent below the preview (default: 1)"))
    .addOption(text("executionFee", "By request: the keeper's fee in tokens (default: the order book's minimum)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.lpWithdraw })))
    .build(),
  toolTask(["lp", "execute"], "Execute a pending LP request at the first round after its delay (executors only)")
    .addOption(text("account", "Whose request (default: the signer)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.lpExecute })))
    .build(),
  toolTask(["lp", "claim"], "Claim the signer's executed redemption once its hold (an hour) is over")
    .addOption(text("to", "Receiver (default: the signer)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.lpClaim })))
    .build(),
  toolTask(["lp", "cancel"], "Cancel an expired LP request: its escrow goes back to its owner (anyone may)")
    .addOption(text("account", "Whose request (default: the signer)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.lpCancel })))
    .build(),
  toolTask(["lp", "status"], "An LP's shares, value, what can be withdrawn now and a pending LP request")
    .addOption(text("account", "LP (default: the signer)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.lpStatus })))
    .build(),

  toolTask(["risk"], "The book's bad debt at each gap beside what the backstop can cover in its window now")
    .addOption(text("gap", "Gaps in percent, every market down and up (default: 20,35,50)"))
    .addOption(text("page", "Accounts per lens call (default: 200)"))
    .addOption(text("fromBlock", "Scan position events from this block (default: the deployment's)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.risk })))
    .build(),

  timelockOptions(
    toolTask(
      ["upkeeps"],
      "What to register with Chainlink Automation for each upkeep, and the timelock grants for their forwarders",
    ),
  )
    .addOption(
      text("forwarder", "Forwarders of the registered execution upkeeps, comma-separated: print (or schedule) grants"),
    )
    .addOption(text("pages", "Liquidation upkeeps, each checking a page of about 300 positions (default: 1)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.upkeeps })))
    .build(),

  emptyTask("operator", "Market admin and guardian tools").build(),
  timelockOptions(toolTask(["operator", "add-market"], "Add a market with an oracle and a config JSON file"))
    .addOption(text("oracle", "The market's ChainlinkOracle (required)"))
    .addOption(text("configFile", 'JSON file with the MarketConfig, "123n" bigints (required)'))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.addMarket })))
    .build(),
  timelockOptions(toolTask(["operator", "set"], "Change one field of a market's config (checked against the bounds)"))
    .addOption(text("market", "Market id (required)"))
    .addOption(text("field", "MarketConfig field, e.g. maintenanceMarginRatio (required)"))
    .addOption(text("value", "New value in the field's unit: 4% for ratios, 2.5 for tokens, 9x (required)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.setParameter })))
    .build(),
  toolTask(["operator", "pause"], "Pause new risk (guardian)")
    .setAction(() => import("./actions.js").then((m) => ({ default: m.pause })))
    .build(),
  toolTask(["operator", "unpause"], "Unpause (guardian)")
    .setAction(() => import("./actions.js").then((m) => ({ default: m.unpause })))
    .build(),
  toolTask(["operator", "status"], "Markets' open interest, skew, funding; vault and backstop assets")
    .setAction(() => import("./actions.js").then((m) => ({ default: m.systemStatus })))
    .build(),

  emptyTask(["operator", "timelock"], "Schedule, list and execute timelock operations").build(),
  timelockOptions(toolTask(["operator", "timelock", "schedule"], "Schedule a call to a contract on the timelock"))
    .addOption(text("target", "engine, backstop, vault, orderBook, … or an address (required)"))
    .addOption(text("call", "Function signature, e.g. 'setTreasury(address)' (required)"))
    .addOption(text("args", "Arguments as a JSON array (default: [])"))
    .addOption(text("value", "Wei sent with the call (default: 0)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.timelockSchedule })))
    .build(),
  toolTask(["operator", "timelock", "list"], "Pending, ready and done operations with their ETA")
    .addOption(text("fromBlock", "First block to scan (default: 0)"))
    .addOption(text("timelock", "Timelock address (default: the deployment's Timelock)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.timelockList })))
    .build(),
  toolTask(["operator", "timelock", "execute"], "Execute a ready operation")
    .addOption(text("id", "Operation id from `operator timelock list` (required)"))
    .addOption(text("fromBlock", "First block to scan for it (default: 0)"))
    .addOption(text("timelock", "Timelock address (default: the deployment's Timelock)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.timelockExecute })))
    .build(),

  emptyTask("local", "Local playground: mock collateral, mock prices, time (local networks only)").build(),
  toolTask(["local", "fund"], "Mint mock collateral to an account")
    .addOption(text("amount", "Collateral to mint in tokens (required)"))
    .addOption(text("account", "Receiver (default: the signer)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.localFund })))
    .build(),
  toolTask(["local", "price"], "Set or move a mock feed's price (a new round)")
    .addOption(text("market", "Market id, 0 (ETH-USD) or 1 (BTC-USD) (required)"))
    .addOption(text("price", "New price in USD, e.g. 2760"))
    .addOption(text("move", "Or a move in percent, e.g. -8 or +5%"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.localPrice })))
    .build(),
  toolTask(["local", "refresh"], "Post every mock feed's last price again, so no feed is stale")
    .setAction(() => import("./actions.js").then((m) => ({ default: m.localRefresh })))
    .build(),
  toolTask(["local", "time"], "Advance the local chain's clock")
    .addOption(text("seconds", "Seconds (or 3600, 45min, 12h, 7d) to advance"))
    .addFlag({ name: "toWindow", description: "Advance to the signer's (or --account's) unstake window" })
    .addOption(text("account", "Staker whose unstake window --to-window uses (default: the signer)"))
    .setAction(() => import("./actions.js").then((m) => ({ default: m.localTime })))
    .build(),
  toolTask(["local", "seed"], "LPs, a staker, 6 positions, ETH -8 % (once; a second run changes nothing)")
    .setAction(() => import("./actions.js").then((m) => ({ default: m.localSeed })))
    .build(),
];
