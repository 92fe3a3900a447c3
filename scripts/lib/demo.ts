import type { NetworkConnection } from "hardhat/types/network";
import { type Deployment, formatUnits } from "./chain/deployment.js";
import { Keeper } from "./keeper/loop.js";
import { deployLocal } from "./chain/local.js";
import { seedLpDeposit } from "./requests/lp.js";
import { ExecutionClass, OrderKind, acceptablePrice, priceExecutionFee, tradingFee } from "./requests/orders.js";

const WAD = 10n ** 18n;
const ETH = 0n;
const BTC = 1n;
const feedAnswer = (usd: number) => BigInt(Math.round(usd * 1e8));

/** Sums over the engine's waterfall events in a block range, in collateral units. */
export interface Waterfall {
  liquidations: number;
  keeperFees: bigint;
  penalties: bigint;
  traderLossToVault: bigint;
  badDebt: bigint;
  coveredByBackstop: bigint;
  socialized: bigint;
}

export interface PhaseReport extends Waterfall {
  name: string;
  lpSharePrice: { before: bigint; after: bigint };
  backstopSharePrice: { before: bigint; after: bigint };
}

export interface DemoResult {
  decimals: number;
  fromBlock: number;
  toBlock: number;
  totals: Waterfall;
  phases: PhaseReport[];
  /** Before the first phase and after the last: the table's Total column. */
  lpSharePrice: { before: bigint; after: bigint };
  backstopSharePrice: { before: bigint; after: bigint };
  traders: number;
  /** Requests executed by the keeper (OrderExecuted events), and the execution fees it earned. */
  ordersExecuted: number;
  executionFees: bigint;
  /** Loss recovery after the crashes: socialized losses still owed to the LPs, and repaid so far. */
  recovery: { outstanding: bigint; recovered: bigint };
  deployment: Deployment["addresses"];
}

/** Reads the waterfall events of `engine` between two blocks (inclusive) and sums them. */
export async function waterfallFromEvents(d: Deployment, fromBlock: number, toBlock: number): Promise<Waterfall> {
  const e = d.engine;
  const [keeper, penalty, liquidated, badDebt, socialized] = await Promise.all([
    e.queryFilter(e.filters.KeeperPaid(), fromBlock, toBlock),
    e.queryFilter(e.filters.PenaltyPaid(), fromBlock, toBlock),
    e.queryFilter(e.filters.PositionLiquidated(), fromBlock, toBlock),
    e.queryFilter(e.filters.BadDebtCovered(), fromBlock, toBlock),
    e.queryFilter(e.filters.LossSocialized(), fromBlock, toBlock),
  ]);
  const sum = <T>(xs: T[], f: (x: T) => bigint) => xs.reduce((s, x) => s + f(x), 0n);
  return {
    liquidations: liquidated.length,
    keeperFees: sum(keeper, (x) => x.args.fee),
    penalties: sum(penalty, (x) => x.args.penalty),
    traderLossToVault: sum(liquidated, (x) => x.args.traderLoss),
    badDebt: sum(badDebt, (x) => x.args.badDebt),
    coveredByBackstop: sum(badDebt, (x) => x.args.covered),
    socialized: sum(socialized, (x) => x.args.amount),
  };
}

/** Assets per whole share (collateral units), for the LP vault and the backstop. */
async function sharePrices(d: Deployment) {
  const [lpDecimals, backstopDecimals] = await Promise.all([d.vault.decimals(), d.backstop.decimals()]);
  return {
    lp: await d.vault.convertToAssets(10n ** lpDecimals),
    backstop: await d.backstop.convertToAssets(10n ** backstopDecimals),
  };
}

interface TraderPlan {
  market: bigint;
  long: boolean;
  leverage: number;
  margin: number; // USD
}

