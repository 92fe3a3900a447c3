import { expect } from "chai";
import type { BaseContract } from "ethers";
import { deploySystem, ETH, ethers, feedPrice, marketConfig, networkHelpers, WAD } from "./helpers/system.js";
import { lpDeposit, lpRedeem } from "./helpers/lp.js";

/**
 * Every admin lever sits behind a TimelockController (two days here, as on the testnets): after a change is
 * scheduled, the trader, LP or staker it affects can act before it takes effect, and it then applies as
 * stated. The bounds no admin can cross are tested alongside: the keeper-fee floor that drained healthy
 * positions is refused outright.
 */
const DELAY = 2n * 86_400n;
const name32 = (s: string) => ethers.encodeBytes32String(s);

async function governed() {
  const s = await deploySystem({ decimals: 6, ethConfig: { maxFundingRatePerDay: 0n } });
  const timelock = await ethers.deployContract("TimelockController", [DELAY, [s.admin], [s.admin], ethers.ZeroAddress]);
  const [engineAdmin, marketAdmin] = [ethers.ZeroHash, await s.engine.MARKET_ADMIN_ROLE()];
  for (const role of [marketAdmin, engineAdmin]) await s.engine.grantRole(role, timelock);
  await s.backstop.grantRole(engineAdmin, timelock);
  await s.engine.renounceRole(marketAdmin, s.admin);
  await s.engine.renounceRole(engineAdmin, s.admin);
  await s.backstop.renounceRole(engineAdmin, s.admin);

  await lpDeposit(s, s.lp, 1_000_000n * s.unit);
  await s.backstop.connect(s.staker).deposit(100_000n * s.unit, s.staker);
  let salt = 0n;
  /** Schedules `target.fn(args)` through the timelock; returns a function that executes it. */
  async function schedule(target: BaseContract, fn: string, args: unknown[]) {
    const data = target.interface.encodeFunctionData(fn, args);
    const id = ethers.zeroPadValue(ethers.toBeHex(++salt), 32);
    await timelock.schedule(target, 0n, data, ethers.ZeroHash, id, DELAY);
    return () => timelock.execute(target, 0n, data, ethers.ZeroHash, id);
  }
  /** Moves time on by `seconds` and posts a fresh round at the same price (the feeds' heartbeat is an hour). */
  async function wait(seconds: bigint) {
    await networkHelpers.time.increase(seconds);
    for (const feed of [s.ethFeed, s.btcFeed]) await feed.updateAnswer((await feed.latestRoundData()).answer);
  }
  return { ...s, timelock, schedule, wait };
}

