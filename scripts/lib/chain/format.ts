// Numbers and times as a person reads them: tokens with their symbol, ratios in percent, dates in UTC and
// durations in days and hours. Shared by the tools, the keeper and the error decoder.

/** What a rendering needs to know about the deployment: the collateral token and the chain's clock. */
export interface Units {
  /** Collateral decimals and symbol. */
  decimals: number;
  symbol: string;
  /** Decimals of the backstop's and the vault's shares (collateral decimals plus their offset). */
  backstopShareDecimals: number;
  vaultShareDecimals: number;
  /** The latest block's timestamp, for "in 6 d 23 h". */
  now: bigint;
}

/** `amount` with `decimals`, thousands grouped, trailing zeros trimmed but at least `minShown` decimals. */
export function decimal(amount: bigint, decimals: number, minShown = 0, maxShown = decimals): string {
  const negative = amount < 0n;
  let abs = negative ? -amount : amount;
  let shownDecimals = decimals;
  if (maxShown < decimals) {
    // Round half up to `maxShown` decimals.
    const drop = 10n ** BigInt(decimals - maxShown);
    abs = (abs + drop / 2n) / drop;
    shownDecimals = maxShown;
  }
  const unit = 10n ** BigInt(shownDecimals);
  const whole = (abs / unit).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  let frac = (abs % unit).toString().padStart(shownDecimals, "0").replace(/0+$/, "");
  if (frac.length < minShown) frac = frac.padEnd(minShown, "0");
  return `${negative ? "-" : ""}${whole}${frac ? "." + frac : ""}`;
}

/** Collateral units as "1,000.5 mUSD". */
export const tokens = (u: Pick<Units, "decimals" | "symbol">, amount: bigint) =>
  `${decimal(amount, u.decimals, 2)} ${u.symbol}`;

/** An 18-decimal USD amount as "$1,250.5". */
export const usd = (wad: bigint) => `$${decimal(wad, 18, 2, 4)}`;

/** An 18-decimal fraction as "9.5 %" (rounded to 4 decimals of a percent). */
export const percent = (wad: bigint) =>
  // Steps below 0.0001 % (the engine stores ratios in 1e-8) are shown in full rather than as 0.
  wad !== 0n && wad * 100n < 10n ** 14n ? `${decimal(wad * 100n, 18)} %` : `${decimal(wad * 100n, 18, 0, 4)} %`;

/** An 18-decimal base-unit size as "10,000". */
export const baseUnits = (wad: bigint) => decimal(wad, 18, 0, 6);

/** Seconds since the epoch as "2026-12-08 14:02 UTC". */
export function date(seconds: bigint): string {
  if (seconds === 0n) return "-";
  const iso = new Date(Number(seconds) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** A duration in seconds as "6 d 23 h", "2 h 5 min", "4 min 10 s", "12 s" (the two largest units). */
export function duration(seconds: bigint): string {
  let s = seconds < 0n ? -seconds : seconds;
  const parts: string[] = [];
  for (const [unit, size] of [
    ["d", 86_400n],
    ["h", 3_600n],
    ["min", 60n],
    ["s", 1n],
  ] as const) {
    if (s >= size || (unit === "s" && parts.length === 0)) {
      parts.push(`${s / size} ${unit}`);
      s %= size;
    }
    if (parts.length === 2) break;
  }
  // "6 d 0 h" reads worse than "6 d".
  return parts.filter((p, i) => i === 0 || !p.startsWith("0 ")).join(" ");
}

/** "2026-12-08 14:02 UTC (in 6 d 23 h)" or "… (3 h ago)" relative to `now`. */
export function when(seconds: bigint, now: bigint): string {
  if (seconds === now) return `${date(seconds)} (now)`;
  return seconds > now
    ? `${date(seconds)} (in ${duration(seconds - now)})`
    : `${date(seconds)} (${duration(now - seconds)} ago)`;
}

/** A JSON string of `data` with bigints as decimal strings. */
export const toJson = (data: unknown) =>
  JSON.stringify(data, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
