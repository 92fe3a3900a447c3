// `npm run sizes`: compiles, then rewrites the contract size table in docs/ARCHITECTURE.md from the artifacts
// (test/ContractSize.test.ts fails when the table and the compiled sizes differ).
import { readFileSync, writeFileSync } from "node:fs";
import hre from "hardhat";
import { format } from "prettier";
import { deployableSizes, withSizeTable } from "./lib/chain/sizes.js";

const file = new URL("../docs/ARCHITECTURE.md", import.meta.url);
const rows = await deployableSizes(hre.artifacts);
const doc = withSizeTable(readFileSync(file, "utf8"), rows);
writeFileSync(file, await format(doc, { parser: "markdown", printWidth: 120 }));
console.log(
  `docs/ARCHITECTURE.md: sizes of ${rows.length} contracts (${rows.map((r) => `${r.name} ${r.bytes}`).join(", ")})`,
);
