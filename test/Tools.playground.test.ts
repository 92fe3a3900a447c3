// The local playground of docs/OPERATIONS.md, step by step with the documented tasks only: from an empty
// deployment to a liquidation, a stake, a cooldown and an unstake, then a trade through the order book.
import { expect } from "chai";
import { type CommonArgs, type Tool, execute } from "../scripts/lib/chain/cli.js";
import type { Deployment } from "../scripts/lib/chain/deployment.js";
import { runKeeper } from "../scripts/lib/keeper/cli.js";
import { deployLocal } from "../scripts/lib/chain/local.js";
import { fund, price, refresh, seed, time } from "../scripts/lib/tools/playground.js";
import { cooldown, stake, stakerStatus, unstake } from "../scripts/lib/tools/staker.js";
import { listOrders, requestOrder } from "../scripts/lib/tools/trader.js";
import { connection, ethers, networkHelpers } from "./helpers/ops.js";

/** What `npx hardhat ignition deploy deploy/modules/LocalBulwark.ts --network localhost` leaves: nothing funded. */
const emptyLocalDeployment = () => deployLocal(connection, "localhost");

async function task<A extends CommonArgs>(d: Deployment, tool: Tool<A>, args: A) {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
  const code = await execute({ connection, deployment: d, io }, args, tool);
  return { code, text: out.join("\n"), err: err.join("\n") };
}

async function keeper(d: Deployment, dryRun: boolean) {
  const out: string[] = [];
  const io = { out: (l: string) => out.push(l), err: () => {} };
  const code = await runKeeper({ connection, deployment: d, io }, { iterations: "1", dryRun, json: true });
  expect(code).to.equal(0);
  return JSON.parse(out[out.length - 1]);
}

describe("Local playground (docs/OPERATIONS.md)", function () {
  it("takes a new operator from an empty node to a liquidation, a stake, a cooldown and an unstake", async function () {
    const d = await networkHelpers.loadFixture(emptyLocalDeployment);
    const [operator] = await ethers.getSigners();
    const unit = 10n ** BigInt(d.decimals);

    // local seed, then the keeper: a dry run names the two 9x longs, the real run liquidates them.
    expect((await task(d, seed, {})).code).to.equal(0);
    const dry = await keeper(d, true);
    expect([dry.liquidatable, dry.liquidated, dry.keeperFees]).to.deep.equal([2, 0, (200n * unit).toString()]);
    const real = await keeper(d, false);
    expect([real.liquidatable, real.liquidated, real.keeperFees]).to.deep.equal([2, 2, (200n * unit).toString()]);

    // The operator (account #0) holds only the keeper fees it just earned until `local fund`.
    const broke = await task(d, stake, { amount: "1000" });
    expect(broke.err).to.equal(
      `error: staking needs 1,000.00 mUSD; ${operator.address} holds 200.00 mUSD [InsufficientBalance]`,
    );
    expect((await task(d, fund, { amount: "5000" })).code).to.equal(0);
    expect(await d.collateral.balanceOf(operator.address)).to.equal(5_200n * unit);

    // Stake, cool down, fail to unstake early (with the date), travel to the window, refresh, unstake.
    expect((await task(d, stake, { amount: "1000" })).text).to.match(/^Staked 1,000.00 mUSD for 1,000 shares/);
    expect((await task(d, cooldown, {})).text).to.match(/Unstake window: opens .* UTC \(in 7 d\), closes /);
    expect((await task(d, unstake, {})).err).to.match(/^error: the unstake window opens on .* \(in 6 d 23 h\)/);
    const travelled = await task(d, time, { toWindow: true });
    expect(travelled.text).to.match(/^Advanced the clock by 7 d 1 min: it is now /);
    expect(travelled.text).to.include("Stale now: ETH-USD, BTC-USD; `npx hardhat local refresh`");
    expect((await task(d, stakerStatus, {})).text).to.include("cooldown: in the unstake window until");
    expect((await task(d, refresh, {})).code).to.equal(0);
    expect(await d.ethOracle.price()).to.equal(2_760n * 10n ** 18n); // the seed's -8 %, posted again
    const left = await task(d, unstake, { json: true });
    expect(JSON.parse(left.text).received).to.equal((1_000n * unit).toString());
    expect(await d.backstop.balanceOf(operator.address)).to.equal(0n);

    // A trade is two steps: request, the next round, the keeper executes it; then a close request.
    expect((await task(d, fund, { amount: "2000" })).code).to.equal(0);
    const asked = await task(d, requestOrder, { market: "0", kind: "open", side: "long", size: "1", amount: "402" });
    expect(asked.err).to.equal("");
    expect(asked.text).to.match(/^Requested open long 1 with 402.00 mUSD in market 0/);
    expect((await task(d, listOrders, {})).text).to.match(/market 0: open long 1 with .*; waiting for the first round/);
    expect((await task(d, refresh, {})).code).to.equal(0);
    const executed = await keeper(d, false);
    expect([executed.ordersReady, executed.ordersExecuted]).to.deep.equal([1, 1]);
    expect((await d.engine.getPosition(operator.address, 0n)).size).to.equal(10n ** 18n);
    expect((await task(d, requestOrder, { market: "0", kind: "close" })).text).to.match(/^Requested close long/);

    // Prices move by percent or to a value; the clock moves by a duration.
    const moved = await task(d, price, { market: "1", move: "-3" });
    expect(moved.text).to.match(/^BTC-USD feed: \$60,000.00 -> \$58,200.00/);
    expect((await task(d, price, { market: "0", price: "3000" })).text).to.match(
      /^ETH-USD feed: \$2,760.00 -> \$3,000.00/,
    );
    const both = await task(d, price, { market: "0", price: "1", move: "1" });
    expect(both.err).to.equal(
      "error: give either --price (USD, e.g. 2760) or --move (percent, e.g. -8) [MissingOption]",
    );
    const before = (await ethers.provider.getBlock("latest"))!.timestamp;
    expect((await task(d, time, { seconds: "12h" })).code).to.equal(0);
    expect((await ethers.provider.getBlock("latest"))!.timestamp - before).to.equal(12 * 3_600);
  });
});
