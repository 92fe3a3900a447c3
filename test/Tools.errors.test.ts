// Every user mistake listed in issue 13 as a test: a one-line error (or one JSON object on stderr), a
// non-zero exit, and nothing changed on chain (no block mined, no nonce used).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { Interface, ZeroAddress } from "ethers";
import { network } from "hardhat";
import { type CommonArgs, type Tool, execute } from "../scripts/lib/chain/cli.js";
import type { Deployment } from "../scripts/lib/chain/deployment.js";
import { decodeRevertData, describeError, generic } from "../scripts/lib/chain/errors.js";
import { type KeeperArgs, keeperArgsFromEnv, runKeeper } from "../scripts/lib/keeper/cli.js";
import { Keeper } from "../scripts/lib/keeper/loop.js";
import { seed } from "../scripts/lib/tools/playground.js";
import { lpDeposit, lpStatus, lpWithdraw } from "../scripts/lib/tools/lp.js";
import { addMarket, pause, setParameter } from "../scripts/lib/tools/operator.js";
import { cancel, cooldown, stake, stakerStatus, unstake } from "../scripts/lib/tools/staker.js";
import { BTC, connection, deployThroughIgnition, ethers, networkHelpers, openThroughBook } from "./helpers/ops.js";

type System = Awaited<ReturnType<typeof deployThroughIgnition>>;

interface Outcome {
  code: number;
  out: string[];
  err: string[];
}

/** The chain's state that any transaction would change: the latest block and every signer's nonce. */
async function chainState() {
  const signers = await ethers.getSigners();
  return {
    block: await ethers.provider.getBlockNumber(),
    nonces: await Promise.all(signers.slice(0, 11).map((s) => ethers.provider.getTransactionCount(s.address))),
  };
}

/** The deployment's timelock as a signer: it holds the admin roles (its delay is 0 on local networks). */
async function asTimelock(d: Deployment) {
  await networkHelpers.impersonateAccount(d.addresses.timelock);
  await networkHelpers.setBalance(d.addresses.timelock, 10n ** 18n);
  return ethers.getSigner(d.addresses.timelock);
}

async function run<A extends CommonArgs>(
  tool: Tool<A>,
  args: A,
  d: Deployment | undefined,
  signer?: HardhatEthersSigner,
  conn = connection,
): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await execute(
    { connection: conn, deployment: d, signer, io: { out: (l) => out.push(l), err: (l) => err.push(l) } },
    args,
    tool,
  );
  return { code, out, err };
}

async function keeper(args: KeeperArgs, d: Deployment | undefined, names?: Record<string, string>): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runKeeper(
    { connection, deployment: d, io: { out: (l) => out.push(l), err: (l) => err.push(l) } },
    { iterations: "1", pollInterval: "100", ...args },
    names,
  );
  return { code, out, err };
}

/** Asserts a failure: exit 1, nothing on stdout, one line on stderr ("error: … [Name]"); returns that line. */
async function expectRefusal(attempt: () => Promise<Outcome>, name: string): Promise<string> {
  const before = await chainState();
  const r = await attempt();
  expect(r.code, "exit code").to.equal(1);
  expect(r.out, "stdout").to.deep.equal([]);
  expect(r.err, "stderr: one line").to.have.length(1);
  expect(r.err[0]).to.not.include("\n");
  expect(r.err[0]).to.match(new RegExp(`^error: .* \\[${name}\\]$`));
  expect(await chainState(), "nothing changed on chain").to.deep.equal(before);
  return r.err[0];
}

