// `npm run demo [-- --json]`: runs scripts/demo.ts with `hardhat run`, which forwards no flags of its own.
// With --json the demo writes its summary to a temporary file and this wrapper prints that file alone on
// stdout (Hardhat's own output, such as compiler messages, goes to stderr), so the output parses as JSON.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

const json = process.argv.slice(2).includes("--json");
const require = createRequire(import.meta.url);
const hardhatPackage = require.resolve("hardhat/package.json");
const hardhatCli = path.join(path.dirname(hardhatPackage), require(hardhatPackage).bin.hardhat);

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
