// `npm run bench -- --curve [--curve-sizes quick,c100k,c300k,full] [--duration S] [--db PREFIX]`:
// the offers search, placeBid, the spend report and publishing one offer (against the open bids
// waiting) at several sizes of market, each size a fresh load and a run of scripts/bench.mjs with
// those scenarios only. Prints the cost per request (CPU ms of node + PostgreSQL, and p50) against
// size, flags growth worse than logarithmic on the indexed paths, and draws the curve as a PNG
// (ECharts' server-side SVG, rasterized by resvg).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { SIZES } from "./generate.mjs";

/** The sizes of the curve: about 8 minutes on two cores for all four (most of it loading 1 M orders). */
export const CURVE_SIZES = ["quick", "c100k", "c300k", "full"];
const SCENARIOS = [
  // What the size of each path's data is: offers for the search and a bid, orders for the report.
  // `answer`: how big the answer is, what grows with the data however the rows are found.
  {
    key: "offersSearch",
    label: "offers search",
    only: "search",
    by: "offers",
    answer: (r) => `${Math.min(50, r?.matching ?? 0)} of ${r?.matching} matching offers`,
  },
  { key: "placeBid", label: "placeBid", only: "placeBid", by: "offers", answer: () => "one bid" },
  {
    key: "subsidySpend",
    label: "subsidySpend (a year)",
    only: "spend",
    by: "orders",
    answer: (r) => `${r?.rows} rows, ${r?.orders} orders`,
  },
  // One offer published (`part`: the scenario's single publications, which have no floor): it
  // looks for the open bids it could serve, and none of the book can pay it.
  {
    key: "bulkPublish",
    part: "single",
    label: "publishOffer (one offer)",
    only: "bulk",
    by: "openBids",
    answer: () => "one offer",
  },
];
/** A scenario's own figures at a point: its GraphQL side, or the part it draws. */
const figuresOf = (scenario, r) => (scenario.part ? r?.[scenario.part] : (r?.graphql ?? r));
/** Growth over log(n) beyond this factor is flagged: run-to-run noise on a shared machine is up to 30 %. */
const TOLERANCE = 1.3;

const cpu = (r) => (r?.nodeCpuMsPerRequest == null ? null : r.nodeCpuMsPerRequest + r.postgresCpuMsPerRequest);

