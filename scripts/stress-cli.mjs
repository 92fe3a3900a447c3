// `npm run stress [-- --scenario gap --positions 1000 --seed 12 --json]`: runs scripts/stress.ts with
// `hardhat run`, which forwards no flags of its own, so the flags travel in BULWARK_STRESS_ARGS.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const hardhatPackage = require.resolve("hardhat/package.json");
const hardhatCli = path.join(path.dirname(hardhatPackage), require(hardhatPackage).bin.hardhat);
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
if (!existsSync(path.join(root, "artifacts", "build-info"))) {
  process.stderr.write(
    "First run: compiling the contracts (about 1 min 45 s on a 2-core machine; later runs start at once)…\n",
  );
}
const args = process.argv.slice(2);
const json = args.includes("--json");
const outIndex = args.indexOf("--out");
const out = path.resolve(outIndex === -1 ? "stress-report.json" : args[outIndex + 1]);
const child = spawn(process.execPath, [hardhatCli, "run", "scripts/stress.ts"], {
  env: { ...process.env, BULWARK_STRESS_ARGS: JSON.stringify(args) },
  // With --json everything the run prints (and Hardhat's own output) goes to stderr; stdout gets the
  // report file alone, so that it parses as one JSON object.
  stdio: ["ignore", json ? process.stderr : "inherit", "inherit"],
});
const code = await new Promise((resolve) => child.on("close", resolve));
if (code === 0 && json) process.stdout.write(await readFile(out, "utf8"));
process.exit(code ?? 1);
