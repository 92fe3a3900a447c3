import { expect } from "chai";
import { Keeper } from "../scripts/lib/keeper.js";
import {
  addMarket,
  cooldown,
  lpDeposit,
  lpStatus,
  lpWithdraw,
  setParameter,
  setPaused,
  stake,
  stakerStatus,
  systemStatus,
  unstake,
} from "../scripts/lib/tools.js";
import { verifyDeployment } from "../scripts/lib/verify.js";
import { deployLocal } from "../scripts/lib/local.js";
import { addressesOfModule, attach, readParameters } from "../scripts/lib/deployment.js";
import Bulwark from "../deploy/modules/Bulwark.js";
import LocalMocks from "../deploy/modules/LocalMocks.js";
import { BTC, connection, ETH, ethers, feedPrice, networkHelpers, WAD } from "./helpers/ops.js";

/** What `npx hardhat ignition deploy deploy/modules/LocalBulwark.ts --network localhost` deploys. */
async function localhostDeployment() {
  const d = await deployLocal(connection, "localhost");
  const [deployer, , lp, staker, keeper, alice, bob] = await ethers.getSigners();
  const unit = 10n ** BigInt(d.decimals);
  for (const who of [lp, staker, alice, bob]) {
    await d.collateral.mint(who.address, 1_000_000n * unit);
    for (const spender of [d.addresses.engine, d.addresses.vault, d.addresses.backstop]) {
      await d.collateral.connect(who).approve(spender, ethers.MaxUint256);
    }
  }
  const verifyInput = {
    params: d.parameters.LocalBulwark as Record<string, unknown>,
    deployer: deployer.address,
    ethFeed: await d.ethFeed.getAddress(),
    btcFeed: await d.btcFeed.getAddress(),
    local: true,
  };
  // The timelock holds every admin role; on this local deployment its delay is 0, and the admin steps of
  // these tests act as the timelock itself (the timelock tasks are tested on their own).
  await networkHelpers.impersonateAccount(d.addresses.timelock);
  await networkHelpers.setBalance(d.addresses.timelock, 10n ** 18n);
  const admin = await ethers.getSigner(d.addresses.timelock);
  return { ...d, unit, deployer, admin, lp, staker, keeper, alice, bob, verifyInput };
}

