import { emptyTask, task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

// Every tool prints a human-readable summary by default and one JSON object with --json.
function toolTask(id: string[], description: string) {
  return task(id, description)
    .addFlag({ name: "json", description: "Print one JSON object instead of text" })
    .addOption({
      name: "deploymentId",
      description: "Ignition deployment id (default chain-<chainId>)",
      defaultValue: "",
    });
}

export const bulwarkTasks = [
  task("keeper", "Watch positions and liquidate unhealthy ones when the keeper fee beats the gas cost")
    .addOption({ name: "feeRecipient", description: "Receives keeper fees (default: the signer)", defaultValue: "" })
    .addOption({ name: "minProfit", description: "Minimum profit per batch, in collateral", defaultValue: "0" })
    .addOption({ name: "batchSize", type: ArgumentType.INT, description: "Positions per tx", defaultValue: 20 })
    .addOption({ name: "pollInterval", type: ArgumentType.INT, description: "Milliseconds", defaultValue: 4000 })
    .addOption({ name: "startBlock", type: ArgumentType.INT, description: "First block to scan", defaultValue: 0 })
    .addOption({
      name: "iterations",
      type: ArgumentType.INT,
      description: "Stop after N polls (0: run forever)",
      defaultValue: 0,
    })
    .addOption({ name: "deploymentId", description: "Ignition deployment id", defaultValue: "" })
    .addFlag({ name: "dryRun", description: "Log what would be liquidated, send nothing" })
    .setAction(() => import("./keeper.js"))
    .build(),

  emptyTask("backstop", "Backstop staker tools").build(),
  toolTask(["backstop", "stake"], "Stake collateral into the backstop")
    .addOption({ name: "amount", description: "Collateral to stake (e.g. 1000.5)", defaultValue: "" })
    .setAction(() => import("./backstop-stake.js"))
    .build(),
  toolTask(["backstop", "cooldown"], "Start the cooldown for shares (default: all)")
    .addOption({ name: "shares", description: "Shares in base units (default: all)", defaultValue: "" })
    .setAction(() => import("./backstop-cooldown.js"))
    .build(),
  toolTask(["backstop", "unstake"], "Redeem shares in the unstake window (default: all cooled down)")
    .addOption({ name: "shares", description: "Shares in base units (default: all in cooldown)", defaultValue: "" })
    .setAction(() => import("./backstop-unstake.js"))
    .build(),
  toolTask(["backstop", "status"], "A staker's cooldown timeline, value, income streaming, coverage")
    .addOption({ name: "account", description: "Staker (default: the signer)", defaultValue: "" })
    .setAction(() => import("./backstop-status.js"))
    .build(),

  emptyTask("lp", "Liquidity provider tools").build(),
  toolTask(["lp", "deposit"], "Deposit collateral into the LiquidityVault")
    .addOption({ name: "amount", description: "Collateral to deposit", defaultValue: "" })
    .setAction(() => import("./lp-deposit.js"))
    .build(),
  toolTask(["lp", "withdraw"], "Withdraw collateral from the LiquidityVault")
    .addOption({ name: "amount", description: "Collateral to withdraw", defaultValue: "" })
    .setAction(() => import("./lp-withdraw.js"))
    .build(),
  toolTask(["lp", "status"], "An LP's shares, value and what can be withdrawn now")
    .addOption({ name: "account", description: "LP (default: the signer)", defaultValue: "" })
    .setAction(() => import("./lp-status.js"))
    .build(),

  emptyTask("operator", "Market admin and guardian tools").build(),
  toolTask(["operator", "add-market"], "Add a market with an oracle and a config JSON file")
    .addOption({ name: "oracle", description: "The market's ChainlinkOracle", defaultValue: "" })
    .addOption({
      name: "configFile",
      description: 'JSON file with the MarketConfig ("123n" bigints)',
      defaultValue: "",
    })
    .setAction(() => import("./operator-add-market.js"))
    .build(),
  toolTask(["operator", "set"], "Change one field of a market's config (checked against the bounds)")
    .addOption({ name: "market", type: ArgumentType.INT, description: "Market id", defaultValue: 0 })
    .addOption({ name: "field", description: "MarketConfig field, e.g. maintenanceMarginRatio", defaultValue: "" })
    .addOption({ name: "value", description: "New value in the field's raw units", defaultValue: "" })
    .setAction(() => import("./operator-set.js"))
    .build(),
  toolTask(["operator", "pause"], "Pause new risk (guardian)")
    .setAction(() => import("./operator-pause.js"))
    .build(),
  toolTask(["operator", "unpause"], "Unpause (guardian)")
    .setAction(() => import("./operator-unpause.js"))
    .build(),
  toolTask(["operator", "status"], "Markets' open interest, skew, funding; vault and backstop assets")
    .setAction(() => import("./operator-status.js"))
    .build(),
];
