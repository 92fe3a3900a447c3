// The local playground: everything a new operator needs on an empty `npx hardhat node` to go from a
// deployment to a liquidation, a stake, a cooldown and an unstake, each step a task. Local networks only.
import { MaxUint256, ZeroHash, id } from "ethers";
import {
  type CommonArgs,
  type Report,
  type Tool,
  type ToolContext,
  amountOption,
  marketOption,
  optionalAddress,
  required,
} from "../chain/cli.js";
import { ToolError, describeError } from "../chain/errors.js";
import { date, decimal, duration, tokens, usd } from "../chain/format.js";
import { mined } from "../chain/receipts.js";
import {
  ExecutionClass,
  OrderKind,
  acceptablePrice,
  executeRequests,
  priceExecutionFee,
  tradingFee,
} from "../requests/orders.js";
import { parseDuration } from "./timelock.js";
import { seedLpDeposit } from "../requests/lp.js";
import { parseDecimal } from "../chain/numbers.js";

const LOCAL_CHAIN_ID = 31_337n;

async function requireLocal(ctx: ToolContext) {
  const { chainId } = await ctx.ethers.provider.getNetwork();
  if (chainId !== LOCAL_CHAIN_ID) {
    throw new ToolError("NotLocal", `local tasks only run on a local chain (31337); this is chain ${chainId}`);
  }
}

async function feedOf(ctx: ToolContext, marketId: bigint) {
  const m = await ctx.d.lens.getMarket(marketId);
  const oracle = await ctx.ethers.getContractAt("ChainlinkOracle", m.oracle);
  const feed = await ctx.ethers.getContractAt("MockV3Aggregator", await oracle.feed());
  const [decimals, [, answer], maxAge] = await Promise.all([feed.decimals(), feed.latestRoundData(), oracle.maxAge()]);
  return { feed, oracle, decimals: Number(decimals), answer, maxAge };
}

const marketName = (id: bigint) => (id === 0n ? "ETH-USD" : id === 1n ? "BTC-USD" : `market ${id}`);

type FundArgs = CommonArgs & { amount?: string; account?: string };

export const fund: Tool<FundArgs> = {
  async run(ctx, args) {
    await requireLocal(ctx);
    const { d } = ctx;
    const amount = amountOption(args.amount, "amount", d.decimals, `the mock collateral to mint, in ${d.symbol}`);
    const account = optionalAddress(args.account, "account") ?? ctx.signer.address;
    const receipt = await mined(d.collateral.connect(ctx.signer).mint(account, amount));
    const balance = await d.collateral.balanceOf(account);
    return {
      lines: [
        `Minted ${tokens(ctx.units, amount)} to ${account}; it holds ${tokens(ctx.units, balance)} (tx ${receipt.hash})`,
      ],
      data: { action: "fund", account, amount, balance, tx: receipt.hash },
    };
  },
};

type PriceArgs = CommonArgs & { market?: string; price?: string; move?: string };

/** "-8", "+5%", "2.5" as a signed percent with 4 decimals (basis points of a basis point). */
function parseMove(text: string): bigint {
  const signed = parseDecimal(text.trim().replace(/\s*%$/, ""), 4, "--move", { signed: true, code: "BadMove" });
  if (signed <= -1_000_000n)
    throw new ToolError("BadMove", `--move ${text.trim()} would make the price zero or negative`);
  return signed;
}

export const price: Tool<PriceArgs> = {
  async run(ctx, args) {
    await requireLocal(ctx);
    const marketId = await marketOption(ctx.d, required(args.market, "market", "0 (ETH-USD) or 1 (BTC-USD)"));
    if ((args.price === undefined) === (args.move === undefined)) {
      throw new ToolError("MissingOption", "give either --price (USD, e.g. 2760) or --move (percent, e.g. -8)");
    }
    const f = await feedOf(ctx, marketId);
    let next: bigint;
    if (args.price !== undefined) {
      next = amountOption(args.price, "price", f.decimals, "the new price in USD");
    } else {
      next = (f.answer * (1_000_000n + parseMove(args.move!))) / 1_000_000n;
      if (next <= 0n) throw new ToolError("BadMove", `--move ${args.move} leaves no price`);
    }
    const receipt = await mined(f.feed.connect(ctx.signer).updateAnswer(next));
    const shown = (x: bigint) => usd(x * 10n ** BigInt(18 - f.decimals));
    return {
      lines: [`${marketName(marketId)} feed: ${shown(f.answer)} -> ${shown(next)} (tx ${receipt.hash})`],
      data: { action: "price", marketId, before: f.answer, after: next, feedDecimals: f.decimals, tx: receipt.hash },
    };
  },
};

