import { expect } from "chai";
import {
  deploySystem,
  ethers,
  feedPrice,
  FEED_DECIMALS,
  marketConfig,
  networkHelpers,
  WAD,
  type MarketConfig,
  type SystemOptions,
} from "./system.js";

/**
 * An independent model of the liquidation arithmetic (docs/ARCHITECTURE.md "Rounding", RiskLib, PositionMath),
 * written from the formulas in bigint, so tests compare the contracts against it rather than against
 * their own views.
 */

export const DAY = 86_400n;

export const divUp = (x: bigint, d: bigint) => (x === 0n ? 0n : (x + d - 1n) / d);
export const wMulUp = (x: bigint, y: bigint) => divUp(x * y, WAD);
export const wMulDown = (x: bigint, y: bigint) => (x * y) / WAD;
export const abs = (x: bigint) => (x < 0n ? -x : x);
export const min = (a: bigint, b: bigint) => (a < b ? a : b);
export const max = (a: bigint, b: bigint) => (a > b ? a : b);

/** 1e18 x 10^(18 - decimals): size x price / den is an amount of collateral. */
export const denOf = (decimals: number) => WAD * 10n ** BigInt(18 - decimals);

export const notional = (absSize: bigint, price: bigint, den: bigint) => divUp(absSize * price, den);
export const notionalUsd = (absSize: bigint, price: bigint) => (absSize * price) / WAD;

/** Profit rounds down and is capped; loss rounds up. */
export function pnl(size: bigint, entry: bigint, price: bigint, cap: bigint, den: bigint): bigint {
  if (size === 0n || price === entry) return 0n;
  const diff = abs(price - entry);
  const gain = size > 0n === price > entry;
  return gain ? min((abs(size) * diff) / den, cap) : -divUp(abs(size) * diff, den);
}

/** Owed (positive) rounds up, received rounds down. */
export function funding(size: bigint, index: bigint, checkpoint: bigint, den: bigint): bigint {
  const delta = index - checkpoint;
  if (size === 0n || delta === 0n) return 0n;
  const owed = size > 0n === delta > 0n;
  return owed ? divUp(abs(size) * abs(delta), den) : -((abs(size) * abs(delta)) / den);
}

export function keeperFee(c: MarketConfig, n: bigint): bigint {
  const raw = wMulUp(n, c.keeperFeeRatio);
  if (raw > c.maxKeeperFee) return c.maxKeeperFee > c.minKeeperFee ? c.maxKeeperFee : c.minKeeperFee;
  return raw < c.minKeeperFee ? c.minKeeperFee : raw;
}

/** A position's profit cap: maxProfitFactor x min(margin, floor(entry notional USD x initialMarginRatio / den)). */
export const profitCap = (c: MarketConfig, margin: bigint, absSize: bigint, entryPrice: bigint, den: bigint) =>
  wMulDown(min(margin, (notionalUsd(absSize, entryPrice) * c.initialMarginRatio) / den), c.maxProfitFactor);

/** Collateral units added to a partial liquidation's target, to absorb the round-ups of the exact check. */
export const PARTIAL_ROUNDING_ALLOWANCE = 8n;

export const liquidationMargin = (c: MarketConfig, n: bigint) => wMulUp(n, c.maintenanceMarginRatio) + keeperFee(c, n);

/**
 * The lens's liquidation price (IPerpLens): the price at which equity meets the liquidation margin,
 * holding funding `f` fixed and ignoring the profit cap and unit rounding. With the keeper fee k·N
 * proportional to notional: long P = (s·E + F − M) / (s·(1 − m − k)), short P = (M + s·E − F) / (s·(1 + m + k));
 * if the fee at that price is below the floor (above the cap), solved again with the floor (the cap) as a
 * fixed fee K: long P = (s·E + F + K − M) / (s·(1 − m)), short P = (M + s·E − F − K) / (s·(1 + m)).
 * Zero when no price liquidates a long (or every price does a short). Values in collateral units, the
 * entry value rounded down to a unit, the price rounded down.
 */
