// The keeper's own surroundings: another process signing from its account, a chain that is not the one it
// indexed, and summary lines that say what the receipts say.
import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import type { Block, Provider } from "ethers";
import { formatUnits } from "../scripts/lib/chain/deployment.js";
import { Keeper } from "../scripts/lib/keeper/loop.js";
import { ChainWatch } from "../scripts/lib/keeper/guard.js";
import { ExecutionClass, OrderKind, atGasPrice } from "../scripts/lib/requests/orders.js";
import {
  ETH,
  WAD,
  deployThroughIgnition,
  ethers,
  feedPrice,
  networkHelpers,
  nextRound,
  openThroughBook,
} from "./helpers/ops.js";

type System = Awaited<ReturnType<typeof deployThroughIgnition>>;

const KEEPER_GAS_PRICE = 10n ** 8n; // 0.1 gwei

function keeperOf(s: System, signer: HardhatEthersSigner = s.keeper) {
  const lines: string[] = [];
  const keeper = new Keeper(ethers, s, signer, {
    minProfit: 0n,
    batchSize: 10,
    startBlock: 0,
    dryRun: false,
    gasPrice: KEEPER_GAS_PRICE,
    log: (line) => lines.push(line),
  });
  return { keeper, lines };
}

/** An open long of 1 ETH requested through the book with the given bound, escrowing 400 mUSD plus the fee. */
async function requestLong(s: System, trader: HardhatEthersSigner, bound: bigint) {
  // The minimum at the keeper's 0.1 gwei, paid at that gas price, so that the keeper is paid to execute it.
  const at = atGasPrice(KEEPER_GAS_PRICE);
  const fee = await s.orderBook.minimumFee(ExecutionClass.Open, at);
  await s.orderBook.connect(trader).request(ETH, OrderKind.Open, WAD, 400n * s.unit, bound, fee, at);
}

