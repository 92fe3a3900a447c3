// Each task's action: the tool from scripts/lib run on the task's network through the one error path.
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { type CommonArgs, type Tool, runTask } from "../lib/cli.js";
import * as playground from "../lib/playground.js";
import * as timelock from "../lib/timelock.js";
import * as tools from "../lib/tools.js";
import * as trade from "../lib/trade.js";

const action =
  <A extends CommonArgs>(tool: Tool<A>) =>
  (args: A, hre: HardhatRuntimeEnvironment) =>
    runTask(hre, args, tool);

export const stake = action(tools.stake);
export const cooldown = action(tools.cooldown);
export const unstake = action(tools.unstake);
export const stakerStatus = action(tools.stakerStatus);
export const lpDeposit = action(tools.lpDeposit);
export const lpWithdraw = action(tools.lpWithdraw);
export const lpStatus = action(tools.lpStatus);
export const lpExecute = action(tools.lpExecute);
export const lpCancel = action(tools.lpCancel);
export const lpClaim = action(tools.lpClaim);
export const addMarket = action(tools.addMarket);
export const setParameter = action(tools.setParameter);
export const pause = action(tools.pause);
export const unpause = action(tools.unpause);
export const systemStatus = action(tools.systemStatus);
export const timelockSchedule = action(timelock.timelockSchedule);
export const timelockList = action(timelock.timelockList);
export const timelockExecute = action(timelock.timelockExecute);
export const localFund = action(playground.fund);
export const localPrice = action(playground.price);
export const localRefresh = action(playground.refresh);
export const localTime = action(playground.time);
export const localSeed = action(playground.seed);
export const ordersRequest = action(trade.requestOrder);
export const ordersList = action(trade.listOrders);
export const ordersCancel = action(trade.cancelOrder);
