// The TypeScript side in layers that only import downward (docs/ARCHITECTURE.md, "The TypeScript side"): the
// chain layer at the bottom, the request model above it, the keeper's duties and the tools by audience above
// that, the demo and the stress lab on top, and the programs (scripts/*.ts, the tasks) over everything. Read
// from the sources alone: no chain, no compiler.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ROOT, circles, depth, importGraph } from "./helpers/imports.js";

const LIB = "scripts/lib/";

/** Each library folder (or file) and its rank: a file imports only from its own folder or a lower rank. */
const LAYERS: { prefix: string; rank: number }[] = [
  { prefix: `${LIB}chain/`, rank: 0 },
  { prefix: `${LIB}requests/`, rank: 1 },
  { prefix: `${LIB}keeper/`, rank: 2 },
  { prefix: `${LIB}tools/`, rank: 2 },
  { prefix: `${LIB}demo.ts`, rank: 3 },
  { prefix: `${LIB}stress/`, rank: 3 },
];

const layerOf = (file: string) => LAYERS.find((l) => file.startsWith(l.prefix));

/** The imports that break the layers: upward, or sideways between two folders of one rank. */
function upwardImports(graph: Map<string, string[]>): string[] {
  const bad: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    if (!from) continue; // a program: it may import any layer
    for (const target of targets) {
      const to = layerOf(target);
      if (!target.startsWith("scripts/")) continue; // deploy/ and test/ helpers sit outside the layers
      if (!to) bad.push(`${file} -> ${target} (a program)`);
      else if (to.prefix !== from.prefix && to.rank >= from.rank) bad.push(`${file} -> ${target}`);
    }
  }
  return bad;
}

const KEEPER = `${LIB}keeper/`;
/** The keeper's programs: the loop over the duties, and its command line over the loop. */
const KEEPER_PROGRAMS = [`${KEEPER}loop.ts`, `${KEEPER}cli.ts`];

describe("layout of the TypeScript side", function () {
  const graph = importGraph();

  it("has_no_import_circle_in_scripts", function () {
    expect(circles(graph), "import circles (each from a file back to itself)").to.deep.equal([]);
  });

  it("chain_layer_imports_nothing_from_requests_keeper_tools_demo_or_stress", function () {
    const bad = [...graph]
      .filter(([file]) => file.startsWith(`${LIB}chain/`))
      .flatMap(([file, targets]) =>
        targets.filter((t) => t.startsWith(LIB) && !t.startsWith(`${LIB}chain/`)).map((t) => `${file} -> ${t}`),
      );
    expect(bad, "chain files importing from a layer above").to.deep.equal([]);
  });

  it("every_library_import_goes_down_a_layer_or_stays_in_its_folder", function () {
    expect(upwardImports(graph), "imports upward or between keeper/ and tools/").to.deep.equal([]);
  });

  it("no_keeper_duty_imports_the_loop_or_the_keeper_command_line", function () {
    const bad = [...graph]
      .filter(([file]) => file.startsWith(KEEPER) && !KEEPER_PROGRAMS.includes(file))
      .flatMap(([file, targets]) => targets.filter((t) => KEEPER_PROGRAMS.includes(t)).map((t) => `${file} -> ${t}`));
    expect(bad, "keeper modules below the loop that import it").to.deep.equal([]);
  });

  it("each_keeper_duty_has_its_own_file_under_scripts_lib_keeper", function () {
    const files = readdirSync(path.join(ROOT, KEEPER));
    expect(files, "the keeper's duties, one file each").to.include.members([
      "liquidations.ts",
      "orders.ts",
      "lp-requests.ts",
      "expiry.ts",
      "risk.ts",
      "loop.ts",
    ]);
  });

  it("the_checks_catch_a_circle_and_an_upward_import", function () {
    // chain/format.ts importing the keeper's loop closes a circle: the loop imports context.ts, which imports
    // chain/errors.ts, which imports format.ts.
    const file = `${LIB}chain/format.ts`;
    const text = readFileSync(path.join(ROOT, file), "utf8");
    const broken = importGraph("scripts", { [file]: `import type { Keeper } from "../keeper/loop.js";\n${text}` });
    expect(circles(broken), "the circle a chain file importing the loop makes").to.not.deep.equal([]);
    expect(upwardImports(broken)).to.include(`${file} -> ${KEEPER}loop.ts`);
  });

  it("the_longest_import_chain_is_at_most_15_files", function () {
    // A program, the stress lab (3 files), the keeper's loop, a duty, expiry, gas, context, requests (2),
    // chain (4): 15 today. A longer chain means a layer grew a level of its own: raise this only on purpose.
    const { depth: files, chain } = depth(graph);
    expect(files, chain.join(" -> ")).to.be.at.most(15);
  });

  it("every_scripts_path_named_in_the_docs_exists", function () {
    const docs = ["README.md", ...readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`)].filter((f) =>
      f.endsWith(".md"),
    );
    const named = docs.flatMap((doc) =>
      [...readFileSync(path.join(ROOT, doc), "utf8").matchAll(/scripts\/[\w./-]*\w/g)].map((m) => ({
        doc,
        path: m[0],
      })),
    );
    const missing = named.filter((n) => !existsSync(path.join(ROOT, n.path))).map((n) => `${n.doc}: ${n.path}`);
    expect(missing, "paths under scripts/ that the docs name and that do not exist").to.deep.equal([]);
  });
});
