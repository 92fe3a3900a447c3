// `npm run demo [-- --json]`: runs scripts/demo.ts with `hardhat run`, which forwards no flags of its own.
// With --json the demo writes its summary to a temporary file and this wrapper prints that file alone on
// stdout (Hardhat's own output, such as compiler messages, goes to stderr), so the output parses as JSON.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

const json = process.argv.slice(2).includes("--json");
const require = createRequire(import.meta.url);
const hardhatPackage = require.resolve("hardhat/package.json");
const hardhatCli = path.join(path.dirname(hardhatPackage), require(hardhatPackage).bin.hardhat);

// The first run compiles every contract with the WASM solc before the demo starts; say so, or the wait
// looks like a hang (stderr, so that --json output stays one object on stdout).
const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
if (!existsSync(path.join(root, "artifacts", "build-info"))) {
  process.stderr.write(
    "First run: compiling the contracts (about 1 min 45 s on a 2-core machine; later runs start at once)…\n",
  );
}

const dir = json ? await mkdtemp(path.join(tmpdir(), "bulwark-demo-")) : undefined;
const out = dir ? path.join(dir, "demo.json") : "";
const child = spawn(process.execPath, [hardhatCli, "run", "scripts/demo.ts"], {
  env: { ...process.env, BULWARK_DEMO_JSON: out },
  stdio: ["ignore", json ? process.stderr : "inherit", "inherit"],
});
const code = await new Promise((resolve) => child.on("close", resolve));
if (code === 0 && json) process.stdout.write(await readFile(out, "utf8"));
if (dir) await rm(dir, { recursive: true, force: true });
process.exit(code ?? 1);