// Each trader's one position. ETH opens at $3,000 and BTC at $60,000.
const PLANS: TraderPlan[] = [
  ...[
    [2, 20_000],
    [3, 15_000],
    [4, 12_000],
    [5, 10_000],
    [6, 9_000],
    [7, 8_000],
    [9, 6_000],
    [9.5, 5_000],
  ].map(([leverage, margin]) => ({ market: ETH, long: true, leverage, margin })),
  ...[
    [2, 20_000],
    [3, 12_000],
    [5, 10_000],
    [8, 6_000],
  ].map(([leverage, margin]) => ({ market: ETH, long: false, leverage, margin })),
  ...[
    [2, 20_000],
    [3, 15_000],
    [4, 12_000],
    [5, 10_000],
    [7, 8_000],
    [6, 150_000], // the whale whose bankruptcy exceeds the backstop's per-cover cap
  ].map(([leverage, margin]) => ({ market: BTC, long: true, leverage, margin })),
  ...[
    [2, 20_000],
    [3, 12_000],
    [4, 10_000],
    [5, 10_000],
    [6, 8_000],
    [9, 6_000],
    [9.5, 5_000],
  ].map(([leverage, margin]) => ({ market: BTC, long: false, leverage, margin })),
];

/**
 * The whole story on a fresh local deployment: LPs and stakers fund the pools, 25 traders request positions
 * that the keeper executes at the next oracle round,
 * a price move lets the keeper liquidate the over-levered ones, a gap crash in ETH leaves bad debt that
 * the backstop covers, and a crash in BTC bankrupts a whale beyond the cover window's limit so that
 * the rest is socialized across LP shares; the next fee distribution repays part of it to the LPs. Every figure in the result is summed from the engine's events.
 */
