import { expect } from "chai";
import type { Log, Signer } from "ethers";
import { sentRequest } from "./helpers/book.js";
import { deploySystem, ETH, FLOOR_FEE_BOOK, ethers, feedPrice, networkHelpers, WAD } from "./helpers/system.js";
import { lpDeposit } from "./helpers/lp.js";

/**
 * No step that is not an oracle round can be captured or escaped. A backstop cover landing in the LP pool and a
 * recovery repayment are such steps: each `attack_*` test plays an LP request made and executed around one (the
 * figure it reached on the code before gains vested, measured on that code, is in its name and comment), prints
 * what it reaches now ("attack_<name>: <figure>") and asserts that the attacker takes no more than the vesting
 * stream paid every share while he held his. The executor is on time, and executes the attacker's request
 * before anyone liquidates (the worst order for the defence); liquidations come in the same block or slowly.
 */

const { time } = networkHelpers;
const OPEN = 0;
const NO_BOUND = 2n ** 128n - 1n;
const LP_FEE = 500_000n; // the book's minimum, which the attacker pays on each request
const VESTING = 86_400n; // VestingLib.PERIOD: a gain vests within a day

const tokens = (amount: bigint) => ethers.formatUnits(amount, 6);
const now = async () => BigInt(await time.latest());
const at = (t: bigint) => time.setNextBlockTimestamp(t);

/** The real order book, a 1M LP pool and `staked` in the backstop (covers up to 30 % of it), funding off. */
function stepsSystem(staked: bigint) {
  return async function stepsFixture() {
    const s = await deploySystem({
      decimals: 6,
      orders: "book",
      orderBook: FLOOR_FEE_BOOK,
      ethConfig: { maxFundingRatePerDay: 0n },
      btcConfig: { maxFundingRatePerDay: 0n },
    });
    await lpDeposit(s, s.lp, 1_000_000n * s.unit);
    await s.backstop.connect(s.staker).deposit(staked * s.unit, s.staker);
    return s;
  };
}
const withBackstop = stepsSystem(100_000n);
const smallBackstop = stepsSystem(1_000n);
type S = Awaited<ReturnType<typeof withBackstop>>;

/** A round of the ETH feed at `dollars` in a block at `t`; returns its id. */
async function roundAt(s: S, t: bigint, dollars: number) {
  await at(t);
  await s.ethFeed.updateAnswer(feedPrice(dollars));
  return (await s.ethFeed.latestRoundData())[0] as bigint;
}

/** Bob's 100 ETH long on 30,000 at $3,000 and Carol's 1 ETH short (the market stays open), executed. */
async function openBook(s: S) {
  const u = s.unit;
  const send = (who: Signer, size: bigint, amount: bigint) =>
    sentRequest(s.book, s.book.connect(who).request(ETH, OPEN, size, amount, size > 0n ? NO_BOUND : 0n, u));
  const bob = await send(s.bob, 100n * WAD, 30_150n * u);
  const carol = await send(s.carol, -WAD, 402n * u);
  const round = await roundAt(s, carol.notBefore, 3_000);
  await s.book.connect(s.keeper).execute(s.bob, ETH, bob.request, round);
  await s.book.connect(s.keeper).execute(s.carol, ETH, carol.request, round);
}

/** The gain a transaction set vesting (`GainVesting`), zero if none (and on the code before gains vested). */
function vestingGain(s: S, receipt: { logs: readonly Log[] } | null) {
  for (const log of receipt!.logs) {
    const parsed = s.engine.interface.parseLog(log);
    if (parsed?.name === "GainVesting") return parsed.args.gain as bigint;
  }
  return 0n;
}

/**
 * What the vesting stream paid Dave's shares while he held them: what was vesting at his entry's block, plus
 * the gains `added` since, less what was still vesting at his exit's block (the engine's pool, decoded by the lens), pro rata
 * to his part of the shares.
 */
async function streamShare(s: S, entryBlock: number, exitBlock: number, added: bigint, shares: bigint, supply: bigint) {
  if (!s.lens.unvestedGains) return 0n; // the code before gains vested
  const atEntry: bigint = await s.lens.unvestedGains({ blockTag: entryBlock });
  const atExit: bigint = await s.lens.unvestedGains({ blockTag: exitBlock });
  return ((atEntry + added - atExit) * shares) / supply;
}

/**
 * `who` claims their held redemption (all its shares, ERC-7540's `redeem`) as soon as the hold allows, with a round
 * at `dollars` then (the feed's last one is older than its heartbeat by then).
 */
async function claimWhenHeld(s: S, who: Signer, dollars: number) {
  const exit = await s.vault.lpExit(who);
  await roundAt(s, exit.claimableAt, dollars);
  await s.vault.connect(who).redeem(exit.shares, who, who);
}

/** Dave's exit: he redeems every share at his request's first round, executed on time, and claims at the end of the
 * hold; returns his payout and his shares' part of the stream since his entry at `entryBlock` (`added` vested
 * since) until the execution. */
