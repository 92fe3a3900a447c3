import { expect } from "chai";
import { deploySystem, ethers, FLOOR_FEE_BOOK, networkHelpers } from "./helpers/system.js";
import { mulDivDown, mulDivUp } from "./helpers/trading.js";
import { executeLpRequest, lpDeposit } from "./helpers/lp.js";

/**
 * The ERC-7540 rules of the LP vault that the request and pricing tests do not pin: interface ids, operators,
 * allowances, the pending and claimable views, claims (whole, partial, beyond what is claimable), escrows
 * returned to the controller, and the standard requests' fee. On the real order book (0.5 minimum fee), a 1M pool,
 * no positions (a request's execution needs no round; an exit is still held for EXIT_HOLD).
 */
const LP = 2; // ExecutionClass.Lp

async function erc7540System() {
  const s = await deploySystem({
    decimals: 6,
    orders: "book",
    orderBook: FLOOR_FEE_BOOK,
  });
  await lpDeposit(s, s.lp, 1_000_000n * s.unit);
  return s;
}
type S = Awaited<ReturnType<typeof erc7540System>>;

/** `who` redeems `shares` through the standard request, executed at once; returns the held exit. */
async function heldExit(s: S, who: Awaited<ReturnType<typeof ethers.getSigners>>[number], shares: bigint) {
  await s.vault.connect(who).requestRedeem(shares, who, who);
  await executeLpRequest(s, who);
  return s.vault.lpExit(who);
}

