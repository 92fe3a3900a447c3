import { expect } from "chai";
import type { Signer } from "ethers";
import { sentRequest } from "./helpers/book.js";
import {
  deploySystem,
  ETH,
  FLOOR_FEE_BOOK,
  ethers,
  feedPrice,
  networkHelpers,
  ORDER_DELAY,
  ORDER_MAX_AGE,
  WAD,
} from "./helpers/system.js";
import { lpDeposit } from "./helpers/lp.js";

/**
 * Nobody chooses when a request executes. Each `attack_*` test plays an attack in which whoever executed a
 * request picked the moment (the figure it reached on the code before executors, measured on that code, is in
 * its name and comment), prints what it reaches now ("attack_<name>: <figure>") and asserts that the attacker
 * gains nothing, with the executors absent for any time up to the end of the execution window.
 */

const { time } = networkHelpers;
const OPEN = 0;
const CLOSE = 3;
const NO_BOUND = 2n ** 128n - 1n; // a buy's acceptable price that accepts any price
/** The last second at which an executor may still execute: notBefore + this = expiresAt. */
const WINDOW = ORDER_MAX_AGE - ORDER_DELAY;

const tokens = (amount: bigint) => ethers.formatUnits(amount, 6);
/** An LP request pays the floor, 0.5, like a trade: escrowed before the figures below are read. */
const LP_FEE = 500_000n;
const now = async () => BigInt(await time.latest());
const at = (t: bigint) => time.setNextBlockTimestamp(t);

/**
 * The real order book with the deployed minimum execution fee (0.5), a 1M LP pool, 100k staked in the
 * backstop, funding off (exact figures); the keeper is the fixture's executor.
 */
async function timingSystem() {
  const s = await deploySystem({
    decimals: 6,
    orders: "book",
    orderBook: FLOOR_FEE_BOOK,
    ethConfig: { maxFundingRatePerDay: 0n },
    btcConfig: { maxFundingRatePerDay: 0n },
  });
  await lpDeposit(s, s.lp, 1_000_000n * s.unit);
  await s.backstop.connect(s.staker).deposit(100_000n * s.unit, s.staker);
  return s;
}
type S = Awaited<ReturnType<typeof timingSystem>>;

/** A round of the ETH feed at `dollars` in a block at `t`; returns its id. */
async function roundAt(s: S, t: bigint, dollars: number) {
  await at(t);
  await s.ethFeed.updateAnswer(feedPrice(dollars));
  return (await s.ethFeed.latestRoundData())[0] as bigint;
}

/** Sends a trade request and returns it as committed, with its window. */
async function ask(s: S, who: Signer, kind: number, size: bigint, amount: bigint, fee: bigint) {
  const buy = (kind === OPEN) === size > 0n; // a long that opens or a short that closes
  return sentRequest(s.book, s.book.connect(who).request(ETH, kind, size, amount, buy ? NO_BOUND : 0n, fee));
}

/** Whether a transaction went through (the attacker tries; a refusal is part of the defence). */
async function tries(send: () => Promise<unknown>) {
  try {
    await send();
    return true;
  } catch {
    return false;
  }
}

/**
 * One attempt of the own-keeper free option: Alice asks for a 100 ETH long at 10x with the minimum fee (0.5),
 * the project's keeper skipping it. The first round after the delay is at $3,000; the next one (5 s later), visible
 * in the mempool, moves ±1.5 %. Alice executes her own request at the first round only when the next round
 * favours her; otherwise she leaves it and cancels it after expiry. The executor, if present, comes
 * `keeperDelay` seconds after the first round (null: absent for the whole window). A position is closed at
 * the next round's price. Returns Alice's gain.
 */
