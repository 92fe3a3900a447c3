import { expect } from "chai";
import { deploySystem, ETH, ethers, networkHelpers, WAD } from "./helpers/system.js";
import { lpDeposit } from "./helpers/lp.js";

/** Defensive paths that the vault's and the engine's own limits normally keep out of reach. */
describe("guards", function () {
  async function funded() {
    const s = await deploySystem({ decimals: 6, ethConfig: { tradingFeeRatio: 0n, maxFundingRatePerDay: 0n } });
    await lpDeposit(s, s.lp, 100_000n * s.unit);
    return s;
  }

  it("the engine refuses to pay out reserved liquidity even to the vault itself: InsufficientLiquidity", async function () {
    const s = await networkHelpers.loadFixture(funded);
    await s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * s.unit); // reserves 9 x 300
    const free = await s.engine.freeLiquidity();
    expect(free).to.equal((await s.engine.lpBalance()) - 2_700n * s.unit);
    const vault = await s.vault.getAddress();
    await networkHelpers.impersonateAccount(vault);
    await networkHelpers.setBalance(vault, 10n ** 18n);
    const asVault = await ethers.getSigner(vault);
    await expect(s.engine.connect(asVault).withdrawLiquidity(s.lp, free + 1n))
      .to.be.revertedWithCustomError(s.engine, "InsufficientLiquidity")
      .withArgs(free + 1n, free);
    await expect(s.engine.connect(asVault).withdrawLiquidity(s.lp, free)).to.changeTokenBalance(
      ethers,
      s.token,
      s.lp,
      free,
    );
  });

  it("a market without a trading fee charges nothing and books nothing for the protocol", async function () {
    const s = await networkHelpers.loadFixture(funded);
    const lpBefore = await s.engine.lpBalance();
    await expect(s.orders.connect(s.alice).openPosition(ETH, WAD, 300n * s.unit)).to.changeTokenBalance(
      ethers,
      s.token,
      s.alice,
      -300n * s.unit,
    );
    await expect(s.orders.connect(s.alice).closePosition(ETH)).to.changeTokenBalance(
      ethers,
      s.token,
      s.alice,
      300n * s.unit,
    );
    expect([await s.engine.lpBalance(), await s.lens.pendingProtocolFees()]).to.deep.equal([lpBefore, 0n]);
  });

  it("the backstop reports the interfaces it implements (ERC-165)", async function () {
    const s = await networkHelpers.loadFixture(funded);
    // type(IBackstopModule).interfaceId: the XOR of the selectors it declares itself (not IERC4626's).
    const selectors = async (name: string) =>
      new Set(
        (await ethers.getContractAt(name, s.backstop)).interface.fragments.flatMap((f) =>
          f.type === "function" ? [(f as unknown as { selector: string }).selector] : [],
        ),
      );
    // ILiquidityVault is IERC4626 plus engine(), which IBackstopModule declares as well. IERC7540Redeem's
    // functions are inherited too, except requestRedeem, which IBackstopModule declares again (with the
    // project's rules), so that it counts.
    const inherited = await selectors("ILiquidityVault");
    inherited.delete(ethers.id("engine()").slice(0, 10));
    for (const selector of await selectors("IERC7540Redeem")) inherited.add(selector);
    inherited.delete(ethers.id("requestRedeem(uint256,address,address)").slice(0, 10));
    let id = 0n;
    for (const selector of await selectors("IBackstopModule")) if (!inherited.has(selector)) id ^= BigInt(selector);
    expect(await s.backstop.supportsInterface(ethers.toBeHex(id, 4)), "IBackstopModule").to.equal(true);
    expect(await s.backstop.supportsInterface("0x01ffc9a7"), "ERC-165").to.equal(true);
    expect(await s.backstop.supportsInterface("0x7965db0b"), "IAccessControl").to.equal(true);
    expect(await s.backstop.supportsInterface("0xffffffff")).to.equal(false);
  });
});