describe("LiquidityVault ERC-7540", function () {
  it("supportsInterface: ERC-165, operators, asynchronous deposit and redeem, ERC-7575; nothing else; share() is the vault", async function () {
    const s = await networkHelpers.loadFixture(erc7540System);
    for (const id of ["0x01ffc9a7", "0xe3bc4e65", "0xce3bbe50", "0x620ee8e4", "0x2f0a18c5"]) {
      expect(await s.vault.supportsInterface(id), id).to.equal(true);
    }
    for (const id of ["0xdeadbeef", "0xffffffff", "0x00000000"]) {
      expect(await s.vault.supportsInterface(id), id).to.equal(false);
    }
    expect(await s.vault.share()).to.equal(await s.vault.getAddress());
  });

  it("setOperator sets and unsets an operator (OperatorSet), never oneself (OperatorIsSelf)", async function () {
    const s = await networkHelpers.loadFixture(erc7540System);
    await expect(s.vault.connect(s.bob).setOperator(s.carol, true))
      .to.emit(s.vault, "OperatorSet")
      .withArgs(s.bob.address, s.carol.address, true);
    expect(await s.vault.isOperator(s.bob, s.carol)).to.equal(true);
    expect(await s.vault.isOperator(s.carol, s.bob), "one way only").to.equal(false);
    await expect(s.vault.connect(s.bob).setOperator(s.carol, false))
      .to.emit(s.vault, "OperatorSet")
      .withArgs(s.bob.address, s.carol.address, false);
    expect(await s.vault.isOperator(s.bob, s.carol)).to.equal(false);
    await expect(s.vault.connect(s.bob).setOperator(s.bob, true))
      .to.be.revertedWithCustomError(s.vault, "OperatorIsSelf")
      .withArgs(s.bob.address);
  });

  it("an operator requests with the owner's assets (paying the fee itself) for a controller and claims for the controller; a stranger gets NotControllerOrOperator", async function () {
    const s = await networkHelpers.loadFixture(erc7540System);
    const fee: bigint = await s.book.minimumFee(LP);
    const assets = 10_000n * s.unit;
    // A stranger can neither request with Bob's assets nor for him.
    await expect(s.vault.connect(s.dave).requestDeposit(assets, s.dave, s.bob))
      .to.be.revertedWithCustomError(s.vault, "NotControllerOrOperator")
      .withArgs(s.bob.address, s.dave.address);
    await s.vault.connect(s.bob).setOperator(s.carol, true);
    const request = s.vault.connect(s.carol).requestDeposit(assets, s.bob, s.bob);
    await expect(request).to.changeTokenBalances(
      ethers,
      s.token,
      [s.bob, s.carol, s.vault],
      [-assets, -fee, assets + fee],
    );
    await expect(request)
      .to.emit(s.vault, "DepositRequest")
      .withArgs(s.bob.address, s.bob.address, 0n, s.carol.address, assets);
    const { shares } = await executeLpRequest(s, s.bob);
    await expect(s.vault.connect(s.dave)["deposit(uint256,address,address)"](assets, s.dave, s.bob))
      .to.be.revertedWithCustomError(s.vault, "NotControllerOrOperator")
      .withArgs(s.bob.address, s.dave.address);
    await expect(s.vault.connect(s.carol)["deposit(uint256,address,address)"](assets, s.carol, s.bob))
      .to.emit(s.vault, "Deposit")
      .withArgs(s.bob.address, s.carol.address, assets, shares);
    expect(await s.vault.balanceOf(s.carol)).to.equal(shares);

    // The redemption side: the operator requests with Bob's shares (no allowance needed) and claims the exit.
    await s.vault.connect(s.carol).transfer(s.bob, shares);
    await expect(s.vault.connect(s.carol).requestRedeem(shares, s.bob, s.bob))
      .to.emit(s.vault, "RedeemRequest")
      .withArgs(s.bob.address, s.bob.address, 0n, s.carol.address, shares);
    expect(await s.vault.allowance(s.bob, s.carol)).to.equal(0n);
    await executeLpRequest(s, s.bob);
    const exit = await s.vault.lpExit(s.bob);
    await networkHelpers.time.increaseTo(exit.claimableAt);
    await expect(s.vault.connect(s.dave).redeem(shares, s.dave, s.bob))
      .to.be.revertedWithCustomError(s.vault, "NotControllerOrOperator")
      .withArgs(s.bob.address, s.dave.address);
    const claim = s.vault.connect(s.carol).redeem(shares, s.carol, s.bob);
    await expect(claim).to.changeTokenBalances(ethers, s.token, [s.carol, s.bob], [exit.assets, 0n]);
    await expect(claim)
      .to.emit(s.vault, "Withdraw")
      .withArgs(s.carol.address, s.carol.address, s.bob.address, exit.assets, shares);
    // Unset, the operator claims nothing more for Bob.
    await s.vault.connect(s.bob).setOperator(s.carol, false);
    await expect(s.vault.connect(s.carol).requestDeposit(assets, s.bob, s.bob))
      .to.be.revertedWithCustomError(s.vault, "NotControllerOrOperator")
      .withArgs(s.bob.address, s.carol.address);
  });

  it("requestRedeem by an ERC-20 allowance holder spends exactly the allowance it uses; without it ERC20InsufficientAllowance", async function () {
    const s = await networkHelpers.loadFixture(erc7540System);
    const shares = 1_000n * s.unit * 10n ** 6n;
    await expect(s.vault.connect(s.carol).requestRedeem(shares, s.carol, s.lp))
      .to.be.revertedWithCustomError(s.vault, "ERC20InsufficientAllowance")
      .withArgs(s.carol.address, 0n, shares);
    await s.vault.connect(s.lp).approve(s.carol, 3n * shares);
    const before: bigint = await s.vault.balanceOf(s.lp);
    await s.vault.connect(s.carol).requestRedeem(shares, s.carol, s.lp);
    expect(await s.vault.allowance(s.lp, s.carol)).to.equal(2n * shares);
    expect(await s.vault.balanceOf(s.lp)).to.equal(before - shares);
    expect((await s.vault.lpRequest(s.carol)).amount, "the request is the controller's").to.equal(shares);
    expect((await s.vault.lpRequest(s.lp)).amount).to.equal(0n);
  });

  it("pending to claimable: the views follow a deposit (pending, claimable, claimed) and a redemption (pending, held during the hold, claimable after, claimed)", async function () {
    const s = await networkHelpers.loadFixture(erc7540System);
    const assets = 5_000n * s.unit;
    const views = async (who: string) => [
      await s.vault.pendingDepositRequest(0n, who),
      await s.vault.claimableDepositRequest(0n, who),
      await s.vault.pendingRedeemRequest(0n, who),
      await s.vault.claimableRedeemRequest(0n, who),
    ];
    const bob = s.bob.address;
    expect(await views(bob)).to.deep.equal([0n, 0n, 0n, 0n]);
    await s.vault.connect(s.bob).requestDeposit(assets, s.bob, s.bob);
    expect(await views(bob)).to.deep.equal([assets, 0n, 0n, 0n]);
    expect(await s.vault.pendingDepositRequest(1n, bob), "request id 0 only").to.equal(0n);
    const { shares } = await executeLpRequest(s, s.bob);
    expect(await views(bob)).to.deep.equal([0n, assets, 0n, 0n]);
    expect(await s.vault.claimableDepositRequest(1n, bob)).to.equal(0n);
    expect([await s.vault.maxDeposit(bob), await s.vault.maxMint(bob)]).to.deep.equal([assets, shares]);
    await s.vault.connect(s.bob)["deposit(uint256,address)"](assets, s.bob);
    expect(await views(bob)).to.deep.equal([0n, 0n, 0n, 0n]);

    await s.vault.connect(s.bob).requestRedeem(shares, s.bob, s.bob);
    expect(await views(bob)).to.deep.equal([0n, 0n, shares, 0n]);
    await executeLpRequest(s, s.bob);
    const { claimableAt } = await s.vault.lpExit(bob);
    expect(await views(bob), "held: still pending").to.deep.equal([0n, 0n, shares, 0n]);
    expect(await s.vault.maxRedeem(bob)).to.equal(0n);
    await networkHelpers.time.increaseTo(claimableAt);
    expect(await views(bob)).to.deep.equal([0n, 0n, 0n, shares]);
    expect(await s.vault.pendingRedeemRequest(1n, bob)).to.equal(0n);
    expect(await s.vault.claimableRedeemRequest(1n, bob)).to.equal(0n);
    expect(await s.vault.maxRedeem(bob)).to.equal(shares);
    await s.vault.connect(s.bob).redeem(shares, s.bob, s.bob);
    expect(await views(bob)).to.deep.equal([0n, 0n, 0n, 0n]);
  });

  it("a claim beyond what is claimable reverts ExceedsClaimable and changes nothing (deposit, mint, withdraw, redeem)", async function () {
    const s = await networkHelpers.loadFixture(erc7540System);
    const assets = 5_000n * s.unit;
    await s.vault.connect(s.bob).requestDeposit(assets, s.bob, s.bob);
    const { shares } = await executeLpRequest(s, s.bob);
    const exit = await heldExit(s, s.lp, 1_000n * s.unit * 10n ** 6n);
    await networkHelpers.time.increaseTo(exit.claimableAt);
    const worth: bigint = await s.vault.maxWithdraw(s.lp);
    expect(worth).to.be.greaterThan(0n);
    const state = async () => [
      ...(await s.vault.lpDeposit(s.bob)),
      ...(await s.vault.lpExit(s.lp)),
      await s.vault.balanceOf(s.bob),
      await s.vault.balanceOf(s.vault),
      await s.token.balanceOf(s.lp),
      await s.vault.heldAssets(),
    ];
    const before = await state();
    const b = s.vault.connect(s.bob);
    await expect(b["deposit(uint256,address)"](assets + 1n, s.bob))
      .to.be.revertedWithCustomError(s.vault, "ExceedsClaimable")
      .withArgs(s.bob.address, assets + 1n, assets);
    await expect(b["mint(uint256,address)"](shares + 1n, s.bob))
      .to.be.revertedWithCustomError(s.vault, "ExceedsClaimable")
      .withArgs(s.bob.address, shares + 1n, shares);
    await expect(s.vault.connect(s.lp).withdraw(worth + 1n, s.lp, s.lp))
      .to.be.revertedWithCustomError(s.vault, "ExceedsClaimable")
      .withArgs(s.lp.address, worth + 1n, worth);
    await expect(s.vault.connect(s.lp).redeem(exit.shares + 1n, s.lp, s.lp))
      .to.be.revertedWithCustomError(s.vault, "ExceedsClaimable")
      .withArgs(s.lp.address, exit.shares + 1n, exit.shares);
    expect(await state()).to.deep.equal(before);
  });

  it("partial claims take exactly what they report: deposit floors the shares, mint ceils the assets, withdraw ceils the shares burnt, redeem pays its part of the held assets", async function () {
    const s = await networkHelpers.loadFixture(erc7540System);
    const assets = 7_777n * s.unit + 7n;
    await s.vault.connect(s.bob).requestDeposit(assets, s.bob, s.bob);
    const { shares } = await executeLpRequest(s, s.bob);
    const b = s.vault.connect(s.bob);

    // deposit: a third of the assets, for the shares at the executions' average price rounded down.
    const part = assets / 3n;
    const got = mulDivDown(shares, part, assets);
    expect(await b["deposit(uint256,address)"].staticCall(part, s.bob)).to.equal(got);
    await expect(b["deposit(uint256,address)"](part, s.bob))
      .to.emit(s.vault, "Deposit")
      .withArgs(s.bob.address, s.bob.address, part, got);
    let d = await s.vault.lpDeposit(s.bob);
    expect([d.assets, d.shares]).to.deep.equal([assets - part, shares - got]);
    // mint: a third of the shares left, for their assets rounded up.
    const minted = d.shares / 3n;
    const cost = mulDivUp(d.assets, minted, d.shares);
    expect(await b["mint(uint256,address)"].staticCall(minted, s.bob)).to.equal(cost);
    await expect(b["mint(uint256,address)"](minted, s.bob))
      .to.emit(s.vault, "Deposit")
      .withArgs(s.bob.address, s.bob.address, cost, minted);
    const left = [d.assets - cost, d.shares - minted];
    d = await s.vault.lpDeposit(s.bob);
    expect([d.assets, d.shares]).to.deep.equal(left);
    // The rest: all the assets left claim all the shares left.
    await b["deposit(uint256,address)"](d.assets, s.bob);
    expect(await s.vault.balanceOf(s.bob)).to.equal(shares);
    expect(await s.vault.maxMint(s.bob)).to.equal(0n);

    // withdraw: a third of the worth, burning the exit's shares rounded up; the held part leaves with them.
    const x = await heldExit(s, s.bob, shares);
    await networkHelpers.time.increaseTo(x.claimableAt);
    const worth: bigint = await s.vault.maxWithdraw(s.bob);
    const out = worth / 3n;
    const burnt = mulDivUp(x.shares, out, worth);
    const heldPart = mulDivDown(x.assets, burnt, x.shares);
    expect(await b.withdraw.staticCall(out, s.bob, s.bob)).to.equal(burnt);
    const w = b.withdraw(out, s.bob, s.bob);
    await expect(w).to.changeTokenBalance(ethers, s.token, s.bob, out);
    await expect(w).to.emit(s.vault, "LpExitClaimed").withArgs(s.bob.address, s.bob.address, burnt, heldPart, out);
    let e = await s.vault.lpExit(s.bob);
    expect([e.shares, e.assets, e.claimableAt]).to.deep.equal([x.shares - burnt, x.assets - heldPart, x.claimableAt]);
    // redeem: half the shares left, for their part of the held assets (nothing moved: worth at least that).
    const r = e.shares / 2n;
    const paid = mulDivDown(e.assets, r, e.shares);
    expect(await b.redeem.staticCall(r, s.bob, s.bob)).to.equal(paid);
    await expect(b.redeem(r, s.bob, s.bob)).to.changeTokenBalance(ethers, s.token, s.bob, paid);
    const rest = [e.shares - r, e.assets - paid];
    e = await s.vault.lpExit(s.bob);
    expect([e.shares, e.assets]).to.deep.equal(rest);
    expect(await s.vault.heldAssets()).to.equal(e.assets);
    await expect(b.redeem(e.shares, s.bob, s.bob)).to.changeTokenBalance(ethers, s.token, s.bob, e.assets);
    expect((await s.vault.lpExit(s.bob)).shares).to.equal(0n);
  });

  it("a refused request (below its limit) and a cancelled expired one return the escrow to the controller, not the owner", async function () {
    const s = await networkHelpers.loadFixture(erc7540System);
    const fee: bigint = await s.book.minimumFee(LP);
    const assets = 1_000n * s.unit;
    const balances = async () => [await s.token.balanceOf(s.bob), await s.token.balanceOf(s.carol)];
    // Bob's deposit for Carol, bounded beyond any price: refused at execution; the fee pays the executor.
    let [bob, carol] = await balances();
    await s.vault.connect(s.bob).requestDepositWithLimit(assets, s.carol, s.bob, 2n ** 120n, fee);
    const keeper: bigint = await s.token.balanceOf(s.keeper);
    const { notBefore } = await s.vault.lpRequest(s.carol);
    await networkHelpers.time.increaseTo(notBefore);
    await expect(s.vault.connect(s.keeper).executeRequest(s.carol, [0n, 0n])).to.emit(s.vault, "LpRequestRefused");
    expect(await balances()).to.deep.equal([bob - assets - fee, carol + assets]);
    expect(await s.token.balanceOf(s.keeper)).to.equal(keeper + fee);
    // Bob's deposit for Carol, never executed: cancelled after expiry, the escrow and the fee go to Carol.
    [bob, carol] = await balances();
    await s.vault.connect(s.bob).requestDeposit(assets, s.carol, s.bob);
    await networkHelpers.time.increaseTo((await s.vault.lpRequest(s.carol)).expiresAt + 1n);
    await s.vault.connect(s.dave).cancelRequest(s.carol);
    expect(await balances()).to.deep.equal([bob - assets - fee, carol + assets + fee]);
    // The LP's redemption for Dave, refused: the shares go to Dave.
    const shares = 1_000n * s.unit * 10n ** 6n;
    const lpShares: bigint = await s.vault.balanceOf(s.lp);
    await s.vault.connect(s.lp).requestRedeemWithLimit(shares, s.dave, s.lp, 2n ** 120n, fee);
    await networkHelpers.time.increaseTo((await s.vault.lpRequest(s.dave)).notBefore);
    await expect(s.vault.connect(s.keeper).executeRequest(s.dave, [0n, 0n])).to.emit(s.vault, "LpRequestRefused");
    expect(await s.vault.balanceOf(s.dave)).to.equal(shares);
    expect(await s.vault.balanceOf(s.lp)).to.equal(lpShares - shares);
  });

  it("a request for the zero controller reverts ZeroController", async function () {
    const s = await networkHelpers.loadFixture(erc7540System);
    await expect(
      s.vault.connect(s.bob).requestDeposit(s.unit, ethers.ZeroAddress, s.bob),
    ).to.be.revertedWithCustomError(s.vault, "ZeroController");
    await expect(
      s.vault.connect(s.lp).requestRedeem(10n ** 6n, ethers.ZeroAddress, s.lp),
    ).to.be.revertedWithCustomError(s.vault, "ZeroController");
  });

  it("the standard 3-argument requests charge exactly the order book's minimum LP fee, which the executor is paid", async function () {
    const s = await networkHelpers.loadFixture(erc7540System);
    const fee: bigint = await s.book.minimumFee(LP);
    expect(fee).to.be.greaterThan(0n);
    const assets = 2_000n * s.unit;
    const deposit = s.vault.connect(s.bob).requestDeposit(assets, s.bob, s.bob);
    await expect(deposit).to.changeTokenBalances(ethers, s.token, [s.bob, s.vault], [-(assets + fee), assets + fee]);
    expect((await s.vault.lpRequest(s.bob)).executionFee).to.equal(fee);
    const keeper: bigint = await s.token.balanceOf(s.keeper);
    await executeLpRequest(s, s.bob);
    expect(await s.token.balanceOf(s.keeper)).to.equal(keeper + fee);

    const redeem = s.vault.connect(s.lp).requestRedeem(10n ** 12n, s.lp, s.lp);
    await expect(redeem).to.changeTokenBalances(ethers, s.token, [s.lp, s.vault], [-fee, fee]);
    expect((await s.vault.lpRequest(s.lp)).executionFee).to.equal(fee);
    await executeLpRequest(s, s.lp);
    expect(await s.token.balanceOf(s.keeper)).to.equal(keeper + 2n * fee);
  });
});