async function daveLeaves(s: S, dollars: number, entryBlock: number, added: bigint) {
  const shares: bigint = await s.vault.balanceOf(s.dave);
  const supply: bigint = await s.vault.totalSupply();
  await s.vault.connect(s.dave).requestRedeemWithLimit(shares, s.dave.address, s.dave.address, 0n, LP_FEE);
  const exit = await roundAt(s, (await s.vault.lpRequest(s.dave)).notBefore, dollars);
  const before: bigint = await s.token.balanceOf(s.dave);
  const receipt = await (await s.vault.connect(s.keeper).executeRequest(s.dave, [exit, 0n])).wait();
  await claimWhenHeld(s, s.dave, dollars);
  const paid = (await s.token.balanceOf(s.dave)) - before;
  return { paid, share: await streamShare(s, entryBlock, receipt!.blockNumber, added, shares, supply) };
}

/**
 * The crash-round deposit: Dave asks to deposit 9M a delay before a crash nobody could see yet; his request's first
 * round is the crash to $2,400 (−20 %), which makes Bob bankrupt. The executor executes the deposit at once, before
 * any liquidation. Bob is liquidated `liquidationDelay` seconds later (by Dave, or by slow keepers), the backstop's
 * cover lands, and Dave redeems everything at his exit's first round. Returns his gain as an LP and his share of
 * the stream.
 */
async function depositAtCrash(liquidationDelay: bigint) {
  const s = await networkHelpers.loadFixture(withBackstop);
  const u = s.unit;
  await openBook(s);
  const deposit = 9_000_000n * u;
  await s.vault.connect(s.dave).requestDepositWithLimit(deposit, s.dave.address, s.dave.address, 0n, LP_FEE);
  const crash = await roundAt(s, (await s.vault.lpRequest(s.dave)).notBefore, 2_400);
  const entry = await (await s.vault.connect(s.keeper).executeRequest(s.dave, [crash, 0n])).wait();
  if (liquidationDelay > 0n) await at((await now()) + liquidationDelay);
  const liquidation = await (
    await s.engine.connect(liquidationDelay === 0n ? s.dave : s.keeper).liquidate(s.bob, ETH, s.keeper)
  ).wait();
  const unvested = vestingGain(s, liquidation);
  await s.vault.connect(s.dave)["deposit(uint256,address)"](deposit, s.dave); // the executed deposit's shares
  const { paid, share } = await daveLeaves(s, 2_400, entry!.blockNumber, unvested);
  const gain = paid - deposit - 2n * LP_FEE; // both requests paid the fee
  return { s, gain, share, unvested };
}

/**
 * The deposit before a repayment: a crash left 29,800 socialized (a 1,000 backstop covers 300 of Bob's 30,100 bad
 * debt) and Carol's short keeps positions open. Dave's 9M deposit request is executed at its round; in the next
 * block he calls `distributeFees`, whose repayment lands in the pool, and then redeems everything.
 */
async function depositBeforeRepayment() {
  const s = await networkHelpers.loadFixture(smallBackstop);
  const u = s.unit;
  await openBook(s);
  await roundAt(s, (await now()) + 5n, 2_400);
  await s.engine.connect(s.keeper).liquidate(s.bob, ETH, s.keeper);
  const deposit = 9_000_000n * u;
  await s.vault.connect(s.dave).requestDepositWithLimit(deposit, s.dave.address, s.dave.address, 0n, LP_FEE);
  const first = await roundAt(s, (await s.vault.lpRequest(s.dave)).notBefore, 2_400);
  const entry = await (await s.vault.connect(s.keeper).executeRequest(s.dave, [first, 0n])).wait();
  const lpBefore: bigint = await s.engine.lpBalance();
  const distribution = await (await s.engine.connect(s.dave).distributeFees()).wait();
  const repaid = (await s.engine.lpBalance()) - lpBefore;
  const unvested = vestingGain(s, distribution);
  await s.vault.connect(s.dave)["deposit(uint256,address)"](deposit, s.dave); // the executed deposit's shares
  const { paid, share } = await daveLeaves(s, 2_400, entry!.blockNumber, unvested);
  const gain = paid - deposit - 2n * LP_FEE; // both requests paid the fee
  return { s, gain, share, repaid, unvested };
}

/**
 * The exit before a slow liquidation: Dave holds half of a 2M pool. Bob is 50 ETH long from $2,000 and Alice 100 ETH
 * long from $3,000 on 30,000. Dave asks to redeem everything a delay before a crash nobody could see yet; his
 * request's first round is $2,400, where Alice owes 60,000 on her 30,000 and Bob is 20,000 up: the mark nets the two
 * inside the long side and counts Alice's whole loss, but her liquidation will bring 30,000 and a 300 cover, and
 * socialize the rest. The executor executes Dave's redemption at once; Alice is liquidated `liquidationDelay`
 * seconds later. Returns what Dave took beyond his shares' part of what the LP who stayed is left with per share.
 */
