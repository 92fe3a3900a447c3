import { expect } from "chai";
import { ethers, networkHelpers, WAD } from "./helpers/system.js";

const MAX_AGE = 3_600n;
const MIN_PRICE = WAD / 100n; // $0.01
const MAX_PRICE = 10_000_000n * WAD; // $10M
const GRACE = 3_600n;
const UP = 0n;
const DOWN = 1n;

/** Moves the chain to exactly `timestamp` (views then read that block). */
async function at(timestamp: bigint) {
  await networkHelpers.time.setNextBlockTimestamp(timestamp);
  await networkHelpers.mine();
}

async function oracleFixture() {
  const feed8 = await ethers.deployContract("MockV3Aggregator", [8, 3_000n * 10n ** 8n]);
  const feed18 = await ethers.deployContract("MockV3Aggregator", [18, 3_000n * WAD]);
  const sequencer = await ethers.deployContract("MockV3Aggregator", [0, UP]);
  const args = (feed: unknown, seq: unknown = ethers.ZeroAddress) => [feed, MAX_AGE, MIN_PRICE, MAX_PRICE, seq, GRACE];
  const oracle8 = await ethers.deployContract("ChainlinkOracle", args(feed8));
  const oracle18 = await ethers.deployContract("ChainlinkOracle", args(feed18));
  const l2Oracle = await ethers.deployContract("ChainlinkOracle", args(feed8, sequencer));
  const factory = await ethers.getContractFactory("ChainlinkOracle");
  // The sequencer has been up for longer than the grace period.
  await networkHelpers.time.increase(GRACE);
  await feed8.updateAnswer(3_000n * 10n ** 8n);
  return { feed8, feed18, sequencer, oracle8, oracle18, l2Oracle, factory };
}