async function ownKeeperAttempt(favourable: boolean, keeperDelay: bigint | null) {
  const s = await networkHelpers.loadFixture(timingSystem);
  const alice = s.alice;
  const before: bigint = await s.token.balanceOf(alice);
  const size = 100n * WAD;
  const amount = 30_000n * s.unit + 150n * s.unit; // margin + 5 bps of 300,000
  const { request, notBefore, expiresAt } = await ask(s, alice, OPEN, size, amount, 500_000n);
  const first = await roundAt(s, notBefore, 3_000);
  if (keeperDelay === 0n) await s.book.connect(s.keeper).execute(alice, ETH, request, first);
  let selfExecuted = false;
  if (favourable && (await s.book.isPending(alice, ETH, request))) {
    selfExecuted = await tries(() => s.book.connect(alice).execute(alice, ETH, request, first));
  }
  const next = favourable ? 3_045 : 2_955;
  await roundAt(s, notBefore + 5n, next);
  if (await s.book.isPending(alice, ETH, request)) {
    if (keeperDelay !== null && keeperDelay > 0n) {
      await at(notBefore + keeperDelay);
      await s.book.connect(s.keeper).execute(alice, ETH, request, first);
    } else {
      await at(expiresAt + 1n);
      await s.book.connect(alice).cancel(alice, ETH, request);
    }
  }
  if ((await s.engine.getPosition(alice, ETH)).size !== 0n) {
    const close = await ask(s, alice, CLOSE, 1n, 0n, 500_000n);
    const closeRound = await roundAt(s, close.notBefore, next);
    await s.book.connect(s.keeper).execute(alice, ETH, close.request, closeRound);
  }
  const gain = (await s.token.balanceOf(alice)) + (s.book.claimable ? await s.book.claimable(alice) : 0n) - before;
  return { gain, selfExecuted };
}

/**
 * The standing deposit: Bob holds a 100 ETH long on 30,000 at $3,000 (Carol a 1 ETH short keeps the market
 * open). Dave asks to deposit 9M; its first round passes at $3,000 and nobody executes it. A crash round to
 * $2,400 (−20 %) makes Bob bankrupt. In the crash block Dave executes his own deposit and liquidates Bob (the
 * backstop's cover lands in the pool), then redeems everything through a request. Executors, if present, come
 * `keeperDelay` seconds after the first round (the crash lands 5 s after it). Returns Dave's gain as an LP
 * (the redemption's held assets, the most its claim pays, less the deposit; the liquidation's keeper fee is
 * counted apart).
 */
async function standingDeposit(keeperDelay: bigint | null, crashTo = 2_400) {
  const s = await networkHelpers.loadFixture(timingSystem);
  const u = s.unit;
  // Bob's and Carol's positions, executed by the keeper at their round.
  const bob = await ask(s, s.bob, OPEN, 100n * WAD, 30_150n * u, u);
  const carol = await ask(s, s.carol, OPEN, -WAD, 402n * u, u);
  const opened = await roundAt(s, carol.notBefore, 3_000);
  await s.book.connect(s.keeper).execute(s.bob, ETH, bob.request, opened);
  await s.book.connect(s.keeper).execute(s.carol, ETH, carol.request, opened);

  const dave = s.dave;
  const deposit = 9_000_000n * u;
  await s.vault.connect(dave).requestDepositWithLimit(deposit, dave.address, dave.address, 0n, LP_FEE);
  const { notBefore } = await s.vault.lpRequest(dave);
  const first = await roundAt(s, notBefore, 3_000);
  if (keeperDelay === 0n) await s.vault.connect(s.keeper).executeRequest(dave, [first, 0n]);
  // The crash block: the round, then Dave's own execution and his liquidation.
  await roundAt(s, notBefore + 5n, crashTo);
  const selfExecuted =
    keeperDelay === 0n ? false : await tries(() => s.vault.connect(dave).executeRequest(dave, [first, 0n]));
  const keeperFeeBefore: bigint = await s.token.balanceOf(dave);
  const liquidated = await tries(() => s.engine.connect(dave).liquidate(s.bob, ETH, dave));
  const keeperFee = (await s.token.balanceOf(dave)) - keeperFeeBefore;
  if ((await s.vault.lpRequest(dave)).amount !== 0n) {
    if (keeperDelay === null) {
      await time.increaseTo((await s.vault.lpRequest(dave)).expiresAt + 1n);
      await s.vault.cancelRequest(dave);
      return { gain: 0n, selfExecuted, keeperFee, liquidated };
    }
    await at(notBefore + keeperDelay);
    await s.vault.connect(s.keeper).executeRequest(dave, [first, 0n]);
  }
  await s.vault.connect(dave)["deposit(uint256,address)"](deposit, dave); // the executed deposit's shares
  await s.vault
    .connect(dave)
    .requestRedeemWithLimit(await s.vault.balanceOf(dave), dave.address, dave.address, 0n, LP_FEE);
  const exit = await roundAt(s, (await s.vault.lpRequest(dave)).notBefore, crashTo);
  await s.vault.connect(s.keeper).executeRequest(dave, [exit, 0n]);
  // The redemption is held (EXIT_HOLD) at the assets of its execution, the most its claim can pay.
  const gain = (await s.vault.lpExit(dave)).assets - deposit;
  return { gain, selfExecuted, keeperFee, liquidated };
}

