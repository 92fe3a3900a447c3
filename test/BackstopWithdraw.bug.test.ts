import { expect } from "chai";
import { networkHelpers } from "./helpers/system.js";
import { blockTime, standaloneBackstop } from "./helpers/liq.js";

/**
 * BUG (BackstopModule.withdraw): a cooldown whose value rounds down to zero (a few shares: 10^6 shares
 * are worth one unit) makes `withdraw` divide by `cd.value` = 0 and revert with a division panic (0x12)
 * instead of a custom error (DESIGN.md: "Bad input gets a custom error that names the problem").
 * `assets.mulDivUp(cd.shares, cd.value)` in withdraw is the suspect line. This test asserts today's
 * behaviour; it fails once withdraw checks for a zero value (e.g. ExceedsCooldownShares or ZeroAmount).
 */
describe("BackstopModule withdraw with a zero-value cooldown (bug: panics)", function () {
  const backstop6 = () => standaloneBackstop(6);

  it("withdraw(1) in the window of a 1-share cooldown reverts with a division-by-zero panic", async function () {
    const b = await networkHelpers.loadFixture(backstop6);
    await b.backstop.connect(b.alice).deposit(1_000n * b.unit, b.alice);
    const start = await blockTime(await b.backstop.connect(b.alice).cooldown(1n));
    expect((await b.backstop.cooldowns(b.alice)).value).to.equal(0n);
    await networkHelpers.time.setNextBlockTimestamp(start + 7n * 86_400n);
    await expect(b.backstop.connect(b.alice).withdraw(1n, b.alice, b.alice)).to.be.revertedWithPanic(0x12);
  });
});
