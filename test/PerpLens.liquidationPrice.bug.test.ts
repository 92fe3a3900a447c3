import { expect } from "chai";
import { deploySystem, ETH, networkHelpers, WAD } from "./helpers/system.js";
import { setPrice, usd } from "./helpers/liq.js";

/**
 * BUG (PerpLens._liquidationPrice, minor): the keeper fee is held at today's notional even where it is
 * proportional to notional (0.5 %, between its floor and cap), although IPerpLens only says it ignores
 * "keeper-fee floor/cap changes". For a short the requirement grows with the price, so the true
 * liquidation price is BELOW the reported one: a trader watching the lens is liquidated before the price
 * it showed. Short 1 ETH from $3,000 with 300 margin: reported (300 + 3,000 - 15) / 1.05 = 3,128.5714;
 * true 3,300 / 1.055 = 3,127.9621. Expected: the reported price solves the equation with the keeper fee
 * as a function of price, (M + s·E - F) / (s·(1 + m + k)) in the proportional range.
 */
describe("PerpLens liquidation price with a proportional keeper fee (bug: a short is liquidated before it)", function () {
  for (const decimals of [6, 18]) {
    async function shortOneEth() {
      const s = await deploySystem({ decimals });
      const tokens = (n: bigint) => n * s.unit;
      await s.vault.connect(s.lp).deposit(tokens(1_000_000n), s.lp);
      await s.engine.connect(s.bob).openPosition(ETH, WAD, tokens(1_000n));
      await s.engine.connect(s.alice).openPosition(ETH, -WAD, tokens(300n));
      return s;
    }

    it(`${decimals} decimals: at $3,128.30, below the reported $3,128.57, the short is already liquidatable`, async function () {
      const s = await networkHelpers.loadFixture(shortOneEth);
      const reported = (await s.lens.positionHealth(s.alice, ETH)).liquidationPrice;
      expect(reported).to.equal((3_285n * WAD * 100n) / 105n);
      const price = usd(3_128n) + (30n * WAD) / 100n;
      expect(price).to.be.lt(reported);
      await setPrice(s.ethFeed, price);
      // Equity 3,300 - 3,128.30 = 171.70 < 5.5 % of 3,128.30 = 172.0565.
      expect(await s.lens.isLiquidatable(s.alice, ETH)).to.equal(true);
      await expect(s.engine.connect(s.keeper).liquidate(s.alice, ETH, s.keeper)).to.emit(
        s.engine,
        "PositionLiquidated",
      );
    });
  }
});
