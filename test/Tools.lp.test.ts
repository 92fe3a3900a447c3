import { expect } from "chai";
import { Keeper } from "../scripts/lib/keeper/loop.js";
import { lpCancel, lpClaim, lpDeposit, lpExecute, lpStatus, lpWithdraw } from "../scripts/lib/tools/lp.js";
import { deployThroughIgnition, ETH, ethers, networkHelpers, nextRound, openThroughBook, WAD } from "./helpers/ops.js";
import { expectRefusal, run } from "./helpers/tool-run.js";

type System = Awaited<ReturnType<typeof deployThroughIgnition>>;

/** The fixture with one ETH long open: LP deposits and withdrawals go by request. */
async function withPositions() {
  const s = await deployThroughIgnition();
  await openThroughBook(s, s.keeper, [{ trader: s.traders[0], market: ETH, size: WAD, margin: 400n * s.unit }]);
  return s;
}

describe("Tools: LP requests (deposit and withdraw by ERC-7540 request, execute, claim, cancel)", function () {
  let s: System;

  it("lp_deposit_requests_even_with_no_position_open_and_lp_claim_takes_the_shares", async function () {
    s = await networkHelpers.loadFixture(deployThroughIgnition);
    const lp = s.traders[1];
    const r = await run(lpDeposit, { amount: "1000", json: true }, s, lp);
    expect(r.code, r.err.join("\n")).to.equal(0);
    const data = JSON.parse(r.out[0]);
    expect([data.action, data.mode, data.amount]).to.deep.equal([
      "requestDeposit",
      "request",
      (1_000n * s.unit).toString(),
    ]);
    expect((await s.vault.lpRequest(lp.address)).amount).to.equal(1_000n * s.unit);
    await expectRefusal(() => run(lpClaim, {}, s, lp), "NothingToClaim");
    // No market has positions: the deployer (an executor) executes it at once, with no round to wait for.
    const x = await run(lpExecute, { account: lp.address, json: true }, s, s.admin);
    expect(x.code, x.err.join("\n")).to.equal(0);
    const shares = BigInt(JSON.parse(x.out[0]).shares);
    expect(await s.vault.balanceOf(lp.address), "claimable, not yet the LP's").to.equal(0n);
    const status = await run(lpStatus, {}, s, lp);
    expect(status.out.join("\n")).to.include("Executed deposit:");
    const c = await run(lpClaim, { json: true }, s, lp);
    expect(c.code, c.err.join("\n")).to.equal(0);
    expect(BigInt(JSON.parse(c.out[0]).deposit.shares)).to.equal(shares);
    expect(await s.vault.balanceOf(lp.address)).to.equal(shares);
  });

  it("lp_tools_refuse_bad_input_with_one_line_and_send_nothing", async function () {
    s = await networkHelpers.loadFixture(withPositions);
    const lp = s.traders[1];
    await expectRefusal(() => run(lpDeposit, {}, s, lp), "MissingOption");
    await expectRefusal(() => run(lpDeposit, { amount: "abc" }, s, lp), "BadAmount");
    await expectRefusal(() => run(lpDeposit, { amount: "999999999" }, s, lp), "InsufficientBalance");
    await expectRefusal(() => run(lpWithdraw, { shares: "1" }, s, lp), "InsufficientShares");
    await expectRefusal(() => run(lpWithdraw, { amount: "1", shares: "1" }, s, lp), "ConflictingOptions");
    // Only executors execute: the LP's own execution is refused before anything is sent.
    await expectRefusal(() => run(lpExecute, {}, s, lp), "NotExecutor");
    await expectRefusal(() => run(lpExecute, { account: lp.address }, s, s.keeper), "NoLpRequest");
    await expectRefusal(() => run(lpCancel, {}, s, lp), "NoLpRequest");
    await expectRefusal(() => run(lpExecute, { account: "0x12" }, s, lp), "BadAddress");

    // A request pending: a second one, an early execution and an early cancel are refused before sending.
    expect((await run(lpDeposit, { amount: "1000" }, s, lp)).code).to.equal(0);
    await expectRefusal(() => run(lpDeposit, { amount: "10" }, s, lp), "LpRequestPending");
    await expectRefusal(() => run(lpExecute, { account: lp.address }, s, s.keeper), "RoundNotYet");
    const early = await expectRefusal(() => run(lpCancel, {}, s, lp), "LpRequestNotExpired");
    expect(early).to.include("cannot be cancelled before it expires");

    // Expired: execution is refused, cancel returns the escrow.
    await networkHelpers.time.increase(Number(await s.orderBook.maxAge()) + 1);
    await expectRefusal(() => run(lpExecute, { account: lp.address }, s, s.keeper), "LpRequestExpired");
    const before = await s.collateral.balanceOf(lp.address);
    const fee = (await s.vault.lpRequest(lp.address)).executionFee;
    expect(fee > 0n, "the request escrowed an execution fee").to.equal(true);
    const c = await run(lpCancel, { account: lp.address, json: true }, s, s.keeper);
    expect(c.code, c.err.join("\n")).to.equal(0);
    expect(await s.collateral.balanceOf(lp.address), "the escrow and the fee back").to.equal(
      before + 1_000n * s.unit + fee,
    );
  });

  it("lp_deposit_requests_while_positions_are_open_and_lp_execute_executes_it_at_the_next_round", async function () {
    s = await networkHelpers.loadFixture(withPositions);
    const lp = s.traders[1];
    // There is no one-transaction path; the tool sends a request and says so.
    await expect(s.vault.connect(lp)["deposit(uint256,address)"](1n, lp.address)).to.be.revertedWithCustomError(
      s.vault,
      "ExceedsClaimable",
    );
    const r = await run(lpDeposit, { amount: "1000", json: true }, s, lp);
    expect(r.code, r.err.join("\n")).to.equal(0);
    const data = JSON.parse(r.out[0]);
    expect([data.action, data.mode, data.redeem, data.amount]).to.deep.equal([
      "requestDeposit",
      "request",
      false,
      (1_000n * s.unit).toString(),
    ]);
    const text = await run(lpStatus, {}, s, lp);
    expect(text.out.join("\n")).to.include("Pending LP request: deposit");

    await nextRound(s);
    const x = await run(lpExecute, { account: lp.address, json: true }, s, s.keeper);
    expect(x.code, x.err.join("\n")).to.equal(0);
    const executed = JSON.parse(x.out[0]);
    expect(executed.assets).to.equal((1_000n * s.unit).toString());
    expect((await s.vault.lpRequest(lp.address)).amount).to.equal(0n);
    expect((await run(lpClaim, {}, s, lp)).code).to.equal(0);
    expect(BigInt(executed.shares)).to.equal(await s.vault.balanceOf(lp.address));

    // A redemption by request, executed by the keeper after the next round.
    const w = await run(lpWithdraw, { amount: "500", json: true }, s, lp);
    expect(w.code, w.err.join("\n")).to.equal(0);
    expect(JSON.parse(w.out[0]).action).to.equal("requestRedeem");
    const keeper = new Keeper(ethers, s, s.keeper, {
      minProfit: 0n,
      batchSize: 10,
      startBlock: 0,
      dryRun: false,
      log: () => {},
    });
    const waiting = await keeper.tick();
    expect([waiting!.pendingLpRequests, waiting!.lpExecuted]).to.deep.equal([1, 0]);
    await nextRound(s);
    const before = await s.collateral.balanceOf(lp.address);
    const tick = await keeper.tick();
    expect([tick!.lpExecuted, tick!.errors]).to.deep.equal([1, 0]);
    expect((await s.vault.lpRequest(lp.address)).amount).to.equal(0n);
    expect(await s.collateral.balanceOf(lp.address), "held, not paid, until the hold is over").to.equal(before);
    const early = await expectRefusal(() => run(lpClaim, {}, s, lp), "LpExitNotClaimable");
    expect(early).to.match(
      /^error: 0x\w+'s redemption of 500\.00 mUSD is held until .* \(in 1 h\) \[LpExitNotClaimable\]$/,
    );
    await networkHelpers.time.increase(3_600);
    await nextRound(s);
    const claimed = await run(lpClaim, { json: true }, s, lp);
    expect(claimed.code, claimed.err.join("\n")).to.equal(0);
    const paid = (await s.collateral.balanceOf(lp.address)) - before;
    expect(paid > 490n * s.unit && paid <= 500n * s.unit, `paid ${paid}`).to.equal(true);
    expect(BigInt(JSON.parse(claimed.out[0]).paid)).to.equal(paid);
    await expectRefusal(() => run(lpClaim, {}, s, lp), "NothingToClaim");
  });

  it("the_keeper_cancels_an_expired_lp_request", async function () {
    s = await networkHelpers.loadFixture(withPositions);
    const lp = s.traders[2];
    expect((await run(lpDeposit, { amount: "100" }, s, lp)).code).to.equal(0);
    await networkHelpers.time.increase(Number(await s.orderBook.maxAge()) + 1);
    await networkHelpers.mine();
    const logs: string[] = [];
    const keeper = new Keeper(ethers, s, s.keeper, {
      minProfit: 0n,
      batchSize: 10,
      startBlock: 0,
      dryRun: false,
      log: (line) => logs.push(line),
    });
    // (The feeds are stale by now: the position checks log errors; the LP request needs no price.)
    const tick = await keeper.tick();
    expect(tick!.lpCancelled).to.equal(1);
    expect(logs.filter((l) => l.includes("LP"))).to.have.length(1);
    expect(logs.find((l) => l.includes("LP"))).to.match(/^cancelled the expired 0x[0-9a-fA-F]{40}'s LP deposit tx /);
    expect((await s.vault.lpRequest(lp.address)).amount).to.equal(0n);
  });
});
