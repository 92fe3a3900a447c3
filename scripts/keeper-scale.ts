// Measures the keeper at scale: opens N positions (default 10,000: N/2 accounts, one ETH and one BTC
// position each, leverage spread from 2x to 9.5x, longs and shorts), then times
//   1. the keeper's cold start (event scan and the index of liquidation prices),
//   2. a quiet round (a new price that crosses nobody's liquidation price),
//   3. a crash round (ETH -6 %): from the round's block to the last liquidation mined,
//   4. for comparison, one round of the first keeper's method (a preview of every open position).
//   npx hardhat run scripts/keeper-scale.ts                      (in-process network)
//   KEEPER_SCALE_POSITIONS=2000 npx hardhat run scripts/keeper-scale.ts
// Collateral balances and allowances are written into the mock token's storage, and the traders are
// impersonated accounts, so that the setup sends only the trades' transactions: requests, then every 500
// accounts one round of the feeds and executeBatch (as a keeper would), 50 requests a transaction.
import { AbiCoder, keccak256, toBeHex, zeroPadValue } from "ethers";
import { network } from "hardhat";
import { deployLocal } from "./lib/chain/local.js";
import { Keeper, type TickResult } from "./lib/keeper/loop.js";
import { seedLpDeposit } from "./lib/requests/lp.js";
import { ExecutionClass, OrderKind, executeRequests, priceExecutionFee, tradingFee } from "./lib/requests/orders.js";

const N = Number(process.env.KEEPER_SCALE_POSITIONS ?? 10_000);
const CONCURRENCY = Number(process.env.KEEPER_SCALE_CONCURRENCY ?? 32);
const WAD = 10n ** 18n;

const connection = await network.create();
const { ethers } = connection;
const provider = ethers.provider;
const d = await deployLocal(connection, "hardhat");
const unit = 10n ** BigInt(d.decimals);
const [deployer, , lp, keeperSigner] = await ethers.getSigners();
const log = (line: string) => console.log(`[scale] ${line}`);

// OpenZeppelin ERC20 storage: balances at slot 0, allowances at slot 1.
const coder = AbiCoder.defaultAbiCoder();
const balanceSlot = (owner: string) => keccak256(coder.encode(["address", "uint256"], [owner, 0n]));
const allowanceSlot = (owner: string, spender: string) =>
  keccak256(
    coder.encode(["address", "bytes32"], [spender, keccak256(coder.encode(["address", "uint256"], [owner, 1n]))]),
  );
const token = d.addresses.collateral;
const setStorage = (slot: string, value: bigint) =>
  provider.send("hardhat_setStorageAt", [token, slot, zeroPadValue(toBeHex(value), 32)]);

// The capital and its request's execution fee (the book's minimum; well under 1,000 tokens).
await d.collateral.mint(lp.address, 50_000_000n * unit + 1_000n * unit);
await seedLpDeposit(d, lp, deployer, 50_000_000n * unit); // the deployer is the book's executor

