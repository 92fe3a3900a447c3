// Runs a script with `hardhat run`, which forwards no flags of its own, for the `npm run demo` and
// `npm run stress` launchers: the launcher passes the flags in the environment instead.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(import.meta.url);
const hardhatPackage = require.resolve("hardhat/package.json");
const hardhatCli = path.join(path.dirname(hardhatPackage), require(hardhatPackage).bin.hardhat);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../../..");

/**
 * Runs `script` under `hardhat run` with `env` added and resolves to its exit code. With `json`, whatever
 * the run prints (and Hardhat's own output, such as compiler messages) goes to stderr, so that the caller
 * can print one JSON object alone on stdout.
 */
export async function runHardhatScript(script, env, json) {
  // The first run compiles every contract with the WASM solc before the script starts; say so, or the
  // wait looks like a hang.
  if (!existsSync(path.join(root, "artifacts", "build-info"))) {
    process.stderr.write(
      "First run: compiling the contracts (about 1 min 45 s on a 2-core machine; later runs start at once)…\n",
    );
  }
  const child = spawn(process.execPath, [hardhatCli, "run", script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", json ? process.stderr : "inherit", "inherit"],
  });
  return (await new Promise((resolve) => child.on("close", resolve))) ?? 1;
}
