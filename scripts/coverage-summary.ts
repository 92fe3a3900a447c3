/**
 * Line coverage of the production contracts (contracts/, without mocks/ and Solidity test files), per file
 * and in total, from coverage/lcov.info as written by `hardhat test --coverage`.
 * Run: npm run coverage (tests and summary) or node scripts/coverage-summary.ts [path/to/lcov.info]
 */
import { readFileSync } from "node:fs";
import path from "node:path";

const lcovPath = process.argv[2] ?? "coverage/lcov.info";
const root = process.cwd();

/** Per source file: the lines that carry code, and the ones among them that ran. */
const files = new Map<string, { lines: Set<number>; hit: Set<number> }>();
let current: { lines: Set<number>; hit: Set<number> } | undefined;

for (const raw of readFileSync(lcovPath, "utf8").split("\n")) {
  const line = raw.trim();
  if (line.startsWith("SF:")) {
    const file = path
      .relative(root, path.resolve(root, line.slice(3)))
      .split(path.sep)
      .join("/");
    current = files.get(file) ?? { lines: new Set(), hit: new Set() };
    files.set(file, current);
  } else if (line.startsWith("DA:") && current !== undefined) {
    const [lineNumber, hits] = line.slice(3).split(",").map(Number);
    current.lines.add(lineNumber);
    if (hits > 0) current.hit.add(lineNumber);
  } else if (line === "end_of_record") {
    current = undefined;
  }
}

const isProduction = (file: string) =>
  file.startsWith("contracts/") && !file.startsWith("contracts/mocks/") && !file.endsWith(".t.sol");

const rows = [...files.entries()].filter(([file]) => isProduction(file)).sort(([a], [b]) => a.localeCompare(b));
if (rows.length === 0) throw new Error(`no contracts/ files in ${lcovPath}`);

const percent = (hit: number, total: number) => (total === 0 ? "100.00" : ((100 * hit) / total).toFixed(2));
const width = Math.max(...rows.map(([file]) => file.length), "total".length);
let totalLines = 0;
let totalHit = 0;
console.log(`${"file".padEnd(width)}  lines  hit    line %`);
for (const [file, { lines, hit }] of rows) {
  totalLines += lines.size;
  totalHit += hit.size;
  console.log(
    `${file.padEnd(width)}  ${String(lines.size).padStart(5)}  ${String(hit.size).padStart(5)}  ${percent(hit.size, lines.size).padStart(6)}`,
  );
}
console.log(
  `${"total".padEnd(width)}  ${String(totalLines).padStart(5)}  ${String(totalHit).padStart(5)}  ${percent(totalHit, totalLines).padStart(6)}`,
);
