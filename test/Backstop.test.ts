import { expect } from "chai";
import { deploySystem, ethers, ETH, networkHelpers, WAD } from "./helpers/system.js";
import { addIncome, blockTime, min, OFFSET, standaloneBackstop, toAssets, toShares } from "./helpers/liq.js";
import { lpDeposit } from "./helpers/lp.js";

const DAY = 86_400n;
const COOLDOWN = 7n * DAY;
const WINDOW = 2n * DAY;
const INCOME_PERIOD = 7n * DAY;
const name = (n: string) => ethers.encodeBytes32String(n);

for (const decimals of [6, 18]) {
  describe(`BackstopModule (${decimals}-decimal collateral)`, function () {
    const unit = 10n ** BigInt(decimals);
    const tokens = (n: bigint) => n * unit;
    const fresh = () => standaloneBackstop(decimals);

    /** Alice and Bob each stake 1,000 tokens; Alice requests the redemption of all her shares. */
    async function twoStakersAliceCooling() {
      const b = await standaloneBackstop(decimals);
      await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
      await b.backstop.connect(b.bob).deposit(tokens(1_000n), b.bob);
      const shares: bigint = await b.backstop.balanceOf(b.alice);
      const start = await blockTime(await b.backstop.connect(b.alice).requestRedeem(shares, b.alice, b.alice));
      return { ...b, shares, start, windowStart: start + COOLDOWN, windowEnd: start + COOLDOWN + WINDOW };
    }

    describe("deposit and mint", function () {
      it("deposit mints assets x 10^6 shares into an empty backstop, then pro rata; totalAssets is the stored stake", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        await expect(b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice))
          .to.emit(b.backstop, "Deposit")
          .withArgs(b.alice.address, b.alice.address, tokens(1_000n), tokens(1_000n) * OFFSET);
        const expected = toShares(tokens(250n), tokens(1_000n), tokens(1_000n) * OFFSET);
        const tx = b.backstop.connect(b.bob).deposit(tokens(250n), b.carol);
        await expect(tx).to.changeTokenBalances(ethers, b.token, [b.bob, b.backstop], [-tokens(250n), tokens(250n)]);
        expect(await b.backstop.balanceOf(b.carol)).to.equal(expected);
        expect(await b.backstop.totalAssets()).to.equal(tokens(1_250n));
      });

      it("mint pulls the assets rounded up", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        await addIncome(b, tokens(3n));
        await networkHelpers.time.increase(2n * INCOME_PERIOD); // the next epoch has ended: all vested
        const ta: bigint = await b.backstop.totalAssets();
        expect(ta).to.equal(tokens(1_003n));
        const shares = 123_456_789n;
        const assets = toAssets(shares, ta, tokens(1_000n) * OFFSET, true);
        const tx = b.backstop.connect(b.bob).mint(shares, b.bob);
        await expect(tx).to.emit(b.backstop, "Deposit").withArgs(b.bob.address, b.bob.address, assets, shares);
        await expect(tx).to.changeTokenBalance(ethers, b.token, b.bob, -assets);
      });

      it("deposit of zero reverts with ZeroAmount", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        await expect(b.backstop.connect(b.alice).deposit(0n, b.alice)).to.be.revertedWithCustomError(
          b.backstop,
          "ZeroAmount",
        );
      });

      it("a fee-on-transfer token is refused with TransferAmountMismatch(expected, received)", async function () {
        const [admin, , , , , alice, , , , engine] = await ethers.getSigners();
        const fot = await ethers.deployContract("FeeOnTransferToken", ["Fee USD", "fUSD", decimals]);
        const backstop = await ethers.deployContract("BackstopModule", [fot, engine, admin, "B", "B"]);
        await fot.mint(alice, tokens(10_000n));
        await fot.connect(alice).approve(backstop, ethers.MaxUint256);
        await expect(backstop.connect(alice).deposit(tokens(1_000n), alice))
          .to.be.revertedWithCustomError(backstop, "TransferAmountMismatch")
          .withArgs(tokens(1_000n), tokens(990n));
      });
    });

    describe("requestRedeem (the cooldown)", function () {
      it("requestRedeem moves the shares into custody, fixes shares and value, emits RedeemRequest and CooldownStarted with the window, returns request 0", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        const all: bigint = await b.backstop.balanceOf(b.alice);
        const half = all / 2n;
        expect(await b.backstop.connect(b.alice).requestRedeem.staticCall(half, b.alice, b.alice)).to.equal(0n);
        const latest = BigInt(await networkHelpers.time.latest());
        await networkHelpers.time.setNextBlockTimestamp(latest + 10n);
        const tx = b.backstop.connect(b.alice).requestRedeem(half, b.alice, b.alice);
        await expect(tx)
          .to.emit(b.backstop, "RedeemRequest")
          .withArgs(b.alice.address, b.alice.address, 0n, b.alice.address, half);
        await expect(tx)
          .to.emit(b.backstop, "CooldownStarted")
          .withArgs(b.alice.address, half, tokens(500n), latest + 10n + COOLDOWN, latest + 10n + COOLDOWN + WINDOW);
        await expect(tx)
          .to.emit(b.backstop, "Transfer")
          .withArgs(b.alice.address, await b.backstop.getAddress(), half);
        expect(await b.backstop.balanceOf(b.alice), "the requested shares left the wallet").to.equal(all - half);
        expect(await b.backstop.balanceOf(b.backstop), "into the module's custody").to.equal(half);
        expect(await b.backstop.totalSupply(), "still in the supply").to.equal(all);
        const s = await b.backstop.cooldownStatus(b.alice);
        expect([s.start, s.windowStart, s.windowEnd, s.shares, s.valueAtRequest, s.valueNow, s.inWindow]).to.deep.equal(
          [
            latest + 10n,
            latest + 10n + COOLDOWN,
            latest + 10n + COOLDOWN + WINDOW,
            half,
            tokens(500n),
            tokens(500n),
            false,
          ],
        );
      });

      it("requestRedeem reverts with ZeroAmount for zero shares, ZeroController for the zero controller and InsufficientShares above the balance", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        await b.backstop.connect(b.alice).deposit(tokens(1n), b.alice);
        const balance: bigint = await b.backstop.balanceOf(b.alice);
        await expect(b.backstop.connect(b.alice).requestRedeem(0n, b.alice, b.alice)).to.be.revertedWithCustomError(
          b.backstop,
          "ZeroAmount",
        );
        await expect(
          b.backstop.connect(b.alice).requestRedeem(balance, ethers.ZeroAddress, b.alice),
        ).to.be.revertedWithCustomError(b.backstop, "ZeroController");
        await expect(b.backstop.connect(b.alice).requestRedeem(balance + 1n, b.alice, b.alice))
          .to.be.revertedWithCustomError(b.backstop, "InsufficientShares")
          .withArgs(balance + 1n, balance);
        expect(await b.backstop.balanceOf(b.alice), "nothing moved").to.equal(balance);
      });

      it("cooldownStatus of an account without a cooldown is all zero", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        const s = await b.backstop.cooldownStatus(b.carol);
        expect([s.start, s.windowStart, s.windowEnd, s.shares, s.valueAtRequest, s.valueNow, s.inWindow]).to.deep.equal(
          [0n, 0n, 0n, 0n, 0n, 0n, false],
        );
      });

      it("redeem and withdraw revert with NoCooldown without a cooldown", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        await expect(b.backstop.connect(b.bob).redeem(1n, b.bob, b.bob))
          .to.be.revertedWithCustomError(b.backstop, "NoCooldown")
          .withArgs(b.bob.address);
        await expect(b.backstop.connect(b.bob).withdraw(1n, b.bob, b.bob))
          .to.be.revertedWithCustomError(b.backstop, "NoCooldown")
          .withArgs(b.bob.address);
      });
    });

    describe("unstake window", function () {
      it("one second before windowStart redeem reverts with OutsideUnstakeWindow(timestamp, windowStart, windowEnd)", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        await networkHelpers.time.setNextBlockTimestamp(b.windowStart - 1n);
        await expect(b.backstop.connect(b.alice).redeem(b.shares, b.alice, b.alice))
          .to.be.revertedWithCustomError(b.backstop, "OutsideUnstakeWindow")
          .withArgs(b.windowStart - 1n, b.windowStart, b.windowEnd);
      });

      it("redeem at exactly windowStart pays the value at request", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        await networkHelpers.time.setNextBlockTimestamp(b.windowStart);
        const tx = b.backstop.connect(b.alice).redeem(b.shares, b.alice, b.alice);
        await expect(tx)
          .to.emit(b.backstop, "Withdraw")
          .withArgs(b.alice.address, b.alice.address, b.alice.address, tokens(1_000n), b.shares);
        await expect(tx).to.changeTokenBalance(ethers, b.token, b.alice, tokens(1_000n));
        expect(await b.backstop.totalAssets()).to.equal(tokens(1_000n));
      });

      it("withdraw at exactly windowEnd succeeds; one second after it reverts with OutsideUnstakeWindow", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        const snapshot = await networkHelpers.takeSnapshot();
        await networkHelpers.time.setNextBlockTimestamp(b.windowEnd);
        await expect(b.backstop.connect(b.alice).withdraw(tokens(400n), b.alice, b.alice)).to.changeTokenBalance(
          ethers,
          b.token,
          b.alice,
          tokens(400n),
        );
        await snapshot.restore();
        await networkHelpers.time.setNextBlockTimestamp(b.windowEnd + 1n);
        await expect(b.backstop.connect(b.alice).withdraw(tokens(400n), b.alice, b.alice))
          .to.be.revertedWithCustomError(b.backstop, "OutsideUnstakeWindow")
          .withArgs(b.windowEnd + 1n, b.windowStart, b.windowEnd);
      });

      it("maxWithdraw and maxRedeem are zero before the window, the cooled amount inside it (both ends), zero after", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        const views = async () => [await b.backstop.maxWithdraw(b.alice), await b.backstop.maxRedeem(b.alice)];
        await networkHelpers.time.increaseTo(b.windowStart - 1n);
        expect(await views()).to.deep.equal([0n, 0n]);
        expect((await b.backstop.cooldownStatus(b.alice)).inWindow).to.equal(false);
        await networkHelpers.time.increaseTo(b.windowStart);
        expect(await views()).to.deep.equal([tokens(1_000n), b.shares]);
        expect((await b.backstop.cooldownStatus(b.alice)).inWindow).to.equal(true);
        await networkHelpers.time.increaseTo(b.windowEnd);
        expect(await views()).to.deep.equal([tokens(1_000n), b.shares]);
        await networkHelpers.time.increaseTo(b.windowEnd + 1n);
        expect(await views()).to.deep.equal([0n, 0n]);
        expect(await b.backstop.maxRedeem(b.bob), "no cooldown: zero").to.equal(0n);
      });

      it("redeem beyond the cooled shares reverts with ExceedsCooldownShares, withdraw beyond their value with ExceedsCooldownAssets; exactly their value withdraws", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        const supply: bigint = await b.backstop.totalSupply();
        const half = (await b.backstop.balanceOf(b.alice)) / 2n;
        const start = await blockTime(await b.backstop.connect(b.alice).requestRedeem(half, b.alice, b.alice));
        const value = toAssets(half, tokens(1_000n), supply);
        expect((await b.backstop.cooldowns(b.alice)).value).to.equal(value);
        await networkHelpers.time.setNextBlockTimestamp(start + COOLDOWN);
        await expect(b.backstop.connect(b.alice).redeem(half + 1n, b.alice, b.alice))
          .to.be.revertedWithCustomError(b.backstop, "ExceedsCooldownShares")
          .withArgs(half + 1n, half);
        // At most min(value now, value at request) of the cooled shares: 500 tokens, nothing changed since.
        const maxAssets = min(toAssets(half, tokens(1_000n), supply), value);
        expect(maxAssets).to.equal(tokens(500n));
        await expect(b.backstop.connect(b.alice).withdraw(maxAssets + 1n, b.alice, b.alice))
          .to.be.revertedWithCustomError(b.backstop, "ExceedsCooldownAssets")
          .withArgs(maxAssets + 1n, maxAssets);
        await expect(b.backstop.connect(b.alice).withdraw(tokens(501n), b.alice, b.alice))
          .to.be.revertedWithCustomError(b.backstop, "ExceedsCooldownAssets")
          .withArgs(tokens(501n), maxAssets);
        await expect(b.backstop.connect(b.alice).withdraw(maxAssets, b.alice, b.alice))
          .to.emit(b.backstop, "Withdraw")
          .withArgs(b.alice.address, b.alice.address, b.alice.address, maxAssets, half);
        expect(await b.backstop.balanceOf(b.alice)).to.equal(half);
      });

      it("withdraw in the window of a cooldown worth zero (one share, 10^-6 of a unit) reverts with ExceedsCooldownAssets(assets, 0)", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        const supply: bigint = await b.backstop.totalSupply();
        const start = await blockTime(await b.backstop.connect(b.alice).requestRedeem(1n, b.alice, b.alice));
        expect(toAssets(1n, tokens(1_000n), supply)).to.equal(0n);
        expect((await b.backstop.cooldowns(b.alice)).value).to.equal(0n);
        await networkHelpers.time.setNextBlockTimestamp(start + COOLDOWN);
        await expect(b.backstop.connect(b.alice).withdraw(1n, b.alice, b.alice))
          .to.be.revertedWithCustomError(b.backstop, "ExceedsCooldownAssets")
          .withArgs(1n, 0n);
        expect(await b.backstop.maxWithdraw(b.alice)).to.equal(0n);
        expect(await b.backstop.balanceOf(b.backstop), "the share stays in custody").to.equal(1n);
        expect(await b.backstop.totalSupply()).to.equal(supply);
      });

      it("redeem and withdraw of zero revert with ZeroAmount inside the window", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        await networkHelpers.time.increaseTo(b.windowStart);
        await expect(b.backstop.connect(b.alice).redeem(0n, b.alice, b.alice)).to.be.revertedWithCustomError(
          b.backstop,
          "ZeroAmount",
        );
        await expect(b.backstop.connect(b.alice).withdraw(0n, b.alice, b.alice)).to.be.revertedWithCustomError(
          b.backstop,
          "ZeroAmount",
        );
      });
    });

    describe("leaving pays min(value at request, value now)", function () {
      it("a cover during the cooldown lowers what the leaver gets (redeem)", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        await expect(b.backstop.connect(b.engine).cover(tokens(300n)))
          .to.emit(b.backstop, "Covered")
          .withArgs(tokens(300n), tokens(300n), tokens(1_700n));
        const supply: bigint = await b.backstop.totalSupply();
        const expected = toAssets(b.shares, tokens(1_700n), supply);
        expect(expected).to.be.lt(tokens(1_000n));
        expect(expected).to.equal((b.shares * (tokens(1_700n) + 1n)) / (supply + OFFSET));
        await networkHelpers.time.setNextBlockTimestamp(b.windowStart);
        await expect(b.backstop.connect(b.alice).redeem(b.shares, b.alice, b.alice)).to.changeTokenBalances(
          ethers,
          b.token,
          [b.alice, b.backstop],
          [expected, -expected],
        );
        expect(await b.backstop.totalAssets()).to.equal(tokens(1_700n) - expected);
        const cd = await b.backstop.cooldowns(b.alice);
        expect([cd.shares, cd.value]).to.deep.equal([0n, 0n]);
      });

      it("a cover during the cooldown lowers what the leaver gets (withdraw burns shares at the current, lower price; one unit above the lower value reverts with ExceedsCooldownAssets)", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        await b.backstop.connect(b.engine).cover(tokens(300n));
        const supply: bigint = await b.backstop.totalSupply();
        await networkHelpers.time.increaseTo(b.windowStart);
        const most = toAssets(b.shares, tokens(1_700n), supply);
        expect(await b.backstop.maxWithdraw(b.alice)).to.equal(most);
        expect(most).to.be.lt(tokens(1_000n));
        await expect(b.backstop.connect(b.alice).withdraw(most + 1n, b.alice, b.alice))
          .to.be.revertedWithCustomError(b.backstop, "ExceedsCooldownAssets")
          .withArgs(most + 1n, most);
        const assets = tokens(800n);
        const sharesAtNow = toShares(assets, tokens(1_700n), supply, true);
        const sharesAtRequest = (assets * b.shares + tokens(1_000n) - 1n) / tokens(1_000n);
        expect(sharesAtNow).to.be.gt(sharesAtRequest);
        await expect(b.backstop.connect(b.alice).withdraw(assets, b.alice, b.alice))
          .to.emit(b.backstop, "Withdraw")
          .withArgs(b.alice.address, b.alice.address, b.alice.address, assets, sharesAtNow);
        expect((await b.backstop.cooldowns(b.alice)).shares).to.equal(b.shares - sharesAtNow);
        expect(await b.backstop.balanceOf(b.backstop), "burnt from custody").to.equal(b.shares - sharesAtNow);
      });

      it("income during the cooldown does not raise what the leaver gets (redeem pays the value at request)", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        await addIncome(b, tokens(200n));
        // Notified after the cooldown's request, vesting from the end of its epoch (at most 7 days later):
        // the price has risen by windowStart + 2.
        await networkHelpers.time.increaseTo(b.windowStart + 2n);
        const supply: bigint = await b.backstop.totalSupply();
        const now: bigint = await b.backstop.totalAssets();
        expect(now).to.be.gt(tokens(2_000n));
        expect(toAssets(b.shares, now, supply)).to.be.gt(tokens(1_000n));
        expect(await b.backstop.maxWithdraw(b.alice)).to.equal(tokens(1_000n));
        await networkHelpers.time.setNextBlockTimestamp(b.windowStart + 3n);
        await expect(b.backstop.connect(b.alice).redeem(b.shares, b.alice, b.alice)).to.changeTokenBalance(
          ethers,
          b.token,
          b.alice,
          tokens(1_000n),
        );
        // What Alice leaves behind stays with Bob: once the income has vested, all 1,200 are his.
        await networkHelpers.time.increaseTo(b.windowStart + 2n * INCOME_PERIOD);
        expect(await b.backstop.totalAssets()).to.equal(tokens(1_200n));
        expect(await b.backstop.convertToAssets(await b.backstop.balanceOf(b.bob))).to.equal(
          toAssets(await b.backstop.balanceOf(b.bob), tokens(1_200n), await b.backstop.totalSupply()),
        );
      });

      it("a partial redeem takes what it paid off the cooldown's value and leaves the rest redeemable", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        await networkHelpers.time.setNextBlockTimestamp(b.windowStart);
        const third = b.shares / 3n;
        const supply: bigint = await b.backstop.totalSupply();
        const paid = min(toAssets(third, tokens(2_000n), supply), (tokens(1_000n) * third) / b.shares);
        await expect(b.backstop.connect(b.alice).redeem(third, b.alice, b.alice)).to.changeTokenBalance(
          ethers,
          b.token,
          b.alice,
          paid,
        );
        // Exactly what was paid comes off the cooldown's value: nothing for a unit not paid.
        const cd = await b.backstop.cooldowns(b.alice);
        expect([cd.shares, cd.value]).to.deep.equal([b.shares - third, tokens(1_000n) - paid]);
        // The rest pays the lesser of its value now (rounded down again) and what is left of the cooldown.
        const rest = min(toAssets(b.shares - third, tokens(2_000n) - paid, supply - third), tokens(1_000n) - paid);
        expect(rest, "at most one unit short of the value at request in all").to.be.gte(tokens(1_000n) - paid - 1n);
        await expect(b.backstop.connect(b.alice).redeem(b.shares - third, b.alice, b.alice)).to.changeTokenBalance(
          ethers,
          b.token,
          b.alice,
          rest,
        );
        expect((await b.backstop.cooldownStatus(b.alice)).start, "an emptied cooldown is deleted").to.equal(0n);
      });
    });

    describe("cover", function () {
      async function staked() {
        const b = await standaloneBackstop(decimals);
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        return b;
      }

      it("only the engine may cover or notify income (OnlyEngine)", async function () {
        const b = await networkHelpers.loadFixture(staked);
        await expect(b.backstop.connect(b.alice).cover(1n))
          .to.be.revertedWithCustomError(b.backstop, "OnlyEngine")
          .withArgs(b.alice.address);
        await expect(b.backstop.connect(b.admin).notifyIncome(1n))
          .to.be.revertedWithCustomError(b.backstop, "OnlyEngine")
          .withArgs(b.admin.address);
      });

      const status = async (bs: any) => {
        const w = await bs.coverWindowStatus();
        return [w.since, w.base, w.limit, w.used, w.remaining, w.exitsHeldUntil];
      };

      it("a cover pays at most maxCover = 30 % of assets; totalCovered, lastCoverAmount and lastCoverTime record it", async function () {
        const b = await networkHelpers.loadFixture(staked);
        expect(await b.backstop.maxCover()).to.equal(tokens(300n));
        const tx = b.backstop.connect(b.engine).cover(tokens(100n));
        await expect(tx).to.emit(b.backstop, "Covered").withArgs(tokens(100n), tokens(100n), tokens(900n));
        await expect(tx).to.changeTokenBalances(ethers, b.token, [b.engine, b.backstop], [tokens(100n), -tokens(100n)]);
        const t1 = await blockTime(await tx);
        await expect(tx).not.to.emit(b.backstop, "CoverLimitReached");
        expect(await b.backstop.maxCover(), "the base stays 1,000: 900 + the 100 covered").to.equal(tokens(200n));
        expect(await status(b.backstop)).to.deep.equal([
          t1 - DAY,
          tokens(1_000n),
          tokens(300n),
          tokens(100n),
          tokens(200n),
          t1 + DAY,
        ]);
        const tx2 = await b.backstop.connect(b.engine).cover(tokens(50n));
        const t2 = await blockTime(tx2);
        expect(t2).to.be.gt(t1);
        expect([
          await b.backstop.totalCovered(),
          await b.backstop.lastCoverAmount(),
          await b.backstop.lastCoverTime(),
          await b.backstop.totalAssets(),
          await b.backstop.coveredBetween(t1 - 1n, t2),
          await b.backstop.coveredBetween(t1, t2),
        ]).to.deep.equal([tokens(150n), tokens(50n), t2, tokens(850n), tokens(150n), tokens(50n)]);
      });

      it("rolling: the covers of any 24 hours take at most 30 % of the base; a cover exactly 24 h after another no longer counts it", async function () {
        const b = await networkHelpers.loadFixture(staked);
        const t1 = BigInt(await networkHelpers.time.latest()) + 10n;
        await networkHelpers.time.setNextBlockTimestamp(t1);
        await b.backstop.connect(b.engine).cover(tokens(200n));
        await networkHelpers.time.setNextBlockTimestamp(t1 + 3_600n);
        const tx = b.backstop.connect(b.engine).cover(tokens(5_000n));
        await expect(tx).to.emit(b.backstop, "Covered").withArgs(tokens(5_000n), tokens(100n), tokens(700n));
        await expect(tx)
          .to.emit(b.backstop, "CoverLimitReached")
          .withArgs(t1 + 3_600n - DAY, tokens(1_000n), tokens(300n), tokens(300n));
        expect(await b.backstop.maxCover()).to.equal(0n);
        // Full: a cover pays nothing, says why, and changes nothing.
        await networkHelpers.time.setNextBlockTimestamp(t1 + DAY - 1n);
        const full = b.backstop.connect(b.engine).cover(tokens(1n));
        await expect(full)
          .to.emit(b.backstop, "CoverLimitReached")
          .withArgs(t1 - 1n, tokens(1_000n), tokens(300n), tokens(300n));
        await expect(full).not.to.emit(b.backstop, "Covered");
        expect(await b.backstop.totalCovered()).to.equal(tokens(300n));
        // At t1 + 24 h the interval is (t1, t1 + 24 h]: the 200 of t1 is out, the 100 of t1 + 1 h still in.
        // Base 700 + 100 = 800, limit 240, remaining 140.
        await networkHelpers.time.setNextBlockTimestamp(t1 + DAY);
        const edge = b.backstop.connect(b.engine).cover(tokens(1_000n));
        await expect(edge).to.emit(b.backstop, "Covered").withArgs(tokens(1_000n), tokens(140n), tokens(560n));
        await expect(edge)
          .to.emit(b.backstop, "CoverLimitReached")
          .withArgs(t1, tokens(800n), tokens(240n), tokens(240n));
        // At t1 + 25 h the 100 is out too: base 560 + 140 = 700, limit 210, remaining 70.
        await networkHelpers.time.increaseTo(t1 + DAY + 3_600n);
        expect(await status(b.backstop)).to.deep.equal([
          t1 + 3_600n,
          tokens(700n),
          tokens(210n),
          tokens(140n),
          tokens(70n),
          t1 + 2n * DAY,
        ]);
      });

      it("edges: a cover of exactly the remaining capacity pays it all without CoverLimitReached; one unit more is cut by one", async function () {
        const b = await networkHelpers.loadFixture(staked);
        await expect(b.backstop.connect(b.engine).cover(tokens(300n)))
          .to.emit(b.backstop, "Covered")
          .withArgs(tokens(300n), tokens(300n), tokens(700n))
          .and.not.to.emit(b.backstop, "CoverLimitReached");
        const c = await networkHelpers.loadFixture(staked);
        const over = c.backstop.connect(c.engine).cover(tokens(300n) + 1n);
        await expect(over)
          .to.emit(c.backstop, "Covered")
          .withArgs(tokens(300n) + 1n, tokens(300n), tokens(700n));
        await expect(over).to.emit(c.backstop, "CoverLimitReached");
        await expect(over).to.emit(c.backstop, "LossRecorded").withArgs(1n, 1n);
      });

      it("a deposit during the interval raises the limit by 30 % of it (stake that came in is in the base); so does vested income", async function () {
        const b = await networkHelpers.loadFixture(staked);
        await b.backstop.connect(b.engine).cover(tokens(100n));
        await b.backstop.connect(b.bob).deposit(tokens(9_000n), b.bob);
        // Base 9,900 + 100 = 10,000: limit 3,000, 100 used.
        expect(await b.backstop.maxCover()).to.equal(tokens(2_900n));
      });

      it("coveredBetween(from, to) sums the covers in (from, to]; from > to reverts with InvalidInterval", async function () {
        const b = await networkHelpers.loadFixture(staked);
        const t1 = await blockTime(await b.backstop.connect(b.engine).cover(tokens(10n)));
        expect(await b.backstop.coveredBetween(t1, t1)).to.equal(0n);
        expect(await b.backstop.coveredBetween(t1 - 1n, t1)).to.equal(tokens(10n));
        expect(await b.backstop.coveredBetween(0n, ethers.MaxUint256), "a `to` past 2106 reads the latest").to.equal(
          tokens(10n),
        );
        await expect(b.backstop.coveredBetween(t1 + 1n, t1))
          .to.be.revertedWithCustomError(b.backstop, "InvalidInterval")
          .withArgs(t1 + 1n, t1);
      });

      it("setCoverWindow sets the window within [1 hour, 7 days] and emits CoverWindowUpdated; only the admin", async function () {
        const b = await networkHelpers.loadFixture(staked);
        expect(await b.backstop.coverWindow()).to.equal(DAY);
        await expect(b.backstop.connect(b.admin).setCoverWindow(3_599n))
          .to.be.revertedWithCustomError(b.backstop, "ParameterOutOfBounds")
          .withArgs(name("coverWindow"), 3_599n, 3_600n, 7n * DAY);
        await expect(b.backstop.connect(b.admin).setCoverWindow(7n * DAY + 1n))
          .to.be.revertedWithCustomError(b.backstop, "ParameterOutOfBounds")
          .withArgs(name("coverWindow"), 7n * DAY + 1n, 3_600n, 7n * DAY);
        await expect(b.backstop.connect(b.alice).setCoverWindow(3_600n))
          .to.be.revertedWithCustomError(b.backstop, "AccessControlUnauthorizedAccount")
          .withArgs(b.alice.address, ethers.ZeroHash);
        await expect(b.backstop.connect(b.admin).setCoverWindow(3_600n))
          .to.emit(b.backstop, "CoverWindowUpdated")
          .withArgs(3_600n);
        const t1 = await blockTime(await b.backstop.connect(b.engine).cover(tokens(300n)));
        expect((await b.backstop.coverWindowStatus()).exitsHeldUntil).to.equal(t1 + 3_600n);
        await networkHelpers.time.setNextBlockTimestamp(t1 + 3_600n);
        await expect(b.backstop.connect(b.engine).cover(tokens(1_000n)))
          .to.emit(b.backstop, "Covered")
          .withArgs(tokens(1_000n), tokens(210n), tokens(490n));
      });

      it("an empty backstop pays zero: no Covered, the loss recorded, no checkpoint", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        const tx = b.backstop.connect(b.engine).cover(tokens(1n));
        await expect(tx).not.to.emit(b.backstop, "Covered");
        await expect(tx).to.emit(b.backstop, "LossRecorded").withArgs(tokens(1n), tokens(1n));
        expect(await b.backstop.totalCovered()).to.equal(0n);
        expect((await b.backstop.coverWindowStatus()).exitsHeldUntil, "no cover: exits are free").to.equal(0n);
      });

      it("the minAssetsRemaining floor binds below the ratio", async function () {
        const b = await networkHelpers.loadFixture(staked);
        await b.backstop.connect(b.admin).setParameters(COOLDOWN, WINDOW, WAD / 2n, tokens(900n), INCOME_PERIOD);
        expect(await b.backstop.maxCover()).to.equal(tokens(100n));
        await expect(b.backstop.connect(b.engine).cover(tokens(500n)))
          .to.emit(b.backstop, "Covered")
          .withArgs(tokens(500n), tokens(100n), tokens(900n));
      });
    });

    describe("setParameters", function () {
      const ok = [COOLDOWN, WINDOW, (3n * WAD) / 10n, 0n, INCOME_PERIOD] as const;
      const cases: [string, number, bigint, bigint, bigint][] = [
        ["cooldownPeriod", 0, DAY - 1n, DAY, 30n * DAY],
        ["cooldownPeriod", 0, 30n * DAY + 1n, DAY, 30n * DAY],
        ["unstakeWindow", 1, 3_599n, 3_600n, 14n * DAY],
        ["unstakeWindow", 1, 14n * DAY + 1n, 3_600n, 14n * DAY],
        ["maxCoverRatio", 2, WAD / 2n + 1n, 0n, WAD / 2n],
        ["minAssetsRemaining", 3, 2n ** 128n, 0n, 2n ** 128n - 1n],
        ["incomePeriod", 4, 3_599n, 3_600n, 30n * DAY],
        ["incomePeriod", 4, 30n * DAY + 1n, 3_600n, 30n * DAY],
      ];
      for (const [param, index, value, lo, hi] of cases) {
        it(`setParameters reverts with ParameterOutOfBounds for ${param} = ${value}`, async function () {
          const b = await networkHelpers.loadFixture(fresh);
          const args = [...ok] as bigint[];
          args[index] = value;
          await expect(b.backstop.connect(b.admin).setParameters(...args))
            .to.be.revertedWithCustomError(b.backstop, "ParameterOutOfBounds")
            .withArgs(name(param), value, lo, hi);
        });
      }

      it("setParameters at the bounds succeeds, emits ParametersUpdated and sets every parameter; only the admin", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        const args = [DAY, 14n * DAY, WAD / 2n, tokens(5n), 3_600n] as const;
        await expect(b.backstop.connect(b.admin).setParameters(...args))
          .to.emit(b.backstop, "ParametersUpdated")
          .withArgs(...args);
        expect([
          await b.backstop.cooldownPeriod(),
          await b.backstop.unstakeWindow(),
          await b.backstop.maxCoverRatio(),
          await b.backstop.minAssetsRemaining(),
          await b.backstop.incomePeriod(),
        ]).to.deep.equal([...args]);
        await expect(b.backstop.connect(b.alice).setParameters(...ok))
          .to.be.revertedWithCustomError(b.backstop, "AccessControlUnauthorizedAccount")
          .withArgs(b.alice.address, ethers.ZeroHash);
      });
    });

    describe("leaving rules fixed at the request", function () {
      it("setParameters versions the leaving rules only when they change (LeaveRulesVersioned); earlier cooldowns keep their window", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        expect(await b.backstop.rulesVersion()).to.equal(0n);
        const same = b.backstop.connect(b.admin).setParameters(COOLDOWN, WINDOW, WAD / 2n, 0n, INCOME_PERIOD);
        await expect(same).not.to.emit(b.backstop, "LeaveRulesVersioned");
        expect(await b.backstop.rulesVersion()).to.equal(0n);
        await expect(b.backstop.connect(b.admin).setParameters(30n * DAY, DAY, WAD / 2n, 0n, INCOME_PERIOD))
          .to.emit(b.backstop, "LeaveRulesVersioned")
          .withArgs(1n, 30n * DAY, DAY);
        expect(await b.backstop.rulesVersion()).to.equal(1n);
        expect((await b.backstop.cooldowns(b.alice)).rulesVersion).to.equal(0n);
        const s = await b.backstop.cooldownStatus(b.alice);
        expect([s.windowStart, s.windowEnd]).to.deep.equal([b.windowStart, b.windowEnd]);
        // Bob's cooldown, requested now, runs on the new rules.
        const bobShares: bigint = await b.backstop.balanceOf(b.bob);
        const latest = BigInt(await networkHelpers.time.latest());
        await networkHelpers.time.setNextBlockTimestamp(latest + 1n);
        await expect(b.backstop.connect(b.bob).requestRedeem(bobShares, b.bob, b.bob))
          .to.emit(b.backstop, "CooldownStarted")
          .withArgs(b.bob.address, bobShares, tokens(1_000n), latest + 1n + 30n * DAY, latest + 1n + 31n * DAY);
        expect((await b.backstop.cooldowns(b.bob)).rulesVersion).to.equal(1n);
        await networkHelpers.time.increaseTo(b.windowStart);
        expect(await b.backstop.maxRedeem(b.alice), "Alice's window is open on her rules").to.equal(b.shares);
        expect(await b.backstop.maxRedeem(b.bob), "Bob's is not").to.equal(0n);
      });
    });

    describe("exits during a running cover window", function () {
      it("an exit must leave the window's remaining capacity plus the floor (ExitExceedsCoverReserve); maxWithdraw and maxRedeem include it; after the window it is free", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        await b.backstop
          .connect(b.admin)
          .setParameters(COOLDOWN, WINDOW, (3n * WAD) / 10n, tokens(1_000n), INCOME_PERIOD);
        await networkHelpers.time.setNextBlockTimestamp(b.windowStart);
        // The window opens on 2,000: limit 600, used 100; reserve 500 + floor 1,000 of the 1,900 left.
        await b.backstop.connect(b.engine).cover(tokens(100n));
        const available = tokens(400n);
        expect(await b.backstop.maxWithdraw(b.alice)).to.equal(available);
        const supply: bigint = await b.backstop.totalSupply();
        const maxShares = toShares(available, tokens(1_900n), supply);
        expect(await b.backstop.maxRedeem(b.alice)).to.equal(maxShares);
        await expect(b.backstop.connect(b.alice).withdraw(available + 1n, b.alice, b.alice))
          .to.be.revertedWithCustomError(b.backstop, "ExitExceedsCoverReserve")
          .withArgs(available + 1n, available);
        const capacity: bigint = await b.backstop.maxCover();
        expect(capacity).to.equal(tokens(500n));
        // The held exit stays in the rolling base, so it lowers no capacity.
        await expect(b.backstop.connect(b.alice).withdraw(available, b.alice, b.alice))
          .to.emit(b.backstop, "ExitHeldInBase")
          .withArgs(available, available);
        expect(await b.backstop.maxCover(), "the interval can still cover what it could").to.equal(capacity);
        expect((await b.backstop.coverWindowStatus()).base).to.equal(tokens(2_000n));
        expect(await b.backstop.maxWithdraw(b.alice)).to.equal(0n);
        await networkHelpers.time.increaseTo(b.windowStart + DAY - 1n);
        expect(await b.backstop.maxWithdraw(b.alice), "one second before the cover leaves the interval").to.equal(0n);
        // Once the cover has left the interval, the rest of the cooldown may leave, and is not held.
        await networkHelpers.time.increaseTo(b.windowStart + DAY);
        expect(await b.backstop.maxWithdraw(b.alice)).to.be.gt(0n);
        const rest: bigint = await b.backstop.maxRedeem(b.alice);
        const free = b.backstop.connect(b.alice).redeem(rest, b.alice, b.alice);
        await expect(free).to.emit(b.backstop, "Withdraw");
        await expect(free).not.to.emit(b.backstop, "ExitHeldInBase");
        expect(await b.backstop.balanceOf(b.backstop), "all of the request has left custody").to.equal(0n);
      });
    });

    describe("previews", function () {
      it("previewRedeem and previewWithdraw revert with AsyncRedeem; previewRedeemFor/previewWithdrawFor quote a controller's claim, which its operator receives", async function () {
        const b = await networkHelpers.loadFixture(twoStakersAliceCooling);
        await addIncome(b, tokens(200n));
        await networkHelpers.time.increaseTo(b.windowStart + 2n);
        const half = b.shares / 2n;
        await expect(b.backstop.connect(b.alice).previewRedeem(half)).to.be.revertedWithCustomError(
          b.backstop,
          "AsyncRedeem",
        );
        await expect(b.backstop.connect(b.alice).previewWithdraw(1n)).to.be.revertedWithCustomError(
          b.backstop,
          "AsyncRedeem",
        );
        // Income raised the price since the request: Alice's claim pays the value at request.
        const atRequest = (tokens(1_000n) * half) / b.shares;
        expect(await b.backstop.previewRedeemFor(b.alice, half)).to.equal(atRequest);
        const atNow: bigint = await b.backstop.convertToAssets(half);
        expect(atNow).to.be.gt(atRequest);
        expect(await b.backstop.previewRedeemFor(b.carol, half), "no request: the current price").to.equal(atNow);
        const assets = tokens(300n);
        const burns = (assets * b.shares + tokens(1_000n) - 1n) / tokens(1_000n);
        expect(await b.backstop.previewWithdrawFor(b.alice, assets)).to.equal(burns);
        const supply: bigint = await b.backstop.totalSupply();
        const ta: bigint = await b.backstop.totalAssets();
        expect(await b.backstop.previewWithdrawFor(b.carol, assets), "no request: the current price").to.equal(
          toShares(assets, ta, supply, true),
        );
        // An operator of Alice's claims what Alice's quote says, paid to whom the operator names.
        await expect(b.backstop.connect(b.carol).withdraw(assets, b.carol, b.alice))
          .to.be.revertedWithCustomError(b.backstop, "NotControllerOrOperator")
          .withArgs(b.alice.address, b.carol.address);
        await b.backstop.connect(b.alice).setOperator(b.carol, true);
        await expect(b.backstop.connect(b.carol).withdraw(assets, b.carol, b.alice))
          .to.emit(b.backstop, "Withdraw")
          .withArgs(b.carol.address, b.carol.address, b.alice.address, assets, burns);
      });

      it("redeem of shares worth nothing reverts with ExitPaysNothing and burns nothing", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        const start = await blockTime(await b.backstop.connect(b.alice).requestRedeem(1n, b.alice, b.alice));
        await networkHelpers.time.setNextBlockTimestamp(start + COOLDOWN);
        await expect(b.backstop.connect(b.alice).redeem(1n, b.alice, b.alice))
          .to.be.revertedWithCustomError(b.backstop, "ExitPaysNothing")
          .withArgs(1n);
        expect(await b.backstop.maxRedeem(b.alice)).to.equal(0n);
        expect(await b.backstop.previewRedeemFor(b.alice, 1n)).to.equal(0n);
      });
    });

    describe("income streaming", function () {
      /** Income notified at `t` vests over the epoch after t's: [from, until). */
      const vesting = (t: bigint, period = INCOME_PERIOD) => {
        const from = (t / period + 1n) * period;
        return [from, from + period];
      };

      it("income vests linearly over the epoch after its own: totalAssets, incomeStreaming and incomeSchedule", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        const income = tokens(700n) + 3n; // not a multiple of the period: the vested part rounds down
        await b.token.connect(b.engine).transfer(b.backstop, income);
        const tx = b.backstop.connect(b.engine).notifyIncome(income);
        const [from, until] = vesting(await blockTime(await tx));
        await expect(tx).to.emit(b.backstop, "IncomeAdded").withArgs(income, from, until);
        expect(await b.backstop.incomeSchedule()).to.deep.equal([0n, 0n, 0n, income, from]);
        await networkHelpers.time.increaseTo(from - 1n);
        expect(await b.backstop.totalAssets(), "nothing vests during its own epoch").to.equal(tokens(1_000n));
        expect(await b.backstop.incomeStreaming()).to.equal(income);
        await networkHelpers.time.increaseTo(from);
        expect(await b.backstop.incomeSchedule(), "pending rolls into the stream at its start").to.deep.equal([
          income,
          from,
          until,
          0n,
          0n,
        ]);
        for (const elapsed of [1n, INCOME_PERIOD / 4n, INCOME_PERIOD / 2n, INCOME_PERIOD - 1n]) {
          await networkHelpers.time.increaseTo(from + elapsed);
          const vested = (income * elapsed) / INCOME_PERIOD;
          expect(await b.backstop.totalAssets(), `at ${elapsed}s`).to.equal(tokens(1_000n) + vested);
          expect(await b.backstop.incomeStreaming(), `at ${elapsed}s`).to.equal(income - vested);
        }
        await networkHelpers.time.increaseTo(until);
        expect(await b.backstop.totalAssets()).to.equal(tokens(1_000n) + income);
        expect(await b.backstop.incomeStreaming()).to.equal(0n);
        expect(await b.token.balanceOf(b.backstop)).to.equal(tokens(1_000n) + income);
      });

      it("issue 18.2: one notification or ten at other times in the same epoch give the same totalAssets at every later time; later income does not stretch earlier income", async function () {
        const one = await standaloneBackstop(decimals);
        const ten = await standaloneBackstop(decimals);
        const twice = await standaloneBackstop(decimals);
        for (const b of [one, ten, twice]) await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        const [epochStart] = vesting(BigInt(await networkHelpers.time.latest()));
        const income = tokens(700n) + 7n;
        // `one`: all of it near the epoch's end; `ten`: ten parts through the epoch (the last one takes the
        // rest); `twice`: all of it at the start, and more income in the next epoch.
        const part = income / 10n;
        for (let i = 0n; i < 10n; i++) {
          await networkHelpers.time.setNextBlockTimestamp(epochStart + 1n + i * (INCOME_PERIOD / 10n));
          await addIncome(ten, i === 9n ? income - 9n * part : part);
          if (i === 0n) await addIncome(twice, income);
        }
        // addIncome is two blocks (transfer, notify): the notification lands in the epoch's last second.
        await networkHelpers.time.setNextBlockTimestamp(epochStart + INCOME_PERIOD - 2n);
        await addIncome(one, income);
        await networkHelpers.time.setNextBlockTimestamp(epochStart + INCOME_PERIOD + 5n);
        await addIncome(twice, tokens(5_000n)); // vests in the epoch after: not before epochStart + 2 periods
        // From 10 s into the vesting epoch (after the blocks above) to past its end.
        for (const dt of [
          10n,
          11n,
          3_601n,
          INCOME_PERIOD / 3n,
          INCOME_PERIOD - 1n,
          INCOME_PERIOD,
          2n * INCOME_PERIOD,
        ]) {
          const t = epochStart + INCOME_PERIOD + dt;
          await networkHelpers.time.increaseTo(t);
          const expected = tokens(1_000n) + (dt >= INCOME_PERIOD ? income : (income * dt) / INCOME_PERIOD);
          const a: bigint = await one.backstop.totalAssets();
          expect(a, `one, at +${dt}s`).to.equal(expected);
          expect(await ten.backstop.totalAssets(), `ten = one at +${dt}s`).to.equal(a);
          if (dt < INCOME_PERIOD) {
            expect(await twice.backstop.totalAssets(), `twice = one at +${dt}s`).to.equal(a);
          }
        }
      });

      it("defence: staking just before income arrives earns only the time-weighted share, from the income's vesting on", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        await b.backstop.connect(b.bob).deposit(tokens(1_000n), b.bob);
        const bobShares: bigint = await b.backstop.balanceOf(b.bob);
        const [from, until] = vesting(await blockTime(await addIncome(b, tokens(700n))));
        expect(await b.backstop.convertToAssets(bobShares), "nothing at once").to.equal(tokens(1_000n));
        await networkHelpers.time.increaseTo(from);
        expect(await b.backstop.convertToAssets(bobShares), "nothing before its epoch").to.equal(tokens(1_000n));
        await networkHelpers.time.increaseTo(from + INCOME_PERIOD / 2n);
        expect(await b.backstop.convertToAssets(bobShares), "half of his half at half-time").to.be.closeTo(
          tokens(1_175n),
          1n,
        );
        await networkHelpers.time.increaseTo(until);
        expect(await b.backstop.convertToAssets(bobShares)).to.be.closeTo(tokens(1_350n), 1n);
      });

      it("a cover mid-stream books what has vested and leaves the rest streaming", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        const [from, until] = vesting(await blockTime(await addIncome(b, tokens(700n))));
        await networkHelpers.time.setNextBlockTimestamp(from + INCOME_PERIOD / 2n);
        // Assets then: 1,000 + 350 vested; the cap is 30 % of 1,350.
        await expect(b.backstop.connect(b.engine).cover(tokens(1_000n)))
          .to.emit(b.backstop, "Covered")
          .withArgs(tokens(1_000n), tokens(405n), tokens(945n));
        expect(await b.backstop.incomeStreaming()).to.equal(tokens(350n));
        await networkHelpers.time.increaseTo(until);
        expect(await b.backstop.totalAssets()).to.equal(tokens(1_295n));
      });

      it("an incomePeriod change moves pending income to the end of the new period's epoch (IncomeRescheduled); none if nothing pends or the period stays", async function () {
        const b = await networkHelpers.loadFixture(fresh);
        await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
        const same = b.backstop.connect(b.admin).setParameters(COOLDOWN, WINDOW, (3n * WAD) / 10n, 0n, DAY);
        await expect(same, "nothing pending").not.to.emit(b.backstop, "IncomeRescheduled");
        await addIncome(b, tokens(70n));
        const keep = b.backstop.connect(b.admin).setParameters(COOLDOWN, WINDOW, (3n * WAD) / 10n, 0n, DAY);
        await expect(keep, "the period stays").not.to.emit(b.backstop, "IncomeRescheduled");
        const tx = b.backstop.connect(b.admin).setParameters(COOLDOWN, WINDOW, (3n * WAD) / 10n, 0n, 3_600n);
        const [from, until] = vesting(await blockTime(await tx), 3_600n);
        await expect(tx).to.emit(b.backstop, "IncomeRescheduled").withArgs(tokens(70n), from, until);
        await networkHelpers.time.increaseTo(until);
        expect(await b.backstop.totalAssets()).to.equal(tokens(1_070n));
      });
    });

    describe("coverageRatio", function () {
      it("coverageRatio is max with no open interest, then assets / open-interest notional (rounded down)", async function () {
        const s = await deploySystem({ decimals });
        await lpDeposit(s, s.lp, tokens(1_000_000n));
        await s.backstop.connect(s.staker).deposit(tokens(10_000n), s.staker);
        expect(await s.lens.coverageRatio()).to.equal(ethers.MaxUint256);
        await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, tokens(3_000n));
        await s.orders.connect(s.bob).openPosition(ETH, -7n * WAD, tokens(3_000n));
        // Open interest 17 ETH x $3,000 = 51,000 tokens.
        expect(await s.lens.coverageRatio()).to.equal((tokens(10_000n) * WAD) / tokens(51_000n));
      });
    });

    it("backstop value ignores its token balance: its balance always covers totalAssets", async function () {
      const b = await networkHelpers.loadFixture(fresh);
      await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
      await addIncome(b, tokens(100n));
      await b.backstop.connect(b.engine).cover(tokens(200n));
      await networkHelpers.time.increase(2n * INCOME_PERIOD);
      expect(await b.token.balanceOf(b.backstop)).to.be.gte(await b.backstop.totalAssets());
      expect(await b.backstop.totalAssets()).to.equal(tokens(900n));
    });
  });
}
