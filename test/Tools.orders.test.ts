import { expect } from "chai";
import { Keeper } from "../scripts/lib/keeper/loop.js";
import { cancelOrder, listOrders, requestOrder } from "../scripts/lib/tools/trader.js";
import { commitmentOf, pendingRequests, readRequest, requestStruct } from "../scripts/lib/requests/orders.js";
import { timelockSchedule } from "../scripts/lib/tools/timelock.js";
import { verifyDeployment } from "../scripts/lib/tools/verify.js";
import { deployThroughIgnition, ETH, ethers, networkHelpers, nextRound, WAD } from "./helpers/ops.js";
import { expectRefusal, run } from "./helpers/tool-run.js";

type System = Awaited<ReturnType<typeof deployThroughIgnition>>;

const keeperFor = (s: System, overrides: Partial<ConstructorParameters<typeof Keeper>[3]> = {}) =>
  new Keeper(ethers, s, s.keeper, {
    minProfit: 0n,
    batchSize: 10,
    startBlock: 0,
    dryRun: false,
    log: () => {},
    ...overrides,
  });

describe("Tools: two-step orders (request, list, cancel) and the keeper's executions", function () {
  let s: System;
  beforeEach(async function () {
    s = await networkHelpers.loadFixture(deployThroughIgnition);
  });

  it("orders_request_refuses_bad_input_with_one_line_and_sends_nothing", async function () {
    const trader = s.traders[0];
    await expectRefusal(() => run(requestOrder, { market: "0" }, s, trader), "MissingOption");
    await expectRefusal(() => run(requestOrder, { market: "0", kind: "buy" }, s, trader), "UnknownKind");
    await expectRefusal(() => run(requestOrder, { market: "7", kind: "open" }, s, trader), "UnknownMarket");
    await expectRefusal(
      () => run(requestOrder, { market: "0", kind: "open", size: "1", amount: "400" }, s, trader),
      "MissingOption",
    );
    await expectRefusal(() => run(requestOrder, { market: "0", kind: "close" }, s, trader), "NoPosition");
    await expectRefusal(
      () =>
        run(
          requestOrder,
          { market: "0", kind: "open", side: "long", size: "1", amount: "400", executionFee: "0.1" },
          s,
          trader,
        ),
      "ExecutionFeeTooLow",
    );
    await expectRefusal(
      () => run(requestOrder, { market: "0", kind: "open", side: "long", size: "1", amount: "99999999" }, s, trader),
      "InsufficientBalance",
    );
    const slippage = await expectRefusal(
      () =>
        run(
          requestOrder,
          { market: "0", kind: "open", side: "long", size: "1", amount: "400", slippage: "60" },
          s,
          trader,
        ),
      "OutOfRange",
    );
    expect(slippage).to.include("--slippage 60 is more than 50 %");
  });

  it("orders_request_then_list_shows_waiting_then_ready_and_the_keeper_executes_it", async function () {
    const trader = s.traders[0];
    const r = await run(
      requestOrder,
      { market: "0", kind: "open", side: "long", size: "1", amount: "401.5", executionFee: "1", json: true },
      s,
      trader,
    );
    expect(r.code, r.err.join("\n")).to.equal(0);
    const data = JSON.parse(r.out[0]);
    expect(data.acceptablePrice).to.equal(((3_000n * WAD * 10_100n + 9_999n) / 10_000n).toString()); // +1 %
    expect(data.escrow).to.equal(402_500_000n.toString());

    // A second request while one is pending is refused before sending.
    await expectRefusal(
      () => run(requestOrder, { market: "0", kind: "open", side: "long", size: "1", amount: "400" }, s, trader),
      "RequestPending",
    );

    // No round since the request: the list says it waits; the keeper finds nothing to execute.
    const waiting = await run(listOrders, { json: true }, s, s.admin);
    expect(JSON.parse(waiting.out[0]).requests.map((x: { state: string }) => x.state)).to.deep.equal(["waiting"]);
    const keeper = keeperFor(s);
    const first = await keeper.tick();
    expect([first?.pendingOrders, first?.ordersReady, first?.ordersExecuted]).to.deep.equal([1, 0, 0]);

    await nextRound(s);
    const ready = JSON.parse((await run(listOrders, { account: trader.address, json: true }, s, s.admin)).out[0]);
    expect(ready.requests[0].state).to.equal("ready");
    const round = (await s.ethFeed.latestRoundData())[0];
    expect(ready.requests[0].roundId).to.equal(round.toString());

    const before = await s.collateral.balanceOf(s.keeper.address);
    const tick = await keeper.tick();
    expect([tick?.ordersReady, tick?.ordersExecuted]).to.deep.equal([1, 1]);
    expect((await s.collateral.balanceOf(s.keeper.address)) - before, "the execution fee to the keeper").to.equal(
      s.unit,
    );
    const position = await s.engine.getPosition(trader.address, ETH);
    expect(position.size).to.equal(WAD);
    expect(position.margin, "margin = escrow - trading fee (1.5 at $3,000)").to.equal(400n * s.unit);
    const executed = await s.orderBook.queryFilter(s.orderBook.filters.OrderExecuted(trader.address));
    expect(executed.map((e) => e.args.roundId)).to.deep.equal([round]);
    expect((await run(listOrders, {}, s, s.admin)).out).to.deep.equal(["No pending requests."]);
  });

  it("orders_cancel_refuses_before_expiry_and_after_it_refunds_escrow_and_fee_to_the_owner", async function () {
    const trader = s.traders[1];
    expect(
      (await run(requestOrder, { market: "0", kind: "open", side: "short", size: "1", amount: "400" }, s, trader)).code,
    ).to.equal(0);
    await expectRefusal(
      () => run(cancelOrder, { market: "1", account: trader.address }, s, s.keeper),
      "UnknownRequest",
    );
    const early = await expectRefusal(
      () => run(cancelOrder, { market: "0", account: trader.address }, s, s.keeper),
      "RequestNotExpired",
    );
    expect(early).to.match(/cannot be cancelled before it expires, .* UTC \(in /);

    await networkHelpers.time.increase(3_601);
    const list = JSON.parse((await run(listOrders, { json: true }, s, s.admin)).out[0]);
    expect(list.requests[0].state).to.equal("expired");
    const balance = await s.collateral.balanceOf(trader.address);
    const r = await run(cancelOrder, { market: "0", account: trader.address, json: true }, s, s.keeper);
    expect(r.code, r.err.join("\n")).to.equal(0);
    const data = JSON.parse(r.out[0]);
    expect(data.refund).to.equal((400n * s.unit).toString());
    expect(data.feeRecipient, "nobody executed it: the fee goes back to its owner").to.equal(trader.address);
    expect((await s.collateral.balanceOf(trader.address)) - balance).to.equal(400n * s.unit + BigInt(data.fee));
    expect(await s.orderBook.pendingRequest(trader.address, ETH)).to.equal(ethers.ZeroHash);
  });

  it("keeper_skips_requests_whose_fee_does_not_pay_their_gas_and_executes_the_paid_ones", async function () {
    const [cheap, paid] = s.traders;
    // The cheap one pays the book's minimum at 1 gwei (270,000 gas x 1 gwei x $3,000 = 0.81): the keeper is
    // paid at the gas price it was paid for, not after gas rose to 10 gwei.
    const fee = { cheap: (81n * s.unit) / 100n, paid: 50n * s.unit };
    for (const [who, executionFee] of [
      [cheap, "0.81"],
      [paid, "50"],
    ] as const) {
      const r = await run(
        requestOrder,
        { market: "0", kind: "open", side: "long", size: "1", amount: "401.5", executionFee },
        s,
        who,
      );
      expect(r.code, r.err.join("\n")).to.equal(0);
    }
    await nextRound(s);
    // At 10 gwei and $3,000 an execution costs about 150k x 10 gwei x 3,000 = $4.5: 0.5 does not pay, 50 does.
    const lines: string[] = [];
    const keeper = keeperFor(s, { gasPrice: 10n * 10n ** 9n, log: (l) => lines.push(l) });
    const before = await s.collateral.balanceOf(s.keeper.address);
    const tick = await keeper.tick();
    expect([tick?.ordersReady, tick?.ordersExecuted, tick?.ordersSkipped]).to.deep.equal([2, 1, 1]);
    expect((await s.collateral.balanceOf(s.keeper.address)) - before).to.equal(fee.paid);
    expect((await s.engine.getPosition(paid.address, ETH)).size).to.equal(WAD);
    const unpaid = await readRequest(s, cheap.address, ETH);
    expect(unpaid, "the unpaid request stays").to.not.equal(undefined);
    expect(lines.some((l) => l.startsWith("skip 1 request(s)"))).to.equal(true);
    expect(unpaid!.executionFee).to.equal(fee.cheap);

    // Once expired, the keeper cancels it when its fee pays for the cancellation (cheap gas now).
    await networkHelpers.time.increase(3_601);
    const later = await keeperFor(s, { gasPrice: 1n }).tick();
    expect(later?.ordersCancelled).to.equal(1);
    expect(await s.orderBook.pendingRequest(cheap.address, ETH)).to.equal(ethers.ZeroHash);
  });

  it("the keeper cancels at execution a request whose price moved beyond its bound, for the fee", async function () {
    const trader = s.traders[2];
    expect(
      (
        await run(
          requestOrder,
          { market: "0", kind: "open", side: "long", size: "1", amount: "401.5", slippage: "0.5" },
          s,
          trader,
        )
      ).code,
    ).to.equal(0);
    await networkHelpers.time.increase(2);
    await s.ethFeed.updateAnswer(3_100n * 10n ** 8n); // +3.3 %: beyond the 0.5 % the long accepts
    const tick = await keeperFor(s).tick();
    expect([tick?.ordersExecuted, tick?.ordersRefused]).to.deep.equal([0, 1]);
    const [cancelled] = await s.orderBook.queryFilter(s.orderBook.filters.OrderCancelled(trader.address));
    expect(cancelled.args.refund).to.equal(401_500_000n);
  });

  it("requests_are_rebuilt_from_their_events_and_match_the_books_commitment", async function () {
    const [a, b] = s.traders;
    for (const who of [a, b]) {
      const r = await run(
        requestOrder,
        { market: "0", kind: "open", side: "long", size: "1", amount: "401.5", executionFee: "1" },
        s,
        who,
      );
      expect(r.code, r.err.join("\n")).to.equal(0);
    }
    const found = await pendingRequests(s);
    expect(found.map((r) => r.account)).to.deep.equal([a.address, b.address]);
    for (const r of found) {
      const commitment = await s.orderBook.pendingRequest(r.account, r.marketId);
      const [requested] = await s.orderBook.queryFilter(s.orderBook.filters.OrderRequested(r.account, r.marketId));
      expect([r.notBefore, r.expiresAt]).to.deep.equal([requested.args.notBefore, requested.args.expiresAt]);
      expect(commitmentOf(r), "computed off chain as on chain").to.equal(commitment);
      expect(await s.orderBook.commitmentOf(requestStruct(r))).to.equal(commitment);
      expect(await s.orderBook.isPending(r.account, r.marketId, requestStruct(r))).to.equal(true);
    }
    // A request whose fields differ is not the pending one: the book refuses it by name.
    const forged = { ...requestStruct(found[0]), executionFee: found[0].executionFee + 1n };
    expect(await s.orderBook.isPending(a.address, ETH, forged)).to.equal(false);
    await nextRound(s);
    await expect(
      s.orderBook.connect(s.keeper).execute(a.address, ETH, forged, (await s.ethFeed.latestRoundData())[0]),
    ).to.be.revertedWithCustomError(s.orderBook, "UnknownRequest");
  });

  it("the_window_is_fixed_at_the_request_and_later_parameters_do_not_move_it", async function () {
    const trader = s.traders[0];
    const r = await run(
      requestOrder,
      { market: "0", kind: "open", side: "long", size: "1", amount: "401.5", json: true },
      s,
      trader,
    );
    expect(r.code, r.err.join("\n")).to.equal(0);
    const asked = JSON.parse(r.out[0]);
    await networkHelpers.impersonateAccount(s.addresses.timelock);
    await networkHelpers.setBalance(s.addresses.timelock, 10n ** 18n);
    await s.orderBook.connect(await ethers.getSigner(s.addresses.timelock)).setParameters(30n, 7_200n, 500_000n);
    const [listed] = JSON.parse((await run(listOrders, { json: true }, s, s.admin)).out[0]).requests;
    expect([listed.notBefore, listed.expiresAt]).to.deep.equal([asked.notBefore, asked.expiresAt]);
  });

  it("orders_request_refuses_new_risk_while_the_engine_is_paused_but_takes_a_close", async function () {
    const trader = s.traders[0];
    expect(
      (await run(requestOrder, { market: "0", kind: "open", side: "long", size: "1", amount: "401.5" }, s, trader))
        .code,
    ).to.equal(0);
    await nextRound(s);
    expect((await keeperFor(s).tick())?.ordersExecuted).to.equal(1);
    await s.engine.connect(s.admin).pause();
    const line = await expectRefusal(
      () => run(requestOrder, { market: "0", kind: "increase", size: "0.5", amount: "200" }, s, trader),
      "EnforcedPause",
    );
    expect(line).to.include("would be cancelled at execution");
    expect((await run(requestOrder, { market: "0", kind: "close" }, s, trader)).code).to.equal(0);
  });

  it("operator_timelock_schedule_can_schedule_OrderBook_setParameters_and_checks_its_bounds_first", async function () {
    const ok = await run(
      timelockSchedule,
      {
        target: "orderBook",
        call: "setParameters(uint256,uint256,uint256)",
        args: '["2", "3600", "1000000"]',
        json: true,
      },
      s,
      s.admin,
    );
    expect(ok.code, ok.err.join("\n")).to.equal(0);
    expect(JSON.parse(ok.out[0]).target).to.equal(s.addresses.orderBook);
    const line = await expectRefusal(
      () =>
        run(
          timelockSchedule,
          { target: "orderBook", call: "setParameters(uint256,uint256,uint256)", args: '["7200", "3600", "0"]' },
          s,
          s.admin,
        ),
      "ParameterOutOfBounds",
    );
    expect(line).to.include("minDelay");
  });

  it("operator_timelock_schedule_can_schedule_OrderBook_setExecutionGas_and_checks_its_bounds_first", async function () {
    const call = "setExecutionGas((uint24,uint24,uint24,uint24))";
    const ok = await run(
      timelockSchedule,
      { target: "orderBook", call, args: '[["280000", "210000", "220000", "40000"]]', json: true },
      s,
      s.admin,
    );
    expect(ok.code, ok.err.join("\n")).to.equal(0);
    const line = await expectRefusal(
      () =>
        run(
          timelockSchedule,
          { target: "orderBook", call, args: '[["99999", "210000", "220000", "40000"]]' },
          s,
          s.admin,
        ),
      "ParameterOutOfBounds",
    );
    expect(line).to.include("openGas");
  });

  it("verify_checks_the_gas_token_oracle_and_the_execution_gas_estimates", async function () {
    const input = {
      params: s.parameters.LocalBulwark as Record<string, unknown>,
      deployer: s.admin.address,
      ethFeed: await s.ethFeed.getAddress(),
      btcFeed: await s.btcFeed.getAddress(),
      local: true,
    };
    expect(await s.orderBook.gasTokenOracle()).to.equal(s.addresses.ethOracle);
    await networkHelpers.impersonateAccount(s.addresses.timelock);
    await networkHelpers.setBalance(s.addresses.timelock, 10n ** 18n);
    const timelock = await ethers.getSigner(s.addresses.timelock);
    await s.orderBook
      .connect(timelock)
      .setExecutionGas({ open: 300_000n, close: 210_000n, lp: 220_000n, lpPerMarket: 40_000n });
    expect(await verifyDeployment(ethers, s, input)).to.deep.equal([
      "orderBook.executionGas().open: 300000, expected 270000",
    ]);
  });

  it("verify_names_an_order_book_parameter_changed_and_an_extra_admin_of_it", async function () {
    const input = {
      params: s.parameters.LocalBulwark as Record<string, unknown>,
      deployer: s.admin.address,
      ethFeed: await s.ethFeed.getAddress(),
      btcFeed: await s.btcFeed.getAddress(),
      local: true,
    };
    expect(await verifyDeployment(ethers, s, input)).to.deep.equal([]);
    expect(await s.orderBook.hasRole(ethers.ZeroHash, s.admin.address), "the deployer never held it").to.equal(false);
    await networkHelpers.impersonateAccount(s.addresses.timelock);
    await networkHelpers.setBalance(s.addresses.timelock, 10n ** 18n);
    const timelock = await ethers.getSigner(s.addresses.timelock);
    await s.orderBook.connect(timelock).setParameters(2n, 3_600n, 500_000n);
    await s.orderBook.connect(timelock).grantRole(ethers.ZeroHash, s.traders[0].address);
    expect(await verifyDeployment(ethers, s, input)).to.deep.equal([
      `orderBook DEFAULT_ADMIN_ROLE: unexpected holder ${s.traders[0].address.toLowerCase()}`,
      "orderBook.minDelay(): 2, expected 1",
    ]);
  });
});