export function lensLiquidationPrice(c: MarketConfig, p: Pos, f: bigint, den: bigint): bigint {
  const size = abs(p.size);
  const long = p.size > 0n;
  const scale = den / WAD;
  const solve = (ratio: bigint, fixedFee: bigint) => {
    const entryValue = notionalUsd(size, p.entryPrice) / scale;
    const fixedPart = f + fixedFee - p.margin;
    const num = long ? entryValue + fixedPart : entryValue - fixedPart;
    if (num <= 0n || (long && ratio >= WAD)) return 0n;
    return (num * den) / wMulDown(size, long ? WAD - ratio : WAD + ratio);
  };
  const proportional = solve(c.maintenanceMarginRatio + c.keeperFeeRatio, 0n);
  const fee = wMulUp(notional(size, proportional, den), c.keeperFeeRatio);
  if (fee < c.minKeeperFee) return solve(c.maintenanceMarginRatio, c.minKeeperFee);
  if (fee > c.maxKeeperFee) return solve(c.maintenanceMarginRatio, c.maxKeeperFee);
  return proportional;
}

export interface Pos {
  size: bigint;
  entryPrice: bigint;
  margin: bigint;
  fundingIndex: bigint;
}

export interface Expected {
  liquidatable: boolean;
  full: boolean;
  sizeClosed: bigint;
  equity: bigint;
  liquidationMargin: bigint;
  keeperFee: bigint;
  penalty: bigint;
  funding: bigint;
  pnlClosed: bigint;
  refund: bigint;
  badDebt: bigint;
  newMargin: bigint;
}

/** What a liquidation of `p` at `price` with the funding index `index` must do. */
export function expectedLiquidation(c: MarketConfig, p: Pos, price: bigint, index: bigint, den: bigint): Expected {
  const size = abs(p.size);
  const n = notional(size, price, den);
  const fee = keeperFee(c, n);
  const f = funding(p.size, index, p.fundingIndex, den);
  const pnlAll = pnl(p.size, p.entryPrice, price, profitCap(c, p.margin, size, p.entryPrice, den), den);
  const equity = p.margin + pnlAll - f;
  const lm = wMulUp(n, c.maintenanceMarginRatio) + fee;
  const r: Expected = {
    liquidatable: equity < lm,
    full: false,
    sizeClosed: 0n,
    equity,
    liquidationMargin: lm,
    keeperFee: 0n,
    penalty: 0n,
    funding: f,
    pnlClosed: pnlAll,
    refund: 0n,
    badDebt: 0n,
    newMargin: 0n,
  };
  if (!r.liquidatable) return r;
  if (notionalUsd(size, price) > c.partialLiquidationThreshold) {
    const partial = partialLiquidation(c, p, price, n, r, den);
    if (partial) return partial;
  }
  r.full = true;
  r.sizeClosed = size;
  r.keeperFee = fee;
  const rest = equity - fee;
  if (rest >= 0n) {
    r.penalty = min(wMulUp(n, c.liquidationPenaltyRatio), rest);
    r.refund = rest - r.penalty;
  } else {
    r.badDebt = -rest;
  }
  return r;
}

/**
 * The smallest close that leaves the rest healthy with the buffer, or null. Two closed forms, in order:
 * the two keeper fees adding up to keeperFeeRatio x notional (exact where the fee is proportional), then
 * to twice the full position's fee (a bound where the fee sits at its cap); each is checked exactly.
 */
function partialLiquidation(c: MarketConfig, p: Pos, price: bigint, n: bigint, r: Expected, den: bigint) {
  const target = c.maintenanceMarginRatio + c.partialLiquidationBuffer;
  if (c.partialLiquidationBuffer === 0n || target <= c.liquidationPenaltyRatio || r.equity <= 0n) return null;
  return (
    tryPartial(c, p, price, n, r, den, target, wMulUp(n, target + c.keeperFeeRatio)) ??
    tryPartial(c, p, price, n, r, den, target, wMulUp(n, target) + 2n * keeperFee(c, n))
  );
}