export const refresh: Tool<CommonArgs> = {
  async run(ctx) {
    await requireLocal(ctx);
    const count = await ctx.d.engine.marketCount();
    const lines: string[] = [];
    const refreshed = [];
    for (let id = 0n; id < count; id++) {
      const f = await feedOf(ctx, id);
      const receipt = await mined(f.feed.connect(ctx.signer).updateAnswer(f.answer));
      lines.push(
        `${marketName(id)} feed: posted ${usd(f.answer * 10n ** BigInt(18 - f.decimals))} again (tx ${receipt.hash})`,
      );
      refreshed.push({ marketId: id, answer: f.answer, tx: receipt.hash });
    }
    return { lines, data: { action: "refresh", feeds: refreshed } };
  },
};

type TimeArgs = CommonArgs & { seconds?: string; toWindow?: boolean; account?: string };

export const time: Tool<TimeArgs> = {
  async run(ctx, args) {
    await requireLocal(ctx);
    const provider = ctx.ethers.provider;
    const now = ctx.units.now;
    let seconds: bigint;
    if (args.toWindow) {
      if (args.seconds !== undefined) throw new ToolError("BadOptions", "give --seconds or --to-window, not both");
      const account = optionalAddress(args.account, "account") ?? ctx.signer.address;
      const s = await ctx.d.backstop.cooldownStatus(account);
      if (s.start === 0n)
        throw new ToolError("NoCooldown", `${account} has no cooldown: run \`backstop cooldown\` first`);
      if (now >= s.windowStart) {
        throw new ToolError(
          "AlreadyOpen",
          `${account}'s unstake window opened on ${date(s.windowStart)}: nothing to wait for`,
        );
      }
      seconds = s.windowStart - now + 60n; // a minute into the window
    } else {
      seconds = parseDuration(
        required(args.seconds, "seconds", "how far to advance, e.g. 3600, 12h or 7d (or --to-window)"),
        "seconds",
      );
      if (seconds === 0n) throw new ToolError("OutOfRange", "--seconds must be more than 0");
    }
    await provider.send("evm_increaseTime", [Number(seconds)]);
    await provider.send("evm_mine", []);
    const after = BigInt((await provider.getBlock("latest"))!.timestamp);
    const lines = [`Advanced the clock by ${duration(seconds)}: it is now ${date(after)}`];
    // Feeds' heartbeats do not move with the clock: say which feeds are now stale and how to refresh them.
    if (ctx.d) {
      const stale: string[] = [];
      const count = await ctx.d.engine.marketCount();
      for (let id = 0n; id < count; id++) {
        const m = await ctx.d.lens.getMarket(id);
        const oracle = await ctx.ethers.getContractAt("ChainlinkOracle", m.oracle);
        await oracle.price().catch(() => stale.push(marketName(id)));
      }
      if (stale.length > 0)
        lines.push(`Stale now: ${stale.join(", ")}; \`npx hardhat local refresh\` posts their prices again`);
    }
    return { lines, data: { action: "time", seconds, timestamp: after } };
  },
};

// ---------------------------------------------------------------- seed

const SEED_POSITIONS = [
  { who: 5, market: 0n, leverage: 9n, margin: 5_000n, long: true },
  { who: 6, market: 0n, leverage: 9n, margin: 4_000n, long: true },
  { who: 7, market: 0n, leverage: 3n, margin: 10_000n, long: true },
  { who: 8, market: 0n, leverage: 5n, margin: 8_000n, long: false },
  { who: 9, market: 1n, leverage: 4n, margin: 10_000n, long: true },
  { who: 10, market: 1n, leverage: 2n, margin: 10_000n, long: false },
];

