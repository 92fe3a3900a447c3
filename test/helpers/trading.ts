import { deploySystem, WAD, type SystemOptions } from "./system.js";
import { lpDeposit } from "./lp.js";

/** Independent re-implementation of the brief's formulas, in bigint math, for expected values. */

export const DAY = 86_400n;
export const PROTOCOL_SHARE = (3n * WAD) / 10n; // backstop 20 % + treasury 10 %

export const abs = (x: bigint) => (x < 0n ? -x : x);
export const min = (a: bigint, b: bigint) => (a < b ? a : b);
export const mulDivDown = (x: bigint, y: bigint, d: bigint) => (x * y) / d;
export const mulDivUp = (x: bigint, y: bigint, d: bigint) => (x * y + d - 1n) / d;

/** 10^(18 - decimals). */
export const scaleOf = (decimals: number) => 10n ** (18n - BigInt(decimals));
/** 1e18 * 10^(18 - decimals): size * price / den is collateral. */
export const denOf = (decimals: number) => WAD * scaleOf(decimals);

/** An 18-decimal price from dollars. */
export const usd = (dollars: number | bigint) => BigInt(dollars) * WAD;

/** Notional in collateral: ceil(|size| * price / den). */
export const notional = (size: bigint, price: bigint, decimals: number) => mulDivUp(abs(size), price, denOf(decimals));
/** Notional in 18-decimal USD, rounded down. */
export const notionalUsd = (size: bigint, price: bigint) => mulDivDown(abs(size), price, WAD);

/**
 * The initial margin of a position's entry, in collateral, rounded down:
 * floor(notionalUsd(|size|, entryPrice) x initialMarginRatio / den).
 */
export const entryInitialMargin = (size: bigint, entryPrice: bigint, imr: bigint, decimals: number) =>
  mulDivDown(notionalUsd(size, entryPrice), imr, denOf(decimals));

/**
 * A position's profit cap: maxProfitFactor x min(margin, its entry's initial margin), rounded down.
 * Margin added beyond the initial margin does not raise it.
 */
export const profitCap = (
  margin: bigint,
  size: bigint,
  entryPrice: bigint,
  imr: bigint,
  factor: bigint,
  decimals: number,
) => mulDivDown(min(margin, entryInitialMargin(size, entryPrice, imr, decimals)), factor, WAD);

/**
 * One side's reserve (the LP pool must hold the sum over sides and markets): maxProfitFactor x
 * min(side margin, the side's entry notional (USD) x initialMarginRatio / den rounded up), rounded up.
 */
export const sideReserve = (
  sideMargin: bigint,
  sideEntryNotionalUsd: bigint,
  imr: bigint,
  factor: bigint,
  decimals: number,
) => mulDivUp(min(sideMargin, mulDivUp(sideEntryNotionalUsd, imr, denOf(decimals))), factor, WAD);

export const tradingFee = (traded: bigint, price: bigint, ratio: bigint, decimals: number) =>
  mulDivUp(notional(traded, price, decimals), ratio, WAD);

/** The protocol's part of a fee (rounded down) and the LPs' part (the rest). */
export const splitFee = (fee: bigint) => {
  const protocol = mulDivDown(fee, PROTOCOL_SHARE, WAD);
  return { protocol, lp: fee - protocol };
};

/** Trader PnL in collateral: profit rounded down and capped, loss rounded up. */
export function pnl(size: bigint, entry: bigint, price: bigint, cap: bigint, decimals: number): bigint {
  if (size === 0n || price === entry) return 0n;
  const diff = abs(price - entry);
  const gain = size > 0n === price > entry;
  if (gain) return min(mulDivDown(abs(size), diff, denOf(decimals)), cap);
  return -mulDivUp(abs(size), diff, denOf(decimals));
}

/** Funding a position owes (positive) or receives (negative) for an index move: owed rounds up. */
export function fundingOwed(size: bigint, indexDelta: bigint, decimals: number): bigint {
  if (size === 0n || indexDelta === 0n) return 0n;
  if (size > 0n === indexDelta > 0n) return mulDivUp(abs(size), abs(indexDelta), denOf(decimals));
  return -mulDivDown(abs(size), abs(indexDelta), denOf(decimals));
}

/** Solidity's signed division (truncates toward zero); bigint division does the same. */
export const sdiv = (a: bigint, b: bigint) => a / b;

/** Funding rate per day: maxRate * clamp(skew / skewScale, -1, 1), each step truncated toward zero. */
export function fundingRate(skew: bigint, skewScale: bigint, maxRatePerDay: bigint): bigint {
  let proportional = sdiv(skew * WAD, skewScale);
  if (proportional > WAD) proportional = WAD;
  if (proportional < -WAD) proportional = -WAD;
  return sdiv(proportional * maxRatePerDay, WAD);
}

/** How far the index moves over `elapsed` seconds at `price` and a constant skew. */
export const indexDelta = (rate: bigint, price: bigint, elapsed: bigint) => sdiv(rate * price * elapsed, WAD * DAY);

/** The system with funding switched off, so trading arithmetic can be checked without it. */
export const deployNoFunding6 = () =>
  deploySystem({ decimals: 6, ethConfig: { maxFundingRatePerDay: 0n }, btcConfig: { maxFundingRatePerDay: 0n } });
export const deployNoFunding18 = () =>
  deploySystem({ decimals: 18, ethConfig: { maxFundingRatePerDay: 0n }, btcConfig: { maxFundingRatePerDay: 0n } });

/** As `deploySystem`, with `lp` having deposited 1M tokens in the LP vault. */
export async function deployFunded(options: SystemOptions) {
  const s = await deploySystem(options);
  await lpDeposit(s, s.lp, 1_000_000n * s.unit);
  return s;
}
export const funded6 = () => deployFunded({ decimals: 6 });
export const funded18 = () => deployFunded({ decimals: 18 });
const noFunding = { maxFundingRatePerDay: 0n };
export const fundedNoFunding6 = () => deployFunded({ decimals: 6, ethConfig: noFunding, btcConfig: noFunding });
export const fundedNoFunding18 = () => deployFunded({ decimals: 18, ethConfig: noFunding, btcConfig: noFunding });

export type System = Awaited<ReturnType<typeof deploySystem>>;
