import { expect } from "chai";
import { deploy6, ETH, ethers, marketConfig, networkHelpers, WAD } from "./helpers/system.js";

/**
 * Contract bug (reported to the lead): ConstantsLib.MAX_MAX_PROFIT_FACTOR is 20e18, but
 * MarketConfig.maxProfitFactor is a uint64, whose maximum is 18.446744073709551615e18. The documented
 * maximum of 20x can never be configured, and the upper bound check in PerpEngine._validate is dead code.
 * These tests pass on the current code and describe the defect; they should be rewritten once the field
 * is widened or the constant lowered.
 */
describe("BUG: maxProfitFactor's upper bound (20e18) exceeds its uint64 field", function () {
  it("the documented maximum of 20x cannot be set: the call reverts in ABI decoding, not with ParameterOutOfBounds", async function () {
    const s = await networkHelpers.loadFixture(deploy6);
    const config = marketConfig(6);
    // Encode with 18x, then patch the maxProfitFactor word (6th field of the struct) to 20e18.
    const data = s.engine.interface.encodeFunctionData("setMarketConfig", [
      ETH,
      { ...config, maxProfitFactor: 18n * WAD },
    ]);
    const words = data.slice(10).match(/.{64}/g)!;
    const patch = (value: bigint) => {
      words[1 + 5] = value.toString(16).padStart(64, "0");
      return data.slice(0, 10) + words.join("");
    };
    // The patch hits the right word: 10x set this way is stored as 10x.
    await s.admin.sendTransaction({ to: await s.engine.getAddress(), data: patch(10n * WAD) });
    expect((await s.engine.getMarket(ETH)).config.maxProfitFactor).to.equal(10n * WAD);
    const patched = patch(20n * WAD);
    await expect(
      s.admin.sendTransaction({ to: await s.engine.getAddress(), data: patched }),
    ).to.be.revertedWithoutReason(ethers);
    expect((await s.engine.getMarket(ETH)).config.maxProfitFactor).to.equal(10n * WAD);
  });

  it("the highest value the engine can ever hold is type(uint64).max, below the intended 20x", async function () {
    const s = await networkHelpers.loadFixture(deploy6);
    const max64 = 2n ** 64n - 1n;
    await s.engine.setMarketConfig(ETH, marketConfig(6, { maxProfitFactor: max64 }));
    expect((await s.engine.getMarket(ETH)).config.maxProfitFactor).to.equal(max64);
    expect(max64).to.be.lessThan(20n * WAD);
  });
});
