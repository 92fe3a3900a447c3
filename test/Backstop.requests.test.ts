// The backstop's exit as an ERC-7540 asynchronous redeem: who may request, top up, claim and cancel; the
// request's states (pending during the cooldown, claimable in the window, neither after it); synchronous
// ERC-7887 cancellation; ERC-165 ids. The payout rules themselves are in Backstop.test.ts.
import { expect } from "chai";
import { ethers, networkHelpers } from "./helpers/system.js";
import { blockTime, standaloneBackstop, toAssets } from "./helpers/liq.js";

const DAY = 86_400n;
const COOLDOWN = 7n * DAY;
const WINDOW = 2n * DAY;
const decimals = 6;
const tokens = (n: bigint) => n * 10n ** BigInt(decimals);

/** Alice and Bob each stake 1,000 tokens; Alice requests the redemption of half her shares. */
async function aliceRequested() {
  const b = await standaloneBackstop(decimals);
  await b.backstop.connect(b.alice).deposit(tokens(1_000n), b.alice);
  await b.backstop.connect(b.bob).deposit(tokens(1_000n), b.bob);
  const all: bigint = await b.backstop.balanceOf(b.alice);
  const shares = all / 2n;
  const start = await blockTime(await b.backstop.connect(b.alice).requestRedeem(shares, b.alice, b.alice));
  return { ...b, all, shares, start, windowStart: start + COOLDOWN, windowEnd: start + COOLDOWN + WINDOW };
}

