// A request the engine would refuse at execution is refused at the prompt, with the rule and the numbers:
// the book would take it, escrow it, and at execution cancel it and keep its execution fee.
import { expect } from "chai";
import { Keeper } from "../scripts/lib/keeper/loop.js";
import { ExecutionClass, OrderKind, atGasPrice } from "../scripts/lib/requests/orders.js";
import { requestOrder } from "../scripts/lib/tools/trader.js";
import { ETH, WAD, deployThroughIgnition, ethers, networkHelpers, nextRound, openThroughBook } from "./helpers/ops.js";
import { expectRefusal, run } from "./helpers/tool-run.js";

type System = Awaited<ReturnType<typeof deployThroughIgnition>>;

const open = (size: string, amount: string, extra: Record<string, string> = {}) => ({
  market: "0",
  kind: "open",
  side: "long",
  size,
  amount,
  ...extra,
});

describe("Tools: requests checked against the engine's rules before they are sent", function () {
  let s: System;
  beforeEach(async function () {
    s = await networkHelpers.loadFixture(deployThroughIgnition);
  });

  it("orders_request_refuses_a_51x_open_that_the_engine_would_refuse_at_execution", async function () {
    const trader = s.traders[0];
    // 5.1 ETH at $3,000 on 300 of margin (307.65 less the 0.05 % fee): 51x where the market allows 10x.
    const line = await expectRefusal(
      () => run(requestOrder, open("5.1", "307.65"), s, trader),
      "InsufficientInitialMargin",
    );
    expect(line).to.equal(
      "error: leverage 51x (notional 15,300.00 mUSD on equity 300.00 mUSD) is above the market's maximum 10x " +
        "(initial margin 10 %): add --amount or lower --size [InsufficientInitialMargin]",
    );

    // The same request sent to the book directly is taken, then refused at execution: the fee is lost.
    const at = atGasPrice(10n ** 9n); // the network's 1 gwei, at which the keeper prices gas
    const fee = await s.orderBook.minimumFee(ExecutionClass.Open, at);
    await s.orderBook
      .connect(trader)
      .request(ETH, OrderKind.Open, (51n * WAD) / 10n, 307_650_000n, 3_030n * WAD, fee, at);
    await nextRound(s);
    const keeper = new Keeper(ethers, s, s.keeper, {
      minProfit: 0n,
      batchSize: 10,
      startBlock: 0,
      dryRun: false,
      log: () => {},
    });
    const tick = await keeper.tick();
    expect([tick?.ordersExecuted, tick?.ordersRefused], "executed, refused at execution").to.deep.equal([0, 1]);
  });

  it("orders_request_refuses_an_open_that_the_gap_guard_would_cancel_and_sends_one_that_fits", async function () {
    // The timelock (no delay on hardhat) guards ETH at a 35 % gap: 100,000 staked cover 30,000 a window, so
    // the book carries at most $99,420.05 of larger-side notional (30,000 / 30.175 %).
    const data = s.orderBook.interface.encodeFunctionData("setDesignGap", [ETH, (35n * WAD) / 100n]);
    await s.timelock.connect(s.admin).schedule(s.addresses.orderBook, 0n, data, ethers.ZeroHash, ethers.ZeroHash, 0n);
    await s.timelock.connect(s.admin).execute(s.addresses.orderBook, 0n, data, ethers.ZeroHash, ethers.ZeroHash);
    const line = await expectRefusal(
      () => run(requestOrder, open("33.2", "10000"), s, s.traders[0]),
      "GapCoverExceeded",
    );
    // 33.2 ETH at $3,000: $99,600 x 30.175 % = 30,054.30.
    expect(line).to.equal(
      "error: the gap guard: with this trade a 35 % move could leave 30,054.30 mUSD unpaid over the guarded " +
        "markets, above the 30,000.00 mUSD the backstop can still cover in its window: lower --size [GapCoverExceeded]",
    );
    const r = await run(requestOrder, open("33.1", "10000"), s, s.traders[0]);
    expect(r.code, r.err.join("\n")).to.equal(0);
  });

  it("orders_request_values_the_other_guarded_markets_at_their_prices_now_as_the_book_does", async function () {
    // The timelock guards ETH and BTC at 35 %: 100,000 staked cover 30,000 a window.
    for (const marketId of [ETH, 1n]) {
      const data = s.orderBook.interface.encodeFunctionData("setDesignGap", [marketId, (35n * WAD) / 100n]);
      await s.timelock.connect(s.admin).schedule(s.addresses.orderBook, 0n, data, ethers.ZeroHash, ethers.ZeroHash, 0n);
      await s.timelock.connect(s.admin).execute(s.addresses.orderBook, 0n, data, ethers.ZeroHash, ethers.ZeroHash);
    }
    // 20 ETH long at $3,000: ETH's bound is stored at $60,000 x 30.175 % = 18,105.00.
    await openThroughBook(s, s.keeper, [
      { trader: s.traders[1], market: ETH, size: 20n * WAD, margin: 7_000_000_000n },
    ]);
    expect(await s.orderBook.gapExposure(ETH)).to.equal(18_105_000_000n);
    // ETH rises 10 % and nobody refreshes its stored bound: at the price now it is 19,915.50. A 0.6 BTC long
    // ($36,000: 10,863.00) fits beside the stored bound (28,968.00) but not beside the one the book will use.
    await s.ethFeed.updateAnswer(3_300n * 10n ** 8n);
    const line = await expectRefusal(
      () => run(requestOrder, { ...open("0.6", "4000"), market: "1" }, s, s.traders[0]),
      "GapCoverExceeded",
    );
    expect(line).to.include("could leave 30,778.50 mUSD unpaid over the guarded markets, above the 30,000.00 mUSD");
  });

  it("orders_request_refuses_an_open_below_the_minimum_notional", async function () {
    const line = await expectRefusal(
      () => run(requestOrder, open("0.017", "20"), s, s.traders[0]),
      "NotionalBelowMinimum",
    );
    expect(line).to.equal(
      "error: notional $51.00 (--size at $3,000.00) is below the market's minimum $100.00 [NotionalBelowMinimum]",
    );
  });

  it("orders_request_refuses_an_acceptable_price_on_the_wrong_side_of_the_price", async function () {
    const long = await expectRefusal(
      () => run(requestOrder, open("1", "400", { acceptablePrice: "100" }), s, s.traders[0]),
      "PriceNotAcceptable",
    );
    expect(long).to.equal(
      "error: --acceptable-price $100.00 is 96.6667 % below the price now $3,000.00: a buy executes only at <= it, " +
        "so the keeper would cancel the request and keep its fee [PriceNotAcceptable]",
    );
    const short = await expectRefusal(
      () => run(requestOrder, open("1", "400", { side: "short", acceptablePrice: "3,100" }), s, s.traders[0]),
      "PriceNotAcceptable",
    );
    expect(short).to.include("is 3.3333 % above the price now $3,000.00: a sell executes only at >= it");
  });

  it("orders_request_refuses_an_open_whose_margin_is_below_the_minimum", async function () {
    // 0.05 ETH ($150) with 5 mUSD: the engine's minimum margin is 10.
    const line = await expectRefusal(() => run(requestOrder, open("0.05", "5"), s, s.traders[0]), "MarginBelowMinimum");
    expect(line).to.equal(
      "error: margin 4.925 mUSD (--amount less the trading fee 0.075 mUSD) is below the market's minimum 10.00 mUSD [MarginBelowMinimum]",
    );
  });

  describe("on an open position (0.05 ETH, margin 20)", function () {
    beforeEach(async function () {
      await openThroughBook(s, s.keeper, [
        { trader: s.traders[0], market: ETH, size: WAD / 20n, margin: 20n * s.unit },
      ]);
    });

    it("orders_request_refuses_a_reduce_that_leaves_less_than_the_minimum_notional", async function () {
      const line = await expectRefusal(
        () => run(requestOrder, { market: "0", kind: "reduce", size: "0.03" }, s, s.traders[0]),
        "NotionalBelowMinimum",
      );
      expect(line).to.equal(
        "error: the reduce would leave $60.00 of notional, below the market's minimum $100.00: use --kind close [NotionalBelowMinimum]",
      );
    });

    it("orders_request_refuses_an_increase_past_the_maximum_leverage", async function () {
      const line = await expectRefusal(
        () => run(requestOrder, { market: "0", kind: "increase", size: "1", amount: "10" }, s, s.traders[0]),
        "InsufficientInitialMargin",
      );
      expect(line).to.match(
        /^error: leverage 1\d\d(\.\d+)?x \(notional 3,150.00 mUSD on equity 2\d\.\d+ mUSD\) is above the market's maximum 10x/,
      );
    });

    it("orders_request_refuses_removing_margin_below_the_minimum", async function () {
      const line = await expectRefusal(
        () => run(requestOrder, { market: "0", kind: "remove-margin", amount: "15" }, s, s.traders[0]),
        "MarginBelowMinimum",
      );
      expect(line).to.match(
        /^error: removing 15.00 mUSD would leave a margin of [45]\.\d+ mUSD, below the market's minimum 10.00 mUSD/,
      );
    });

    it("orders_request_on_a_stale_feed_needs_an_explicit_bound_and_says_it_was_not_checked", async function () {
      await networkHelpers.time.increase(3_601); // past the feed's heartbeat
      const line = await expectRefusal(
        () => run(requestOrder, { market: "0", kind: "close" }, s, s.traders[0]),
        "StalePrice",
      );
      expect(line).to.match(
        /^error: the price feed is stale: its last round is from .* older than its heartbeat of 1 h/,
      );
      const r = await run(requestOrder, { market: "0", kind: "close", acceptablePrice: "2900" }, s, s.traders[0]);
      expect(r.code, r.err.join("\n")).to.equal(0);
      expect(r.out[0]).to.match(/^not checked against the market's rules: the price feed is stale/);
      expect(r.out[1]).to.match(/^Requested close long in market 0/);
    });

    it("orders_request_sends_a_close_that_passes_the_checks", async function () {
      const r = await run(requestOrder, { market: "0", kind: "close" }, s, s.traders[0]);
      expect(r.code, r.err.join("\n")).to.equal(0);
      expect(r.out[0]).to.match(/^Requested close long in market 0/);
    });
  });
});
