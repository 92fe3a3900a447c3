import { expect } from "chai";
import { deploy6, deploy18, ETH, ethers, feedPrice, marketConfig, networkHelpers, WAD } from "./helpers/system.js";
import {
  fundedNoFunding6,
  fundedNoFunding18,
  mulDivDown,
  notionalUsd,
  pnl,
  profitCap,
  sideReserve,
  splitFee,
  tradingFee,
  usd,
} from "./helpers/trading.js";
import { deployAround } from "./helpers/tokens.js";
import { executeLpRequest, lpDeposit, lpRedeem } from "./helpers/lp.js";

const OFFSET = 10n ** 6n;
const FEE_RATIO = (5n * WAD) / 10_000n;
const IMR = WAD / 10n;
const MAX_PROFIT_FACTOR = 9n * WAD;

async function feeOnTransferSystem6() {
  return deployAround(await ethers.deployContract("FeeOnTransferToken", ["Fee USD", "fUSD", 6]), 6);
}
async function feeOnTransferSystem18() {
  return deployAround(await ethers.deployContract("FeeOnTransferToken", ["Fee USD", "fUSD", 18]), 18);
}
async function reentrantSystem() {
  const s = await deployAround(await ethers.deployContract("ReentrantToken"));
  await lpDeposit(s, s.lp, 1_000_000n * s.unit);
  return s;
}

/** The system with an L2 market (id 2): the ETH feed behind an oracle gated by a sequencer-uptime feed. */
const GRACE = 3_600n;
async function sequencerSystem() {
  const s = await fundedNoFunding6();
  const sequencer = await ethers.deployContract("MockV3Aggregator", [0, 0n]);
  const oracle = await ethers.deployContract("ChainlinkOracle", [
    s.ethFeed,
    3_600n,
    WAD / 100n,
    10_000_000n * WAD,
    sequencer,
    GRACE,
  ]);
  await s.engine.addMarket(oracle, marketConfig(6, { maxFundingRatePerDay: 0n }));
  const now = BigInt(await networkHelpers.time.latest());
  await sequencer.updateRoundData(1n, 0n, now, now - GRACE - 1n); // up for longer than the grace period
  return { ...s, sequencer, l2Oracle: oracle, L2: 2n };
}