function tryPartial(
  c: MarketConfig,
  p: Pos,
  price: bigint,
  n: bigint,
  r: Expected,
  den: bigint,
  target: bigint,
  bound: bigint,
) {
  const need = bound + PARTIAL_ROUNDING_ALLOWANCE;
  const excess = need > r.equity ? need - r.equity : 0n;
  const fraction = divUp(excess * WAD, wMulDown(n, target - c.liquidationPenaltyRatio));
  const size = abs(p.size);
  const sizeClosed = max(wMulUp(size, fraction), 1n);
  if (sizeClosed >= size) return null;
  const remaining = size - sizeClosed;
  if (notionalUsd(remaining, price) < c.minNotional) return null;
  const closedN = notional(sizeClosed, price, den);
  const fee = keeperFee(c, closedN);
  const penalty = wMulUp(closedN, c.liquidationPenaltyRatio);
  const closed = p.size > 0n ? sizeClosed : -sizeClosed;
  const cap = (profitCap(c, p.margin, size, p.entryPrice, den) * sizeClosed) / size;
  const pnlClosed = pnl(closed, p.entryPrice, price, cap, den);
  const newMargin = p.margin - r.funding + pnlClosed - fee - penalty;
  if (newMargin <= 0n) return null;
  const rest = p.size - closed;
  const restCap = profitCap(c, newMargin, remaining, p.entryPrice, den);
  const restEquity = newMargin + pnl(rest, p.entryPrice, price, restCap, den);
  const restN = notional(remaining, price, den);
  if (restEquity < wMulUp(restN, target) + keeperFee(c, restN)) return null;
  return { ...r, sizeClosed, keeperFee: fee, penalty, pnlClosed, newMargin };
}

/** The funding rate per day for a market's skew (RiskLib/engine formula, truncation toward zero). */
export function fundingRatePerDay(c: MarketConfig, longSize: bigint, shortSize: bigint): bigint {
  let proportional = ((longSize - shortSize) * WAD) / c.skewScale;
  if (proportional > WAD) proportional = WAD;
  if (proportional < -WAD) proportional = -WAD;
  return (proportional * c.maxFundingRatePerDay) / WAD;
}

/** The market's funding index at `timestamp` and `price` (bigint division truncates toward zero, as Solidity). */
export async function fundingIndexAt(lens: any, marketId: bigint, c: MarketConfig, price: bigint, timestamp: bigint) {
  const m = await lens.getMarket(marketId);
  const elapsed = timestamp - m.lastFundingTime;
  const rate = fundingRatePerDay(c, m.longSize, m.shortSize);
  return m.fundingIndex + (rate * price * elapsed) / (WAD * DAY);
}

/** A position read from the engine as plain bigints. */
export async function position(engine: any, account: unknown, marketId: bigint): Promise<Pos> {
  const p = await engine.getPosition(account, marketId);
  return { size: p.size, entryPrice: p.entryPrice, margin: p.margin, fundingIndex: p.fundingIndex };
}

/** Sets a feed to an 18-decimal price; the price must be a whole number of feed steps (1e10). */
export async function setPrice(feed: any, price: bigint) {
  const step = 10n ** BigInt(18 - FEED_DECIMALS);
  expect(price % step, "price must be a whole feed step").to.equal(0n);
  await feed.updateAnswer(price / step);
}

/** One feed step (1e-8 USD) in 18 decimals. */
export const FEED_STEP = 10n ** BigInt(18 - FEED_DECIMALS);

/** 18-decimal price of a whole number of dollars. */
export const usd = (dollars: bigint) => dollars * WAD;

/**
 * Checks the solvency claims of docs/ARCHITECTURE.md: the engine's collateral balance covers every position's margin
 * (summed position by position over `accounts`), the LP ledger, pending fees and penalties and deferred
 * refunds; the backstop's balance covers its total assets. Also checks the per-market margin aggregates
 * equal the positions' sum.
 */
export async function expectSolvent(s: any, accounts: unknown[]) {
  let margins = 0n;
  let claimable = 0n;
  const count: bigint = await s.engine.marketCount();
  for (let id = 0n; id < count; id++) {
    let marketMargins = 0n;
    for (const a of accounts) marketMargins += (await s.engine.getPosition(a, id)).margin;
    const m = await s.lens.getMarket(id);
    expect(m.longMargin + m.shortMargin, `market ${id} margin aggregate`).to.equal(marketMargins);
    margins += marketMargins;
  }
  for (const a of accounts) claimable += await s.engine.claimable(a);
  const owed =
    margins +
    (await s.engine.lpBalance()) +
    (await s.lens.pendingProtocolFees()) +
    (await s.lens.pendingPenalties()) +
    claimable;
  expect(await s.token.balanceOf(s.engine), "engine balance covers margins, LP, fees, penalties, claims").to.be.gte(
    owed,
  );
  expect(await s.token.balanceOf(s.backstop), "backstop balance covers its assets").to.be.gte(
    await s.backstop.totalAssets(),
  );
}