/**
 * A third party times another LP's redemption: Dave and the fixture's LP each hold 1M of the pool; Bob holds
 * a 300 ETH long on 90,000 at $3,000. The LP asks to redeem a tenth of their shares; its first round is at
 * $3,000; 10 s later ETH spikes +10 % for a minute (a round at $3,300, then one back at $3,000). Dave executes
 * the redemption during the spike (`act`), when it pays least; otherwise the executor executes it when it
 * comes, `keeperDelay` seconds after the first round. Returns what the LP's redemption was executed at (its held
 * assets, the most its claim pays) and Dave's pool value.
 */
async function lateRedemption(act: boolean, keeperDelay: bigint) {
  const s = await networkHelpers.loadFixture(timingSystem);
  const u = s.unit;
  await lpDeposit(s, s.dave, 1_000_000n * u);
  const bob = await ask(s, s.bob, OPEN, 300n * WAD, 90_450n * u, u);
  const opened = await roundAt(s, bob.notBefore, 3_000);
  await s.book.connect(s.keeper).execute(s.bob, ETH, bob.request, opened);

  await s.vault
    .connect(s.lp)
    .requestRedeemWithLimit((await s.vault.balanceOf(s.lp)) / 10n, s.lp.address, s.lp.address, 0n, LP_FEE);
  const { notBefore } = await s.vault.lpRequest(s.lp);
  const first = await roundAt(s, notBefore, 3_000);
  let executedBy = "";
  if (keeperDelay === 0n) {
    await s.vault.connect(s.keeper).executeRequest(s.lp, [first, 0n]);
    executedBy = "keeper";
  }
  await roundAt(s, notBefore + 10n, 3_300);
  if (act && executedBy === "" && (await tries(() => s.vault.connect(s.dave).executeRequest(s.lp, [first, 0n])))) {
    executedBy = "dave";
  }
  await roundAt(s, notBefore + 70n, 3_000);
  if (executedBy === "") {
    await at(notBefore + keeperDelay);
    await s.vault.connect(s.keeper).executeRequest(s.lp, [first, 0n]);
    executedBy = "keeper";
  }
  const paid = (await s.vault.lpExit(s.lp)).assets;
  const daveValue: bigint = await s.vault.convertToAssets(await s.vault.balanceOf(s.dave));
  return { paid, daveValue, executedBy };
}

