// Opening the scenario's book (the lab's first step): every position requested through the order book by its own
// account and executed by the project's keeper, the same way traders and keepers do.
import { AbiCoder, keccak256, toBeHex, zeroPadValue } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { mapLimit } from "../chain/concurrency.js";
import { Keeper } from "../keeper/loop.js";
import { seedLpDeposit } from "../requests/lp.js";
import {
  ExecutionClass,
  OrderKind,
  acceptablePrice,
  atGasPrice,
  priceExecutionFee,
  tradingFee,
} from "../requests/orders.js";
import { type Book, drawPopulation, MARKETS, type MarketName, type Scenario, START_PRICE } from "./scenario.js";

export type { Book };
import { publish, type StressSystem } from "./system.js";

const WAD = 10n ** 18n;

/** The first account of the book's positions: position i trades from this address + i. */
const FIRST_ACCOUNT = 0x5000000n;

// OpenZeppelin ERC20 storage: balances at slot 0, allowances at slot 1 (as scripts/keeper-scale.ts).
const coder = AbiCoder.defaultAbiCoder();
const balanceSlot = (owner: string) => keccak256(coder.encode(["address", "uint256"], [owner, 0n]));
const allowanceSlot = (owner: string, spender: string) =>
  keccak256(
    coder.encode(["address", "bytes32"], [spender, keccak256(coder.encode(["address", "uint256"], [owner, 1n]))]),
  );

/**
 * Funds the vault with the scenario's LP capital and opens the scenario's book: one fresh (impersonated)
 * account per position, its collateral written into the mock token's storage so that only the trades'
 * transactions are sent: each chunk's requests (margin plus the trading fee, and the execution fee), one
 * round of the feeds after the order book's delay, and the project's keeper executing them. With a market
 * guarded (`OrderBook.designGap`), the book cancels the requests the backstop's window capacity cannot
 * carry: they are counted from the `OrderCancelled` reasons (`GapCoverExceeded`), and the book's open
 * interest is what executed.
 */