async function exitBeforeSlowLiquidation(liquidationDelay: bigint) {
  const s = await networkHelpers.loadFixture(smallBackstop);
  const u = s.unit;
  await lpDeposit(s, s.dave, 1_000_000n * u);
  const open = async (who: Signer, size: bigint, amount: bigint, dollars: number) => {
    const sent = await sentRequest(
      s.book,
      s.book.connect(who).request(ETH, OPEN, size, amount, size > 0n ? NO_BOUND : 0n, u),
    );
    const round = await roundAt(s, sent.notBefore, dollars);
    await s.book.connect(s.keeper).execute(who, ETH, sent.request, round);
  };
  await open(s.bob, 50n * WAD, 10_050n * u, 2_000);
  await open(s.alice, 100n * WAD, 30_150n * u, 3_000);
  await open(s.carol, -WAD, 402n * u, 3_000);
  const shares: bigint = await s.vault.balanceOf(s.dave);
  const before: bigint = await s.token.balanceOf(s.dave);
  await s.vault.connect(s.dave).requestRedeemWithLimit(shares, s.dave.address, s.dave.address, 0n, LP_FEE);
  const crash = await roundAt(s, (await s.vault.lpRequest(s.dave)).notBefore, 2_400);
  await s.vault.connect(s.keeper).executeRequest(s.dave, [crash, 0n]);
  await at((await now()) + (liquidationDelay > 0n ? liquidationDelay : 1n));
  await s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper);
  await claimWhenHeld(s, s.dave, 2_400);
  const got = (await s.token.balanceOf(s.dave)) - before; // less the fee
  const lpShares: bigint = await s.vault.balanceOf(s.lp);
  const fair = ((await s.vault.convertToAssets(lpShares)) * shares) / lpShares;
  return { s, escaped: got - fair };
}

describe("Attacks on steps that are not oracle rounds", function () {
  it("attack_exitBeforeSlowLiquidation: a redemption executed at a crash round, before a slow liquidation, escapes the socialized loss (before: Dave got 29,800.00 more than the LP who stayed, per share, at 0 s, 90 s, 10 min or 50 min)", async function () {
    const runs = [];
    for (const delay of [0n, 90n, 600n, 3_000n]) {
      const { escaped } = await exitBeforeSlowLiquidation(delay);
      runs.push({ delay, escaped });
      console.log(
        `      attack_exitBeforeSlowLiquidation: liquidation after ${delay} s: Dave got ${tokens(escaped)} more ` +
          `than his shares are worth to the LP who stayed`,
      );
    }
    for (const { delay, escaped } of runs) {
      expect(escaped, `nothing escaped (liquidation after ${delay} s)`).to.be.lessThanOrEqual(0n);
    }
  });

  it("attack_depositAtCrashRoundTakesCover: a deposit whose first round is a crash, executed before the liquidation, takes the cover (before: +26,830.83, the liquidation at once, 90 s or 10 min later)", async function () {
    const runs = [];
    for (const delay of [0n, 90n, 600n]) {
      const run = { delay, ...(await depositAtCrash(delay)) };
      const { gain, share, unvested } = run;
      runs.push(run);
      console.log(
        `      attack_depositAtCrashRoundTakesCover: liquidation after ${delay} s: Dave ${tokens(gain)} ` +
          `(his shares' part of the stream while he held: ${tokens(share)}; the cover's step ${tokens(unvested)} vests)`,
      );
    }
    for (const { s, delay, gain, share, unvested } of runs) {
      expect(unvested, "the cover the capped mark did not count vests").to.be.greaterThan(29_000n * s.unit);
      expect(
        gain,
        `Dave takes no more than the stream paid his shares (liquidation after ${delay} s)`,
      ).to.be.lessThanOrEqual(share + 1n);
    }
  });

  it("attack_depositBeforeRepayment: a deposit executed just before distributeFees takes the recovery repayment (before: 13.59 of 15.15, 89.7 %)", async function () {
    const { s, gain, share, repaid, unvested } = await depositBeforeRepayment();
    console.log(
      `      attack_depositBeforeRepayment: repayment ${tokens(repaid)}; Dave ${tokens(gain)} ` +
        `(his shares' part of the stream while he held: ${tokens(share)})`,
    );
    expect(repaid, "the repayment landed").to.be.greaterThan(0n);
    expect(unvested, "the whole repayment vests").to.equal(repaid);
    expect(gain).to.be.lessThanOrEqual(share + 1n);
    // What had not vested when Dave left stayed in the pool, for the LP who stays: it is all his within the day.
    const left: bigint = await s.lens.unvestedGains();
    const balance: bigint = await s.engine.lpBalance();
    expect(left).to.be.greaterThan(0n);
    await time.increase(VESTING);
    expect(await s.lens.unvestedGains()).to.equal(0n);
    expect(await s.engine.lpBalance()).to.equal(balance);
  });
});
