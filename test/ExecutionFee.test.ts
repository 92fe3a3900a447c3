import { expect } from "chai";
import { Keeper } from "../scripts/lib/keeper/loop.js";
import { execute } from "../scripts/lib/chain/cli.js";
import { readParameters } from "../scripts/lib/chain/deployment.js";
import { requestOrder } from "../scripts/lib/tools/trader.js";
import {
  ExecutionClass,
  OrderKind,
  acceptablePrice,
  atGasPrice,
  classGas,
  execution,
  fromRequestedEvent,
  priceExecutionFee,
} from "../scripts/lib/requests/orders.js";
import { lpRoundIds } from "../scripts/lib/requests/lp.js";
import {
  BTC,
  ETH,
  WAD,
  connection,
  deployThroughIgnition,
  ethers,
  networkHelpers,
  nextRound,
  openThroughBook,
} from "./helpers/ops.js";
import {
  EXECUTION_GAS,
  deploySystem,
  feedPrice,
  ethers as bookEthers,
  networkHelpers as bookHelpers,
} from "./helpers/system.js";
import { deployFunded, mulDivUp } from "./helpers/trading.js";
import { lpDeposit } from "./helpers/lp.js";

const GWEI = 10n ** 9n;
/** wei x an 18-decimal USD price over this is 6-decimal collateral. */
const DEN6 = 10n ** 30n;
const silent = () => {};

type System = Awaited<ReturnType<typeof deployThroughIgnition>>;

/** The Ignition deployment with positions in both markets: traders 0..3 hold positions, 4 and 5 none. */
async function withPositions(): Promise<System> {
  const s = await deployThroughIgnition();
  await openThroughBook(s, s.admin, [
    { trader: s.traders[0], market: ETH, size: 2n * WAD, margin: 2_000n * s.unit },
    { trader: s.traders[1], market: ETH, size: 2n * WAD, margin: 2_000n * s.unit },
    { trader: s.traders[2], market: BTC, size: WAD / 10n, margin: 2_000n * s.unit },
    { trader: s.traders[3], market: ETH, size: -2n * WAD, margin: 2_000n * s.unit },
  ]);
  return s;
}

/**
 * One valid request of every kind, and an LP deposit and redemption, each sent at `gasPrice` with the fee the
 * tools compute for it (the book's minimum at that gas price).
 */
async function requestEverything(s: System, gasPrice: bigint) {
  const at = atGasPrice(gasPrice);
  const [ethPrice, btcPrice] = [await s.ethOracle.price(), await s.btcOracle.price()];
  const fee = async (c: number) => (await priceExecutionFee(ethers, s, c, gasPrice)).fee;
  const trades = [
    { who: s.traders[4], market: ETH, kind: OrderKind.Open, size: WAD, amount: 400n * s.unit, price: ethPrice },
    { who: s.traders[5], market: BTC, kind: OrderKind.Open, size: -WAD / 20n, amount: 400n * s.unit, price: btcPrice },
    { who: s.traders[0], market: ETH, kind: OrderKind.Increase, size: WAD, amount: 400n * s.unit, price: ethPrice },
    { who: s.traders[1], market: ETH, kind: OrderKind.Reduce, size: WAD, amount: 0n, price: ethPrice },
    { who: s.traders[2], market: BTC, kind: OrderKind.Close, size: 1n, amount: 0n, price: btcPrice },
    { who: s.traders[3], market: ETH, kind: OrderKind.RemoveMargin, size: -1n, amount: 100n * s.unit, price: ethPrice },
  ];
  const paid: bigint[] = [];
  for (const t of trades) {
    const c = t.kind === OrderKind.Open || t.kind === OrderKind.Increase ? ExecutionClass.Open : ExecutionClass.Close;
    const f = await fee(c);
    paid.push(f);
    const bound = acceptablePrice(t.kind, t.size, t.price, 100n);
    await (await s.orderBook.connect(t.who).request(t.market, t.kind, t.size, t.amount, bound, f, at)).wait();
  }
  const lpFee = await fee(ExecutionClass.Lp);
  await (
    await s.vault
      .connect(s.staker)
      .requestDepositWithLimit(10_000n * s.unit, s.staker.address, s.staker.address, 0n, lpFee, at)
  ).wait();
  await (
    await s.vault
      .connect(s.lp)
      .requestRedeemWithLimit((await s.vault.balanceOf(s.lp)) / 100n, s.lp.address, s.lp.address, 0n, lpFee, at)
  ).wait();
  return { trades: trades.length, lp: 2, fees: paid, lpFee };
}

