import { expect } from "chai";
import type { ContractTransactionReceipt, Log as EthersLog } from "ethers";
import {
  automationLog as toAutomationLog,
  CHECK_GAS_LIMIT,
  PERFORM_GAS_LIMIT as PERFORM_GAS,
  performCall,
  simulateCheck,
} from "../scripts/lib/chain/automation.js";
import { sentRequest } from "./helpers/book.js";
import { BTC, ETH, ethers, feedPrice, networkHelpers, ORDER_DELAY, ORDER_MAX_AGE } from "./helpers/system.js";
import { deployFunded } from "./helpers/trading.js";

/**
 * Chainlink Automation in place of the project's keeper (docs/OPERATIONS.md, "Chainlink Automation"): the
 * checks run as the registry simulates them (an eth_call from the zero address, under the check gas limit), and
 * every perform goes through the package's AutomationForwarder, called by the account that plays the registry.
 */

const OPEN = 0;
const CLOSE = 3;
const NO_BOUND = 2n ** 128n - 1n;

async function system() {
  const s = await deployFunded({
    decimals: 6,
    orders: "book",
    feed: "EmittingFeed",
    ethConfig: { maxFundingRatePerDay: 0n },
    btcConfig: { maxFundingRatePerDay: 0n },
  });
  const registry = (await ethers.getSigners())[9];
  const liquidations = await ethers.deployContract("LiquidationUpkeep", [s.lens, s.treasury]);
  const executions = await ethers.deployContract("ExecutionUpkeep", [s.lens, s.treasury]);
  // One forwarder per registered upkeep, as the registry creates them; `logic` serves only the forwarder's
  // registry-facing fallback, which these tests do not use.
  const forwarder = async (target: unknown) =>
    ethers.deployContract("AutomationForwarder", [target, registry, ethers.ZeroAddress]);
  const executionForwarder = await forwarder(executions);
  const liquidationForwarder = await forwarder(liquidations);
  // The book's admin (the timelock on a deployment) makes the upkeep an executor, and its forwarder one that may
  // drive it.
  const role = await s.book.EXECUTOR_ROLE();
  await s.book.connect(s.admin).grantRole(role, executions);
  await s.book.connect(s.admin).grantRole(role, executionForwarder);
  await round(s, s.ethFeed, 2_000, 1n);
  return { ...s, registry, liquidations, executions, executionForwarder, liquidationForwarder };
}
type S = Awaited<ReturnType<typeof system>>;
type Signer = S["alice"];

const now = async () => BigInt(await networkHelpers.time.latest());
async function round(s: { ethFeed: S["ethFeed"] }, feed: S["ethFeed"], dollars: number, seconds = ORDER_DELAY) {
  await networkHelpers.time.setNextBlockTimestamp((await now()) + seconds);
  return (await (await feed.updateAnswer(feedPrice(dollars))).wait())!;
}

/** A receipt's log in the shape Automation hands `checkLog`. */
async function automationLog(receipt: ContractTransactionReceipt, match: (log: EthersLog) => boolean) {
  const log = receipt.logs.find(match);
  if (!log) throw new Error(`no such log in the receipt: ${receipt.logs.map((l) => l.address).join(", ")}`);
  return toAutomationLog(log, (await ethers.provider.getBlock(log.blockNumber))!.timestamp);
}

/** A check as the registry runs it (scripts/lib/chain/automation.ts). */
const simulate = (upkeep: S["liquidations"] | S["executions"], fn: "checkUpkeep" | "checkLog", args: unknown[]) =>
  simulateCheck(ethers.provider, upkeep, fn, args);
const check = (upkeep: S["liquidations"] | S["executions"], checkData = "0x") =>
  simulate(upkeep, "checkUpkeep", [checkData]);
const checkLog = (upkeep: S["liquidations"] | S["executions"], log: unknown, checkData = "0x") =>
  simulate(upkeep, "checkLog", [log, checkData]);

/** `performUpkeep` as the registry runs it: through the upkeep's forwarder, with the perform gas limit. */
async function perform(
  s: S,
  forwarder: S["executionForwarder"],
  target: S["executions"] | S["liquidations"],
  data: string,
) {
  const call = performCall(target, data);
  const [success] = await forwarder.connect(s.registry).forward.staticCall(PERFORM_GAS, call, { gasLimit: 8_000_000n });
  const receipt = (await (
    await forwarder.connect(s.registry).forward(PERFORM_GAS, call, { gasLimit: 8_000_000n })
  ).wait())!;
  return { success: success as boolean, receipt };
}