/** Like `deploySystem` but with a collateral contract of the caller's choice (same constructor as MockERC20). */
export async function deployWithToken(tokenContract: string, options: SystemOptions = {}) {
  const decimals = options.decimals ?? 6;
  const token = await ethers.deployContract(tokenContract, ["Test USD", "tUSD", decimals]);
  return deploySystem({ ...options, decimals, token });
}

/** Funds extra signers (the accounts after the fixture's nine) and approves the engine and the orders contract. */
export async function extraTraders(s: any, count: number) {
  const signers = await ethers.getSigners();
  const extra = signers.slice(9, 9 + count);
  expect(extra.length, "enough extra signers").to.equal(count);
  for (const who of extra) {
    await s.token.mint(who, 1_000_000n * s.unit);
    await s.token.connect(who).approve(s.engine, ethers.MaxUint256);
    await s.token.connect(who).approve(s.orders, ethers.MaxUint256);
  }
  return extra;
}

/** The timestamp of the block a transaction was mined in. */
export async function blockTime(tx: any): Promise<bigint> {
  const receipt = await tx.wait();
  const block = await ethers.provider.getBlock(receipt.blockNumber);
  return BigInt(block!.timestamp);
}

export { networkHelpers };

/** A market's config as read from the engine (an input of the test, not a computed value). */
export async function configOf(lens: any, marketId: bigint): Promise<MarketConfig> {
  const c = (await lens.getMarket(marketId)).config;
  return {
    initialMarginRatio: c.initialMarginRatio,
    maintenanceMarginRatio: c.maintenanceMarginRatio,
    tradingFeeRatio: c.tradingFeeRatio,
    liquidationPenaltyRatio: c.liquidationPenaltyRatio,
    keeperFeeRatio: c.keeperFeeRatio,
    maxProfitFactor: c.maxProfitFactor,
    maxFundingRatePerDay: c.maxFundingRatePerDay,
    partialLiquidationBuffer: c.partialLiquidationBuffer,
    minKeeperFee: c.minKeeperFee,
    maxKeeperFee: c.maxKeeperFee,
    minMargin: c.minMargin,
    minNotional: c.minNotional,
    maxOpenInterest: c.maxOpenInterest,
    skewScale: c.skewScale,
    partialLiquidationThreshold: c.partialLiquidationThreshold,
  };
}

/** The 18-decimal price a market's feed answers now (feed answer x 1e10). */
export async function feedPriceOf(s: any, marketId: bigint): Promise<bigint> {
  const feed = marketId === 0n ? s.ethFeed : s.btcFeed;
  return (await feed.latestRoundData()).answer * FEED_STEP;
}

/** What the model expects `liquidate(account, marketId)` to do if it is mined at `timestamp`. */
export async function expectedAt(s: any, account: unknown, marketId: bigint, timestamp: bigint) {
  const c = await configOf(s.lens, marketId);
  const price = await feedPriceOf(s, marketId);
  const index = await fundingIndexAt(s.lens, marketId, c, price, timestamp);
  const p = await position(s.engine, account, marketId);
  return { c, price, index, p, e: expectedLiquidation(c, p, price, index, denOf(s.decimals)) };
}

export interface CheckedLiquidation {
  e: Expected;
  p: Pos;
  price: bigint;
  index: bigint;
  covered: bigint;
  socialized: bigint;
  lpDelta: bigint;
  tx: any;
}

/**
 * Liquidates `account`'s position as `keeper` (fee to `recipient`) in the next block and checks every
 * amount against the model: the events of each waterfall step with their arguments, the token balance
 * changes of the keeper's recipient, the trader, the engine and the backstop, the LP ledger, the pending
 * penalties, the position left behind, conservation of money to the unit, and solvency.
 * `coverCap` is the backstop's per-cover cap computed by the caller from what it staked.
 */
