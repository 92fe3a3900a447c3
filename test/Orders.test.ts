import { expect } from "chai";
import { sentRequest, type Sent } from "./helpers/book.js";
import type { AddressLike } from "ethers";
import {
  ETH,
  ethers,
  feedPrice,
  marketConfig,
  networkHelpers,
  ORDER_DELAY,
  ORDER_MAX_AGE,
  WAD,
} from "./helpers/system.js";
import { deployFunded, usd } from "./helpers/trading.js";

/** Order kinds, as in IOrderBook.OrderKind. */
const OPEN = 0;
const INCREASE = 1;
const REDUCE = 2;
const CLOSE = 3;
const REMOVE_MARGIN = 4;
const NO_BOUND = 2n ** 128n - 1n; // a buy's acceptable price that accepts any price

const bookSystem = () =>
  deployFunded({
    decimals: 6,
    orders: "book",
    ethConfig: { maxFundingRatePerDay: 0n },
    btcConfig: { maxFundingRatePerDay: 0n },
  });
type S = Awaited<ReturnType<typeof bookSystem>>;

/** The book over a blocklisting collateral (as USDC has), funding off. */
async function blocklistBook() {
  const token = await ethers.deployContract("BlocklistToken", ["Blocklist USD", "bUSD", 6]);
  return deployFunded({ decimals: 6, token, orders: "book", ethConfig: { maxFundingRatePerDay: 0n } });
}

/** The book with an L2 market (id 2): the ETH feed behind an oracle gated by a sequencer-uptime feed. */
const L2_GRACE = 3_600n;
async function l2Book() {
  const s = await bookSystem();
  const sequencer = await ethers.deployContract("MockV3Aggregator", [0, 0n]);
  const l2Oracle = await ethers.deployContract("ChainlinkOracle", [
    s.ethFeed,
    3_600n,
    WAD / 100n,
    10_000_000n * WAD,
    sequencer,
    L2_GRACE,
  ]);
  await s.engine.addMarket(l2Oracle, marketConfig(6, { maxFundingRatePerDay: 0n }));
  const t = BigInt(await networkHelpers.time.latest());
  await sequencer.updateRoundData(1n, 0n, t, t - L2_GRACE - 1n); // up for longer than the grace period
  return { ...s, sequencer, l2Oracle, L2: 2n };
}

const now = async () => BigInt(await networkHelpers.time.latest());
/** A new round of the ETH feed at `dollars`, in the next block `seconds` from now; returns its round id. */
async function round(s: S, dollars: number, seconds = 1n): Promise<bigint> {
  await networkHelpers.time.setNextBlockTimestamp((await now()) + seconds);
  await s.ethFeed.updateAnswer(feedPrice(dollars));
  return (await s.ethFeed.latestRoundData())[0];
}
const balance = (s: S, who: { getAddress(): Promise<string> }) => s.token.balanceOf(who);

type Req = Sent["request"];
/** Sends a request and returns it as the book committed to it. */
async function ask(
  s: S,
  who: Parameters<S["book"]["connect"]>[0],
  marketId: bigint,
  kind: number,
  size: bigint,
  amount: bigint,
  bound: bigint,
  fee: bigint,
): Promise<Req> {
  return (await sentRequest(s.book, s.book.connect(who).request(marketId, kind, size, amount, bound, fee))).request;
}

