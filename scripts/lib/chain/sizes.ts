// Contract sizes, measured from the compiled artifacts: the size test checks them against the limit and
// against the table in docs/ARCHITECTURE.md, and `npm run sizes` rewrites that table.
import type { ArtifactManager } from "hardhat/types/artifacts";

/** Every deployable contract's runtime bytecode stays this far under EIP-170's 24,576 bytes. */
export const SIZE_LIMIT = 22_000;
export const EIP170 = 24_576;

export interface ContractSize {
  name: string;
  bytes: number;
}

/** The runtime size of each deployable contract, largest first. */
export async function deployableSizes(artifacts: ArtifactManager): Promise<ContractSize[]> {
  const rows: ContractSize[] = [];
  for (const fqn of await artifacts.getAllFullyQualifiedNames()) {
    // Deployable units live in contracts/ (test doubles in contracts/mocks are never deployed outside
    // tests), plus OpenZeppelin's TimelockController, which every deployment includes.
    const ours = fqn.startsWith("contracts/") && !fqn.startsWith("contracts/mocks/");
    if (!ours && !fqn.endsWith("/governance/TimelockController.sol:TimelockController")) continue;
    const artifact = await artifacts.readArtifact(fqn);
    const bytes = (artifact.deployedBytecode.length - 2) / 2;
    // Interfaces and internal-only libraries have no runtime code of their own (a library's is a stub).
    if (bytes <= 100) continue;
    rows.push({ name: artifact.contractName, bytes });
  }
  return rows.sort((a, b) => b.bytes - a.bytes);
}

const BEGIN = "<!-- contract sizes: `npm run sizes` writes this table -->";
const END = "<!-- end of contract sizes -->";
const fmt = (n: number) => n.toLocaleString("en-US");

/** The markdown table of `rows`, between the markers that `sizeTableIn` and `withSizeTable` look for. */
export function sizeTable(rows: ContractSize[]): string {
  const lines = [
    "| contract | bytes | under 22,000 | under EIP-170 |",
    "| -------- | ----: | -----------: | ------------: |",
    ...rows.map((r) => `| ${r.name} | ${fmt(r.bytes)} | ${fmt(SIZE_LIMIT - r.bytes)} | ${fmt(EIP170 - r.bytes)} |`),
  ];
  return [BEGIN, "", ...lines, "", END].join("\n");
}

/** The sizes that `doc`'s table states, or undefined when it has none. */
export function sizeTableIn(doc: string): ContractSize[] | undefined {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) return undefined;
  return doc
    .slice(start + BEGIN.length, end)
    .split("\n")
    .map((line) => /^\|\s*(\w+)\s*\|\s*([\d,]+)\s*\|/.exec(line))
    .filter((m) => m !== null)
    .map((m) => ({ name: m[1], bytes: Number(m[2].replace(/,/g, "")) }));
}

/** `doc` with its size table replaced by one of `rows`. */
export function withSizeTable(doc: string, rows: ContractSize[]): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`no size table markers (${BEGIN}) in the document`);
  return doc.slice(0, start) + sizeTable(rows) + doc.slice(end + END.length);
}
