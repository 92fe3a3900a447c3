import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import {
  BTC,
  deploy6,
  deploy18,
  ETH,
  ethers,
  feedPrice,
  marketConfig,
  networkHelpers,
  WAD,
  type MarketConfig,
  deployEngine,
  EXECUTION_GAS,
  engineFactory,
} from "./helpers/system.js";
import {
  deployNoFunding6,
  deployNoFunding18,
  funded6,
  funded18,
  mulDivUp,
  notional,
  notionalUsd,
  pnl,
  profitCap,
  sideReserve,
  splitFee,
  tradingFee,
  usd,
} from "./helpers/trading.js";
import { lpDeposit } from "./helpers/lp.js";

const name32 = (s: string) => ethers.encodeBytes32String(s);
const role = (s: string) => ethers.keccak256(ethers.toUtf8Bytes(s));
const MAX_OPEN_INTEREST = 10n ** 30n;
/** The open-interest cap's ceiling for the fixtures' $10M oracle: MAX_OPEN_INTEREST_VALUE ($1e16) / $10M. */
const MAX_OPEN_INTEREST_AT_10M = 10n ** 27n;
const UINT128_MAX = 2n ** 128n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const IMR = WAD / 10n;
const FEE_RATIO = (5n * WAD) / 10_000n;
/** ConfigLib.RATIO_UNIT: ratios are stored as multiples of 1e-8. */
const RATIO_UNIT = 10n ** 10n;

/** The bounds of ConfigLogic.validate for the default config, in a token of `decimals`. */
function bounds(decimals: number): [keyof MarketConfig, bigint | null, bigint][] {
  const one = 10n ** BigInt(decimals);
  const scale = 10n ** BigInt(18 - decimals);
  const c = marketConfig(decimals);
  // Two units of rounding at the minimum notional, and room there for the keeper-fee floor.
  const spare = c.initialMarginRatio - c.maintenanceMarginRatio - c.keeperFeeRatio;
  const minNotionalFloor = (2n * WAD * scale + spare - 1n) / spare;
  const maxKeeperFloor = ((c.minNotional / scale) * (c.initialMarginRatio - c.maintenanceMarginRatio)) / WAD - 1n;
  return [
    ["initialMarginRatio", WAD / 100n, WAD / 2n],
    ["maintenanceMarginRatio", (5n * WAD) / 1_000n, c.initialMarginRatio - c.keeperFeeRatio - RATIO_UNIT],
    ["tradingFeeRatio", null, WAD / 100n],
    ["liquidationPenaltyRatio", null, WAD / 20n],
    ["keeperFeeRatio", null, WAD / 50n],
    ["maxProfitFactor", WAD, 18n * WAD],
    ["maxFundingRatePerDay", null, WAD / 10n],
    ["partialLiquidationBuffer", null, WAD / 5n],
    ["minKeeperFee", 1n, maxKeeperFloor],
    ["maxKeeperFee", c.minKeeperFee, 1_000n * one],
    ["minMargin", 1n, 10_000n * one],
    ["minNotional", minNotionalFloor, UINT128_MAX],
    ["maxOpenInterest", 1n, MAX_OPEN_INTEREST_AT_10M],
    ["skewScale", 1n, MAX_OPEN_INTEREST],
  ];
}

