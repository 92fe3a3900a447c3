// How the tools render numbers, times and the system's errors: units a person reads.
import { expect } from "chai";
import { Interface, encodeBytes32String } from "ethers";
import { decodeRevertData, renderRevert, roleName } from "../scripts/lib/chain/errors.js";
import { type Units, date, decimal, duration, percent, tokens, when } from "../scripts/lib/chain/format.js";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { deploymentBlock, parseUnits } from "../scripts/lib/chain/deployment.js";

const WAD = 10n ** 18n;
const NOW = BigInt(Date.UTC(2026, 11, 1, 14, 34, 49) / 1000); // 2026-12-01 14:34:49 UTC
const units: Units = { decimals: 6, symbol: "mUSD", backstopShareDecimals: 12, vaultShareDecimals: 12, now: NOW };

/** Encodes `signature` with `args` and renders it as the tools do. */
function render(signature: string, args: unknown[]) {
  const iface = new Interface([`error ${signature}`]);
  const name = signature.slice(0, signature.indexOf("("));
  const decoded = decodeRevertData(iface.encodeErrorResult(name, args));
  expect(decoded?.name, `${name} is declared in the artifacts`).to.equal(name);
  return renderRevert(decoded!, units);
}

describe("Tools: numbers, times and errors as people read them", function () {
  it("formats tokens, percent and durations with their units", function () {
    expect(tokens(units, 1_000_500_000n)).to.equal("1,000.50 mUSD");
    expect(tokens(units, 1n)).to.equal("0.000001 mUSD");
    expect(percent((95n * WAD) / 1_000n - 1n)).to.equal("9.5 %"); // the maintenance bound, 1 wei below 9.5 %
    expect(percent((9n * WAD) / 10n)).to.equal("90 %");
    expect(decimal(123_456_789n, 6, 0, 2)).to.equal("123.46");
    expect(duration(604_800n - 1n)).to.equal("6 d 23 h");
    expect(duration(3_660n)).to.equal("1 h 1 min");
    expect(duration(86_400n)).to.equal("1 d");
    expect(duration(12n)).to.equal("12 s");
    expect(date(NOW)).to.equal("2026-12-01 14:34 UTC");
    expect(when(NOW + 604_793n, NOW)).to.equal("2026-12-08 14:34 UTC (in 6 d 23 h)");
    expect(when(NOW - 7_200n, NOW)).to.equal("2026-12-01 12:34 UTC (2 h ago)");
  });

  it("parses amounts with the token's decimals, and names what is wrong", function () {
    expect(parseUnits("1_000.5", 6)).to.equal(1_000_500_000n);
    expect(() => parseUnits("1.5e3", 6)).to.throw('amount "1.5e3" is not a number such as 1000, 1,000.5 or 0.25');
    expect(() => parseUnits("0.1234567", 6)).to.throw('amount "0.1234567" has 7 decimals; at most 6 are allowed');
  });

  it("renders the issue's raw reverts as sentences with dates and units", function () {
    expect(render("OutsideUnstakeWindow(uint256,uint256,uint256)", [NOW, NOW + 604_793n, NOW + 777_593n])).to.equal(
      "the unstake window opens on 2026-12-08 14:34 UTC (in 6 d 23 h) and closes on 2026-12-10 14:34 UTC",
    );
    expect(render("OutsideUnstakeWindow(uint256,uint256,uint256)", [NOW, NOW - 200_000n, NOW - 3_600n])).to.equal(
      "the unstake window closed on 2026-12-01 13:34 UTC (1 h ago): cancel the cooldown or start it again",
    );
    expect(
      render("ParameterOutOfBounds(bytes32,uint256,uint256,uint256)", [
        encodeBytes32String("maintenanceMarginRatio"),
        (9n * WAD) / 10n,
        WAD / 200n,
        (95n * WAD) / 1_000n - 1n,
      ]),
    ).to.equal("maintenanceMarginRatio 90 % is above its maximum 9.5 %");
    expect(
      render("ParameterOutOfBounds(bytes32,uint256,uint256,uint256)", [
        encodeBytes32String("cooldownPeriod"),
        3_600n,
        86_400n,
        30n * 86_400n,
      ]),
    ).to.equal("cooldownPeriod 1 h is below its minimum 1 d");
    expect(
      render("ParameterOutOfBounds(bytes32,uint256,uint256,uint256)", [
        encodeBytes32String("minMargin"),
        20_000_000_000n,
        1n,
        10_000_000_000n,
      ]),
    ).to.equal("minMargin 20,000.00 mUSD is above its maximum 10,000.00 mUSD");
    expect(render("StalePrice(uint256,uint256)", [NOW - 3_700n, 3_600n])).to.equal(
      "the price feed is stale: its last round is from 2026-12-01 13:33 UTC (1 h 1 min ago), older than its heartbeat of 1 h",
    );
    expect(render("SequencerGracePeriodNotOver(uint256,uint256)", [NOW - 600n, 3_600n])).to.equal(
      "the L2 sequencer restarted on 2026-12-01 14:24 UTC; new risk waits until 2026-12-01 15:24 UTC (in 50 min)",
    );
    expect(render("InsufficientLiquidity(uint256,uint256)", [5_000_000_000n, 1_250_500_000n])).to.equal(
      "needs 5,000.00 mUSD of free LP liquidity, 1,250.50 mUSD is available",
    );
  });

  it("names roles and OpenZeppelin's errors from the artifacts", function () {
    expect(roleName("0x" + "0".repeat(64))).to.equal("DEFAULT_ADMIN_ROLE");
    const guardian = "0x55435dd261a4b9b3364963f7738a7a662ad9c84396d64be3365284bb7f0a5041"; // keccak256("GUARDIAN_ROLE")
    expect(roleName(guardian)).to.equal("GUARDIAN_ROLE");
    const someone = "0x00000000000000000000000000000000000000A1"; // checksummed, as ethers decodes it
    const denied = render("AccessControlUnauthorizedAccount(address,bytes32)", [someone, guardian]);
    expect(denied, denied).to.equal(`${someone} does not hold GUARDIAN_ROLE`);
    expect(render("EnforcedPause()", [])).to.match(/^the engine is paused/);
    expect(
      render("TimelockUnexpectedOperationState(bytes32,bytes32)", [
        "0x" + "ab".repeat(32),
        "0x" + "0".repeat(62) + "04",
      ]),
    ).to.equal(`operation 0x${"ab".repeat(32)} is not ready`);
  });

  it("finds a deployment's first block in Ignition's journal, for the keeper's default start", async function () {
    const dir = await mkdtemp(path.join(tmpdir(), "bulwark-deployments-"));
    await mkdir(path.join(dir, "chain-11155111"));
    const confirm = (block: number) =>
      JSON.stringify({ type: "TRANSACTION_CONFIRM", futureId: "Bulwark#X", receipt: { blockNumber: block } });
    const journal = [
      JSON.stringify({ type: "DEPLOYMENT_INITIALIZE" }),
      confirm(7_100_002),
      confirm(7_100_001),
      '{"type":"TRANSACTION_CONFIRM",',
    ];
    await writeFile(path.join(dir, "chain-11155111", "journal.jsonl"), journal.join("\n"));
    expect(await deploymentBlock(11_155_111n, undefined, dir)).to.equal(7_100_001);
    expect(await deploymentBlock(1n, undefined, dir)).to.equal(undefined);
  });
});