for (const [name, bare, funded] of [
  ["6-decimal", deploy6, fundedNoFunding6],
  ["18-decimal", deploy18, fundedNoFunding18],
] as const) {
  describe(`Attacks on trading and the LP vault (${name} collateral)`, function () {
    it("defence: virtual shares + ledger accounting defeat first-depositor inflation (1 wei deposit, large donations), each step a request, its execution and its claim", async function () {
      const s = await networkHelpers.loadFixture(bare);
      const attacker = s.dave;
      const victim = s.carol;
      await lpDeposit(s, attacker, 1n);
      expect(await s.vault.balanceOf(attacker)).to.equal(OFFSET);
      const donation = 100_000n * s.unit;
      await s.token.connect(attacker).transfer(s.engine, donation);
      await s.token.connect(attacker).transfer(s.vault, donation);
      expect(await s.vault.totalAssets()).to.equal(1n); // donations are not booked

      const deposit = 10_000n * s.unit;
      await lpDeposit(s, victim, deposit);
      const victimShares = mulDivDown(deposit, OFFSET + OFFSET, 1n + 1n);
      expect(await s.vault.balanceOf(victim)).to.equal(victimShares);

      const victimBefore = await s.token.balanceOf(victim);
      const victimPaid = await lpRedeem(s, victim, victimShares);
      expect((await s.token.balanceOf(victim)) - victimBefore).to.equal(victimPaid);
      expect(victimPaid).to.be.greaterThanOrEqual(deposit - 1n);

      const attackerBefore = await s.token.balanceOf(attacker);
      const attackerShares = await s.vault.balanceOf(attacker);
      await lpRedeem(s, attacker, attackerShares);
      expect((await s.token.balanceOf(attacker)) - attackerBefore).to.be.lessThanOrEqual(1n);
    });

    it("defence: the share price comes from the engine's ledger, so donations to the engine or vault do not move it", async function () {
      const s = await networkHelpers.loadFixture(funded);
      const price = await s.vault.convertToAssets(WAD);
      const total = await s.vault.totalAssets();
      const shares = (await s.vault.balanceOf(s.lp)) / 10n;
      const value = await s.vault.convertToAssets(shares);
      await s.token.connect(s.dave).transfer(s.engine, 500_000n * s.unit);
      await s.token.connect(s.dave).transfer(s.vault, 500_000n * s.unit);
      expect(await s.vault.totalAssets()).to.equal(total);
      expect(await s.vault.convertToAssets(WAD)).to.equal(price);
      // A donation makes nothing claimable, and a redemption executes at the price it did not move.
      expect(await s.vault.maxWithdraw(s.lp)).to.equal(0n);
      await s.vault.connect(s.lp).requestRedeem(shares, s.lp, s.lp);
      expect((await executeLpRequest(s, s.lp)).assets).to.equal(value);
    });

    it("defence: opening and closing at one price moves the LP share price by exactly the LP part of the fees", async function () {
      const s = await networkHelpers.loadFixture(funded);
      const supply = await s.vault.totalSupply();
      const total = await s.vault.totalAssets();
      const size = 7n * WAD;
      const fee = tradingFee(size, usd(3_000), FEE_RATIO, s.decimals);
      await s.orders.connect(s.alice).openPosition(ETH, size, 5_000n * s.unit);
      expect(await s.vault.totalAssets()).to.equal(total + splitFee(fee).lp);
      await s.orders.connect(s.alice).closePosition(ETH);
      const after = total + 2n * splitFee(fee).lp;
      expect(await s.vault.totalAssets()).to.equal(after);
      expect(await s.vault.totalSupply()).to.equal(supply);
      expect(await s.vault.convertToAssets(supply)).to.equal(mulDivDown(supply, after + 1n, supply + OFFSET));
    });

    it("defence: stale, zero, negative and out-of-bounds prices refuse opens with the oracle's error", async function () {
      const s = await networkHelpers.loadFixture(funded);
      const open = () => s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * s.unit);
      await s.ethFeed.updateAnswer(0n);
      await expect(open()).to.be.revertedWithCustomError(s.ethOracle, "NonPositivePrice").withArgs(0n);
      await s.ethFeed.updateAnswer(-feedPrice(3_000));
      await expect(open()).to.be.revertedWithCustomError(s.ethOracle, "NonPositivePrice").withArgs(-feedPrice(3_000));
      await s.ethFeed.updateAnswer(feedPrice(10_000_001));
      await expect(open())
        .to.be.revertedWithCustomError(s.ethOracle, "PriceOutOfBounds")
        .withArgs(usd(10_000_001), WAD / 100n, 10_000_000n * WAD);
      await s.ethFeed.updateAnswer(feedPrice(3_000));
      const [, , , updatedAt] = await s.ethFeed.latestRoundData();
      await networkHelpers.time.increase(3_601);
      await expect(open()).to.be.revertedWithCustomError(s.ethOracle, "StalePrice").withArgs(updatedAt, 3_600n);
      expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(0n);
    });

    it("defence: a margin top-up cannot lock LP liquidity: the profit cap is bounded by the entry's initial margin", async function () {
      const s = await networkHelpers.loadFixture(funded);
      const u = s.unit;
      const reserveOf = (margin: bigint, entryNotionalUsd: bigint) =>
        sideReserve(margin, entryNotionalUsd, IMR, MAX_PROFIT_FACTOR, s.decimals);
      await s.orders.connect(s.alice).openPosition(ETH, WAD / 10n, 30n * u);
      const aliceEntry = notionalUsd(WAD / 10n, usd(3_000));
      expect(await s.engine.totalReserved()).to.equal(reserveOf(30n * u, aliceEntry));
      expect(await s.engine.totalReserved()).to.equal(270n * u);

      // A top-up of 200,000 (free to add and take back) leaves the reserve at 9 x the initial margin of 30.
      const topUp = 200_000n * u;
      await s.engine.connect(s.alice).addMargin(ETH, topUp);
      const aliceMargin = 30n * u + topUp;
      expect(await s.engine.totalReserved()).to.equal(reserveOf(aliceMargin, aliceEntry));
      expect(await s.engine.totalReserved()).to.equal(270n * u);
      const lpBalance = await s.engine.lpBalance();
      expect(await s.engine.freeLiquidity()).to.equal(lpBalance - 270n * u);
      // Nothing is held for the LP (maxWithdraw is zero): LPs leave only by request.
      expect(await s.vault.maxWithdraw(s.lp)).to.equal(0n);

      // New traders still open; the long side reserves 9 x the initial margin of its entries.
      await s.orders.connect(s.bob).openPosition(ETH, WAD, 300n * u);
      const sideEntry = aliceEntry + notionalUsd(WAD, usd(3_000));
      const reserved = reserveOf(aliceMargin + 300n * u, sideEntry);
      expect(reserved).to.equal(2_970n * u);
      expect(await s.engine.totalReserved()).to.equal(reserved);

      // At $6,000 the long side's profit is 3,300; the LP mark owes it only up to the side's reserve.
      await s.ethFeed.updateAnswer(feedPrice(6_000));
      expect(await s.vault.totalAssets()).to.equal((await s.engine.lpBalance()) - reserved);

      // LPs redeem everything above the reserve, by request (positions are open): the shares free liquidity
      // buys, rounded down, pay it to within a unit (no funding here: the delay moves no mark).
      await s.ethFeed.updateAnswer(feedPrice(3_000));
      const free = (await s.engine.lpBalance()) - reserved;
      const before = await s.token.balanceOf(s.lp);
      const paid = await lpRedeem(s, s.lp, await s.vault.convertToShares(free));
      expect(await s.token.balanceOf(s.lp)).to.equal(before + paid);
      expect(paid).to.be.within(free - 1n, free);
      expect(await s.engine.lpBalance()).to.be.within(reserved, reserved + 1n);

      // Alice's profit at $6,000 stops at 9 x 30, paid from the reserve.
      await s.ethFeed.updateAnswer(feedPrice(6_000));
      const cap = profitCap(aliceMargin, WAD / 10n, usd(3_000), IMR, MAX_PROFIT_FACTOR, s.decimals);
      expect(cap).to.equal(270n * u);
      const profit = pnl(WAD / 10n, usd(3_000), usd(6_000), cap, s.decimals);
      expect(profit).to.equal(cap); // uncapped it would be 300
      const payout = aliceMargin + profit - tradingFee(WAD / 10n, usd(6_000), FEE_RATIO, s.decimals);
      await expect(s.orders.connect(s.alice).closePosition(ETH)).to.changeTokenBalance(
        ethers,
        s.token,
        s.alice,
        payout,
      );
    });

    it("defence: removeMargin counts unrealized profit as zero, so a price spike cannot pull margin out", async function () {
      const s = await networkHelpers.loadFixture(funded);
      await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * s.unit);
      await s.ethFeed.updateAnswer(feedPrice(6_000)); // +2700 capped profit, notional doubles
      const before = await s.engine.getPosition(s.alice, ETH);
      await expect(s.orders.connect(s.alice).removeMargin(ETH, 1n))
        .to.be.revertedWithCustomError(s.engine, "InsufficientInitialMargin")
        .withArgs(300n * s.unit - 1n, 600n * s.unit);
      expect((await s.engine.getPosition(s.alice, ETH)).margin).to.equal(before.margin);
    });
  });
}

