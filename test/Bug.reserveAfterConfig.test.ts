import { expect } from "chai";
import { ETH, feedPrice, marketConfig, networkHelpers, WAD } from "./helpers/system.js";
import { deployNoFunding6, mulDivUp, pnl, splitFee, tradingFee, usd } from "./helpers/trading.js";

/**
 * Contract finding (reported to the lead): setMarketConfig re-reserves open positions at a new, higher
 * maxProfitFactor without checking that the LP pool can cover it (no _checkReserve). totalReserved can then
 * exceed lpBalance, the design's promise "the vault can always pay what it owes" breaks, and a trader whose
 * profit exceeds the pool cannot close: closePosition reverts with InsufficientLiquidity. These tests pass
 * on the current code and describe the defect.
 */
describe("BUG: raising maxProfitFactor leaves reserves uncovered and locks a profitable trader in", function () {
  it("setMarketConfig lets totalReserved exceed lpBalance", async function () {
    const s = await networkHelpers.loadFixture(deployNoFunding6);
    const u = s.unit;
    const reserve = mulDivUp(300n * u, 9n * WAD, WAD);
    const lpFee = splitFee(tradingFee(WAD, usd(3_000), (5n * WAD) / 10_000n, 6)).lp;
    await s.vault.connect(s.lp).deposit(reserve - lpFee, s.lp);
    await s.engine.connect(s.alice).openPosition(ETH, WAD, 300n * u);
    expect(await s.engine.lpBalance()).to.equal(reserve);

    await s.engine.setMarketConfig(ETH, marketConfig(6, { maxFundingRatePerDay: 0n, maxProfitFactor: 18n * WAD }));
    expect(await s.engine.totalReserved()).to.equal(5_400n * u);
    expect(await s.engine.lpBalance()).to.equal(2_700n * u); // reserve no longer covered
  });

  it("the trader's capped profit then exceeds the pool and closePosition reverts with InsufficientLiquidity", async function () {
    const s = await networkHelpers.loadFixture(deployNoFunding6);
    const u = s.unit;
    const lpFee = splitFee(tradingFee(WAD, usd(3_000), (5n * WAD) / 10_000n, 6)).lp;
    await s.vault.connect(s.lp).deposit(2_700n * u - lpFee, s.lp);
    await s.engine.connect(s.alice).openPosition(ETH, WAD, 300n * u);
    await s.engine.setMarketConfig(ETH, marketConfig(6, { maxFundingRatePerDay: 0n, maxProfitFactor: 18n * WAD }));
    await s.ethFeed.updateAnswer(feedPrice(9_000));
    const profit = pnl(WAD, usd(3_000), usd(9_000), 5_400n * u, 6);
    expect(profit).to.equal(5_400n * u);
    // _settleVault(funding - pnl) overdraws the pool before the fee is booked.
    await expect(s.engine.connect(s.alice).closePosition(ETH))
      .to.be.revertedWithCustomError(s.engine, "InsufficientLiquidity")
      .withArgs(profit, 2_700n * u);
    expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(WAD);
  });
});