export async function runCurve(args) {
  const sizes = (args["curve-sizes"] ?? CURVE_SIZES.join(",")).split(",");
  for (const size of sizes)
    if (!SIZES[size]) throw new Error(`--curve-sizes: ${size} is none of ${Object.keys(SIZES)}`);
  const duration = args.duration ?? "5";
  const prefix = args.db ?? "gvm_bench_curve";
  const started = Date.now();
  console.log(
    `curve: ${sizes.join(", ")}; ${duration} s per load; scenarios ${SCENARIOS.map((s) => s.label).join(", ")}`,
  );
  execFileSync("npm", ["run", "-s", "build"], { stdio: "inherit" });
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-curve-"));
  const points = [];
  for (const size of sizes) {
    const db = `${prefix}_${size}`;
    const json = path.join(dir, `${size}.json`);
    const argv = [
      "scripts/bench.mjs",
      "--size",
      size,
      "--only",
      SCENARIOS.map((s) => s.only).join(","),
      "--skip-build",
      "--db",
      db,
      "--duration",
      duration,
      "--seed",
      args.seed,
      "--json",
      json,
      ...(args.pool ? ["--pool", args.pool] : []),
    ];
    console.log(`\n=== ${size}: ${JSON.stringify(SIZES[size])}`);
    const run = spawnSync(process.execPath, argv, { stdio: "inherit" });
    const report = JSON.parse(readFileSync(json, "utf8"));
    points.push({ size, counts: report.data.counts, scenarios: report.scenarios, status: run.status });
    // Each point's database goes once measured: the full one is 1.5 GB.
    const admin = postgres(process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres", {
      max: 1,
      onnotice: () => {},
    });
    await admin.unsafe(`drop database if exists ${db} with (force)`);
    await admin.end();
  }
  rmSync(dir, { recursive: true, force: true });

  // ---------------------------------------------------------------- the table, with the flags
  console.log(`\ncurve: cost per request against size (CPU = node + PostgreSQL, ms per request; p50 in ms)`);
  const curve = { sizes: points.map((p) => ({ size: p.size, counts: p.counts })), scenarios: {} };
  let flagged = 0;
  for (const scenario of SCENARIOS) {
    console.log(`  ${scenario.label}, by ${scenario.by}:`);
    const first = points[0];
    const rows = [];
    for (const point of points) {
      const r = point.scenarios[scenario.key];
      const graphql = figuresOf(scenario, r);
      const n = point.counts[scenario.by];
      const row = {
        size: point.size,
        n,
        cpuMs: cpu(graphql),
        nodeMs: graphql?.nodeCpuMsPerRequest ?? null,
        postgresMs: graphql?.postgresCpuMsPerRequest ?? null,
        p50Ms: graphql?.latencyP50Ms ?? null,
        rawCpuMs: scenario.part ? null : cpu(r?.raw),
        answer: scenario.answer(r),
      };
      // Against the smallest point: cost grew by `growth` while log(n) grew by `logGrowth`.
      const base = cpu(figuresOf(scenario, first.scenarios[scenario.key]));
      row.growth = base && row.cpuMs != null ? Number((row.cpuMs / base).toFixed(2)) : null;
      row.logGrowth = Number((Math.log(n) / Math.log(first.counts[scenario.by])).toFixed(2));
      row.worseThanLog = row.growth != null && row.growth > row.logGrowth * TOLERANCE;
      if (row.worseThanLog) flagged++;
      rows.push(row);
      console.log(
        `    ${String(n).padStart(9)} ${scenario.by} (${row.answer}): CPU ${String(row.cpuMs?.toFixed(2)).padStart(7)} ms (node ${row.nodeMs} + PostgreSQL ${row.postgresMs}${row.rawCpuMs == null ? "" : `; raw floor ${row.rawCpuMs.toFixed(2)}`})` +
          `   p50 ${String(row.p50Ms).padStart(4)} ms   cost x${row.growth} vs log(n) x${row.logGrowth}${row.worseThanLog ? "   WORSE THAN LOGARITHMIC" : ""}`,
      );
    }
    curve.scenarios[scenario.key] = rows;
  }
  console.log(
    flagged
      ? `  ${flagged} point(s) grew faster than log(n) (beyond x${TOLERANCE} for noise): see whether the answer grew with them, and the raw floor's cost`
      : `  no indexed path grew faster than log(n) (x${TOLERANCE} allowed for noise)`,
  );
  // The figures beside the chart, so that it can be read (and drawn again) without a run.
  const json = args.json ?? "docs/performance-curve.json";
  const png = json.replace(/\.json$/, "") + ".png";
  curve.machine = { cpus: os.cpus().length, load: os.loadavg().map((x) => Number(x.toFixed(1))) };
  curve.measuredAt = new Date().toISOString();
  writeFileSync(json, JSON.stringify(curve, null, 2) + "\n");
  writeFileSync(png, renderChart(curve));
  console.log(`chart written to ${png}, figures to ${json}; total ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return points.every((p) => p.status === 0) ? 0 : 1;
}

/** The curve as a PNG: CPU per request (left) and p50 (right) against size, log scale on x. */
export function renderChart(curve) {
  const require = createRequire(import.meta.url);
  const echarts = require("echarts");
  const { Resvg } = require("@resvg/resvg-js");
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width: 1200, height: 560 });
  const series = [];
  const colors = ["#5470c6", "#91cc75", "#ee6666", "#fac858"];
  SCENARIOS.forEach((scenario, i) => {
    const rows = curve.scenarios[scenario.key] ?? [];
    series.push({
      name: `${scenario.label}, CPU ms (x: ${scenario.by})`,
      type: "line",
      xAxisIndex: 0,
      yAxisIndex: 0,
      color: colors[i],
      symbolSize: 8,
      data: rows.filter((r) => r.cpuMs != null).map((r) => [r.n, Number(r.cpuMs.toFixed(2))]),
      label: { show: true, formatter: (p) => p.value[1] },
    });
    // A scenario measured without its floor (publishing one offer) draws no floor line.
    if (rows.some((r) => r.rawCpuMs != null))
      series.push({
        name: `${scenario.label}, raw floor's CPU ms`,
        type: "line",
        xAxisIndex: 0,
        yAxisIndex: 0,
        color: colors[i],
        lineStyle: { type: "dotted", width: 1 },
        symbol: "triangle",
        symbolSize: 6,
        data: rows.filter((r) => r.rawCpuMs != null).map((r) => [r.n, Number(r.rawCpuMs.toFixed(2))]),
      });
    series.push({
      name: `${scenario.label}, p50 ms`,
      type: "line",
      xAxisIndex: 1,
      yAxisIndex: 1,
      color: colors[i],
      lineStyle: { type: "dashed" },
      symbolSize: 8,
      data: rows.filter((r) => r.p50Ms != null).map((r) => [r.n, r.p50Ms]),
      label: { show: true, formatter: (p) => p.value[1] },
    });
  });
  chart.setOption({
    animation: false,
    backgroundColor: "#ffffff",
    textStyle: { fontFamily: "Noto Sans CJK SC, Noto Sans Hans, sans-serif" },
    title: [
      {
        text: "CPU per request (node + PostgreSQL, ms) against data size",
        left: "3%",
        top: 8,
        textStyle: { fontSize: 14 },
      },
      { text: "p50 latency (ms) against data size", left: "53%", top: 8, textStyle: { fontSize: 14 } },
    ],
    legend: { bottom: 4, itemGap: 14, textStyle: { fontSize: 11 } },
    grid: [
      { left: "5%", right: "52%", top: 50, bottom: 130 },
      { left: "55%", right: "3%", top: 50, bottom: 130 },
    ],
    xAxis: [0, 1].map((gridIndex) => ({
      type: "log",
      gridIndex,
      name: "offers, orders or open bids",
      nameLocation: "middle",
      nameGap: 26,
    })),
    yAxis: [0, 1].map((gridIndex) => ({ type: "value", gridIndex, min: 0 })),
    series,
  });
  const svg = chart.renderToSVGString();
  chart.dispose();
  const fontDir = path.join(path.dirname(path.dirname(require.resolve("@embedpdf/fonts-sc"))), "fonts");
  const resvg = new Resvg(svg, {
    background: "#ffffff",
    fitTo: { mode: "width", value: 1200 },
    // The font the PDF exports use (a dependency): no system font needed.
    font: {
      fontFiles: [path.join(fontDir, "NotoSansHans-Regular.otf")],
      loadSystemFonts: false,
      defaultFontFamily: "Noto Sans Hans",
    },
  });
  return resvg.render().asPng();
}