export async function checkedLiquidation(
  s: any,
  account: any,
  marketId: bigint,
  opts: { keeper?: any; recipient?: any; coverCap: bigint; accounts: unknown[]; refundDeferred?: boolean },
): Promise<CheckedLiquidation> {
  const keeper = opts.keeper ?? s.keeper;
  const recipient = opts.recipient ?? keeper;
  const latest = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  const ts = latest + 1n;
  const { price, index, p, e } = await expectedAt(s, account, marketId, ts);
  expect(e.liquidatable, "model says liquidatable").to.equal(true);
  if (e.badDebt > 0n)
    expect([e.penalty, e.refund], "no penalty or refund once there is bad debt").to.deep.equal([0n, 0n]);
  const covered = min(e.badDebt, opts.coverCap);
  const socialized = e.badDebt - covered;
  const refundPaid = opts.refundDeferred ? 0n : e.refund;

  const who = [recipient, account, s.engine, s.backstop];
  const before = await Promise.all(who.map((a) => s.token.balanceOf(a)));
  const lpBefore: bigint = await s.engine.lpBalance();
  const penaltiesBefore: bigint = await s.lens.pendingPenalties();
  const claimableBefore: bigint = await s.engine.claimable(account);
  const backstopAssetsBefore: bigint = await s.backstop.totalAssets();

  await networkHelpers.time.setNextBlockTimestamp(ts);
  const tx = s.engine.connect(keeper).liquidate(account, marketId, recipient);
  await expect(tx)
    .to.emit(s.engine, "KeeperPaid")
    .withArgs(account.address ?? account, marketId, recipient.address ?? recipient, e.keeperFee);
  const remaining = e.full ? 0n : p.size > 0n ? p.size - e.sizeClosed : p.size + e.sizeClosed;
  await expect(tx)
    .to.emit(s.engine, "PositionLiquidated")
    .withArgs(
      account.address ?? account,
      marketId,
      keeper.address,
      price,
      e.sizeClosed,
      remaining,
      e.full ? 0n : e.newMargin,
      e.funding - e.pnlClosed,
      e.refund,
    );
  if (e.penalty > 0n)
    await expect(tx)
      .to.emit(s.engine, "PenaltyPaid")
      .withArgs(account.address ?? account, marketId, e.penalty);
  else await expect(tx).not.to.emit(s.engine, "PenaltyPaid");
  if (e.badDebt > 0n) {
    await expect(tx)
      .to.emit(s.engine, "BadDebtCovered")
      .withArgs(account.address ?? account, marketId, e.badDebt, covered);
  } else {
    await expect(tx).not.to.emit(s.engine, "BadDebtCovered");
  }
  if (socialized > 0n) {
    await expect(tx)
      .to.emit(s.engine, "LossSocialized")
      .withArgs(account.address ?? account, marketId, socialized);
  } else {
    await expect(tx).not.to.emit(s.engine, "LossSocialized");
  }
  if (covered > 0n) {
    await expect(tx)
      .to.emit(s.backstop, "Covered")
      .withArgs(e.badDebt, covered, backstopAssetsBefore - covered);
  } else {
    await expect(tx).not.to.emit(s.backstop, "Covered");
  }
  if (opts.refundDeferred) await expect(tx).to.emit(s.engine, "RefundDeferred").withArgs(account.address, e.refund);

  const after = await Promise.all(who.map((a) => s.token.balanceOf(a)));
  const delta = after.map((x: bigint, i: number) => x - before[i]);
  expect(delta[0], "keeper's recipient receives the keeper fee").to.equal(e.keeperFee);
  expect(delta[1], "trader receives the refund").to.equal(refundPaid);
  expect(delta[2], "engine: + cover - keeper fee - refund").to.equal(covered - e.keeperFee - refundPaid);
  expect(delta[3], "backstop pays the cover").to.equal(-covered);
  expect(await s.engine.claimable(account), "claimable").to.equal(claimableBefore + e.refund - refundPaid);

  const lpDelta = (await s.engine.lpBalance()) - lpBefore;
  expect((await s.lens.pendingPenalties()) - penaltiesBefore, "penalty to pending penalties").to.equal(e.penalty);
  if (e.full) {
    expect(lpDelta, "LP ledger books the trader's loss less the socialized part").to.equal(
      e.funding - e.pnlClosed - socialized,
    );
    expect(p.margin + covered, "conservation: margin + cover = keeper + penalty + refund + LP change").to.equal(
      e.keeperFee + e.penalty + e.refund + lpDelta,
    );
    expect((await s.engine.getPosition(account, marketId)).size, "position deleted").to.equal(0n);
  } else {
    const after = await position(s.engine, account, marketId);
    expect(after, "remaining position").to.deep.equal({
      size: remaining,
      entryPrice: p.entryPrice,
      margin: e.newMargin,
      fundingIndex: index,
    });
    expect(lpDelta, "LP ledger books the closed part's loss and the funding").to.equal(e.funding - e.pnlClosed);
    expect(p.margin, "conservation: margin = new margin + keeper + penalty + LP change").to.equal(
      e.newMargin + e.keeperFee + e.penalty + lpDelta,
    );
  }
  await expectSolvent(s, opts.accounts);
  return { e, p, price, index, covered, socialized, lpDelta, tx };
}

