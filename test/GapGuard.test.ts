import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import { sentRequest } from "./helpers/book.js";
import { BTC, ETH, ethers, feedPrice, networkHelpers, ORDER_DELAY, WAD } from "./helpers/system.js";
import { deployFunded } from "./helpers/trading.js";

/**
 * The order book's gap guard (docs/ARCHITECTURE.md, "The gap guard"): new risk executes only while every
 * guarded market's bound on its shortfall at its design gap, summed, stays within what the backstop can
 * still cover in its window. The bound of a market is its larger side's notional × (gap × (1 + keeper fee
 * ratio) − maintenance ratio), each product rounded up.
 */

const OPEN = 0;
const INCREASE = 1;
const CLOSE = 3;
const NO_BOUND = 2n ** 128n - 1n;
/** The default design gap on the testnets: a 35 % move. */
const GAP = (35n * WAD) / 100n;
const MAINTENANCE = WAD / 20n;
const KEEPER_FEE_RATIO = (5n * WAD) / 1_000n;
const divUp = (x: bigint, d: bigint) => (x + d - 1n) / d;
/** The share of a side's notional a gap of `gap` may leave unpaid: 30.175 % at 35 %. */
const shareOf = (gap: bigint) => {
  const share = divUp(gap * (WAD + KEEPER_FEE_RATIO), WAD);
  return share > MAINTENANCE ? share - MAINTENANCE : 0n;
};

const system = async () => {
  const s = await deployFunded({
    decimals: 6,
    orders: "book",
    ethConfig: { maxFundingRatePerDay: 0n },
    btcConfig: { maxFundingRatePerDay: 0n },
  });
  await s.backstop.connect(s.staker).deposit(1_000n * s.unit, s.staker);
  await round(s, 2_000, 1n);
  return s;
};
type S = Awaited<ReturnType<typeof system>>;
type Signer = S["alice"];

const now = async () => BigInt(await networkHelpers.time.latest());
/** A new round of the ETH feed (or BTC's) at `dollars`, `seconds` from now; returns its round id. */
async function round(s: S, dollars: number, seconds = ORDER_DELAY, feed = s.ethFeed): Promise<bigint> {
  await networkHelpers.time.setNextBlockTimestamp((await now()) + seconds);
  await feed.updateAnswer(feedPrice(dollars));
  return (await feed.latestRoundData())[0];
}
/** The bound the book computes for a side of `size` at `price` (18 decimals), in 6-decimal collateral. */
const exposureOf = (size: bigint, price: bigint, gap = GAP) =>
  divUp(divUp(size * price, 10n ** 30n) * shareOf(gap), WAD);

/** Sends a request that accepts any price: a buy (a long that grows, a short that shrinks) up to no bound. */
async function ask(s: S, who: Signer, marketId: bigint, kind: number, size: bigint, amount: bigint) {
  const buy = (kind === OPEN || kind === INCREASE) === size > 0;
  return sentRequest(s.book, s.book.connect(who).request(marketId, kind, size, amount, buy ? NO_BOUND : 1n, s.unit));
}
/** Executes `who`'s request at the next round of its market's feed. */
async function execute(s: S, who: Signer, marketId: bigint, sent: Awaited<ReturnType<typeof ask>>, dollars = 2_000) {
  const roundId = await round(s, dollars, ORDER_DELAY, marketId === ETH ? s.ethFeed : s.btcFeed);
  return s.book.connect(s.keeper).execute(who, marketId, sent.request, roundId);
}
async function reason(tx: Promise<ContractTransactionResponse>, s: S) {
  const receipt = await (await tx).wait();
  for (const log of receipt!.logs) {
    const parsed = s.book.interface.parseLog(log);
    if (parsed?.name === "OrderCancelled") return s.book.interface.parseError(parsed.args.reason);
  }
  return undefined;
}