/** Grants `account` the order book's EXECUTOR_ROLE through the timelock (local nodes: a delay of 0). */
async function grantExecutor(ctx: ToolContext, account: string) {
  const { d } = ctx;
  if (await d.orderBook.isExecutor(account)) return;
  const data = d.orderBook.interface.encodeFunctionData("grantRole", [await d.orderBook.EXECUTOR_ROLE(), account]);
  const timelock = d.timelock.connect(ctx.signer);
  const salt = id(`executor ${account}`);
  await mined(timelock.schedule(d.addresses.orderBook, 0n, data, ZeroHash, salt, await timelock.getMinDelay()));
  await mined(timelock.execute(d.addresses.orderBook, 0n, data, ZeroHash, salt));
}

/**
 * LP liquidity, a staker, six positions and an 8 % ETH drop that makes the two 9x ETH longs liquidatable.
 * Idempotent: each step looks for what it would create and skips it when it exists, so a second run says
 * what exists and sends nothing.
 */
export const seed: Tool<CommonArgs> = {
  async run(ctx) {
    await requireLocal(ctx);
    const { d, ethers, units } = ctx;
    const signers = await ethers.getSigners();
    if (signers.length < 11) throw new ToolError("NotEnoughAccounts", "seeding needs 11 unlocked accounts on the node");
    const unit = 10n ** BigInt(d.decimals);
    const WAD = 10n ** 18n;
    const lp = signers[2];
    const staker = signers[3];
    const lines: string[] = [];
    const done: string[] = [];
    const existing: string[] = [];
    const say = (line: string, changed: boolean) => {
      lines.push(`${changed ? "done  " : "exists"} ${line}`);
      (changed ? done : existing).push(line);
    };

    // Which positions are to open: an account that ever traded in the seed's market is left alone (its
    // position may have been liquidated or closed since; reopening it would not be "nothing changed").
    const plans = [];
    for (const p of SEED_POSITIONS) {
      const who = signers[p.who];
      const [history, requested] = await Promise.all([
        d.engine.queryFilter(d.engine.filters.PositionModified(who.address, p.market)),
        d.orderBook.queryFilter(d.orderBook.filters.OrderRequested(who.address, p.market)),
      ]);
      plans.push({ ...p, signer: who, exists: history.length + requested.length > 0 });
    }
    const toOpen = plans.filter((p) => !p.exists);
    // Check the prices first, so that a stale feed stops the seed before it mints or deposits anything.
    if (toOpen.length > 0) {
      for (const id of new Set(toOpen.map((p) => p.market))) {
        const oracle = id === 0n ? d.ethOracle : d.btcOracle;
        try {
          await oracle.price();
        } catch (error) {
          const why = describeError(error, units).message;
          throw new ToolError(
            "StalePrice",
            `${marketName(id)} has no usable price (${why}): run \`npx hardhat local refresh\` first`,
          );
        }
      }
    }

    const needs = new Map<string, bigint>(); // collateral each account needs for what this run will do
    const lpShares = await d.vault.balanceOf(lp.address);
    const stakerShares = await d.backstop.balanceOf(staker.address);
    const stakerCooldown = (await d.backstop.cooldownStatus(staker.address)).start;
    if (lpShares === 0n) needs.set(lp.address, 500_000n * unit);
    if (stakerShares === 0n && stakerCooldown === 0n) needs.set(staker.address, 50_000n * unit);
    for (const p of toOpen) needs.set(p.signer.address, p.margin * unit * 2n); // margin plus fees, with room
    for (const [address, amount] of needs) {
      const who = signers.find((s) => s.address === address)!;
      const balance = await d.collateral.balanceOf(address);
      if (balance < amount) await mined(d.collateral.connect(who).mint(address, 1_000_000n * unit));
      for (const spender of [d.addresses.orderBook, d.addresses.vault, d.addresses.backstop]) {
        if ((await d.collateral.allowance(address, spender)) < amount) {
          await mined(d.collateral.connect(who).approve(spender, MaxUint256));
        }
      }
    }

    if (lpShares === 0n) {
      // Account #4 executes the LP's request (as it executes the seed's trades below).
      await grantExecutor(ctx, signers[4].address);
      await seedLpDeposit(d, lp, signers[4], 500_000n * unit);
      say(`LP ${lp.address} deposited ${tokens(units, 500_000n * unit)}`, true);
    } else say(`LP ${lp.address} holds ${decimal(lpShares, units.vaultShareDecimals, 0, 2)} LP shares`, false);
    if (stakerShares === 0n && stakerCooldown === 0n) {
      await mined(d.backstop.connect(staker).deposit(50_000n * unit, staker.address));
      say(`staker ${staker.address} staked ${tokens(units, 50_000n * unit)}`, true);
    } else
      say(`staker ${staker.address} holds ${decimal(stakerShares, units.backstopShareDecimals, 0, 2)} shares`, false);

    const [ethPrice, btcPrice] =
      toOpen.length > 0 ? await Promise.all([d.ethOracle.price(), d.btcOracle.price()]) : [0n, 0n];
    const minFee = (await priceExecutionFee(ctx.ethers, d, ExecutionClass.Open)).fee;
    const feeRatios = await Promise.all(
      [0n, 1n].map(async (id) => BigInt((await d.lens.getMarket(id)).config.tradingFeeRatio)),
    );
    for (const p of plans) {
      const label = `${p.signer.address} ${marketName(p.market)} ${p.long ? "long" : "short"} ${p.leverage}x with ${tokens(units, p.margin * unit)}`;
      if (p.exists) {
        const size = (await d.engine.getPosition(p.signer.address, p.market)).size;
        say(`${label} (${size === 0n ? "since closed or liquidated" : "open"})`, false);
        continue;
      }
      const px = p.market === 0n ? ethPrice : btcPrice;
      const size = (p.leverage * p.margin * unit * WAD * 10n ** BigInt(18 - d.decimals)) / px;
      const signed = p.long ? size : -size;
      // Two-step: the request escrows the margin plus the trading fee; the seed executes it below.
      const amount = p.margin * unit + tradingFee(size, px, feeRatios[Number(p.market)], d.decimals);
      const bound = acceptablePrice(OrderKind.Open, signed, px, 100n);
      await mined(d.orderBook.connect(p.signer).request(p.market, OrderKind.Open, signed, amount, bound, minFee));
      say(`${label} (requested)`, true);
    }
    if (toOpen.length > 0) {
      // The requests' round: each feed posts its price again (a block after them, past the delay on a local
      // deployment), and the seed executes them as a keeper would, from account #4 (which keeps the execution
      // fees, so that the operator's balance is only what its own commands earn).
      const delay = await d.orderBook.minDelay();
      await ctx.ethers.provider.send("evm_increaseTime", [Number(delay)]);
      for (const id of new Set(toOpen.map((p) => p.market))) {
        const f = await feedOf(ctx, id);
        await mined(f.feed.connect(ctx.signer).updateAnswer(f.answer));
      }
      // Account #4 executes, so that the fees stay off the operator's balance; it becomes an executor as a
      // second keeper would, through the timelock (no delay on a local node).
      await grantExecutor(ctx, signers[4].address);
      const r = await executeRequests(
        ethers,
        d,
        signers[4],
        toOpen.map((p) => ({ account: p.signer.address, marketId: p.market })),
      );
      say(`executed ${r.executed} request(s) at the next round (${r.cancelled} cancelled)`, true);
    }
    // The drop belongs to the 9x ETH longs: made once, in the run that opened them.
    const opened9x = toOpen.some((p) => p.market === 0n && p.leverage === 9n);
    if (opened9x) {
      const f = await feedOf(ctx, 0n);
      const next = (f.answer * 92n) / 100n;
      await mined(f.feed.connect(ctx.signer).updateAnswer(next));
      const shown = (x: bigint) => usd(x * 10n ** BigInt(18 - f.decimals));
      say(`ETH-USD feed moved from ${shown(f.answer)} to ${shown(next)}: the 9x longs are liquidatable`, true);
    } else say("ETH-USD price drop (made by the run that opened the 9x longs)", false);

    if (done.length === 0) lines.push("Already seeded: nothing changed.");
    return { lines, data: { action: "seed", done, existing, changed: done.length > 0 } } satisfies Report;
  },
};
