// `npm run demo` (human-readable) or `npm run demo -- --json` (one JSON object on stdout). Runs on a fresh
// in-process network; needs no configuration. scripts/demo-cli.mjs passes --json on as BULWARK_DEMO_JSON.
import { writeFile } from "node:fs/promises";
import { network } from "hardhat";
import { demoJson, runDemo, waterfallTable } from "./lib/demo.js";

const jsonOut = process.env.BULWARK_DEMO_JSON;
const connection = await network.create();
const result = await runDemo(connection, jsonOut ? () => {} : (line) => console.log(line));
if (jsonOut) {
  // The wrapper prints this file alone on stdout, so that nothing Hardhat prints can mix in.
  await writeFile(jsonOut, JSON.stringify(demoJson(result)) + "\n");
} else {
  console.log("");
  console.log("Loss waterfall (collateral units), summed from the engine's events:");
  console.log(waterfallTable(result));
  console.log("");
  console.log("Bad debt = covered by the backstop + socialized. Share prices mark open positions to the oracle, so a");
  console.log("crash also hands open losers' losses to LPs: the LP share price can rise while a loss is socialized.");
}
