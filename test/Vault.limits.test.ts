import { expect } from "chai";
import { ETH, feedPrice, networkHelpers, WAD } from "./helpers/system.js";
import { fundedNoFunding6 } from "./helpers/trading.js";
import { executeLpRequest, lpDeposit, pushRounds } from "./helpers/lp.js";

/**
 * Issue "LP capital", limits that tell the truth. ERC-7540: `maxDeposit`/`maxMint` are what an executed deposit
 * left claimable, `maxWithdraw`/`maxRedeem` what a held redemption offers once its hold is over; none reverts.
 */
describe("LiquidityVault limits", function () {
  it("maxDeposit, maxMint, maxWithdraw and maxRedeem do not revert while a market with positions has a stale price: the claimable deposit is offered, maxWithdraw and maxRedeem are zero until the pool can be marked", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.orders.connect(s.alice).openPosition(ETH, WAD, 400n * s.unit);
    // The LP's redemption executed and held; then a deposit executed and left claimable.
    const redeemed = 1_000n * s.unit * 10n ** 6n;
    await s.vault.connect(s.lp).requestRedeem(redeemed, s.lp, s.lp);
    const { assets: held } = await executeLpRequest(s, s.lp);
    await s.vault.connect(s.lp).requestDeposit(s.unit, s.lp, s.lp);
    const { shares } = await executeLpRequest(s, s.lp);
    const { claimableAt } = await s.vault.lpExit(s.lp);
    await networkHelpers.time.increaseTo(claimableAt + 3_601n); // past the hold and the ETH feed's heartbeat
    await expect(s.vault.totalAssets()).to.be.revertedWithCustomError(s.ethOracle, "StalePrice");
    expect(await s.vault.maxDeposit(s.lp)).to.equal(s.unit);
    expect(await s.vault.maxMint(s.lp)).to.equal(shares);
    expect(await s.vault.maxWithdraw(s.lp), "the pool cannot be marked").to.equal(0n);
    // The exit's claim values its shares, so it waits for the mark: maxRedeem offers nothing meanwhile.
    expect(await s.vault.maxRedeem(s.lp), "the pool cannot be marked").to.equal(0n);
    await expect(s.vault.connect(s.lp).redeem(redeemed, s.lp, s.lp)).to.be.revertedWithCustomError(
      s.ethOracle,
      "StalePrice",
    );
    // The deposit's claim needs no mark.
    await s.vault.connect(s.lp)["mint(uint256,address)"](shares, s.lp);
    expect(await s.vault.maxDeposit(s.lp)).to.equal(0n);
    expect(await s.vault.maxMint(s.lp)).to.equal(0n);
    // A fresh round: the pool can be marked again, and maxWithdraw offers the held assets (nothing moved).
    await pushRounds(s);
    expect(await s.vault.totalAssets()).to.be.greaterThan(0n);
    expect(await s.vault.maxRedeem(s.lp)).to.equal(redeemed);
    expect(await s.vault.maxWithdraw(s.lp)).to.equal(held);
    await s.vault.connect(s.lp).withdraw(held, s.lp, s.lp);
    expect(await s.vault.maxWithdraw(s.lp)).to.equal(0n);
    expect(await s.vault.maxRedeem(s.lp)).to.equal(0n);
  });

  it("while the engine is paused maxDeposit and maxMint still offer an executed deposit, whose claim goes through; a new deposit request is refused (DepositsPaused)", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.vault.connect(s.bob).requestDeposit(s.unit, s.bob, s.bob);
    const { shares } = await executeLpRequest(s, s.bob);
    await s.engine.pause();
    expect(await s.vault.maxDeposit(s.lp)).to.equal(0n);
    expect(await s.vault.maxMint(s.lp)).to.equal(0n);
    expect(await s.vault.maxDeposit(s.bob)).to.equal(s.unit);
    expect(await s.vault.maxMint(s.bob)).to.equal(shares);
    await expect(s.vault.connect(s.lp).requestDeposit(s.unit, s.lp, s.lp)).to.be.revertedWithCustomError(
      s.vault,
      "DepositsPaused",
    );
    await expect(s.vault.connect(s.lp)["deposit(uint256,address)"](s.unit, s.lp))
      .to.be.revertedWithCustomError(s.vault, "ExceedsClaimable")
      .withArgs(s.lp.address, s.unit, 0n);
    await s.vault.connect(s.bob)["deposit(uint256,address)"](s.unit, s.bob);
    expect(await s.vault.balanceOf(s.bob)).to.equal(shares);
  });

  it("no shares that redeem for nothing are offered or paid: a one-unit LP after a pool loss (the redemption's execution reverts ZeroAmount)", async function () {
    // On the old code the dust holder was offered 1,000,000 shares whose previewRedeem was 0, and redeem
    // reverted with ZeroAmount.
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await lpDeposit(s, s.dave, 1n);
    const shares = await s.vault.balanceOf(s.dave);
    expect(shares).to.equal(1_000_000n);
    // A trader's profit: the pool loses 1,000 (of 1,000,000), so a share is worth less than it was, and
    // 1,000,000 shares (one unit's worth before) now redeem for less than one unit.
    await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, 3_000n * s.unit);
    await s.ethFeed.updateAnswer(feedPrice(3_100));
    await s.orders.connect(s.alice).closePosition(ETH);
    expect(await s.vault.convertToAssets(shares)).to.equal(0n);
    expect(await s.vault.maxRedeem(s.dave)).to.equal(0n);
    expect(await s.vault.maxWithdraw(s.dave)).to.equal(0n);
    await expect(s.vault.connect(s.dave).redeem(shares, s.dave, s.dave))
      .to.be.revertedWithCustomError(s.vault, "NoLpExit")
      .withArgs(s.dave.address);
    await s.vault.connect(s.dave).requestRedeem(shares, s.dave, s.dave);
    await expect(executeLpRequest(s, s.dave)).to.be.revertedWithCustomError(s.vault, "ZeroAmount");
    expect((await s.vault.lpExit(s.dave)).shares, "nothing held").to.equal(0n);
    // The LP with real shares redeems: after the hold, maxRedeem offers all the held shares.
    const lpShares = (await s.vault.balanceOf(s.lp)) / 2n;
    await s.vault.connect(s.lp).requestRedeem(lpShares, s.lp, s.lp);
    expect((await executeLpRequest(s, s.lp)).assets).to.be.greaterThan(0n);
    await networkHelpers.time.increaseTo((await s.vault.lpExit(s.lp)).claimableAt);
    expect(await s.vault.maxRedeem(s.lp)).to.equal(lpShares);
  });
});
