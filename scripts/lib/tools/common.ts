// What the staker, LP and operator tools share: the arguments that name an amount or an account, amounts in
// tokens, and the signer's balance and allowance checked before anything is sent.
import type { CommonArgs, ToolContext, ToolSigner } from "../chain/cli.js";
import type { Deployment } from "../chain/deployment.js";
import { ToolError } from "../chain/errors.js";
import { tokens } from "../chain/format.js";
import { mined } from "../chain/receipts.js";

export type Amount = CommonArgs & { amount?: string };
export type Account = CommonArgs & { account?: string };

/** An amount of collateral in tokens, with the deployment's symbol. */
export const t = (ctx: ToolContext, x: bigint) => tokens(ctx.units, x);

/** Refuses before anything is sent when the signer cannot pay `amount`. */
export async function checkBalance(ctx: ToolContext, amount: bigint, action: string) {
  const balance = await ctx.d.collateral.balanceOf(ctx.signer.address);
  if (balance < amount) {
    throw new ToolError(
      "InsufficientBalance",
      `${action} needs ${t(ctx, amount)}; ${ctx.signer.address} holds ${t(ctx, balance)}`,
      { balance, needed: amount },
    );
  }
}

/** Approves `spender` for `amount` of the collateral when the signer has not already. */
export async function ensureAllowance(d: Deployment, signer: ToolSigner, spender: string, amount: bigint) {
  const token = d.collateral.connect(signer);
  if ((await token.allowance(signer.address, spender)) < amount) await mined(token.approve(spender, amount));
}