async function open(s: S, who: Signer, marketId: bigint, size: bigint, amount: bigint) {
  return sentRequest(
    s.book,
    s.book.connect(who).request(marketId, OPEN, size, amount, size > 0n ? NO_BOUND : 1n, s.unit),
  );
}

/** Queues a request the way the log upkeep does, from its `OrderRequested` or `LpRequested` log. */
async function queueFrom(s: S, receipt: ContractTransactionReceipt, source: string) {
  const log = await automationLog(receipt, (l) => l.address === source);
  const c = await checkLog(s.executions, log);
  expect(c.needed).to.equal(true);
  const { success } = await perform(s, s.executionForwarder, s.executions, c.performData);
  expect(success).to.equal(true);
}

/** Trades through the upkeeps alone: request, queue from the log, the next round, execute from its log. */
async function openByUpkeep(s: S, who: Signer, marketId: bigint, size: bigint, amount: bigint, dollars = 2_000) {
  const tx = await s.book.connect(who).request(marketId, OPEN, size, amount, size > 0n ? NO_BOUND : 1n, s.unit);
  await queueFrom(s, (await tx.wait())!, await s.book.getAddress());
  const feed = marketId === ETH ? s.ethFeed : s.btcFeed;
  const roundReceipt = await round(s, feed, dollars);
  const c = await checkLog(s.executions, await automationLog(roundReceipt, () => true));
  expect(c.needed).to.equal(true);
  const { receipt } = await perform(s, s.executionForwarder, s.executions, c.performData);
  const executed = receipt.logs.find((l) => l.address === (s.book.target as string));
  expect(executed, "the upkeep's perform executed nothing").to.not.equal(undefined);
  return receipt;
}

async function trackFrom(s: S, receipt: ContractTransactionReceipt) {
  const log = await automationLog(
    receipt,
    (l) =>
      l.address === (s.book.target as string) && l.topics[0] === s.book.interface.getEvent("OrderExecuted")!.topicHash,
  );
  const c = await checkLog(s.liquidations, log);
  expect(c.needed).to.equal(true);
  const { success } = await perform(s, s.liquidationForwarder, s.liquidations, c.performData);
  expect(success).to.equal(true);
}

