import { readFileSync } from "node:fs";
import { expect } from "chai";
import hre from "hardhat";
import config from "../hardhat.config.js";
import { EIP170, SIZE_LIMIT, deployableSizes, sizeTableIn } from "../scripts/lib/chain/sizes.js";

describe("contract size", function () {
  it("the production profile compiles exactly as the tests do (sizes below are production sizes)", function () {
    const profiles = config.solidity as { profiles: Record<string, unknown> };
    expect(profiles.profiles.production).to.deep.equal(profiles.profiles.default);
  });

  it(`every deployable contract's runtime bytecode is at most ${SIZE_LIMIT.toLocaleString("en-US")} bytes`, async function () {
    // Under `--coverage` the artifacts carry instrumentation: their sizes are not the deployed ones.
    if (hre.globalOptions.coverage === true) this.skip();
    const rows = await deployableSizes(hre.artifacts);
    const fmt = (n: number) => n.toLocaleString("en-US");
    console.log(
      `      ${"contract".padEnd(18)} ${"bytes".padStart(7)} ${"to 22,000".padStart(10)} ${"to EIP-170".padStart(11)}`,
    );
    for (const r of rows) {
      console.log(
        `      ${r.name.padEnd(18)} ${fmt(r.bytes).padStart(7)} ${fmt(SIZE_LIMIT - r.bytes).padStart(10)} ${fmt(EIP170 - r.bytes).padStart(11)}`,
      );
    }
    expect(rows.map((r) => r.name)).to.include.members([
      "PerpEngine",
      "ConfigLogic",
      "PerpLens",
      "BackstopModule",
      "TimelockController",
    ]);
    const over = rows.filter((r) => r.bytes > SIZE_LIMIT).map((r) => `${r.name} ${r.bytes}`);
    expect(over, `contracts over the ${SIZE_LIMIT}-byte limit`).to.deep.equal([]);
  });

  it("docs_architecture_size_table_matches_the_compiled_sizes", async function () {
    if (hre.globalOptions.coverage === true) this.skip();
    const compiled = await deployableSizes(hre.artifacts);
    const documented = sizeTableIn(readFileSync(new URL("../docs/ARCHITECTURE.md", import.meta.url), "utf8"));
    expect(documented, "docs/ARCHITECTURE.md has a size table (`npm run sizes` writes it)").to.not.equal(undefined);
    expect(
      documented,
      "docs/ARCHITECTURE.md's size table differs from the compiled contracts: run `npm run sizes` to rewrite it",
    ).to.deep.equal(compiled);
  });
});
