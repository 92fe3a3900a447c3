import { expect } from "chai";
import { deploySystem, ETH, ethers, feedPrice, networkHelpers, WAD } from "./helpers/system.js";
import { lpDeposit } from "./helpers/lp.js";

/**
 * Loss recovery: what the backstop could not cover and the LPs absorbed is a debt that a share of later
 * protocol income (the backstop's fee share and liquidation penalties) repays to the LP pool before it
 * reaches the stakers.
 */
const name32 = (s: string) => ethers.encodeBytes32String(s);

async function crashed() {
  const s = await deploySystem({ decimals: 6, ethConfig: { maxFundingRatePerDay: 0n } });
  const u = s.unit;
  await lpDeposit(s, s.lp, 1_000_000n * u);
  await s.backstop.connect(s.staker).deposit(1_000n * u, s.staker);
  // 100 ETH at $3,000 with 30,000 margin, then -20 %: equity -30,000, keeper fee 100 (its cap), bad debt
  // 30,100; the window's limit is 30 % of the 1,000 staked, so 29,800 is socialized.
  await s.orders.connect(s.alice).openPosition(ETH, 100n * WAD, 30_000n * u);
  await s.ethFeed.updateAnswer(feedPrice(2_400));
  const tx = s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper);
  await expect(tx)
    .to.emit(s.engine, "LossSocialized")
    .withArgs(s.alice.address, ETH, 29_800n * u);
  await expect(tx)
    .to.emit(s.backstop, "LossRecorded")
    .withArgs(29_800n * u, 29_800n * u);
  return s;
}

/** Trading fees for the protocol: Bob opens and closes 100 ETH `times` times at $2,400 (5 bps each way). */
async function trade(s: Awaited<ReturnType<typeof crashed>>, times: number) {
  for (let i = 0; i < times; i++) {
    await s.orders.connect(s.bob).openPosition(ETH, 100n * WAD, 30_000n * s.unit);
    await s.orders.connect(s.bob).closePosition(ETH);
  }
}

describe("loss recovery", function () {
  it("records what a cover left socialized as owed to the LPs, to the unit", async function () {
    const s = await networkHelpers.loadFixture(crashed);
    expect(await s.backstop.recoveryOutstanding()).to.equal(29_800n * s.unit);
    expect(await s.backstop.totalRecovered()).to.equal(0n);
    expect(await s.backstop.recoveryShare()).to.equal(WAD / 2n);
  });

  it("distributeFees repays half the backstop's income to the LP pool and streams the rest to stakers", async function () {
    const s = await networkHelpers.loadFixture(crashed);
    await trade(s, 2);
    const pending = await s.lens.pendingProtocolFees();
    const penalties = await s.lens.pendingPenalties();
    const fees = pending - 1n; // one unit stays behind
    const toTreasury =
      (fees * (await s.engine.treasuryFeeShare())) /
      ((await s.engine.backstopFeeShare()) + (await s.engine.treasuryFeeShare()));
    const income = fees - toTreasury + penalties;
    const toLps = income / 2n;
    const lpBefore = await s.engine.lpBalance();

    const tx = s.engine.distributeFees();
    await expect(tx)
      .to.emit(s.backstop, "LossRecovered")
      .withArgs(toLps, 29_800n * s.unit - toLps);
    await expect(tx)
      .to.emit(s.engine, "FeesDistributed")
      .withArgs(income - toLps, toTreasury);
    await expect(tx).to.emit(s.backstop, "IncomeAdded");
    expect(await s.engine.lpBalance()).to.equal(lpBefore + toLps);
    expect(await s.backstop.recoveryOutstanding()).to.equal(29_800n * s.unit - toLps);
    expect(await s.backstop.totalRecovered()).to.equal(toLps);
  });

  it("repays no more than is outstanding; once repaid, all income goes to the stakers", async function () {
    const s = await deploySystem({ decimals: 6, ethConfig: { maxFundingRatePerDay: 0n } });
    const u = s.unit;
    await lpDeposit(s, s.lp, 1_000_000n * u);
    // An empty backstop covers nothing: a small bad debt is socialized whole (the cover pays 0).
    await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
    await s.ethFeed.updateAnswer(feedPrice(2_705)); // equity 5, keeper fee 13.525: bad debt 8.525
    await expect(s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper))
      .to.emit(s.backstop, "LossRecorded")
      .withArgs(8_525_000n, 8_525_000n);
    await s.backstop.connect(s.staker).deposit(1_000n * u, s.staker);
    await s.orders.connect(s.bob).openPosition(ETH, 100n * WAD, 30_000n * u);
    await s.orders.connect(s.bob).closePosition(ETH); // fees: 2 x 135.25, backstop share 54.10
    const lpBefore = await s.engine.lpBalance();
    await expect(s.engine.distributeFees()).to.emit(s.backstop, "LossRecovered").withArgs(8_525_000n, 0n);
    expect(await s.engine.lpBalance()).to.equal(lpBefore + 8_525_000n);
    expect(await s.backstop.recoveryOutstanding()).to.equal(0n);

    await s.orders.connect(s.bob).openPosition(ETH, 100n * WAD, 30_000n * u);
    await s.orders.connect(s.bob).closePosition(ETH);
    const lpAfterFirst = await s.engine.lpBalance();
    await expect(s.engine.distributeFees()).not.to.emit(s.backstop, "LossRecovered");
    expect(await s.engine.lpBalance()).to.equal(lpAfterFirst);
    expect(await s.backstop.totalRecovered()).to.equal(8_525_000n);
  });

  it("setRecoveryShare: only the admin, at most 80 %, with an event; at 0 the stakers keep all income", async function () {
    const s = await networkHelpers.loadFixture(crashed);
    const max = (8n * WAD) / 10n;
    await expect(s.backstop.connect(s.alice).setRecoveryShare(0n)).to.be.revertedWithCustomError(
      s.backstop,
      "AccessControlUnauthorizedAccount",
    );
    await expect(s.backstop.setRecoveryShare(max + 1n))
      .to.be.revertedWithCustomError(s.backstop, "ParameterOutOfBounds")
      .withArgs(name32("recoveryShare"), max + 1n, 0n, max);
    await expect(s.backstop.setRecoveryShare(0n)).to.emit(s.backstop, "RecoveryShareUpdated").withArgs(0n);
    await trade(s, 1);
    const lpBefore = await s.engine.lpBalance();
    await expect(s.engine.distributeFees()).not.to.emit(s.backstop, "LossRecovered");
    expect(await s.engine.lpBalance()).to.equal(lpBefore);
    expect(await s.backstop.recoveryOutstanding()).to.equal(29_800n * s.unit);
  });
});