export async function runDemo(
  connection: NetworkConnection,
  log: (line: string) => void = () => {},
): Promise<DemoResult> {
  const { ethers, networkHelpers } = connection;
  const [admin, treasury, lp1, lp2, staker1, staker2, keeperSigner] = await ethers.getSigners();
  // The demo's keeper is the order book's executor (a deployment's `orderExecutor`).
  const d = await deployLocal(connection, "hardhat", { orderExecutor: keeperSigner.address });
  const unit = 10n ** BigInt(d.decimals);
  const usd = (x: bigint) => formatUnits(x, d.decimals);
  const fromBlock = (await ethers.provider.getBlockNumber()) + 1;
  log(
    `Deployed LocalBulwark through Ignition: engine ${d.addresses.engine}, vault ${d.addresses.vault}, backstop ${d.addresses.backstop}`,
  );
  log(
    `  treasury ${treasury.address}; markets ETH-USD (0) at $3,000 and BTC-USD (1) at $60,000; collateral ${d.decimals} decimals`,
  );

  const fund = async (who: { address: string }, amount: bigint) => {
    await d.collateral.mint(who.address, amount);
  };
  const approveAll = async (who: typeof lp1) => {
    const c = d.collateral.connect(who);
    await c.approve(d.addresses.engine, ethers.MaxUint256);
    await c.approve(d.addresses.vault, ethers.MaxUint256);
    await c.approve(d.addresses.backstop, ethers.MaxUint256);
    await c.approve(d.addresses.orderBook, ethers.MaxUint256);
  };

  // ---- liquidity and stake
  for (const [who, amount] of [
    [lp1, 4_000_000n],
    [lp2, 3_000_000n],
  ] as const) {
    // The LP's tokens and the request's execution fee (the order book's minimum: ERC-7540's requestDeposit).
    const fee = (await priceExecutionFee(ethers, d, ExecutionClass.Lp)).minimum;
    await fund(who, amount * unit + 2n * fee);
    await approveAll(who);
    await seedLpDeposit(d, who, keeperSigner, amount * unit);
    log(
      `LP ${who.address.slice(0, 10)} deposits ${usd(amount * unit)} (ERC-7540: requestDeposit, executed at once with no position open, then deposit to claim)`,
    );
  }
  for (const [who, amount] of [
    [staker1, 120_000n],
    [staker2, 80_000n],
  ] as const) {
    await fund(who, amount * unit);
    await approveAll(who);
    await d.backstop.connect(who).deposit(amount * unit, who.address);
    log(`Staker ${who.address.slice(0, 10)} stakes ${usd(amount * unit)} in the backstop`);
  }

  // ---- two-step trading: each trader requests (escrowing collateral and an execution fee); after the order
  // book's delay the feeds post a new round, and the project's keeper executes every request at that round.
  const keeper = new Keeper(ethers, d, keeperSigner, {
    minProfit: 0n,
    batchSize: 10,
    startBlock: fromBlock,
    dryRun: false,
    log: (line) => log(`  keeper: ${line}`),
  });
  const keeperBalanceBefore = await d.collateral.balanceOf(keeperSigner.address);
  const book = d.orderBook;
  const [minDelay, priced] = await Promise.all([book.minDelay(), priceExecutionFee(ethers, d, ExecutionClass.Open)]);
  // 1 token, or the book's minimum for an open at this gas price where that is more (closes need less).
  const executionFee = unit > priced.fee ? unit : priced.fee;
  const feeds = { [ETH.toString()]: d.ethFeed, [BTC.toString()]: d.btcFeed };
  const oracles = { [ETH.toString()]: d.ethOracle, [BTC.toString()]: d.btcOracle };
  const feeRatios = await Promise.all(
    [ETH, BTC].map(async (id) => BigInt((await d.lens.getMarket(id)).config.tradingFeeRatio)),
  );
  const name = (market: bigint) => (market === ETH ? "ETH" : "BTC");
  const price18 = (x: bigint) => `$${formatUnits(x, 18)}`;
  log(
    `Order book ${d.addresses.orderBook}: a request executes at the first oracle round ${minDelay} s or more after it, ` +
      `at the worse (for the trader) of that round's price and the current one`,
  );

  /** A request at the oracle's price with 1 % slippage allowed. */
  const request = async (wallet: typeof lp1, market: bigint, kind: number, size: bigint, amount: bigint) => {
    const price = await oracles[market.toString()].price();
    const bound = acceptablePrice(kind, size, price, 100n);
    await (await book.connect(wallet).request(market, kind, size, amount, bound, executionFee)).wait();
    return bound;
  };
  /**
   * The delay passes, each feed posts a round at its current answer, and the keeper executes what is ready;
   * logs each round and each execution price. Returns the OrderExecuted events by account.
   */
  const settle = async () => {
    const start = (await ethers.provider.getBlockNumber()) + 1;
    await networkHelpers.time.increase(Number(minDelay));
    for (const market of [ETH, BTC]) {
      const feed = feeds[market.toString()];
      const [, answer] = await feed.latestRoundData();
      await (await feed.updateAnswer(answer)).wait();
      const [roundId, , , updatedAt] = await feed.latestRoundData();
      log(`  oracle: ${name(market)}-USD round ${roundId} at $${formatUnits(answer, 8)} (updated at ${updatedAt})`);
    }
    await keeper.tick();
    const executed = await book.queryFilter(book.filters.OrderExecuted(), start);
    return new Map(executed.map((e) => [`${e.args.account}/${e.args.marketId}`, e.args]));
  };

  // ---- traders
  const traders = [];
  for (const [i, plan] of PLANS.entries()) {
    const wallet = new ethers.Wallet(ethers.id(`bulwark demo trader ${i}`), ethers.provider);
    await admin.sendTransaction({ to: wallet.address, value: 10n ** 18n });
    const margin = BigInt(plan.margin) * unit;
    await fund(wallet, margin * 2n);
    await d.collateral.connect(wallet).approve(d.addresses.orderBook, ethers.MaxUint256);
    const price = plan.market === ETH ? 3_000n : 60_000n;
    const notionalUsd = (BigInt(Math.round(plan.margin * plan.leverage * 100)) * WAD) / 100n;
    const size = (notionalUsd / price) * (plan.long ? 1n : -1n);
    // The collateral escrowed is the margin plus the trading fee that execution takes out of it.
    const fee = tradingFee(size, price * WAD, feeRatios[Number(plan.market)], d.decimals);
    const bound = await request(wallet, plan.market, OrderKind.Open, size, margin + fee);
    traders.push({ wallet, plan, size });
    log(
      `Trader ${String(i + 1).padStart(2, "0")} requests ${name(plan.market)} ${plan.long ? "long " : "short"} ${plan.leverage}x: ` +
        `size ${ethers.formatUnits(size < 0n ? -size : size, 18).slice(0, 8)}, margin ${usd(margin)} + fee ${usd(fee)}, ` +
        `price ${plan.long ? "<=" : ">="} ${price18(bound)}, execution fee ${usd(executionFee)}`,
    );
  }
  const opened = await settle();
  for (const [i, t] of traders.entries()) {
    const e = opened.get(`${t.wallet.address}/${t.plan.market}`);
    if (!e) throw new Error(`trader ${i + 1}'s request was not executed`);
    if (i === 0 || i === traders.length - 1) {
      log(`  trader ${String(i + 1).padStart(2, "0")}: executed at round ${e.roundId}, price ${price18(e.price)}`);
    }
  }
  log(
    `${opened.size} requests executed: ${traders.length} positions open; LP value ${usd(await d.vault.totalAssets())}, reserved ${usd(await d.engine.totalReserved())}`,
  );

  const phases: PhaseReport[] = [];
  const phase = async (name: string, move: () => Promise<void>) => {
    const before = await sharePrices(d);
    const start = (await ethers.provider.getBlockNumber()) + 1;
    log("");
    log(`== ${name}`);
    await move();
    await keeper.tick();
    const end = await ethers.provider.getBlockNumber();
    const after = await sharePrices(d);
    const w = await waterfallFromEvents(d, start, end);
    phases.push({
      name,
      ...w,
      lpSharePrice: { before: before.lp, after: after.lp },
      backstopSharePrice: { before: before.backstop, after: after.backstop },
    });
    log(
      `  ${w.liquidations} liquidated: keeper fees ${usd(w.keeperFees)}, penalties ${usd(w.penalties)}, ` +
        `bad debt ${usd(w.badDebt)} (backstop ${usd(w.coveredByBackstop)}, socialized ${usd(w.socialized)})`,
    );
    log(
      `  LP share ${usd6(before.lp, d.decimals)} -> ${usd6(after.lp, d.decimals)}, backstop share ${usd6(before.backstop, d.decimals)} -> ${usd6(after.backstop, d.decimals)}`,
    );
  };

  await phase("Move: ETH -7% to $2,790, BTC +6% to $63,600", async () => {
    await d.ethFeed.updateAnswer(feedAnswer(2_790));
    await d.btcFeed.updateAnswer(feedAnswer(63_600));
  });

  // Winners take profit through Close requests; fees and penalties go to stakers and the treasury.
  const winners = traders.filter((x) => (x.plan.market === ETH ? !x.plan.long : x.plan.long) && x.plan.leverage === 5);
  const balances = new Map<string, bigint>();
  for (const t of winners) {
    await request(t.wallet, t.plan.market, OrderKind.Close, t.plan.long ? 1n : -1n, 0n);
    balances.set(t.wallet.address, await d.collateral.balanceOf(t.wallet.address));
  }
  // An LP adds liquidity while positions are open: by request (escrowed in the vault), executed by the
  // keeper with the closes, at the same round (priced at the worse for the LP of that round and the mark).
  const lpTopUp = 50_000n * unit;
  const lpFee = (await priceExecutionFee(ethers, d, ExecutionClass.Lp)).fee;
  await fund(lp2, lpTopUp + lpFee);
  // ERC-7540's standard request: the order book's minimum fee at this gas price, no bound.
  await (await d.vault.connect(lp2).requestDeposit(lpTopUp, lp2.address, lp2.address)).wait();
  log(`LP ${lp2.address.slice(0, 10)} requests a deposit of ${usd(lpTopUp)} (priced at the next round, claimed after)`);
  const lpFrom = await ethers.provider.getBlockNumber();
  const closedWinners = await settle();
  const [lpDone] = await d.vault.queryFilter(d.vault.filters.LpRequestExecuted(lp2.address), lpFrom);
  if (!lpDone) throw new Error("the LP's deposit request was not executed");
  log(
    `  keeper executed the LP deposit: ${usd(lpDone.args.assets)} for ${ethers.formatUnits(lpDone.args.shares, await d.vault.decimals())} LP shares`,
  );
  // The shares wait in the vault until the LP claims them (ERC-7540's claim: the standard deposit).
  await (await d.vault.connect(lp2)["deposit(uint256,address)"](lpTopUp, lp2.address)).wait();
  log(`  LP ${lp2.address.slice(0, 10)} claims them (deposit)`);
  for (const t of winners) {
    const e = closedWinners.get(`${t.wallet.address}/${t.plan.market}`);
    const paid = (await d.collateral.balanceOf(t.wallet.address)) - balances.get(t.wallet.address)!;
    log(
      `Trader ${t.wallet.address.slice(0, 10)} closes ${t.plan.market === ETH ? "ETH short" : "BTC long"} 5x with a profit` +
        (e ? ` at ${price18(e.price)}` : " (not executed)") +
        `: paid ${usd(paid)} on ${usd(BigInt(t.plan.margin) * unit)} margin`,
    );
  }
  await d.engine.distributeFees();
  log(`Fees and penalties distributed; a day passes (backstop income streams), feeds report again`);
  await networkHelpers.time.increase(86_400);
  await d.ethFeed.updateAnswer(feedAnswer(2_790));
  await d.btcFeed.updateAnswer(feedAnswer(63_600));

  await phase("Crash 1: ETH gaps to $2,000 (-28%): bankrupt longs, the backstop covers", async () => {
    await d.ethFeed.updateAnswer(feedAnswer(2_000));
  });
  await phase(
    "Crash 2: BTC gaps to $36,000 (-43%): the whale's shortfall exceeds the cover window's limit",
    async () => {
      await d.btcFeed.updateAnswer(feedAnswer(36_000));
    },
  );

  // Loss recovery: trading goes on (the survivors close), and the stakers' next income repays what the LPs
  // absorbed before it reaches the stakers.
  const owed = await d.backstop.recoveryOutstanding();
  const survivors = [];
  for (const t of traders) {
    if ((await d.engine.getPosition(t.wallet.address, t.plan.market)).size === 0n) continue;
    await request(t.wallet, t.plan.market, OrderKind.Close, t.plan.long ? 1n : -1n, 0n);
    survivors.push(t);
  }
  const closed = (await settle()).size;
  log(
    `Trading goes on: ${survivors.length} surviving traders request to close; ${closed} closes executed, paying trading fees`,
  );
  const receipt = await (await d.engine.distributeFees()).wait();
  const repaid = (receipt?.logs ?? [])
    .map((entry) => {
      try {
        return d.backstop.interface.parseLog(entry);
      } catch {
        return null;
      }
    })
    .filter((event) => event?.name === "LossRecovered")
    .reduce((total, event) => total + (event!.args.amount as bigint), 0n);
  const recovery = {
    outstanding: await d.backstop.recoveryOutstanding(),
    recovered: await d.backstop.totalRecovered(),
  };
  const share = ethers.formatUnits(await d.backstop.recoveryShare(), 16);
  log(
    `Recovery: LPs are owed ${usd(owed)} socialized; distributeFees repaid ${usd(repaid)} of it from the stakers' income (recovery share ${share} %); still owed ${usd(recovery.outstanding)}`,
  );

  const toBlock = await ethers.provider.getBlockNumber();
  const totals = await waterfallFromEvents(d, fromBlock, toBlock);
  const keeperEarned = (await d.collateral.balanceOf(keeperSigner.address)) - keeperBalanceBefore;
  const executions = await book.queryFilter(book.filters.OrderExecuted(), fromBlock, toBlock);
  const cancellations = await book.queryFilter(book.filters.OrderCancelled(), fromBlock, toBlock);
  const executionFees =
    BigInt(executions.filter((e) => e.args.keeper === keeperSigner.address).length) * executionFee +
    cancellations.filter((e) => e.args.feeRecipient === keeperSigner.address).reduce((x, e) => x + e.args.fee, 0n);
  log("");
  log(
    `Keeper ${keeperSigner.address.slice(0, 10)} earned ${usd(keeperEarned)}: ${usd(totals.keeperFees)} in liquidation fees over ` +
      `${totals.liquidations} liquidations, ${usd(executionFees)} in execution fees over ${executions.length} executed requests`,
  );
  const coverage = await d.lens.coverageRatio(); // the maximum when no interest is open
  log(
    `Backstop covered ${usd(await d.backstop.totalCovered())} in total; coverage ratio now ${coverage === ethers.MaxUint256 ? "unbounded (no open interest)" : `${ethers.formatUnits(coverage, 16).slice(0, 6)} %`}`,
  );

  return {
    decimals: d.decimals,
    fromBlock,
    toBlock,
    totals,
    phases,
    lpSharePrice: { before: phases[0].lpSharePrice.before, after: phases.at(-1)!.lpSharePrice.after },
    backstopSharePrice: { before: phases[0].backstopSharePrice.before, after: phases.at(-1)!.backstopSharePrice.after },
    traders: traders.length,
    ordersExecuted: executions.length,
    executionFees,
    recovery,
    deployment: d.addresses,
  };
}

