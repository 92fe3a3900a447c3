import { expect } from "chai";
import hre from "hardhat";
import config from "../hardhat.config.js";

/** Every deployable contract's runtime bytecode stays 2.5 KB under EIP-170's 24,576 bytes. */
const LIMIT = 22_000;
const EIP170 = 24_576;

describe("contract size", function () {
  it("the production profile compiles exactly as the tests do (sizes below are production sizes)", function () {
    const profiles = config.solidity as { profiles: Record<string, unknown> };
    expect(profiles.profiles.production).to.deep.equal(profiles.profiles.default);
  });

  it(`every deployable contract's runtime bytecode is at most ${LIMIT.toLocaleString("en-US")} bytes`, async function () {
    // Under `--coverage` the artifacts carry instrumentation: their sizes are not the deployed ones.
    if (hre.globalOptions.coverage === true) this.skip();
    const rows: { name: string; bytes: number; margin: number }[] = [];
    for (const fqn of await hre.artifacts.getAllFullyQualifiedNames()) {
      // Deployable units live in contracts/ (test doubles in contracts/mocks are never deployed outside
      // tests), plus OpenZeppelin's TimelockController, which every deployment includes.
      const ours = fqn.startsWith("contracts/") && !fqn.startsWith("contracts/mocks/");
      if (!ours && !fqn.endsWith("/governance/TimelockController.sol:TimelockController")) continue;
      const artifact = await hre.artifacts.readArtifact(fqn);
      const bytes = (artifact.deployedBytecode.length - 2) / 2;
      // Interfaces and internal-only libraries have no runtime code of their own (a library's is a stub).
      if (bytes <= 100) continue;
      rows.push({ name: artifact.contractName, bytes, margin: LIMIT - bytes });
    }
    rows.sort((a, b) => b.bytes - a.bytes);
    console.log(
      `      ${"contract".padEnd(18)} ${"bytes".padStart(7)} ${"to 22,000".padStart(10)} ${"to EIP-170".padStart(11)}`,
    );
    for (const r of rows) {
      const fmt = (n: number) => n.toLocaleString("en-US");
      console.log(
        `      ${r.name.padEnd(18)} ${fmt(r.bytes).padStart(7)} ${fmt(r.margin).padStart(10)} ${fmt(EIP170 - r.bytes).padStart(11)}`,
      );
    }
    expect(rows.map((r) => r.name)).to.include.members([
      "PerpEngine",
      "ConfigLogic",
      "PerpLens",
      "BackstopModule",
      "TimelockController",
    ]);
    const over = rows.filter((r) => r.bytes > LIMIT).map((r) => `${r.name} ${r.bytes}`);
    expect(over, `contracts over the ${LIMIT}-byte limit`).to.deep.equal([]);
  });
});