const keeperAt = (s: System, gasPrice: bigint, log: (line: string) => void = silent) =>
  new Keeper(ethers, s, s.keeper, { minProfit: 0n, batchSize: 10, startBlock: 0, dryRun: false, gasPrice, log });

/**
 * Transactions sent at 20 gwei raise the node's suggested priority fee for the blocks that follow; empty
 * blocks bring it back to 1 gwei, so that later test files send at the in-process network's usual 1 gwei.
 */
async function forgetHighTips() {
  await networkHelpers.mine(1_000);
  await bookHelpers.mine(1_000);
}

/**
 * Requests every kind at 1 gwei, and checks that the keeper's gas estimate for executing each one alone is at
 * most the book's gas for its class (which prices the minimum fee); prints the estimates.
 */
async function expectEstimatesWithinClassGas(s: System) {
  await requestEverything(s, GWEI);
  await nextRound(s);
  const gas = await classGas(s);
  const keeper = keeperAt(s, GWEI);
  await keeper.sync(await ethers.provider.getBlockNumber());
  const book = s.orderBook.connect(s.keeper);
  const feed = { [ETH.toString()]: s.ethFeed, [BTC.toString()]: s.btcFeed };
  const measured: Record<string, bigint> = {};
  for (const r of keeper.orders.requests.values()) {
    const [roundId] = await feed[r.marketId.toString()].latestRoundData();
    const estimate = await book.executeBatch.estimateGas([execution(r, roundId)]);
    const c = r.kind === OrderKind.Open || r.kind === OrderKind.Increase ? ExecutionClass.Open : ExecutionClass.Close;
    measured[`kind ${r.kind}`] = estimate;
    expect(estimate <= gas[c], `kind ${r.kind}: the keeper estimates ${estimate}, the book ${gas[c]}`).to.equal(true);
  }
  const rounds = (await lpRoundIds(ethers, s, (await s.vault.lpRequest(s.staker)).notBefore))!;
  for (const owner of [s.staker, s.lp]) {
    const estimate = await s.vault.connect(s.keeper).executeRequest.estimateGas(owner, rounds);
    measured[owner === s.lp ? "lp redeem" : "lp deposit"] = estimate;
    const lp = gas[ExecutionClass.Lp];
    expect(estimate <= lp, `LP: the keeper estimates ${estimate}, the book ${lp}`).to.equal(true);
  }
  console.log(
    `      keeper estimates: ${JSON.stringify(measured, (_k, v) => (typeof v === "bigint" ? Number(v) : v))}`,
  );
}