export async function openBook(
  connection: NetworkConnection,
  sys: StressSystem,
  scenario: Scenario,
  options: { positions?: number; seed?: number; ordered?: boolean; onProgress?: (opened: number) => void } = {},
): Promise<Book> {
  const { ethers } = connection;
  const provider = ethers.provider;
  const population = { ...scenario.population, positions: options.positions ?? scenario.population.positions };
  const draws = drawPopulation(population, options.seed ?? scenario.seed);
  const unit = 10n ** BigInt(sys.decimals);
  const openInterestAsked = draws.reduce((sum, d) => sum + BigInt(d.notionalUsd) * unit, 0n);
  const lpCapital = (openInterestAsked * BigInt(Math.round(scenario.lpCapital * 1_000))) / 1_000n;
  const lp = sys.admin;
  // The capital and its request's execution fee (the book's minimum; well under 1,000 tokens).
  await (await sys.collateral.mint(lp.address, lpCapital + 1_000n * unit)).wait();
  await seedLpDeposit(sys, lp, lp, lpCapital);

  const token = sys.addresses.collateral;
  const setStorage = (slot: string, value: bigint) =>
    provider.send("hardhat_setStorageAt", [token, slot, zeroPadValue(toBeHex(value), 32)]);
  const startBlock = (await provider.getBlockNumber()) + 1;
  const chunk = 400; // blocks come a second apart: republish the feeds between chunks so they stay fresh
  // Every request pays the book's minimum for an open at the network's gas price, as the request tool would.
  let [paid, executed, refusedByGuard] = [0, 0, 0];
  const opened: number[] = [];
  const [minDelay, { fee: executionFee, gasPrice }] = await Promise.all([
    sys.orderBook.minDelay(),
    priceExecutionFee(ethers, sys, ExecutionClass.Open),
  ]);
  const feeRatios = await Promise.all(
    MARKETS.map(async (_m, id) => BigInt((await sys.lens.getMarket(id)).config.tradingFeeRatio)),
  );
  for (let from = 0; from < draws.length; from += chunk) {
    const indices = Array.from({ length: Math.min(chunk, draws.length - from) }, (_, k) => from + k);
    const chunkStart = (await provider.getBlockNumber()) + 1; // the chunk's requests are in its blocks
    // The accounts are funded concurrently. The requests are sent in the draw's order when `ordered`, each mined in
    // its own block (the keeper executes them in the order they landed, and the gap guard's decisions depend on that
    // order); otherwise they wait in the mempool and are mined together (one block takes a chunk's 400): a block with
    // transactions costs the in-process network more as the state grows, so a block per request made opening a
    // large book grow faster than the book.
    if (!options.ordered) await provider.send("evm_setAutomine", [false]);
    const sent = await mapLimit(indices, 16, async (i) => {
      const d = draws[i];
      const address = ethers.getAddress(toBeHex(FIRST_ACCOUNT + BigInt(i), 20));
      const notional = BigInt(d.notionalUsd) * unit;
      // Margin for the drawn leverage; the wallet also holds the opening fee (5 bps), charged on top.
      const margin = (notional * 100n) / BigInt(Math.round(d.leverage * 100));
      const price = BigInt(Math.round(START_PRICE[d.market] * 1e8)) * 10n ** 10n;
      const size = (BigInt(d.notionalUsd) * WAD * WAD) / price;
      const marketId = MARKETS.indexOf(d.market);
      const signed = d.long ? size : -size;
      // The request escrows the margin plus the opening fee (5 bps), so that the margin is as drawn.
      const amount = margin + tradingFee(size, price, feeRatios[marketId], sys.decimals);
      await Promise.all([
        provider.send("hardhat_impersonateAccount", [address]),
        provider.send("hardhat_setBalance", [address, toBeHex(10n ** 20n)]),
        setStorage(balanceSlot(address), amount + executionFee + unit),
        setStorage(allowanceSlot(address, sys.addresses.orderBook), ethers.MaxUint256),
      ]);
      const trader = await ethers.getSigner(address);
      const bound = acceptablePrice(OrderKind.Open, signed, price, 100n);
      const send = () =>
        sys.orderBook.connect(trader).request(BigInt(marketId), OrderKind.Open, signed, amount, bound, executionFee, {
          gasLimit: 1_000_000n,
          ...atGasPrice(gasPrice),
        });
      if (!options.ordered) await send();
      return send;
    });
    if (options.ordered) for (const send of sent) await (await send()).wait();
    else {
      for (let mined = 0; mined < indices.length;) {
        await provider.send("evm_mine", []);
        mined += (await provider.getBlock("latest"))!.transactions.length;
      }
      await provider.send("evm_setAutomine", [true]);
    }
    await provider.send("evm_increaseTime", [Number(minDelay)]);
    await publish(sys, { ETH: 1, BTC: 1 });
    // The project's keeper executes them, pricing gas at the gas price they were paid at: every one must go.
    const keeper = new Keeper(ethers, sys, lp, {
      minProfit: 0n,
      batchSize: 100,
      startBlock: chunkStart,
      dryRun: false,
      gasPrice,
      lpRequests: false,
      log: () => {},
    });
    const tick = await keeper.tick();
    const [done, cancelled] = await Promise.all([
      sys.orderBook.queryFilter(sys.orderBook.filters.OrderExecuted(), chunkStart, "latest"),
      sys.orderBook.queryFilter(sys.orderBook.filters.OrderCancelled(), chunkStart, "latest"),
    ]);
    const guarded = cancelled.filter(
      (e) => sys.orderBook.interface.parseError(e.args.reason)?.name === "GapCoverExceeded",
    ).length;
    paid += indices.length;
    executed += done.length;
    refusedByGuard += guarded;
    for (const e of done) opened.push(Number(BigInt(e.args.account) - FIRST_ACCOUNT));
    if (tick?.ordersExecuted !== done.length || done.length + guarded !== indices.length) {
      throw new Error(
        `stress book: of ${indices.length} paid requests the keeper executed ${tick?.ordersExecuted} (${done.length} OrderExecuted), ` +
          `the gap guard refused ${guarded}, ${cancelled.length - guarded} were refused otherwise ` +
          `(${tick?.ordersSkipped} skipped, ${tick?.errors} errors)`,
      );
    }
    options.onProgress?.(indices[indices.length - 1] + 1);
  }
  const latest = await provider.getBlock("latest");
  const sides = Object.fromEntries(MARKETS.map((m) => [m, { long: 0n, short: 0n }])) as Book["sides"];
  for (const i of opened)
    sides[draws[i].market][draws[i].long ? "long" : "short"] += BigInt(draws[i].notionalUsd) * unit;
  const sum = (f: (s: { long: bigint; short: bigint }) => bigint) => MARKETS.reduce((t, m) => t + f(sides[m]), 0n);
  return {
    positions: opened.length,
    positionsAsked: draws.length,
    openInterest: sum((s) => s.long + s.short),
    openInterestAsked,
    sides,
    largerSides: sum((s) => (s.long > s.short ? s.long : s.short)),
    lpCapital,
    longShare: opened.length > 0 ? opened.filter((i) => draws[i].long).length / opened.length : 0,
    startBlock,
    openedAt: latest!.timestamp,
    requestsPaid: paid,
    requestsExecuted: executed,
    requestsRefusedByGuard: refusedByGuard,
  };
}