describe("Tools refuse bad input with one line, a non-zero exit and nothing sent", function () {
  let s: System;
  beforeEach(async function () {
    s = await networkHelpers.loadFixture(deployThroughIgnition);
  });

  it("keeper_refuses_batch_size_0", async function () {
    const line = await expectRefusal(() => keeper({ batchSize: "0" }, s), "OutOfRange");
    expect(line).to.equal('error: --batch-size must be a whole number from 1 to 200, got "0" [OutOfRange]');
  });

  it("keeper_refuses_min_profit_minus_1", async function () {
    const line = await expectRefusal(() => keeper({ minProfit: "-1" }, s), "OutOfRange");
    expect(line).to.equal('error: --min-profit must be 0 or more, got "-1" [OutOfRange]');
  });

  it("keeper_refuses_a_malformed_fee_recipient_before_the_first_batch", async function () {
    const line = await expectRefusal(() => keeper({ feeRecipient: "0xbad" }, s), "BadAddress");
    expect(line).to.equal(
      'error: --fee-recipient "0xbad" is not an address: an address is 0x followed by 40 hex digits [BadAddress]',
    );
  });

  it("keeper_refuses_the_zero_address_as_fee_recipient", async function () {
    await expectRefusal(() => keeper({ feeRecipient: ZeroAddress }, s), "ZeroAddress");
  });

  it("keeper_refuses_KEEPER_ITERATIONS_abc_naming_the_variable", async function () {
    const { args, names } = keeperArgsFromEnv({ KEEPER_ITERATIONS: "abc" });
    const line = await expectRefusal(() => keeper({ ...args, iterations: args.iterations }, s, names), "OutOfRange");
    expect(line).to.equal('error: KEEPER_ITERATIONS must be a whole number 0 or more, got "abc" [OutOfRange]');
  });

  it("keeper_says_when_the_fee_recipient_cannot_receive_the_collateral", async function () {
    // A USDC-like token that refuses transfers to a blocklisted recipient, in place of the collateral.
    const token = await ethers.deployContract("BlocklistToken", ["Blocked USD", "bUSD", 6]);
    await token.mint(s.addresses.engine, 1_000_000n);
    await token.setBlocked(s.traders[5].address, true);
    const d = { ...s, addresses: { ...s.addresses, collateral: await token.getAddress() } } as Deployment;
    const bot = new Keeper(ethers, d, s.keeper, {
      minProfit: 0n,
      batchSize: 5,
      startBlock: 0,
      dryRun: false,
      feeRecipient: s.traders[5].address,
      log: () => {},
    });
    const failure = await bot.checkFeeRecipient().then(
      () => undefined,
      (error: unknown) => describeError(error),
    );
    expect(failure?.name).to.equal("FeeRecipientCannotReceive");
    expect(failure?.message).to.equal(
      `the fee recipient ${s.traders[5].address} cannot receive mUSD: the token refuses a transfer to it ` +
        `(Blocked: the token refuses transfers to or from ${s.traders[5].address} (blocklisted)); pass another --fee-recipient`,
    );
  });

  it("operator_set_without_value_is_refused_instead_of_setting_0", async function () {
    const line = await expectRefusal(
      () => run(setParameter, { market: "1", field: "tradingFeeRatio" }, s, s.admin),
      "MissingOption",
    );
    expect(line).to.equal("error: --value is required: the new tradingFeeRatio, in percent (4 or 4%) [MissingOption]");
    expect((await s.lens.getMarket(BTC)).config.tradingFeeRatio).to.equal(5n * 10n ** 14n);
  });

  it("operator_set_renders_ParameterOutOfBounds_in_percent", async function () {
    const line = await expectRefusal(
      async () =>
        run(setParameter, { market: "0", field: "maintenanceMarginRatio", value: "90" }, s, await asTimelock(s)),
      "ParameterOutOfBounds",
    );
    expect(line).to.equal("error: maintenanceMarginRatio 90 % is above its maximum 9.5 % [ParameterOutOfBounds]");
  });

  it("operator_set_refuses_a_raw_18_decimal_ratio_where_percent_is_expected", async function () {
    const line = await expectRefusal(
      () => run(setParameter, { market: "0", field: "maintenanceMarginRatio", value: "40000000000000000" }, s, s.admin),
      "BadValue",
    );
    expect(line).to.equal(
      "error: --value 40000000000000000 for maintenanceMarginRatio is more than 100 %: give percent (4 or 4%), not the raw 18-decimal fraction [BadValue]",
    );
  });

  it("operator_set_by_an_account_without_the_role_names_the_role_and_the_timelock_that_holds_it", async function () {
    const line = await expectRefusal(
      () => run(setParameter, { market: "0", field: "tradingFeeRatio", value: "0.1%" }, s, s.traders[0]),
      "AccessControlUnauthorizedAccount",
    );
    expect(line).to.equal(
      `error: ${s.traders[0].address} does not hold MARKET_ADMIN_ROLE; the timelock ${s.addresses.timelock} does: add --via-timelock [AccessControlUnauthorizedAccount]`,
    );
  });

  it("operator_add_market_without_its_config_file_or_with_a_missing_one", async function () {
    const oracle = s.addresses.ethOracle;
    const missing = await expectRefusal(() => run(addMarket, { oracle }, s, s.admin), "MissingOption");
    expect(missing).to.match(/^error: --config-file is required: /);
    const absent = await expectRefusal(
      () => run(addMarket, { oracle, configFile: "no/such/market.json" }, s, s.admin),
      "NoConfigFile",
    );
    expect(absent).to.equal("error: cannot read --config-file no/such/market.json: no such file [NoConfigFile]");
  });

  it("a_second_pause_says_already_paused", async function () {
    expect((await run(pause, {}, s, s.admin)).code).to.equal(0);
    const line = await expectRefusal(() => run(pause, {}, s, s.admin), "EnforcedPause");
    expect(line).to.equal("error: already paused [EnforcedPause]");
  });

  it("stake_without_amount_says_it_is_required", async function () {
    const line = await expectRefusal(() => run(stake, {}, s, s.staker), "MissingOption");
    expect(line).to.equal("error: --amount is required: the collateral to stake, in mUSD [MissingOption]");
  });

  it("stake_refuses_an_amount_that_is_not_a_number_or_has_too_many_decimals", async function () {
    await expectRefusal(() => run(stake, { amount: "lots" }, s, s.staker), "BadAmount");
    const line = await expectRefusal(() => run(stake, { amount: "1.0000001" }, s, s.staker), "BadAmount");
    expect(line).to.equal('error: --amount "1.0000001" has 7 decimals; at most 6 are allowed [BadAmount]');
  });

  it("stake_refuses_more_than_the_balance_before_approving_anything", async function () {
    const poor = (await ethers.getSigners())[15];
    const line = await expectRefusal(() => run(stake, { amount: "10" }, s, poor), "InsufficientBalance");
    expect(line).to.equal(`error: staking needs 10.00 mUSD; ${poor.address} holds 0.00 mUSD [InsufficientBalance]`);
  });

  it("status_refuses_a_malformed_account_and_the_zero_address", async function () {
    const line = await expectRefusal(() => run(stakerStatus, { account: "0xnotanaddress" }, s), "BadAddress");
    expect(line).to.match(/^error: --account "0xnotanaddress" is not an address/);
    await expectRefusal(() => run(lpStatus, { account: ZeroAddress }, s), "ZeroAddress");
  });

  it("shares_are_whole_shares_with_decimals_and_unstaking_early_names_the_window_in_dates", async function () {
    // The staker holds 100,000 shares; --shares 100 cools down 100 shares (not 100 base units).
    const cooled = await run(cooldown, { shares: "100", json: true }, s, s.staker);
    expect(cooled.code).to.equal(0);
    const report = JSON.parse(cooled.out[0]);
    expect(report.shares).to.equal((100n * 10n ** BigInt(s.backstopShareDecimals)).toString());
    await networkHelpers.time.increase(86_400 - 1); // a day later: the window opens in 6 days
    const line = await expectRefusal(() => run(unstake, {}, s, s.staker), "OutsideUnstakeWindow");
    expect(line).to.match(
      /^error: the unstake window opens on \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 6 d\) and closes on \d{4}-\d\d-\d\d \d\d:\d\d UTC \[OutsideUnstakeWindow\]$/,
    );
    const tooMany = await expectRefusal(() => run(unstake, { shares: "100.5" }, s, s.staker), "ExceedsCooldownShares");
    expect(tooMany).to.equal(
      "error: --shares 100.5 shares is more than the 100 shares in cooldown [ExceedsCooldownShares]",
    );
    // Cancelling returns the 100 shares at once; a second cancel has nothing to cancel.
    const back = await run(cancel, { json: true }, s, s.staker);
    expect(JSON.parse(back.out[0]).shares).to.equal((100n * 10n ** BigInt(s.backstopShareDecimals)).toString());
    await expectRefusal(() => run(cancel, {}, s, s.staker), "NoCooldown");
  });

  it("with_json_a_failure_is_one_error_object_on_stderr", async function () {
    const r = await run(stake, { amount: "0", json: true }, s, s.staker);
    expect(r.code).to.equal(1);
    expect(r.out).to.deep.equal([]);
    expect(r.err).to.have.length(1);
    expect(JSON.parse(r.err[0])).to.deep.equal({
      error: { name: "BadAmount", message: "--amount must be more than 0", option: "--amount" },
    });
  });

  it("a_stale_feed_is_named_with_its_age_and_heartbeat", async function () {
    // With open interest, the vault marks to the oracle; an hour later the feed is stale.
    await openThroughBook(s, s.admin, [
      { trader: s.traders[0], market: 0n, size: 10n ** 18n, margin: 1_000n * s.unit },
    ]);
    await networkHelpers.time.increase(3_660);
    const r = await run(lpStatus, {}, s, s.lp);
    expect(r.code).to.equal(0); // status still answers, and says what is unavailable and why
    expect(r.out[0]).to.match(
      /Unavailable while an oracle refuses a price: the price feed is stale: its last round is from .* UTC \(1 h 1 min ago\), older than its heartbeat of 1 h$/,
    );
    // A withdrawal of an amount is a redemption request for the shares it is worth at the current mark: while the
    // vault cannot mark the pool the tool names why before sending anything.
    const withdraw = await expectRefusal(() => run(lpWithdraw, { amount: "1" }, s, s.lp), "LpUnpriced");
    expect(withdraw).to.match(
      /^error: nothing can be converted to shares while the vault cannot mark the pool \(StalePrice: the price feed is stale: its last round is from .* UTC \(1 h 1 min ago\), older than its heartbeat of 1 h\)/,
    );
    // A deposit is taken by request while positions are open: it needs no mark until it executes, after
    // the next round.
    const deposit = await run(lpDeposit, { amount: "1", json: true }, s, s.lp);
    expect(deposit.code, deposit.err.join("\n")).to.equal(0);
    expect(JSON.parse(deposit.out[0]).mode).to.equal("request");
  });

  it("forgetting_network_or_a_wrong_deployment_id_says_what_to_do", async function () {
    const empty = await network.create(); // what a task sees without --network: an empty in-process chain
    const none = await run(stake, { amount: "1" }, undefined, undefined, empty);
    expect(none.code).to.equal(1);
    expect(none.err).to.deep.equal([
      "error: the default network is an empty in-process chain: pass --network localhost (a running `npx hardhat node` with the system deployed) or a testnet such as --network sepolia [NoNetwork]",
    ]);
    const wrong = await run(stake, { amount: "1", deploymentId: "no-such-deployment" }, undefined, undefined, empty);
    expect(wrong.code).to.equal(1);
    expect(wrong.err[0]).to.match(/^error: no deployment "no-such-deployment" \(.*\) \[NoDeployment\]$/);
  });

  it("seed_local_twice_says_what_exists_and_changes_nothing", async function () {
    const first = await run(seed, { json: true }, s, s.admin);
    expect(first.code, first.err.join("\n")).to.equal(0);
    expect(JSON.parse(first.out[0]).changed).to.equal(true);
    const before = await chainState();
    const second = await run(seed, {}, s, s.admin);
    expect(second.code).to.equal(0);
    expect(second.out[0].split("\n").every((l) => l.startsWith("exists") || l === "Already seeded: nothing changed."))
      .to.be.true;
    expect(await chainState()).to.deep.equal(before);
  });

  it("an_error_added_later_is_decoded_by_name_with_a_generic_rendering", function () {
    // WrongCounterparty has no message of its own: it is named, with its argument, from the artifacts.
    const iface = new Interface(["error WrongCounterparty(address contractAddress)"]);
    const decoded = decodeRevertData(iface.encodeErrorResult("WrongCounterparty", [s.addresses.vault]));
    expect(decoded?.name).to.equal("WrongCounterparty");
    expect(generic(decoded!)).to.equal(`WrongCounterparty(contractAddress: ${s.addresses.vault})`);
  });
});

describe("Tools on the command line", function () {
  it("exits 1 with one line and no stack trace when --network is forgotten", function () {
    this.timeout(120_000);
    const require = createRequire(import.meta.url);
    const pkg = require.resolve("hardhat/package.json");
    const cli = path.join(path.dirname(pkg), require(pkg).bin.hardhat);
    const r = spawnSync(process.execPath, [cli, "backstop", "stake", "--amount", "1"], { encoding: "utf8" });
    expect(r.status).to.equal(1);
    const lines = r.stderr
      .trim()
      .split("\n")
      .filter((l) => !/Warning|^\s|^$/.test(l) && l.startsWith("error"));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/\[NoNetwork\]$/);
    expect(r.stderr).to.not.match(/If you think this is a bug|\n\s+at /);
  });
});
