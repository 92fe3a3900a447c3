import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { toJson } from "../scripts/lib/chain/format.js";
import { Keeper } from "../scripts/lib/keeper/loop.js";
import { lpClaim, lpDeposit, lpExecute, lpStatus, lpWithdraw } from "../scripts/lib/tools/lp.js";
import { addMarket, pause, setParameter, systemStatus, unpause } from "../scripts/lib/tools/operator.js";
import { cooldown, stake, stakerStatus, unstake } from "../scripts/lib/tools/staker.js";
import { type CommonArgs, type Tool, execute } from "../scripts/lib/chain/cli.js";
import { timelockExecute, timelockList, timelockSchedule } from "../scripts/lib/tools/timelock.js";
import type { Deployment } from "../scripts/lib/chain/deployment.js";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { verifyDeployment } from "../scripts/lib/tools/verify.js";
import { deployLocal } from "../scripts/lib/chain/local.js";
import { addressesOfModule, attach, readParameters } from "../scripts/lib/chain/deployment.js";
import Bulwark from "../deploy/modules/Bulwark.js";
import LocalMocks from "../deploy/modules/LocalMocks.js";
import { seedLpDeposit } from "../scripts/lib/requests/lp.js";
import { executeRequests } from "../scripts/lib/requests/orders.js";
import {
  BTC,
  connection,
  ETH,
  ethers,
  feedPrice,
  networkHelpers,
  nextRound,
  openThroughBook,
  WAD,
} from "./helpers/ops.js";

/** Runs a tool as a command would (--json), as `signer`; returns the exit code, the report and stderr. */
export async function runAs<A extends CommonArgs>(
  d: Deployment,
  signer: HardhatEthersSigner,
  tool: Tool<A>,
  args: A,
): Promise<{ code: number; data: Record<string, unknown>; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await execute(
    { connection, deployment: d, signer, io: { out: (l) => out.push(l), err: (l) => err.push(l) } },
    { ...args, json: true },
    tool,
  );
  return { code, data: out.length > 0 ? JSON.parse(out[out.length - 1]) : {}, err };
}

/** Like runAs, but fails the test with the tool's error when it fails. */
async function ok<A extends CommonArgs>(d: Deployment, signer: HardhatEthersSigner, tool: Tool<A>, args: A) {
  const r = await runAs(d, signer, tool, args);
  expect(
    r.err.filter((l) => l.startsWith("{")),
    "no error",
  ).to.deep.equal([]);
  expect(r.code).to.equal(0);
  return r.data;
}

/** What `npx hardhat ignition deploy deploy/modules/LocalBulwark.ts --network localhost` deploys. */
async function localhostDeployment() {
  const d = await deployLocal(connection, "localhost");
  const [deployer, , lp, staker, keeper, alice, bob] = await ethers.getSigners();
  const unit = 10n ** BigInt(d.decimals);
  for (const who of [lp, staker, alice, bob]) {
    await d.collateral.mint(who.address, 1_000_000n * unit);
    for (const spender of [d.addresses.engine, d.addresses.vault, d.addresses.backstop, d.addresses.orderBook]) {
      await d.collateral.connect(who).approve(spender, ethers.MaxUint256);
    }
  }
  const verifyInput = {
    params: d.parameters.LocalBulwark as Record<string, unknown>,
    deployer: deployer.address,
    ethFeed: await d.ethFeed.getAddress(),
    btcFeed: await d.btcFeed.getAddress(),
    local: true,
  };
  // The timelock holds every admin role; on this local deployment its delay is 0, and the admin steps of
  // these tests act as the timelock itself (the timelock tasks are tested on their own).
  await networkHelpers.impersonateAccount(d.addresses.timelock);
  await networkHelpers.setBalance(d.addresses.timelock, 10n ** 18n);
  const admin = await ethers.getSigner(d.addresses.timelock);
  return { ...d, unit, deployer, admin, lp, staker, keeper, alice, bob, verifyInput };
}