describe("Operations on a localhost deployment", function () {
  it("verifies a fresh deployment with no mismatch and names each tampered parameter", async function () {
    const s = await networkHelpers.loadFixture(localhostDeployment);
    expect(await verifyDeployment(ethers, s, s.verifyInput)).to.deep.equal([]);

    const ctx = { ethers, d: s, signer: s.admin };
    await setParameter(ctx, ETH, "maintenanceMarginRatio", (WAD / 25n).toString()); // 5 % -> 4 %
    await s.engine.connect(s.admin).grantRole(await s.engine.GUARDIAN_ROLE(), s.alice.address);
    const problems = await verifyDeployment(ethers, s, s.verifyInput);
    expect(problems).to.deep.equal([
      `engine GUARDIAN_ROLE: unexpected holder ${s.alice.address.toLowerCase()}`,
      `market 0 (ETH-USD) config.maintenanceMarginRatio: ${WAD / 25n}, expected ${WAD / 20n}`,
    ]);
  });

  it("runs deploy, verify, keeper and the staker, LP and operator tools end to end", async function () {
    const s = await networkHelpers.loadFixture(localhostDeployment);
    const as = (signer: typeof s.lp) => ({ ethers, d: s, signer });
    await s.vault.connect(s.lp).deposit(500_000n * s.unit, s.lp.address);

    // Staker: stake 1,000 through the tool; the report and the chain agree.
    const staked = await stake(as(s.staker), "1000");
    expect(staked.data.assets).to.equal(1_000n * s.unit);
    const shares = await s.backstop.balanceOf(s.staker.address);
    expect(staked.data.shares).to.equal(shares);
    expect(shares).to.equal(1_000n * s.unit * 10n ** 6n); // first deposit: 1e6 virtual shares per unit

    // Trading, a price drop, and the keeper.
    await s.engine.connect(s.alice).openPosition(ETH, 15n * WAD, 5_000n * s.unit); // 9x long
    await s.engine.connect(s.bob).openPosition(ETH, -10n * WAD, 10_000n * s.unit); // 3x short
    const status = await systemStatus(as(s.deployer));
    const eth = (status.data.markets as { longSize: bigint; shortSize: bigint; skew: bigint }[])[0];
    expect([eth.longSize, eth.shortSize, eth.skew]).to.deep.equal([15n * WAD, 10n * WAD, 5n * WAD]);
    await s.ethFeed.updateAnswer(feedPrice(2_760n));
    const keeper = new Keeper(ethers, s, s.keeper, {
      minProfit: 0n,
      batchSize: 10,
      startBlock: 0,
      dryRun: false,
      log: () => {},
    });
    const tick = await keeper.tick();
    expect(tick?.liquidated).to.equal(1);
    expect((await s.engine.getPosition(s.alice.address, ETH)).size).to.equal(0n);

    // Cooldown, the timeline in the status tool, and unstaking in the window.
    await cooldown(as(s.staker), "");
    const cooling = await stakerStatus(as(s.staker), "");
    const start = cooling.data.cooldownStart as bigint;
    expect(cooling.data.windowStart).to.equal(start + 7n * 86_400n);
    expect(cooling.data.windowEnd).to.equal(start + 9n * 86_400n);
    expect(String(cooling.data.phase)).to.match(/^cooling down, window opens in \d+ s$/);
    await networkHelpers.time.increase(7 * 86_400 + 60);
    const inWindow = await stakerStatus(as(s.staker), "");
    expect(inWindow.data.inWindow).to.equal(true);
    const before = await s.collateral.balanceOf(s.staker.address);
    const left = await unstake(as(s.staker), "");
    expect(left.data.shares).to.equal(shares);
    expect((await s.collateral.balanceOf(s.staker.address)) - before).to.equal(left.data.received);
    expect(left.data.received).to.equal(1_000n * s.unit); // min(value at request, value now)
    expect(await s.backstop.balanceOf(s.staker.address)).to.equal(0n);

    // Operator: pause blocks new risk and LP deposits, unpause restores them.
    await setPaused(as(s.deployer), true);
    await s.ethFeed.updateAnswer(feedPrice(2_760n));
    await s.btcFeed.updateAnswer(feedPrice(60_000n));
    await expect(s.engine.connect(s.alice).openPosition(ETH, WAD, 1_000n * s.unit)).to.be.revertedWithCustomError(
      s.engine,
      "EnforcedPause",
    );
    await setPaused(as(s.deployer), false);
    await s.engine.connect(s.alice).openPosition(ETH, WAD, 1_000n * s.unit);
    const lp = await lpStatus(as(s.lp), "");
    expect(lp.data.value).to.equal(await s.vault.convertToAssets(await s.vault.balanceOf(s.lp.address)));
  });

  it("deploys the testnet module (Bulwark) on an existing token and feeds given as parameters, with the roles handed over", async function () {
    const [deployer, treasury, admin, guardian] = await ethers.getSigners();
    const mocks = await connection.ignition.deploy(LocalMocks, { displayUi: false });
    const sepolia = (await readParameters("sepolia")).Bulwark;
    const params = {
      ...sepolia,
      collateral: await mocks.collateral.getAddress(),
      ethFeed: await mocks.ethFeed.getAddress(),
      btcFeed: await mocks.btcFeed.getAddress(),
      ethMaxAge: 3_600n,
      btcMaxAge: 3_600n,
      treasury: treasury.address,
      timelockProposer: admin.address,
      guardian: guardian.address,
    };
    const r = await connection.ignition.deploy(Bulwark, { parameters: { Bulwark: params as never }, displayUi: false });
    const d = await attach(ethers, await addressesOfModule(r));
    const input = { params, deployer: deployer.address, ethFeed: params.ethFeed, btcFeed: params.btcFeed };
    expect(await verifyDeployment(ethers, d, input)).to.deep.equal([]);
    const marketAdminRole = await d.engine.MARKET_ADMIN_ROLE();
    expect(await d.engine.hasRole(marketAdminRole, deployer.address)).to.equal(false);
    expect(await d.engine.hasRole(marketAdminRole, admin.address)).to.equal(false);
    expect(await d.engine.hasRole(marketAdminRole, d.addresses.timelock)).to.equal(true);
    expect(await d.engine.hasRole(ethers.ZeroHash, deployer.address)).to.equal(false);
    expect(await d.backstop.hasRole(ethers.ZeroHash, deployer.address)).to.equal(false);
    expect(await d.timelock.getMinDelay()).to.equal(2n * 24n * 3600n);
    expect(await d.timelock.hasRole(await d.timelock.PROPOSER_ROLE(), admin.address)).to.equal(true);
    expect(await d.engine.hasRole(await d.engine.GUARDIAN_ROLE(), guardian.address)).to.equal(true);
    expect(await d.engine.treasury()).to.equal(treasury.address);
    // Checked against the file as written (deployer-held roles, the real Sepolia feeds), every difference is named.
    const againstFile = await verifyDeployment(ethers, d, {
      ...input,
      params: sepolia,
      ethFeed: String(sepolia.ethFeed),
    });
    expect(againstFile).to.include(`collateral: ${params.collateral}, expected ${sepolia.collateral}`);
    expect(againstFile).to.include(`ETH-USD oracle feed(): ${params.ethFeed}, expected ${sepolia.ethFeed}`);
    expect(againstFile).to.include(`timelock PROPOSER_ROLE: ${deployer.address} does not hold it`);
    // Real feeds name their pair; a mock in their place is caught.
    const described = await verifyDeployment(ethers, d, { ...input, checkFeedDescriptions: true });
    expect(described).to.deep.equal([
      `ETH-USD feed description(): "v0.8/tests/MockV3Aggregator.sol", expected "ETH / USD"`,
      `BTC-USD feed description(): "v0.8/tests/MockV3Aggregator.sol", expected "BTC / USD"`,
    ]);
  });

  it("LP tools move exactly the amounts asked; operator tools add a market and refuse a parameter outside its bounds", async function () {
    const s = await networkHelpers.loadFixture(localhostDeployment);
    const as = (signer: typeof s.lp) => ({ ethers, d: s, signer });
    const before = await s.collateral.balanceOf(s.lp.address);
    const deposited = await lpDeposit(as(s.lp), "1000.5");
    expect(deposited.data.assets).to.equal(1_000_500_000n);
    expect(await s.vault.balanceOf(s.lp.address)).to.equal(deposited.data.shares);
    await lpWithdraw(as(s.lp), "400");
    expect(before - (await s.collateral.balanceOf(s.lp.address))).to.equal(600_500_000n);

    const feed = await ethers.deployContract("MockV3Aggregator", [8, feedPrice(150n)]);
    const oracle = await ethers.deployContract("ChainlinkOracle", [
      feed,
      3_600n,
      WAD / 100n,
      1_000_000n * WAD,
      ethers.ZeroAddress,
      0n,
    ]);
    const config = s.parameters.LocalBulwark.ethConfig as Record<string, bigint>;
    const added = await addMarket(as(s.admin), await oracle.getAddress(), config);
    expect(added.data.marketId).to.equal(2n);
    expect((await s.lens.getMarket(2n)).oracle).to.equal(await oracle.getAddress());

    const tooHigh = WAD / 5n; // 20 %: above initial margin (10 %) less the keeper fee ratio (0.5 %)
    await expect(setParameter(as(s.admin), BTC, "maintenanceMarginRatio", tooHigh.toString()))
      .to.be.revertedWithCustomError(s.engine, "ParameterOutOfBounds")
      .withArgs(
        ethers.encodeBytes32String("maintenanceMarginRatio"),
        tooHigh,
        WAD / 200n,
        (95n * WAD) / 1_000n - 10n ** 10n,
      );
    const unknown = await setParameter(as(s.admin), BTC, "noSuchField", "1").then(
      () => "no error",
      (error: Error) => error.message,
    );
    expect(unknown).to.match(/^unknown field noSuchField; one of initialMarginRatio, /);
  });
});
