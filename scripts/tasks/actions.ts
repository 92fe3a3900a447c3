// Each task's action: the tool from scripts/lib/tools run on the task's network through the one error path.
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { type CommonArgs, type Tool, runTask } from "../lib/chain/cli.js";
import * as lp from "../lib/tools/lp.js";
import * as operator from "../lib/tools/operator.js";
import * as playground from "../lib/tools/playground.js";
import * as riskReport from "../lib/tools/risk.js";
import * as staker from "../lib/tools/staker.js";
import * as timelock from "../lib/tools/timelock.js";
import * as trader from "../lib/tools/trader.js";
import * as automation from "../lib/tools/upkeeps.js";

const action =
  <A extends CommonArgs>(tool: Tool<A>) =>
  (args: A, hre: HardhatRuntimeEnvironment) =>
    runTask(hre, args, tool);

export const stake = action(staker.stake);
export const cooldown = action(staker.cooldown);
export const unstake = action(staker.unstake);
export const cancel = action(staker.cancel);
export const stakerStatus = action(staker.stakerStatus);
export const lpDeposit = action(lp.lpDeposit);
export const lpWithdraw = action(lp.lpWithdraw);
export const lpStatus = action(lp.lpStatus);
export const lpExecute = action(lp.lpExecute);
export const lpCancel = action(lp.lpCancel);
export const lpClaim = action(lp.lpClaim);
export const risk = action(riskReport.risk);
export const addMarket = action(operator.addMarket);
export const setParameter = action(operator.setParameter);
export const pause = action(operator.pause);
export const unpause = action(operator.unpause);
export const systemStatus = action(operator.systemStatus);
export const timelockSchedule = action(timelock.timelockSchedule);
export const timelockList = action(timelock.timelockList);
export const timelockExecute = action(timelock.timelockExecute);
export const localFund = action(playground.fund);
export const localPrice = action(playground.price);
export const localRefresh = action(playground.refresh);
export const localTime = action(playground.time);
export const localSeed = action(playground.seed);
export const ordersRequest = action(trader.requestOrder);
export const ordersList = action(trader.listOrders);
export const ordersCancel = action(trader.cancelOrder);
export const upkeeps = action(automation.upkeeps);
