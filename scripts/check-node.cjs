// npm must itself run on Node >= 22 while installing: under Node 20 it silently skips Hardhat's
// native simulator (an optional dependency with engines >= 22) and Hardhat later fails with HHE27.
const path = process.env.npm_node_execpath || process.execPath;
const { execFileSync } = require("node:child_process");
const version = execFileSync(path, ["-p", "process.versions.node"]).toString().trim();
const major = Number(version.split(".")[0]);
if (major < 22) {
  console.error(
    `\nBulwark: npm is running on Node ${version}; installing needs Node >= 22.\n` +
      "Run instead:  npx -y -p node@24 -- npm install --loglevel=warn\n",
  );
  process.exit(1);
}