describe("PerpEngine admin", function () {
  describe("constructor and wiring", function () {
    it("reverts with UnsupportedDecimals outside 6..18 and ZeroAddress for a zero admin or treasury", async function () {
      const [admin, treasury] = await ethers.getSigners();
      const factory = await engineFactory();
      for (const decimals of [5n, 19n]) {
        const token = await ethers.deployContract("MockERC20", ["T", "T", decimals]);
        await expect(factory.deploy(token, admin, treasury))
          .to.be.revertedWithCustomError(factory, "UnsupportedDecimals")
          .withArgs(decimals);
      }
      const token = await ethers.deployContract("MockERC20", ["T", "T", 6]);
      await expect(factory.deploy(token, ethers.ZeroAddress, treasury))
        .to.be.revertedWithCustomError(factory, "ZeroAddress")
        .withArgs();
      await expect(factory.deploy(token, admin, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(factory, "ZeroAddress")
        .withArgs();
    });

    it("starts with 20 % / 10 % fee shares, its treasury and collateral, and the wired vault, backstop and orders", async function () {
      const s = await networkHelpers.loadFixture(deploy6);
      expect(await s.engine.backstopFeeShare()).to.equal((2n * WAD) / 10n);
      expect(await s.engine.treasuryFeeShare()).to.equal(WAD / 10n);
      expect(await s.engine.treasury()).to.equal(s.treasury.address);
      expect(await s.engine.collateral()).to.equal(await s.token.getAddress());
      expect(await s.engine.vault()).to.equal(await s.vault.getAddress());
      expect(await s.engine.backstop()).to.equal(await s.backstop.getAddress());
      expect(await s.engine.orders()).to.equal(await s.orders.getAddress());
      expect(await s.engine.marketCount()).to.equal(2n);
      expect(await s.engine.MARKET_ADMIN_ROLE()).to.equal(role("MARKET_ADMIN_ROLE"));
      expect(await s.engine.GUARDIAN_ROLE()).to.equal(role("GUARDIAN_ROLE"));
      expect(await s.engine.claimable(s.alice)).to.equal(0n);
    });

    it("wire emits Wired(vault, backstop, orders) once, then reverts with AlreadyWired; only the default admin may wire", async function () {
      const s = await networkHelpers.loadFixture(deploy6);
      const engine = await deployEngine(s.token, s.admin, s.treasury);
      const vault = await ethers.deployContract("LiquidityVault", [s.token, engine, "LP", "LP"]);
      const backstop = await ethers.deployContract("BackstopModule", [s.token, engine, s.admin, "B", "B"]);
      const orders = await ethers.deployContract("InstantOrders", [engine]);
      expect(await engine.orders()).to.equal(ethers.ZeroAddress);
      await expect(engine.connect(s.alice).wire(vault, backstop, orders))
        .to.be.revertedWithCustomError(engine, "AccessControlUnauthorizedAccount")
        .withArgs(s.alice.address, ethers.ZeroHash);
      await expect(engine.wire(vault, backstop, orders))
        .to.emit(engine, "Wired")
        .withArgs(await vault.getAddress(), await backstop.getAddress(), await orders.getAddress());
      expect(await engine.orders()).to.equal(await orders.getAddress());
      await expect(engine.wire(vault, backstop, orders))
        .to.be.revertedWithCustomError(engine, "AlreadyWired")
        .withArgs();
    });

    it("wire accepts the OrderBook as the orders contract and emits Wired with its address", async function () {
      const s = await networkHelpers.loadFixture(deploy6);
      const engine = await deployEngine(s.token, s.admin, s.treasury);
      const vault = await ethers.deployContract("LiquidityVault", [s.token, engine, "LP", "LP"]);
      const backstop = await ethers.deployContract("BackstopModule", [s.token, engine, s.admin, "B", "B"]);
      const book = await ethers.deployContract("OrderBook", [
        engine,
        s.admin,
        s.ethOracle,
        30n,
        3_600n,
        s.unit,
        EXECUTION_GAS,
        [s.keeper],
      ]);
      await expect(engine.wire(vault, backstop, book))
        .to.emit(engine, "Wired")
        .withArgs(await vault.getAddress(), await backstop.getAddress(), await book.getAddress());
      expect(await engine.orders()).to.equal(await book.getAddress());
    });

    it("wire reverts with WrongCounterparty for a vault or backstop of another engine or another asset, or orders of another engine", async function () {
      const s = await networkHelpers.loadFixture(deploy6);
      const engine = await deployEngine(s.token, s.admin, s.treasury);
      const other = await ethers.deployContract("MockERC20", ["O", "O", 6]);
      const vault = await ethers.deployContract("LiquidityVault", [s.token, engine, "LP", "LP"]);
      const backstop = await ethers.deployContract("BackstopModule", [s.token, engine, s.admin, "B", "B"]);
      const otherAssetVault = await ethers.deployContract("LiquidityVault", [other, engine, "LP", "LP"]);
      const otherAssetBackstop = await ethers.deployContract("BackstopModule", [other, engine, s.admin, "B", "B"]);
      const orders = await ethers.deployContract("InstantOrders", [engine]);
      // The fixture's orders contracts (InstantOrders and the OrderBook) name the fixture's engine.
      for (const [v, b, o, wrong] of [
        [s.vault, backstop, orders, s.vault],
        [otherAssetVault, backstop, orders, otherAssetVault],
        [vault, s.backstop, orders, s.backstop],
        [vault, otherAssetBackstop, orders, otherAssetBackstop],
        [vault, backstop, s.orders, s.orders],
        [vault, backstop, s.book, s.book],
      ] as const) {
        await expect(engine.wire(v, b, o))
          .to.be.revertedWithCustomError(engine, "WrongCounterparty")
          .withArgs(await wrong.getAddress());
      }
      expect(await engine.vault()).to.equal(ethers.ZeroAddress);
      expect(await engine.orders()).to.equal(ethers.ZeroAddress);
    });

    it("distributeFees reverts with NotWired before wiring", async function () {
      const s = await networkHelpers.loadFixture(deploy6);
      const engine = await deployEngine(s.token, s.admin, s.treasury);
      await expect(engine.distributeFees()).to.be.revertedWithCustomError(engine, "NotWired").withArgs();
    });
  });

  for (const [label, fixture, fundedFixture, noFundingFixture] of [
    ["6-decimal", deploy6, funded6, deployNoFunding6],
    ["18-decimal", deploy18, funded18, deployNoFunding18],
  ] as const) {
    describe(`markets (${label} collateral)`, function () {
      it("addMarket lists an answering oracle with its config and emits MarketAdded", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const config = marketConfig(s.decimals, { tradingFeeRatio: WAD / 1_000n });
        await expect(s.engine.addMarket(s.btcOracle, config))
          .to.emit(s.engine, "MarketAdded")
          .withArgs(2n, await s.btcOracle.getAddress(), anyValue);
        const m = await s.lens.getMarket(2n);
        expect(m.oracle).to.equal(await s.btcOracle.getAddress());
        expect(m.config.tradingFeeRatio).to.equal(WAD / 1_000n);
        expect(m.lastFundingTime).to.equal(BigInt(await networkHelpers.time.latest()));
        expect(await s.engine.marketCount()).to.equal(3n);
      });

      it("addMarket reverts with ZeroAddress, the oracle's own error, and TooManyMarkets after 16; only MARKET_ADMIN_ROLE", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const config = marketConfig(s.decimals);
        await expect(s.engine.addMarket(ethers.ZeroAddress, config))
          .to.be.revertedWithCustomError(s.engine, "ZeroAddress")
          .withArgs();
        await expect(s.engine.connect(s.alice).addMarket(s.ethOracle, config))
          .to.be.revertedWithCustomError(s.engine, "AccessControlUnauthorizedAccount")
          .withArgs(s.alice.address, role("MARKET_ADMIN_ROLE"));
        await s.ethFeed.updateAnswer(0n);
        await expect(s.engine.addMarket(s.ethOracle, config))
          .to.be.revertedWithCustomError(s.ethOracle, "NonPositivePrice")
          .withArgs(0n);
        for (let i = 2; i < 16; i++) await s.engine.addMarket(s.btcOracle, config);
        await expect(s.engine.addMarket(s.btcOracle, config))
          .to.be.revertedWithCustomError(s.engine, "TooManyMarkets")
          .withArgs(16n);
        expect(await s.engine.marketCount()).to.equal(16n);
      });

      it("addMarket and setMarketConfig revert with ParameterOutOfBounds one step outside every bound", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        for (const [field, lo, hi] of bounds(s.decimals)) {
          // minNotional's upper bound is the uint128 maximum itself: one above cannot be encoded.
          const unencodable = field === "minNotional";
          const tries: bigint[] = unencodable ? [] : [hi + 1n];
          if (lo !== null && lo > 0n) tries.push(lo - 1n);
          for (const value of tries) {
            const config = marketConfig(s.decimals, { [field]: value });
            const min = lo ?? 0n;
            await expect(s.engine.addMarket(s.ethOracle, config))
              .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
              .withArgs(name32(field), value, min, hi);
            await expect(s.engine.setMarketConfig(ETH, config))
              .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
              .withArgs(name32(field), value, min, hi);
          }
        }
        expect(await s.engine.marketCount()).to.equal(2n);
      });

      it("addMarket and setMarketConfig revert with ParameterPrecision for a ratio finer than 1e-8, and change nothing", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const before = await s.lens.getMarket(ETH);
        for (const field of ["initialMarginRatio", "tradingFeeRatio", "maxProfitFactor"] as const) {
          const value = marketConfig(s.decimals)[field] + 1n;
          const config = marketConfig(s.decimals, { [field]: value });
          await expect(s.engine.addMarket(s.ethOracle, config))
            .to.be.revertedWithCustomError(s.engine, "ParameterPrecision")
            .withArgs(name32(field), value, RATIO_UNIT);
          await expect(s.engine.setMarketConfig(ETH, config))
            .to.be.revertedWithCustomError(s.engine, "ParameterPrecision")
            .withArgs(name32(field), value, RATIO_UNIT);
        }
        expect(await s.lens.getMarket(ETH)).to.deep.equal(before);
        expect(await s.engine.marketCount()).to.equal(2n);
      });

      it("accepts a config with every parameter at its lowest bound and one with every parameter at its highest", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        const one = s.unit;
        const lowest = marketConfig(s.decimals, {
          initialMarginRatio: WAD / 100n,
          maintenanceMarginRatio: (5n * WAD) / 1_000n,
          tradingFeeRatio: 0n,
          liquidationPenaltyRatio: 0n,
          keeperFeeRatio: 0n,
          maxProfitFactor: WAD,
          maxFundingRatePerDay: 0n,
          partialLiquidationBuffer: 0n,
          minKeeperFee: 1n,
          maxKeeperFee: 1n,
          minMargin: 1n,
          // ConfigLogic: two units of rounding at the minimum notional, 400 units at 0.5 %.
          minNotional: 400n * 10n ** BigInt(18 - s.decimals),
          maxOpenInterest: 1n,
          skewScale: 1n,
        });
        const highest = marketConfig(s.decimals, {
          initialMarginRatio: WAD / 2n,
          maintenanceMarginRatio: WAD / 2n - WAD / 50n - RATIO_UNIT,
          tradingFeeRatio: WAD / 100n,
          liquidationPenaltyRatio: WAD / 20n,
          keeperFeeRatio: WAD / 50n,
          maxProfitFactor: 18n * WAD,
          maxFundingRatePerDay: WAD / 10n,
          partialLiquidationBuffer: WAD / 5n,
          minKeeperFee: 1_000n * one,
          maxKeeperFee: 1_000n * one,
          minMargin: 10_000n * one,
          minNotional: UINT128_MAX,
          maxOpenInterest: MAX_OPEN_INTEREST_AT_10M,
          skewScale: MAX_OPEN_INTEREST,
        });
        await expect(s.engine.setMarketConfig(ETH, lowest)).to.emit(s.engine, "MarketConfigUpdated");
        expect((await s.lens.getMarket(ETH)).config.maxOpenInterest).to.equal(1n);
        await expect(s.engine.setMarketConfig(ETH, highest)).to.emit(s.engine, "MarketConfigUpdated");
        expect((await s.lens.getMarket(ETH)).config.minNotional).to.equal(UINT128_MAX);
        expect((await s.lens.getMarket(ETH)).config.maxProfitFactor).to.equal(18n * WAD);
      });

      it("maxProfitFactor's upper bound, 18x, fits its uint64 field: 18x is stored, 18x + 1 and type(uint64).max revert with ParameterOutOfBounds", async function () {
        const s = await networkHelpers.loadFixture(fixture);
        expect(18n * WAD).to.be.lessThan(UINT64_MAX);
        await s.engine.setMarketConfig(ETH, marketConfig(s.decimals, { maxProfitFactor: 18n * WAD }));
        expect((await s.lens.getMarket(ETH)).config.maxProfitFactor).to.equal(18n * WAD);
        for (const value of [18n * WAD + 1n, UINT64_MAX]) {
          const config = marketConfig(s.decimals, { maxProfitFactor: value });
          await expect(s.engine.setMarketConfig(ETH, config))
            .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
            .withArgs(name32("maxProfitFactor"), value, WAD, 18n * WAD);
          await expect(s.engine.addMarket(s.ethOracle, config))
            .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
            .withArgs(name32("maxProfitFactor"), value, WAD, 18n * WAD);
        }
        expect((await s.lens.getMarket(ETH)).config.maxProfitFactor).to.equal(18n * WAD);
      });

      it("setMarketConfig re-reserves open positions at the new profit factor; UnknownMarket and role checked", async function () {
        const s = await networkHelpers.loadFixture(fundedFixture);
        const u = s.unit;
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
        await s.orders.connect(s.bob).openPosition(BTC, -WAD / 10n, 1_000n * u);
        // Bob's 1,000 margin is above his entry's initial margin of 600 (10 % of $6,000): 9 x 600 reserved.
        const eth = (factor: bigint) => sideReserve(300n * u, notionalUsd(WAD, usd(3_000)), IMR, factor, s.decimals);
        const btc = sideReserve(1_000n * u, notionalUsd(WAD / 10n, usd(60_000)), IMR, 9n * WAD, s.decimals);
        expect([eth(9n * WAD), btc]).to.deep.equal([2_700n * u, 5_400n * u]);
        expect(await s.engine.totalReserved()).to.equal(eth(9n * WAD) + btc);
        // The factor may fall while positions are open (it may not rise: TermRaised).
        await expect(s.engine.setMarketConfig(ETH, marketConfig(s.decimals, { maxProfitFactor: 4n * WAD })))
          .to.emit(s.engine, "MarketConfigUpdated")
          .withArgs(ETH, anyValue);
        expect(await s.engine.totalReserved()).to.equal(eth(4n * WAD) + btc);
        expect((await s.lens.getMarket(ETH)).lastFundingTime).to.equal(BigInt(await networkHelpers.time.latest()));
        await expect(s.engine.setMarketConfig(2n, marketConfig(s.decimals)))
          .to.be.revertedWithCustomError(s.engine, "UnknownMarket")
          .withArgs(2n);
        await expect(s.engine.connect(s.alice).setMarketConfig(ETH, marketConfig(s.decimals)))
          .to.be.revertedWithCustomError(s.engine, "AccessControlUnauthorizedAccount")
          .withArgs(s.alice.address, role("MARKET_ADMIN_ROLE"));
      });

      /** An LP pool holding exactly the reserve of Alice's 1 ETH long at 10x (9 x 300), funding off. */
      async function poolExactlyReserving() {
        const s = await noFundingFixture();
        const u = s.unit;
        const reserve = sideReserve(300n * u, notionalUsd(WAD, usd(3_000)), IMR, 9n * WAD, s.decimals);
        const lpFee = splitFee(tradingFee(WAD, usd(3_000), FEE_RATIO, s.decimals)).lp;
        await lpDeposit(s, s.lp, reserve - lpFee);
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * u);
        expect([await s.engine.lpBalance(), await s.engine.totalReserved()]).to.deep.equal([reserve, reserve]);
        return s;
      }
      const raised = (decimals: number) =>
        marketConfig(decimals, { maxFundingRatePerDay: 0n, maxProfitFactor: 18n * WAD });

      it("setMarketConfig refuses a higher profit factor while the market has positions (TermRaised), whatever the pool could back, and changes nothing", async function () {
        const s = await networkHelpers.loadFixture(poolExactlyReserving);
        const u = s.unit;
        const reserve9 = sideReserve(300n * u, notionalUsd(WAD, usd(3_000)), IMR, 9n * WAD, s.decimals);
        // Even a pool that could back the higher reserve does not make the raise acceptable.
        await lpDeposit(s, s.lp, reserve9);
        await expect(s.engine.setMarketConfig(ETH, raised(s.decimals)))
          .to.be.revertedWithCustomError(s.engine, "TermRaised")
          .withArgs(name32("maxProfitFactor"), 9n * WAD, 18n * WAD);
        expect((await s.lens.getMarket(ETH)).config.maxProfitFactor).to.equal(9n * WAD);
        expect(await s.engine.totalReserved()).to.equal(reserve9);
      });

      it("with the raise refused, a profitable trader's capped profit stays payable: closePosition at $9,000 pays margin + 9 x 300 - fee", async function () {
        const s = await networkHelpers.loadFixture(poolExactlyReserving);
        const u = s.unit;
        await expect(s.engine.setMarketConfig(ETH, raised(s.decimals))).to.be.revertedWithCustomError(
          s.engine,
          "TermRaised",
        );
        await s.ethFeed.updateAnswer(feedPrice(9_000));
        const profit = pnl(WAD, usd(3_000), usd(9_000), 2_700n * u, s.decimals);
        expect(profit).to.equal(2_700n * u); // uncapped it would be 6,000
        const fee = tradingFee(WAD, usd(9_000), FEE_RATIO, s.decimals);
        const payout = 300n * u + profit - fee;
        await expect(s.orders.connect(s.alice).closePosition(ETH)).to.changeTokenBalances(
          ethers,
          s.token,
          [s.alice, s.engine],
          [payout, -payout],
        );
        expect(await s.engine.lpBalance()).to.equal(splitFee(fee).lp);
        expect(await s.engine.totalReserved()).to.equal(0n);
      });

      it("setMarketConfig re-prices open positions' caps with initialMarginRatio: raising it raises an over-margined position's reserve (refused while the pool cannot pay), lowering it lowers the cap", async function () {
        const s = await networkHelpers.loadFixture(noFundingFixture);
        const u = s.unit;
        const lpFee = splitFee(tradingFee(WAD, usd(3_000), FEE_RATIO, s.decimals)).lp;
        await lpDeposit(s, s.lp, 2_700n * u - lpFee);
        // Margin 500 against an entry initial margin of 300: reserve 9 x 300.
        await s.orders.connect(s.alice).openPosition(ETH, WAD, 500n * u);
        const entry = notionalUsd(WAD, usd(3_000));
        const reserveAt = (imr: bigint) => sideReserve(500n * u, entry, imr, 9n * WAD, s.decimals);
        expect(await s.engine.totalReserved()).to.equal(reserveAt(IMR));
        expect(await s.engine.lpBalance()).to.equal(2_700n * u);
        const imr15 = (15n * WAD) / 100n;
        expect(reserveAt(imr15)).to.equal(4_050n * u);
        await expect(
          s.engine.setMarketConfig(
            ETH,
            marketConfig(s.decimals, { maxFundingRatePerDay: 0n, initialMarginRatio: imr15 }),
          ),
        )
          .to.be.revertedWithCustomError(s.engine, "InsufficientLiquidity")
          .withArgs(4_050n * u, 2_700n * u);
        const imr5 = WAD / 20n;
        const lowered = { maxFundingRatePerDay: 0n, initialMarginRatio: imr5, maintenanceMarginRatio: WAD / 40n };
        await s.engine.setMarketConfig(ETH, marketConfig(s.decimals, lowered));
        expect(await s.engine.totalReserved()).to.equal(reserveAt(imr5));
        // At $6,000 (profit 3,000) the open position now realizes at most 9 x 150.
        await s.ethFeed.updateAnswer(feedPrice(6_000));
        const cap = profitCap(500n * u, WAD, usd(3_000), imr5, 9n * WAD, s.decimals);
        expect(cap).to.equal(1_350n * u);
        const fee = tradingFee(WAD, usd(6_000), FEE_RATIO, s.decimals);
        await expect(s.orders.connect(s.alice).closePosition(ETH))
          .to.emit(s.engine, "PositionModified")
          .withArgs(s.alice.address, ETH, -WAD, 0n, usd(6_000), usd(3_000), 0n, cap, 0n, fee);
      });

      it("views: getMarket, fundingRate and currentFundingIndex revert with UnknownMarket; openInterestNotional sums both sides of every market, rounded up", async function () {
        const s = await networkHelpers.loadFixture(fundedFixture);
        const u = s.unit;
        for (const call of [s.lens.getMarket(5n), s.lens.fundingRate(5n), s.lens.currentFundingIndex(5n)]) {
          await expect(call).to.be.revertedWithCustomError(s.engine, "UnknownMarket").withArgs(5n);
        }
        await s.orders.connect(s.alice).openPosition(ETH, WAD / 3n, 200n * u);
        await s.orders.connect(s.bob).openPosition(ETH, -WAD, 400n * u);
        await s.orders.connect(s.carol).openPosition(BTC, WAD / 7n, 2_000n * u);
        await s.ethFeed.updateAnswer(feedPrice(3_333));
        const expected = notional(WAD / 3n + WAD, usd(3_333), s.decimals) + notional(WAD / 7n, usd(60_000), s.decimals);
        expect(await s.lens.openInterestNotional()).to.equal(expected);
        expect(notional(WAD / 7n, usd(60_000), s.decimals)).to.equal(
          mulDivUp(WAD / 7n, usd(60_000), WAD * 10n ** (18n - BigInt(s.decimals))),
        );
      });
    });
  }

  describe("fee shares, treasury, roles, pause", function () {
    it("setFeeShares accepts up to 50 % in total and reverts with ParameterOutOfBounds above", async function () {
      const s = await networkHelpers.loadFixture(funded6);
      await expect(s.engine.setFeeShares((4n * WAD) / 10n, WAD / 10n))
        .to.emit(s.engine, "FeeSharesUpdated")
        .withArgs((4n * WAD) / 10n, WAD / 10n);
      await expect(s.engine.setFeeShares((4n * WAD) / 10n, WAD / 10n + 1n))
        .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
        .withArgs(name32("protocolFeeShare"), WAD / 2n + 1n, 0n, WAD / 2n);
      await expect(s.engine.connect(s.alice).setFeeShares(0n, 0n))
        .to.be.revertedWithCustomError(s.engine, "AccessControlUnauthorizedAccount")
        .withArgs(s.alice.address, ethers.ZeroHash);
      // 50 % of a 1.5 fee to the protocol: 0.6 backstop-side + 0.15 treasury share, all of the rest to LPs.
      const lpBefore = await s.engine.lpBalance();
      await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * s.unit);
      expect(await s.lens.pendingProtocolFees()).to.equal((15n * s.unit) / 20n);
      expect((await s.engine.lpBalance()) - lpBefore).to.equal((15n * s.unit) / 20n);
    });

    it("with zero protocol shares every fee goes to LPs and distributeFees sends nothing", async function () {
      const s = await networkHelpers.loadFixture(funded6);
      await s.engine.setFeeShares(0n, 0n);
      const lpBefore = await s.engine.lpBalance();
      await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * s.unit);
      expect((await s.engine.lpBalance()) - lpBefore).to.equal((15n * s.unit) / 10n);
      await expect(s.engine.distributeFees()).to.emit(s.engine, "FeesDistributed").withArgs(0n, 0n);
    });

    it("setTreasury moves the treasury's fees to the new address; reverts with ZeroAddress; admin only", async function () {
      const s = await networkHelpers.loadFixture(funded6);
      await expect(s.engine.setTreasury(ethers.ZeroAddress))
        .to.be.revertedWithCustomError(s.engine, "ZeroAddress")
        .withArgs();
      await expect(s.engine.connect(s.alice).setTreasury(s.alice))
        .to.be.revertedWithCustomError(s.engine, "AccessControlUnauthorizedAccount")
        .withArgs(s.alice.address, ethers.ZeroHash);
      await expect(s.engine.setTreasury(s.dave)).to.emit(s.engine, "TreasuryUpdated").withArgs(s.dave.address);
      await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * s.unit);
      // 0.45 pending, one unit of which stays behind; a third of the rest (rounded down) to the treasury.
      await expect(s.engine.distributeFees()).to.changeTokenBalances(
        ethers,
        s.token,
        [s.dave, s.treasury],
        [((45n * s.unit) / 100n - 1n) / 3n, 0n],
      );
    });

    it("only GUARDIAN_ROLE pauses and unpauses; granted roles take effect and revoked ones stop", async function () {
      const s = await networkHelpers.loadFixture(deploy6);
      const guardian = role("GUARDIAN_ROLE");
      await expect(s.engine.connect(s.carol).pause())
        .to.be.revertedWithCustomError(s.engine, "AccessControlUnauthorizedAccount")
        .withArgs(s.carol.address, guardian);
      await expect(s.engine.connect(s.alice).grantRole(guardian, s.carol))
        .to.be.revertedWithCustomError(s.engine, "AccessControlUnauthorizedAccount")
        .withArgs(s.alice.address, ethers.ZeroHash);
      await s.engine.grantRole(guardian, s.carol);
      await expect(s.engine.connect(s.carol).pause()).to.emit(s.engine, "Paused").withArgs(s.carol.address);
      expect(await s.engine.paused()).to.equal(true);
      await expect(s.engine.connect(s.carol).pause())
        .to.be.revertedWithCustomError(s.engine, "EnforcedPause")
        .withArgs();
      await s.engine.revokeRole(guardian, s.carol);
      await expect(s.engine.connect(s.carol).unpause())
        .to.be.revertedWithCustomError(s.engine, "AccessControlUnauthorizedAccount")
        .withArgs(s.carol.address, guardian);
      await expect(s.engine.unpause()).to.emit(s.engine, "Unpaused").withArgs(s.admin.address);
      await expect(s.engine.unpause()).to.be.revertedWithCustomError(s.engine, "ExpectedPause").withArgs();
    });
  });
});