describe("BackstopModule as an ERC-7540 redeem vault", function () {
  describe("who may request", function () {
    it("an operator of the owner requests without an allowance; the controller may be another account", async function () {
      const b = await networkHelpers.loadFixture(aliceRequested);
      await b.backstop.connect(b.bob).setOperator(b.carol, true);
      const bobShares: bigint = await b.backstop.balanceOf(b.bob);
      await expect(b.backstop.connect(b.carol).requestRedeem(bobShares, b.carol, b.bob))
        .to.emit(b.backstop, "RedeemRequest")
        .withArgs(b.carol.address, b.bob.address, 0n, b.carol.address, bobShares);
      expect(await b.backstop.balanceOf(b.bob)).to.equal(0n);
      expect((await b.backstop.cooldowns(b.carol)).shares, "the request is Carol's").to.equal(bobShares);
      expect((await b.backstop.cooldowns(b.bob)).shares).to.equal(0n);
    });

    it("a caller neither owner nor operator spends exactly its allowance; without one it reverts and changes nothing", async function () {
      const b = await networkHelpers.loadFixture(aliceRequested);
      const bobShares: bigint = await b.backstop.balanceOf(b.bob);
      await expect(b.backstop.connect(b.carol).requestRedeem(1n, b.carol, b.bob))
        .to.be.revertedWithCustomError(b.backstop, "ERC20InsufficientAllowance")
        .withArgs(b.carol.address, 0n, 1n);
      expect(await b.backstop.balanceOf(b.bob), "nothing moved").to.equal(bobShares);
      expect((await b.backstop.cooldowns(b.carol)).start, "no request recorded").to.equal(0n);
      await b.backstop.connect(b.bob).approve(b.carol, bobShares);
      await expect(b.backstop.connect(b.carol).requestRedeem(bobShares - 1n, b.carol, b.bob))
        .to.emit(b.backstop, "RedeemRequest")
        .withArgs(b.carol.address, b.bob.address, 0n, b.carol.address, bobShares - 1n);
      expect(await b.backstop.allowance(b.bob, b.carol), "the allowance is spent").to.equal(1n);
    });

    it("a top-up adds shares and value and restarts the clock: the old window no longer opens, the new one opens exactly a cooldown after the top-up", async function () {
      const b = await networkHelpers.loadFixture(aliceRequested);
      const more = b.all - b.shares;
      const toppedAt = b.start + 3n * DAY;
      await networkHelpers.time.setNextBlockTimestamp(toppedAt);
      await expect(b.backstop.connect(b.alice).requestRedeem(more, b.alice, b.alice))
        .to.emit(b.backstop, "CooldownStarted")
        .withArgs(b.alice.address, b.all, tokens(1_000n), toppedAt + COOLDOWN, toppedAt + COOLDOWN + WINDOW);
      const cd = await b.backstop.cooldowns(b.alice);
      expect([cd.start, cd.shares, cd.value]).to.deep.equal([toppedAt, b.all, tokens(1_000n)]);
      // The first request's window would have opened now: the topped-up request is still pending.
      await networkHelpers.time.increaseTo(b.windowStart);
      expect(await b.backstop.pendingRedeemRequest(0n, b.alice)).to.equal(b.all);
      expect(await b.backstop.maxRedeem(b.alice)).to.equal(0n);
      await networkHelpers.time.setNextBlockTimestamp(toppedAt + COOLDOWN - 1n);
      await expect(b.backstop.connect(b.alice).redeem(b.shares, b.alice, b.alice))
        .to.be.revertedWithCustomError(b.backstop, "OutsideUnstakeWindow")
        .withArgs(toppedAt + COOLDOWN - 1n, toppedAt + COOLDOWN, toppedAt + COOLDOWN + WINDOW);
      await networkHelpers.time.setNextBlockTimestamp(toppedAt + COOLDOWN);
      await expect(b.backstop.connect(b.alice).redeem(b.all, b.alice, b.alice)).to.changeTokenBalance(
        ethers,
        b.token,
        b.alice,
        tokens(1_000n),
      );
    });

    it("nobody else restarts a controller's clock: a top-up by a stranger reverts (NotControllerOrOperator); a first request for another is a gift its controller may cancel", async function () {
      const b = await networkHelpers.loadFixture(aliceRequested);
      await expect(b.backstop.connect(b.bob).requestRedeem(1n, b.alice, b.bob))
        .to.be.revertedWithCustomError(b.backstop, "NotControllerOrOperator")
        .withArgs(b.alice.address, b.bob.address);
      expect((await b.backstop.cooldowns(b.alice)).start, "Alice's clock is untouched").to.equal(b.start);
      await b.backstop.connect(b.bob).requestRedeem(5n, b.carol, b.bob);
      await b.backstop.connect(b.carol).cancelRedeemRequest(0n, b.carol);
      expect(await b.backstop.balanceOf(b.carol)).to.equal(5n);
      // Alice's operator may top up for her (and so restart her clock).
      await b.backstop.connect(b.alice).setOperator(b.bob, true);
      await b.backstop.connect(b.bob).requestRedeem(1n, b.alice, b.bob);
      expect((await b.backstop.cooldowns(b.alice)).shares).to.equal(b.shares + 1n);
    });
  });

  describe("request states", function () {
    it("pending during the cooldown, claimable from windowStart to windowEnd inclusive, neither after; zero for another request id", async function () {
      const b = await networkHelpers.loadFixture(aliceRequested);
      const states = async () => [
        await b.backstop.pendingRedeemRequest(0n, b.alice),
        await b.backstop.claimableRedeemRequest(0n, b.alice),
      ];
      expect(await states()).to.deep.equal([b.shares, 0n]);
      expect(await b.backstop.pendingRedeemRequest(1n, b.alice), "request 1 does not exist").to.equal(0n);
      await networkHelpers.time.increaseTo(b.windowStart - 1n);
      expect(await states()).to.deep.equal([b.shares, 0n]);
      await networkHelpers.time.increaseTo(b.windowStart);
      expect(await states()).to.deep.equal([0n, b.shares]);
      expect(await b.backstop.claimableRedeemRequest(1n, b.alice), "request 1 does not exist").to.equal(0n);
      await networkHelpers.time.increaseTo(b.windowEnd);
      expect(await states()).to.deep.equal([0n, b.shares]);
      await networkHelpers.time.increaseTo(b.windowEnd + 1n);
      expect(await states(), "a lapsed request is neither").to.deep.equal([0n, 0n]);
      expect(await b.backstop.balanceOf(b.backstop), "its shares wait in custody").to.equal(b.shares);
      expect([
        await b.backstop.pendingRedeemRequest(0n, b.bob),
        await b.backstop.claimableRedeemRequest(0n, b.bob),
      ]).to.deep.equal([0n, 0n]);
    });

    it("only the controller or its operator claims; an allowance over the shares is not enough; the operator names the receiver", async function () {
      const b = await networkHelpers.loadFixture(aliceRequested);
      await networkHelpers.time.increaseTo(b.windowStart);
      await b.backstop.connect(b.alice).approve(b.carol, ethers.MaxUint256);
      await expect(b.backstop.connect(b.carol).redeem(b.shares, b.carol, b.alice))
        .to.be.revertedWithCustomError(b.backstop, "NotControllerOrOperator")
        .withArgs(b.alice.address, b.carol.address);
      await expect(b.backstop.connect(b.alice).setOperator(b.carol, true))
        .to.emit(b.backstop, "OperatorSet")
        .withArgs(b.alice.address, b.carol.address, true);
      const tx = b.backstop.connect(b.carol).redeem(b.shares, b.bob, b.alice);
      await expect(tx)
        .to.emit(b.backstop, "Withdraw")
        .withArgs(b.carol.address, b.bob.address, b.alice.address, tokens(500n), b.shares);
      await expect(tx).to.changeTokenBalance(ethers, b.token, b.bob, tokens(500n));
      expect(await b.backstop.balanceOf(b.backstop), "burnt from custody").to.equal(0n);
      expect(await b.backstop.balanceOf(b.alice), "Alice's other shares untouched").to.equal(b.all - b.shares);
      await b.backstop.connect(b.alice).setOperator(b.carol, false);
      expect(await b.backstop.isOperator(b.alice, b.carol)).to.equal(false);
    });
  });

  describe("cancelRedeemRequest (ERC-7887, synchronous)", function () {
    for (const [phase, at] of [
      ["while cooling down", (b: any) => b.start + 1n],
      ["inside the window", (b: any) => b.windowStart],
      ["after the window lapsed", (b: any) => b.windowEnd + 1n],
    ] as const) {
      it(`returns all the request's shares to the controller at once ${phase}, emitting CancelRedeemRequest and CancelRedeemClaim`, async function () {
        const b = await networkHelpers.loadFixture(aliceRequested);
        await networkHelpers.time.setNextBlockTimestamp(at(b));
        const tx = b.backstop.connect(b.alice).cancelRedeemRequest(0n, b.alice);
        await expect(tx).to.emit(b.backstop, "CancelRedeemRequest").withArgs(b.alice.address, 0n, b.alice.address);
        await expect(tx)
          .to.emit(b.backstop, "CancelRedeemClaim")
          .withArgs(b.alice.address, b.alice.address, 0n, b.alice.address, b.shares);
        expect(await b.backstop.balanceOf(b.alice)).to.equal(b.all);
        expect(await b.backstop.balanceOf(b.backstop)).to.equal(0n);
        expect((await b.backstop.cooldowns(b.alice)).start, "the request is gone").to.equal(0n);
        expect(await b.backstop.pendingCancelRedeemRequest(0n, b.alice)).to.equal(false);
        expect(await b.backstop.claimableCancelRedeemRequest(0n, b.alice)).to.equal(0n);
      });
    }

    it("only the controller or its operator cancels; another id is UnknownRequestId; without a request NoCooldown", async function () {
      const b = await networkHelpers.loadFixture(aliceRequested);
      await expect(b.backstop.connect(b.bob).cancelRedeemRequest(0n, b.alice))
        .to.be.revertedWithCustomError(b.backstop, "NotControllerOrOperator")
        .withArgs(b.alice.address, b.bob.address);
      await expect(b.backstop.connect(b.alice).cancelRedeemRequest(1n, b.alice))
        .to.be.revertedWithCustomError(b.backstop, "UnknownRequestId")
        .withArgs(1n);
      await expect(b.backstop.connect(b.bob).cancelRedeemRequest(0n, b.bob))
        .to.be.revertedWithCustomError(b.backstop, "NoCooldown")
        .withArgs(b.bob.address);
      await b.backstop.connect(b.alice).setOperator(b.bob, true);
      await expect(b.backstop.connect(b.bob).cancelRedeemRequest(0n, b.alice))
        .to.emit(b.backstop, "CancelRedeemClaim")
        .withArgs(b.alice.address, b.alice.address, 0n, b.bob.address, b.shares);
      expect(await b.backstop.balanceOf(b.alice), "the shares go to the controller, not the operator").to.equal(b.all);
    });

    it("defence: cancel-then-request neither shortens the cooldown nor escapes a cover", async function () {
      const b = await networkHelpers.loadFixture(aliceRequested);
      // A cover during the cooldown: it lands on the requested shares too.
      await b.backstop.connect(b.engine).cover(tokens(300n));
      const supply: bigint = await b.backstop.totalSupply();
      const worth = toAssets(b.shares, tokens(1_700n), supply);
      expect(worth).to.be.lt(tokens(500n));
      // Six days in, Alice cancels and requests again: a full cooldown from now, at the value after the cover.
      await networkHelpers.time.setNextBlockTimestamp(b.start + 6n * DAY);
      await b.backstop.connect(b.alice).cancelRedeemRequest(0n, b.alice);
      expect(await b.backstop.convertToAssets(b.shares), "the shares came back worth less").to.equal(worth);
      const again = await blockTime(await b.backstop.connect(b.alice).requestRedeem(b.shares, b.alice, b.alice));
      expect((await b.backstop.cooldowns(b.alice)).value).to.equal(worth);
      await networkHelpers.time.setNextBlockTimestamp(b.windowStart);
      await expect(b.backstop.connect(b.alice).redeem(b.shares, b.alice, b.alice))
        .to.be.revertedWithCustomError(b.backstop, "OutsideUnstakeWindow")
        .withArgs(b.windowStart, again + COOLDOWN, again + COOLDOWN + WINDOW);
      await networkHelpers.time.setNextBlockTimestamp(again + COOLDOWN);
      await expect(b.backstop.connect(b.alice).redeem(b.shares, b.alice, b.alice)).to.changeTokenBalance(
        ethers,
        b.token,
        b.alice,
        worth,
      );
    });
  });

  describe("ERC-165", function () {
    it("supports ERC-165, AccessControl, ERC-7540 operators and async redeem, ERC-7575; not async deposit, ERC-7887 redeem cancel, or a random id", async function () {
      const b = await networkHelpers.loadFixture(aliceRequested);
      const ids: [string, boolean][] = [
        ["0x01ffc9a7", true], // ERC-165
        ["0x7965db0b", true], // IAccessControl
        ["0xe3bc4e65", true], // ERC-7540 operators
        ["0x620ee8e4", true], // ERC-7540 asynchronous redeem
        ["0x2f0a18c5", true], // ERC-7575
        ["0xce3bbe50", false], // ERC-7540 asynchronous deposit: deposits are synchronous
        ["0xe76cffc7", false], // ERC-7887 redeem cancellation: synchronous, without its claim function
        ["0xffffffff", false],
      ];
      for (const [id, expected] of ids) expect(await b.backstop.supportsInterface(id), id).to.equal(expected);
    });
  });
});