describe("Tools: the keeper's guards and reports", function () {
  let s: System;
  beforeEach(async function () {
    s = await networkHelpers.loadFixture(deployThroughIgnition);
  });

  it("keeper_warns_when_another_process_signs_from_its_account", async function () {
    const a = keeperOf(s);
    const b = keeperOf(s);
    await a.keeper.tick();
    await requestLong(s, s.traders[0], 3_030n * WAD);
    await nextRound(s);
    // Keeper B, on the same account, executes the request first.
    const byB = await b.keeper.tick();
    expect(byB?.ordersExecuted, b.lines.join("\n")).to.equal(1);
    const tick = await a.keeper.tick();
    expect(tick?.otherSenderTxs, "B's execution").to.equal(1);
    expect(tick?.ordersExecuted, "nothing left for A").to.equal(0);
    const warnings = a.lines.filter((l) => l.startsWith("warning:"));
    expect(warnings).to.deep.equal([
      `warning: 1 transaction(s) from ${s.keeper.address} since the last block were not sent by this keeper: ` +
        "another process signs from this account; two keepers on one account race for the same work and the loser " +
        "pays gas for nothing (give each its own account with --from)",
    ]);

    // Its own transactions are not someone else's: A executes the next request and warns no more.
    await requestLong(s, s.traders[1], 3_030n * WAD);
    await nextRound(s);
    expect((await a.keeper.tick())?.ordersExecuted).to.equal(1);
    await networkHelpers.mine();
    expect((await a.keeper.tick())?.otherSenderTxs).to.equal(0);
    expect(a.lines.filter((l) => l.startsWith("warning:"))).to.have.length(1);
  });

  it("keeper_batch_line_says_when_another_executor_got_there_first", async function () {
    const a = keeperOf(s);
    const b = keeperOf(s);
    await requestLong(s, s.traders[0], 3_030n * WAD);
    await requestLong(s, s.traders[1], 3_030n * WAD);
    await nextRound(s);
    await a.keeper.sync(await ethers.provider.getBlockNumber());
    const { ready } = await a.keeper.orders.find();
    expect(ready).to.have.length(2);
    expect((await b.keeper.tick())?.ordersExecuted, "B executes both first").to.equal(2);

    const before = await s.collateral.balanceOf(s.keeper.address);
    const result = await a.keeper.orders.execute(ready);
    expect([result.executed, result.refused, result.fees]).to.deep.equal([0, 0, 0n]);
    expect(await s.collateral.balanceOf(s.keeper.address), "no fee for A").to.equal(before);
    const line = a.lines.find((l) => l.startsWith("batch of 2 request(s)"));
    expect(line).to.match(
      /: 0 executed, 0 refused at execution, 2 skipped by the book \(no longer pending: another executor first\? or its round refused\); fees 0\.00 mUSD tx 0x/,
    );
  });

  it("keeper_reloads_its_index_when_the_block_number_goes_back", async function () {
    const snapshot = await networkHelpers.takeSnapshot();
    await openThroughBook(s, s.keeper, [{ trader: s.traders[0], market: ETH, size: WAD, margin: 400n * s.unit }]);
    const { keeper, lines } = keeperOf(s);
    expect((await keeper.tick())?.open).to.equal(1);
    const seen = await ethers.provider.getBlockNumber();

    await snapshot.restore(); // as a node restarted on a fresh chain: the position never existed
    const now = await ethers.provider.getBlockNumber();
    const tick = await keeper.tick();
    expect(tick?.chainReset).to.equal(true);
    expect(tick?.open, "the position is gone from the index").to.equal(0);
    expect(keeper.liquidations.open.size).to.equal(0);
    expect(lines).to.include(
      `the block number went back from ${seen} to ${now}: the positions and requests indexed are stale; reloading them from block 0`,
    );
  });

  it("keeper_reloads_its_index_when_its_last_block_was_replaced", async function () {
    const snapshot = await networkHelpers.takeSnapshot();
    await requestLong(s, s.traders[0], 3_030n * WAD);
    const { keeper, lines } = keeperOf(s);
    expect((await keeper.tick())?.pendingOrders).to.equal(1);
    const seen = await ethers.provider.getBlockNumber();

    // Another block at the same height (a reorg, or a restarted node that mined as many): no request in it.
    await snapshot.restore();
    await s.collateral.connect(s.traders[1]).transfer(s.traders[2].address, 1n);
    expect(await ethers.provider.getBlockNumber()).to.equal(seen);
    await networkHelpers.mine();
    const tick = await keeper.tick();
    expect(tick?.chainReset).to.equal(true);
    expect(tick?.pendingOrders, "the request is gone").to.equal(0);
    expect(lines.some((l) => l.startsWith(`block ${seen} is no longer the block seen before: `))).to.equal(true);
  });

  it("keeper_batch_line_counts_executed_and_refused_as_the_receipt_does", async function () {
    // Two buys; the round comes 0.5 % higher: the one bounded at $3,030 executes, the one at $3,000 is refused.
    await requestLong(s, s.traders[0], 3_030n * WAD);
    await requestLong(s, s.traders[1], 3_000n * WAD);
    await networkHelpers.time.increase(Number(await s.orderBook.minDelay()));
    await s.ethFeed.updateAnswer(feedPrice(3_015n));
    const { keeper, lines } = keeperOf(s);
    const tick = await keeper.tick();
    expect([tick?.ordersReady, tick?.ordersExecuted, tick?.ordersRefused]).to.deep.equal([2, 1, 1]);
    const fee = await s.orderBook.minExecutionFee();
    const batch = lines.filter((l) => l.startsWith("batch of 2 request(s)"));
    expect(batch).to.have.length(1);
    expect(batch[0]).to.match(
      new RegExp(`: 1 executed, 1 refused at execution; fees ${formatUnits(2n * fee, s.decimals)} mUSD tx 0x`),
    );
    expect(
      lines.some((l) => /executed \d+\/\d+/.test(l)),
      "no 'executed n/m' beside a refusal",
    ).to.equal(false);
    expect(lines.some((l) => / 1 executed, 1 refused at execution, 0 expired cancelled/.test(l))).to.equal(true);
    expect(tick?.executionFees).to.equal(2n * fee);
  });

  it("chain_watch_names_a_new_genesis_block_and_a_new_chain_id", async function () {
    // Two chains as a restarted node or a switched RPC URL would give them: same height, other genesis or id.
    let chain = { genesis: "0xa0", chainId: 31_337n, hashes: ["0xa0", "0xa1", "0xa2"] };
    const provider = {
      getBlock: async (n: number) => ({ number: n, hash: chain.hashes[n] }),
      getNetwork: async () => ({ chainId: chain.chainId }),
    } as unknown as Provider;
    const watch = new ChainWatch(provider);
    const at = (n: number) => ({ number: n, hash: chain.hashes[n] }) as Block;
    expect(await watch.changed(at(2)), "the first block seen").to.equal(undefined);
    chain = { genesis: "0xb0", chainId: 31_337n, hashes: ["0xb0", "0xb1", "0xb2", "0xb3"] };
    expect(await watch.changed(at(3))).to.equal(
      "the chain was reset (a new genesis block): block 2 is no longer the block seen before",
    );
    chain = { genesis: "0xc0", chainId: 11_155_111n, hashes: ["0xc0", "0xc1", "0xc2", "0xc3", "0xc4"] };
    expect(await watch.changed(at(4))).to.equal("the chain id changed from 31337 to 11155111");
    expect(await watch.changed(at(4)), "the same block again").to.equal(undefined);
  });
});
