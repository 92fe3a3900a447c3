import { expect } from "chai";
import type { Log } from "ethers";
import {
  ExecutionClass,
  OrderKind,
  acceptablePrice,
  priceExecutionFee,
  tradingFee,
} from "../scripts/lib/requests/orders.js";
import { timelockExecute } from "../scripts/lib/tools/timelock.js";
import {
  LIQUIDATION_PAGE_SIZE,
  MEASURED_PERFORM_GAS,
  TRIGGER,
  UPKEEP_GAS_LIMIT,
  type Upkeep,
  roundEmitter,
  upkeeps,
} from "../scripts/lib/tools/upkeeps.js";
import { EXECUTOR_ROLE, verifyDeployment } from "../scripts/lib/tools/verify.js";
import { BTC, ETH, WAD, deployThroughIgnition, ethers, networkHelpers, openThroughBook } from "./helpers/ops.js";
import { expectRefusal, run } from "./helpers/tool-run.js";
import { automationLog, performCall, simulateCheck } from "../scripts/lib/chain/automation.js";

/**
 * The Chainlink Automation upkeeps as the Ignition modules deploy them (deploy/lib/system.ts): their wiring and
 * roles, the verifier's checks, the gas of each log-trigger perform (measured through the registry's forwarder,
 * the figures `npx hardhat upkeeps` registers) and that tool's output against the deployment.
 */

/** The registries' check gas limit (docs/OPERATIONS.md, "Chainlink Automation"). */
const abi = ethers.AbiCoder.defaultAbiCoder();

/** The playground deployment, an account that plays the registry, and a forwarder per upkeep as registration makes. */
async function deployed() {
  const s = await deployThroughIgnition();
  const signers = await ethers.getSigners();
  const registry = signers[15];
  const forwarder = (target: string) =>
    ethers.deployContract("AutomationForwarder", [target, registry.address, ethers.ZeroAddress]);
  const liquidationForwarder = await forwarder(s.addresses.liquidationUpkeep);
  const executionForwarder = await forwarder(s.addresses.executionUpkeep);
  const verifyInput = {
    params: s.parameters.LocalBulwark as Record<string, unknown>,
    deployer: s.admin.address,
    ethFeed: await s.ethFeed.getAddress(),
    btcFeed: await s.btcFeed.getAddress(),
    local: true,
  };
  return { ...s, registry, liquidationForwarder, executionForwarder, verifyInput, lp2: signers[11] };
}
type S = Awaited<ReturnType<typeof deployed>>;
type Forwarder = S["executionForwarder"];
type UpkeepContract = S["liquidationUpkeep"] | S["executionUpkeep"];

/** `checkLog` as the registry runs it (scripts/lib/chain/automation.ts). */
async function checkLog(upkeep: UpkeepContract, log: Log, checkData = "0x") {
  const at = (await ethers.provider.getBlock(log.blockNumber))!.timestamp;
  const c = await simulateCheck(ethers.provider, upkeep, "checkLog", [automationLog(log, at), checkData]);
  expect(c.needed, "the check finds something to perform").to.equal(true);
  return c.performData;
}

/** Whether `performUpkeep(performData)` succeeds when the forwarder gives it `gas`, as the registry would. */
async function performs(s: S, forwarder: Forwarder, upkeep: UpkeepContract, performData: string, gas: bigint) {
  const call = performCall(upkeep, performData);
  const [success] = await forwarder.connect(s.registry).forward.staticCall(gas, call, { gasLimit: 8_000_000n });
  return success as boolean;
}

/** The least perform gas limit at which the perform succeeds through the forwarder (bisection). */
async function leastPerformGas(s: S, forwarder: Forwarder, upkeep: UpkeepContract, performData: string) {
  let [fails, succeeds] = [0n, 5_000_000n];
  expect(await performs(s, forwarder, upkeep, performData, succeeds), "succeeds at 5,000,000 gas").to.equal(true);
  while (succeeds - fails > 1n) {
    const mid = (fails + succeeds) / 2n;
    if (await performs(s, forwarder, upkeep, performData, mid)) succeeds = mid;
    else fails = mid;
  }
  return succeeds;
}