describe("Attacks with hostile collateral tokens", function () {
  for (const [name, fixture] of [
    ["6-decimal", feeOnTransferSystem6],
    ["18-decimal", feeOnTransferSystem18],
  ] as const) {
    it(`defence: a fee-on-transfer token is refused on LP deposit with TransferAmountMismatch (${name})`, async function () {
      const s = await networkHelpers.loadFixture(fixture);
      const assets = 1_000n * s.unit;
      await expect(s.vault.connect(s.lp).requestDeposit(assets, s.lp, s.lp))
        .to.be.revertedWithCustomError(s.vault, "TransferAmountMismatch")
        .withArgs(assets, assets - assets / 100n);
      expect(await s.engine.lpBalance()).to.equal(0n);
    });

    it(`defence: a fee switched on after listing makes an open revert with nothing moved, and addMargin is refused with TransferAmountMismatch (${name})`, async function () {
      const s = await networkHelpers.loadFixture(fixture);
      await s.token.setFeeOn(false);
      await lpDeposit(s, s.lp, 1_000_000n * s.unit);
      await s.orders.connect(s.bob).openPosition(ETH, WAD, 500n * s.unit);
      await s.token.setFeeOn(true);
      const pulled = 500n * s.unit + tradingFee(WAD, usd(3_000), FEE_RATIO, s.decimals);
      const burnt = pulled / 100n;
      const before = [await s.token.balanceOf(s.alice), await s.token.balanceOf(s.engine), await s.engine.lpBalance()];
      // InstantOrders receives `pulled` less 1 %; the engine's pull of `pulled` from it burns another 1 % first,
      // so the orders contract cannot deliver the rest: the token refuses and the whole trade reverts.
      await expect(s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * s.unit))
        .to.be.revertedWithCustomError(s.token, "ERC20InsufficientBalance")
        .withArgs(await s.orders.getAddress(), pulled - 2n * burnt, pulled - burnt);
      expect([
        await s.token.balanceOf(s.alice),
        await s.token.balanceOf(s.engine),
        await s.engine.lpBalance(),
      ]).to.deep.equal(before);
      expect(await s.token.balanceOf(s.orders)).to.equal(0n);
      await expect(s.engine.connect(s.bob).addMargin(ETH, 100n * s.unit))
        .to.be.revertedWithCustomError(s.engine, "TransferAmountMismatch")
        .withArgs(100n * s.unit, 99n * s.unit);
      expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(0n);
      expect((await s.engine.getPosition(s.bob, ETH)).margin).to.equal(500n * s.unit);
    });
  }

  it("defence: a token re-entering the engine during a close's payout hits the guard: the payout fails and is deferred to claimable", async function () {
    const s = await networkHelpers.loadFixture(reentrantSystem);
    await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * s.unit);
    await s.feed.updateAnswer(feedPrice(3_300));
    // distributeFees would succeed from anyone: only the guard can make the token's callback revert.
    await s.token.arm(s.engine, s.engine.interface.encodeFunctionData("distributeFees"));
    const pendingFees = await s.lens.pendingProtocolFees();
    const fee = tradingFee(WAD, usd(3_300), FEE_RATIO, 6);
    const payout = 500n * s.unit + 300n * s.unit - fee;
    const tx = s.orders.connect(s.alice).closePosition(ETH);
    // The payout is a `trySafeTransfer`: the guard's revert inside the token's callback fails the transfer.
    await expect(tx).to.emit(s.engine, "RefundDeferred").withArgs(s.alice.address, payout);
    await expect(tx).to.changeTokenBalances(ethers, s.token, [s.alice, s.engine], [0n, 0n]);
    expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(0n);
    expect(await s.engine.claimable(s.alice)).to.equal(payout);
    // The nested distributeFees did not run: only the close's fee was added.
    expect(await s.lens.pendingProtocolFees()).to.equal(pendingFees + splitFee(fee).protocol);
    await s.token.disarm();
    await expect(s.engine.connect(s.alice).claim(s.alice)).to.changeTokenBalance(ethers, s.token, s.alice, payout);
  });

  it("defence: a token re-entering during an open's pull by the engine or withdrawLiquidity's payment (a redemption's execution) hits ReentrancyGuardReentrantCall", async function () {
    const s = await networkHelpers.loadFixture(reentrantSystem);
    // The engine pulls an open's collateral from its orders contract: play InstantOrders, holding the
    // collateral, so that the engine's pull is the first (armed) transfer.
    const orders = await s.orders.getAddress();
    const amount = 500n * s.unit + tradingFee(WAD, usd(3_000), FEE_RATIO, 6);
    await s.token.mint(orders, amount);
    await networkHelpers.impersonateAccount(orders);
    await networkHelpers.setBalance(orders, 10n ** 18n);
    const asOrders = await ethers.getSigner(orders);
    await s.token.arm(s.engine, s.engine.interface.encodeFunctionData("distributeFees"));
    await expect(s.engine.connect(asOrders).executeOpen(s.alice, ETH, -WAD, amount, usd(3_000), usd(3_000)))
      .to.be.revertedWithCustomError(s.engine, "ReentrancyGuardReentrantCall")
      .withArgs();
    expect((await s.engine.getPosition(s.alice, ETH)).size).to.equal(0n);
    await networkHelpers.stopImpersonatingAccount(orders);
    await s.vault.connect(s.lp).requestRedeem(await s.vault.convertToShares(1_000n * s.unit), s.lp, s.lp);
    await s.token.arm(s.engine, s.engine.interface.encodeFunctionData("distributeFees"));
    await expect(executeLpRequest(s, s.lp))
      .to.be.revertedWithCustomError(s.engine, "ReentrancyGuardReentrantCall")
      .withArgs();
    expect(await s.engine.lpBalance()).to.equal(1_000_000n * s.unit);
  });
});