describe("Chainlink Automation: upkeeps in place of the keeper", function () {
  it("a trade goes from request to execution with no bot: queued from its log, executed from the round's log at the first round after the delay", async function () {
    const s = await networkHelpers.loadFixture(system);
    const tx = await s.book
      .connect(s.alice)
      .request(ETH, OPEN, ethers.parseEther("1"), 300n * s.unit, NO_BOUND, s.unit);
    await queueFrom(s, (await tx.wait())!, await s.book.getAddress());
    expect(await s.executions.isQueued(s.alice, ETH)).to.equal(true);
    expect(await s.executions.queueLength()).to.equal(1n);

    // Before any round after the delay, nothing is due.
    expect((await check(s.executions)).needed).to.equal(false);
    // Two rounds after the delay: the request executes at the first, whose price is the better for this buy
    // only if the latest is not lower; the book proves it is the first round.
    const first = await round(s, s.ethFeed, 2_000);
    await round(s, s.ethFeed, 2_100, 5n);
    const c = await checkLog(s.executions, await automationLog(first, () => true), ethers.toBeHex(ETH, 32));
    expect(c.needed).to.equal(true);
    const balanceBefore = await s.token.balanceOf(s.treasury);
    const { success, receipt } = await perform(s, s.executionForwarder, s.executions, c.performData);
    expect(success).to.equal(true);
    const executed = receipt.logs
      .map((l) => {
        try {
          return s.book.interface.parseLog(l);
        } catch {
          return null;
        }
      })
      .find((p) => p?.name === "OrderExecuted");
    expect(executed!.args.keeper).to.equal(await s.executions.getAddress());
    expect(executed!.args.roundId).to.equal((await s.ethFeed.latestRound()) - 1n);
    expect(executed!.args.price).to.equal(ethers.parseEther("2100")); // the worse of the round and now, for a buy
    expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(ethers.parseEther("1"));
    // The execution fee reached the fee recipient, and the request left the queue.
    expect((await s.token.balanceOf(s.treasury)) - balanceBefore).to.equal(s.unit);
    expect(await s.executions.queueLength()).to.equal(0n);
    expect((await check(s.executions)).needed).to.equal(false);
  });

  it("only an executor of the book may make the upkeep execute, and a check cannot be mined", async function () {
    const s = await networkHelpers.loadFixture(system);
    const tx = await s.book
      .connect(s.alice)
      .request(ETH, OPEN, ethers.parseEther("1"), 300n * s.unit, NO_BOUND, s.unit);
    await queueFrom(s, (await tx.wait())!, await s.book.getAddress());
    await round(s, s.ethFeed, 2_000);
    const { performData } = await check(s.executions);
    // The trader, as their own keeper, cannot drive it: the forwarder is the executor, not its caller.
    await expect(s.executions.connect(s.alice).performUpkeep(performData))
      .to.be.revertedWithCustomError(s.executions, "NotExecutor")
      .withArgs(s.alice.address);
    // A forwarder the book's admin did not make an executor fails the same way (its call returns false).
    const stranger = await ethers.deployContract("AutomationForwarder", [s.executions, s.registry, ethers.ZeroAddress]);
    const { success } = await perform(s, stranger, s.executions, performData);
    expect(success).to.equal(false);
    expect(await s.book.pendingRequest(s.alice, ETH)).to.not.equal(ethers.ZeroHash);
    // Checks run only as simulations (tx.origin zero).
    await expect(s.executions.connect(s.alice).checkUpkeep("0x")).to.be.revertedWithCustomError(
      s.executions,
      "OnlySimulatedBackend",
    );
    await expect(s.liquidations.connect(s.alice).checkUpkeep("0x")).to.be.revertedWithCustomError(
      s.liquidations,
      "OnlySimulatedBackend",
    );
  });

  it("queues only what the book holds, once; a request done elsewhere leaves the queue", async function () {
    const s = await networkHelpers.loadFixture(system);
    const sent = await open(s, s.alice, ETH, ethers.parseEther("1"), 300n * s.unit);
    const forged = { ...sent.request, amount: sent.request.amount + 1n };
    await expect(s.executions.enqueue(s.alice, ETH, forged))
      .to.be.revertedWithCustomError(s.executions, "NotPending")
      .withArgs(s.alice.address, ETH);
    await expect(s.executions.enqueue(s.alice, ETH, sent.request)).to.emit(s.executions, "RequestQueued");
    await expect(s.executions.enqueue(s.alice, ETH, sent.request))
      .to.be.revertedWithCustomError(s.executions, "AlreadyQueued")
      .withArgs(s.alice.address, ETH);
    await expect(s.executions.enqueueLp(s.bob))
      .to.be.revertedWithCustomError(s.executions, "NotPending")
      .withArgs(s.bob.address, await s.executions.LP());

    // The project's keeper executes it first: the next check drops it from the queue.
    const roundReceipt = await round(s, s.ethFeed, 2_000);
    const roundId = (await s.ethFeed.latestRoundData())[0];
    await s.book.connect(s.keeper).execute(s.alice, ETH, sent.request, roundId);
    expect(roundReceipt).to.not.equal(undefined);
    const c = await check(s.executions);
    expect(c.needed).to.equal(true);
    await expect((await perform(s, s.executionForwarder, s.executions, c.performData)).receipt).to.not.equal(undefined);
    expect(await s.executions.queueLength()).to.equal(0n);
  });

  it("cancels an expired request for its owner's full refund, and only after its window", async function () {
    const s = await networkHelpers.loadFixture(system);
    const before = await s.token.balanceOf(s.alice);
    const sent = await open(s, s.alice, ETH, ethers.parseEther("1"), 300n * s.unit);
    await s.executions.enqueue(s.alice, ETH, sent.request);
    // No round in the window: at expiresAt the request is neither due nor expired.
    await networkHelpers.time.increaseTo(sent.expiresAt);
    expect((await check(s.executions)).needed).to.equal(false);
    await networkHelpers.time.increaseTo(sent.expiresAt + 1n);
    await round(s, s.ethFeed, 2_000, 1n);
    const c = await check(s.executions);
    expect(c.needed).to.equal(true);
    await perform(s, s.executionForwarder, s.executions, c.performData);
    expect(await s.book.pendingRequest(s.alice, ETH)).to.equal(ethers.ZeroHash);
    expect(await s.token.balanceOf(s.alice)).to.equal(before); // escrow and fee back
    expect(await s.executions.queueLength()).to.equal(0n);
    expect(ORDER_MAX_AGE).to.be.greaterThan(ORDER_DELAY);
  });

  it("an LP request goes from request to execution with no bot: the rounds of every market with positions", async function () {
    const s = await networkHelpers.loadFixture(system);
    await openByUpkeep(s, s.alice, ETH, ethers.parseEther("1"), 300n * s.unit);
    await openByUpkeep(s, s.bob, BTC, ethers.parseEther("0.01"), 100n * s.unit, 60_000);
    const tx = await s.vault
      .connect(s.carol)
      .requestDepositWithLimit(10_000n * s.unit, s.carol.address, s.carol.address, 0n, s.unit);
    await queueFrom(s, (await tx.wait())!, await s.vault.getAddress());
    expect(await s.executions.isQueued(s.carol, await s.executions.LP())).to.equal(true);

    // One market's round is not enough: BTC has positions too.
    await round(s, s.ethFeed, 2_000);
    expect((await check(s.executions)).needed).to.equal(false);
    await round(s, s.btcFeed, 60_000, 1n);
    const c = await check(s.executions);
    expect(c.needed).to.equal(true);
    await perform(s, s.executionForwarder, s.executions, c.performData);
    // Executed: the shares wait in the vault for Carol's claim (ERC-7540's claimable state).
    expect(await s.vault.maxMint(s.carol)).to.be.greaterThan(0n);
    expect(await s.vault.maxDeposit(s.carol)).to.equal(10_000n * s.unit);
    expect((await s.vault.lpRequest(s.carol)).amount).to.equal(0n);
    expect(await s.executions.queueLength()).to.equal(0n);
  });

  it("liquidates with no bot: positions are listed from the executions' logs, the check finds the liquidatable, perform pays the fee recipient and drops the closed", async function () {
    const s = await networkHelpers.loadFixture(system);
    const a = await openByUpkeep(s, s.alice, ETH, ethers.parseEther("10"), 2_100n * s.unit); // ~10x
    await trackFrom(s, a);
    const b = await openByUpkeep(s, s.bob, ETH, ethers.parseEther("1"), 1_000n * s.unit); // ~2x
    await trackFrom(s, b);
    expect(await s.liquidations.trackedCount()).to.equal(2n);
    await expect(s.liquidations.track(s.alice, ETH))
      .to.be.revertedWithCustomError(s.liquidations, "AlreadyTracked")
      .withArgs(s.alice.address, ETH);
    await expect(s.liquidations.track(s.carol, ETH))
      .to.be.revertedWithCustomError(s.liquidations, "NoPosition")
      .withArgs(s.carol.address, ETH);
    expect((await check(s.liquidations)).needed).to.equal(false);

    await round(s, s.ethFeed, 1_850, 1n); // -7.5 %: Alice's 10x long is liquidatable, Bob's is not
    expect(await s.lens.isLiquidatable(s.alice, ETH)).to.equal(true);
    const c = await check(s.liquidations);
    expect(c.needed).to.equal(true);
    const fee = (await s.lens.previewLiquidation(s.alice, ETH)).keeperFee;
    const before = await s.token.balanceOf(s.treasury);
    const { success } = await perform(s, s.liquidationForwarder, s.liquidations, c.performData);
    expect(success).to.equal(true);
    expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(0n);
    expect((await s.token.balanceOf(s.treasury)) - before).to.equal(fee);
    expect(await s.liquidations.isTracked(s.alice, ETH)).to.equal(false);
    expect(await s.liquidations.trackedCount()).to.equal(1n);
    await expect(s.liquidations.drop(s.bob, ETH))
      .to.be.revertedWithCustomError(s.liquidations, "PositionOpen")
      .withArgs(s.bob.address, ETH);
  });
});