describe("Execution fee: a fee that always pays", function () {
  after(forgetHighTips);
  for (const gwei of [1n, 20n]) {
    it(`keeper_executes_every_valid_request_made_at_${gwei}_gwei_with_gas_price_${gwei}`, async function () {
      const s = await networkHelpers.loadFixture(withPositions);
      const gasPrice = gwei * GWEI;
      const made = await requestEverything(s, gasPrice);
      await nextRound(s);
      const lines: string[] = [];
      const keeper = keeperAt(s, gasPrice, (line) => lines.push(line));
      const tick = await keeper.tick();
      expect(tick?.ordersSkipped, lines.join("\n")).to.equal(0);
      expect(tick?.ordersExecuted, lines.join("\n")).to.equal(made.trades);
      expect(tick?.lpSkipped, lines.join("\n")).to.equal(0);
      expect(tick?.lpExecuted, lines.join("\n")).to.equal(made.lp);
      expect(tick?.errors, lines.join("\n")).to.equal(0);
      // The fees follow the gas price: at 20 gwei an open pays its estimate's gas at $3,000 an ETH.
      const ethUsd = await s.ethOracle.price();
      const openCost = mulDivUp(EXECUTION_GAS.open * gasPrice, ethUsd, DEN6);
      const floor = await s.orderBook.minExecutionFee();
      expect(made.fees[0]).to.equal(openCost > floor ? openCost : floor);
    });
  }

  it("keeper_estimate_for_one_execution_is_at_most_the_books_estimate_for_its_class", async function () {
    const s = await networkHelpers.loadFixture(withPositions);
    await expectEstimatesWithinClassGas(s);
  });

  it("keeper_estimate_for_one_execution_is_at_most_the_books_estimate_for_its_class_with_the_gap_guard_on", async function () {
    // As on the testnets: both markets guarded at 35 % and the testnets' execution gas (set through the
    // timelock). The opens raise their market's bound within the backstop's capacity, so each pays the guard's
    // whole check, the other market's refresh included.
    const s = await networkHelpers.loadFixture(withPositions);
    const testnet = (await readParameters("sepolia")).Bulwark as { executionGas: Record<string, bigint> };
    const calls = [
      s.orderBook.interface.encodeFunctionData("setExecutionGas", [testnet.executionGas as never]),
      ...[ETH, BTC].map((id) => s.orderBook.interface.encodeFunctionData("setDesignGap", [id, (35n * WAD) / 100n])),
    ];
    for (const data of calls) {
      await s.timelock.connect(s.admin).schedule(s.addresses.orderBook, 0n, data, ethers.ZeroHash, ethers.ZeroHash, 0n);
      await s.timelock.connect(s.admin).execute(s.addresses.orderBook, 0n, data, ethers.ZeroHash, ethers.ZeroHash);
    }
    await expectEstimatesWithinClassGas(s);
    expect(await s.orderBook.totalGapExposure()).to.be.lessThan(await s.backstop.maxCover());
  });

  it("a request below the minimum is refused by the contract and at the prompt", async function () {
    const s = await networkHelpers.loadFixture(withPositions);
    const gasPrice = 20n * GWEI;
    const { fee } = await priceExecutionFee(ethers, s, ExecutionClass.Open, gasPrice);
    const bound = acceptablePrice(OrderKind.Open, WAD, await s.ethOracle.price(), 100n);
    const book = s.orderBook.connect(s.traders[4]);
    await expect(book.request(ETH, OrderKind.Open, WAD, 400n * s.unit, bound, fee - 1n, atGasPrice(gasPrice)))
      .to.be.revertedWithCustomError(s.orderBook, "ExecutionFeeTooLow")
      .withArgs(fee - 1n, fee);
    const lpFee = (await priceExecutionFee(ethers, s, ExecutionClass.Lp, gasPrice)).fee;
    await expect(
      s.vault
        .connect(s.staker)
        .requestDepositWithLimit(s.unit, s.staker.address, s.staker.address, 0n, lpFee - 1n, atGasPrice(gasPrice)),
    )
      .to.be.revertedWithCustomError(s.orderBook, "ExecutionFeeTooLow")
      .withArgs(lpFee - 1n, lpFee);
    // The request tool refuses before sending anything, at the gas price it would send at (1 gwei here).
    const minimum = (await priceExecutionFee(ethers, s, ExecutionClass.Open)).fee;
    const run = async (args: Record<string, string | boolean>) => {
      const [out, err]: string[][] = [[], []];
      const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
      const code = await execute({ connection, deployment: s, signer: s.traders[4], io }, args as never, requestOrder);
      return { code, out, err };
    };
    const order = { market: "0", kind: "open", side: "long", size: "1", amount: "400" };
    const before = await ethers.provider.getBlockNumber();
    const refused = await run({ ...order, executionFee: ethers.formatUnits(minimum - 1n, s.decimals) });
    expect(refused.code).to.equal(1);
    expect(refused.err[0]).to.match(/below the order book's minimum .*\[ExecutionFeeTooLow\]$/);
    expect(await ethers.provider.getBlockNumber(), "nothing was sent").to.equal(before);
    // Its default fee is the on-chain minimum at the gas price it sends at: the book takes exactly it.
    const sent = await run({ ...order, json: true });
    expect(sent.code, sent.err.join("\n")).to.equal(0);
    expect(JSON.parse(sent.out[0]).executionFee).to.equal(minimum.toString());
    const [requested] = await s.orderBook.queryFilter(s.orderBook.filters.OrderRequested(s.traders[4].address));
    const tx = await ethers.provider.getTransaction(requested.transactionHash);
    expect(tx!.gasPrice, "sent at the gas price it priced").to.equal(GWEI);
    expect(fromRequestedEvent(requested as never).executionFee).to.equal(minimum);
  });
});

/** The book over the test system (floor 1 token, 6 decimals, ETH at $3,000). */
const bookSystem = () => deployFunded({ decimals: 6, orders: "book", ethConfig: { maxFundingRatePerDay: 0n } });
type S = Awaited<ReturnType<typeof bookSystem>>;

describe("Execution fee: the rule's edges", function () {
  after(forgetHighTips);
  /** ceil(gas x gasPrice x price / 1e30), the gas term by independent arithmetic. */
  const gasTerm = (gas: bigint, gasPrice: bigint, price: bigint) => mulDivUp(gas * gasPrice, price, DEN6);

  const open = (s: S, fee: bigint, gasPrice: bigint) =>
    s.book
      .connect(s.alice)
      .request(ETH, OrderKind.Open, WAD, 400n * s.unit, 2n ** 128n - 1n, fee, atGasPrice(gasPrice));

  it("minimum_fee_is_the_gas_term_above_the_floor_rounded_up_one_unit_each_way", async function () {
    const s = await bookHelpers.loadFixture(bookSystem);
    // 20 gwei and one wei: the product is not a whole unit, so the rounding up shows.
    const gasPrice = 20n * GWEI + 1n;
    const minimum = gasTerm(EXECUTION_GAS.open, gasPrice, 3_000n * WAD);
    expect(minimum).to.equal(16_200_001n); // 270,000 gas x 20.000000001 gwei x $3,000, rounded up
    await expect(open(s, minimum - 1n, gasPrice))
      .to.be.revertedWithCustomError(s.book, "ExecutionFeeTooLow")
      .withArgs(minimum - 1n, minimum);
    await expect(open(s, minimum, gasPrice)).to.emit(s.book, "OrderRequested");
  });

  it("minimum_fee_is_the_floor_while_the_gas_term_is_below_it_one_unit_each_way", async function () {
    const s = await bookHelpers.loadFixture(bookSystem);
    // At 1 gwei an open's gas is 0.81 of a token, below the 1-token floor.
    expect(gasTerm(EXECUTION_GAS.open, GWEI, 3_000n * WAD)).to.equal(810_000n);
    await expect(open(s, s.unit - 1n, GWEI))
      .to.be.revertedWithCustomError(s.book, "ExecutionFeeTooLow")
      .withArgs(s.unit - 1n, s.unit);
    await expect(open(s, s.unit, GWEI)).to.emit(s.book, "OrderRequested");
  });

  it("each_class_prices_its_own_gas: a close and an LP request cost their estimates", async function () {
    const s = await bookHelpers.loadFixture(bookSystem);
    const gasPrice = 20n * GWEI;
    const close = gasTerm(EXECUTION_GAS.close, gasPrice, 3_000n * WAD); // 12.6 tokens
    const lpGas = EXECUTION_GAS.lp + 2n * EXECUTION_GAS.lpPerMarket; // two markets
    const lp = gasTerm(lpGas, gasPrice, 3_000n * WAD);
    expect([close, lp]).to.deep.equal([12_600_000n, 18_000_000n]);
    await expect(s.book.connect(s.bob).request(ETH, OrderKind.Close, 1n, 0n, 0n, close - 1n, atGasPrice(gasPrice)))
      .to.be.revertedWithCustomError(s.book, "ExecutionFeeTooLow")
      .withArgs(close - 1n, close);
    await expect(s.book.connect(s.bob).request(ETH, OrderKind.Close, 1n, 0n, 0n, close, atGasPrice(gasPrice))).to.emit(
      s.book,
      "OrderRequested",
    );
    await expect(
      s.vault
        .connect(s.carol)
        .requestDepositWithLimit(s.unit, s.carol.address, s.carol.address, 0n, lp - 1n, atGasPrice(gasPrice)),
    )
      .to.be.revertedWithCustomError(s.book, "ExecutionFeeTooLow")
      .withArgs(lp - 1n, lp);
    await expect(
      s.vault
        .connect(s.carol)
        .requestDepositWithLimit(s.unit, s.carol.address, s.carol.address, 0n, lp, atGasPrice(gasPrice)),
    ).to.emit(s.vault, "LpRequested");
  });

  it("a_broken_gas_token_feed_falls_back_to_the_floor: a BTC close is never blocked by the ETH feed", async function () {
    const s = await bookHelpers.loadFixture(bookSystem);
    await bookHelpers.time.increase(3_601); // both feeds stale
    await s.btcFeed.updateAnswer(feedPrice(60_000)); // BTC answers again, ETH does not
    await expect(s.ethOracle.price()).to.be.revertedWithCustomError(s.ethOracle, "StalePrice");
    const gasPrice = 20n * GWEI;
    await expect(s.book.connect(s.bob).request(BTC, OrderKind.Close, 1n, 0n, 0n, s.unit - 1n, atGasPrice(gasPrice)))
      .to.be.revertedWithCustomError(s.book, "ExecutionFeeTooLow")
      .withArgs(s.unit - 1n, s.unit);
    await expect(s.book.connect(s.bob).request(BTC, OrderKind.Close, 1n, 0n, 0n, s.unit, atGasPrice(gasPrice))).to.emit(
      s.book,
      "OrderRequested",
    );
  });

  it("execution gas: bounds one unit each way, an event, the admin only", async function () {
    const s = await bookHelpers.loadFixture(bookSystem);
    const ok = { open: 100_000n, close: 3_000_000n, lp: 100_000n, lpPerMarket: 200_000n };
    await expect(s.book.setExecutionGas(ok))
      .to.emit(s.book, "ExecutionGasUpdated")
      .withArgs(100_000n, 3_000_000n, 100_000n, 200_000n);
    expect([...(await s.book.executionGas())]).to.deep.equal([100_000n, 3_000_000n, 100_000n, 200_000n]);
    const name = (x: string) => bookEthers.encodeBytes32String(x);
    for (const [field, label, value, min, max] of [
      ["open", "openGas", 99_999n, 100_000n, 3_000_000n],
      ["open", "openGas", 3_000_001n, 100_000n, 3_000_000n],
      ["close", "closeGas", 99_999n, 100_000n, 3_000_000n],
      ["close", "closeGas", 3_000_001n, 100_000n, 3_000_000n],
      ["lp", "lpGas", 99_999n, 100_000n, 3_000_000n],
      ["lp", "lpGas", 3_000_001n, 100_000n, 3_000_000n],
      ["lpPerMarket", "lpGasPerMarket", 200_001n, 0n, 200_000n],
    ] as const) {
      await expect(s.book.setExecutionGas({ ...ok, [field]: value }))
        .to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds")
        .withArgs(name(label), value, min, max);
    }
    await expect(s.book.connect(s.alice).setExecutionGas(ok)).to.be.revertedWithCustomError(
      s.book,
      "AccessControlUnauthorizedAccount",
    );
  });

  it("the gas-token oracle is never zero", async function () {
    const s = await bookHelpers.loadFixture(bookSystem);
    const factory = await bookEthers.getContractFactory("OrderBook");
    await expect(
      factory.deploy(s.engine, s.admin, bookEthers.ZeroAddress, 30n, 3_600n, s.unit, EXECUTION_GAS, []),
    ).to.be.revertedWithCustomError(factory, "ZeroGasTokenOracle");
    expect(await s.book.gasTokenOracle()).to.equal(await s.ethOracle.getAddress());
  });
});

describe("LP requests share the book's fee rule", function () {
  after(forgetHighTips);
  /** Bob holds an ETH position through the book, so LPs use requests. */
  async function lpSystem(token?: unknown) {
    const s = await deploySystem({ decimals: 6, orders: "book", token, ethConfig: { maxFundingRatePerDay: 0n } });
    await lpDeposit(s, s.lp, 1_000_000n * s.unit);
    await s.book.connect(s.bob).request(ETH, OrderKind.Open, WAD, 400n * s.unit, 2n ** 128n - 1n, s.unit);
    await bookHelpers.time.increase(30);
    await s.ethFeed.updateAnswer(feedPrice(3_000));
    const [sent] = await s.book.queryFilter(s.book.filters.OrderRequested(s.bob.address));
    const [roundId] = await s.ethFeed.latestRoundData();
    await s.book.connect(s.keeper).execute(s.bob, ETH, fromRequestedEvent(sent as never), roundId);
    return s;
  }
  const plain = () => lpSystem();
  const blocklisted = async () =>
    lpSystem(await bookEthers.deployContract("BlocklistToken", ["Blocklist USD", "bUSD", 6]));
  const rounds = async (s: Awaited<ReturnType<typeof plain>>) => {
    await bookHelpers.time.increase(30);
    await s.ethFeed.updateAnswer(feedPrice(3_000));
    const [roundId] = await s.ethFeed.latestRoundData();
    return [roundId, 0n];
  };

  it("lp_fee_is_escrowed_with_the_request_and_paid_to_the_executor_on_execution", async function () {
    const s = await bookHelpers.loadFixture(plain);
    const fee = s.unit;
    const bal = (who: { getAddress(): Promise<string> } | string) => s.token.balanceOf(who);
    const [carol0, lp0, vault0] = [await bal(s.carol), await bal(s.lp), await bal(s.vault)];
    await (
      await s.vault.connect(s.carol).requestDepositWithLimit(1_000n * s.unit, s.carol.address, s.carol.address, 0n, fee)
    ).wait();
    expect(carol0 - (await bal(s.carol)), "assets and fee pulled").to.equal(1_000n * s.unit + fee);
    const shares = await s.vault.balanceOf(s.lp);
    await (
      await s.vault.connect(s.lp).requestRedeemWithLimit(shares / 100n, s.lp.address, s.lp.address, 0n, fee)
    ).wait();
    expect(lp0 - (await bal(s.lp)), "the fee pulled in collateral").to.equal(fee);
    expect((await bal(s.vault)) - vault0, "both escrowed in the vault").to.equal(1_000n * s.unit + 2n * fee);
    const r = await rounds(s);
    const keeper0 = await bal(s.keeper);
    await (await s.vault.connect(s.keeper).executeRequest(s.carol, r)).wait();
    expect((await bal(s.keeper)) - keeper0, "the deposit's fee to the executor").to.equal(fee);
    await (await s.vault.connect(s.keeper).executeRequest(s.lp, r)).wait();
    expect((await bal(s.keeper)) - keeper0, "and the redemption's").to.equal(2n * fee);
    // Nothing of the fees stays in the vault: only the redemption's assets, held until its owner claims them.
    expect((await bal(s.vault)) - vault0, "the vault keeps only the held redemption").to.equal(
      await s.vault.heldAssets(),
    );
  });

  it("lp_fee_goes_to_the_executor_when_the_request_is_refused_below_its_limit", async function () {
    const s = await bookHelpers.loadFixture(plain);
    await s.vault
      .connect(s.carol)
      .requestDepositWithLimit(1_000n * s.unit, s.carol.address, s.carol.address, 2n ** 120n, s.unit); // no deposit mints that
    const r = await rounds(s);
    const exec = s.vault.connect(s.keeper).executeRequest(s.carol, r);
    await expect(exec).to.changeTokenBalances(bookEthers, s.token, [s.keeper, s.carol], [s.unit, 1_000n * s.unit]);
    await expect(exec).to.emit(s.vault, "LpRequestRefused");
  });

  it("lp_cancellation_after_expiry_refunds_escrow_and_fee_to_the_owner", async function () {
    const s = await bookHelpers.loadFixture(plain);
    await s.vault
      .connect(s.carol)
      .requestDepositWithLimit(1_000n * s.unit, s.carol.address, s.carol.address, 0n, 2n * s.unit);
    await bookHelpers.time.increase(3_601);
    const cancel = s.vault.connect(s.dave).cancelRequest(s.carol);
    await expect(cancel).to.changeTokenBalances(bookEthers, s.token, [s.carol, s.dave], [1_002n * s.unit, 0n]);
    await expect(cancel)
      .to.emit(s.vault, "LpRequestCancelled")
      .withArgs(s.carol.address, false, 1_000n * s.unit, 2n * s.unit);
  });

  it("defence: an LP refund the token refuses waits in the book's claimable instead of reverting the cancellation", async function () {
    const s = await bookHelpers.loadFixture(blocklisted);
    await s.vault
      .connect(s.carol)
      .requestDepositWithLimit(1_000n * s.unit, s.carol.address, s.carol.address, 0n, s.unit);
    await bookHelpers.time.increase(3_601);
    await s.token.setBlocked(s.carol, true);
    await expect(s.vault.connect(s.dave).cancelRequest(s.carol))
      .to.emit(s.book, "RefundDeferred")
      .withArgs(s.carol.address, 1_001n * s.unit);
    expect(await s.book.claimable(s.carol)).to.equal(1_001n * s.unit);
    await expect(s.book.connect(s.carol).claim(s.dave)).to.changeTokenBalance(
      bookEthers,
      s.token,
      s.dave,
      1_001n * s.unit,
    );
  });

  it("only the engine's vault hands the book a refund", async function () {
    const s = await bookHelpers.loadFixture(plain);
    await expect(s.book.connect(s.alice).refund(s.alice, 1n))
      .to.be.revertedWithCustomError(s.book, "NotVault")
      .withArgs(s.alice.address);
  });
});