describe("ChainlinkOracle", function () {
  describe("price", function () {
    it("scales an 8-decimal answer to 18 decimals exactly", async function () {
      const { feed8, oracle8 } = await networkHelpers.loadFixture(oracleFixture);
      await feed8.updateAnswer(3_000_12345678n);
      expect(await oracle8.price()).to.equal(3_000_12345678n * 10n ** 10n);
    });

    it("returns an 18-decimal answer unchanged", async function () {
      const { feed18, oracle18 } = await networkHelpers.loadFixture(oracleFixture);
      await feed18.updateAnswer(3_000_123456789012345678n);
      expect(await oracle18.price()).to.equal(3_000_123456789012345678n);
    });

    it("accepts an answer exactly maxAge old and reverts with StalePrice one second later", async function () {
      const { feed8, oracle8, l2Oracle } = await networkHelpers.loadFixture(oracleFixture);
      const updatedAt = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(updatedAt);
      await feed8.updateAnswer(2_500n * 10n ** 8n);
      await at(updatedAt + MAX_AGE);
      expect(await oracle8.price()).to.equal(2_500n * WAD);
      expect(await l2Oracle.priceForNewRisk()).to.equal(2_500n * WAD);
      await at(updatedAt + MAX_AGE + 1n);
      await expect(oracle8.price()).to.be.revertedWithCustomError(oracle8, "StalePrice").withArgs(updatedAt, MAX_AGE);
      await expect(l2Oracle.priceForNewRisk())
        .to.be.revertedWithCustomError(l2Oracle, "StalePrice")
        .withArgs(updatedAt, MAX_AGE);
    });

    it("accepts an answer stamped in the future without underflowing", async function () {
      const { feed8, oracle8 } = await networkHelpers.loadFixture(oracleFixture);
      const now = BigInt(await networkHelpers.time.latest());
      await feed8.updateRoundData(7n, 2_000n * 10n ** 8n, now + 1_000n, now + 1_000n);
      expect(await oracle8.price()).to.equal(2_000n * WAD);
    });

    it("reverts with NonPositivePrice on a zero and on a negative answer", async function () {
      const { feed8, oracle8, l2Oracle } = await networkHelpers.loadFixture(oracleFixture);
      await feed8.updateAnswer(0n);
      await expect(oracle8.price()).to.be.revertedWithCustomError(oracle8, "NonPositivePrice").withArgs(0n);
      await expect(l2Oracle.priceForNewRisk()).to.be.revertedWithCustomError(l2Oracle, "NonPositivePrice").withArgs(0n);
      await feed8.updateAnswer(-1n);
      await expect(oracle8.price()).to.be.revertedWithCustomError(oracle8, "NonPositivePrice").withArgs(-1n);
    });

    it("accepts prices exactly at its bounds and reverts with PriceOutOfBounds one feed unit outside", async function () {
      const { feed8, oracle8 } = await networkHelpers.loadFixture(oracleFixture);
      const unit = 10n ** 10n; // one unit of an 8-decimal answer, in 18 decimals
      await feed8.updateAnswer(MIN_PRICE / unit);
      expect(await oracle8.price()).to.equal(MIN_PRICE);
      await feed8.updateAnswer(MAX_PRICE / unit);
      expect(await oracle8.price()).to.equal(MAX_PRICE);
      await feed8.updateAnswer(MIN_PRICE / unit - 1n);
      await expect(oracle8.price())
        .to.be.revertedWithCustomError(oracle8, "PriceOutOfBounds")
        .withArgs(MIN_PRICE - unit, MIN_PRICE, MAX_PRICE);
      await feed8.updateAnswer(MAX_PRICE / unit + 1n);
      await expect(oracle8.price())
        .to.be.revertedWithCustomError(oracle8, "PriceOutOfBounds")
        .withArgs(MAX_PRICE + unit, MIN_PRICE, MAX_PRICE);
    });
  });

  describe("sequencer", function () {
    it("without a sequencer feed priceForNewRisk equals price and sequencerReady is true", async function () {
      const { oracle8 } = await networkHelpers.loadFixture(oracleFixture);
      expect(await oracle8.priceForNewRisk()).to.equal(3_000n * WAD);
      expect(await oracle8.sequencerReady()).to.equal(true);
    });

    it("priceForNewRisk reverts with SequencerDown while the sequencer is down, price() ignores it", async function () {
      const { sequencer, l2Oracle } = await networkHelpers.loadFixture(oracleFixture);
      const since = BigInt(await networkHelpers.time.latest()) - 10n;
      await sequencer.updateRoundData(2n, DOWN, since, since);
      await expect(l2Oracle.priceForNewRisk()).to.be.revertedWithCustomError(l2Oracle, "SequencerDown").withArgs(since);
      expect(await l2Oracle.price()).to.equal(3_000n * WAD);
      expect(await l2Oracle.sequencerReady()).to.equal(false);
    });

    it("treats a round with startedAt == 0 as down (SequencerDown(0))", async function () {
      const { sequencer, l2Oracle } = await networkHelpers.loadFixture(oracleFixture);
      await sequencer.updateRoundData(2n, UP, BigInt(await networkHelpers.time.latest()), 0n);
      await expect(l2Oracle.priceForNewRisk()).to.be.revertedWithCustomError(l2Oracle, "SequencerDown").withArgs(0n);
      expect(await l2Oracle.sequencerReady()).to.equal(false);
    });

    it("refuses new risk within the grace period and accepts it exactly when the grace period ends", async function () {
      const { feed8, sequencer, l2Oracle } = await networkHelpers.loadFixture(oracleFixture);
      const upSince = BigInt(await networkHelpers.time.latest()) + 1n;
      await networkHelpers.time.setNextBlockTimestamp(upSince);
      await sequencer.updateRoundData(3n, UP, upSince, upSince);
      await feed8.updateAnswer(3_100n * 10n ** 8n);
      await at(upSince + GRACE - 1n);
      await expect(l2Oracle.priceForNewRisk())
        .to.be.revertedWithCustomError(l2Oracle, "SequencerGracePeriodNotOver")
        .withArgs(upSince, GRACE);
      expect(await l2Oracle.sequencerReady()).to.equal(false);
      expect(await l2Oracle.price()).to.equal(3_100n * WAD);
      await at(upSince + GRACE);
      expect(await l2Oracle.priceForNewRisk()).to.equal(3_100n * WAD);
      expect(await l2Oracle.sequencerReady()).to.equal(true);
    });
  });

  describe("constructor", function () {
    it("stores its immutable configuration", async function () {
      const { feed8, sequencer, l2Oracle } = await networkHelpers.loadFixture(oracleFixture);
      expect(await l2Oracle.feed()).to.equal(await feed8.getAddress());
      expect(await l2Oracle.sequencerFeed()).to.equal(await sequencer.getAddress());
      expect(await l2Oracle.maxAge()).to.equal(MAX_AGE);
      expect(await l2Oracle.minPrice()).to.equal(MIN_PRICE);
      expect(await l2Oracle.maxPrice()).to.equal(MAX_PRICE);
      expect(await l2Oracle.gracePeriod()).to.equal(GRACE);
    });

    it("reverts with InvalidFeed for a price feed or sequencer feed without code", async function () {
      const { feed8, factory } = await networkHelpers.loadFixture(oracleFixture);
      const [eoa] = await ethers.getSigners();
      await expect(factory.deploy(eoa, MAX_AGE, MIN_PRICE, MAX_PRICE, ethers.ZeroAddress, 0n))
        .to.be.revertedWithCustomError(factory, "InvalidFeed")
        .withArgs(eoa.address);
      await expect(factory.deploy(feed8, MAX_AGE, MIN_PRICE, MAX_PRICE, eoa, 0n))
        .to.be.revertedWithCustomError(factory, "InvalidFeed")
        .withArgs(eoa.address);
    });

    it("reverts with InvalidFeedDecimals for a feed of more than 18 decimals", async function () {
      const { factory } = await networkHelpers.loadFixture(oracleFixture);
      const feed19 = await ethers.deployContract("MockV3Aggregator", [19, 1n]);
      await expect(factory.deploy(feed19, MAX_AGE, MIN_PRICE, MAX_PRICE, ethers.ZeroAddress, 0n))
        .to.be.revertedWithCustomError(factory, "InvalidFeedDecimals")
        .withArgs(19n);
    });

    it("accepts maxAge of 1 minute and 2 days, reverts with InvalidMaxAge just outside", async function () {
      const { feed8, factory } = await networkHelpers.loadFixture(oracleFixture);
      const deploy = (maxAge: bigint) => factory.deploy(feed8, maxAge, MIN_PRICE, MAX_PRICE, ethers.ZeroAddress, 0n);
      expect(await (await deploy(60n)).maxAge()).to.equal(60n);
      expect(await (await deploy(172_800n)).maxAge()).to.equal(172_800n);
      await expect(deploy(59n)).to.be.revertedWithCustomError(factory, "InvalidMaxAge").withArgs(59n);
      await expect(deploy(172_801n)).to.be.revertedWithCustomError(factory, "InvalidMaxAge").withArgs(172_801n);
    });

    it("reverts with InvalidPriceBounds for a zero minimum or a maximum not above the minimum", async function () {
      const { feed8, factory } = await networkHelpers.loadFixture(oracleFixture);
      const deploy = (lo: bigint, hi: bigint) => factory.deploy(feed8, MAX_AGE, lo, hi, ethers.ZeroAddress, 0n);
      await expect(deploy(0n, WAD)).to.be.revertedWithCustomError(factory, "InvalidPriceBounds").withArgs(0n, WAD);
      await expect(deploy(WAD, WAD)).to.be.revertedWithCustomError(factory, "InvalidPriceBounds").withArgs(WAD, WAD);
      await expect(deploy(WAD, WAD - 1n))
        .to.be.revertedWithCustomError(factory, "InvalidPriceBounds")
        .withArgs(WAD, WAD - 1n);
    });

    it("accepts a grace period of 1 day and reverts with InvalidGracePeriod above it", async function () {
      const { feed8, sequencer, factory } = await networkHelpers.loadFixture(oracleFixture);
      const deploy = (grace: bigint) => factory.deploy(feed8, MAX_AGE, MIN_PRICE, MAX_PRICE, sequencer, grace);
      expect(await (await deploy(86_400n)).gracePeriod()).to.equal(86_400n);
      await expect(deploy(86_401n)).to.be.revertedWithCustomError(factory, "InvalidGracePeriod").withArgs(86_401n);
    });
  });
});
