import * as vega from "vega";
import * as vl from "vega-lite";
import { boundShare, type Frontier } from "./guard.js";
import type { ScenarioReport } from "./report.js";

const WIDTH = 260;
const HEIGHT = 170;
type Spec = vl.TopLevelSpec;

/** Renders a Vega-Lite spec to SVG in Node, without a browser (vega's headless view). */
export async function toSvg(spec: Spec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
  return view.toSVG();
}

/** Renders a Vega-Lite spec to PNG (resvg), for the README. */
export async function toPng(spec: Spec): Promise<Buffer> {
  const { Resvg } = await import("@resvg/resvg-js");
  return new Resvg(await toSvg(spec), { background: "white", fitTo: { mode: "zoom", value: 2 } }).render().asPng();
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
const usd = (units: bigint | null, decimals: number) => (units === null ? null : Number(units) / 10 ** decimals);

/** Minutes for a path shorter than three hours, hours otherwise. */
let timeUnit: { seconds: number; title: string } = { seconds: 3600, title: "hours since the run started" };

function line(title: string, values: object[], y: string, yTitle: string, color?: string): Spec {
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: "line", point: true, interpolate: "step-after" },
    encoding: {
      x: { field: "t", type: "quantitative", title: timeUnit.title },
      y: { field: y, type: "quantitative", title: yTitle, scale: { zero: false } },
      ...(color ? { color: { field: color, type: "nominal", title: null } } : {}),
    },
  } as Spec;
}

/**
 * One scenario's panel: the price path, the backstop's assets and the LP share price at each listed
 * backstop size, cumulative bad debt / covered / socialized at the smallest listed size, and the sizing
 * curve (socialized loss against backstop size).
 */
export function scenarioSpec(s: ScenarioReport, decimals: number): Spec {
  const first = s.runs[0];
  const end = first.rounds[first.rounds.length - 1].time;
  timeUnit =
    end < 3 * 3600
      ? { seconds: 60, title: "minutes since the run started" }
      : { seconds: 3600, title: "hours since the run started" };
  // A point at time 0 before the first round, so each line starts from the book's state.
  const start = { round: 0, time: 0 };
  const prices = [{ ...start, prices: { ETH: 1, BTC: 1 } }, ...first.rounds].flatMap((r) =>
    Object.entries(r.prices).map(([market, x]) => ({ t: r.time / timeUnit.seconds, market, price: x })),
  );
  const bySize = s.runs.flatMap((run) => [
    {
      t: 0,
      size: `backstop ${pct(run.backstopShare)}`,
      assets: usd(run.backstopAssetsBefore, decimals),
      lp: usd(run.lpSharePriceBefore, decimals),
    },
    ...run.rounds.map((r) => ({
      t: r.time / timeUnit.seconds,
      size: `backstop ${pct(run.backstopShare)}`,
      assets: usd(r.backstopAssets, decimals),
      lp: usd(r.lpSharePrice, decimals),
    })),
  ]);
  const losses = [{ time: 0, badDebt: 0n, covered: 0n, socialized: 0n }, ...first.rounds].flatMap((r) =>
    (["badDebt", "covered", "socialized"] as const).map((k) => ({
      t: r.time / timeUnit.seconds,
      what: k === "badDebt" ? "bad debt" : k,
      usd: usd(r[k], decimals),
    })),
  );
  const curve = (s.sizing?.curve ?? s.runs.map((r) => ({ share: r.backstopShare, socialized: r.socialized }))).map(
    (c) => ({ share: c.share * 100, socialized: usd(c.socialized, decimals) }),
  );
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: `${s.name}: ${s.book.positions} positions`, anchor: "start", fontSize: 15 },
    config: { view: { stroke: null }, font: "sans-serif" },
    resolve: { scale: { color: "independent" } },
    vconcat: [
      {
        hconcat: [
          line("price (multiple of the start)", prices, "price", "price / start", "market"),
          line(
            "backstop assets (USD)",
            bySize.filter((p) => p.assets !== null),
            "assets",
            "USD",
            "size",
          ),
          line(
            "LP share price (USD)",
            bySize.filter((p) => p.lp !== null),
            "lp",
            "USD per share",
            "size",
          ),
        ],
      },
      {
        hconcat: [
          line(
            `bad debt, covered, socialized at backstop ${pct(first.backstopShare)} (cumulative USD)`,
            losses,
            "usd",
            "USD",
            "what",
          ),
          {
            title: "sizing: socialized loss against backstop size",
            width: WIDTH,
            height: HEIGHT,
            data: { values: curve },
            mark: { type: "line", point: true },
            encoding: {
              x: { field: "share", type: "quantitative", title: "backstop, % of open interest" },
              y: { field: "socialized", type: "quantitative", title: "socialized (USD)" },
            },
          },
        ],
      },
    ],
  } as Spec;
}

