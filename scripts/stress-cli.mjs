// `npm run stress [-- --scenario gap --positions 1000 --seed 12 --json]`: runs scripts/stress.ts with
// `hardhat run`; the flags travel in BULWARK_STRESS_ARGS. With --json, stdout gets the report file alone,
// so that it parses as one JSON object.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { runHardhatScript } from "./lib/chain/hardhat-run.mjs";

const args = process.argv.slice(2);
const json = args.includes("--json");
const outIndex = args.indexOf("--out");
const out = path.resolve(outIndex === -1 ? "stress-report.json" : args[outIndex + 1]);
const code = await runHardhatScript("scripts/stress.ts", { BULWARK_STRESS_ARGS: JSON.stringify(args) }, json);
if (code === 0 && json) process.stdout.write(await readFile(out, "utf8"));
process.exit(code);