/** `count` fresh accounts, each with gas money and collateral approved to the book. */
async function traders(s: S, count: number) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const w = ethers.Wallet.createRandom().connect(ethers.provider);
    await networkHelpers.setBalance(w.address, 10n ** 20n);
    await s.token.mint(w.address, 100_000n * s.unit);
    await s.token.connect(w).approve(s.book, ethers.MaxUint256);
    out.push(w);
  }
  return out;
}

/** Opens a 1 ETH long of `margin` for each account through the book (the keeper executes them in one batch). */
async function openLongs(s: S, accounts: Awaited<ReturnType<typeof traders>>, margin: bigint) {
  const sent: Awaited<ReturnType<typeof open>>[] = [];
  for (const a of accounts) sent.push(await open(s, a as never, ETH, ethers.parseEther("1"), margin));
  await round(s, s.ethFeed, 2_000);
  const roundId = (await s.ethFeed.latestRoundData())[0];
  await s.book.connect(s.keeper).executeBatch(
    accounts.map((a, i) => ({ account: a.address, roundId, marketId: ETH, request: sent[i].request })),
    { gasLimit: 16_000_000n },
  );
  for (const a of accounts) await s.liquidations.track(a.address, ETH);
}

/** The gas a check takes as the registry simulates it. */
const checkGas = async (upkeep: S["liquidations"] | S["executions"], checkData = "0x") =>
  ethers.provider.estimateGas({
    to: upkeep.target,
    data: upkeep.interface.encodeFunctionData("checkUpkeep", [checkData]),
    from: ethers.ZeroAddress,
  });

