import { expect } from "chai";
import { BTC, ETH, ethers, feedPrice, marketConfig, networkHelpers, WAD } from "./helpers/system.js";
import { fundedNoFunding6 } from "./helpers/trading.js";
import { executeLpRequest, lpDelay, pushRounds } from "./helpers/lp.js";

const SETTLEMENT = 60_000n * WAD; // BTC's last good answer

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
    // The vault offers nothing (maxWithdraw is zero rather than a revert); with positions open a withdrawal in
    // one transaction reverts UseRequests, and a redemption request cannot execute: the BTC round after the
    // delay carries the broken answer.
    await expect(s.vault.connect(s.lp).withdraw(s.unit, s.lp, s.lp)).to.be.revertedWithCustomError(
      s.vault,
      "UseRequests",
    );
    expect(await s.vault.maxWithdraw(s.lp)).to.equal(0n);
    await s.vault.connect(s.lp).requestRedeem(10n ** 12n); // shares worth about one token (1e6 shares a unit)
    await networkHelpers.time.increase(await lpDelay(s));
    await expect(s.vault.executeRequest(s.lp, await pushRounds(s))).to.be.revertedWithCustomError(
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

  it("after settlement through the timelocked role: LPs withdraw, the BTC trader closes at the settlement price, ETH never stopped", async function () {
    const s = await networkHelpers.loadFixture(brokenBtcFeed);
    await expect(s.engine.settleMarket(BTC, SETTLEMENT)).to.emit(s.engine, "MarketSettled").withArgs(BTC, SETTLEMENT);
    expect((await s.lens.getMarket(BTC)).settlementPrice).to.equal(SETTLEMENT);
    expect(await s.engine.marketPrice(BTC)).to.equal(SETTLEMENT);

    // The vault marks BTC at the settlement price: the share price is back, LPs can leave. Positions remain
    // (Alice's BTC, Bob's ETH), so through a request: it needs a round of ETH only, none of the settled BTC.
    const assets = await s.vault.totalAssets();
    expect(assets).to.be.greaterThan(0n);
    const shares = await s.vault.previewWithdraw(1_000n * s.unit);
    const before = await s.token.balanceOf(s.lp);
    await s.vault.connect(s.lp).requestRedeem(shares);
    const { assets: paid, roundIds } = await executeLpRequest(s, s.lp);
    expect(roundIds[Number(BTC)]).to.equal(0n);
    expect(roundIds[Number(ETH)]).to.be.greaterThan(0n);
    // No funding, no borrowing, no price move: the shares of 1,000 still redeem for at least 1,000.
    expect(paid).to.be.greaterThanOrEqual(1_000n * s.unit);
    expect(paid).to.be.lessThanOrEqual(1_000n * s.unit + 1n);
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
    await s.engine.settleMarket(BTC, price);
    const index = (await s.lens.getMarket(BTC)).fundingIndex;
    await networkHelpers.time.increase(30n * 86_400n);
    expect(await s.lens.currentFundingIndex(BTC)).to.equal(index);
    expect(await s.lens.fundingRate(BTC)).to.equal(0n);
    // The feed can do anything now: nothing reads it.
    await s.btcFeed.updateAnswer(0n);
    expect(await s.lens.isLiquidatable(s.alice, BTC)).to.equal(true);
    await expect(s.engine.connect(s.keeper).liquidate(s.alice, BTC, s.keeper))
      .to.emit(s.engine, "PositionLiquidated")
      .withArgs(s.alice, BTC, s.keeper, price, WAD / 100n, 0, 50_000_000n, 11_750_000n);
    await s.engine.connect(s.bob).closeSettled(BTC);
    expect(await s.lens.openInterestNotional()).to.equal(0n);

    // Refusals, each naming the problem and changing nothing.
    await expect(s.engine.settleMarket(BTC, price)).to.be.revertedWithCustomError(s.engine, "MarketIsSettled");
    await expect(s.engine.setMarketConfig(BTC, marketConfig(6))).to.be.revertedWithCustomError(
      s.engine,
      "MarketIsSettled",
    );
    await expect(s.engine.connect(s.alice).closeSettled(ETH))
      .to.be.revertedWithCustomError(s.engine, "MarketNotSettled")
      .withArgs(ETH);
    await expect(s.engine.connect(s.alice).closeSettled(BTC)).to.be.revertedWithCustomError(s.engine, "NoPosition");
    await expect(s.engine.settleMarket(7n, price)).to.be.revertedWithCustomError(s.engine, "UnknownMarket");
  });

  it("settlement is the market admin's (the timelock's), within the oracle's bounds; zero takes the current price", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await expect(s.engine.connect(s.alice).settleMarket(BTC, SETTLEMENT)).to.be.revertedWithCustomError(
      s.engine,
      "AccessControlUnauthorizedAccount",
    );
    await expect(s.engine.settleMarket(BTC, WAD / 1_000n))
      .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
      .withArgs(ethers.encodeBytes32String("settlementPrice"), WAD / 1_000n, WAD / 100n, 10_000_000n * WAD);
    await s.btcFeed.updateAnswer(feedPrice(61_000));
    await expect(s.engine.settleMarket(BTC, 0n))
      .to.emit(s.engine, "MarketSettled")
      .withArgs(BTC, 61_000n * WAD);
  });
});