const usd6 = (x: bigint, decimals: number) => formatUnits(x, decimals, Math.min(decimals, 6));

/** The waterfall table: one column per phase and a total. */
export function waterfallTable(r: DemoResult): string {
  const fmt = (x: bigint) => formatUnits(x, r.decimals);
  const rows: [string, (w: Waterfall) => string][] = [
    ["Liquidations", (w) => String(w.liquidations)],
    ["1 Keeper fees", (w) => fmt(w.keeperFees)],
    ["2 Penalties (to stakers)", (w) => fmt(w.penalties)],
    ["3 Traders' losses to vault", (w) => fmt(w.traderLossToVault)],
    ["4 Bad debt", (w) => fmt(w.badDebt)],
    ["  covered by backstop", (w) => fmt(w.coveredByBackstop)],
    ["5 Socialized (LPs)", (w) => fmt(w.socialized)],
  ];
  const heads = ["Move", "Crash 1 (ETH)", "Crash 2 (BTC)", "Total"];
  const cols = [...r.phases, r.totals];
  const body = rows.map(([label, f]) => [label, ...cols.map(f)]);
  type Prices = Pick<DemoResult, "lpSharePrice" | "backstopSharePrice">;
  // Each phase, then the whole run (the Total column): the same figures as the JSON's.
  const price = (get: (p: Prices) => { before: bigint; after: bigint }) =>
    [...r.phases, r].map((p) => `${usd6(get(p).before, r.decimals)} > ${usd6(get(p).after, r.decimals)}`);
  body.push(
    ["LP share price", ...price((p) => p.lpSharePrice)],
    ["Backstop share price", ...price((p) => p.backstopSharePrice)],
  );
  const all = [["", ...heads], ...body];
  const widths = all[0].map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const line = (row: string[]) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(" | ");
  const rule = widths.map((w) => "-".repeat(w)).join("-+-");
  return [line(all[0]), rule, ...body.map(line)].join("\n");
}

