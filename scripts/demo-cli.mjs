// `npm run demo [-- --json]`: runs scripts/demo.ts with `hardhat run`. With --json the demo writes its
// summary to a temporary file and this wrapper prints that file alone on stdout, so the output parses as
// JSON.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { runHardhatScript } from "./lib/chain/hardhat-run.mjs";

const json = process.argv.slice(2).includes("--json");
const dir = json ? await mkdtemp(path.join(tmpdir(), "bulwark-demo-")) : undefined;
const out = dir ? path.join(dir, "demo.json") : "";
const code = await runHardhatScript("scripts/demo.ts", { BULWARK_DEMO_JSON: out }, json);
if (code === 0 && json) process.stdout.write(await readFile(out, "utf8"));
if (dir) await rm(dir, { recursive: true, force: true });
process.exit(code);
