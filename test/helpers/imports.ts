// The import graph of the TypeScript side, read from the sources: each file under scripts/ and the files it
// imports by relative path (static imports, `export … from` and dynamic `import("…")`). Used by the layout test.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dirname, "../..");

/** Files by path relative to the repository root (forward slashes), each with the files it imports. */
export type ImportGraph = Map<string, string[]>;

const SOURCE = /\.(ts|mjs)$/;
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']|\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

function sourcesUnder(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourcesUnder(rel);
    return SOURCE.test(e.name) && !e.name.endsWith(".d.ts") ? [rel] : [];
  });
}

/** `spec` imported from `from`, as a path relative to the root: `./x.js` is the TypeScript file `./x.ts`. */
function resolve(from: string, spec: string): string {
  const target = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  const ts = target.replace(/\.js$/, ".ts");
  return ts !== target && existsSync(path.join(ROOT, ts)) ? ts : target;
}

/** The graph of every source file under `dir` (default scripts/); `extra` adds or replaces files' text. */
export function importGraph(dir = "scripts", extra: Record<string, string> = {}): ImportGraph {
  const graph: ImportGraph = new Map();
  const files = new Set([...sourcesUnder(dir), ...Object.keys(extra)]);
  for (const file of files) {
    const text = extra[file] ?? readFileSync(path.join(ROOT, file), "utf8");
    const targets = [...text.matchAll(IMPORT)].map((m) => resolve(file, m[1] ?? m[2]));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Every import circle, each as the path that closes it (`a -> b -> a`); empty when the graph has none. */
export function circles(graph: ImportGraph): string[] {
  const found: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next].join(" -> "));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return found;
}

/**
 * The longest chain of imports among the graph's files (1: a file that imports none of them). An import that
 * closes a circle is not followed (`circles` reports it).
 */
export function depth(graph: ImportGraph): { depth: number; chain: string[] } {
  const memo = new Map<string, string[]>();
  const open = new Set<string>();
  const longest = (file: string): string[] => {
    const known = memo.get(file);
    if (known) return known;
    open.add(file);
    let best: string[] = [];
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next) || open.has(next)) continue;
      const chain = longest(next);
      if (chain.length > best.length) best = chain;
    }
    const chain = [file, ...best];
    open.delete(file);
    memo.set(file, chain);
    return chain;
  };
  let chain: string[] = [];
  for (const file of graph.keys()) if (longest(file).length > chain.length) chain = longest(file);
  return { depth: chain.length, chain };
}
