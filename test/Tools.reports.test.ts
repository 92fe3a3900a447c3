// Who signs (`--from`), and reports that say what happened: a request's window counted from its own block,
// an executed timelock change shown as the change it made.
import { expect } from "chai";
import { Wallet } from "ethers";
import type { HookManager } from "hardhat/types/hooks";
import { execute } from "../scripts/lib/chain/cli.js";
import { fund } from "../scripts/lib/tools/playground.js";
import { timelockExecute, timelockList } from "../scripts/lib/tools/timelock.js";
import { setParameter } from "../scripts/lib/tools/operator.js";
import { requestOrder } from "../scripts/lib/tools/trader.js";
import { connection, deployThroughIgnition, ethers, networkHelpers } from "./helpers/ops.js";
import { expectRefusal, run } from "./helpers/tool-run.js";

type System = Awaited<ReturnType<typeof deployThroughIgnition>>;

describe("Tools: the signer and the reports", function () {
  let s: System;
  beforeEach(async function () {
    s = await networkHelpers.loadFixture(deployThroughIgnition);
  });

  describe("--from", function () {
    it("signs_as_account_0_by_default_and_as_the_account_index_given", async function () {
      const signers = await ethers.getSigners();
      const byDefault = JSON.parse((await run(fund, { amount: "1", json: true }, s)).out[0]);
      expect(byDefault.account, "the network's first account").to.equal(signers[0].address);
      const third = JSON.parse((await run(fund, { amount: "1", from: "3", json: true }, s)).out[0]);
      expect(third.account).to.equal(signers[3].address);
    });

    it("signs_with_the_key_a_keystore_entry_or_environment_variable_holds", async function () {
      const wallet = Wallet.createRandom();
      await networkHelpers.setBalance(wallet.address, 10n ** 18n);
      process.env.BULWARK_TEST_FROM_KEY = wallet.privateKey;
      try {
        const r = await run(fund, { amount: "2", from: "BULWARK_TEST_FROM_KEY", json: true }, s);
        expect(r.code, r.err.join("\n")).to.equal(0);
        expect(JSON.parse(r.out[0]).account).to.equal(wallet.address);
        expect(await ethers.provider.getTransactionCount(wallet.address), "the wallet sent it").to.equal(1);
      } finally {
        delete process.env.BULWARK_TEST_FROM_KEY;
      }
    });

    it("asks_the_keystore_for_a_name_that_no_environment_variable_holds", async function () {
      const wallet = Wallet.createRandom();
      await networkHelpers.setBalance(wallet.address, 10n ** 18n);
      const asked: string[] = [];
      // Hardhat's hook chain, as the keystore plugin answers it for an entry it holds.
      const hooks = {
        runHandlerChain: async (_category: string, _hook: string, [variable]: [{ name: string }]) => {
          asked.push(variable.name);
          return wallet.privateKey;
        },
      } as unknown as HookManager;
      const out: string[] = [];
      const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l) };
      const code = await execute(
        { connection, deployment: s, io, hooks },
        { amount: "1", from: "KEEPER_KEY", json: true },
        fund,
      );
      expect(code, out.join("\n")).to.equal(0);
      expect(asked).to.deep.equal(["KEEPER_KEY"]);
      expect(JSON.parse(out[0]).account).to.equal(wallet.address);
    });

    it("refuses_an_unknown_index_or_name_with_one_line_and_sends_nothing", async function () {
      const count = (await ethers.getSigners()).length;
      const index = await expectRefusal(() => run(fund, { amount: "1", from: "99" }, s), "UnknownAccount");
      expect(index).to.equal(
        `error: --from 99: the default network has ${count} account(s), 0 to ${count - 1} [UnknownAccount]`,
      );
      const name = await expectRefusal(() => run(fund, { amount: "1", from: "NO_SUCH_BULWARK_KEY" }, s), "UnknownKey");
      expect(name).to.equal(
        "error: --from NO_SUCH_BULWARK_KEY: no keystore entry or environment variable NO_SUCH_BULWARK_KEY [UnknownKey]",
      );
      const bad = await expectRefusal(() => run(fund, { amount: "1", from: "0xabc" }, s), "BadOption");
      expect(bad).to.include("is neither an account index (0, 1, …) nor a keystore name");
    });
  });

  it("orders_request_counts_its_window_from_its_own_block_not_the_last_one_before_it", async function () {
    // A quiet chain: the last block is a minute old when the request is mined.
    const latest = (await ethers.provider.getBlock("latest"))!.timestamp;
    await networkHelpers.time.setNextBlockTimestamp(latest + 66);
    const r = await run(
      requestOrder,
      { market: "0", kind: "open", side: "long", size: "1", amount: "400" },
      s,
      s.traders[0],
    );
    expect(r.code, r.err.join("\n")).to.equal(0);
    expect(r.out[0]).to.match(/executes at the first oracle round from .* UTC \(in 1 s\), at a price <=/);
    expect(r.out[0]).to.match(/expires .* UTC \(in 1 h\)$/);
  });

  it("timelock_list_shows_an_executed_config_change_as_the_change_it_made", async function () {
    const scheduled = await run(
      setParameter,
      { market: "0", field: "tradingFeeRatio", value: "0.1%", viaTimelock: true, json: true },
      s,
      s.admin,
    );
    expect(scheduled.code, scheduled.err.join("\n")).to.equal(0);
    const id = JSON.parse(scheduled.out[0]).id as string;
    const change = "engine.setMarketConfig(market 0: tradingFeeRatio 0.05 % -> 0.1 %)";
    expect((await run(timelockList, {}, s, s.admin)).out.join("\n")).to.include(change);
    expect((await run(timelockExecute, { id }, s, s.admin)).code).to.equal(0);
    const after = (await run(timelockList, {}, s, s.admin)).out.join("\n");
    expect(after).to.include(`${id} done`);
    expect(after, "what it changed, not the config as it is now").to.include(change);
  });
});