const [ethPrice, btcPrice] = await Promise.all([d.ethOracle.price(), d.btcOracle.price()]);
const setupStart = Date.now();
const [minDelay, { fee: executionFee }] = await Promise.all([
  d.orderBook.minDelay(),
  priceExecutionFee(ethers, d, ExecutionClass.Open),
]);
const feeRatio = BigInt((await d.lens.getMarket(0n)).config.tradingFeeRatio); // both markets: 5 bps
let batch: { account: string; marketId: bigint }[] = [];
let batchStart = (await provider.getBlockNumber()) + 1; // the batch's requests are in its blocks
const accounts = N / 2;
for (let i = 0; i < accounts; i++) {
  const address = ethers.getAddress(toBeHex(0x10000n + BigInt(i), 20));
  await Promise.all([
    provider.send("hardhat_impersonateAccount", [address]),
    provider.send("hardhat_setBalance", [address, toBeHex(10n ** 20n)]),
    setStorage(balanceSlot(address), 100_000n * unit),
    setStorage(allowanceSlot(address, d.addresses.orderBook), ethers.MaxUint256),
  ]);
  const trader = await ethers.getSigner(address);
  // Leverage 2x..9.5x; even accounts long ETH and short BTC, odd ones the reverse.
  const leverage = 20n + BigInt((i * 7) % 76); // tenths
  const notional = 300n; // USD per position
  const margin = (notional * 10n * unit) / leverage;
  const long = i % 2 === 0;
  const ethSize = (notional * WAD * WAD) / ethPrice;
  const btcSize = (notional * WAD * WAD) / btcPrice;
  // Requests escrow the margin plus the opening fee; bounds are wide (the price does not move here).
  const book = d.orderBook.connect(trader);
  const ethAmount = margin + tradingFee(ethSize, ethPrice, feeRatio, d.decimals);
  const btcAmount = margin + tradingFee(btcSize, btcPrice, feeRatio, d.decimals);
  const [buy, sell] = [ethers.MaxUint256 >> 129n, 1n];
  await book.request(0n, OrderKind.Open, long ? ethSize : -ethSize, ethAmount, long ? buy : sell, executionFee, {
    gasLimit: 1_000_000n,
  });
  await book.request(1n, OrderKind.Open, long ? -btcSize : btcSize, btcAmount, long ? sell : buy, executionFee, {
    gasLimit: 1_000_000n,
  });
  batch.push({ account: address, marketId: 0n }, { account: address, marketId: 1n });
  // Every 500 accounts (and at the end): the round that prices the requests, and their execution. Blocks
  // mined faster than one a second still advance the clock a second each: the rounds keep the feeds fresh.
  if ((i + 1) % 500 === 0 || i === accounts - 1) {
    await provider.send("evm_increaseTime", [Number(minDelay)]);
    await d.ethFeed.updateAnswer(ethPrice / 10n ** 10n);
    await d.btcFeed.updateAnswer(btcPrice / 10n ** 10n);
    // The deployer is the order book's executor (the `orderExecutor` default).
    const r = await executeRequests(ethers, d, deployer, batch, {
      chunk: 50,
      gasLimit: 16_000_000n,
      fromBlock: batchStart,
    });
    if (r.executed !== batch.length) throw new Error(`${r.executed} of ${batch.length} requests executed`);
    batch = [];
    batchStart = (await provider.getBlockNumber()) + 1;
  }
  if ((i + 1) % 500 === 0) log(`${(i + 1) * 2} positions open (${((Date.now() - setupStart) / 1000).toFixed(0)} s)`);
}
log(`${N} positions opened in ${((Date.now() - setupStart) / 1000).toFixed(1)} s`);

const timed = async (label: string, fn: () => Promise<TickResult | undefined>) => {
  const start = Date.now();
  const tick = await fn();
  const ms = Date.now() - start;
  log(
    `${label}: ${ms} ms — ${tick?.open} open, ${tick?.checked} checked, ${tick?.liquidatable} liquidatable, ` +
      `${tick?.liquidated} liquidated, ${tick?.errors} errors`,
  );
  return { ms, tick };
};

const keeper = new Keeper(ethers, d, keeperSigner, {
  minProfit: 0n,
  batchSize: 100,
  startBlock: 0,
  dryRun: false,
  concurrency: CONCURRENCY,
  log: () => {},
});
const cold = await timed("cold start (scan + index)", () => keeper.tick());

await d.ethFeed.updateAnswer((ethPrice * 1_001n) / 1_000n / 10n ** 10n); // +0.1 %: a quiet round
const quiet = await timed("quiet round (+0.1 %)", () => keeper.tick());

await d.ethFeed.updateAnswer((ethPrice * 94n) / 100n / 10n ** 10n); // ETH -6 %
const roundBlock = await provider.getBlock("latest");
const crash = await timed("crash round (ETH -6 %), round to last liquidation mined", () => keeper.tick());
const lastBlock = await provider.getBlock("latest");

// The first keeper's method: a preview of every open position, for comparison.
const full = new Keeper(ethers, d, keeperSigner, {
  minProfit: 0n,
  batchSize: 100,
  startBlock: 0,
  dryRun: true,
  fullScan: true,
  concurrency: CONCURRENCY,
  log: () => {},
});
await full.sync(await provider.getBlockNumber());
await d.ethFeed.updateAnswer((ethPrice * 94n) / 100n / 10n ** 10n);
const fullRound = await timed("one round of previews of every position (first keeper's method)", () => full.tick());

const summary = {
  positions: N,
  concurrency: CONCURRENCY,
  coldStartMs: cold.ms,
  quietRoundMs: quiet.ms,
  quietRoundChecked: quiet.tick?.checked,
  crashRoundMs: crash.ms,
  crashLiquidated: crash.tick?.liquidated,
  crashBlocks: (lastBlock?.number ?? 0) - (roundBlock?.number ?? 0),
  fullScanRoundMs: fullRound.ms,
};
console.log(JSON.stringify(summary));