const escape = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/**
 * The frontier: larger-side open interest per $1 of backstop against the design gap: the guard's bound
 * (maxCover / (gap × (1 + keeper fee ratio) − maintenance), a curve), what the lab's guard let in (points), and the open interest at
 * which an actual gap of that size would just exhaust the window's cover for the same book (log scale).
 */
export function frontierSpec(f: Frontier): Spec {
  const bound = "guard's frontier: cover ratio / (gap × (1 + keeper fee) − maintenance)";
  const lab = "carried in the lab, guard on";
  const actual = "an actual gap of that size exhausts the cover (this book)";
  const first = Math.min(...f.points.map((p) => p.gap));
  const last = Math.max(...f.points.map((p) => p.gap));
  const curve = [];
  for (let g = first; g <= last + 1e-9; g += 0.0025)
    curve.push({
      gap: g * 100,
      perDollar: f.maxCoverRatio / boundShare(g, f.keeperFeeRatio, f.maintenance),
      series: bound,
    });
  const points = f.points.flatMap((p) => [
    { gap: p.gap * 100, perDollar: p.perDollar.guarded, series: lab },
    ...(p.perDollar.actual === null ? [] : [{ gap: p.gap * 100, perDollar: p.perDollar.actual, series: actual }]),
  ]);
  const x = {
    field: "gap",
    type: "quantitative",
    title: "design gap (= the actual gap of both prices), %",
    scale: { domain: [first * 100 - 2, last * 100 + 2], nice: false },
  };
  const y = {
    field: "perDollar",
    type: "quantitative",
    title: "larger-side open interest per $1 of backstop",
    scale: { type: "log" },
  };
  const color = {
    field: "series",
    type: "nominal",
    title: null,
    scale: { domain: [bound, lab, actual], range: ["#4c78a8", "#f58518", "#54a24b"] },
    legend: { orient: "bottom", direction: "vertical", labelLimit: 0 },
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: "Open interest a backstop carries at each design gap",
      subtitle: [
        `a backstop of $${f.backstopUsd.toLocaleString("en-US")} (window cover ${Math.round(f.maxCoverRatio * 100)} % of it)`,
        `the book asked: ${f.book.description}`,
      ],
      anchor: "start",
      fontSize: 15,
    },
    config: { view: { stroke: null }, font: "sans-serif" },
    width: 2 * WIDTH,
    height: 1.6 * HEIGHT,
    layer: [
      { data: { values: curve }, mark: { type: "line" }, encoding: { x, y, color } },
      {
        data: { values: points.filter((p) => p.series === actual) },
        mark: { type: "line", point: true, strokeDash: [4, 3] },
        encoding: { x, y, color },
      },
      {
        data: { values: points.filter((p) => p.series === lab) },
        mark: { type: "point", filled: true, size: 70 },
        encoding: { x, y, color },
      },
      {
        data: { values: points },
        mark: { type: "text", dx: 4, dy: -9, align: "left", fontSize: 10 },
        encoding: { x, y, text: { field: "perDollar", type: "quantitative", format: ".2f" } },
      },
    ],
  } as Spec;
}

/** A self-contained HTML page (inline SVG, no script, no network): one panel and table per scenario. */
export async function renderHtml(reports: ScenarioReport[], tables: string[], decimals: number, seconds: number) {
  const sections = [];
  for (const [i, s] of reports.entries()) {
    const svg = await toSvg(scenarioSpec(s, decimals));
    sections.push(
      `<section><h2>${escape(s.name)}</h2><p>${escape(s.description)}</p>${svg}<pre>${escape(tables[i])}</pre></section>`,
    );
  }
  return page(sections, seconds);
}

/** The guarded run's page: its table, and the frontier's chart and table. */
export async function renderGuardHtml(tables: string[], frontier: Frontier | undefined, seconds: number) {
  const sections = [`<section><h2>guarded run</h2><pre>${escape(tables[0])}</pre></section>`];
  if (frontier)
    sections.push(
      `<section><h2>frontier</h2>${await toSvg(frontierSpec(frontier))}<pre>${escape(tables[1])}</pre></section>`,
    );
  return page(sections, seconds, " -- --guard");
}

function page(sections: string[], seconds: number, args = "") {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bulwark stress report</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}pre{font-size:12px;overflow-x:auto;background:#f6f6f6;padding:1em}</style>
</head><body>
<h1>Bulwark stress report</h1>
<p>Generated by <code>npm run stress${args}</code> in ${seconds.toFixed(0)} s against the real contracts on the in-process network. Amounts in USD (the collateral is worth 1 USD). See docs/STRESS.md.</p>
${sections.join("\n")}
</body></html>
`;
}