describe("Gap guard (OrderBook.designGap)", function () {
  it("executes new risk exactly at the backstop's window capacity and cancels one wei past it", async function () {
    const s = await networkHelpers.loadFixture(system);
    await expect(s.book.setDesignGap(ETH, GAP)).to.emit(s.book, "DesignGapSet").withArgs(ETH, GAP);
    const capacity = await s.backstop.maxCover();
    expect(capacity).to.equal(300n * s.unit); // 30 % of the 1,000 staked

    // The largest long at $2,000 whose bound is the whole capacity: $994.200497 of notional (x 30.175 %).
    const notional = (capacity * WAD) / shareOf(GAP);
    const size = notional * 500_000_000n; // size x $2,000 / 1e30 = notional
    expect(size).to.equal(497_100_248_500_000_000n);
    expect(exposureOf(size, 2_000n * WAD)).to.equal(capacity);
    expect(exposureOf(size + 1n, 2_000n * WAD)).to.equal(capacity + 1n);
    const open = await ask(s, s.alice, ETH, OPEN, size, 110n * s.unit);
    await expect(execute(s, s.alice, ETH, open))
      .to.emit(s.book, "OrderExecuted")
      .and.to.emit(s.book, "GapExposureUpdated")
      .withArgs(ETH, capacity, capacity);
    expect(await s.book.gapExposure(ETH)).to.equal(capacity);
    expect(await s.book.totalGapExposure()).to.equal(capacity);

    // A short of half the size leaves the larger side, and the bound, where they were.
    const short = await ask(s, s.bob, ETH, OPEN, -size / 2n, 60n * s.unit);
    const tx = execute(s, s.bob, ETH, short);
    await expect(tx).to.emit(s.book, "OrderExecuted").and.not.to.emit(s.book, "GapExposureUpdated");

    // One more wei of long: the bound rounds up past the capacity, and the request is cancelled for its fee.
    const more = await ask(s, s.alice, ETH, INCREASE, 1n, 10n * s.unit);
    const before = await s.token.balanceOf(s.alice);
    const refused = await reason(execute(s, s.alice, ETH, more), s);
    expect(refused?.name).to.equal("GapCoverExceeded");
    expect(refused?.args).to.deep.equal([capacity + 1n, capacity]);
    expect((await s.token.balanceOf(s.alice)) - before).to.equal(10n * s.unit);
    expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(size);
    expect(await s.book.totalGapExposure()).to.equal(capacity);

    // Past the capacity (the price rose and anyone refreshed), risk that does not raise the bound still executes.
    await round(s, 2_100, 1n);
    await s.book.refreshGapExposure(ETH);
    expect(await s.book.totalGapExposure()).to.equal(exposureOf(size, 2_100n * WAD));
    const smaller = await ask(s, s.bob, ETH, INCREASE, -size / 4n, 80n * s.unit);
    await expect(execute(s, s.bob, ETH, smaller, 2_100)).to.emit(s.book, "OrderExecuted");
    expect((await s.engine.getPosition(s.bob, ETH)).size).to.equal(-size / 2n - size / 4n);
  });

  it("values the bound at the higher of the round's and the latest price, and with the market's maintenance ratio", async function () {
    const s = await networkHelpers.loadFixture(system);
    await s.book.setDesignGap(ETH, GAP);
    const open = await ask(s, s.alice, ETH, OPEN, WAD / 4n, 60n * s.unit);
    const roundId = await round(s, 2_000);
    await round(s, 2_100, 1n); // a later round, higher: the bound takes it (the trade is priced at 2,000)
    await s.book.connect(s.keeper).execute(s.alice, ETH, open.request, roundId);
    expect(await s.book.gapExposure(ETH)).to.equal(exposureOf(WAD / 4n, 2_100n * WAD));
    expect(await s.book.gapExposure(ETH)).to.equal(158_418_750n); // $525 x 30.175 %

    // A design gap whose share is at most the maintenance ratio bounds nothing: a move that small leaves no
    // bad debt. The largest such gap is 5 % / 1.005; one unit more leaves $525 x 1e-18, rounded up.
    const smallest = (MAINTENANCE * WAD) / (WAD + KEEPER_FEE_RATIO);
    expect(shareOf(smallest)).to.equal(0n);
    await expect(s.book.setDesignGap(ETH, smallest)).to.emit(s.book, "GapExposureUpdated").withArgs(ETH, 0n, 0n);
    await s.book.setDesignGap(ETH, smallest + 1n);
    expect(await s.book.gapExposure(ETH)).to.equal(1n);
  });

  it("sums every guarded market against one capacity, and a refresh lowers a bound that closes left behind", async function () {
    const s = await networkHelpers.loadFixture(system);
    await s.book.setDesignGap(ETH, GAP);
    await s.book.setDesignGap(BTC, GAP);
    await round(s, 40_000, 1n, s.btcFeed);
    // ETH takes about 2/3 of the capacity ($666.67 of notional), so 0.01 BTC ($400) does not fit.
    const eth = await ask(s, s.alice, ETH, OPEN, WAD / 3n, 80n * s.unit);
    await execute(s, s.alice, ETH, eth);
    const ethExposure = exposureOf(WAD / 3n, 2_000n * WAD);
    expect(ethExposure).to.equal(201_166_667n); // $666.666667 x 30.175 %, rounded up
    const btc = await ask(s, s.bob, BTC, OPEN, WAD / 100n, 50n * s.unit);
    const refused = await reason(execute(s, s.bob, BTC, btc, 40_000), s);
    expect(refused?.args).to.deep.equal([ethExposure + 120_700_000n, 300n * s.unit]);
    // 0.008 BTC ($320, bound 96.56) fits.
    const smaller = await ask(s, s.bob, BTC, OPEN, (8n * WAD) / 1_000n, 50n * s.unit);
    await expect(execute(s, s.bob, BTC, smaller, 40_000)).to.emit(s.book, "OrderExecuted");
    expect(await s.book.totalGapExposure()).to.equal(ethExposure + 96_560_000n);

    // A close through the book recomputes its market's bound at once.
    const close = await ask(s, s.alice, ETH, CLOSE, 1n, 0n);
    await expect(execute(s, s.alice, ETH, close))
      .to.emit(s.book, "GapExposureUpdated")
      .withArgs(ETH, 0n, 96_560_000n);

    // Turning a market's guard off takes its bound out of the sum.
    await expect(s.book.setDesignGap(BTC, 0n)).to.emit(s.book, "GapExposureUpdated").withArgs(BTC, 0n, 0n);
    await expect(s.book.refreshGapExposure(BTC)).to.be.revertedWithCustomError(s.book, "NotGuarded").withArgs(BTC);
  });

  it("a liquidation leaves the bound high until anyone refreshes it, at the market's current price", async function () {
    const s = await networkHelpers.loadFixture(system);
    await s.book.setDesignGap(ETH, GAP);
    const open = await ask(s, s.alice, ETH, OPEN, (4n * WAD) / 10n, 85n * s.unit);
    await execute(s, s.alice, ETH, open);
    await round(s, 1_850, 1n); // -7.5 %: Alice's 10x long is liquidatable
    await s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper);
    expect(await s.book.gapExposure(ETH)).to.equal(241_400_000n); // $800 x 30.175 %: stale, on the safe side
    await expect(s.book.connect(s.dave).refreshGapExposure(ETH))
      .to.emit(s.book, "GapExposureUpdated")
      .withArgs(ETH, 0n, 0n);
  });

  it("a short at its liquidation threshold that gaps up by the design gap leaves its bound unpaid, not more (the keeper fee grows with the gap)", async function () {
    const s = await networkHelpers.loadFixture(system);
    const open = await ask(s, s.alice, ETH, OPEN, -WAD, 210n * s.unit);
    await execute(s, s.alice, ETH, open);
    // The last feed price (8 decimals) at which the short is not yet liquidatable.
    const threshold = (await s.lens.positionHealth(s.alice, ETH)).liquidationPrice;
    let answer = threshold / 10n ** 10n;
    await s.ethFeed.updateAnswer(answer);
    while (await s.lens.isLiquidatable(s.alice, ETH)) await s.ethFeed.updateAnswer(--answer);
    const price = answer * 10n ** 10n;
    const bound = exposureOf(WAD, price);
    const withoutFeeTerm = divUp(divUp(WAD * price, 10n ** 30n) * (GAP - MAINTENANCE), WAD);

    await s.ethFeed.updateAnswer((answer * 135n) / 100n); // +35 % before any liquidation
    const receipt = await (await s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper)).wait();
    const event = receipt!.logs.map((l) => s.engine.interface.parseLog(l)).find((e) => e?.name === "BadDebtCovered");
    const badDebt = event!.args.badDebt as bigint;
    const f = (x: bigint) => ethers.formatUnits(x, 6);
    console.log(
      `short gapped +35 %: bad debt ${f(badDebt)}, bound ${f(bound)}, without its fee term ${f(withoutFeeTerm)}`,
    );
    expect(badDebt).to.be.at.most(bound);
    // Without its keeper-fee term the bound (notional x (gap - maintenance)) would be short of this bad debt.
    expect(badDebt).to.be.greaterThan(withoutFeeTerm);
  });

  it("only the admin sets a design gap, within 0..100 %, for a market that exists", async function () {
    const s = await networkHelpers.loadFixture(system);
    await expect(s.book.connect(s.alice).setDesignGap(ETH, GAP)).to.be.revertedWithCustomError(
      s.book,
      "AccessControlUnauthorizedAccount",
    );
    await expect(s.book.setDesignGap(ETH, WAD + 1n))
      .to.be.revertedWithCustomError(s.book, "ParameterOutOfBounds")
      .withArgs(ethers.encodeBytes32String("designGap"), WAD + 1n, 0n, WAD);
    await expect(s.book.setDesignGap(7n, GAP)).to.be.revertedWithCustomError(s.engine, "UnknownMarket").withArgs(7n);
    await s.book.setDesignGap(ETH, WAD);
    expect(await s.book.designGap(ETH)).to.equal(WAD);
    expect(await s.book.designGap(BTC)).to.equal(0n);
  });

  it("an unguarded market takes new risk past any capacity", async function () {
    const s = await networkHelpers.loadFixture(system);
    const open = await ask(s, s.alice, ETH, OPEN, 5n * WAD, 1_100n * s.unit);
    await expect(execute(s, s.alice, ETH, open)).to.emit(s.book, "OrderExecuted");
    expect(await s.book.totalGapExposure()).to.equal(0n);
  });

  it("attack_openAfterAnotherMarketRose: with no keeper refreshing, an open is checked against every market's bound at its price now", async function () {
    // Before (dd09313, the guard without `_refreshOtherBounds`): ETH's bound stayed at its last execution's price,
    // so the BTC open below executed and left the bounds at today's prices 10.80 above the 300.00 of cover.
    const s = await networkHelpers.loadFixture(system);
    await s.book.setDesignGap(ETH, GAP);
    await s.book.setDesignGap(BTC, GAP);
    const eth = await ask(s, s.alice, ETH, OPEN, (4n * WAD) / 10n, 85n * s.unit);
    await execute(s, s.alice, ETH, eth);
    expect(await s.book.gapExposure(ETH)).to.equal(241_400_000n); // $800 x 30.175 %
    // ETH rises 10 %; the keepers are absent, so nobody refreshes its bound. The attacker opens $150 of BTC:
    // 45.2625 fits beside ETH's stored 241.40, not beside its 265.54 at $2,200.
    await round(s, 2_200, 1n);
    await round(s, 40_000, 1n, s.btcFeed);
    const btc = await ask(s, s.bob, BTC, OPEN, (375n * WAD) / 100_000n, 20n * s.unit);
    const refused = await reason(execute(s, s.bob, BTC, btc, 40_000), s);
    const now = exposureOf((4n * WAD) / 10n, 2_200n * WAD) + exposureOf((375n * WAD) / 100_000n, 40_000n * WAD);
    console.log(
      `attack_openAfterAnotherMarketRose: ${refused?.name ?? "executed"}, bounds at prices now ${ethers.formatUnits(now, 6)} of 300.00`,
    );
    expect(refused?.name).to.equal("GapCoverExceeded");
    expect(refused?.args).to.deep.equal([310_802_500n, 300n * s.unit]);
    expect(await s.book.gapExposure(ETH), "ETH's bound brought to its price now").to.equal(265_540_000n);
    expect((await s.engine.getPosition(s.bob, BTC)).size).to.equal(0n);
  });

  it("attack_bookPastBackstop: a book built past the backstop's window capacity, then a -35 % gap, socializes nothing", async function () {
    // Before the guard (84d4171, the same test without `setDesignGap`): four 10x longs of $10,000 executed,
    // and the gap socialized 7,080.00 to the LPs past the backstop's cover of 3,030.00.
    const s = await networkHelpers.loadFixture(system);
    await s.backstop.connect(s.staker).deposit(9_100n * s.unit, s.staker); // 10,100 staked: 3,030 a window
    await s.book.setDesignGap(ETH, GAP);
    const traders = [s.alice, s.bob, s.carol, s.dave];
    const sent: Awaited<ReturnType<typeof ask>>[] = [];
    for (const t of traders) sent.push(await ask(s, t, ETH, OPEN, 5n * WAD, 1_010n * s.unit));
    const roundId = await round(s, 2_000);
    const executions = traders.map((t, i) => ({
      account: t.address,
      roundId,
      marketId: ETH,
      request: sent[i].request,
    }));
    await s.book.connect(s.keeper).executeBatch(executions);
    const open = [];
    for (const t of traders) if ((await s.engine.getPosition(t, ETH)).size !== 0n) open.push(t);

    await round(s, 1_300, 1n); // -35 % before any liquidation
    const receipt = await (
      await s.engine.connect(s.keeper).liquidateBatch(
        traders,
        traders.map(() => ETH),
        s.keeper,
      )
    ).wait();
    let socialized = 0n;
    let covered = 0n;
    for (const log of receipt!.logs) {
      const parsed = s.engine.interface.parseLog(log);
      if (parsed?.name === "LossSocialized") socialized += parsed.args.amount as bigint;
      if (parsed?.name === "BadDebtCovered") covered += parsed.args.covered as bigint;
    }
    console.log(
      `attack_bookPastBackstop: ${open.length} of 4 executed, covered ${ethers.formatUnits(covered, 6)}, ` +
        `socialized ${ethers.formatUnits(socialized, 6)}`,
    );
    expect(open.length).to.equal(1);
    expect(covered).to.be.greaterThan(0n);
    expect(socialized).to.equal(0n);
  });
});
