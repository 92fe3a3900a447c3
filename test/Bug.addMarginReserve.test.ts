import { expect } from "chai";
import { ETH, ethers, networkHelpers, WAD } from "./helpers/system.js";
import { fundedNoFunding6, fundedNoFunding18, mulDivUp, splitFee, tradingFee, usd } from "./helpers/trading.js";

/**
 * Contract finding (reported to the lead): addMargin raises the position's profit cap and the market's
 * reserve (margin x maxProfitFactor) without checking that the LP pool covers it (openPosition and
 * increasePosition call _checkReserve; addMargin does not). Any trader with a small position can add a
 * large margin, drive totalReserved above lpBalance, and so make freeLiquidity zero: every LP withdrawal is
 * refused, and so is every new position. Adding and removing margin costs no fee, so the lock is free apart from the capital. These
 * tests pass on the current code and describe the defect.
 */
for (const [name, fixture] of [
  ["6-decimal", fundedNoFunding6],
  ["18-decimal", fundedNoFunding18],
] as const) {
  describe(`BUG: addMargin inflates the reserve past the LP pool and locks LP withdrawals (${name})`, function () {
    it("a trader's margin top-up makes freeLiquidity zero, blocking withdrawals, and is taken back fee-free", async function () {
      const s = await networkHelpers.loadFixture(fixture);
      const u = s.unit;
      await s.engine.connect(s.alice).openPosition(ETH, WAD / 10n, 30n * u);
      const lpBalance = await s.engine.lpBalance();
      expect(await s.vault.maxWithdraw(s.lp)).to.be.greaterThan(990_000n * u);

      const topUp = 200_000n * u;
      await s.engine.connect(s.alice).addMargin(ETH, topUp);
      expect(await s.engine.totalReserved()).to.equal(mulDivUp(30n * u + topUp, 9n * WAD, WAD));
      expect(await s.engine.totalReserved()).to.be.greaterThan(lpBalance);
      expect(await s.engine.freeLiquidity()).to.equal(0n);
      await expect(s.vault.connect(s.lp).withdraw(u, s.lp, s.lp))
        .to.be.revertedWithCustomError(s.vault, "ERC4626ExceededMaxWithdraw")
        .withArgs(s.lp.address, u, 0n);
      // New traders are locked out too: no open can reserve its cap any more.
      const bobFee = splitFee(tradingFee(WAD, usd(3_000), (5n * WAD) / 10_000n, s.decimals));
      await expect(s.engine.connect(s.bob).openPosition(ETH, WAD, 300n * u))
        .to.be.revertedWithCustomError(s.engine, "InsufficientLiquidity")
        .withArgs(mulDivUp(30n * u + topUp + 300n * u, 9n * WAD, WAD), lpBalance + bobFee.lp);

      // The lock costs nothing: the margin comes back in full.
      await expect(s.engine.connect(s.alice).removeMargin(ETH, topUp)).to.changeTokenBalance(
        ethers,
        s.token,
        s.alice,
        topUp,
      );
      expect(await s.engine.lpBalance()).to.equal(lpBalance);
    });
  });
}