describe("levers behind the timelock", function () {
  it("attack_keeperFloorDrain: a keeper-fee floor above what a minimum position's margin covers is refused", async function () {
    // Before: a market admin set minKeeperFee to 1,000 tokens at once and batch-liquidated ten of its own
    // $120 positions and two healthy ones of others: 12,000 in keeper fees, 10,980 paid by the backstop.
    const s = await networkHelpers.loadFixture(governed);
    const u = s.unit;
    const c = marketConfig(6, { maxFundingRatePerDay: 0n, minKeeperFee: 1_000n * u, maxKeeperFee: 1_000n * u });
    // Room at the $100 minimum: 100 x (10 % - 5 %) = 5 tokens, less one unit of rounding.
    const maxFloor = 5n * u - 1n;
    await expect(s.engine.setMarketConfig(ETH, c))
      .to.be.revertedWithCustomError(s.engine, "AccessControlUnauthorizedAccount")
      .withArgs(s.admin.address, await s.engine.MARKET_ADMIN_ROLE());
    const execute = await s.schedule(s.engine, "setMarketConfig", [ETH, c]);
    await s.wait(DELAY);
    await expect(execute())
      .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
      .withArgs(name32("minKeeperFee"), 1_000n * u, 1n, maxFloor);

    // The highest floor allowed leaves every position that met its initial margin healthy.
    const highest = marketConfig(6, { maxFundingRatePerDay: 0n, minKeeperFee: maxFloor, maxKeeperFee: 100n * u });
    const executeHighest = await s.schedule(s.engine, "setMarketConfig", [ETH, highest]);
    await s.wait(DELAY);
    await executeHighest();
    expect((await s.lens.getMarket(ETH)).config.minKeeperFee).to.equal(maxFloor);
    // $120 at exactly 10x: initial margin 12; liquidation margin 6 + 4.999999.
    const size = WAD / 25n; // 0.04 ETH at $3,000
    const traders = [s.alice, s.bob, s.carol, s.dave];
    for (const t of traders) await s.orders.connect(t).openPosition(ETH, size, 12n * u);
    const accounts = traders.map((t) => t.address);
    const [liquidated, fees] = await s.engine.connect(s.keeper).liquidateBatch.staticCall(
      accounts,
      accounts.map(() => ETH),
      s.keeper,
    );
    expect([liquidated, fees]).to.deep.equal([0n, 0n]);
    for (const t of traders) expect((await s.lens.previewLiquidation(t, ETH)).liquidatable).to.equal(false);
  });

  it("lever_maxProfitFactor: a higher profit factor is refused while the market has positions, even after the delay; it passes once they are gone", async function () {
    const s = await networkHelpers.loadFixture(governed);
    const u = s.unit;
    // Before, the raise took effect over open positions: a long of $3M notional with 300k margin went from
    // reserving 2.7M to 3.6M of a 4M pool, and LPs who had not left in the delay were held in by it.
    await lpDeposit(s, s.bob, 3_000_000n * u);
    await s.orders.connect(s.alice).openPosition(ETH, 1_000n * WAD, 300_000n * u);
    const reservedBefore = await s.engine.totalReserved();
    const raised = marketConfig(6, { maxFundingRatePerDay: 0n, maxProfitFactor: 12n * WAD });
    const execute = await s.schedule(s.engine, "setMarketConfig", [ETH, raised]);
    await s.wait(DELAY);
    await expect(execute())
      .to.be.revertedWithCustomError(s.engine, "TermRaised")
      .withArgs(name32("maxProfitFactor"), 9n * WAD, 12n * WAD);
    expect(await s.engine.totalReserved()).to.equal(reservedBefore);

    // With the market empty, the same change passes.
    await s.orders.connect(s.alice).closePosition(ETH);
    const again = await s.schedule(s.engine, "setMarketConfig", [ETH, raised]);
    await s.wait(DELAY);
    await expect(again()).to.emit(s.engine, "MarketConfigUpdated");
    expect((await s.lens.getMarket(ETH)).config.maxProfitFactor).to.equal(12n * WAD);
  });

  it("lever_maintenanceMargin: a trader closes before a higher maintenance ratio makes the position liquidatable", async function () {
    const s = await networkHelpers.loadFixture(governed);
    const u = s.unit;
    // 1 ETH at $3,000 with 300 margin, then -3 %: equity 210 against 145.50 + 14.55 now, 218.25 + 14.55
    // at 7.5 % (8 % would leave no room for the 2-token keeper-fee floor at the $100 minimum: refused).
    await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
    await s.orders.connect(s.bob).openPosition(ETH, WAD, 300n * u);
    await s.ethFeed.updateAnswer(feedPrice(2_910));
    const raised = marketConfig(6, { maxFundingRatePerDay: 0n, maintenanceMarginRatio: (75n * WAD) / 1_000n });
    const execute = await s.schedule(s.engine, "setMarketConfig", [ETH, raised]);
    expect((await s.lens.previewLiquidation(s.alice, ETH)).liquidatable).to.equal(false);

    await s.wait(DELAY / 2n);
    await s.orders.connect(s.alice).closePosition(ETH);
    await s.wait(DELAY / 2n);
    await execute();
    // The change applies as stated: the trader who stayed is now liquidatable, the one who left is gone.
    expect((await s.lens.previewLiquidation(s.bob, ETH)).liquidatable).to.equal(true);
    expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(0n);
  });

  it("lever_cooldownPeriod: a staker in their window unstakes before a longer cooldown takes effect", async function () {
    const s = await networkHelpers.loadFixture(governed);
    const shares = await s.backstop.balanceOf(s.staker);
    await s.backstop.connect(s.staker).requestRedeem(shares, s.staker, s.staker);
    await s.wait(7n * 86_400n);
    const execute = await s.schedule(s.backstop, "setParameters", [
      30n * 86_400n,
      2n * 86_400n,
      (WAD / 10n) * 3n,
      0n,
      7n * 86_400n,
    ]);
    expect((await s.backstop.cooldownStatus(s.staker)).inWindow).to.equal(true);
    const assets = await s.backstop.maxWithdraw(s.staker);
    await expect(s.backstop.connect(s.staker).redeem(shares, s.staker, s.staker)).to.changeTokenBalance(
      ethers,
      s.token,
      s.staker,
      assets,
    );
    await s.wait(DELAY);
    await execute();
    expect(await s.backstop.cooldownPeriod()).to.equal(30n * 86_400n);
  });

  it("lever_cooldownPeriod: a cooldown started before the change keeps its window after the change executes", async function () {
    const s = await networkHelpers.loadFixture(governed);
    await s.backstop.connect(s.carol).deposit(1_000n * s.unit, s.carol);
    const shares = await s.backstop.balanceOf(s.carol);
    await s.backstop.connect(s.carol).requestRedeem(shares, s.carol, s.carol);
    const start = (await s.backstop.cooldownStatus(s.carol)).start;
    const args = [30n * 86_400n, 2n * 86_400n, (WAD / 10n) * 3n, 0n, 7n * 86_400n];
    const execute = await s.schedule(s.backstop, "setParameters", args);
    await s.wait(DELAY);
    await execute();
    const status = await s.backstop.cooldownStatus(s.carol);
    expect([status.windowStart, status.windowEnd]).to.deep.equal([start + 7n * 86_400n, start + 9n * 86_400n]);
    await s.wait(start + 7n * 86_400n - BigInt(await networkHelpers.time.latest()));
    const assets = await s.backstop.maxWithdraw(s.carol);
    expect(assets).to.be.greaterThan(0n);
    await expect(s.backstop.connect(s.carol).redeem(shares, s.carol, s.carol)).to.changeTokenBalance(
      ethers,
      s.token,
      s.carol,
      assets,
    );
  });

  it("the guardian's pause is immediate and stops only new risk; the guardian holds no other lever", async function () {
    const s = await networkHelpers.loadFixture(governed);
    const u = s.unit;
    await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
    await s.engine.pause(); // the deployer kept GUARDIAN_ROLE in this fixture
    await expect(s.orders.connect(s.bob).openPosition(ETH, WAD, 300n * u)).to.be.revertedWithCustomError(
      s.engine,
      "EnforcedPause",
    );
    await s.engine.connect(s.alice).addMargin(ETH, 10n * u);
    await s.orders.connect(s.alice).closePosition(ETH);
    // LPs still leave: a redemption's request, execution and claim (the pause stops only deposits).
    expect(await lpRedeem(s, s.lp, await s.vault.convertToShares(1_000n * u))).to.be.greaterThan(0n);
    for (const call of [
      s.engine.setFeeShares(0n, 0n),
      s.engine.setMarketConfig(ETH, marketConfig(6)),
      s.backstop.setParameters(86_400n, 3_600n, 0n, 0n, 3_600n),
    ]) {
      await expect(call).to.be.revertedWithCustomError(s.engine, "AccessControlUnauthorizedAccount");
    }
  });
});
