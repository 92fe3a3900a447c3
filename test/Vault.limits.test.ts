import { expect } from "chai";
import { ETH, feedPrice, networkHelpers, WAD } from "./helpers/system.js";
import { fundedNoFunding6 } from "./helpers/trading.js";
import { lpDeposit } from "./helpers/lp.js";

/** Issue "LP capital", limits that tell the truth: ERC-4626's max* never offer what would revert. */
describe("LiquidityVault limits", function () {
  it("maxDeposit, maxMint, maxWithdraw and maxRedeem are zero (not a revert) while a market with positions has a stale price", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.orders.connect(s.alice).openPosition(ETH, WAD, 400n * s.unit);
    await networkHelpers.time.increase(3_601n); // past the ETH feed's heartbeat
    await expect(s.vault.totalAssets()).to.be.revertedWithCustomError(s.ethOracle, "StalePrice");
    expect(await s.vault.maxDeposit(s.lp)).to.equal(0n);
    expect(await s.vault.maxMint(s.lp)).to.equal(0n);
    expect(await s.vault.maxWithdraw(s.lp)).to.equal(0n);
    expect(await s.vault.maxRedeem(s.lp)).to.equal(0n);
    // A fresh round: the pool can be marked again, but while Alice's position is open the one-transaction
    // paths stay closed (LPs use requests), so the limits stay zero rather than offer what would revert.
    await s.ethFeed.updateAnswer(feedPrice(3_000));
    expect(await s.vault.totalAssets()).to.be.greaterThan(0n);
    expect(await s.vault.maxDeposit(s.lp)).to.equal(0n);
    expect(await s.vault.maxRedeem(s.lp)).to.equal(0n);
    // Once no market has positions, the limits come back (nothing is reserved then: all of the LP's shares).
    await s.orders.connect(s.alice).closePosition(ETH);
    expect(await s.vault.maxDeposit(s.lp)).to.equal(2n ** 256n - 1n);
    expect(await s.vault.maxRedeem(s.lp)).to.equal(await s.vault.balanceOf(s.lp));
  });

  it("maxDeposit and maxMint are zero while the engine is paused", async function () {
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.engine.pause();
    expect(await s.vault.maxDeposit(s.lp)).to.equal(0n);
    expect(await s.vault.maxMint(s.lp)).to.equal(0n);
    await expect(s.vault.connect(s.lp).deposit(s.unit, s.lp)).to.be.revertedWithCustomError(s.vault, "DepositsPaused");
  });

  it("maxRedeem offers no shares that redeem for nothing: a one-unit LP after a pool loss", async function () {
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
    const value = await s.vault.previewRedeem(shares);
    expect(value).to.equal(0n);
    expect(await s.vault.maxRedeem(s.dave)).to.equal(0n);
    expect(await s.vault.maxWithdraw(s.dave)).to.equal(0n);
    await expect(s.vault.connect(s.dave).redeem(shares, s.dave, s.dave)).to.be.revertedWithCustomError(
      s.vault,
      "ERC4626ExceededMaxRedeem",
    );
    // The LP with real shares is offered all of them.
    expect(await s.vault.maxRedeem(s.lp)).to.equal(await s.vault.balanceOf(s.lp));
  });
});