describe("Attacks on the timing of executions", function () {
  it("attack_ownKeeperFreeOption: a trader who is their own keeper executes only when the next round favours them (before: +4,197.25 when it does, -0.50 when not, +2,098.37 per attempt)", async function () {
    // On the code before executors (measured there): Alice's own execution goes through when the next
    // round is +1.5 %: +4,197.25; when it is -1.5 % she lets the request expire: -0.50.
    const favourable = await ownKeeperAttempt(true, null);
    expect(favourable.selfExecuted, "only an executor may execute a request").to.equal(false);
    // The executors' absence, from none to the whole window: whatever the next round, Alice cannot choose.
    for (const delay of [0n, 10n, 60n, WINDOW / 2n, WINDOW, null]) {
      const up = await ownKeeperAttempt(true, delay);
      const down = await ownKeeperAttempt(false, delay);
      const perAttempt = (up.gain + down.gain) / 2n;
      console.log(
        `      attack_ownKeeperFreeOption: executor after ${delay === null ? "never" : `${delay} s`}: ` +
          `${tokens(up.gain)} up, ${tokens(down.gain)} down, ${tokens(perAttempt)} per attempt (before: +2,098.37)`,
      );
      expect(
        perAttempt,
        `at even odds Alice gains nothing per attempt (executor after ${delay} s)`,
      ).to.be.lessThanOrEqual(0n);
      if (delay === null) {
        expect(up.gain, "an unexecuted request is refunded in full").to.equal(0n);
        expect(down.gain, "an unexecuted request is refunded in full").to.equal(0n);
      }
    }
  });

  it("attack_standingDepositTakesCover: an LP executes their standing deposit in the crash block, then liquidates (before: +26,830.83)", async function () {
    // On the code before executors (measured there): Dave's own execution in the crash block went through
    // and his 9M took 90 % of the backstop's cover: +26,830.83 as an LP, plus the 100 keeper fee.
    const own = await standingDeposit(60n);
    expect(own.selfExecuted, "only an executor may execute an LP request").to.equal(false);
    for (const delay of [10n, 60n, WINDOW / 2n, WINDOW, null]) {
      const r = await standingDeposit(delay);
      console.log(
        `      attack_standingDepositTakesCover: executor after ${delay === null ? "never" : `${delay} s`}: ` +
          `${tokens(r.gain)} to Dave as an LP (keeper fee ${tokens(r.keeperFee)} apart; before: +26,830.83)`,
      );
      expect(r.liquidated, "Dave liquidated Bob in the crash block").to.equal(true);
      expect(r.gain, `Dave's deposit takes none of the cover (executor after ${delay} s)`).to.be.lessThanOrEqual(0n);
    }
    // With the executor on time the deposit is executed at its round, before the crash: Dave is an LP through
    // the move whichever way it goes, and at even odds (a crash or a rally of 20 %) gains nothing.
    const crash = await standingDeposit(0n, 2_400);
    const rally = await standingDeposit(0n, 3_600);
    console.log(
      `      attack_standingDepositTakesCover: executor on time: ${tokens(crash.gain)} in a crash, ` +
        `${tokens(rally.gain)} in a rally`,
    );
    expect(crash.gain + rally.gain, "an LP through the move gains nothing at even odds").to.be.lessThanOrEqual(0n);
  });

  it("attack_thirdPartyExecutesRedemptionLate: another LP executes a redemption during a +10 % spike (before: the LP paid 95,515.75 instead of 100,015.75, Dave +2,368.42)", async function () {
    // On the code before executors (measured there): Dave executed the LP's redemption during the spike; it
    // paid 95,515.75 instead of 100,015.75 (-4.5 %), and Dave's own LP value rose by his share: +2,368.42.
    for (const delay of [0n, 90n, WINDOW / 2n, WINDOW]) {
      const honest = await lateRedemption(false, delay);
      const attacked = await lateRedemption(true, delay);
      const gain = attacked.daveValue - honest.daveValue;
      console.log(
        `      attack_thirdPartyExecutesRedemptionLate: executor after ${delay} s: LP paid ${tokens(attacked.paid)} ` +
          `(${tokens(honest.paid)} without Dave), Dave ${tokens(gain)} (before: +2,368.42)`,
      );
      expect(attacked.executedBy, "only an executor may execute an LP request").to.equal("keeper");
      expect(gain, `Dave gains nothing by trying (executor after ${delay} s)`).to.be.lessThanOrEqual(0n);
      expect(attacked.paid, "the LP is paid as without Dave").to.equal(honest.paid);
    }
  });

  it("attack_openStartsLiquidatable: a long executes at its round ($3,000) while the price is already $2,800; it must not open liquidatable (before: opened, liquidated in the next transaction, the trader lost 2,395.50)", async function () {
    const s = await networkHelpers.loadFixture(timingSystem);
    const alice = s.alice;
    const before: bigint = await s.token.balanceOf(alice);
    // 10 ETH at $3,000 on exactly its initial margin (3,000) and the 5 bps opening fee.
    const amount = 3_000n * s.unit + 15n * s.unit;
    const { request, notBefore } = await ask(s, alice, OPEN, 10n * WAD, amount, 500_000n);
    const first = await roundAt(s, notBefore, 3_000);
    await roundAt(s, notBefore + 5n, 2_800); // the price has fallen before the executor acts
    await at(notBefore + 6n);
    const exec = await (await s.book.connect(s.keeper).execute(alice, ETH, request, first)).wait();
    const opened = (await s.engine.getPosition(alice, ETH)).size !== 0n;
    let liquidatable = false;
    if (opened) {
      liquidatable = await s.lens.isLiquidatable(alice, ETH);
      if (liquidatable) await s.engine.connect(s.keeper).liquidate(alice, ETH, s.keeper);
    }
    const lost = before - ((await s.token.balanceOf(alice)) + (await s.book.claimable(alice)));
    console.log(
      `attack_openStartsLiquidatable: opened ${opened}, liquidatable at once ${liquidatable}; the trader lost ` +
        `${tokens(lost)} (before: opened, liquidated, lost 2,395.50)`,
    );
    // The engine checks health at the latest price after an open: the request is cancelled and refunded
    // less its fee, with the engine's reason.
    expect(opened, "the open is refused").to.equal(false);
    const cancelled = exec!.logs.map((l) => s.book.interface.parseLog(l)).find((e) => e?.name === "OrderCancelled");
    expect(cancelled?.args.reason.slice(0, 10)).to.equal(
      s.engine.interface.getError("PositionWouldBeLiquidatable")!.selector,
    );
    expect(lost).to.equal(500_000n); // the execution fee only
  });
});