describe("Chainlink Automation: limits", function () {
  it("one liquidation check scans about 280 positions within a 10,000,000 check gas limit (measured per position)", async function () {
    const s = await networkHelpers.loadFixture(system);
    const accounts = await traders(s, 30);
    await openLongs(s, accounts.slice(0, 1), 1_000n * s.unit);
    const one = await checkGas(s.liquidations);
    await openLongs(s, accounts.slice(1), 1_000n * s.unit);
    const thirty = await checkGas(s.liquidations);
    const perPosition = (thirty - one) / 29n;
    const capacity = (CHECK_GAS_LIMIT - one - 200_000n) / perPosition;
    console.log(
      `      check: ${one} gas with 1 position, ${perPosition} per more; ${capacity} positions per 10M check`,
    );
    // docs/OPERATIONS.md states "about 280": the figure holds while a position costs at most 34,500 gas to scan.
    expect(perPosition).to.be.lessThanOrEqual(34_500n);
    expect(capacity).to.be.greaterThanOrEqual(280n);
  });

  it("a page longer than one check can scan is still scanned whole over a few blocks", async function () {
    const s = await networkHelpers.loadFixture(system);
    const accounts = await traders(s, 24);
    // Every fourth position is a 10x long; the rest are 2x.
    for (let i = 0; i < accounts.length; i++) {
      await openLongs(s, [accounts[i]], (i % 4 === 0 ? 205n : 1_000n) * s.unit);
    }
    await round(s, s.ethFeed, 1_850, 1n);
    const liquidatable = accounts.filter((_, i) => i % 4 === 0).map((a) => a.address);
    // A check gas limit that lets each check scan about six of the 24 positions.
    const limit = 200_000n + 300_000n + 6n * 30_000n;
    const seen = new Set<string>();
    for (let block = 0; block < 60 && seen.size < liquidatable.length; block++) {
      const { needed, performData } = await simulateCheck(
        ethers.provider,
        s.liquidations,
        "checkUpkeep",
        ["0x"],
        limit,
      );
      if (needed) {
        const [keys] = ethers.AbiCoder.defaultAbiCoder().decode(["uint256[]"], performData);
        expect(keys.length).to.be.lessThan(liquidatable.length); // no one check saw them all
        for (const k of keys as bigint[]) seen.add(ethers.getAddress(ethers.toBeHex(k >> 96n, 20)));
      }
      await networkHelpers.mine();
    }
    expect([...seen].sort()).to.deep.equal([...liquidatable].sort());
  });

  it("a check's perform data stays within 1,000 bytes: 25 positions per liquidation perform, 12 trades per execution perform", async function () {
    const s = await networkHelpers.loadFixture(system);
    const accounts = await traders(s, 30);
    await openLongs(s, accounts, 205n * s.unit); // 10x each
    await round(s, s.ethFeed, 1_850, 1n);
    const c = await check(s.liquidations);
    expect(ethers.dataLength(c.performData)).to.equal(64 + 25 * 32);
    await perform(s, s.liquidationForwarder, s.liquidations, c.performData);
    expect(await s.liquidations.trackedCount()).to.equal(5n);
    const rest = await check(s.liquidations);
    await perform(s, s.liquidationForwarder, s.liquidations, rest.performData);
    expect(await s.liquidations.trackedCount()).to.equal(0n);

    // Fifteen requests due at one round: 12 in the first perform, 3 in the next.
    const more = await traders(s, 15);
    for (const a of more) {
      const sent = await open(s, a as never, ETH, ethers.parseEther("1"), 1_000n * s.unit);
      await s.executions.enqueue(a.address, ETH, sent.request);
    }
    await round(s, s.ethFeed, 1_850);
    const first = await check(s.executions);
    expect(ethers.dataLength(first.performData)).to.be.lessThanOrEqual(1_000);
    await perform(s, s.executionForwarder, s.executions, first.performData);
    expect(await s.executions.queueLength()).to.equal(3n);
    await perform(s, s.executionForwarder, s.executions, (await check(s.executions)).performData);
    expect(await s.executions.queueLength()).to.equal(0n);
    for (const a of more) expect((await s.engine.getPosition(a.address, ETH)).size).to.equal(ethers.parseEther("1"));
  });
});