describe("Attacks around the L2 sequencer", function () {
  it("defence: an outage refuses opens, increases and margin removal but allows closes, reduces and top-ups; after restart the grace period still refuses opens", async function () {
    const s = await networkHelpers.loadFixture(sequencerSystem);
    const u = s.unit;
    await s.orders.connect(s.alice).openPosition(s.L2, 2n * WAD, 1_000n * u);
    await s.orders.connect(s.carol).openPosition(s.L2, -WAD, 1_000n * u);

    const downSince = BigInt(await networkHelpers.time.latest());
    await s.sequencer.updateRoundData(2n, 1n, downSince, downSince);
    await expect(s.orders.connect(s.bob).openPosition(s.L2, WAD, 500n * u))
      .to.be.revertedWithCustomError(s.l2Oracle, "SequencerDown")
      .withArgs(downSince);
    await expect(s.orders.connect(s.alice).increasePosition(s.L2, WAD, 500n * u))
      .to.be.revertedWithCustomError(s.l2Oracle, "SequencerDown")
      .withArgs(downSince);
    await expect(s.orders.connect(s.alice).removeMargin(s.L2, u))
      .to.be.revertedWithCustomError(s.l2Oracle, "SequencerDown")
      .withArgs(downSince);
    await s.engine.connect(s.alice).addMargin(s.L2, u);
    await s.orders.connect(s.alice).reducePosition(s.L2, WAD);
    const fee = tradingFee(WAD, usd(3_000), FEE_RATIO, 6);
    await expect(s.orders.connect(s.carol).closePosition(s.L2)).to.changeTokenBalance(
      ethers,
      s.token,
      s.carol,
      1_000n * u - fee,
    );

    const upSince = BigInt(await networkHelpers.time.latest()) + 1n;
    await networkHelpers.time.setNextBlockTimestamp(upSince);
    await s.sequencer.updateRoundData(3n, 0n, upSince, upSince);
    await expect(s.orders.connect(s.bob).openPosition(s.L2, WAD, 500n * u))
      .to.be.revertedWithCustomError(s.l2Oracle, "SequencerGracePeriodNotOver")
      .withArgs(upSince, GRACE);
    await networkHelpers.time.setNextBlockTimestamp(upSince + GRACE - 1n);
    await s.ethFeed.updateAnswer(feedPrice(3_000));
    await networkHelpers.time.setNextBlockTimestamp(upSince + GRACE);
    await s.orders.connect(s.bob).openPosition(s.L2, WAD, 500n * u);
    expect((await s.engine.getPosition(s.bob, s.L2)).size).to.equal(WAD);
  });
});