/** The machine-readable summary of `npm run demo -- --json` (amounts as strings of collateral units). */
export function demoJson(r: DemoResult) {
  const s = (x: bigint) => x.toString();
  return {
    collateralDecimals: r.decimals,
    keeperFees: s(r.totals.keeperFees),
    penalties: s(r.totals.penalties),
    traderLossToVault: s(r.totals.traderLossToVault),
    badDebt: s(r.totals.badDebt),
    coveredByBackstop: s(r.totals.coveredByBackstop),
    socialized: s(r.totals.socialized),
    liquidations: r.totals.liquidations,
    recoveryOutstanding: s(r.recovery.outstanding),
    recovered: s(r.recovery.recovered),
    lpSharePrice: { before: s(r.lpSharePrice.before), after: s(r.lpSharePrice.after) },
    backstopSharePrice: { before: s(r.backstopSharePrice.before), after: s(r.backstopSharePrice.after) },
    traders: r.traders,
    ordersExecuted: r.ordersExecuted,
    executionFees: s(r.executionFees),
    blocks: { from: r.fromBlock, to: r.toBlock },
    phases: r.phases.map((p) => ({
      name: p.name,
      liquidations: p.liquidations,
      keeperFees: s(p.keeperFees),
      penalties: s(p.penalties),
      traderLossToVault: s(p.traderLossToVault),
      badDebt: s(p.badDebt),
      coveredByBackstop: s(p.coveredByBackstop),
      socialized: s(p.socialized),
      lpSharePrice: { before: s(p.lpSharePrice.before), after: s(p.lpSharePrice.after) },
      backstopSharePrice: { before: s(p.backstopSharePrice.before), after: s(p.backstopSharePrice.after) },
    })),
  };
}