describe("Chainlink Automation: the execution queue", function () {
  it("an LP deposit waits while the engine is paused (the vault would refuse it), and executes after", async function () {
    const s = await networkHelpers.loadFixture(system);
    await openByUpkeep(s, s.alice, ETH, ethers.parseEther("1"), 300n * s.unit);
    const tx = await s.vault
      .connect(s.carol)
      .requestDepositWithLimit(10_000n * s.unit, s.carol.address, s.carol.address, 0n, s.unit);
    await queueFrom(s, (await tx.wait())!, await s.vault.getAddress());
    await s.engine.connect(s.admin).pause();
    await round(s, s.ethFeed, 2_000);
    expect((await check(s.executions)).needed).to.equal(false);
    await s.engine.connect(s.admin).unpause();
    const c = await check(s.executions);
    expect(c.needed).to.equal(true);
    await perform(s, s.executionForwarder, s.executions, c.performData);
    // Executed: the shares wait in the vault for Carol's claim (ERC-7540's claimable state).
    expect(await s.vault.maxMint(s.carol)).to.be.greaterThan(0n);
    expect(await s.vault.maxDeposit(s.carol)).to.equal(10_000n * s.unit);
  });

  it("a queueing perform for a request an executor was quicker to execute does nothing and does not revert", async function () {
    const s = await networkHelpers.loadFixture(system);
    const tx = await s.book
      .connect(s.alice)
      .request(ETH, OPEN, ethers.parseEther("1"), 300n * s.unit, NO_BOUND, s.unit);
    const receipt = (await tx.wait())!;
    const c = await checkLog(s.executions, await automationLog(receipt, (l) => l.address === s.book.target));
    const sent = await sentRequest(s.book, Promise.resolve(tx));
    await round(s, s.ethFeed, 2_000);
    await s.book.connect(s.keeper).execute(s.alice, ETH, sent.request, (await s.ethFeed.latestRoundData())[0]);
    const { success } = await perform(s, s.executionForwarder, s.executions, c.performData);
    expect(success).to.equal(true);
    expect(await s.executions.queueLength()).to.equal(0n);
  });

  it("what the upkeeps cost beside the project's keeper, per request and per liquidation (measured)", async function () {
    const s = await networkHelpers.loadFixture(system);
    const gasOf = async (tx: Promise<{ wait: () => Promise<ContractTransactionReceipt | null> }>) =>
      (await (await tx).wait())!.gasUsed;
    // The keeper: one execution, one liquidation.
    const [a, b, c, d] = await traders(s, 4);
    const sentA = await open(s, a as never, ETH, ethers.parseEther("10"), 2_100n * s.unit);
    await round(s, s.ethFeed, 2_000);
    const roundA = (await s.ethFeed.latestRoundData())[0];
    const keeperExecute = await gasOf(s.book.connect(s.keeper).execute(a.address, ETH, sentA.request, roundA));
    // The upkeeps: queueing from the log, the execution perform, the listing perform.
    const tx = await s.book.connect(b).request(ETH, OPEN, ethers.parseEther("10"), 2_100n * s.unit, NO_BOUND, s.unit);
    const queued = await checkLog(
      s.executions,
      await automationLog((await tx.wait())!, (l) => l.address === s.book.target),
    );
    const enqueue = (await perform(s, s.executionForwarder, s.executions, queued.performData)).receipt.gasUsed;
    await round(s, s.ethFeed, 2_000);
    const due = await check(s.executions);
    const executeReceipt = (await perform(s, s.executionForwarder, s.executions, due.performData)).receipt;
    const upkeepExecute = executeReceipt.gasUsed;
    const listed = await checkLog(
      s.liquidations,
      await automationLog(
        executeReceipt,
        (l) => l.address === s.book.target && l.topics[0] === s.book.interface.getEvent("OrderExecuted")!.topicHash,
      ),
    );
    const track = (await perform(s, s.liquidationForwarder, s.liquidations, listed.performData)).receipt.gasUsed;
    await s.liquidations.track(a.address, ETH);
    await round(s, s.ethFeed, 1_850, 1n);
    const keeperLiquidate = await gasOf(s.engine.connect(s.keeper).liquidate(a.address, ETH, s.keeper));
    const liquidation = await check(s.liquidations);
    const upkeepLiquidate = (await perform(s, s.liquidationForwarder, s.liquidations, liquidation.performData)).receipt
      .gasUsed;
    console.log(
      `      keeper: execute ${keeperExecute}, liquidate ${keeperLiquidate}; upkeeps: enqueue ${enqueue}, ` +
        `execute ${upkeepExecute}, list ${track}, liquidate ${upkeepLiquidate} (through the forwarder)`,
    );
    expect(c && d).to.not.equal(undefined);
    // The registry's per-perform gas limits (docs/OPERATIONS.md) cover these with room.
    expect(enqueue).to.be.lessThan(250_000n);
    expect(track).to.be.lessThan(150_000n);
  });

  it("one execution check scans about 750 queued requests within a 10,000,000 check gas limit (measured per request)", async function () {
    const s = await networkHelpers.loadFixture(system);
    const accounts = await traders(s, 21);
    const queue = async (a: (typeof accounts)[number]) => {
      const sent = await open(s, a as never, ETH, ethers.parseEther("1"), 1_000n * s.unit);
      await s.executions.enqueue(a.address, ETH, sent.request);
    };
    // Requests not yet due: the check reads each and finds nothing to do.
    await queue(accounts[0]);
    const one = await checkGas(s.executions);
    for (const a of accounts.slice(1)) await queue(a);
    const many = await checkGas(s.executions);
    const perRequest = (many - one) / 20n;
    const capacity = (CHECK_GAS_LIMIT - one - 300_000n) / perRequest;
    console.log(`      check: ${one} gas with 1 request queued, ${perRequest} per more; ${capacity} per 10M check`);
    // docs/OPERATIONS.md states "about 750": it holds while a queued request costs at most 13,000 gas to scan.
    expect(perRequest).to.be.lessThanOrEqual(13_000n);
    expect(capacity).to.be.greaterThanOrEqual(750n);
  });
});

