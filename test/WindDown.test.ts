import { expect } from "chai";
import { BTC, ETH, ethers, feedPrice, marketConfig, networkHelpers, WAD } from "./helpers/system.js";
import { fundedNoFunding6, mulDivUp } from "./helpers/trading.js";
import { claimHeldExit, executeLpRequest, lpDelay, pushRounds } from "./helpers/lp.js";

const SETTLEMENT = 60_000n * WAD; // BTC's last good answer
const DAY = 86_400n;

/** A $120 BTC long and an ETH long open; then the BTC feed answers below the oracle's minimum price. */
async function brokenBtcFeed() {
  const s = await fundedNoFunding6();
  await s.orders.connect(s.alice).openPosition(BTC, (2n * WAD) / 1_000n, 20n * s.unit); // 0.002 BTC
  await s.orders.connect(s.bob).openPosition(ETH, WAD, 400n * s.unit);
  await s.btcFeed.updateAnswer(100_000n); // $0.001, below the $0.01 minimum
  return s;
}

describe("Winding down a market whose feed broke", function () {
  it("attack_brokenFeedFreeze: before settlement the broken BTC feed freezes the LPs and the BTC trader; ETH trades on", async function () {
    const s = await networkHelpers.loadFixture(brokenBtcFeed);
    await expect(s.vault.totalAssets()).to.be.revertedWithCustomError(s.btcOracle, "PriceOutOfBounds");
    // The vault offers nothing (maxWithdraw is zero rather than a revert); there is no withdrawal in one
    // transaction (nothing is held: NoLpExit), and a redemption request cannot execute: the BTC round after
    // the delay carries the broken answer.
    await expect(s.vault.connect(s.lp).withdraw(s.unit, s.lp, s.lp))
      .to.be.revertedWithCustomError(s.vault, "NoLpExit")
      .withArgs(s.lp.address);
    expect(await s.vault.maxWithdraw(s.lp)).to.equal(0n);
    await s.vault.connect(s.lp).requestRedeemWithLimit(10n ** 12n, s.lp.address, s.lp.address, 0n, 0n); // shares worth about one token (1e6 shares a unit)
    await networkHelpers.time.increase(await lpDelay(s));
    await expect(s.vault.connect(s.keeper).executeRequest(s.lp, await pushRounds(s))).to.be.revertedWithCustomError(
      s.btcOracle,
      "PriceOutOfBounds",
    );
    await expect(s.orders.connect(s.alice).closePosition(BTC)).to.be.revertedWithCustomError(
      s.btcOracle,
      "PriceOutOfBounds",
    );
    await expect(s.engine.liquidate(s.alice, BTC, s.keeper)).to.be.revertedWithCustomError(
      s.btcOracle,
      "PriceOutOfBounds",
    );
    // The ETH market does not depend on the BTC feed.
    await s.orders.connect(s.carol).openPosition(ETH, -WAD, 400n * s.unit);
    await s.orders.connect(s.bob).closePosition(ETH);
  });

  it("defence: nobody can settle a broken market at a price of their choosing; the admin's settlement needs a live feed", async function () {
    const s = await networkHelpers.loadFixture(brokenBtcFeed);
    // settleMarket takes no price: the admin's is the oracle's, and a broken oracle gives none.
    await expect(s.engine.settleMarket(BTC, 0n)).to.be.revertedWithCustomError(s.btcOracle, "PriceOutOfBounds");
    expect((await s.lens.getMarket(BTC)).settlementPrice).to.equal(0n);
  });

  it("settleMarket with a round (a wind-down): anyone, a day after the feed broke, at its last good round; not a second earlier, not at another round", async function () {
    const s = await networkHelpers.loadFixture(brokenBtcFeed);
    const bad = await s.btcFeed.latestRound();
    const good = bad - 1n;
    const brokenSince = await s.btcFeed.getTimestamp(bad);
    // The bad round and a round that does not exist are not a last good round; an earlier good round is not
    // the last one.
    await expect(s.engine.connect(s.keeper).settleMarket(BTC, bad))
      .to.be.revertedWithCustomError(s.btcOracle, "BadRound")
      .withArgs(bad, 100_000n);
    await expect(s.engine.connect(s.keeper).settleMarket(BTC, bad + 1n))
      .to.be.revertedWithCustomError(s.btcOracle, "UnknownRound")
      .withArgs(bad + 1n, bad);
    await s.btcFeed.updateAnswer(feedPrice(59_000)); // recovers for one round, breaks again
    await s.btcFeed.updateAnswer(100_000n);
    await expect(s.engine.connect(s.keeper).settleMarket(BTC, good))
      .to.be.revertedWithCustomError(s.btcOracle, "LaterGoodRound")
      .withArgs(good, bad + 1n);
    const last = bad + 1n; // 59,000
    const since = await s.btcFeed.getTimestamp(bad + 2n);
    expect(since).to.be.greaterThan(brokenSince);
    // One second before a day has passed since it broke (again): refused.
    await networkHelpers.time.setNextBlockTimestamp(since + DAY - 1n);
    await expect(s.engine.connect(s.keeper).settleMarket(BTC, last))
      .to.be.revertedWithCustomError(s.engine, "FeedNotBroken")
      .withArgs(since, since + DAY);
    await networkHelpers.time.setNextBlockTimestamp(since + DAY);
    await expect(s.engine.connect(s.keeper).settleMarket(BTC, last))
      .to.emit(s.engine, "MarketWoundDown")
      .withArgs(BTC, last, since, s.keeper.address)
      .and.to.emit(s.engine, "MarketSettled")
      .withArgs(BTC, 59_000n * WAD);
    await expect(s.engine.connect(s.keeper).settleMarket(BTC, last))
      .to.be.revertedWithCustomError(s.engine, "MarketIsSettled")
      .withArgs(BTC);
  });

  it("a wind-down of a feed that stopped answering: a day after its last round went stale", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    const round = await s.btcFeed.latestRound();
    const staleAt = (await s.btcFeed.getTimestamp(round)) + (await s.btcOracle.maxAge());
    await networkHelpers.time.setNextBlockTimestamp(staleAt + DAY - 1n);
    await expect(s.engine.settleMarket(BTC, round))
      .to.be.revertedWithCustomError(s.engine, "FeedNotBroken")
      .withArgs(staleAt, staleAt + DAY);
    await networkHelpers.time.setNextBlockTimestamp(staleAt + DAY);
    await expect(s.engine.settleMarket(BTC, round))
      .to.emit(s.engine, "MarketSettled")
      .withArgs(BTC, 60_000n * WAD);
  });

  it("after the wind-down: LPs withdraw, the BTC trader closes at the settlement price, ETH never stopped", async function () {
    const s = await networkHelpers.loadFixture(brokenBtcFeed);
    const good = (await s.btcFeed.latestRound()) - 1n;
    await networkHelpers.time.increase(DAY);
    await s.ethFeed.updateAnswer(feedPrice(3_000)); // ETH stays fresh through the day
    await expect(s.engine.connect(s.keeper).settleMarket(BTC, good))
      .to.emit(s.engine, "MarketSettled")
      .withArgs(BTC, SETTLEMENT);
    expect((await s.lens.getMarket(BTC)).settlementPrice).to.equal(SETTLEMENT);

    // The vault marks BTC at the settlement price: the share price is back, LPs can leave. Positions remain
    // (Alice's BTC, Bob's ETH), so through a request: it needs a round of ETH only, none of the settled BTC.
    const assets = await s.vault.totalAssets();
    expect(assets).to.be.greaterThan(0n);
    // The shares of 1,000, rounded up (previews revert AsyncFlow: ERC-4626's conversion with the offset).
    const shares = mulDivUp(1_000n * s.unit, (await s.vault.totalSupply()) + 10n ** 6n, assets + 1n);
    const before = await s.token.balanceOf(s.lp);
    await s.vault.connect(s.lp).requestRedeemWithLimit(shares, s.lp.address, s.lp.address, 0n, 0n);
    const { assets: paid, roundIds } = await executeLpRequest(s, s.lp);
    expect(roundIds[Number(BTC)]).to.equal(0n);
    expect(roundIds[Number(ETH)]).to.be.greaterThan(0n);
    // No funding, no borrowing, no price move: the shares of 1,000 still redeem for at least 1,000.
    expect(paid).to.be.greaterThanOrEqual(1_000n * s.unit);
    expect(paid).to.be.lessThanOrEqual(1_000n * s.unit + 1n);
    // Held for the hour (a round of ETH at its end, none of BTC), then claimed at no more than that.
    const { paid: claimed } = await claimHeldExit(s, s.lp);
    expect(claimed).to.equal(paid);
    expect(await s.token.balanceOf(s.lp)).to.equal(before + paid);

    // Alice closes at once at the settlement price: no oracle, nothing to front-run. Entry was 60,000, so her
    // PnL is zero and she gets her margin less the closing fee (120 x 5 bps = 0.06; she paid as much to open).
    const margin = (await s.engine.getPosition(s.alice, BTC)).margin;
    await expect(s.engine.connect(s.alice).closeSettled(BTC))
      .to.emit(s.engine, "PositionModified")
      .withArgs(s.alice, BTC, -(2n * WAD) / 1_000n, 0, SETTLEMENT, SETTLEMENT, 0, 0, 0, 60_000n);
    expect(await s.token.balanceOf(s.alice)).to.equal(10_000_000n * s.unit - 20n * s.unit - 2n * 60_000n + margin);

    // ETH trades on, and the BTC market takes no new risk, even once its feed recovers.
    await s.btcFeed.updateAnswer(feedPrice(60_000));
    await s.orders.connect(s.bob).closePosition(ETH);
    await s.orders.connect(s.carol).openPosition(ETH, WAD, 400n * s.unit);
    await expect(s.orders.connect(s.dave).openPosition(BTC, WAD / 1_000n, 20n * s.unit))
      .to.be.revertedWithCustomError(s.engine, "MarketIsSettled")
      .withArgs(BTC);
  });

  it("a settled market stops funding, liquidates at the settlement price and refuses every change", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.orders.connect(s.alice).openPosition(BTC, WAD / 100n, 70n * s.unit); // $600 at 10x less a bit
    await s.orders.connect(s.bob).openPosition(BTC, -WAD / 100n, 600n * s.unit);
    // Settled 8.3 % below entry: Alice's long (equity 20 against 27.50 + a 2.75 keeper fee) is liquidatable
    // at the settlement price.
    const price = 55_000n * WAD;
    await s.btcFeed.updateAnswer(feedPrice(55_000));
    await s.engine.settleMarket(BTC, 0n);
    const index = (await s.lens.getMarket(BTC)).fundingIndex;
    await networkHelpers.time.increase(30n * 86_400n);
    expect(await s.lens.currentFundingIndex(BTC)).to.equal(index);
    expect(await s.lens.fundingRate(BTC)).to.equal(0n);
    // The feed can do anything now: nothing reads it.
    await s.btcFeed.updateAnswer(0n);
    expect(await s.lens.isLiquidatable(s.alice, BTC)).to.equal(true);
    await expect(s.engine.connect(s.keeper).liquidate(s.alice, BTC, s.keeper))
      .to.emit(s.engine, "PositionLiquidated")
      .withArgs(s.alice, BTC, s.keeper, price, WAD / 100n, 0, 0, 50_000_000n, 11_750_000n);
    await s.engine.connect(s.bob).closeSettled(BTC);
    expect(await s.lens.openInterestNotional()).to.equal(0n);

    // Refusals, each naming the problem and changing nothing.
    await expect(s.engine.settleMarket(BTC, 0n)).to.be.revertedWithCustomError(s.engine, "MarketIsSettled");
    await expect(s.engine.setMarketConfig(BTC, marketConfig(6))).to.be.revertedWithCustomError(
      s.engine,
      "MarketIsSettled",
    );
    await expect(s.engine.connect(s.alice).closeSettled(ETH))
      .to.be.revertedWithCustomError(s.engine, "MarketNotSettled")
      .withArgs(ETH);
    await expect(s.engine.connect(s.alice).closeSettled(BTC)).to.be.revertedWithCustomError(s.engine, "NoPosition");
    await expect(s.engine.settleMarket(7n, 0n)).to.be.revertedWithCustomError(s.engine, "UnknownMarket");
    await expect(s.engine.settleMarket(7n, 1n)).to.be.revertedWithCustomError(s.engine, "UnknownMarket");
  });

  it("settlement is the market admin's (the timelock's), at the oracle's current price", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await expect(s.engine.connect(s.alice).settleMarket(BTC, 0n)).to.be.revertedWithCustomError(
      s.engine,
      "AccessControlUnauthorizedAccount",
    );
    // A live feed cannot be wound down by anyone.
    await expect(s.engine.settleMarket(BTC, await s.btcFeed.latestRound())).to.be.revertedWithCustomError(
      s.engine,
      "FeedNotBroken",
    );
    await s.btcFeed.updateAnswer(feedPrice(61_000));
    await expect(s.engine.settleMarket(BTC, 0n))
      .to.emit(s.engine, "MarketSettled")
      .withArgs(BTC, 61_000n * WAD);
  });
});
