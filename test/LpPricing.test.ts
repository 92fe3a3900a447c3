import { expect } from "chai";
import { ETH, feedPrice, networkHelpers, WAD } from "./helpers/system.js";
import { fundedNoFunding6 } from "./helpers/trading.js";
import { lpDeposit } from "./helpers/lp.js";

/** A round of the ETH feed at `dollars`, `seconds` after the last block; returns its id. */
async function round(s: Awaited<ReturnType<typeof fundedNoFunding6>>, dollars: number, seconds: bigint) {
  await networkHelpers.time.setNextBlockTimestamp(BigInt(await networkHelpers.time.latest()) + seconds);
  await s.ethFeed.updateAnswer(feedPrice(dollars));
  return (await s.ethFeed.latestRoundData())[0];
}

describe("LP entry and exit that cannot be played", function () {
  it("attack_depositAheadOfKnownRound: a 9M deposit asked for before a round that makes the longs lose takes none of it", async function () {
    // On one-step LP deposits (main before this change) a 9M deposit before the round left the attacker's
    // shares worth +4,994.81 after it, and the honest LP +555.19 of the 5,550 the round brought the pool.
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.orders.connect(s.alice).openPosition(ETH, 370n * WAD, 111_100n * s.unit);
    const attacker = s.dave;
    const deposit = 9_000_000n * s.unit;
    // No deposit in one transaction: only an executed request's shares can be claimed.
    await expect(s.vault.connect(attacker)["deposit(uint256,address)"](deposit, attacker))
      .to.be.revertedWithCustomError(s.vault, "ExceedsClaimable")
      .withArgs(attacker.address, deposit, 0n);
    const honestBefore = await s.vault.convertToAssets(await s.vault.balanceOf(s.lp));

    await s.token.connect(attacker).approve(s.vault, deposit);
    await s.vault.connect(attacker).requestDepositWithLimit(deposit, attacker.address, attacker.address, 0n, 0n);
    const visible = await round(s, 2_985, 12n); // −0.5 %, already in the mempool: lands before the delay ends
    await expect(s.vault.connect(s.keeper).executeRequest(attacker, [visible, 0n])).to.be.revertedWithCustomError(
      s.ethOracle,
      "RoundTooEarly",
    );
    const first = await round(s, 2_985, 30n);
    await s.vault.connect(s.keeper).executeRequest(attacker, [first, 0n]);
    await s.vault.connect(attacker)["deposit(uint256,address)"](deposit, attacker);
    const shares = await s.vault.balanceOf(attacker);

    await s.vault.connect(attacker).requestRedeemWithLimit(shares, attacker.address, attacker.address, 0n, 0n);
    const later = await round(s, 2_985, 31n);
    await s.vault.connect(s.keeper).executeRequest(attacker, [later, 0n]);
    // The redemption is held at the assets of its execution, the most its claim can pay.
    const gain: bigint = (await s.vault.lpExit(attacker)).assets - deposit;
    expect(gain).to.be.lessThanOrEqual(0n);
    // The honest LP kept the round's gain (5,550 less rounding).
    const honestAfter = await s.vault.convertToAssets(await s.vault.balanceOf(s.lp));
    expect(honestAfter - honestBefore).to.be.closeTo(5_550n * s.unit, s.unit);
  });

  it("attack_flashLoanMarginInflation: no deposit and redemption in one transaction (only claims of executed requests)", async function () {
    // The flash loan deposited 9M, inflated the long side's margin, redeemed, closed and liquidated
    // in one block: +27,080. There is no one-transaction entry or exit any more: deposit, mint, withdraw and
    // redeem only claim what an executed request made claimable.
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.orders.connect(s.alice).openPosition(ETH, 100n * WAD, 30_000n * s.unit);
    const a = s.dave;
    await expect(s.vault.connect(a)["deposit(uint256,address)"](s.unit, a))
      .to.be.revertedWithCustomError(s.vault, "ExceedsClaimable")
      .withArgs(a.address, s.unit, 0n);
    await expect(s.vault.connect(a)["mint(uint256,address)"](s.unit, a))
      .to.be.revertedWithCustomError(s.vault, "ExceedsClaimable")
      .withArgs(a.address, s.unit, 0n);
    await expect(s.vault.connect(s.lp).withdraw(s.unit, s.lp, s.lp))
      .to.be.revertedWithCustomError(s.vault, "NoLpExit")
      .withArgs(s.lp.address);
    await expect(s.vault.connect(s.lp).redeem(1n, s.lp, s.lp))
      .to.be.revertedWithCustomError(s.vault, "NoLpExit")
      .withArgs(s.lp.address);
    expect(await s.vault.maxDeposit(a)).to.equal(0n);
    expect(await s.vault.maxRedeem(s.lp)).to.equal(0n);
    // A request cannot be executed in the block it was made: no round can be at or after its delay yet.
    await s.token.connect(a).approve(s.vault, s.unit * 1_000n);
    await s.vault.connect(a).requestDepositWithLimit(s.unit * 1_000n, a.address, a.address, 0n, 0n);
    const [latest] = await s.ethFeed.latestRoundData();
    await expect(s.vault.connect(s.keeper).executeRequest(a, [latest, 0n])).to.be.revertedWithCustomError(
      s.ethOracle,
      "RoundTooEarly",
    );
  });

  it("attack_jitAroundCover: a 9M deposit asked for when a bankrupt position appears takes none of its cover", async function () {
    // On one-step LP deposits (main before LP requests): deposit 9M, liquidate the bankrupt long (its cover
    // lands in the pool), redeem: +26,920.57 for the attacker.
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.backstop.connect(s.staker).deposit(200_000n * s.unit, s.staker);
    await s.orders.connect(s.alice).openPosition(ETH, 100n * WAD, 30_000n * s.unit);
    await s.orders.connect(s.bob).openPosition(ETH, -WAD, 400n * s.unit); // positions stay open throughout
    await round(s, 2_400, 12n); // −20 %: Alice's equity is −30,000
    const attacker = s.dave;
    const deposit = 9_000_000n * s.unit;
    await s.token.connect(attacker).approve(s.vault, deposit);
    await s.vault.connect(attacker).requestDepositWithLimit(deposit, attacker.address, attacker.address, 0n, 0n);
    // A keeper liquidates in the next block, as keepers are paid to: the cover lands before the deposit, and
    // what the capped mark did not count of it vests.
    const honestBefore = await s.vault.convertToAssets(await s.vault.balanceOf(s.lp));
    await s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper);
    const step: bigint = await s.lens.unvestedGains();
    expect(step, "the cover vests").to.be.greaterThan(29_000n * s.unit);
    const first = await round(s, 2_400, 30n);
    const entry = await (await s.vault.connect(s.keeper).executeRequest(attacker, [first, 0n])).wait();
    await s.vault.connect(attacker)["deposit(uint256,address)"](deposit, attacker);
    const shares = await s.vault.balanceOf(attacker);
    await s.vault.connect(attacker).requestRedeemWithLimit(shares, attacker.address, attacker.address, 0n, 0n);
    const later = await round(s, 2_400, 31n);
    const before: bigint = await s.token.balanceOf(attacker);
    const supply: bigint = await s.vault.totalSupply();
    const exit = await (await s.vault.connect(s.keeper).executeRequest(attacker, [later, 0n])).wait();
    await round(s, 2_400, 3_600n); // the exit's hold (EXIT_HOLD), with a round at its end
    await s.vault.connect(attacker).redeem(shares, attacker, attacker);
    const gain: bigint = (await s.token.balanceOf(attacker)) - before - deposit;
    // Dave took no more than the stream paid his shares while he held them (61 s of a day).
    const streamed =
      (await s.lens.unvestedGains({ blockTag: entry!.blockNumber })) -
      (await s.lens.unvestedGains({ blockTag: exit!.blockNumber }));
    const daveStream = (streamed * shares) / supply;
    expect(gain).to.be.lessThanOrEqual(daveStream + 1n);
    // The honest LP, who stays, has all of the cover's step once it has vested, but Dave's stream.
    await round(s, 2_400, 86_400n);
    expect(await s.lens.unvestedGains()).to.equal(0n);
    const honestEnd = await s.vault.convertToAssets(await s.vault.balanceOf(s.lp));
    expect(honestEnd - honestBefore).to.be.closeTo(step - daveStream, 3n);
  });

  it("attack_exitBeforeSocialization: the first LP to leave shares a loss that one trader's loss beyond margin hid", async function () {
    // On one-step LP exits (main before this change), the same two LPs: Carol redeemed 1,020,070.00 before
    // the liquidation, and the LP who stayed was left with 989,970.00: 15,050 each way of the equal split.
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await lpDeposit(s, s.carol, 1_000_000n * s.unit);
    await round(s, 2_000, 1n);
    await s.orders.connect(s.bob).openPosition(ETH, 50n * WAD, 10_000n * s.unit); // long at 2,000
    await round(s, 3_000, 1n);
    await s.orders.connect(s.alice).openPosition(ETH, 100n * WAD, 30_000n * s.unit); // long at 3,000
    await round(s, 2_400, 1n); // Alice −60,000 on 30,000 of margin; Bob +20,000
    const shares = await s.vault.balanceOf(s.carol);
    await s.vault.connect(s.carol).requestRedeemWithLimit(shares, s.carol.address, s.carol.address, 0n, 0n);
    // The keeper liquidates Alice before Carol's redemption can be priced: the shortfall is socialized.
    await s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper);
    const first = await round(s, 2_400, 30n);
    const before: bigint = await s.token.balanceOf(s.carol);
    await s.vault.connect(s.keeper).executeRequest(s.carol, [first, 0n]);
    await round(s, 2_400, 3_600n); // the exit's hold (EXIT_HOLD), with a round at its end
    await s.vault.connect(s.carol).redeem(shares, s.carol, s.carol);
    const carolGot: bigint = (await s.token.balanceOf(s.carol)) - before;
    // Carol and the LP who stays held equal shares; the one who stays is left with as much per share.
    const lpValue = await s.vault.convertToAssets(await s.vault.balanceOf(s.lp));
    const lpShares = await s.vault.balanceOf(s.lp);
    expect((carolGot * lpShares) / shares).to.be.closeTo(lpValue, 2n);
  });
});