describe("Chainlink Automation: attacks", function () {
  it("attack_upkeepLaterRound: an executor that drives the upkeep with a later, kinder round executes nothing", async function () {
    const s = await networkHelpers.loadFixture(system);
    const sent = await open(s, s.alice, ETH, ethers.parseEther("1"), 300n * s.unit);
    await s.executions.enqueue(s.alice, ETH, sent.request);
    await round(s, s.ethFeed, 2_000); // the first round after the delay prices the request
    await round(s, s.ethFeed, 1_900, 5n); // a later round, cheaper for this buy
    const later = (await s.ethFeed.latestRoundData())[0];
    const key = (BigInt(s.alice.address) << 96n) | ETH;
    const forged = ethers.AbiCoder.defaultAbiCoder().encode(
      ["uint8", "uint256[]", "uint256[]", "uint256[]"],
      [2, [key, later], [], []],
    );
    const { success } = await perform(s, s.executionForwarder, s.executions, forged);
    expect(success).to.equal(true); // the book skipped it: no trade, the request waits
    expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(0n);
    expect(await s.executions.isQueued(s.alice, ETH)).to.equal(true);
    // The check names the first round, and the request executes there, at the worse of it and now.
    const c = await check(s.executions);
    await perform(s, s.executionForwarder, s.executions, c.performData);
    const position = await s.engine.getPosition(s.alice, ETH);
    expect(position.size).to.equal(ethers.parseEther("1"));
    expect(position.entryPrice).to.equal(ethers.parseEther("2000"));
  });
});