describe("Two-step orders (OrderBook)", function () {
  describe("attacks that the request delay defeats", function () {
    it("attack_roundTripAroundKnownRound: a long asked for before a visible +0.5 % round, closed after it, ends below zero", async function () {
      // On one-step trading (commit a299f1c) the same trade, opened before the round and closed after it,
      // made +4,317.03 for the trader and cost the LP pool as much (docs/ORACLE.md).
      const s = await networkHelpers.loadFixture(bookSystem);
      const attacker = s.dave;
      const fee = s.unit;
      const before = await balance(s, attacker);
      const lpBefore = await s.vault.totalAssets();

      // The largest long the reserve allows, asked for while a +0.5 % round sits in the mempool.
      const open = await ask(s, attacker, ETH, OPEN, 360n * WAD, 110_000n * s.unit, NO_BOUND, fee);
      const visible = await round(s, 3_015, 12n); // lands in the next block
      await expect(s.book.connect(s.keeper).execute(attacker, ETH, open, visible)).to.be.revertedWithCustomError(
        s.ethOracle,
        "RoundTooEarly",
      );
      // The first round after the delay prices it: the market stayed at 3,015.
      const first = await round(s, 3_015, ORDER_DELAY);
      await expect(s.book.connect(s.keeper).execute(attacker, ETH, open, first))
        .to.emit(s.book, "OrderExecuted")
        .withArgs(attacker, ETH, s.keeper, first, usd(3_015));

      const close = await ask(s, attacker, ETH, CLOSE, 1n, 0n, 0n, fee);
      const closeRound = await round(s, 3_015, ORDER_DELAY);
      await s.book.connect(s.keeper).execute(attacker, ETH, close, closeRound);

      const gain = (await balance(s, attacker)) - before;
      // No PnL: both executions priced at 3,015. The trader paid two trading fees (360 x 3,015 x 5 bps
      // each) and two execution fees; the LPs kept their 70 % of the trading fees.
      const tradingFee = 542_700_000n;
      expect(gain).to.equal(-(2n * tradingFee + 2n * fee));
      expect((await s.vault.totalAssets()) - lpBefore).to.equal((2n * tradingFee * 7n) / 10n);
    });

    it("attack_requestBeforeVisibleRound: a request sent one block before a round already in the mempool does not get that round", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const r = await ask(s, s.alice, ETH, OPEN, WAD, 400n * s.unit, NO_BOUND, s.unit);
      const createdAt = r.createdAt;
      // The round lands in the very next block, and at every second up to the delay it is still too early.
      const visible = await round(s, 2_900, 1n);
      await expect(s.book.connect(s.keeper).execute(s.alice, ETH, r, visible))
        .to.be.revertedWithCustomError(s.ethOracle, "RoundTooEarly")
        .withArgs(visible, createdAt + 1n, createdAt + ORDER_DELAY);
      const late = await round(s, 2_950, ORDER_DELAY - 2n); // updated at createdAt + delay - 1
      await expect(s.book.connect(s.keeper).execute(s.alice, ETH, r, late)).to.be.revertedWithCustomError(
        s.ethOracle,
        "RoundTooEarly",
      );
      const first = await round(s, 3_000, 1n); // exactly at createdAt + delay
      await expect(s.book.connect(s.keeper).execute(s.alice, ETH, r, first))
        .to.emit(s.engine, "PositionModified")
        .withArgs(s.alice, ETH, WAD, WAD, usd(3_000), usd(3_000), 400n * s.unit - 1_500_000n, 0, 0, 1_500_000n);
    });

    it("attack_keeperHoldsBack: a keeper that waits for a friendlier round gets the first round's price, and a worse one if the market moved against the trader", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const ra = await ask(s, s.alice, ETH, OPEN, WAD, 400n * s.unit, NO_BOUND, s.unit);
      const rb = await ask(s, s.bob, ETH, OPEN, WAD, 400n * s.unit, NO_BOUND, s.unit);
      const first = await round(s, 3_000, ORDER_DELAY);
      // A later round lower for the longs: a keeper working for Alice waits for it.
      const friendlier = await round(s, 2_900, 60n);
      await expect(s.book.connect(s.keeper).execute(s.alice, ETH, ra, friendlier))
        .to.be.revertedWithCustomError(s.ethOracle, "NotFirstRound")
        .withArgs(friendlier, (await s.ethFeed.getRoundData(first))[3]);
      await s.book.connect(s.keeper).execute(s.alice, ETH, ra, first);
      expect((await s.engine.getPosition(s.alice, ETH)).entryPrice).to.equal(usd(3_000));
      // A later round higher: Bob's execution, held back past it, pays the higher price.
      await round(s, 3_100, 60n);
      await s.book.connect(s.keeper).execute(s.bob, ETH, rb, first);
      expect((await s.engine.getPosition(s.bob, ETH)).entryPrice).to.equal(usd(3_100));
    });

    it("attack_cancelAfterSeeingRound: a trader who sees the execution round cannot cancel; after expiry, unexecuted, they get escrow and fee back", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const escrow = 400n * s.unit;
      const ra = await ask(s, s.alice, ETH, OPEN, WAD, escrow, NO_BOUND, s.unit);
      const createdAt = ra.createdAt;
      const bad = await round(s, 2_700, ORDER_DELAY); // -10 %: the long would start under water
      await expect(s.book.connect(s.alice).cancel(s.alice, ETH, ra))
        .to.be.revertedWithCustomError(s.book, "RequestNotExpired")
        .withArgs(s.alice, ETH, createdAt + ORDER_MAX_AGE);
      await s.book.connect(s.keeper).execute(s.alice, ETH, ra, bad);
      expect((await s.engine.getPosition(s.alice, ETH)).entryPrice).to.equal(usd(2_700));

      // Nobody executes Bob's request (the executors are down): after expiry he may cancel, and he gets the
      // fee back too. He could not execute it nor cancel it while it could execute, so no option was his.
      const rb = await ask(s, s.bob, ETH, OPEN, WAD, escrow, NO_BOUND, s.unit);
      await networkHelpers.time.increase(ORDER_MAX_AGE + 1n);
      await expect(s.book.connect(s.bob).cancel(s.bob, ETH, rb)).to.changeTokenBalances(
        ethers,
        s.token,
        [s.bob, s.treasury, s.book],
        [escrow + s.unit, 0n, -(escrow + s.unit)],
      );
    });
  });

  describe("requests", function () {
    it("escrows collateral plus the execution fee, one request per account and market, and reports its window", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const escrow = 400n * s.unit;
      const tx = s.book.connect(s.alice).request(ETH, OPEN, -WAD, escrow, usd(2_990), 2n * s.unit);
      await expect(tx).to.changeTokenBalances(
        ethers,
        s.token,
        [s.alice, s.book],
        [-(escrow + 2n * s.unit), escrow + 2n * s.unit],
      );
      const createdAt = await now();
      const r = {
        kind: BigInt(OPEN),
        size: -WAD,
        amount: escrow,
        acceptablePrice: usd(2_990),
        executionFee: 2n * s.unit,
        createdAt,
        notBefore: createdAt + ORDER_DELAY,
        expiresAt: createdAt + ORDER_MAX_AGE,
      };
      await expect(tx)
        .to.emit(s.book, "OrderRequested")
        .withArgs(s.alice, ETH, Object.values(r), createdAt + ORDER_DELAY, createdAt + ORDER_MAX_AGE);
      // The book keeps one word: the full keccak256 of the request, its window included, which is all it
      // accepts back.
      const commitment = await s.book.commitmentOf(r);
      const expected = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(
          ["tuple(uint8,int128,uint96,uint128,uint96,uint32,uint32,uint32)"],
          [Object.values(r)],
        ),
      );
      expect(commitment, "all 256 bits of the hash").to.equal(expected);
      expect(await s.book.pendingRequest(s.alice, ETH)).to.equal(commitment);
      expect(await s.book.isPending(s.alice, ETH, r)).to.equal(true);
      expect(await s.book.isPending(s.alice, ETH, { ...r, amount: escrow + 1n })).to.equal(false);
      // A window other than the one given is another request: the executor cannot move it.
      expect(await s.book.isPending(s.alice, ETH, { ...r, notBefore: r.notBefore + 1n })).to.equal(false);
      expect(await s.book.isPending(s.alice, ETH, { ...r, expiresAt: r.expiresAt + 1n })).to.equal(false);
      // Parameters changed later do not move a pending request's window.
      await s.book.setParameters(ORDER_DELAY * 2n, ORDER_MAX_AGE * 2n, s.unit);
      expect(await s.book.isPending(s.alice, ETH, r)).to.equal(true);
      await expect(s.book.connect(s.alice).request(ETH, CLOSE, -1n, 0n, 0n, s.unit))
        .to.be.revertedWithCustomError(s.book, "RequestPending")
        .withArgs(s.alice, ETH);
      // Another market is another slot.
      await s.book.connect(s.alice).request(1n, OPEN, WAD / 100n, 100n * s.unit, NO_BOUND, s.unit);
    });

    it("refuses bad requests with a named error and changes nothing", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const book = s.book.connect(s.alice);
      const unit = s.unit;
      const cases: [() => Promise<unknown>, string][] = [
        [() => book.request(7n, OPEN, WAD, 400n * unit, NO_BOUND, unit), "UnknownMarket"],
        [() => book.request(ETH, OPEN, WAD, 400n * unit, NO_BOUND, unit - 1n), "ExecutionFeeTooLow"],
        [() => book.request(ETH, OPEN, 0n, 400n * unit, NO_BOUND, unit), "InvalidRequest"],
        [() => book.request(ETH, OPEN, WAD, 0n, NO_BOUND, unit), "InvalidRequest"],
        [() => book.request(ETH, CLOSE, WAD, 5n, 0n, unit), "InvalidRequest"],
        [() => book.request(ETH, REDUCE, WAD, 5n, 0n, unit), "InvalidRequest"],
        [() => book.request(ETH, REMOVE_MARGIN, WAD, 0n, 0n, unit), "InvalidRequest"],
        [() => book.request(ETH, OPEN, WAD, 400n * unit, 0n, unit), "ZeroAcceptablePrice"],
        [() => book.request(ETH, CLOSE, -WAD, 0n, 0n, unit), "ZeroAcceptablePrice"],
      ];
      const before = await s.token.balanceOf(s.book);
      for (const [call, error] of cases) {
        const target = error === "UnknownMarket" ? s.engine : s.book;
        await expect(call(), error).to.be.revertedWithCustomError(target, error);
      }
      await expect(book.request(ETH, OPEN, 2n ** 127n, 400n * unit, NO_BOUND, unit)).to.be.revertedWithCustomError(
        s.book,
        "SafeCastOverflowedIntDowncast",
      );
      expect(await s.token.balanceOf(s.book)).to.equal(before);
      expect(await s.book.pendingRequest(s.alice, ETH)).to.equal(ethers.ZeroHash);
    });
  });

  describe("execution", function () {
    it("runs every kind at the execution round's price and pays the keeper", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const fee = s.unit;
      const step = async (kind: number, size: bigint, amount: bigint, bound: bigint, dollars: number) => {
        const r = await ask(s, s.alice, ETH, kind, size, amount, bound, fee);
        const id = await round(s, dollars, ORDER_DELAY);
        await expect(s.book.connect(s.keeper).execute(s.alice, ETH, r, id)).to.changeTokenBalance(
          ethers,
          s.token,
          s.keeper,
          fee,
        );
      };
      await step(OPEN, -2n * WAD, 1_000n * s.unit, usd(2_900), 3_000);
      expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(-2n * WAD);
      await step(INCREASE, -WAD, 500n * s.unit, usd(2_900), 3_000);
      expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(-3n * WAD);
      await step(REDUCE, -WAD, 0n, NO_BOUND, 2_950);
      expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(-2n * WAD);
      const margin = (await s.engine.getPosition(s.alice, ETH)).margin;
      await step(REMOVE_MARGIN, -1n, 100n * s.unit, NO_BOUND, 2_950);
      expect((await s.engine.getPosition(s.alice, ETH)).margin).to.equal(margin - 100n * s.unit);
      const before = await balance(s, s.alice);
      await step(CLOSE, -1n, 0n, NO_BOUND, 2_900);
      expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(0n);
      expect(await balance(s, s.alice)).to.be.greaterThan(before);
      expect(await s.token.balanceOf(s.book)).to.equal(0n);
    });

    it("cancels at a price beyond the trader's bound or when the engine refuses, refunding the escrow less the fee", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const escrow = 400n * s.unit;
      const r = await ask(s, s.alice, ETH, OPEN, WAD, escrow, usd(3_010), s.unit);
      const id = await round(s, 3_020, ORDER_DELAY);
      const reason = s.book.interface.encodeErrorResult("PriceNotAcceptable", [usd(3_020), usd(3_010)]);
      const tx = s.book.connect(s.keeper).execute(s.alice, ETH, r, id);
      await expect(tx).to.emit(s.book, "OrderCancelled").withArgs(s.alice, ETH, s.keeper, escrow, s.unit, reason);
      await expect(tx).to.changeTokenBalances(ethers, s.token, [s.alice, s.keeper], [escrow, s.unit]);

      // 10 ETH on 400 of collateral is far below the initial margin: the engine refuses, the book cancels.
      const r2 = await ask(s, s.alice, ETH, OPEN, 10n * WAD, escrow, NO_BOUND, s.unit);
      const id2 = await round(s, 3_020, ORDER_DELAY);
      await expect(s.book.connect(s.keeper).execute(s.alice, ETH, r2, id2))
        .to.emit(s.book, "OrderCancelled")
        .and.not.to.emit(s.engine, "PositionModified");
      expect(await s.book.isPending(s.alice, ETH, r2)).to.equal(false);
      // A paused engine refuses new risk: the request is cancelled the same way.
      const r3 = await ask(s, s.alice, ETH, OPEN, WAD, escrow, NO_BOUND, s.unit);
      await s.engine.pause();
      const id3 = await round(s, 3_020, ORDER_DELAY);
      await expect(s.book.connect(s.keeper).execute(s.alice, ETH, r3, id3))
        .to.emit(s.book, "OrderCancelled")
        .withArgs(s.alice, ETH, s.keeper, escrow, s.unit, s.engine.interface.encodeErrorResult("EnforcedPause", []));
      expect(await s.token.balanceOf(s.book)).to.equal(0n);
    });

    it("refuses an unknown, expired or stale execution without changing anything", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const maxAge = 7_200n; // longer than the feed's heartbeat, so the feed can go stale first
      await s.book.setParameters(ORDER_DELAY, maxAge, s.unit);
      const r = await ask(s, s.alice, ETH, OPEN, WAD, 400n * s.unit, NO_BOUND, s.unit);
      const createdAt = r.createdAt;
      const id = await round(s, 3_000, ORDER_DELAY);
      // A request the book does not hold (another amount, another account) is refused.
      await expect(s.book.connect(s.keeper).execute(s.alice, ETH, { ...r, amount: r.amount + 1n }, id))
        .to.be.revertedWithCustomError(s.book, "UnknownRequest")
        .withArgs(s.alice, ETH);
      await expect(s.book.connect(s.keeper).execute(s.bob, ETH, r, id)).to.be.revertedWithCustomError(
        s.book,
        "UnknownRequest",
      );
      // The feed then goes quiet past its heartbeat: the current price is stale, so nothing executes.
      await networkHelpers.time.increase(3_601n);
      await expect(s.book.connect(s.keeper).execute(s.alice, ETH, r, id)).to.be.revertedWithCustomError(
        s.ethOracle,
        "StalePrice",
      );
      await networkHelpers.time.increase(maxAge);
      await expect(s.book.connect(s.keeper).execute(s.alice, ETH, r, id))
        .to.be.revertedWithCustomError(s.book, "RequestExpired")
        .withArgs(s.alice, ETH, createdAt + maxAge);
      // A keeper cleans it up; escrow and fee go back to Alice, nothing to the keeper.
      await expect(s.book.connect(s.keeper).cancel(s.alice, ETH, r)).to.changeTokenBalances(
        ethers,
        s.token,
        [s.alice, s.keeper],
        [400n * s.unit + s.unit, 0n],
      );
    });

    it("executeBatch executes the ready requests, skips the rest and pays the fees in one transfer", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const ra = await ask(s, s.alice, ETH, OPEN, WAD, 400n * s.unit, NO_BOUND, s.unit);
      const rb = await ask(s, s.bob, ETH, OPEN, -WAD, 400n * s.unit, 0n, 2n * s.unit);
      const early = await round(s, 3_000, 1n);
      const id = await round(s, 3_000, ORDER_DELAY);
      const rc = await ask(s, s.carol, ETH, OPEN, WAD, 400n * s.unit, NO_BOUND, s.unit); // too recent
      const entry = (account: AddressLike, request: Req, roundId: bigint) => ({
        account,
        marketId: ETH,
        roundId,
        request,
      });
      await expect(
        s.book.connect(s.keeper).executeBatch([
          entry(s.alice, ra, id),
          entry(s.bob, rb, early),
          entry(s.carol, rc, id),
          entry(s.dave, ra, id), // not Dave's request
        ]),
      ).to.changeTokenBalance(ethers, s.token, s.keeper, s.unit);
      expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(WAD);
      expect(await s.book.isPending(s.bob, ETH, rb)).to.equal(true);
      expect(await s.book.isPending(s.carol, ETH, rc)).to.equal(true);
    });

    it("only the order book executes trades on the engine", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      await expect(s.engine.connect(s.alice).executeOpen(s.alice, ETH, WAD, 400n * s.unit, usd(1), usd(1)))
        .to.be.revertedWithCustomError(s.engine, "OnlyOrders")
        .withArgs(s.alice);
    });

    it("defence: a keeper that starves the engine call of gas gets InsufficientExecutionGas, and the request stays", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const r = await ask(s, s.alice, ETH, OPEN, WAD, 400n * s.unit, NO_BOUND, s.unit);
      const id = await round(s, 3_000, ORDER_DELAY);
      const needed = await s.book.connect(s.keeper).execute.estimateGas(s.alice, ETH, r, id);
      // Enough for the book and the oracle, not for the engine: the engine call runs out of gas. (Without the
      // check the transaction would still revert, out of gas: the 1/64 kept back cannot pay for a cancellation,
      // so starving cannot turn an execution into a cancellation; the check names the failure.)
      await expect(
        s.book.connect(s.keeper).execute(s.alice, ETH, r, id, { gasLimit: needed - 40_000n }),
      ).to.be.revertedWithCustomError(s.book, "InsufficientExecutionGas");
      expect(await s.book.isPending(s.alice, ETH, r)).to.equal(true);
      await s.book.connect(s.keeper).execute(s.alice, ETH, r, id);
      expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(WAD);
    });
  });

  describe("executors: nobody chooses when", function () {
    it("execute_reverts_when_caller_is_not_an_executor: the owner and third parties get NotExecutor; the admin grants the role", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const r = await ask(s, s.alice, ETH, OPEN, WAD, 400n * s.unit, NO_BOUND, s.unit);
      const id = await round(s, 3_000, ORDER_DELAY);
      for (const who of [s.alice, s.bob, s.admin]) {
        await expect(s.book.connect(who).execute(s.alice, ETH, r, id), "execute by a non-executor")
          .to.be.revertedWithCustomError(s.book, "NotExecutor")
          .withArgs(who);
        await expect(
          s.book.connect(who).executeBatch([{ account: s.alice, marketId: ETH, roundId: id, request: r }]),
          "executeBatch by a non-executor",
        )
          .to.be.revertedWithCustomError(s.book, "NotExecutor")
          .withArgs(who);
      }
      expect(await s.book.isExecutor(s.keeper)).to.equal(true);
      expect(await s.book.isExecutor(s.alice)).to.equal(false);
      // Only the admin (the timelock in a deployment) grants it.
      const role = await s.book.EXECUTOR_ROLE();
      expect(role).to.equal(ethers.id("EXECUTOR_ROLE"));
      await expect(s.book.connect(s.keeper).grantRole(role, s.bob)).to.be.revertedWithCustomError(
        s.book,
        "AccessControlUnauthorizedAccount",
      );
      await s.book.grantRole(role, s.bob);
      await s.book.connect(s.bob).execute(s.alice, ETH, r, id);
      expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(WAD);
    });

    it("cancel_reverts_at_exactly_expiry: a request cannot be cancelled at its expiry time, only after; then the owner gets escrow and fee back", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const escrow = 400n * s.unit;
      const r = await ask(s, s.alice, ETH, OPEN, WAD, escrow, NO_BOUND, 2n * s.unit);
      const expiresAt = r.createdAt + ORDER_MAX_AGE;
      await networkHelpers.time.setNextBlockTimestamp(expiresAt);
      await expect(s.book.connect(s.bob).cancel(s.alice, ETH, r), "cancel at expiresAt")
        .to.be.revertedWithCustomError(s.book, "RequestNotExpired")
        .withArgs(s.alice, ETH, expiresAt);
      await networkHelpers.time.setNextBlockTimestamp(expiresAt + 1n);
      const tx = s.book.connect(s.bob).cancel(s.alice, ETH, r);
      await expect(tx).to.changeTokenBalances(
        ethers,
        s.token,
        [s.alice, s.bob, s.book],
        [escrow + 2n * s.unit, 0n, -(escrow + 2n * s.unit)],
      );
      await expect(tx)
        .to.emit(s.book, "OrderCancelled")
        .withArgs(
          s.alice,
          ETH,
          s.alice,
          escrow,
          2n * s.unit,
          s.book.interface.encodeErrorResult("RequestExpired", [s.alice.address, ETH, expiresAt]),
        );
    });

    it("execute_succeeds_at_exactly_expiry_and_batch_leaves_an_expired_request_pending", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      const ra = await ask(s, s.alice, ETH, OPEN, WAD, 400n * s.unit, NO_BOUND, s.unit);
      const rb = await ask(s, s.bob, ETH, OPEN, WAD, 400n * s.unit, NO_BOUND, s.unit);
      const id = await round(s, 3_000, ORDER_DELAY);
      await networkHelpers.time.setNextBlockTimestamp(ra.createdAt + ORDER_MAX_AGE);
      await s.ethFeed.updateAnswer(feedPrice(3_000)); // the current price stays fresh
      // Alice's request expires in this block; Bob's (a second younger) is at its last second.
      await networkHelpers.time.setNextBlockTimestamp(rb.createdAt + ORDER_MAX_AGE);
      const batch = s.book.connect(s.keeper).executeBatch([
        { account: s.alice, marketId: ETH, roundId: id, request: ra },
        { account: s.bob, marketId: ETH, roundId: id, request: rb },
      ]);
      await expect(batch).to.changeTokenBalance(ethers, s.token, s.keeper, s.unit);
      expect(await s.book.isPending(s.alice, ETH, ra), "the expired request stays pending").to.equal(true);
      expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(0n);
      expect((await s.engine.getPosition(s.bob, ETH)).size, "executed at its last second").to.equal(WAD);
      await expect(s.book.connect(s.keeper).execute(s.alice, ETH, ra, id))
        .to.be.revertedWithCustomError(s.book, "RequestExpired")
        .withArgs(s.alice, ETH, ra.createdAt + ORDER_MAX_AGE);
    });

    it("a refused request's refund to a blocklisted owner waits in claimable and never reverts the batch", async function () {
      const s = await networkHelpers.loadFixture(blocklistBook);
      const escrow = 400n * s.unit;
      // Alice's long is refused at execution (its bound is below the price); Bob's is valid.
      const ra = await ask(s, s.alice, ETH, OPEN, WAD, escrow, usd(2_000), s.unit);
      const rb = await ask(s, s.bob, ETH, OPEN, WAD, escrow, NO_BOUND, s.unit);
      const id = await round(s, 3_000, ORDER_DELAY);
      await s.token.setBlocked(s.alice, true);
      await expect(
        s.book.connect(s.keeper).executeBatch([
          { account: s.alice, marketId: ETH, roundId: id, request: ra },
          { account: s.bob, marketId: ETH, roundId: id, request: rb },
        ]),
      )
        .to.emit(s.book, "RefundDeferred")
        .withArgs(s.alice, escrow);
      expect((await s.engine.getPosition(s.bob, ETH)).size, "Bob's open went through").to.equal(WAD);
      expect(await s.book.claimable(s.alice)).to.equal(escrow);
      expect(await s.token.balanceOf(s.book), "the book holds exactly what it owes").to.equal(escrow);
      // Alice claims to another address of hers; nothing is left to claim.
      await expect(s.book.connect(s.alice).claim(s.carol))
        .to.emit(s.book, "Claimed")
        .withArgs(s.alice, s.carol, escrow);
      await expect(s.book.connect(s.alice).claim(s.carol))
        .to.be.revertedWithCustomError(s.book, "NothingToClaim")
        .withArgs(s.alice);
      // An expired request's refund (escrow and fee) to a blocked owner waits too; anyone's cancel goes through.
      const rc = await ask(s, s.dave, ETH, OPEN, WAD, escrow, NO_BOUND, s.unit);
      await s.token.setBlocked(s.dave, true);
      await networkHelpers.time.increase(ORDER_MAX_AGE + 1n);
      await s.book.connect(s.bob).cancel(s.dave, ETH, rc);
      expect(await s.book.claimable(s.dave)).to.equal(escrow + s.unit);
    });

    it("on an L2 market, opens, increases and margin removals are refused while the sequencer is down or in its grace period; closes and reduces execute", async function () {
      const s = await networkHelpers.loadFixture(l2Book);
      const u = s.unit;
      const L2 = s.L2;
      const fee = u;
      // Alice holds a long (opened while the sequencer was up).
      const open = await ask(s, s.alice, L2, OPEN, 2n * WAD, 1_000n * u, NO_BOUND, fee);
      await s.book.connect(s.keeper).execute(s.alice, L2, open, await round(s, 3_000, ORDER_DELAY));

      // The sequencer goes down. Bob's open, Alice's increase and margin removal wait; her reduce executes.
      const downSince = await now();
      await s.sequencer.updateRoundData(2n, 1n, downSince, downSince);
      const bobOpen = await ask(s, s.bob, L2, OPEN, WAD, 500n * u, NO_BOUND, fee);
      const id = await round(s, 3_000, ORDER_DELAY);
      await expect(s.book.connect(s.keeper).execute(s.bob, L2, bobOpen, id))
        .to.be.revertedWithCustomError(s.l2Oracle, "SequencerDown")
        .withArgs(downSince);
      await s.book.connect(s.keeper).executeBatch([{ account: s.bob, marketId: L2, roundId: id, request: bobOpen }]);
      expect(await s.book.isPending(s.bob, L2, bobOpen), "the batch leaves it pending").to.equal(true);
      for (const [kind, size, amount] of [
        [INCREASE, WAD, 500n * u],
        [REMOVE_MARGIN, 1n, u],
      ] as const) {
        const r = await ask(s, s.alice, L2, kind, size, amount, NO_BOUND, fee);
        const rid = await round(s, 3_000, ORDER_DELAY);
        await expect(s.book.connect(s.keeper).execute(s.alice, L2, r, rid), `kind ${kind} while down`)
          .to.be.revertedWithCustomError(s.l2Oracle, "SequencerDown")
          .withArgs(downSince);
        await networkHelpers.time.increase(ORDER_MAX_AGE);
        await s.book.cancel(s.alice, L2, r);
      }
      const reduce = await ask(s, s.alice, L2, REDUCE, WAD, 0n, 0n, fee);
      await s.book.connect(s.keeper).execute(s.alice, L2, reduce, await round(s, 3_000, ORDER_DELAY));
      expect((await s.engine.getPosition(s.alice, L2)).size).to.equal(WAD);

      // Back up: during the grace period an increase still waits; a close executes.
      const upSince = (await now()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(upSince);
      await s.sequencer.updateRoundData(3n, 0n, upSince, upSince);
      const increase = await ask(s, s.alice, L2, INCREASE, WAD, 500n * u, NO_BOUND, fee);
      const graceRound = await round(s, 3_000, ORDER_DELAY);
      await expect(s.book.connect(s.keeper).execute(s.alice, L2, increase, graceRound))
        .to.be.revertedWithCustomError(s.l2Oracle, "SequencerGracePeriodNotOver")
        .withArgs(upSince, L2_GRACE);
      await networkHelpers.time.increase(ORDER_MAX_AGE);
      await s.book.cancel(s.alice, L2, increase);
      const close = await ask(s, s.alice, L2, CLOSE, 1n, 0n, 0n, fee);
      await s.book.connect(s.keeper).execute(s.alice, L2, close, await round(s, 3_000, ORDER_DELAY));
      expect((await s.engine.getPosition(s.alice, L2)).size).to.equal(0n);
    });
  });

  describe("parameters", function () {
    it("only the admin (the timelock in a deployment) sets them, within bounds", async function () {
      const s = await networkHelpers.loadFixture(bookSystem);
      await expect(s.book.connect(s.alice).setParameters(10n, 600n, 0n)).to.be.revertedWithCustomError(
        s.book,
        "AccessControlUnauthorizedAccount",
      );
      await expect(s.book.setParameters(0n, 600n, 0n))
        .to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds")
        .withArgs(ethers.encodeBytes32String("minDelay"), 0n, 1n, 3_600n);
      await expect(s.book.setParameters(30n, 89n, 0n))
        .to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds")
        .withArgs(ethers.encodeBytes32String("maxAge"), 89n, 90n, 172_800n);
      await expect(s.book.setParameters(30n, 600n, 100n * s.unit + 1n))
        .to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds")
        .withArgs(ethers.encodeBytes32String("minExecutionFee"), 100n * s.unit + 1n, 0n, 100n * s.unit);
      await expect(s.book.setParameters(12n, 600n, 0n))
        .to.emit(s.book, "ParametersUpdated")
        .withArgs(12n, 600n, 0n);
      expect([await s.book.minDelay(), await s.book.maxAge(), await s.book.minExecutionFee()]).to.deep.equal([
        12n,
        600n,
        0n,
      ]);
    });
  });
});
