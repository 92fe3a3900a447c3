import { network } from "hardhat";
import { deployLocal } from "../../scripts/lib/local.js";

/** A network of its own for the operations tests: they deploy through Ignition, which needs the connection. */
export const connection = await network.create();
export const { ethers, networkHelpers } = connection;

export const WAD = 10n ** 18n;
export const ETH = 0n;
export const BTC = 1n;
export const feedPrice = (usd: bigint) => usd * 10n ** 8n;

/** The system deployed by the LocalBulwark Ignition module with deploy/parameters/hardhat.json, funded actors. */
export async function deployThroughIgnition() {
  const d = await deployLocal(connection, "hardhat");
  const unit = 10n ** BigInt(d.decimals);
  const [admin, treasury, lp, staker, keeper, t1, t2, t3, t4, t5, t6] = await ethers.getSigners();
  for (const who of [lp, staker, keeper, t1, t2, t3, t4, t5, t6]) {
    await d.collateral.mint(who.address, 10_000_000n * unit);
    for (const spender of [d.addresses.engine, d.addresses.vault, d.addresses.backstop]) {
      await d.collateral.connect(who).approve(spender, ethers.MaxUint256);
    }
  }
  await d.vault.connect(lp).deposit(1_000_000n * unit, lp.address);
  await d.backstop.connect(staker).deposit(100_000n * unit, staker.address);
  return { ...d, unit, admin, treasury, lp, staker, keeper, traders: [t1, t2, t3, t4, t5, t6] };
}
