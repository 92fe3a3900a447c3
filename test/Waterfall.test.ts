import { expect } from "chai";
import { deploySystem, ethers, ETH, networkHelpers, WAD } from "./helpers/system.js";
import { checkedLiquidation, coverCap, FEED_STEP, setPrice, usd } from "./helpers/liq.js";
import { lpDeposit } from "./helpers/lp.js";

/**
 * The loss waterfall of a full liquidation, edge by edge, for 6- and 18-decimal collateral.
 *
 * Alice is long 10 ETH from $3,000 with 3,000 tokens of margin; Bob is short 10 ETH, opened first (so
 * Alice owes no funding). At price P her equity is 3,000 + 10 x (P - 3,000) = 10P - 27,000 tokens, her notional 10P;
 * the keeper fee is 0.5 % of notional capped at 100 tokens, the penalty 1 % of notional, the
 * maintenance margin 5 %. Each case names P and the hand-computed outcome; `checkedLiquidation` also
 * checks every amount against the bigint model, the events, token balances, the LP ledger,
 * conservation and solvency.
 */
for (const decimals of [6, 18]) {
  describe(`Waterfall (${decimals}-decimal collateral)`, function () {
    const unit = 10n ** BigInt(decimals);
    const tokens = (n: bigint) => n * unit;

    async function positionsOpen() {
      const s = await deploySystem({ decimals });
      await lpDeposit(s, s.lp, tokens(1_000_000n));
      // Bob first: the one second of skew before Alice opens is funding Bob pays, not Alice.
      await s.orders.connect(s.bob).openPosition(ETH, -10n * WAD, tokens(10_000n));
      await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, tokens(3_000n));
      return s;
    }
    const accountsOf = (s: any) => [s.lp, s.staker, s.keeper, s.alice, s.bob, s.carol, s.dave];

    async function at(price: bigint, backstopStake: bigint) {
      const s = await networkHelpers.loadFixture(positionsOpen);
      if (backstopStake > 0n) await s.backstop.connect(s.staker).deposit(backstopStake, s.staker);
      await setPrice(s.ethFeed, price);
      return s;
    }

    it("zero equity: the keeper fee is all bad debt, covered in full by the backstop; no penalty, no refund", async function () {
      const s = await at(usd(2_700n), tokens(1_000n));
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: tokens(300n), accounts: accountsOf(s) });
      expect(r.e.equity).to.equal(0n);
      expect(r.e.keeperFee).to.equal(tokens(100n));
      expect([r.e.penalty, r.e.refund]).to.deep.equal([0n, 0n]);
      expect(r.e.badDebt).to.equal(tokens(100n));
      expect(r.covered).to.equal(tokens(100n));
      expect(r.socialized).to.equal(0n);
    });

    it("equity between zero and the keeper fee: keeper paid in full, badDebt = keeperFee - equity from the backstop", async function () {
      const s = await at(usd(2_704n), tokens(1_000n));
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: tokens(300n), accounts: accountsOf(s) });
      expect(r.e.equity).to.equal(tokens(40n));
      expect([r.e.keeperFee, r.e.penalty, r.e.refund]).to.deep.equal([tokens(100n), 0n, 0n]);
      expect(r.e.badDebt).to.equal(tokens(60n));
      expect(r.covered).to.equal(tokens(60n));
    });

    it("equity exactly the keeper fee: no bad debt, no penalty, no refund", async function () {
      const s = await at(usd(2_710n), tokens(1_000n));
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: tokens(300n), accounts: accountsOf(s) });
      expect(r.e.equity).to.equal(tokens(100n));
      expect([r.e.keeperFee, r.e.penalty, r.e.refund, r.e.badDebt]).to.deep.equal([tokens(100n), 0n, 0n, 0n]);
    });

    it("equity between the keeper fee and keeper fee + penalty: the penalty takes only what is left, no refund", async function () {
      const s = await at(usd(2_720n), tokens(1_000n));
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: tokens(300n), accounts: accountsOf(s) });
      expect(r.e.equity).to.equal(tokens(200n));
      expect([r.e.keeperFee, r.e.penalty, r.e.refund, r.e.badDebt]).to.deep.equal([tokens(100n), tokens(100n), 0n, 0n]);
    });

    it("equity above keeper fee + penalty: the trader is refunded the rest", async function () {
      const s = await at(usd(2_800n), tokens(1_000n));
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: tokens(300n), accounts: accountsOf(s) });
      expect(r.e.equity).to.equal(tokens(1_000n));
      expect(r.e.liquidationMargin).to.equal(tokens(1_500n));
      expect([r.e.keeperFee, r.e.penalty, r.e.refund, r.e.badDebt]).to.deep.equal([
        tokens(100n),
        tokens(280n),
        tokens(620n),
        0n,
      ]);
    });

    it("negative equity below the backstop's cap: fully covered, nothing socialized, penalty zero", async function () {
      const s = await at(usd(2_650n), tokens(10_000n));
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: tokens(3_000n), accounts: accountsOf(s) });
      expect(r.e.equity).to.equal(-tokens(500n));
      expect(r.e.penalty).to.equal(0n);
      expect(r.e.badDebt).to.equal(tokens(600n));
      expect([r.covered, r.socialized]).to.deep.equal([tokens(600n), 0n]);
      expect(await s.backstop.totalAssets()).to.equal(tokens(9_400n));
    });

    it("negative equity above the backstop's cap: 30 % of the backstop covers, the rest is socialized from the LP ledger", async function () {
      const s = await at(usd(2_650n), tokens(1_000n));
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: tokens(300n), accounts: accountsOf(s) });
      expect(r.e.badDebt).to.equal(tokens(600n));
      expect([r.covered, r.socialized]).to.deep.equal([tokens(300n), tokens(300n)]);
      // The vault was owed the trader's whole loss (3,500) and books it less the socialized 300.
      expect(r.lpDelta).to.equal(tokens(3_500n) - tokens(300n));
      expect(await s.backstop.totalAssets()).to.equal(tokens(700n));
    });

    it("an empty backstop covers nothing: the whole bad debt is socialized", async function () {
      const s = await at(usd(2_650n), 0n);
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: 0n, accounts: accountsOf(s) });
      expect([r.e.badDebt, r.covered, r.socialized]).to.deep.equal([tokens(600n), 0n, tokens(600n)]);
      expect(r.lpDelta).to.equal(tokens(3_500n) - tokens(600n));
    });

    it("a backstop whose whole stake is in cooldown still covers", async function () {
      const s = await at(usd(2_650n), tokens(10_000n));
      await s.backstop.connect(s.staker).requestRedeem(await s.backstop.balanceOf(s.staker), s.staker, s.staker);
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: tokens(3_000n), accounts: accountsOf(s) });
      expect([r.covered, r.socialized]).to.deep.equal([tokens(600n), 0n]);
    });

    it("the minAssetsRemaining floor limits the cover below the ratio cap", async function () {
      const s = await at(usd(2_650n), tokens(1_000n));
      await s.backstop
        .connect(s.admin)
        .setParameters(7n * 86_400n, 2n * 86_400n, (3n * WAD) / 10n, tokens(800n), 7n * 86_400n);
      const cap = coverCap(tokens(1_000n), (3n * WAD) / 10n, tokens(800n));
      expect(cap).to.equal(tokens(200n));
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: cap, accounts: accountsOf(s) });
      expect([r.covered, r.socialized]).to.deep.equal([tokens(200n), tokens(400n)]);
      expect(await s.backstop.totalAssets()).to.equal(tokens(800n));
    });

    it("a backstop at its floor covers nothing and the bad debt is socialized", async function () {
      const s = await at(usd(2_650n), tokens(1_000n));
      await s.backstop
        .connect(s.admin)
        .setParameters(7n * 86_400n, 2n * 86_400n, (3n * WAD) / 10n, tokens(1_000n), 7n * 86_400n);
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: 0n, accounts: accountsOf(s) });
      expect([r.covered, r.socialized]).to.deep.equal([0n, tokens(600n)]);
    });

    it("one feed step below zero equity: the bad debt exceeds the keeper fee by the loss rounded up", async function () {
      // 10 ETH x 1e-8 USD = 1e-7 USD: a loss rounded up to 1 unit of a 6-decimal token, 1e11 of an 18-decimal one.
      const s = await at(usd(2_700n) - FEED_STEP, tokens(1_000n));
      const r = await checkedLiquidation(s, s.alice, ETH, { coverCap: tokens(300n), accounts: accountsOf(s) });
      const oneStepLoss = decimals === 6 ? 1n : 10n ** 11n;
      expect(r.e.equity).to.equal(-oneStepLoss);
      expect(r.e.badDebt).to.equal(tokens(100n) + oneStepLoss);
      expect([r.covered, r.socialized]).to.deep.equal([r.e.badDebt, 0n]);
    });

    it("the penalty reaches the stakers through distributeFees, streamed as backstop income", async function () {
      const s = await at(usd(2_800n), tokens(1_000n));
      await s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper);
      // Opening fees: 15 + 15 tokens, 30 % of each (4.5) pending for the protocol. One unit stays behind
      // (the slot never returns to zero); the treasury gets a third of the rest, rounded down.
      expect(await s.lens.pendingProtocolFees()).to.equal(tokens(9n));
      expect(await s.lens.pendingPenalties()).to.equal(tokens(280n));
      const fees = tokens(9n) - 1n;
      const toTreasury = fees / 3n;
      const toBackstop = fees - toTreasury + tokens(280n);
      const tx = s.engine.distributeFees();
      await expect(tx).to.emit(s.engine, "FeesDistributed").withArgs(toBackstop, toTreasury);
      const t = BigInt(await networkHelpers.time.latest()); // the distributeFees block
      const period = 7n * 86_400n;
      const from = (t / period + 1n) * period; // income vests over the epoch after its own
      await expect(tx)
        .to.emit(s.backstop, "IncomeAdded")
        .withArgs(toBackstop, from, from + period);
      await expect(tx).to.changeTokenBalances(
        ethers,
        s.token,
        [s.engine, s.backstop, s.treasury],
        [-(toBackstop + toTreasury), toBackstop, toTreasury],
      );
      expect(await s.backstop.totalAssets()).to.equal(tokens(1_000n));
      await networkHelpers.time.increaseTo(from + period);
      expect(await s.backstop.totalAssets()).to.equal(tokens(1_000n) + toBackstop);
      expect([await s.lens.pendingProtocolFees(), await s.lens.pendingPenalties()]).to.deep.equal([1n, 0n]);
    });
  });
}
