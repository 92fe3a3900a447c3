import { expect } from "chai";
import { ETH, feedPrice, networkHelpers, WAD } from "./helpers/system.js";
import { fundedNoFunding6 } from "./helpers/trading.js";

/** A round of the ETH feed at `dollars`, `seconds` after the last block; returns its id. */
async function round(s: Awaited<ReturnType<typeof fundedNoFunding6>>, dollars: number, seconds: bigint) {
  await networkHelpers.time.setNextBlockTimestamp(BigInt(await networkHelpers.time.latest()) + seconds);
  await s.ethFeed.updateAnswer(feedPrice(dollars));
  return (await s.ethFeed.latestRoundData())[0];
}

describe("LP entry and exit that cannot be played", function () {
  it("attack_depositAheadOfKnownRound: a 9M deposit asked for before a round that makes the longs lose takes none of it", async function () {
    // On one-step LP deposits a 9M deposit before a round that made a $1.11M long lose 0.5 %, redeemed after,
    // took 4,541 of the 5,550 the honest LP should have earned (issue figure).
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.orders.connect(s.alice).openPosition(ETH, 370n * WAD, 111_100n * s.unit);
    const attacker = s.dave;
    const deposit = 9_000_000n * s.unit;
    await expect(s.vault.connect(attacker).deposit(deposit, attacker)).to.be.revertedWithCustomError(
      s.vault,
      "UseRequests",
    );
    const honestBefore = await s.vault.previewRedeem(await s.vault.balanceOf(s.lp));

    await s.token.connect(attacker).approve(s.vault, deposit);
    await s.vault.connect(attacker).requestDeposit(deposit);
    const visible = await round(s, 2_985, 12n); // −0.5 %, already in the mempool: lands before the delay ends
    await expect(s.vault.executeRequest(attacker, [visible, 0n])).to.be.revertedWithCustomError(
      s.ethOracle,
      "RoundTooEarly",
    );
    const first = await round(s, 2_985, 30n);
    await s.vault.executeRequest(attacker, [first, 0n]);
    const shares = await s.vault.balanceOf(attacker);

    await s.vault.connect(attacker).requestRedeem(shares);
    const later = await round(s, 2_985, 31n);
    const before = await s.token.balanceOf(attacker);
    await s.vault.executeRequest(attacker, [later, 0n]);
    const gain = (await s.token.balanceOf(attacker)) - before - deposit;
    expect(gain).to.be.lessThanOrEqual(0n);
    // The honest LP kept the round's gain (5,550 less rounding).
    const honestAfter = await s.vault.previewRedeem(await s.vault.balanceOf(s.lp));
    expect(honestAfter - honestBefore).to.be.closeTo(5_550n * s.unit, s.unit);
  });

  it("attack_flashLoanMarginInflation: no deposit and redemption in one transaction while positions are open", async function () {
    // The flash loan deposited 9M, inflated the long side's margin, redeemed, closed and liquidated
    // in one block: +27,080. Every one-transaction entry and exit is closed while a market has positions.
    const s = await networkHelpers.loadFixture(fundedNoFunding6);
    await s.orders.connect(s.alice).openPosition(ETH, 100n * WAD, 30_000n * s.unit);
    const a = s.dave;
    await expect(s.vault.connect(a).deposit(s.unit, a)).to.be.revertedWithCustomError(s.vault, "UseRequests");
    await expect(s.vault.connect(a).mint(s.unit, a)).to.be.revertedWithCustomError(s.vault, "UseRequests");
    await expect(s.vault.connect(s.lp).withdraw(s.unit, s.lp, s.lp)).to.be.revertedWithCustomError(
      s.vault,
      "UseRequests",
    );
    await expect(s.vault.connect(s.lp).redeem(1n, s.lp, s.lp)).to.be.revertedWithCustomError(s.vault, "UseRequests");
    expect(await s.vault.maxDeposit(a)).to.equal(0n);
    expect(await s.vault.maxRedeem(s.lp)).to.equal(0n);
    // A request cannot be executed in the block it was made: no round can be at or after its delay yet.
    await s.token.connect(a).approve(s.vault, s.unit * 1_000n);
    await s.vault.connect(a).requestDeposit(s.unit * 1_000n);
    const [latest] = await s.ethFeed.latestRoundData();
    await expect(s.vault.executeRequest(a, [latest, 0n])).to.be.revertedWithCustomError(s.ethOracle, "RoundTooEarly");
  });
});
