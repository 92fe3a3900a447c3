import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import { expect } from "chai";
import { BTC, ETH, ethers, feedPrice, networkHelpers, WAD } from "./helpers/system.js";
import { fundedNoFunding18, fundedNoFunding6, mulDivDown } from "./helpers/trading.js";
import { executeLpRequest, lpDelay, lpDeposit, pushRounds } from "./helpers/lp.js";

const OFFSET = 10n ** 6n; // virtual shares of the vault's 6-decimal offset
const DELAY = 30n; // InstantOrders.minDelay
const MAX_AGE = 3_600n; // InstantOrders.maxAge
const HOLD = 3_600n; // LiquidityVault.EXIT_HOLD
const sharesForDeposit = (assets: bigint, supply: bigint, total: bigint) =>
  mulDivDown(assets, supply + OFFSET, total + 1n);
const assetsForRedeem = (shares: bigint, supply: bigint, total: bigint) =>
  mulDivDown(shares, total + 1n, supply + OFFSET);

/** 1M in the pool, funding off (borrowing is off by default), and Alice long 10 ETH at $3,000: LPs use requests. */
async function withPosition() {
  const s = await fundedNoFunding6();
  await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, 3_000n * s.unit);
  return s;
}

describe("LiquidityVault requests (positions open)", function () {
  it("the delay and life come from the wired orders contract (InstantOrders: 30 s, an hour)", async function () {
    const s = await networkHelpers.loadFixture(withPosition);
    expect(await lpDelay(s)).to.equal(DELAY);
    expect(await s.orders.maxAge()).to.equal(MAX_AGE);
  });

  it("requestDeposit escrows the tokens in the vault and emits LpRequested; executeRequest (by an executor) books them and mints the shares to the vault, claimable (LpRequestExecuted); the claim sends them and emits Deposit", async function () {
    const s = await networkHelpers.loadFixture(withPosition);
    const assets = 10_000n * s.unit;
    const tx = s.vault.connect(s.bob).requestDepositWithLimit(assets, s.bob.address, s.bob.address, 0n, 0n);
    await expect(tx).to.changeTokenBalances(ethers, s.token, [s.bob, s.vault], [-assets, assets]);
    const at = BigInt(await networkHelpers.time.latest());
    await expect(tx)
      .to.emit(s.vault, "LpRequested")
      .withArgs(s.bob.address, false, assets, 0n, 0n, at + DELAY, at + MAX_AGE);
    const r = await s.vault.lpRequest(s.bob);
    expect([r.amount, r.notBefore, r.expiresAt, r.redeem]).to.deep.equal([assets, at + DELAY, at + MAX_AGE, false]);
    expect(await s.vault.balanceOf(s.bob)).to.equal(0n);

    await networkHelpers.time.increase(DELAY);
    const rounds = await pushRounds(s);
    expect(rounds[Number(BTC)]).to.equal(0n); // no BTC positions: no round needed
    const [supply, total, lpBalance] = [
      await s.vault.totalSupply(),
      await s.vault.totalAssets(),
      await s.engine.lpBalance(),
    ];
    const shares = sharesForDeposit(assets, supply, total);
    const exec = s.vault.connect(s.keeper).executeRequest(s.bob, rounds);
    await expect(exec).to.emit(s.vault, "LpRequestExecuted").withArgs(s.bob.address, false, assets, shares, total, 0n);
    await expect(exec).not.to.emit(s.vault, "Deposit");
    expect(await s.vault.balanceOf(s.bob)).to.equal(0n);
    expect(await s.vault.balanceOf(s.vault), "the shares wait in the vault").to.equal(shares);
    const claimable = await s.vault.lpDeposit(s.bob);
    expect([claimable.assets, claimable.shares]).to.deep.equal([assets, shares]);
    expect(await s.engine.lpBalance()).to.equal(lpBalance + assets);
    expect(await s.token.balanceOf(s.vault)).to.equal(0n);
    expect((await s.vault.lpRequest(s.bob)).amount).to.equal(0n);
    // The claim's Deposit names the LP who asked (the controller), not the executor.
    await expect(s.vault.connect(s.bob)["deposit(uint256,address)"](assets, s.bob))
      .to.emit(s.vault, "Deposit")
      .withArgs(s.bob.address, s.bob.address, assets, shares);
    expect(await s.vault.balanceOf(s.bob)).to.equal(shares);
    expect(await s.vault.balanceOf(s.vault)).to.equal(0n);
  });

  it("the owner's limit: one share (or unit) short of it cancels the request at execution and returns the whole escrow; exactly at it executes", async function () {
    const s = await networkHelpers.loadFixture(withPosition);
    // Nothing moves the pool between request and execution (no funding, no borrowing, no price move), so
    // what the request would get is known at the request.
    const quote = async () => [await s.vault.totalSupply(), await s.vault.totalAssets()] as const;
    const assets = 10_000n * s.unit;
    let [supply, total] = await quote();
    const shares = sharesForDeposit(assets, supply, total);
    const bobBefore = await s.token.balanceOf(s.bob);
    await s.vault.connect(s.bob).requestDepositWithLimit(assets, s.bob.address, s.bob.address, shares + 1n, 0n);
    expect((await s.vault.lpRequest(s.bob)).limit).to.equal(shares + 1n);
    await networkHelpers.time.increase(DELAY);
    await expect(s.vault.connect(s.keeper).executeRequest(s.bob, await pushRounds(s)))
      .to.emit(s.vault, "LpRequestRefused")
      .withArgs(s.bob.address, false, shares, shares + 1n, 0n)
      .and.not.to.emit(s.vault, "Deposit");
    expect(await s.token.balanceOf(s.bob)).to.equal(bobBefore);
    expect(await s.vault.balanceOf(s.bob)).to.equal(0n);
    expect((await s.vault.lpRequest(s.bob)).amount).to.equal(0n);
    await s.vault.connect(s.bob).requestDepositWithLimit(assets, s.bob.address, s.bob.address, shares, 0n);
    await networkHelpers.time.increase(DELAY);
    await expect(s.vault.connect(s.keeper).executeRequest(s.bob, await pushRounds(s)))
      .to.emit(s.vault, "LpRequestExecuted")
      .withArgs(s.bob.address, false, assets, shares, anyValue, 0n);
    await s.vault.connect(s.bob)["deposit(uint256,address)"](assets, s.bob);

    // A redemption, bounded by the assets out.
    [supply, total] = await quote();
    const out = assetsForRedeem(shares, supply, total);
    await s.vault.connect(s.bob).requestRedeemWithLimit(shares, s.bob.address, s.bob.address, out + 1n, 0n);
    await networkHelpers.time.increase(DELAY);
    await expect(s.vault.connect(s.keeper).executeRequest(s.bob, await pushRounds(s)))
      .to.emit(s.vault, "LpRequestRefused")
      .withArgs(s.bob.address, true, out, out + 1n, 0n);
    expect(await s.vault.balanceOf(s.bob)).to.equal(shares);
    await s.vault.connect(s.bob).requestRedeemWithLimit(shares, s.bob.address, s.bob.address, out, 0n);
    await networkHelpers.time.increase(DELAY);
    await expect(s.vault.connect(s.keeper).executeRequest(s.bob, await pushRounds(s)))
      .to.emit(s.vault, "LpExitHeld")
      .withArgs(s.bob.address, shares, out, anyValue);
  });

  it("requestRedeem escrows the shares in the vault; executeRequest holds the assets beside the pool with the shares still in the supply (LpRequestExecuted, LpExitHeld)", async function () {
    const s = await networkHelpers.loadFixture(withPosition);
    const shares = 5_000n * s.unit * OFFSET;
    const owned = await s.vault.balanceOf(s.lp);
    const tx = await s.vault.connect(s.lp).requestRedeemWithLimit(shares, s.lp.address, s.lp.address, 0n, 0n);
    const at = BigInt(await networkHelpers.time.latest());
    await expect(tx)
      .to.emit(s.vault, "LpRequested")
      .withArgs(s.lp.address, true, shares, 0n, 0n, at + DELAY, at + MAX_AGE);
    expect(await s.vault.balanceOf(s.lp)).to.equal(owned - shares);
    expect(await s.vault.balanceOf(s.vault)).to.equal(shares);

    await networkHelpers.time.increase(DELAY);
    const rounds = await pushRounds(s);
    const [supply, total] = [await s.vault.totalSupply(), await s.vault.totalAssets()];
    const assets = assetsForRedeem(shares, supply, total);
    const lpBalance: bigint = await s.engine.lpBalance();
    const exec = s.vault.connect(s.keeper).executeRequest(s.lp, rounds);
    await expect(exec).to.changeTokenBalances(ethers, s.token, [s.lp, s.vault], [0n, assets]);
    const executedAt = BigInt(await networkHelpers.time.latest());
    await expect(exec).to.emit(s.vault, "LpRequestExecuted").withArgs(s.lp.address, true, assets, shares, total, 0n);
    await expect(exec)
      .to.emit(s.vault, "LpExitHeld")
      .withArgs(s.lp.address, shares, assets, executedAt + HOLD);
    await expect(exec).not.to.emit(s.vault, "Withdraw");
    expect(await s.engine.lpBalance(), "the assets left the pool's free liquidity").to.equal(lpBalance - assets);
    expect(await s.vault.heldAssets()).to.equal(assets);
    expect(await s.vault.totalSupply(), "the shares are still in the supply").to.equal(supply);
    expect(await s.vault.balanceOf(s.vault)).to.equal(shares);
    const exit = await s.vault.lpExit(s.lp);
    expect([exit.shares, exit.assets, exit.claimableAt]).to.deep.equal([shares, assets, executedAt + HOLD]);
  });

  describe("held exits (EXIT_HOLD)", function () {
    /** The fixture's LP redeems 5,000's worth of shares, executed at once; returns the held exit. */
    async function heldExit() {
      const s = await networkHelpers.loadFixture(withPosition);
      const shares = 5_000n * s.unit * OFFSET;
      await s.vault.connect(s.lp).requestRedeemWithLimit(shares, s.lp.address, s.lp.address, 0n, 0n);
      await executeLpRequest(s, s.lp);
      return { s, shares, exit: await s.vault.lpExit(s.lp) };
    }

    it("the hold is an hour: a claim one second before its end is refused (LpExitNotClaimable), at its end it pays", async function () {
      const { s, exit } = await heldExit();
      expect(await s.vault.EXIT_HOLD()).to.equal(HOLD);
      await networkHelpers.time.increaseTo(exit.claimableAt - 10n);
      await pushRounds(s);
      await networkHelpers.time.setNextBlockTimestamp(exit.claimableAt - 1n);
      await expect(s.vault.connect(s.lp).redeem(exit.shares, s.lp, s.lp))
        .to.be.revertedWithCustomError(s.vault, "LpExitNotClaimable")
        .withArgs(s.lp.address, exit.claimableAt);
      await networkHelpers.time.setNextBlockTimestamp(exit.claimableAt);
      await expect(s.vault.connect(s.lp).redeem(exit.shares, s.lp, s.lp)).to.emit(s.vault, "LpExitClaimed");
    });

    it("a claim burns the shares and pays the assets it was executed at when the shares are worth at least that (Withdraw, LpExitClaimed); the rest stays in the pool", async function () {
      const { s, shares, exit } = await heldExit();
      await networkHelpers.time.increaseTo(exit.claimableAt);
      await pushRounds(s);
      await s.ethFeed.updateAnswer(feedPrice(2_900)); // Alice's long loses 1,000: the pool gains it
      const value = await s.vault.convertToAssets(shares);
      expect(value).to.be.greaterThan(exit.assets);
      const [supply, lpBalance] = [await s.vault.totalSupply(), await s.engine.lpBalance()];
      const claim = s.vault.connect(s.lp).redeem(shares, s.carol, s.lp);
      await expect(claim).to.changeTokenBalances(ethers, s.token, [s.carol, s.vault], [exit.assets, -exit.assets]);
      await expect(claim)
        .to.emit(s.vault, "Withdraw")
        .withArgs(s.lp.address, s.carol.address, s.lp.address, exit.assets, shares);
      await expect(claim)
        .to.emit(s.vault, "LpExitClaimed")
        .withArgs(s.lp.address, s.carol.address, shares, exit.assets, exit.assets);
      expect(await s.vault.totalSupply()).to.equal(supply - shares);
      expect(await s.vault.heldAssets()).to.equal(0n);
      expect(await s.engine.lpBalance(), "what the shares earned beyond it stays in the pool").to.equal(lpBalance);
      expect((await s.vault.lpExit(s.lp)).shares).to.equal(0n);
      await expect(s.vault.connect(s.lp).redeem(shares, s.lp, s.lp))
        .to.be.revertedWithCustomError(s.vault, "NoLpExit")
        .withArgs(s.lp.address);
    });

    it("a loss that lands during the hold reaches the held shares: the claim pays their value, and the rest of the held assets goes back to the pool", async function () {
      const { s, shares, exit } = await heldExit();
      await networkHelpers.time.increaseTo(exit.claimableAt);
      await pushRounds(s);
      await s.ethFeed.updateAnswer(feedPrice(3_300)); // Alice's long gains 1,000: the pool loses it
      const value = await s.vault.convertToAssets(shares);
      expect(value).to.be.lessThan(exit.assets);
      const lpBalance: bigint = await s.engine.lpBalance();
      const claim = s.vault.connect(s.lp).redeem(shares, s.lp, s.lp);
      await expect(claim).to.changeTokenBalance(ethers, s.token, s.lp, value);
      await expect(claim)
        .to.emit(s.vault, "LpExitClaimed")
        .withArgs(s.lp.address, s.lp.address, shares, exit.assets, value);
      expect(await s.engine.lpBalance()).to.equal(lpBalance + exit.assets - value);
      expect(await s.vault.heldAssets()).to.equal(0n);
    });

    it("a second redemption cannot be requested while the held exit is unclaimed (LpExitUnclaimed), during its hold or after; once claimed it can", async function () {
      const { s, shares, exit } = await heldExit();
      await expect(s.vault.connect(s.lp).requestRedeemWithLimit(shares, s.lp.address, s.lp.address, 0n, 0n))
        .to.be.revertedWithCustomError(s.vault, "LpExitUnclaimed")
        .withArgs(s.lp.address);
      await networkHelpers.time.increaseTo(exit.claimableAt);
      await expect(s.vault.connect(s.lp).requestRedeem(shares, s.lp, s.lp))
        .to.be.revertedWithCustomError(s.vault, "LpExitUnclaimed")
        .withArgs(s.lp.address);
      const held = await s.vault.lpExit(s.lp);
      expect([held.shares, held.assets, held.claimableAt]).to.deep.equal([exit.shares, exit.assets, exit.claimableAt]);
      await pushRounds(s);
      await s.vault.connect(s.lp).redeem(shares, s.lp, s.lp);
      await s.vault.connect(s.lp).requestRedeemWithLimit(shares, s.lp.address, s.lp.address, 0n, 0n);
      const { assets } = await executeLpRequest(s, s.lp);
      const next = await s.vault.lpExit(s.lp);
      expect([next.shares, next.assets]).to.deep.equal([shares, assets]);
      expect(next.claimableAt).to.equal(BigInt(await networkHelpers.time.latest()) + HOLD);
      expect(await s.vault.heldAssets()).to.equal(assets);
    });

    it("a held exit is one word: a redemption of more than 2^112 shares is refused at execution (SafeCast) and can be split", async function () {
      // 18 decimals: 2^112 shares are about 5.2e9 tokens at the 6-decimal offset. Dave deposits 6e9 before any
      // position, then Alice opens one, so that his exit goes by request.
      const s = await fundedNoFunding18();
      const big = 6_000_000_000n * s.unit;
      await s.token.mint(s.dave, big);
      await s.token.connect(s.dave).approve(s.vault, big);
      await lpDeposit(s, s.dave, big);
      await s.orders.connect(s.alice).openPosition(ETH, 10n * WAD, 3_000n * s.unit);
      const shares: bigint = await s.vault.balanceOf(s.dave);
      expect(shares).to.be.greaterThan(2n ** 112n);
      await s.vault.connect(s.dave).requestRedeemWithLimit(shares, s.dave.address, s.dave.address, 0n, 0n);
      const { notBefore } = await s.vault.lpRequest(s.dave);
      await networkHelpers.time.increaseTo(notBefore);
      await expect(s.vault.connect(s.keeper).executeRequest(s.dave, await pushRounds(s)))
        .to.be.revertedWithCustomError(s.vault, "SafeCastOverflowedUintDowncast")
        .withArgs(112, shares);
      await networkHelpers.time.increaseTo((await s.vault.lpRequest(s.dave)).expiresAt + 1n);
      await s.vault.cancelRequest(s.dave);
      await s.vault.connect(s.dave).requestRedeemWithLimit(2n ** 112n - 1n, s.dave.address, s.dave.address, 0n, 0n);
      const { assets } = await executeLpRequest(s, s.dave);
      expect((await s.vault.lpExit(s.dave)).shares).to.equal(2n ** 112n - 1n);
      expect(assets).to.be.greaterThan(5_000_000_000n * s.unit);
    });

    it("redeem refuses the zero receiver (ZeroReceiver), a controller with nothing held (NoLpExit), and another account's exit is not the caller's to claim (NotControllerOrOperator)", async function () {
      const { s, exit } = await heldExit();
      await networkHelpers.time.increaseTo(exit.claimableAt);
      await pushRounds(s);
      await expect(s.vault.connect(s.lp).redeem(exit.shares, ethers.ZeroAddress, s.lp)).to.be.revertedWithCustomError(
        s.vault,
        "ZeroReceiver",
      );
      await expect(s.vault.connect(s.bob).redeem(exit.shares, s.bob, s.bob))
        .to.be.revertedWithCustomError(s.vault, "NoLpExit")
        .withArgs(s.bob.address);
      await expect(s.vault.connect(s.bob).redeem(exit.shares, s.bob, s.lp))
        .to.be.revertedWithCustomError(s.vault, "NotControllerOrOperator")
        .withArgs(s.lp.address, s.bob.address);
      expect((await s.vault.lpExit(s.lp)).shares, "nothing changed").to.equal(exit.shares);
    });
  });

  describe("worse-of pricing", function () {
    it("a deposit executed after the mark rose (the long lost) buys at the higher current mark", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      const assets = 10_000n * s.unit;
      await s.vault.connect(s.bob).requestDepositWithLimit(assets, s.bob.address, s.bob.address, 0n, 0n);
      await networkHelpers.time.increase(DELAY);
      const rounds = await pushRounds(s); // the first round: $3,000
      const atRound = await s.vault.totalAssets();
      await s.ethFeed.updateAnswer(feedPrice(2_900)); // Alice loses 1,000: the pool is worth more now
      const current = await s.vault.totalAssets();
      expect(current).to.equal(atRound + 1_000n * s.unit);
      const shares = sharesForDeposit(assets, await s.vault.totalSupply(), current);
      await expect(s.vault.connect(s.keeper).executeRequest(s.bob, rounds))
        .to.emit(s.vault, "LpRequestExecuted")
        .withArgs(s.bob.address, false, assets, shares, current, 0n);
      expect(shares).to.be.lessThan(sharesForDeposit(assets, await s.vault.totalSupply(), atRound));
    });

    it("a deposit whose round marked higher than now buys at the round's mark", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      const assets = 10_000n * s.unit;
      await s.vault.connect(s.bob).requestDepositWithLimit(assets, s.bob.address, s.bob.address, 0n, 0n);
      await networkHelpers.time.increase(DELAY);
      await s.ethFeed.updateAnswer(feedPrice(2_900)); // the first round: the pool marked 1,000 higher
      const rounds = [await s.ethFeed.latestRound(), 0n];
      const atRound = await s.vault.totalAssets();
      await s.ethFeed.updateAnswer(feedPrice(3_000));
      expect(await s.vault.totalAssets()).to.equal(atRound - 1_000n * s.unit);
      const shares = sharesForDeposit(assets, await s.vault.totalSupply(), atRound);
      await expect(s.vault.connect(s.keeper).executeRequest(s.bob, rounds))
        .to.emit(s.vault, "LpRequestExecuted")
        .withArgs(s.bob.address, false, assets, shares, atRound, 0n);
    });

    it("a redemption executed after the mark fell (the long gained) gets the lower current mark", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      const shares = 5_000n * s.unit * OFFSET;
      await s.vault.connect(s.lp).requestRedeemWithLimit(shares, s.lp.address, s.lp.address, 0n, 0n);
      await networkHelpers.time.increase(DELAY);
      const rounds = await pushRounds(s);
      const atRound = await s.vault.totalAssets();
      await s.ethFeed.updateAnswer(feedPrice(3_100)); // Alice gains 1,000: the pool is worth less now
      const current = await s.vault.totalAssets();
      expect(current).to.equal(atRound - 1_000n * s.unit);
      const assets = assetsForRedeem(shares, await s.vault.totalSupply(), current);
      await expect(s.vault.connect(s.keeper).executeRequest(s.lp, rounds))
        .to.emit(s.vault, "LpRequestExecuted")
        .withArgs(s.lp.address, true, assets, shares, current, 0n);
      expect(assets).to.be.lessThan(assetsForRedeem(shares, await s.vault.totalSupply(), atRound));
    });

    it("a redemption whose round marked lower than now gets the round's mark", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      const shares = 5_000n * s.unit * OFFSET;
      await s.vault.connect(s.lp).requestRedeemWithLimit(shares, s.lp.address, s.lp.address, 0n, 0n);
      await networkHelpers.time.increase(DELAY);
      await s.ethFeed.updateAnswer(feedPrice(3_100));
      const rounds = [await s.ethFeed.latestRound(), 0n];
      const atRound = await s.vault.totalAssets();
      await s.ethFeed.updateAnswer(feedPrice(3_000));
      const assets = assetsForRedeem(shares, await s.vault.totalSupply(), atRound);
      await expect(s.vault.connect(s.keeper).executeRequest(s.lp, rounds))
        .to.emit(s.vault, "LpRequestExecuted")
        .withArgs(s.lp.address, true, assets, shares, atRound, 0n);
    });
  });

  describe("rounds", function () {
    it("reverts with the oracle's RoundTooEarly for a round before notBefore, and NotFirstRound for a later one than the first", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      await s.vault.connect(s.bob).requestDepositWithLimit(s.unit, s.bob.address, s.bob.address, 0n, 0n);
      const { notBefore } = await s.vault.lpRequest(s.bob);
      const early = await s.ethFeed.latestRound();
      const [, , , earlyAt] = await s.ethFeed.getRoundData(early);
      await networkHelpers.time.increase(DELAY);
      await expect(s.vault.connect(s.keeper).executeRequest(s.bob, [early, 0n]))
        .to.be.revertedWithCustomError(s.ethOracle, "RoundTooEarly")
        .withArgs(early, earlyAt, notBefore);
      const [first] = await pushRounds(s);
      const [second] = await pushRounds(s);
      const [, , , firstAt] = await s.ethFeed.getRoundData(first);
      await expect(s.vault.connect(s.keeper).executeRequest(s.bob, [second, 0n]))
        .to.be.revertedWithCustomError(s.ethOracle, "NotFirstRound")
        .withArgs(second, firstAt);
      await expect(s.vault.connect(s.keeper).executeRequest(s.bob, [first, 0n])).to.emit(s.vault, "LpRequestExecuted");
    });

    it("reverts with RoundCount when the array's length is not the number of markets", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      await s.vault.connect(s.bob).requestDepositWithLimit(s.unit, s.bob.address, s.bob.address, 0n, 0n);
      await networkHelpers.time.increase(DELAY);
      const rounds = await pushRounds(s);
      await expect(s.vault.connect(s.keeper).executeRequest(s.bob, [rounds[0]]))
        .to.be.revertedWithCustomError(s.vault, "RoundCount")
        .withArgs(1n, 2n);
      await expect(s.vault.connect(s.keeper).executeRequest(s.bob, [...rounds, 0n]))
        .to.be.revertedWithCustomError(s.vault, "RoundCount")
        .withArgs(3n, 2n);
    });

    it("a settled market needs no round: it is marked at its settlement price", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      await s.engine.settleMarket(ETH, 0n); // at the oracle's current price, $3,000; Alice's long stays open
      expect(await s.vault.maxRedeem(s.lp)).to.equal(0n); // nothing held: maxRedeem is the claimable exit only
      const shares = 1_000n * s.unit * OFFSET;
      await s.vault.connect(s.lp).requestRedeemWithLimit(shares, s.lp.address, s.lp.address, 0n, 0n);
      await networkHelpers.time.increase(DELAY);
      const total = await s.vault.totalAssets();
      const assets = assetsForRedeem(shares, await s.vault.totalSupply(), total);
      // No round of any feed is given (nor pushed).
      await expect(s.vault.connect(s.keeper).executeRequest(s.lp, [0n, 0n]))
        .to.emit(s.vault, "LpRequestExecuted")
        .withArgs(s.lp.address, true, assets, shares, total, 0n);
    });
  });

  describe("request state", function () {
    it("reverts with ZeroAmount on a request of nothing", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      await expect(
        s.vault.connect(s.bob).requestDepositWithLimit(0n, s.bob.address, s.bob.address, 0n, 0n),
      ).to.be.revertedWithCustomError(s.vault, "ZeroAmount");
      await expect(
        s.vault.connect(s.lp).requestRedeemWithLimit(0n, s.lp.address, s.lp.address, 0n, 0n),
      ).to.be.revertedWithCustomError(s.vault, "ZeroAmount");
    });

    it("reverts with LpRequestPending on a second request of either kind", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      await s.vault.connect(s.lp).requestDepositWithLimit(s.unit, s.lp.address, s.lp.address, 0n, 0n);
      await expect(s.vault.connect(s.lp).requestDepositWithLimit(s.unit, s.lp.address, s.lp.address, 0n, 0n))
        .to.be.revertedWithCustomError(s.vault, "LpRequestPending")
        .withArgs(s.lp.address);
      await expect(s.vault.connect(s.lp).requestRedeemWithLimit(OFFSET, s.lp.address, s.lp.address, 0n, 0n))
        .to.be.revertedWithCustomError(s.vault, "LpRequestPending")
        .withArgs(s.lp.address);
    });

    it("reverts with NoLpRequest on executing or cancelling without a request", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      await expect(s.vault.connect(s.keeper).executeRequest(s.carol, [0n, 0n]))
        .to.be.revertedWithCustomError(s.vault, "NoLpRequest")
        .withArgs(s.carol.address);
      await expect(s.vault.cancelRequest(s.carol))
        .to.be.revertedWithCustomError(s.vault, "NoLpRequest")
        .withArgs(s.carol.address);
    });

    it("an expired request cannot execute (LpRequestExpired); before expiry it cannot be cancelled (LpRequestNotExpired); after, cancelRequest returns the deposit escrow exactly", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      const assets = 12_345n * s.unit + 6n;
      const before = await s.token.balanceOf(s.bob);
      await s.vault.connect(s.bob).requestDepositWithLimit(assets, s.bob.address, s.bob.address, 0n, 0n);
      const { expiresAt } = await s.vault.lpRequest(s.bob);
      await networkHelpers.time.increase(DELAY);
      const rounds = await pushRounds(s);
      await expect(s.vault.cancelRequest(s.bob))
        .to.be.revertedWithCustomError(s.vault, "LpRequestNotExpired")
        .withArgs(s.bob.address, expiresAt);
      await networkHelpers.time.increaseTo(expiresAt + 1n);
      await expect(s.vault.connect(s.keeper).executeRequest(s.bob, rounds))
        .to.be.revertedWithCustomError(s.vault, "LpRequestExpired")
        .withArgs(s.bob.address, expiresAt);
      await expect(s.vault.connect(s.keeper).cancelRequest(s.bob))
        .to.emit(s.vault, "LpRequestCancelled")
        .withArgs(s.bob.address, false, assets, 0n);
      expect(await s.token.balanceOf(s.bob)).to.equal(before);
      expect(await s.token.balanceOf(s.vault)).to.equal(0n);
      expect((await s.vault.lpRequest(s.bob)).amount).to.equal(0n);
    });

    it("executeRequest_reverts_when_caller_is_not_an_executor: the owner and third parties get NotExecutor; the wired orders contract decides", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      await s.vault.connect(s.bob).requestDepositWithLimit(s.unit, s.bob.address, s.bob.address, 0n, 0n);
      await networkHelpers.time.increase(DELAY);
      const rounds = await pushRounds(s);
      for (const who of [s.bob, s.carol, s.admin]) {
        await expect(s.vault.connect(who).executeRequest(s.bob, rounds), "execution by a non-executor")
          .to.be.revertedWithCustomError(s.vault, "NotExecutor")
          .withArgs(who.address);
      }
      expect((await s.vault.lpRequest(s.bob)).amount).to.equal(s.unit);
      // One rule, one place: whoever the wired orders contract names executes.
      await s.orders.setExecutor(s.carol, true);
      await expect(s.vault.connect(s.carol).executeRequest(s.bob, rounds)).to.emit(s.vault, "LpRequestExecuted");
    });

    it("cancelRequest_reverts_at_exactly_expiry: an executor may still execute at expiresAt; cancelling needs a later block", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      await s.vault.connect(s.bob).requestDepositWithLimit(s.unit, s.bob.address, s.bob.address, 0n, 0n);
      await s.vault.connect(s.carol).requestDepositWithLimit(s.unit, s.carol.address, s.carol.address, 0n, 0n);
      const bob = await s.vault.lpRequest(s.bob);
      await networkHelpers.time.increase(DELAY);
      const rounds = await pushRounds(s);
      await networkHelpers.time.setNextBlockTimestamp(bob.expiresAt);
      await expect(s.vault.cancelRequest(s.bob), "cancel at expiresAt")
        .to.be.revertedWithCustomError(s.vault, "LpRequestNotExpired")
        .withArgs(s.bob.address, bob.expiresAt);
      // Carol's request (a second younger) executes at its last second.
      const carol = await s.vault.lpRequest(s.carol);
      await networkHelpers.time.setNextBlockTimestamp(carol.expiresAt);
      await expect(s.vault.connect(s.keeper).executeRequest(s.carol, rounds)).to.emit(s.vault, "LpRequestExecuted");
      await expect(s.vault.cancelRequest(s.bob)).to.emit(s.vault, "LpRequestCancelled");
    });

    it("cancelRequest after expiry returns a redemption's escrowed shares exactly", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      const owned = await s.vault.balanceOf(s.lp);
      const shares = 777n * OFFSET + 3n;
      await s.vault.connect(s.lp).requestRedeemWithLimit(shares, s.lp.address, s.lp.address, 0n, 0n);
      const { expiresAt } = await s.vault.lpRequest(s.lp);
      await expect(s.vault.cancelRequest(s.lp))
        .to.be.revertedWithCustomError(s.vault, "LpRequestNotExpired")
        .withArgs(s.lp.address, expiresAt);
      await networkHelpers.time.increaseTo(expiresAt + 1n);
      await expect(s.vault.cancelRequest(s.lp))
        .to.emit(s.vault, "LpRequestCancelled")
        .withArgs(s.lp.address, true, shares, 0n);
      expect(await s.vault.balanceOf(s.lp)).to.equal(owned);
      expect(await s.vault.balanceOf(s.vault)).to.equal(0n);
    });
  });

  describe("pause", function () {
    it("a paused engine refuses requestDeposit and a deposit's execution with DepositsPaused, but not redemptions", async function () {
      const s = await networkHelpers.loadFixture(withPosition);
      await s.vault.connect(s.bob).requestDepositWithLimit(s.unit, s.bob.address, s.bob.address, 0n, 0n);
      await s.engine.pause();
      await expect(
        s.vault.connect(s.carol).requestDepositWithLimit(s.unit, s.carol.address, s.carol.address, 0n, 0n),
      ).to.be.revertedWithCustomError(s.vault, "DepositsPaused");
      await s.vault.connect(s.lp).requestRedeemWithLimit(1_000n * s.unit * OFFSET, s.lp.address, s.lp.address, 0n, 0n);
      await networkHelpers.time.increase(DELAY);
      const rounds = await pushRounds(s);
      await expect(s.vault.connect(s.keeper).executeRequest(s.bob, rounds)).to.be.revertedWithCustomError(
        s.vault,
        "DepositsPaused",
      );
      await expect(s.vault.connect(s.keeper).executeRequest(s.lp, rounds)).to.emit(s.vault, "LpRequestExecuted");
      // The deposit's escrow stays pending; it executes once unpaused (still at its first round).
      await s.engine.unpause();
      await expect(s.vault.connect(s.keeper).executeRequest(s.bob, rounds)).to.emit(s.vault, "LpRequestExecuted");
    });
  });

  it("escrow accounting: the vault's tokens are the pending deposit escrows and the held exits' assets, its own shares the pending and held redemptions and the executed deposits not yet claimed", async function () {
    const s = await networkHelpers.loadFixture(withPosition);
    const u = s.unit;
    // Carol and Dave hold shares too: deposited before any position.
    const check = async () => {
      let assets = 0n;
      let shares = 0n;
      for (const who of [s.lp, s.bob, s.carol, s.dave]) {
        const r = await s.vault.lpRequest(who);
        if (r.redeem) shares += r.amount;
        else assets += r.amount;
      }
      // Beside them: the held exits' assets and shares.
      let [held, heldShares, claimable] = [0n, 0n, 0n];
      for (const who of [s.lp, s.bob, s.carol, s.dave]) {
        const x = await s.vault.lpExit(who);
        [held, heldShares] = [held + x.assets, heldShares + x.shares];
        claimable += (await s.vault.lpDeposit(who)).shares;
      }
      expect(await s.vault.heldAssets()).to.equal(held);
      expect(await s.token.balanceOf(s.vault)).to.equal(assets + held);
      expect(await s.vault.balanceOf(s.vault)).to.equal(shares + heldShares + claimable);
      return [assets, shares];
    };
    await s.vault.connect(s.bob).requestDepositWithLimit(1_000n * u, s.bob.address, s.bob.address, 0n, 0n);
    await s.vault.connect(s.carol).requestDepositWithLimit(2_000n * u + 1n, s.carol.address, s.carol.address, 0n, 0n);
    await s.vault.connect(s.lp).requestRedeemWithLimit(3_000n * u * OFFSET, s.lp.address, s.lp.address, 0n, 0n);
    expect(await check()).to.deep.equal([3_000n * u + 1n, 3_000n * u * OFFSET]);
    const { shares: bobClaimable } = await executeLpRequest(s, s.bob);
    expect(await check()).to.deep.equal([2_000n * u + 1n, 3_000n * u * OFFSET]);
    expect(await s.vault.balanceOf(s.vault)).to.equal(3_000n * u * OFFSET + bobClaimable);
    await s.vault.connect(s.bob)["deposit(uint256,address)"](1_000n * u, s.bob);
    expect(await check()).to.deep.equal([2_000n * u + 1n, 3_000n * u * OFFSET]);
    await s.vault
      .connect(s.bob)
      .requestRedeemWithLimit(await s.vault.balanceOf(s.bob), s.bob.address, s.bob.address, 0n, 0n);
    const bobShares = (await s.vault.lpRequest(s.bob)).amount;
    expect(await check()).to.deep.equal([2_000n * u + 1n, 3_000n * u * OFFSET + bobShares]);
    await executeLpRequest(s, s.lp);
    expect(await check()).to.deep.equal([2_000n * u + 1n, bobShares]);
    const { expiresAt } = await s.vault.lpRequest(s.carol);
    await networkHelpers.time.increaseTo(expiresAt + 1n);
    await s.vault.cancelRequest(s.carol);
    expect(await check()).to.deep.equal([0n, bobShares]);
    await networkHelpers.time.increaseTo((await s.vault.lpRequest(s.bob)).expiresAt + 1n);
    await s.vault.cancelRequest(s.bob);
    expect(await check()).to.deep.equal([0n, 0n]);
  });
});