/**
 * What the first cover of a cover window can pay, from what was staked: min(assets x ratio, assets - floor).
 * Later covers in the same window share that limit (the window's base is fixed at its first cover).
 */
export const coverCap = (assets: bigint, ratio = (3n * WAD) / 10n, floor = 0n) =>
  min(wMulDown(assets, ratio), assets > floor ? assets - floor : 0n);

/** Sends the calls in one block, so that the positions they open share one funding checkpoint. */
export async function inOneBlock(sends: (() => Promise<unknown>)[]) {
  await ethers.provider.send("evm_setAutomine", [false]);
  try {
    for (const send of sends) await send();
    await networkHelpers.mine();
  } finally {
    await ethers.provider.send("evm_setAutomine", [true]);
  }
}

/** Gas limit for transactions sent while automine is off (no estimate against pending state). */
export const GAS = { gasLimit: 3_000_000n };

export interface BatchEntry {
  account: any;
  marketId: bigint;
}

/**
 * Runs `liquidateBatch` over `entries` in the next block and checks it against the model: which entries
 * are skipped (unknown market, a market in `staleMarkets`, no position, already liquidated earlier in
 * the batch, healthy), the return values, each liquidation's events, one transfer of all keeper fees,
 * the balance changes, the LP ledger and conservation summed over the batch, and solvency.
 * `backstopAssets` is what the test staked, with no cover window running: the batch's first cover opens
 * one whose covers take at most 30 % of `backstopAssets` in all.
 */
export async function checkedBatch(
  s: any,
  entries: BatchEntry[],
  opts: {
    keeper?: any;
    recipient?: any;
    staleMarkets?: bigint[];
    backstopAssets: bigint;
    accounts: unknown[];
    deferred?: unknown[];
  },
) {
  const keeper = opts.keeper ?? s.keeper;
  const recipient = opts.recipient ?? keeper;
  const count: bigint = await s.engine.marketCount();
  const ts = BigInt(await networkHelpers.time.latest()) + 1n;
  const done = new Set<string>();
  let assets = opts.backstopAssets;
  let windowRoom = wMulDown(assets, (3n * WAD) / 10n);
  const plans: { entry: BatchEntry; e: Expected; p: Pos; price: bigint; covered: bigint; socialized: bigint }[] = [];
  for (const entry of entries) {
    if (entry.marketId >= count || (opts.staleMarkets ?? []).includes(entry.marketId)) continue;
    const key = `${entry.account.address}:${entry.marketId}`;
    if (done.has(key)) continue;
    const x = await expectedAt(s, entry.account, entry.marketId, ts);
    if (x.p.size === 0n || !x.e.liquidatable) continue;
    done.add(key);
    const covered = min(x.e.badDebt, min(windowRoom, assets));
    windowRoom -= covered;
    assets -= covered;
    plans.push({ entry, e: x.e, p: x.p, price: x.price, covered, socialized: x.e.badDebt - covered });
  }
  const sum = (f: (x: (typeof plans)[number]) => bigint) => plans.reduce((a, x) => a + f(x), 0n);
  const fees = sum((x) => x.e.keeperFee);
  const covered = sum((x) => x.covered);
  const refunds = sum((x) => x.e.refund);
  const refundsPaid = sum((x) => ((opts.deferred ?? []).includes(x.entry.account) ? 0n : x.e.refund));

  const accounts = entries.map((x) => x.account.address);
  const ids = entries.map((x) => x.marketId);
  const [liquidated, keeperFees] = await s.engine.connect(keeper).liquidateBatch.staticCall(accounts, ids, recipient);
  expect([liquidated, keeperFees], "liquidateBatch returns (liquidated, keeperFees)").to.deep.equal([
    BigInt(plans.length),
    fees,
  ]);

  const who = [recipient, s.engine, s.backstop];
  const before = await Promise.all(who.map((a) => s.token.balanceOf(a)));
  const lpBefore: bigint = await s.engine.lpBalance();
  const marginsClosed = sum((x) => x.p.margin);
  await networkHelpers.time.setNextBlockTimestamp(ts);
  const tx = s.engine.connect(keeper).liquidateBatch(accounts, ids, recipient);
  await expect(tx)
    .to.emit(s.engine, "BatchLiquidated")
    .withArgs(keeper.address, BigInt(entries.length), BigInt(plans.length), fees);
  for (const x of plans) {
    const a = x.entry.account.address;
    await expect(tx).to.emit(s.engine, "KeeperPaid").withArgs(a, x.entry.marketId, recipient.address, x.e.keeperFee);
    await expect(tx)
      .to.emit(s.engine, "PositionLiquidated")
      .withArgs(
        a,
        x.entry.marketId,
        keeper.address,
        x.price,
        x.e.sizeClosed,
        0n,
        0n,
        x.e.funding - x.e.pnlClosed,
        x.e.refund,
      );
    if (x.e.badDebt > 0n) {
      await expect(tx).to.emit(s.engine, "BadDebtCovered").withArgs(a, x.entry.marketId, x.e.badDebt, x.covered);
    }
    expect(x.e.full, "batch test positions are below the partial threshold").to.equal(true);
  }
  const receipt = await (await tx).wait();
  const transfersToRecipient = receipt.logs.filter((log: any) => {
    if (log.address !== s.token.target) return false;
    const parsed = s.token.interface.parseLog(log);
    return parsed?.name === "Transfer" && parsed.args.to === recipient.address;
  });
  expect(transfersToRecipient.length, "keeper fees paid in one transfer").to.equal(fees > 0n ? 1 : 0);

  const after = await Promise.all(who.map((a) => s.token.balanceOf(a)));
  expect(after[0] - before[0], "recipient gets the keeper fees once").to.equal(fees);
  expect(after[1] - before[1], "engine: + covers - fees - refunds").to.equal(covered - fees - refundsPaid);
  expect(after[2] - before[2], "backstop pays the covers").to.equal(-covered);
  const lpDelta = (await s.engine.lpBalance()) - lpBefore;
  expect(marginsClosed + covered, "conservation over the batch").to.equal(
    fees + sum((x) => x.e.penalty) + refunds + lpDelta,
  );
  for (const x of plans) expect((await s.engine.getPosition(x.entry.account, x.entry.marketId)).size).to.equal(0n);
  await expectSolvent(s, opts.accounts);
  return { plans, fees, covered, receipt, tx };
}