/** Sends the perform through the forwarder with `gas`, as the registry does after a check. */
async function perform(s: S, forwarder: Forwarder, upkeep: UpkeepContract, performData: string, gas: bigint) {
  expect(await performs(s, forwarder, upkeep, performData, gas), `the perform succeeds with ${gas} gas`).to.equal(true);
  const call = performCall(upkeep, performData);
  return (await (await forwarder.connect(s.registry).forward(gas, call, { gasLimit: 8_000_000n })).wait())!;
}

/** `trader` requests an open of `size` with `margin` (plus the trading fee) at the book's minimum fee. */
async function requestOpen(s: S, trader: S["admin"], market: bigint, size: bigint, margin: bigint) {
  const { fee } = await priceExecutionFee(ethers, s, ExecutionClass.Open);
  const price = await (market === ETH ? s.ethOracle : s.btcOracle).price();
  const ratio = BigInt((await s.lens.getMarket(market)).config.tradingFeeRatio);
  const amount = margin + tradingFee(size, price, ratio, s.decimals);
  const tx = await s.orderBook
    .connect(trader)
    .request(market, OrderKind.Open, size, amount, acceptablePrice(OrderKind.Open, size, price, 100n), fee);
  return (await tx.wait())!;
}

const logOf = (receipt: { logs: readonly Log[] }, address: string) => {
  const log = receipt.logs.find((l) => l.address.toLowerCase() === address.toLowerCase());
  if (!log) throw new Error(`no log of ${address} in the receipt`);
  return log;
};

/** The last `OrderExecuted` of `account` (the keeper executed it). */
async function executedLog(s: S, account: string) {
  const events = await s.orderBook.queryFilter(s.orderBook.filters.OrderExecuted(account));
  return events[events.length - 1];
}

/** Runs the upkeeps tool with --json and returns its report. */
async function report(s: S, args: Parameters<typeof upkeeps.run>[1] = {}) {
  const r = await run(upkeeps, { ...args, json: true }, s, s.admin);
  expect(r.code, r.err.join("\n")).to.equal(0);
  return JSON.parse(r.out[r.out.length - 1]) as {
    upkeeps: (Omit<Upkeep, "gasLimit"> & { gasLimit: string })[];
    grants: { forwarder: string; data: string; holds: boolean; command: string }[];
    scheduled: { id: string }[];
    liquidationPagesNeeded: string;
    executionUpkeep: { executorRole: boolean };
  };
}

