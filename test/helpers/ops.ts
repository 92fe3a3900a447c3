import { network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { deployLocal } from "../../scripts/lib/chain/local.js";
import {
  ExecutionClass,
  OrderKind,
  acceptablePrice,
  executeRequests,
  priceExecutionFee,
  tradingFee,
} from "../../scripts/lib/requests/orders.js";

/** A network of its own for the operations tests: they deploy through Ignition, which needs the connection. */
export const connection = await network.create();
export const { ethers, networkHelpers } = connection;

export const WAD = 10n ** 18n;
export const ETH = 0n;
export const BTC = 1n;
export const feedPrice = (usd: bigint) => usd * 10n ** 8n;

/** The system deployed by the LocalBulwark Ignition module with deploy/parameters/hardhat.json, funded actors. */
export async function deployThroughIgnition() {
  const d = await deployLocal(connection, "hardhat");
  const unit = 10n ** BigInt(d.decimals);
  const [admin, treasury, lp, staker, keeper, t1, t2, t3, t4, t5, t6] = await ethers.getSigners();
  for (const who of [lp, staker, keeper, t1, t2, t3, t4, t5, t6]) {
    await d.collateral.mint(who.address, 10_000_000n * unit);
    for (const spender of [d.addresses.engine, d.addresses.vault, d.addresses.backstop, d.addresses.orderBook]) {
      await d.collateral.connect(who).approve(spender, ethers.MaxUint256);
    }
  }
  // The LP enters the ERC-7540 way before any position is open (nothing to price): request, execution by the
  // deployer (an executor of the deployment), claim.
  await d.vault.connect(lp).requestDeposit(1_000_000n * unit, lp.address, lp.address);
  await d.vault.connect(admin).executeRequest(lp.address, Array(Number(await d.engine.marketCount())).fill(0n));
  await d.vault.connect(lp)["deposit(uint256,address)"](1_000_000n * unit, lp.address);
  await d.backstop.connect(staker).deposit(100_000n * unit, staker.address);
  // The deployment made the deployer (the `orderExecutor` default) an executor; the named keeper becomes one
  // as a second keeper would, through the timelock (no delay on hardhat).
  const grant = d.orderBook.interface.encodeFunctionData("grantRole", [ethers.id("EXECUTOR_ROLE"), keeper.address]);
  await d.timelock.connect(admin).schedule(d.addresses.orderBook, 0n, grant, ethers.ZeroHash, ethers.ZeroHash, 0n);
  await d.timelock.connect(admin).execute(d.addresses.orderBook, 0n, grant, ethers.ZeroHash, ethers.ZeroHash);
  return { ...d, unit, admin, treasury, lp, staker, keeper, traders: [t1, t2, t3, t4, t5, t6] };
}

type Local = Awaited<ReturnType<typeof deployLocal>>;

/** Each feed posts its last answer again after the order book's delay: the round that prices pending requests. */
export async function nextRound(d: Local) {
  await networkHelpers.time.increase(Number(await d.orderBook.minDelay()));
  for (const feed of [d.ethFeed, d.btcFeed]) {
    const [, answer] = await feed.latestRoundData();
    await feed.updateAnswer(answer);
  }
}

/**
 * Opens positions through the order book as a trader and a keeper would: each trader requests (escrowing
 * `margin` plus the trading fee at the current price), the feeds post the next round, and `executor`
 * executes every request at it. The positions' margins are exactly `margin`.
 */
export async function openThroughBook(
  d: Local,
  executor: HardhatEthersSigner,
  trades: { trader: HardhatEthersSigner; market: bigint; size: bigint; margin: bigint }[],
) {
  const { fee } = await priceExecutionFee(ethers, d, ExecutionClass.Open);
  for (const { trader, market, size, margin } of trades) {
    const price = await (market === 0n ? d.ethOracle : d.btcOracle).price();
    const ratio = BigInt((await d.lens.getMarket(market)).config.tradingFeeRatio);
    const amount = margin + tradingFee(size, price, ratio, d.decimals);
    await d.orderBook
      .connect(trader)
      .request(market, OrderKind.Open, size, amount, acceptablePrice(OrderKind.Open, size, price, 100n), fee);
  }
  await nextRound(d);
  const r = await executeRequests(
    ethers,
    d,
    executor,
    trades.map((t) => ({ account: t.trader.address, marketId: t.market })),
  );
  if (r.executed !== trades.length) throw new Error(`${r.executed} of ${trades.length} requests executed`);
}

/** Closes positions through the order book (Close requests, the next round, `executor` executes). */
export async function closeThroughBook(
  d: Local,
  executor: HardhatEthersSigner,
  closes: { trader: HardhatEthersSigner; market: bigint }[],
) {
  const { fee } = await priceExecutionFee(ethers, d, ExecutionClass.Close);
  for (const { trader, market } of closes) {
    const size = (await d.engine.getPosition(trader.address, market)).size > 0n ? 1n : -1n;
    const price = await (market === 0n ? d.ethOracle : d.btcOracle).price();
    await d.orderBook
      .connect(trader)
      .request(market, OrderKind.Close, size, 0n, acceptablePrice(OrderKind.Close, size, price, 100n), fee);
  }
  await nextRound(d);
  await executeRequests(
    ethers,
    d,
    executor,
    closes.map((t) => ({ account: t.trader.address, marketId: t.market })),
  );
}