/** OpenZeppelin ERC-4626 conversions with a decimals offset of 6 (10^6 virtual shares, 1 virtual asset). */
export const OFFSET = 10n ** 6n;
export const toShares = (assets: bigint, totalAssets: bigint, supply: bigint, up = false) =>
  up ? divUp(assets * (supply + OFFSET), totalAssets + 1n) : (assets * (supply + OFFSET)) / (totalAssets + 1n);
export const toAssets = (shares: bigint, totalAssets: bigint, supply: bigint, up = false) =>
  up ? divUp(shares * (totalAssets + 1n), supply + OFFSET) : (shares * (totalAssets + 1n)) / (supply + OFFSET);

/**
 * A BackstopModule on its own, whose `engine` is a plain account (so tests call cover and notifyIncome
 * directly), over a MockERC20 of `decimals`.
 */
export async function standaloneBackstop(decimals: number) {
  const signers = await ethers.getSigners();
  const [admin, staker, alice, bob, carol, engine] = [
    signers[0],
    signers[3],
    signers[5],
    signers[6],
    signers[7],
    signers[9],
  ];
  const unit = 10n ** BigInt(decimals);
  const token: any = await ethers.deployContract("MockERC20", ["Mock USD", "mUSD", decimals]);
  const backstop: any = await ethers.deployContract("BackstopModule", [token, engine, admin, "Backstop", "BACK"]);
  for (const who of [staker, alice, bob, carol, engine]) {
    await token.mint(who, 10_000_000n * unit);
    await token.connect(who).approve(backstop, ethers.MaxUint256);
  }
  return { token, backstop, admin, staker, alice, bob, carol, engine, unit, decimals };
}

/** The engine's part in income: transfer, then notify (as `distributeFees` does). */
export async function addIncome(b: any, amount: bigint) {
  await b.token.connect(b.engine).transfer(b.backstop, amount);
  return b.backstop.connect(b.engine).notifyIncome(amount);
}
