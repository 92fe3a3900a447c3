import { expect } from "chai";
import { deploy6, ETH, feedPrice, networkHelpers, WAD } from "./helpers/system.js";

describe("smoke", function () {
  it("opens, liquidates through the waterfall and closes", async function () {
    const s = await networkHelpers.loadFixture(deploy6);
    await s.vault.connect(s.lp).deposit(1_000_000n * s.unit, s.lp);
    await s.backstop.connect(s.staker).deposit(100_000n * s.unit, s.staker);
    await s.engine.connect(s.alice).openPosition(ETH, 10n * WAD, 3_000n * s.unit);
    await s.engine.connect(s.bob).openPosition(ETH, -10n * WAD, 3_000n * s.unit);
    expect(await s.lens.isLiquidatable(s.alice, ETH)).to.equal(false);
    await s.ethFeed.updateAnswer(feedPrice(2_500));
    const preview = await s.lens.previewLiquidation(s.alice, ETH);
    expect(preview.liquidatable).to.equal(true);
    await expect(s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper)).to.emit(s.engine, "BadDebtCovered");
    await s.engine.connect(s.bob).closePosition(ETH);
    console.log("lp value", await s.engine.lpValue(), "backstop", await s.backstop.totalAssets());
  });
});
