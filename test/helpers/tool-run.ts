// Runs a tool as its task would, capturing what it prints, and checks a refusal: exit 1, nothing on stdout,
// one line "error: … [Name]" on stderr, and nothing sent (no block mined, no account's nonce moved).
import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { type CommonArgs, type Tool, execute } from "../../scripts/lib/chain/cli.js";
import type { Deployment } from "../../scripts/lib/chain/deployment.js";
import { connection, ethers } from "./ops.js";

export interface Outcome {
  code: number;
  out: string[];
  err: string[];
}

/** `signer` undefined: the tool picks its signer from `--from` (default: the network's first account). */
export async function run<A extends CommonArgs>(
  tool: Tool<A>,
  args: A,
  d: Deployment,
  signer?: HardhatEthersSigner,
): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
  const code = await execute({ connection, deployment: d, signer, io }, args, tool);
  return { code, out, err };
}

async function chainState() {
  const signers = await ethers.getSigners();
  return {
    block: await ethers.provider.getBlockNumber(),
    nonces: await Promise.all(signers.map((s) => ethers.provider.getTransactionCount(s.address))),
  };
}

/** The refusal's one line, after checking the exit code, the silence on stdout and that nothing was sent. */
export async function expectRefusal(attempt: () => Promise<Outcome>, name: string): Promise<string> {
  const before = await chainState();
  const r = await attempt();
  expect(r.code, "exit code").to.equal(1);
  expect(r.out, "stdout").to.deep.equal([]);
  expect(r.err, "stderr: one line").to.have.length(1);
  expect(r.err[0]).to.match(new RegExp(`^error: .* \\[${name}\\]$`));
  expect(await chainState(), "nothing changed on chain").to.deep.equal(before);
  return r.err[0];
}