describe("Chainlink Automation upkeeps: deployed through Ignition", function () {
  it("deploys_both_upkeeps_wired_to_the_deployment_the_execution_upkeep_an_executor_and_the_deployer_with_no_role", async function () {
    const s = await networkHelpers.loadFixture(deployed);
    const a = s.addresses;
    expect(await s.liquidationUpkeep.lens()).to.equal(a.lens);
    expect(await s.liquidationUpkeep.orders()).to.equal(a.orderBook);
    expect(await s.executionUpkeep.book()).to.equal(a.orderBook);
    expect(await s.executionUpkeep.vault()).to.equal(a.vault);
    // `upkeepFeeRecipient` defaults to the deployer, as the treasury does.
    expect(await s.liquidationUpkeep.feeRecipient()).to.equal(s.admin.address);
    expect(await s.executionUpkeep.feeRecipient()).to.equal(s.admin.address);
    expect(await s.orderBook.hasRole(EXECUTOR_ROLE, a.executionUpkeep)).to.equal(true);
    expect(await s.orderBook.hasRole(EXECUTOR_ROLE, a.liquidationUpkeep)).to.equal(false);
    // The deployer granted it while it held the book's admin role, then handed that role over and renounced it.
    expect(await s.orderBook.hasRole(ethers.ZeroHash, s.admin.address)).to.equal(false);
    expect(await s.orderBook.hasRole(ethers.ZeroHash, a.timelock)).to.equal(true);
    expect(await verifyDeployment(ethers, s, s.verifyInput)).to.deep.equal([]);
  });

  it("verify_names_an_upkeep_fee_recipient_other_than_the_parameter_an_upkeep_of_another_lens_and_a_revoked_executor_role", async function () {
    const s = await networkHelpers.loadFixture(deployed);
    const other = s.traders[0].address;
    expect(
      await verifyDeployment(ethers, s, {
        ...s.verifyInput,
        params: { ...s.verifyInput.params, upkeepFeeRecipient: other },
      }),
    ).to.deep.equal([
      `liquidationUpkeep.feeRecipient(): ${s.admin.address}, expected ${other}`,
      `executionUpkeep.feeRecipient(): ${s.admin.address}, expected ${other}`,
    ]);

    // Upkeeps deployed on another lens (of the same engine): the lens is named; the new execution upkeep holds no role.
    const lens = await ethers.deployContract("PerpLens", [s.addresses.engine]);
    const liquidationUpkeep = await ethers.deployContract("LiquidationUpkeep", [lens, s.admin.address]);
    const executionUpkeep = await ethers.deployContract("ExecutionUpkeep", [lens, s.admin.address]);
    const { attach } = await import("../scripts/lib/chain/deployment.js");
    const elsewhere = await attach(ethers, {
      ...s.addresses,
      liquidationUpkeep: await liquidationUpkeep.getAddress(),
      executionUpkeep: await executionUpkeep.getAddress(),
    });
    const lensAddress = await lens.getAddress();
    expect(await verifyDeployment(ethers, elsewhere, s.verifyInput)).to.deep.equal([
      `liquidationUpkeep.lens(): ${lensAddress}, expected ${s.addresses.lens}`,
      `executionUpkeep.lens(): ${lensAddress}, expected ${s.addresses.lens}`,
      `orderBook EXECUTOR_ROLE: the executionUpkeep ${await executionUpkeep.getAddress()} does not hold it`,
    ]);

    // The timelock (the book's admin) revokes the deployed upkeep's role.
    await networkHelpers.impersonateAccount(s.addresses.timelock);
    await networkHelpers.setBalance(s.addresses.timelock, 10n ** 18n);
    const timelock = await ethers.getSigner(s.addresses.timelock);
    await s.orderBook.connect(timelock).revokeRole(EXECUTOR_ROLE, s.addresses.executionUpkeep);
    expect(await verifyDeployment(ethers, s, s.verifyInput)).to.deep.equal([
      `orderBook EXECUTOR_ROLE: the executionUpkeep ${s.addresses.executionUpkeep} does not hold it`,
    ]);
  });

  it("log_trigger_performs_fit_the_registered_gas_limits_measured_through_the_forwarder", async function () {
    const s = await networkHelpers.loadFixture(deployed);
    const [t1, t2] = s.traders;

    // (c) Request queueing: the first trade request on an empty queue (an open: every field of the request stored).
    const requested = await requestOpen(s, t1, ETH, 2n * WAD, 1_000n * s.unit);
    const enqueueData = await checkLog(s.executionUpkeep, logOf(requested, s.addresses.orderBook));
    const enqueue = await leastPerformGas(s, s.executionForwarder, s.executionUpkeep, enqueueData);
    await perform(s, s.executionForwarder, s.executionUpkeep, enqueueData, UPKEEP_GAS_LIMIT.enqueue);
    expect(await s.executionUpkeep.isQueued(t1.address, ETH)).to.equal(true);

    // (b) Position listing: the first position on an empty list, then the same perform again once it is listed (the
    // batch path: a perform decided before another listed it liquidates nothing and lists nothing).
    await openThroughBook(s, s.keeper, [{ trader: t2, market: BTC, size: WAD / 10n, margin: 1_000n * s.unit }]);
    const trackData = await checkLog(s.liquidationUpkeep, await executedLog(s, t2.address));
    const track = await leastPerformGas(s, s.liquidationForwarder, s.liquidationUpkeep, trackData);
    await perform(s, s.liquidationForwarder, s.liquidationUpkeep, trackData, UPKEEP_GAS_LIMIT.track);
    expect(await s.liquidationUpkeep.isTracked(t2.address, BTC)).to.equal(true);
    const trackListed = await leastPerformGas(s, s.liquidationForwarder, s.liquidationUpkeep, trackData);

    // (d) LP request queueing: positions are open, so a deposit goes by request.
    const { fee } = await priceExecutionFee(ethers, s, ExecutionClass.Lp);
    await s.collateral.mint(s.lp2.address, 10_000n * s.unit);
    await s.collateral.connect(s.lp2).approve(s.addresses.vault, ethers.MaxUint256);
    const lpRequested = await (
      await s.vault.connect(s.lp2).requestDepositWithLimit(5_000n * s.unit, s.lp2.address, s.lp2.address, 1n, fee)
    ).wait();
    const enqueueLpData = await checkLog(s.executionUpkeep, logOf(lpRequested!, s.addresses.vault));
    const enqueueLp = await leastPerformGas(s, s.executionForwarder, s.executionUpkeep, enqueueLpData);
    await perform(s, s.executionForwarder, s.executionUpkeep, enqueueLpData, UPKEEP_GAS_LIMIT.enqueueLp);
    expect(await s.executionUpkeep.isQueued(s.lp2.address, await s.executionUpkeep.LP())).to.equal(true);

    const measured = { track: track > trackListed ? track : trackListed, enqueue, enqueueLp };
    console.log(
      `      least perform gas: track ${track} (first listed), ${trackListed} (already listed); ` +
        `enqueue ${enqueue}; enqueueLp ${enqueueLp}`,
    );
    // The tool states these figures (a rise past them fails here), and registers at least twice each.
    for (const key of ["track", "enqueue", "enqueueLp"] as const) {
      expect(measured[key], `${key}: measured against MEASURED_PERFORM_GAS`).to.be.lessThanOrEqual(
        MEASURED_PERFORM_GAS[key],
      );
      expect(UPKEEP_GAS_LIMIT[key], `${key}: the limit's headroom`).to.be.greaterThanOrEqual(2n * measured[key]);
    }
  });

  it("upkeeps_prints_each_upkeep_to_register_with_the_deployments_addresses_and_the_events_topics", async function () {
    const s = await networkHelpers.loadFixture(deployed);
    const a = s.addresses;
    const r = await report(s);
    const byName = Object.fromEntries(r.upkeeps.map((u) => [u.name, u]));
    expect(Object.keys(byName)).to.deep.equal([
      "Bulwark liquidations",
      "Bulwark position listing",
      "Bulwark order requests",
      "Bulwark LP requests",
      "Bulwark market 0 rounds (v0.8/tests/MockV3Aggregator.sol)",
      "Bulwark market 1 rounds (v0.8/tests/MockV3Aggregator.sol)",
      "Bulwark execution fallback",
    ]);

    // The topics each event really carries, from a request, an execution, an LP request and a feed's round.
    const [t1, t2] = s.traders;
    const requested = await requestOpen(s, t1, ETH, WAD, 1_000n * s.unit);
    await openThroughBook(s, s.keeper, [{ trader: t2, market: ETH, size: WAD, margin: 1_000n * s.unit }]);
    const executed = await executedLog(s, t2.address);
    const lpRequested = await (
      await s.vault.connect(s.lp).requestDepositWithLimit(1_000n * s.unit, s.lp.address, s.lp.address, 1n, 5n * s.unit)
    ).wait();
    // The local mock feeds emit no AnswerUpdated; a feed that does (as a Chainlink aggregator) gives the real topic.
    const emitting = await ethers.deployContract("EmittingFeed", [8, 3_000n * 10n ** 8n]);
    const round = (await (await emitting.updateAnswer(3_100n * 10n ** 8n)).wait())!;
    const answerUpdated = round.logs.find((l) => emitting.interface.parseLog(l)?.name === "AnswerUpdated")!.topics[0];
    const topics = {
      OrderRequested: logOf(requested, a.orderBook).topics[0],
      OrderExecuted: executed.topics[0],
      LpRequested: logOf(lpRequested!, a.vault).topics[0],
      AnswerUpdated: answerUpdated,
    };
    // The same hashes from the events' signatures written out.
    expect(topics).to.deep.equal({
      OrderRequested: ethers.id(
        "OrderRequested(address,uint256,(uint8,int128,uint96,uint128,uint96,uint32,uint32,uint32),uint256,uint256)",
      ),
      OrderExecuted: ethers.id("OrderExecuted(address,uint256,address,uint80,uint256)"),
      LpRequested: ethers.id("LpRequested(address,bool,uint256,uint256,uint256,uint256,uint256)"),
      AnswerUpdated: ethers.id("AnswerUpdated(int256,uint256,uint256)"),
    });

    const expectLog = (u: (typeof r.upkeeps)[number], emitter: string, event: keyof typeof topics) => {
      expect([u.trigger, u.triggerType, u.log?.emitter, u.log?.event, u.log?.topic0]).to.deep.equal([
        "log",
        TRIGGER.log,
        emitter,
        event,
        topics[event],
      ]);
      // The registrar's trigger config: the emitter, no topic filter selected, topic0 only.
      const [config] = abi.decode(["tuple(address,uint8,bytes32,bytes32,bytes32,bytes32)"], u.triggerConfig);
      expect([...config]).to.deep.equal([
        emitter,
        0n,
        topics[event],
        ethers.ZeroHash,
        ethers.ZeroHash,
        ethers.ZeroHash,
      ]);
    };
    const liquidations = byName["Bulwark liquidations"];
    expect([liquidations.upkeep, liquidations.trigger, liquidations.triggerType, liquidations.checkData]).to.deep.equal(
      [a.liquidationUpkeep, "custom", TRIGGER.custom, "0x"],
    );
    expect(liquidations.gasLimit).to.equal("5000000");
    const listing = byName["Bulwark position listing"];
    expect(listing.upkeep).to.equal(a.liquidationUpkeep);
    expectLog(listing, a.orderBook, "OrderExecuted");
    expect(listing.gasLimit).to.equal(UPKEEP_GAS_LIMIT.track.toString());
    const orders = byName["Bulwark order requests"];
    expect(orders.upkeep).to.equal(a.executionUpkeep);
    expectLog(orders, a.orderBook, "OrderRequested");
    expect(orders.gasLimit).to.equal(UPKEEP_GAS_LIMIT.enqueue.toString());
    const lps = byName["Bulwark LP requests"];
    expect(lps.upkeep).to.equal(a.executionUpkeep);
    expectLog(lps, a.vault, "LpRequested");
    expect(lps.gasLimit).to.equal(UPKEEP_GAS_LIMIT.enqueueLp.toString());
    for (const [id, feed] of [
      [0n, await s.ethFeed.getAddress()],
      [1n, await s.btcFeed.getAddress()],
    ] as const) {
      const u = r.upkeeps.find((x) => x.name.startsWith(`Bulwark market ${id} rounds`))!;
      expect(u.upkeep).to.equal(a.executionUpkeep);
      // A mock feed answers no aggregator(): it emits its own rounds.
      expectLog(u, feed, "AnswerUpdated");
      expect(u.checkData).to.equal(abi.encode(["uint256"], [id]));
      expect([u.gasLimit, u.forwarderExecutes]).to.deep.equal(["5000000", true]);
    }
    const fallback = byName["Bulwark execution fallback"];
    expect([
      fallback.upkeep,
      fallback.trigger,
      fallback.checkData,
      fallback.gasLimit,
      fallback.forwarderExecutes,
    ]).to.deep.equal([a.executionUpkeep, "custom", "0x", "5000000", true]);
    expect(r.upkeeps.filter((u) => u.forwarderExecutes)).to.have.length(3);
    expect(r.executionUpkeep.executorRole).to.equal(true);

    // Pages: abi.encode(start, count), the last to the end of the list.
    const paged = await report(s, { pages: "3" });
    expect(
      paged.upkeeps.filter((u) => u.name.startsWith("Bulwark liquidations")).map((u) => u.checkData),
    ).to.deep.equal([
      abi.encode(["uint256", "uint256"], [0n, LIQUIDATION_PAGE_SIZE]),
      abi.encode(["uint256", "uint256"], [LIQUIDATION_PAGE_SIZE, LIQUIDATION_PAGE_SIZE]),
      abi.encode(["uint256", "uint256"], [2n * LIQUIDATION_PAGE_SIZE, ethers.MaxUint256]),
    ]);

    // In words: each upkeep's contract, trigger, filter, checkData and gas limit.
    const text = await run(upkeeps, {}, s, s.admin);
    expect(text.code).to.equal(0);
    const out = text.out.join("\n");
    expect(out).to.include(`   upkeep contract   ${a.executionUpkeep} (ExecutionUpkeep)`);
    expect(out).to.include(`   emitting contract ${a.orderBook} (OrderBook)`);
    expect(out).to.include(`   topic0            ${topics.OrderExecuted} (OrderExecuted); no topic1 to topic3 filter`);
    expect(out).to.include(`   gas limit         5,000,000`);
    expect(out).to.include("npx hardhat upkeeps --network default --forwarder 0x…,0x…");
  });

  it("upkeeps_schedules_the_forwarders_executor_grant_on_the_timelock_after_which_the_registered_upkeep_executes", async function () {
    const s = await networkHelpers.loadFixture(deployed);
    const forwarder = await s.executionForwarder.getAddress();
    const data = s.orderBook.interface.encodeFunctionData("grantRole", [EXECUTOR_ROLE, forwarder]);

    const printed = await report(s, { forwarder });
    expect(printed.grants).to.have.length(1);
    expect(printed.grants[0]).to.include({ forwarder, data, holds: false });
    expect(printed.grants[0].command).to.equal(
      `npx hardhat operator timelock schedule --network default --target orderBook ` +
        `--call 'grantRole(bytes32,address)' --args '["${EXECUTOR_ROLE}","${forwarder}"]'`,
    );
    expect(await s.orderBook.hasRole(EXECUTOR_ROLE, forwarder)).to.equal(false); // printed, nothing sent

    // Scheduled through the timelock (delay 0 here), then executed by the timelock tool.
    const scheduled = await report(s, { forwarder, viaTimelock: true });
    expect(scheduled.scheduled).to.have.length(1);
    const done = await run(timelockExecute, { id: scheduled.scheduled[0].id, json: true }, s, s.admin);
    expect(done.code, done.err.join("\n")).to.equal(0);
    expect(await s.orderBook.hasRole(EXECUTOR_ROLE, forwarder)).to.equal(true);
    expect((await report(s, { forwarder })).grants[0].holds).to.equal(true);

    // Registered as printed, the upkeeps carry a trade from its request to its execution.
    const [t1] = s.traders;
    const requested = await requestOpen(s, t1, ETH, WAD, 1_000n * s.unit);
    const queue = await checkLog(s.executionUpkeep, logOf(requested, s.addresses.orderBook));
    await perform(s, s.executionForwarder, s.executionUpkeep, queue, UPKEEP_GAS_LIMIT.enqueue);
    await networkHelpers.time.increase(Number(await s.orderBook.minDelay()));
    await s.ethFeed.updateAnswer(3_000n * 10n ** 8n);
    const data0 = abi.encode(["uint256"], [ETH]);
    const { needed, performData } = await simulateCheck(ethers.provider, s.executionUpkeep, "checkUpkeep", [data0]);
    expect(needed).to.equal(true);
    await perform(s, s.executionForwarder, s.executionUpkeep, performData, UPKEEP_GAS_LIMIT.execute);
    expect((await s.engine.getPosition(t1.address, ETH)).size).to.equal(WAD);
    expect(await s.executionUpkeep.queueLength()).to.equal(0n);
  });

  it("upkeeps_refuses_a_forwarder_that_is_not_the_execution_upkeeps_and_a_page_count_out_of_range", async function () {
    const s = await networkHelpers.loadFixture(deployed);
    const liquidationForwarder = await s.liquidationForwarder.getAddress();
    const refuse = (args: Parameters<typeof upkeeps.run>[1]) => () => run(upkeeps, args, s, s.admin);
    expect(await expectRefusal(refuse({ forwarder: liquidationForwarder }), "NotAnExecutionForwarder")).to.include(
      "forwards to the LiquidationUpkeep, whose performs anyone may make",
    );
    expect(await expectRefusal(refuse({ forwarder: s.traders[0].address }), "NoContract")).to.equal(
      `error: the forwarder ${s.traders[0].address} has no contract on this network [NoContract]`,
    );
    await expectRefusal(refuse({ forwarder: s.addresses.lens }), "NotAForwarder");
    await expectRefusal(refuse({ forwarder: "0x1234" }), "BadAddress");
    await expectRefusal(refuse({ pages: "0" }), "OutOfRange");
    await expectRefusal(refuse({ viaTimelock: true }), "MissingOption");
  });

  it("a_feed_behind_a_proxy_is_followed_to_its_aggregator_which_emits_the_rounds", async function () {
    const s = await networkHelpers.loadFixture(deployed);
    const aggregator = await s.ethFeed.getAddress();
    // A stand-in for a Chainlink proxy: any call returns the aggregator's address (what `aggregator()` returns).
    const proxy = ethers.Wallet.createRandom().address;
    const code = "0x73" + aggregator.slice(2) + "60005260206000f3"; // PUSH20 aggregator, MSTORE at 0, RETURN 32 bytes
    await networkHelpers.setCode(proxy, code);
    expect(await roundEmitter({ ethers }, proxy)).to.deep.equal({ address: aggregator, proxy: true });
    expect(await roundEmitter({ ethers }, aggregator)).to.deep.equal({ address: aggregator, proxy: false });
  });
});
