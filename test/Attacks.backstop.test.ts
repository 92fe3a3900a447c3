import { expect } from "chai";
import { BTC, deploySystem, ethers, ETH, networkHelpers, WAD } from "./helpers/system.js";
import {
  addIncome,
  blockTime,
  checkedBatch,
  checkedLiquidation,
  coverCap,
  deployWithToken,
  extraTraders,
  OFFSET,
  setPrice,
  standaloneBackstop,
  toAssets,
  toShares,
  usd,
} from "./helpers/liq.js";
import { lpDeposit } from "./helpers/lp.js";

const DAY = 86_400n;
const COOLDOWN = 7n * DAY;
const INCOME_PERIOD = 7n * DAY;

for (const decimals of [6, 18]) {
  describe(`Attacks on the backstop and liquidations (${decimals}-decimal collateral)`, function () {
    const unit = 10n ** BigInt(decimals);
    const tokens = (n: bigint) => n * unit;
    const accountsOf = (s: any) => [s.lp, s.staker, s.keeper, s.alice, s.bob, s.carol, s.dave];

    /**
     * The staker and Carol each stake 5,000 tokens; Alice is long 10 ETH from $3,000 with 3,000 margin
     * (Bob's short first); ETH then falls to $2,650: Alice's equity is -500, bad debt 600.
     */
    async function shortfallPending() {
      const s = await deploySystem({ decimals });
      await lpDeposit(s, s.lp, tokens(1_000_000n));
      await s.backstop.connect(s.staker).deposit(tokens(5_000n), s.staker);
      await s.backstop.connect(s.carol).deposit(tokens(5_000n), s.carol);
      await s.orders.connect(s.bob).openPosition(ETH, -10n * WAD, tokens(10_000n));
      await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, tokens(3_000n));
      const shares: bigint = await s.backstop.balanceOf(s.staker);
      const start = await blockTime(await s.backstop.connect(s.staker).requestRedeem(shares, s.staker, s.staker));
      await setPrice(s.ethFeed, usd(2_650n));
      return { ...s, shares, start };
    }

    describe("escaping a cover", function () {
      it("defence: stake in cooldown still covers, and the leaver then gets the value after the cover", async function () {
        const s = await networkHelpers.loadFixture(shortfallPending);
        const r = await checkedLiquidation(s, s.alice, ETH, {
          coverCap: coverCap(tokens(10_000n)),
          accounts: accountsOf(s),
        });
        expect(r.covered).to.equal(tokens(600n));
        await networkHelpers.time.setNextBlockTimestamp(s.start + COOLDOWN);
        const supply: bigint = await s.backstop.totalSupply();
        const expected = toAssets(s.shares, tokens(9_400n), supply);
        expect(expected, "half of the 9,400 left, rounded down").to.equal(
          (s.shares * (tokens(9_400n) + 1n)) / (supply + OFFSET),
        );
        await expect(s.backstop.connect(s.staker).redeem(s.shares, s.staker, s.staker)).to.changeTokenBalance(
          ethers,
          s.token,
          s.staker,
          expected,
        );
        expect(expected).to.be.lt(tokens(5_000n));
      });

      it("defence: front-running a shortfall outside the window fails (OutsideUnstakeWindow)", async function () {
        const s = await networkHelpers.loadFixture(shortfallPending);
        const ts = BigInt(await networkHelpers.time.latest()) + 1n;
        await networkHelpers.time.setNextBlockTimestamp(ts);
        await expect(s.backstop.connect(s.staker).redeem(s.shares, s.staker, s.staker))
          .to.be.revertedWithCustomError(s.backstop, "OutsideUnstakeWindow")
          .withArgs(ts, s.start + COOLDOWN, s.start + COOLDOWN + 2n * DAY);
        await expect(s.backstop.connect(s.carol).redeem(1n, s.carol, s.carol))
          .to.be.revertedWithCustomError(s.backstop, "NoCooldown")
          .withArgs(s.carol.address);
        expect(await s.backstop.maxWithdraw(s.staker)).to.equal(0n);
      });

      it("defence: cooling shares sit in the module's custody: they bear the cover while they cannot leave, and cannot be moved to a fresh address", async function () {
        const s = await networkHelpers.loadFixture(shortfallPending);
        const supply: bigint = await s.backstop.totalSupply();
        // The request took the staker's shares into the module: still in the supply, no longer the staker's.
        expect(await s.backstop.balanceOf(s.staker)).to.equal(0n);
        expect(await s.backstop.balanceOf(s.backstop)).to.equal(s.shares);
        // So they cannot be moved to a fresh address, and the fresh address has no claim on the request.
        await expect(s.backstop.connect(s.staker).transfer(s.dave, s.shares))
          .to.be.revertedWithCustomError(s.backstop, "ERC20InsufficientBalance")
          .withArgs(s.staker.address, 0n, s.shares);
        await expect(s.backstop.connect(s.dave).redeem(1n, s.dave, s.staker))
          .to.be.revertedWithCustomError(s.backstop, "NotControllerOrOperator")
          .withArgs(s.staker.address, s.dave.address);
        await expect(s.backstop.connect(s.dave).cancelRedeemRequest(0n, s.staker))
          .to.be.revertedWithCustomError(s.backstop, "NotControllerOrOperator")
          .withArgs(s.staker.address, s.dave.address);
        // The cover lands on all 10,000 staked, the 5,000 in cooldown included (600 of bad debt).
        await s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper);
        expect(await s.backstop.totalCovered()).to.equal(tokens(600n));
        expect(await s.backstop.totalSupply(), "no share escaped the cover").to.equal(supply);
        const worth = toAssets(s.shares, tokens(9_400n), supply);
        expect(worth).to.be.lt(tokens(5_000n));
        expect((await s.backstop.cooldownStatus(s.staker)).valueNow).to.equal(worth);
        // Cancelling escapes nothing: the shares come back worth their part of what is left.
        const snapshot = await networkHelpers.takeSnapshot();
        await s.backstop.connect(s.staker).cancelRedeemRequest(0n, s.staker);
        expect(await s.backstop.convertToAssets(await s.backstop.balanceOf(s.staker))).to.equal(worth);
        await snapshot.restore();
        // In the window the staker leaves with the value after the cover; the fresh address has nothing.
        await networkHelpers.time.increaseTo(s.start + COOLDOWN);
        expect(await s.backstop.maxRedeem(s.dave)).to.equal(0n);
        expect(await s.backstop.maxWithdraw(s.staker)).to.equal(worth);
        await expect(s.backstop.connect(s.staker).redeem(s.shares, s.staker, s.staker)).to.changeTokenBalance(
          ethers,
          s.token,
          s.staker,
          worth,
        );
      });
    });

    describe("income timing", function () {
      it("defence: income streams, so a staker joining half-way through earns only from then on (exact amounts)", async function () {
        const b = await standaloneBackstop(decimals);
        const stake = tokens(1_000n);
        const income = tokens(700n);
        await b.backstop.connect(b.alice).deposit(stake, b.alice);
        const aliceShares: bigint = await b.backstop.balanceOf(b.alice);
        const notified = await blockTime(await addIncome(b, income));
        const t0 = (notified / INCOME_PERIOD + 1n) * INCOME_PERIOD; // it vests over the next epoch
        // Bob stakes the same amount when half of the income has vested.
        await networkHelpers.time.setNextBlockTimestamp(t0 + INCOME_PERIOD / 2n);
        await b.backstop.connect(b.bob).deposit(stake, b.bob);
        const assetsAtJoin = stake + income / 2n;
        const bobShares = toShares(stake, assetsAtJoin, aliceShares);
        expect(await b.backstop.balanceOf(b.bob)).to.equal(bobShares);
        await networkHelpers.time.increaseTo(t0 + INCOME_PERIOD);
        const total = 2n * stake + income;
        const supply = aliceShares + bobShares;
        const aliceNow = toAssets(aliceShares, total, supply);
        const bobNow = toAssets(bobShares, total, supply);
        expect(await b.backstop.convertToAssets(aliceShares)).to.equal(aliceNow);
        expect(await b.backstop.convertToAssets(bobShares)).to.equal(bobNow);
        // Alice: all of the first half (350) and 1,350/2,350 of the second; Bob: 1,000/2,350 of the second.
        const secondHalf = income / 2n;
        expect(aliceNow - stake).to.be.closeTo(secondHalf + (secondHalf * 1_350n) / 2_350n, 2n);
        expect(bobNow - stake).to.be.closeTo((secondHalf * 1_000n) / 2_350n, 2n);
      });

      it("defence: staking in the block before income arrives gains nothing at once (share price unchanged on notify)", async function () {
        const b = await standaloneBackstop(decimals);
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        await b.backstop.connect(b.bob).deposit(tokens(1_000n), b.bob);
        const bobShares: bigint = await b.backstop.balanceOf(b.bob);
        const before: bigint = await b.backstop.convertToAssets(bobShares);
        const tx = await addIncome(b, tokens(700n));
        expect(await b.backstop.convertToAssets(bobShares)).to.equal(before);
        // And the earliest Bob could leave is a cooldown later, when Alice (present all along) has earned the same.
        const t0 = await blockTime(tx);
        await networkHelpers.time.increaseTo((t0 / INCOME_PERIOD + 2n) * INCOME_PERIOD);
        expect(await b.backstop.convertToAssets(bobShares)).to.equal(
          await b.backstop.convertToAssets(await b.backstop.balanceOf(b.alice)),
        );
      });
    });

    describe("share price manipulation", function () {
      it("defence: a donation of tokens does not move totalAssets or the share price", async function () {
        const b = await standaloneBackstop(decimals);
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        const shares: bigint = await b.backstop.balanceOf(b.alice);
        await b.token.connect(b.bob).transfer(b.backstop, tokens(50_000n));
        expect(await b.backstop.totalAssets()).to.equal(tokens(1_000n));
        expect(await b.backstop.convertToAssets(shares)).to.equal(tokens(1_000n));
      });

      it("defence: first-depositor inflation (1 unit, then a donation) does not take the next depositor's money", async function () {
        const b = await standaloneBackstop(decimals);
        await b.backstop.connect(b.bob).deposit(1n, b.bob);
        await b.token.connect(b.bob).transfer(b.backstop, tokens(10_000n));
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        const shares: bigint = await b.backstop.balanceOf(b.alice);
        expect(shares).to.equal(toShares(tokens(1_000n), 1n, OFFSET));
        expect(await b.backstop.convertToAssets(shares)).to.be.gte(tokens(1_000n) - 1n);
        expect(await b.backstop.convertToAssets(await b.backstop.balanceOf(b.bob))).to.be.lte(1n);
      });
    });

    describe("self-liquidation", function () {
      async function aliceLong() {
        const s = await deploySystem({ decimals });
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        await s.backstop.connect(s.staker).deposit(tokens(10_000n), s.staker);
        await s.orders.connect(s.bob).openPosition(ETH, -10n * WAD, tokens(10_000n));
        await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, tokens(3_000n));
        return s;
      }

      it("defence: liquidating one's own position from a second account pays less than closing it (penalty 1 % > fee 5 bps)", async function () {
        const s = await networkHelpers.loadFixture(aliceLong);
        await setPrice(s.ethFeed, usd(2_800n)); // equity 1,000, notional 28,000
        const snapshot = await networkHelpers.takeSnapshot();
        const closeFee = tokens(14n); // ceil(28,000 x 0.05 %)
        await expect(s.orders.connect(s.alice).closePosition(ETH)).to.changeTokenBalance(
          ethers,
          s.token,
          s.alice,
          tokens(1_000n) - closeFee,
        );
        await snapshot.restore();
        // Dave is Alice's second account.
        const r = await checkedLiquidation(s, s.alice, ETH, {
          keeper: s.dave,
          coverCap: coverCap(tokens(10_000n)),
          accounts: accountsOf(s),
        });
        const selfLiquidation = r.e.keeperFee + r.e.refund;
        expect(selfLiquidation).to.equal(tokens(720n));
        expect(selfLiquidation).to.be.lt(tokens(1_000n) - closeFee);
      });

      it("near bankruptcy the keeper fee exceeds what closing pays, but the trader still lost the margin: no profit", async function () {
        const s = await networkHelpers.loadFixture(aliceLong);
        await setPrice(s.ethFeed, usd(2_704n)); // equity 40 < keeper fee 100: closing pays 40 - 14
        const r = await checkedLiquidation(s, s.alice, ETH, {
          keeper: s.dave,
          coverCap: coverCap(tokens(10_000n)),
          accounts: accountsOf(s),
        });
        expect(r.e.keeperFee + r.e.refund).to.equal(tokens(100n));
        // Over the position's life (both accounts started with 10M): 3,000 margin + 15 opening fee in, 100 out.
        const both: bigint = (await s.token.balanceOf(s.alice)) + (await s.token.balanceOf(s.dave));
        expect(both - tokens(20_000_000n)).to.equal(-tokens(2_915n));
      });
    });

    describe("dust", function () {
      async function dustBook() {
        const s = await deploySystem({ decimals });
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        await s.backstop.connect(s.staker).deposit(tokens(10_000n), s.staker);
        await setPrice(s.ethFeed, usd(2_500n));
        return s;
      }

      it("defence: a position below minNotional cannot be opened (NotionalBelowMinimum)", async function () {
        const s = await networkHelpers.loadFixture(dustBook);
        const size = (4n * WAD) / 100n - 1n; // $100 less 2,500 wei-dollars
        await expect(s.orders.connect(s.alice).openPosition(ETH, size, tokens(10n)))
          .to.be.revertedWithCustomError(s.engine, "NotionalBelowMinimum")
          .withArgs((size * usd(2_500n)) / WAD, 100n * WAD);
      });

      it("defence: the keeper fee floor still pays for liquidating the smallest position, from the backstop if need be", async function () {
        const s = await networkHelpers.loadFixture(dustBook);
        await s.orders.connect(s.bob).openPosition(ETH, -(4n * WAD) / 100n, tokens(10n));
        await s.orders.connect(s.alice).openPosition(ETH, (4n * WAD) / 100n, tokens(10n)); // $100, 10x
        await setPrice(s.ethFeed, usd(2_240n)); // loss 10.4: equity -0.4; notional 89.6: 0.448 -> floor 2
        const r = await checkedLiquidation(s, s.alice, ETH, {
          coverCap: coverCap(tokens(10_000n)),
          accounts: accountsOf(s),
        });
        expect(r.e.keeperFee).to.equal(tokens(2n));
        expect(r.e.equity).to.equal(-tokens(4n) / 10n);
        expect(r.covered).to.equal(tokens(24n) / 10n);
      });
    });

    describe("griefing a batch", function () {
      async function griefBook() {
        const s = await deployWithToken("BlocklistToken", { decimals });
        const [btcTrader] = await extraTraders(s, 1);
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        await s.backstop.connect(s.staker).deposit(tokens(10_000n), s.staker);
        await s.orders.connect(s.dave).openPosition(ETH, -20n * WAD, tokens(20_000n));
        await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, tokens(3_000n));
        await s.orders.connect(s.bob).openPosition(ETH, 10n * WAD, tokens(3_000n));
        await s.orders.connect(btcTrader).openPosition(BTC, WAD, tokens(6_000n));
        await setPrice(s.btcFeed, usd(54_000n));
        await networkHelpers.time.increase(3_601n);
        await setPrice(s.ethFeed, usd(2_800n)); // Alice and Bob: equity about 1,000, refund about 620
        await s.token.setBlocked(s.alice, true);
        return { ...s, btcTrader };
      }

      it("defence: a blocklisted refund recipient and a stale-oracle market do not stop the batch", async function () {
        const s = await networkHelpers.loadFixture(griefBook);
        const entries = [
          { account: s.btcTrader, marketId: BTC },
          { account: s.alice, marketId: ETH },
          { account: s.bob, marketId: ETH },
        ];
        const r = await checkedBatch(s, entries, {
          staleMarkets: [BTC],
          backstopAssets: tokens(10_000n),
          accounts: [...accountsOf(s), s.btcTrader],
          deferred: [s.alice],
        });
        expect(r.plans.length).to.equal(2);
        await expect(r.tx).to.emit(s.engine, "RefundDeferred").withArgs(s.alice.address, r.plans[0].e.refund);
        expect(await s.engine.claimable(s.alice)).to.equal(r.plans[0].e.refund);
        expect(await s.engine.claimable(s.bob)).to.equal(0n);
      });
    });
  });
}