describe("Operations on a localhost deployment", function () {
  it("verifies a fresh deployment with no mismatch and names each tampered parameter", async function () {
    const s = await networkHelpers.loadFixture(localhostDeployment);
    expect(await verifyDeployment(ethers, s, s.verifyInput)).to.deep.equal([]);

    await ok(s, s.admin, setParameter, { market: "0", field: "maintenanceMarginRatio", value: "4%" }); // 5 % -> 4 %
    await s.engine.connect(s.admin).grantRole(await s.engine.GUARDIAN_ROLE(), s.alice.address);
    // A second executor (an Automation upkeep, say) is no problem; the configured one losing the role is.
    const executor = await s.orderBook.EXECUTOR_ROLE();
    await s.orderBook.connect(s.admin).grantRole(executor, s.bob.address);
    await s.orderBook.connect(s.admin).revokeRole(executor, s.deployer.address);
    const problems = await verifyDeployment(ethers, s, s.verifyInput);
    expect(problems).to.deep.equal([
      `engine GUARDIAN_ROLE: unexpected holder ${s.alice.address.toLowerCase()}`,
      `orderBook EXECUTOR_ROLE: ${s.deployer.address.toLowerCase()} does not hold it`,
      `market 0 (ETH-USD) config.maintenanceMarginRatio: ${WAD / 25n}, expected ${WAD / 20n}`,
    ]);
  });

  it("runs deploy, verify, keeper and the staker, LP and operator tools end to end", async function () {
    const s = await networkHelpers.loadFixture(localhostDeployment);
    await seedLpDeposit(s, s.lp, s.deployer, 500_000n * s.unit);

    // Staker: stake 1,000 through the tool; the report (from the Deposit event) and the chain agree.
    const staked = await ok(s, s.staker, stake, { amount: "1000" });
    expect(staked.assets).to.equal((1_000n * s.unit).toString());
    const shares = await s.backstop.balanceOf(s.staker.address);
    expect(staked.shares).to.equal(shares.toString());
    expect(shares).to.equal(1_000n * s.unit * 10n ** 6n); // first deposit: 1e6 virtual shares per unit

    // Trading, a price drop, and the keeper.
    await openThroughBook(s, s.deployer, [
      { trader: s.alice, market: ETH, size: 15n * WAD, margin: 5_000n * s.unit }, // 9x long
      { trader: s.bob, market: ETH, size: -10n * WAD, margin: 10_000n * s.unit }, // 3x short
    ]);
    const status = await ok(s, s.deployer, systemStatus, {});
    const eth = (status.markets as { longSize: string; shortSize: string; skew: string }[])[0];
    expect([eth.longSize, eth.shortSize, eth.skew]).to.deep.equal([15n * WAD, 10n * WAD, 5n * WAD].map(String));
    await s.ethFeed.updateAnswer(feedPrice(2_760n));
    const keeper = new Keeper(ethers, s, s.keeper, {
      minProfit: 0n,
      batchSize: 10,
      startBlock: 0,
      dryRun: false,
      log: () => {},
    });
    const tick = await keeper.tick();
    expect(tick?.liquidated).to.equal(1);
    expect((await s.engine.getPosition(s.alice.address, ETH)).size).to.equal(0n);

    // Cooldown, the timeline in the status tool, and unstaking in the window.
    await ok(s, s.staker, cooldown, {});
    const cooling = await ok(s, s.staker, stakerStatus, {});
    const start = BigInt(cooling.cooldownStart as string);
    expect(cooling.windowStart).to.equal((start + 7n * 86_400n).toString());
    expect(cooling.windowEnd).to.equal((start + 9n * 86_400n).toString());
    expect(String(cooling.phase)).to.match(
      /^cooling down: the unstake window opens on \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 7 d\)$/,
    );
    await networkHelpers.time.increase(7 * 86_400 + 60);
    const inWindow = await ok(s, s.staker, stakerStatus, {});
    expect(inWindow.inWindow).to.equal(true);
    const before = await s.collateral.balanceOf(s.staker.address);
    const left = await ok(s, s.staker, unstake, {});
    expect(left.shares).to.equal(shares.toString());
    expect(((await s.collateral.balanceOf(s.staker.address)) - before).toString()).to.equal(left.received);
    expect(left.received).to.equal((1_000n * s.unit).toString()); // min(value at request, value now)
    expect(await s.backstop.balanceOf(s.staker.address)).to.equal(0n);

    // Operator: pause blocks new risk and LP deposits, unpause restores them.
    await ok(s, s.deployer, pause, {});
    await s.ethFeed.updateAnswer(feedPrice(2_760n));
    await s.btcFeed.updateAnswer(feedPrice(60_000n));
    // The book takes a request for new risk while paused (the request tool refuses it: Tools.orders); the
    // engine refuses the trade at execution, so the request is cancelled: its escrow back less the fee.
    await s.orderBook.connect(s.alice).request(ETH, 0, WAD, 1_001n * s.unit, 3_000n * WAD, s.unit);
    await nextRound(s);
    const refused = await executeRequests(ethers, s, s.deployer, [{ account: s.alice.address, marketId: ETH }]);
    expect([refused.executed, refused.cancelled]).to.deep.equal([0, 1]);
    const cancelled = await s.orderBook.queryFilter(s.orderBook.filters.OrderCancelled(s.alice.address));
    const reason = cancelled[cancelled.length - 1].args.reason;
    expect(s.engine.interface.parseError(reason)?.name).to.equal("EnforcedPause");
    await ok(s, s.deployer, unpause, {});
    await openThroughBook(s, s.deployer, [{ trader: s.alice, market: ETH, size: WAD, margin: 1_000n * s.unit }]);
    const lp = await ok(s, s.lp, lpStatus, {});
    expect(lp.value).to.equal((await s.vault.convertToAssets(await s.vault.balanceOf(s.lp.address))).toString());
  });

  it("deploys the testnet module (Bulwark) on an existing token and feeds given as parameters, with the roles handed over", async function () {
    const [deployer, treasury, admin, guardian] = await ethers.getSigners();
    const mocks = await connection.ignition.deploy(LocalMocks, { displayUi: false });
    const sepolia = (await readParameters("sepolia")).Bulwark;
    const params = {
      ...sepolia,
      collateral: await mocks.collateral.getAddress(),
      ethFeed: await mocks.ethFeed.getAddress(),
      btcFeed: await mocks.btcFeed.getAddress(),
      ethMaxAge: 3_600n,
      btcMaxAge: 3_600n,
      treasury: treasury.address,
      upkeepFeeRecipient: treasury.address,
      timelockProposer: admin.address,
      guardian: guardian.address,
    };
    const r = await connection.ignition.deploy(Bulwark, { parameters: { Bulwark: params as never }, displayUi: false });
    const d = await attach(ethers, await addressesOfModule(r));
    const input = { params, deployer: deployer.address, ethFeed: params.ethFeed, btcFeed: params.btcFeed };
    expect(await verifyDeployment(ethers, d, input)).to.deep.equal([]);
    const marketAdminRole = await d.engine.MARKET_ADMIN_ROLE();
    expect(await d.engine.hasRole(marketAdminRole, deployer.address)).to.equal(false);
    expect(await d.engine.hasRole(marketAdminRole, admin.address)).to.equal(false);
    expect(await d.engine.hasRole(marketAdminRole, d.addresses.timelock)).to.equal(true);
    expect(await d.engine.hasRole(ethers.ZeroHash, deployer.address)).to.equal(false);
    expect(await d.backstop.hasRole(ethers.ZeroHash, deployer.address)).to.equal(false);
    // The order book's admin set both markets' design gaps (35 % on the testnets), then went to the timelock.
    expect(await d.orderBook.hasRole(ethers.ZeroHash, deployer.address)).to.equal(false);
    expect(await d.orderBook.hasRole(ethers.ZeroHash, d.addresses.timelock)).to.equal(true);
    expect([await d.orderBook.designGap(0n), await d.orderBook.designGap(1n)]).to.deep.equal([
      35n * 10n ** 16n,
      35n * 10n ** 16n,
    ]);
    expect(await verifyDeployment(ethers, d, { ...input, params: { ...params, btcDesignGap: 0n } })).to.deep.equal([
      `orderBook.designGap(1): ${35n * 10n ** 16n}, expected 0`,
    ]);
    expect(await d.timelock.getMinDelay()).to.equal(2n * 24n * 3600n);
    expect(await d.timelock.hasRole(await d.timelock.PROPOSER_ROLE(), admin.address)).to.equal(true);
    expect(await d.engine.hasRole(await d.engine.GUARDIAN_ROLE(), guardian.address)).to.equal(true);
    expect(await d.engine.treasury()).to.equal(treasury.address);
    // The Automation upkeeps pay the configured recipient; the execution upkeep was made an executor of the book
    // while the deployer still held the book's admin role.
    expect(await d.liquidationUpkeep.feeRecipient()).to.equal(treasury.address);
    expect(await d.executionUpkeep.feeRecipient()).to.equal(treasury.address);
    expect(await d.orderBook.hasRole(await d.orderBook.EXECUTOR_ROLE(), d.addresses.executionUpkeep)).to.equal(true);
    // Checked against the file as written (deployer-held roles, the real Sepolia feeds), every difference is named.
    const againstFile = await verifyDeployment(ethers, d, {
      ...input,
      params: sepolia,
      ethFeed: String(sepolia.ethFeed),
    });
    expect(againstFile).to.include(`collateral: ${params.collateral}, expected ${sepolia.collateral}`);
    expect(againstFile).to.include(`ETH-USD oracle feed(): ${params.ethFeed}, expected ${sepolia.ethFeed}`);
    expect(againstFile).to.include(`timelock PROPOSER_ROLE: ${deployer.address} does not hold it`);
    // Real feeds name their pair; a mock in their place is caught.
    const described = await verifyDeployment(ethers, d, { ...input, checkFeedDescriptions: true });
    expect(described).to.deep.equal([
      `ETH-USD feed description(): "v0.8/tests/MockV3Aggregator.sol", expected "ETH / USD"`,
      `BTC-USD feed description(): "v0.8/tests/MockV3Aggregator.sol", expected "BTC / USD"`,
    ]);
  });

  it("LP tools move exactly the amounts asked; operator tools add a market and refuse a parameter outside its bounds", async function () {
    const s = await networkHelpers.loadFixture(localhostDeployment);
    const before = await s.collateral.balanceOf(s.lp.address);
    const shares = await s.vault.balanceOf(s.lp.address);
    // A deposit by request (ERC-7540), executed by the deployer (an executor) at once with no position open,
    // then claimed: the LP pays the amount and the execution fee, and gets exactly the shares executed.
    const deposited = await ok(s, s.lp, lpDeposit, { amount: "1000.5" });
    expect(deposited.amount).to.equal("1000500000");
    const executed = await ok(s, s.deployer, lpExecute, { account: s.lp.address });
    await ok(s, s.lp, lpClaim, {});
    expect((await s.vault.balanceOf(s.lp.address)) - shares).to.equal(BigInt(executed.shares as string));
    // A withdrawal of 400 by request: executed, held for the hour, claimed for at most 400 (the shares that 400
    // converts to, rounded down).
    const requested = await ok(s, s.lp, lpWithdraw, { amount: "400" });
    await ok(s, s.deployer, lpExecute, { account: s.lp.address });
    await networkHelpers.time.increase(Number(await s.vault.EXIT_HOLD()));
    const claimed = await ok(s, s.lp, lpClaim, {});
    const paid = BigInt(claimed.paid as string);
    expect(paid <= 400n * s.unit && paid >= 400n * s.unit - 1n, `paid ${paid}`).to.equal(true);
    const fees = BigInt(deposited.executionFee as string) + BigInt(requested.executionFee as string);
    expect(before - (await s.collateral.balanceOf(s.lp.address))).to.equal(1_000_500_000n + fees - paid);

    const feed = await ethers.deployContract("MockV3Aggregator", [8, feedPrice(150n)]);
    const oracle = await ethers.deployContract("ChainlinkOracle", [
      feed,
      3_600n,
      WAD / 100n,
      1_000_000n * WAD,
      ethers.ZeroAddress,
      0n,
    ]);
    const configFile = path.join(await mkdtemp(path.join(tmpdir(), "bulwark-")), "market.json");
    await writeFile(configFile, toJson(s.parameters.LocalBulwark.ethConfig));
    const added = await ok(s, s.admin, addMarket, { oracle: await oracle.getAddress(), configFile });
    expect(added.marketId).to.equal("2");
    expect((await s.lens.getMarket(2n)).oracle).to.equal(await oracle.getAddress());

    // 20 %: above initial margin (10 %) less the keeper fee ratio (0.5 %); decoded by name, in percent.
    const tooHigh = await runAs(s, s.admin, setParameter, {
      market: String(BTC),
      field: "maintenanceMarginRatio",
      value: "20%",
    });
    expect(tooHigh.code).to.equal(1);
    const failure = JSON.parse(tooHigh.err[0]).error;
    expect(failure.name).to.equal("ParameterOutOfBounds");
    expect(failure.message).to.equal("maintenanceMarginRatio 20 % is above its maximum 9.5 %");
    expect(failure.args.value).to.equal((WAD / 5n).toString());
    const unknown = await runAs(s, s.admin, setParameter, { market: "1", field: "noSuchField", value: "1" });
    expect(JSON.parse(unknown.err[0]).error.message).to.match(
      /^unknown field noSuchField; one of initialMarginRatio, /,
    );
  });

  it("timelock tools schedule an operator change, list it with its ETA, refuse it early and execute it when ready", async function () {
    const s = await networkHelpers.loadFixture(localhostDeployment);
    const delay = 2n * 86_400n;
    const timelock = await ethers.deployContract("TimelockController", [
      delay,
      [s.deployer.address],
      [s.deployer.address],
      s.deployer.address,
    ]);
    const timelockAddress = await timelock.getAddress();
    await s.engine.connect(s.admin).grantRole(await s.engine.MARKET_ADMIN_ROLE(), timelockAddress);
    const d = await attach(ethers, { ...s.addresses, timelock: timelockAddress });

    // `operator set --via-timelock` schedules the same calldata instead of sending it.
    const scheduled = await ok(d, s.deployer, setParameter, {
      market: "0",
      field: "tradingFeeRatio",
      value: "0.1%",
      viaTimelock: true,
    });
    expect(scheduled.action).to.equal("schedule");
    expect(scheduled.delay).to.equal(delay.toString());
    expect((await s.lens.getMarket(ETH)).config.tradingFeeRatio).to.equal(5n * 10n ** 14n); // unchanged
    const id = scheduled.id as string;
    expect(await timelock.isOperationPending(id)).to.equal(true);

    // The list shows it waiting, with its ETA as a timestamp (and as a date in text).
    const listed = await ok(d, s.deployer, timelockList, {});
    const ops = listed.operations as { id: string; state: string; eta: string; calls: { description: string }[] }[];
    expect(ops.map((o) => [o.id, o.state])).to.deep.equal([[id, "waiting"]]);
    expect(ops[0].eta).to.equal(scheduled.eta);
    expect(ops[0].calls[0].description).to.equal("engine.setMarketConfig(market 0: tradingFeeRatio 0.05 % -> 0.1 %)");

    // Executing early is refused before anything is sent, with the date it becomes executable.
    const early = await runAs(d, s.deployer, timelockExecute, { id });
    expect(early.code).to.equal(1);
    expect(JSON.parse(early.err[0]).error.name).to.equal("OperationNotReady");
    expect(JSON.parse(early.err[0]).error.message).to.match(
      /^operation 0x[0-9a-f]{64} is waiting: executable from \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 2 d\)$/,
    );

    await networkHelpers.time.increase(delay);
    await s.ethFeed.updateAnswer(feedPrice(3_000n)); // setMarketConfig reads the price: feeds fresh again
    await s.btcFeed.updateAnswer(feedPrice(60_000n));
    expect(((await ok(d, s.deployer, timelockList, {})).operations as { state: string }[])[0].state).to.equal("ready");
    const executed = await ok(d, s.deployer, timelockExecute, { id });
    expect(executed.calls).to.equal(1);
    expect((await s.lens.getMarket(ETH)).config.tradingFeeRatio).to.equal(10n ** 15n);
    expect(((await ok(d, s.deployer, timelockList, {})).operations as { state: string }[])[0].state).to.equal("done");
    const again = await runAs(d, s.deployer, timelockExecute, { id });
    expect(JSON.parse(again.err[0]).error.message).to.equal(`operation ${id} was already executed`);

    // A raw call the timelock could not make is refused at scheduling (simulated as the timelock), by role name.
    const args = { target: "engine", call: "setTreasury(address)", args: JSON.stringify([s.alice.address]) };
    const refused = await runAs(d, s.deployer, timelockSchedule, args);
    expect(refused.code).to.equal(1);
    expect(JSON.parse(refused.err[0]).error.message).to.equal(`${timelockAddress} does not hold DEFAULT_ADMIN_ROLE`);
    await s.engine.connect(s.admin).grantRole(ethers.ZeroHash, timelockAddress);
    const raw = await ok(d, s.deployer, timelockSchedule, { ...args, delay: "3d" });
    expect(raw.delay).to.equal((3n * 86_400n).toString());
    const short = await runAs(d, s.deployer, timelockSchedule, { ...args, delay: "1h" });
    expect(JSON.parse(short.err[0]).error.message).to.equal("--delay 1 h is below the timelock's minimum 2 d");
    await networkHelpers.time.increase(3n * 86_400n);
    await ok(d, s.deployer, timelockExecute, { id: raw.id as string });
    expect(await s.engine.treasury()).to.equal(s.alice.address);

    // The deployment's own timelock (delay 0 on localhost) has nothing scheduled.
    expect((await ok(s, s.deployer, timelockList, {})).operations).to.deep.equal([]);
  });
});

describe("Source verification", function () {
  it("verify_publishes_on_etherscan_blockscout_and_sourcify_for_every_testnet_with_the_key_a_config_variable", async function () {
    const { default: hre } = await import("hardhat");
    const { etherscan, blockscout, sourcify } = hre.config.verify;
    expect([etherscan.enabled, blockscout.enabled, sourcify.enabled]).to.deep.equal([true, true, true]);
    // The key is read from the keystore or the environment when a verification runs, never from a file.
    expect((etherscan.apiKey as unknown as { name: string }).name).to.equal("ETHERSCAN_API_KEY");
    for (const network of ["sepolia", "arbitrumSepolia", "baseSepolia"]) {
      const { chainId } = hre.config.networks[network] as { chainId: number };
      const explorers = hre.config.chainDescriptors.get(BigInt(chainId))?.blockExplorers;
      expect(explorers?.etherscan?.url, `${network}: an Etherscan explorer`).to.match(/^https:\/\//);
      expect(explorers?.blockscout?.url, `${network}: a Blockscout explorer`).to.match(/^https:\/\//);
    }
  });
});
