// Numbers as people write them, read in one place: "1000", "1,000.5", "1_000", "-12", "+5". A comma or an
// underscore is accepted only where it separates thousands; anything else is refused with the option's
// name, so that "1,5" is never read as 15.
import { ToolError } from "./errors.js";

const UINT256_MAX = (1n << 256n) - 1n;

export interface DecimalRules {
  /** Whether a leading "-" is allowed (default: no; "-5" is refused with the option's name). */
  signed?: boolean;
  /** The largest magnitude in base units (default: what a uint256 holds). */
  max?: bigint;
  /** The error's name (default: BadAmount). */
  code?: string;
}

/**
 * `text` as a fixed-point integer with `decimals` decimals: "1,000.5" with 2 decimals is 100050n. `option` is
 * how the user named it (`--amount`, `KEEPER_MIN_PROFIT`), for the error.
 */
export function parseDecimal(text: string, decimals: number, option: string, rules: DecimalRules = {}): bigint {
  const { signed = false, max = UINT256_MAX, code = "BadAmount" } = rules;
  const fail = (why: string) => new ToolError(code, `${option} "${text.trim()}" ${why}`, { option });
  // Hardhat's command line reads "-12" as an option, so .npmrc's preload hands it over as " -12".
  const clean = text.trim();
  const match = /^([+-]?)([\d,_]*)(?:\.([\d,_]*))?$/.exec(clean);
  if (!match || !/\d/.test(clean)) throw fail("is not a number such as 1000, 1,000.5 or 0.25");
  const [, sign, whole, frac = ""] = match;
  if (sign === "-" && !signed) throw fail("is negative: give 0 or more");
  if (/[,_]/.test(whole)) {
    const separator = /,/.test(whole) ? "," : "_";
    const grouped = separator === "," ? /^\d{1,3}(,\d{3})+$/ : /^\d{1,3}(_\d{3})+$/;
    if (!grouped.test(whole)) {
      throw fail(
        `puts "${separator}" where it does not separate thousands: write 1${separator}000 for a thousand, 1.5 for one and a half`,
      );
    }
  }
  if (/[,_]/.test(frac)) throw fail("has a separator after the decimal point");
  if (frac.length > decimals) throw fail(`has ${frac.length} decimals; at most ${decimals} are allowed`);
  const digits = whole.replace(/[,_]/g, "") || "0";
  const magnitude = BigInt(digits) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, "0") || "0");
  if (magnitude > max) throw fail("is too large");
  return sign === "-" ? -magnitude : magnitude;
}
