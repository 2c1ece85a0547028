// `npm run bench [-- --quick] [--json FILE] [--seed N] [--duration S] [--pool N] [--reuse] [--explain]
//   [--subscribers N] [--db NAME] [--profile [--profile-dir DIR]] [--curve] [--compare REV [--rounds N]]`
//
// --subscribers N keeps N idle GraphQL subscriptions (graphql-ws, `events`, of SMEs that do not bid)
// connected to the server through every scenario; --db names the database (default gvm_bench_<size>).
// --profile takes a CPU profile of each server over each scenario and prints what its time went to;
// --curve runs search, placeBid and the spend report at several sizes (scripts/bench/curve.mjs);
// --compare REV runs this revision's server and REV's on one database in turns (scripts/bench/compare.mjs).
//
// Builds dist/, creates a fresh PostgreSQL database (DATABASE_URL's server, default
// postgres://postgres@127.0.0.1:5432/postgres), migrates it, loads a generated national market,
// starts the real server (`node dist/main.js`) and a raw-SQL baseline, runs the scenarios over
// HTTP with autocannon, then checks the invariants of docs/domain.md over the whole database.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { generate, SIZES } from "./bench/generate.mjs";
import { checkInvariants } from "./bench/invariants.mjs";
import { explainHotQueries } from "./bench/explain.mjs";
import { runLoad } from "./bench/load.mjs";
import { prng } from "./bench/prng.mjs";
import { gapLines, inspector, inspectorUrl, profiled } from "./bench/profile.mjs";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    json: { type: "string" },
    seed: { type: "string", default: "20261101" },
    duration: { type: "string" },
    pool: { type: "string" },
    reuse: { type: "boolean", default: false },
    explain: { type: "boolean", default: false },
    keep: { type: "boolean", default: true },
    subscribers: { type: "string", default: "0" },
    db: { type: "string" },
    profile: { type: "boolean", default: false },
    "profile-dir": { type: "string" },
    curve: { type: "boolean", default: false },
    "curve-sizes": { type: "string" },
    compare: { type: "string" },
    rounds: { type: "string" },
    // For --curve and --compare, which run this script again: the size, the scenarios, no build.
    size: { type: "string" },
    only: { type: "string" },
    "skip-build": { type: "boolean", default: false },
    "other-dist": { type: "string" },
  },
});
if (args.curve) {
  const { runCurve } = await import("./bench/curve.mjs");
  process.exit(await runCurve(args));
}
if (args.compare && !args["other-dist"]) {
  const { prepareOther } = await import("./bench/compare.mjs");
  process.exit(await prepareOther(args));
}
const size = args.size ?? (args.quick ? "quick" : "full");
if (!SIZES[size]) throw new Error(`--size: one of ${Object.keys(SIZES).join(", ")}`);
// --compare runs its own set of loads (below), none of the scenarios one by one.
const only = args["other-dist"] ? new Set() : args.only ? new Set(args.only.split(",")) : null;
/** Whether a scenario runs (--only names some; --compare runs its own set). */
const want = (name) => !only || only.has(name);
const duration = Number(args.duration ?? (size === "full" ? 20 : 4));
const cores = os.cpus().length;
// Connections per server process: the node process is one core, PostgreSQL gets the rest.
const poolSize = Number(args.pool ?? Math.max(4, cores * 4));
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const log = (...parts) => console.log(...parts);
const report = { size, seed: Number(args.seed), durationSeconds: duration, poolSize };
const started = Date.now();

// ---------------------------------------------------------------- machine and build
const baseUrl = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
const [{ version: pgVersion }] = await admin`select version()`;
report.machine = {
  cpus: cores,
  cpuModel: os.cpus()[0]?.model,
  memoryGb: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  node: process.version,
  postgres: pgVersion.split(" on ")[0],
  platform: `${os.platform()} ${os.release()}`,
};
log(
  `machine: ${cores} cores (${report.machine.cpuModel}), ${report.machine.memoryGb} GB, node ${process.version}, ${report.machine.postgres}`,
);
log(`bench: ${size}, seed ${args.seed}, ${duration} s per scenario, DB_POOL_SIZE ${poolSize}`);

if (!args["skip-build"])
  execFileSync(
    "npm",
    ["run", "-s", "build"], // package.json's build: one definition of how dist/ is made
    { stdio: "inherit" },
  );

// ---------------------------------------------------------------- database
const dbName = args.db ?? `gvm_bench_${size}`;
if (!/^[a-z_][a-z0-9_]*$/.test(dbName)) throw new Error("--db: a lower-case PostgreSQL name");
const dbUrl = new URL(baseUrl);
dbUrl.pathname = `/${dbName}`;
const databaseUrl = dbUrl.toString();
let market = null;
if (args.reuse) {
  const exists = await admin`select 1 from pg_database where datname = ${dbName}`;
  if (exists.length) {
    const probe = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    market = await probe`select market from bench_meta`.then((r) => r[0]?.market ?? null).catch(() => null);
    await probe.end();
    if (market) log(`reusing database ${dbName} (loaded ${market.loadedAt})`);
  }
}
if (!market) {
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.unsafe(`create database ${dbName}`);
  const { openDatabase } = await import("../dist/db/client.js");
  const { migrate } = await import("../dist/db/migrate.js");
  const { ensureReferenceData } = await import("../dist/db/reference.js");
  const database = await openDatabase({ databaseUrl, dataDir: ".data", poolSize: 2 });
  await migrate(database);
  await ensureReferenceData(database.db);
  await database.close();

  const loadStarted = Date.now();
  log(`loading ${dbName}: ${JSON.stringify(SIZES[size])}`);
  const loader = postgres(databaseUrl, {
    max: 8,
    onnotice: () => {},
    // Superuser session settings for the bulk load only: no per-row foreign key triggers.
    connection: { session_replication_role: "replica", maintenance_work_mem: "512MB", synchronous_commit: "off" },
  });
  const anchor = Math.floor(Date.now() / DAY) * DAY;
  market = await generate(loader, { size, seed: Number(args.seed), anchor, log });
  const loadSeconds = (Date.now() - loadStarted) / 1000;
  log(`  vacuum analyze`);
  await loader.unsafe("vacuum analyze");
  market.loadedAt = new Date().toISOString();
  market.loadSeconds = Number(loadSeconds.toFixed(1));
  market.vacuumSeconds = Number(((Date.now() - loadStarted) / 1000 - loadSeconds).toFixed(1));
  await loader`create table bench_meta (market jsonb not null)`;
  await loader`insert into bench_meta (market) values (${loader.json(market)})`;
  await loader.end();
  log(
    `loaded in ${market.loadSeconds} s (+ ${market.vacuumSeconds} s vacuum analyze): ${JSON.stringify(market.counts)}`,
  );
}
report.data = {
  counts: market.counts,
  loadSeconds: market.loadSeconds,
  vacuumSeconds: market.vacuumSeconds,
  anchor: new Date(market.anchor).toISOString(),
};
const [{ size: dbSize }] = await admin`select pg_size_pretty(pg_database_size(${dbName})) as size`;
report.data.databaseSize = dbSize;

// ---------------------------------------------------------------- processes
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function startProcess(name, argv, env, cwd = process.cwd()) {
  const port = await freePort();
  // --profile: each process's inspector, to profile it scenario by scenario.
  const inspect = args.profile ? ["--inspect=127.0.0.1:0"] : [];
  const child = spawn(process.execPath, [...inspect, ...argv], {
    env: { PATH: process.env.PATH ?? "", ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
    cwd,
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${output}`);
    const ready =
      name === "raw"
        ? /^listening \d+/m.test(output)
        : await fetch(`${url}/healthz`)
            .then((r) => r.ok)
            .catch(() => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${name} not ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const session = args.profile ? await inspector(inspectorUrl(output)) : null;
  return {
    name,
    url,
    child,
    session,
    output: () => output,
    memory() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
        const kb = (key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
        return { rssMb: Math.round(kb("VmRSS") / 1024), peakRssMb: Math.round(kb("VmHWM") / 1024) };
      } catch {
        return { rssMb: null, peakRssMb: null };
      }
    },
    async stop() {
      session?.close();
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** CPU time (ms) a process has used, from /proc; null where /proc is not there. */
function cpuMs(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return null;
  }
}

/**
 * CPU spent per request by a server process and by its PostgreSQL backends (found by
 * application_name), over one load: an efficiency figure that holds even when other work shares
 * the machine and throughput figures swing.
 */
const profileDir = args["profile-dir"] ?? ".data/profiles";
if (args.profile) mkdirSync(profileDir, { recursive: true });
/** With --profile: each load's CPU profile, by `${scenario}-${process}`. */
const profiles = {};

async function withCpu(serverProcess, applicationName, run, scenario) {
  const backends = async () =>
    new Map(
      (
        await admin`select pid from pg_stat_activity where datname = ${dbName} and application_name = ${applicationName}`
      ).map((r) => [r.pid, cpuMs(r.pid) ?? 0]),
    );
  const nodeBefore = cpuMs(serverProcess.child.pid);
  const before = await backends();
  let result;
  if (serverProcess.session && scenario) {
    const name = `${scenario}-${serverProcess.name}`;
    const taken = await profiled(serverProcess.session, profileDir, name, run);
    result = taken.result;
    profiles[name] = { summary: taken.summary, requests: result.requests };
  } else result = await run();
  const nodeAfter = cpuMs(serverProcess.child.pid);
  const after = await backends();
  let database = 0;
  for (const [pid, ms] of after) database += ms - (before.get(pid) ?? 0);
  const requests = Math.max(1, result.requests);
  if (nodeBefore != null && nodeAfter != null) {
    result.nodeCpuMsPerRequest = Number(((nodeAfter - nodeBefore) / requests).toFixed(2));
    result.postgresCpuMsPerRequest = Number((database / requests).toFixed(2));
  }
  return result;
}

const adminToken = "bench-admin-token";
const holdMinutes = 24 * 60;
// BENCH_PROFILE=DIR writes the server's CPU profile (.cpuprofile, for Chrome DevTools) into DIR.
const profileArgs = process.env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
const serverEnv = {
  DATABASE_URL: databaseUrl,
  SEED: "none",
  RATE_LIMIT_PER_MINUTE: "0",
  QUERY_POINTS_PER_MINUTE: "0",
  MAINTENANCE_INTERVAL_MS: "0",
  LOG_LEVEL: "warn",
  ADMIN_TOKEN: adminToken,
  HOLD_MINUTES: String(holdMinutes),
  DB_POOL_SIZE: String(poolSize),
  NODE_ENV: "production",
  // The bench pays with the simulated provider: production refuses that unless told.
  ALLOW_SIMULATED_PAYMENTS: "1",
};
const server = await startProcess("server", [...profileArgs, "dist/main.js"], serverEnv);
const raw = await startProcess("raw", ["scripts/bench/raw-server.mjs"], {
  DATABASE_URL: databaseUrl,
  DB_POOL_SIZE: String(poolSize),
  HOLD_MINUTES: String(holdMinutes),
});
const processes = [server, raw];
/** The loaded database, for the answers' comparisons. */
const benchDb = postgres(databaseUrl, { max: 2, onnotice: () => {} });
// --compare: the other revision's server (its dist/, built by compare.mjs), on the same database.
const other = args["other-dist"]
  ? await startProcess("other", [`${args["other-dist"]}/dist/main.js`], { ...serverEnv }, args["other-dist"])
  : null;
if (other) processes.push(other);
process.on("exit", () => processes.forEach((p) => p.child.exitCode === null && p.child.kill("SIGKILL")));

/**
 * One timed load of `path` on a server process (the GraphQL server, the other revision's, or the
 * raw floor), with the CPU of the process and of its PostgreSQL backends per request.
 */
function timedLoad(proc, path, scenario, connections, onBody, seconds = duration) {
  const application = proc === raw ? "bench-raw-baseline" : "gpu-voucher-market";
  return withCpu(
    proc,
    application,
    () => runLoad({ url: `${proc.url}${path}`, duration: seconds, connections, onBody }),
    scenario,
  );
}

/**
 * A read scenario's two loads in alternating rounds (GraphQL then raw, then raw then GraphQL, ...;
 * 4 rounds on full data, 2 on quick, 1 with --profile), each side's rounds added up: the host's
 * speed drifts over a run by up to 30 %, and a drift then weighs on both sides alike instead of on
 * whichever ran second. `side` is { proc, path, connections() }: fresh connections each round.
 */
async function alternatingLoads(scenario, graphqlSide, rawSide) {
  const rounds = args.profile ? 1 : duration >= 8 ? 4 : 2;
  const taken = { graphql: [], raw: [] };
  const sides = [
    ["graphql", graphqlSide],
    ["raw", rawSide],
  ];
  for (let round = 0; round < rounds; round++) {
    // Who goes first alternates: a load that follows another finds the database warmer.
    for (const [name, side] of round % 2 === 0 ? sides : [...sides].reverse())
      taken[name].push(
        await timedLoad(side.proc, side.path, scenario, side.connections(), undefined, duration / rounds),
      );
  }
  return { graphql: addedUp(taken.graphql), raw: addedUp(taken.raw) };
}

/** Rounds of one load as one: counts and CPU summed, p50 the median of the rounds', p99 the highest. */
function addedUp(rounds) {
  if (rounds.length === 1) return rounds[0];
  const sum = (key) => rounds.reduce((total, r) => total + (r[key] ?? 0), 0);
  const requests = sum("requests");
  const seconds = sum("durationSeconds");
  const cpuPerRequest = (key) =>
    rounds.some((r) => r[key] == null)
      ? undefined
      : Number((rounds.reduce((total, r) => total + r[key] * r.requests, 0) / Math.max(1, requests)).toFixed(2));
  const p50s = rounds.map((r) => r.latencyP50Ms).sort((a, b) => a - b);
  return {
    ...rounds[0],
    rounds: rounds.length,
    durationSeconds: Number(seconds.toFixed(2)),
    requests,
    requestsPerSecond: Number((requests / seconds).toFixed(1)),
    latencyP50Ms: p50s[Math.floor((p50s.length - 1) / 2)],
    latencyP99Ms: Math.max(...rounds.map((r) => r.latencyP99Ms)),
    errors: sum("errors"),
    non2xx: sum("non2xx"),
    socketErrors: sum("socketErrors"),
    timeouts: sum("timeouts"),
    responses: sum("responses"),
    sampleErrors: rounds.flatMap((r) => r.sampleErrors),
    nodeCpuMsPerRequest: cpuPerRequest("nodeCpuMsPerRequest"),
    postgresCpuMsPerRequest: cpuPerRequest("postgresCpuMsPerRequest"),
  };
}

// Idle subscriptions: SMEs that place no bid here, each watching its own events over WebSocket.
const subscriberCount = Number(args.subscribers);
const subscribers = [];
if (subscriberCount > 0) {
  const { createClient } = await import("graphql-ws");
  const { default: WebSocket } = await import("ws");
  const idle = market.benchSmes.slice(16);
  let acknowledged = 0;
  for (let i = 0; i < subscriberCount; i++) {
    const client = createClient({
      url: `${server.url.replace(/^http/, "ws")}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${idle[i % idle.length].token}` },
      lazy: false,
      retryAttempts: 0,
      on: { connected: () => acknowledged++ },
    });
    client.subscribe(
      { query: "subscription { events { id type } }" },
      { next: () => {}, error: () => {}, complete: () => {} },
    );
    subscribers.push(client);
  }
  while (acknowledged < subscriberCount) await new Promise((resolve) => setTimeout(resolve, 20));
  log(
    `${subscriberCount} idle subscriptions connected (events of ${Math.min(subscriberCount, idle.length)} SMEs that do not bid)`,
  );
}
report.subscribers = subscriberCount;

async function gql(query, variables, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors).slice(0, 500)}`);
  return body.data;
}
async function rawCall(path, input, token) {
  const headers = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${raw.url}${path}`, { method: "POST", headers, body: JSON.stringify(input) });
  return response.json();
}

const scenarios = {};
const print = (name, r) =>
  log(
    `  ${name.padEnd(22)} ${String(r.requestsPerSecond).padStart(8)} req/s   p50 ${String(r.latencyP50Ms).padStart(5)} ms   p99 ${String(r.latencyP99Ms).padStart(5)} ms   errors ${r.errors}/${r.requests}` +
      (r.nodeCpuMsPerRequest != null
        ? `   CPU/request: node ${r.nodeCpuMsPerRequest} ms + PostgreSQL ${r.postgresCpuMsPerRequest} ms`
        : "") +
      (r.rounds > 1 ? `   (${r.rounds} rounds, in turns with the other side)` : ""),
  );

/**
 * The targets, as ratios to the raw-SQL floor: GraphQL's throughput over raw's, and raw's CPU per
 * request (node + PostgreSQL) over GraphQL's; 1 is the floor itself.
 */
const TARGETS = { offersSearch: 0.85, placeBid: 0.7, checkout: 0.7, subsidySpend: 0.85, policyReport: 0.85 };
const cpuTotal = (r) => (r.nodeCpuMsPerRequest == null ? null : r.nodeCpuMsPerRequest + r.postgresCpuMsPerRequest);
const ratioOf = (a, b) => (a == null || b == null || !b ? null : Number((a / b).toFixed(2)));

/** Throughput and CPU ratios of a scenario, printed, and the gap's composition when profiled. */
function ratios(scenario, viaGraphql, viaRaw) {
  const result = {
    throughput: ratioOf(viaGraphql.requestsPerSecond, viaRaw.requestsPerSecond),
    cpu: ratioOf(cpuTotal(viaRaw), cpuTotal(viaGraphql)),
    nodeCpu: ratioOf(viaRaw.nodeCpuMsPerRequest, viaGraphql.nodeCpuMsPerRequest),
    target: TARGETS[scenario] ?? null,
  };
  log(
    `  ratio to the raw floor: throughput ${result.throughput}, CPU per request ${result.cpu} (node alone ${result.nodeCpu})` +
      (result.target ? `; target >= ${result.target}` : ""),
  );
  const g = profiles[`${scenario}-server`];
  const r = profiles[`${scenario}-raw`];
  if (g && r) {
    const rows = gapLines(g, r, { graphql: g.requests, raw: r.requests });
    result.gap = rows.map((row) => ({
      category: row.name,
      graphqlMsPerRequest: Number(row.graphql.toFixed(3)),
      rawMsPerRequest: Number(row.raw.toFixed(3)),
    }));
    result.topFunctions = g.summary.topFunctions;
    log(`  node CPU per request by category (profiles in ${profileDir}/${scenario}-*.cpuprofile): GraphQL / raw ms`);
    for (const row of rows.filter((x) => Math.abs(x.graphql) + Math.abs(x.raw) >= 0.005).slice(0, 10))
      log(`    ${row.name.padEnd(46)} ${row.graphql.toFixed(3).padStart(7)} / ${row.raw.toFixed(3).padStart(7)}`);
    log(`  GraphQL server's top self-time functions:`);
    for (const f of g.summary.topFunctions.slice(0, 6)) log(`    ${String(f.percent).padStart(5)} %  ${f.name}`);
  }
  return result;
}

const anchor = market.anchor;
const yuan = (fen) => `${Math.floor(fen / 100)}.${String(fen % 100).padStart(2, "0")}`;
const ceilHour = (ms) => Math.ceil(ms / HOUR) * HOUR;

// ---------------------------------------------------------------- a. offers search
const SEARCH = `query Search($filter: OfferFilter, $first: Int) {
  offers(filter: $filter, sort: PRICE_ASC, first: $first) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id gpuCount pricePerGpuHour { amount } availableFrom availableUntil minHours
      dataCenter { name hub operator { name } } gpuModel { name } } }
  }
}`;
const searchModels = ["H800", "A800", "Ascend 910B", "H20", "RTX 4090"];
const searchFilters = [];
for (const gpuModel of searchModels) {
  for (const hub of market.hubs) {
    searchFilters.push({
      gpuModel,
      hub,
      availableFrom: new Date(anchor + 2 * DAY).toISOString(),
      availableUntil: new Date(anchor + 9 * DAY).toISOString(),
    });
  }
}
if (want("search")) {
  // Same answer from both, before timing them.
  const filter = searchFilters[0];
  const viaGraphql = await gql(SEARCH, { filter, first: 50 });
  const viaRaw = await rawCall("/offers", { ...filter, first: 50 });
  const same = JSON.stringify(viaGraphql) === JSON.stringify(viaRaw.data);
  const hits = searchFilters.length ? viaGraphql.offers.totalCount : 0;
  log(
    `\na. offers search (${filter.gpuModel} in ${filter.hub}, window of 7 days, first 50 by price; ${hits} matching offers): raw answer identical: ${same}`,
  );
  if (!same)
    log(`   graphql: ${JSON.stringify(viaGraphql).slice(0, 300)}\n   raw:     ${JSON.stringify(viaRaw).slice(0, 300)}`);
  const rotating = (encode) =>
    Array.from({ length: 16 }, (_, i) => {
      let n = i;
      return { headers: {}, next: () => encode(searchFilters[n++ % searchFilters.length]) };
    });
  const { graphql: viaGraphqlLoad, raw: viaRawLoad } = await alternatingLoads(
    "offersSearch",
    {
      proc: server,
      path: "/graphql",
      connections: () => rotating((filter) => JSON.stringify({ query: SEARCH, variables: { filter, first: 50 } })),
    },
    { proc: raw, path: "/offers", connections: () => rotating((filter) => JSON.stringify({ ...filter, first: 50 })) },
  );
  scenarios.offersSearch = {
    graphql: viaGraphqlLoad,
    raw: viaRawLoad,
    ratio: Number((viaGraphqlLoad.requestsPerSecond / viaRawLoad.requestsPerSecond).toFixed(2)),
    identical: same,
    // The compared filter's matching offers (its page shows up to 50; totalCount counts them all).
    matching: hits,
  };
  print("GraphQL offers", viaGraphqlLoad);
  print("raw SQL offers", viaRawLoad);
  scenarios.offersSearch.ratios = ratios("offersSearch", viaGraphqlLoad, viaRawLoad);
}

// ---------------------------------------------------------------- b. placeBid with matching
const PLACE_BID = `mutation Bid($input: PlaceBidInput!) { placeBid(input: $input) { id status reservation { id status } } }`;
const BID_MODELS = [
  ["H800", 2600],
  ["A800", 1800],
  ["Ascend 910B", 1500],
  ["H20", 1200],
];
const bidSmes = market.benchSmes.slice(0, 16);
const held = bidSmes.map(() => []);
function bidSource(i) {
  const random = prng(1000 + i);
  return () => {
    const [gpuModel, base] = BID_MODELS[random.weighted([4, 3, 3, 2])];
    const hours = random.pick([2, 4, 8, 12, 24]);
    const earliest = ceilHour(Date.now()) + random.int(2, 96) * HOUR;
    const latest = earliest + (hours + random.int(0, 48)) * HOUR;
    const hubs = random.chance(0.3) ? [random.pick(market.hubs), random.pick(market.hubs)] : null;
    const input = {
      gpuModel,
      gpuCount: random.pick([1, 2, 4, 8]),
      hours,
      earliestStart: new Date(earliest).toISOString(),
      latestEnd: new Date(latest).toISOString(),
      maxPricePerGpuHour: yuan(Math.round(base * 1.2)),
      hubs,
    };
    return JSON.stringify({ query: PLACE_BID, variables: { input } });
  };
}
let matched = 0;
const onBidBody = (connection, status, body) => {
  if (status !== 200 || body.includes('"errors"')) return;
  const bid = JSON.parse(body).data.placeBid;
  if (bid.status === "MATCHED" && bid.reservation?.status === "HELD") {
    matched++;
    held[connection].push(bid.reservation.id);
  }
};
const CANCEL_BID = `mutation Cancel($id: ID!) { cancelBid(id: $id) { id status } }`;
/** What must agree between two placed bids: the reservation's offer, hours, GPUs and price (fen). */
async function reservationTerms(reservationId) {
  if (!reservationId) return null;
  const [row] = await benchDb.unsafe(
    `select offer_id::text, starts_at, ends_at, gpu_count, price_per_gpu_hour::text as price_fen, status::text
     from reservations where id = $1`,
    [Number(reservationId.replace(/^reservation_/, ""))],
  );
  return row ?? null;
}
/** One bid through GraphQL, cancelled; the same bid through the raw floor: the same match? */
async function compareBid(placeRaw, input, sme) {
  const viaGraphql = (await gql(PLACE_BID, { input }, sme.token)).placeBid;
  const graphqlTerms = await reservationTerms(viaGraphql.reservation?.id);
  if (viaGraphql.status === "MATCHED") await gql(CANCEL_BID, { id: viaGraphql.id }, sme.token);
  const viaRaw = (await placeRaw({ query: PLACE_BID, variables: { input } }, sme.token)).data?.placeBid;
  const rawTerms = await reservationTerms(viaRaw?.reservation?.id);
  if (viaRaw?.status === "MATCHED") await gql(CANCEL_BID, { id: viaRaw.id }, sme.token);
  const shape = (b) => JSON.stringify(b, (key, value) => (key === "id" ? typeof value : value));
  const strip = (t) => t && JSON.stringify({ ...t, status: undefined });
  return {
    same: shape(viaGraphql) === shape(viaRaw) && strip(graphqlTerms) === strip(rawTerms),
    graphql: { ...viaGraphql, reservation: graphqlTerms },
    raw: { ...viaRaw, reservation: rawTerms },
  };
}
if (want("placeBid")) {
  log(`\nb. placeBid with matching: 16 SMEs, overlapping windows in the next 4 days, 2-24 h, 1-8 GPUs, 4 models`);
  // The same bid both ways (the first cancelled before the second): the same offer, start, price?
  // Several, so that ties on price (decided by utilization) are among them.
  const probe = bidSource(999);
  const checks = [];
  for (let k = 0; k < 5; k++)
    checks.push(
      await compareBid(
        (body, token) => rawCall("/placeBid", body, token),
        JSON.parse(probe()).variables.input,
        bidSmes[k],
      ),
    );
  const identical = checks.every((c) => c.same);
  log(
    `  the same 5 bids through GraphQL and the raw floor (each cancelled after): same status, offer, start, end, GPUs and price in fen: ${identical}` +
      ` (${checks.filter((c) => c.graphql.status === "MATCHED").length} matched)`,
  );
  if (!identical) {
    const wrong = checks.find((c) => !c.same);
    log(`   graphql: ${JSON.stringify(wrong.graphql)}\n   raw:     ${JSON.stringify(wrong.raw)}`);
  }
  const bidders = (firstSource) =>
    bidSmes.map((sme, i) => ({ headers: { authorization: `Bearer ${sme.token}` }, next: bidSource(firstSource + i) }));
  const result = await timedLoad(server, "/graphql", "placeBid", bidders(0), onBidBody);
  result.matched = matched;
  result.matchedPerSecond = Number((matched / result.durationSeconds).toFixed(1));
  result.matchedShare = Number((matched / Math.max(1, result.requests)).toFixed(3));
  print("GraphQL placeBid", result);
  log(`  matched bids/s: ${result.matchedPerSecond} (${Math.round(result.matchedShare * 100)} % of bids matched)`);
  // The raw floor's bids are real bids of the same SMEs: their HELD reservations feed checkout too.
  const matchedBefore = matched;
  const viaRawLoad = await timedLoad(raw, "/placeBid", "placeBid", bidders(200), onBidBody);
  viaRawLoad.matched = matched - matchedBefore;
  viaRawLoad.matchedPerSecond = Number((viaRawLoad.matched / viaRawLoad.durationSeconds).toFixed(1));
  print("raw SQL placeBid", viaRawLoad);
  log(`  raw floor matched bids/s: ${viaRawLoad.matchedPerSecond}`);
  scenarios.placeBid = {
    ...result,
    graphql: result,
    raw: viaRawLoad,
    identical,
    ratios: ratios("placeBid", result, viaRawLoad),
  };
}

// ---------------------------------------------------------------- c. checkout with vouchers
const CHECKOUT = `mutation Checkout($input: CheckoutInput!) { checkout(input: $input) { id status subsidy { amount } smeShare { amount } } }`;
/** What must agree between two checkouts: the order's status and figures in fen, and the ledger's entries. */
async function orderFigures(orderId) {
  if (!orderId) return null;
  const [row] = await benchDb.unsafe(
    `select o.status::text, o.gpu_hours, o.gross::text, o.subsidy::text, o.sme_share::text, o.program_id::text,
            (select string_agg(kind::text || ' ' || amount, ', ' order by kind) from ledger_entries e where e.order_id = o.id) as ledger,
            (select count(*)::int from claim_lines c where c.order_id = o.id) as claim_lines,
            (select status::text from reservations r where r.id = o.reservation_id) as reservation
     from orders o where o.id = $1`,
    [Number(orderId.replace(/^order_/, ""))],
  );
  return row ?? null;
}
if (want("checkout")) {
  // The same bid placed twice (GraphQL, then the floor), each reservation checked out one way with
  // the same voucher: the same status, split in fen, ledger entries, claim line, reservation.
  const sme = bidSmes[0];
  const probe = bidSource(998);
  let pair = null;
  for (let k = 0; k < 20 && !pair; k++) {
    const input = JSON.parse(probe()).variables.input;
    const first = (await gql(PLACE_BID, { input }, sme.token)).placeBid;
    const second = (await rawCall("/placeBid", { query: PLACE_BID, variables: { input } }, sme.token)).data?.placeBid;
    if (first.status === "MATCHED" && second?.status === "MATCHED") pair = [first, second];
  }
  let checkoutIdentical = false;
  if (pair) {
    const runKey = `compare-${Date.now().toString(36)}`;
    const inputOf = (bid, n) => ({
      reservationId: bid.reservation.id,
      voucherId: `voucher_${sme.voucherId}`,
      idempotencyKey: `${runKey}-${n}`,
    });
    const viaGraphql = (await gql(CHECKOUT, { input: inputOf(pair[0], 1) }, sme.token)).checkout;
    const viaRaw = (
      await rawCall("/checkout", { query: CHECKOUT, variables: { input: inputOf(pair[1], 2) } }, sme.token)
    ).data?.checkout;
    const shape = (o) => JSON.stringify(o, (key, value) => (key === "id" ? typeof value : value));
    const [a, b] = [await orderFigures(viaGraphql.id), await orderFigures(viaRaw?.id)];
    checkoutIdentical = shape(viaGraphql) === shape(viaRaw) && JSON.stringify(a) === JSON.stringify(b);
    log(
      `\nc. checkout: one bid's twin reservations checked out through GraphQL and the raw floor: same status, gross, subsidy, SME share (fen), ledger entries, claim line: ${checkoutIdentical}` +
        ` (${a.status}, gross ${a.gross}, subsidy ${a.subsidy}, SME ${a.sme_share} fen)`,
    );
    if (!checkoutIdentical) log(`   graphql: ${JSON.stringify(a)}\n   raw:     ${JSON.stringify(b)}`);
  } else log(`\nc. checkout: no bid matched twice in 20 tries; answers not compared`);
  // HELD reservations for the timed phases: the matched bids above, topped up untimed (through the
  // raw floor's placeBid, the quicker) to more than each checkout can pay in the time, for the
  // GraphQL load and then as many for the raw floor's (a request that finds none left is an error).
  const target = Math.ceil((Number(process.env.BENCH_CHECKOUT_SUPPLY_RATE || 800) * duration) / bidSmes.length);
  const topUpStarted = Date.now();
  let topUp = 0;
  await Promise.all(
    bidSmes.map(async (sme, i) => {
      const next = bidSource(100 + i);
      while (held[i].length < 2 * target) {
        const response = await fetch(`${raw.url}/placeBid`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${sme.token}` },
          body: next(),
        });
        onBidBody(i, response.status, await response.text());
        topUp++;
      }
    }),
  );
  const supplyOf = { graphql: held.map((list) => list.splice(0, target)), raw: held.map((list) => list.splice(0)) };
  const supply = supplyOf.graphql.reduce((s, list) => s + list.length, 0);
  log(
    `  simulated provider: ${supply} HELD reservations for each load (${topUp} more bids placed in ${((Date.now() - topUpStarted) / 1000).toFixed(1)} s)`,
  );
  const runId = Date.now().toString(36);
  const checkoutLoad = (proc, url, reservations, app) => {
    let exhausted = 0;
    let paid = 0;
    return withCpu(
      proc,
      app,
      () =>
        runLoad({
          url,
          duration,
          connections: bidSmes.map((sme, i) => {
            let n = 0;
            let last = reservations[i][0];
            return {
              headers: { authorization: `Bearer ${sme.token}` },
              next: () => {
                const reservationId = reservations[i].shift() ?? (exhausted++, last);
                last = reservationId;
                const input = {
                  reservationId,
                  voucherId: `voucher_${sme.voucherId}`,
                  idempotencyKey: `bench-${runId}-${proc.name}-${i}-${n++}`,
                };
                return JSON.stringify({ query: CHECKOUT, variables: { input } });
              },
            };
          }),
          onBody: (_connection, status, body) => {
            if (status === 200 && body.includes('"status":"PAID"')) paid++;
          },
        }),
      "checkout",
    ).then((result) => {
      result.paid = paid;
      result.paidPerSecond = Number((paid / result.durationSeconds).toFixed(1));
      result.supplyExhausted = exhausted;
      return result;
    });
  };
  const result = await checkoutLoad(server, `${server.url}/graphql`, supplyOf.graphql, "gpu-voucher-market");
  print("GraphQL checkout", result);
  const viaRawLoad = await checkoutLoad(raw, `${raw.url}/checkout`, supplyOf.raw, "bench-raw-baseline");
  print("raw SQL checkout", viaRawLoad);
  for (const [name, r] of [
    ["GraphQL", result],
    ["raw floor", viaRawLoad],
  ])
    log(
      `  ${name} paid checkouts/s: ${r.paidPerSecond}${r.supplyExhausted ? ` (reservations ran out: ${r.supplyExhausted} requests reused one, counted as errors)` : ""}`,
    );
  scenarios.checkout = {
    ...result,
    graphql: result,
    raw: viaRawLoad,
    identical: checkoutIdentical,
    ratios: ratios("checkout", result, viaRawLoad),
  };
}

// ---------------------------------------------------------------- d. subsidySpend for one city over a year
const SPEND = `query Spend($city: String, $from: DateTime!, $to: DateTime!) {
  subsidySpend(city: $city, from: $from, to: $to, groupBy: [MONTH, DATA_CENTER]) {
    rows { keys { dimension value label } orders gpuHours gross { amount } subsidy { amount } smePaid { amount } }
    totals { orders gpuHours gross { amount } subsidy { amount } smePaid { amount } }
  }
}`;
if (want("spend")) {
  const city = "Shanghai";
  const token = `gvm_bench_finance_${city.toLowerCase()}`;
  const variables = { city, from: new Date(anchor - 365 * DAY).toISOString(), to: new Date(anchor).toISOString() };
  const viaGraphql = await gql(SPEND, variables, token);
  const viaRaw = await rawCall("/spend", variables, token);
  const same = JSON.stringify(viaGraphql) === JSON.stringify(viaRaw.data);
  const totals = viaGraphql.subsidySpend.totals;
  log(
    `\nd. subsidySpend, ${city}, ${variables.from.slice(0, 10)}..${variables.to.slice(0, 10)}, by MONTH and DATA_CENTER: ${viaGraphql.subsidySpend.rows.length} rows, ${totals.orders} orders, subsidy ${totals.subsidy.amount} CNY; raw answer identical: ${same}`,
  );
  // One connection: a finance team's report is a latency question, not a crowd.
  const connections = (encode) =>
    Array.from({ length: 1 }, () => ({ headers: { authorization: `Bearer ${token}` }, next: encode }));
  const { graphql: viaGraphqlLoad, raw: viaRawLoad } = await alternatingLoads(
    "subsidySpend",
    {
      proc: server,
      path: "/graphql",
      connections: () => connections(() => JSON.stringify({ query: SPEND, variables })),
    },
    { proc: raw, path: "/spend", connections: () => connections(() => JSON.stringify(variables)) },
  );
  scenarios.subsidySpend = {
    graphql: viaGraphqlLoad,
    raw: viaRawLoad,
    ratio: Number((viaGraphqlLoad.requestsPerSecond / viaRawLoad.requestsPerSecond).toFixed(2)),
    identical: same,
    rows: viaGraphql.subsidySpend.rows.length,
    orders: totals.orders,
  };
  print("GraphQL subsidySpend", viaGraphqlLoad);
  print("raw SQL subsidySpend", viaRawLoad);
  scenarios.subsidySpend.ratios = ratios("subsidySpend", viaGraphqlLoad, viaRawLoad);
}
// ---------------------------------------------------------------- e. policyReport for one city over a year
// The policy's figures over a year of subsidized rentals, and every hub's capacity month by month:
// a finance team's question, one connection. The issue's bound: 200 ms at p50 on the full data.
const POLICY = `query Policy($city: String, $from: String!, $to: String!) {
  policyReport(city: $city, from: $from, to: $to, granularity: MONTH) {
    subsidizedGpuHours westernShareBasisPoints domesticShareBasisPoints subsidy { amount } subsidyPerGpuHour { amount }
    smesServed top10ShareBasisPoints hubs { hub offeredGpuHours reservedGpuHours utilization periods { start utilization } }
  }
}`;
if (want("policy")) {
  const city = "Shanghai";
  const token = `gvm_bench_finance_${city.toLowerCase()}`;
  // The twelve whole months of China before the anchor's month (a report by MONTH takes whole months).
  const month = new Date(anchor + 8 * 3_600_000);
  const first = (back) =>
    new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() - back, 1)).toISOString().slice(0, 10);
  const variables = { city, from: first(12), to: first(0) };
  const answer = await gql(POLICY, variables, token);
  const figures = answer.policyReport;
  const viaRaw = await rawCall("/policy", { query: POLICY, variables }, token);
  const policyIdentical = JSON.stringify(answer) === JSON.stringify(viaRaw.data);
  log(
    `\ne. policyReport, ${city}, ${variables.from}..${variables.to}, by MONTH: ${figures.subsidizedGpuHours} subsidized GPU-hours, ` +
      `western ${figures.westernShareBasisPoints / 100} %, domestic ${figures.domesticShareBasisPoints / 100} %, ${figures.smesServed} SMEs, ` +
      `top 10 ${figures.top10ShareBasisPoints / 100} %; raw answer identical: ${policyIdentical}`,
  );
  if (!policyIdentical)
    log(`   graphql: ${JSON.stringify(answer).slice(0, 300)}\n   raw:     ${JSON.stringify(viaRaw).slice(0, 300)}`);
  const asFinance = () => [
    { headers: { authorization: `Bearer ${token}` }, next: () => JSON.stringify({ query: POLICY, variables }) },
  ];
  const { graphql: viaGraphqlLoad, raw: viaRawLoad } = await alternatingLoads(
    "policyReport",
    { proc: server, path: "/graphql", connections: asFinance },
    { proc: raw, path: "/policy", connections: asFinance },
  );
  scenarios.policyReport = {
    graphql: viaGraphqlLoad,
    raw: viaRawLoad,
    identical: policyIdentical,
    p50UnderLimit: viaGraphqlLoad.latencyP50Ms < 200,
  };
  print("GraphQL policyReport", viaGraphqlLoad);
  print("raw SQL policyReport", viaRawLoad);
  scenarios.policyReport.ratios = ratios("policyReport", viaGraphqlLoad, viaRawLoad);
  log(`  p50 ${viaGraphqlLoad.latencyP50Ms} ms (bound 200 ms: ${viaGraphqlLoad.latencyP50Ms < 200 ? "ok" : "OVER"})`);
}

// ---------------------------------------------------------------- f. bulk publishing
const PUBLISH_OFFERS = `mutation Publish($inputs: [PublishOfferInput!]!) { publishOffers(inputs: $inputs) { id } }`;
const PUBLISH_OFFER = `mutation PublishOne($input: PublishOfferInput!) { publishOffer(input: $input) { id } }`;
if (want("bulk")) {
  // A sales desk of its own (the generated operators have no keys): ten data centers, one per hub.
  const { createOrganization: desk } = await gql(
    `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }`,
    { input: { name: `Bench Sales Desk ${Date.now()}`, kind: "DATA_CENTER_OPERATOR" } },
    adminToken,
  );
  const { createApiKey } = await gql(
    `mutation($id: ID!) { createApiKey(organizationId: $id) { token } }`,
    { id: desk.id },
    adminToken,
  );
  const reader = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const hubs = await reader`select name, province from hubs order by name`;
  await reader.end();
  const sites = [];
  for (const hub of hubs) {
    const { createDataCenter } = await gql(
      `mutation($input: CreateDataCenterInput!) { createDataCenter(input: $input) { id } }`,
      { input: { name: `Bench desk ${hub.name}`, hub: hub.name, province: hub.province, operatorId: desk.id } },
      adminToken,
    );
    sites.push(createDataCenter.id);
  }
  const random = prng(4242);
  const from = ceilHour(Date.now()) + 24 * HOUR;
  const offerInput = () => {
    const [gpuModel, base] = BID_MODELS[random.weighted([4, 3, 3, 2])];
    const start = from + random.int(0, 30) * DAY;
    return {
      dataCenterId: random.pick(sites),
      gpuModel,
      gpuCount: random.pick([8, 16, 32, 64]),
      pricePerGpuHour: yuan(Math.round(base * (1.3 + random.int(0, 50) / 100))),
      availableFrom: new Date(start).toISOString(),
      availableUntil: new Date(start + random.int(7, 60) * DAY).toISOString(),
      minHours: random.pick([1, 2, 4]),
    };
  };
  const post = async (body, url = `${server.url}/graphql`) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${createApiKey.token}` },
      body,
    });
    const text = await response.text();
    if (response.status !== 200 || text.includes('"errors"')) throw new Error(`publish failed: ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  // The same three offers through both: the same answer's shape and the same stored offers.
  {
    const body = JSON.stringify({
      query: PUBLISH_OFFERS,
      variables: { inputs: Array.from({ length: 3 }, offerInput) },
    });
    const viaGraphql = await post(body);
    const viaRaw = await post(body, `${raw.url}/publishOffers`);
    const stored = async (answer) =>
      JSON.stringify(
        await benchDb.unsafe(
          `select data_center_id, gpu_model_id, gpu_count, price_per_gpu_hour::text, available_from, available_until, min_hours, status::text,
                  (select count(*)::int from audit_log a where a.action = 'PUBLISH_OFFER' and a.target_id = o.id::text) as audit
           from offers o where id = any($1::bigint[]) order by id`,
          [answer.data.publishOffers.map((o) => Number(o.id.replace(/^offer_/, "")))],
        ),
      );
    const shape = (a) => JSON.stringify(a.data, (key, value) => (key === "id" ? typeof value : value));
    scenarios.bulkPublishIdentical =
      shape(viaGraphql) === shape(viaRaw) && (await stored(viaGraphql)) === (await stored(viaRaw));
  }
  const TOTAL = 10_000;
  const BATCH = 1_000;
  const bodies = Array.from({ length: TOTAL / BATCH }, () =>
    JSON.stringify({ query: PUBLISH_OFFERS, variables: { inputs: Array.from({ length: BATCH }, offerInput) } }),
  );
  const rawBodies = Array.from({ length: TOTAL / BATCH }, () =>
    JSON.stringify({ query: PUBLISH_OFFERS, variables: { inputs: Array.from({ length: BATCH }, offerInput) } }),
  );
  log(
    `\nf. bulk publishing: ${TOTAL} offers through publishOffers, ${BATCH} per request (bodies of ${Math.round(Math.max(...bodies.map((b) => b.length)) / 1024)} KB), one operator, one connection; ` +
      `3 offers through GraphQL and the raw floor: same answer's shape, same stored offers and audit entries: ${scenarios.bulkPublishIdentical}`,
  );
  const publishAll = (proc, url, list, app, scenario = "bulkPublish") =>
    withCpu(
      proc,
      app,
      async () => {
        const latencies = [];
        const started = performance.now();
        for (const body of list) {
          const one = performance.now();
          await post(body, url);
          latencies.push(performance.now() - one);
        }
        const seconds = (performance.now() - started) / 1000;
        latencies.sort((a, b) => a - b);
        return {
          requests: list.length,
          durationSeconds: Number(seconds.toFixed(2)),
          requestsPerSecond: Number((list.length / seconds).toFixed(2)),
          latencyP50Ms: Number(latencies[Math.floor(latencies.length / 2)].toFixed(1)),
          latencyP99Ms: Math.round(latencies.at(-1)),
          errors: 0,
          latencies,
        };
      },
      scenario,
    );
  const viaGraphqlBulk = await publishAll(server, `${server.url}/graphql`, bodies, "gpu-voucher-market");
  const viaRawBulk = await publishAll(raw, `${raw.url}/publishOffers`, rawBodies, "bench-raw-baseline");
  const latencies = viaGraphqlBulk.latencies;
  delete viaGraphqlBulk.latencies;
  delete viaRawBulk.latencies;
  const bulkSeconds = viaGraphqlBulk.durationSeconds;
  // The same desk one offer per request, for comparison; each publication also looks for the open
  // bids it could serve (the curve draws its cost against the number of open bids).
  const SINGLE = 500;
  const singleBodies = Array.from({ length: SINGLE }, () =>
    JSON.stringify({ query: PUBLISH_OFFER, variables: { input: offerInput() } }),
  );
  const single = await publishAll(server, `${server.url}/graphql`, singleBodies, "gpu-voucher-market", "publishOne");
  delete single.latencies;
  const singleSeconds = single.durationSeconds;
  latencies.sort((a, b) => a - b);
  scenarios.bulkPublish = {
    offers: TOTAL,
    perRequest: BATCH,
    seconds: Number(bulkSeconds.toFixed(2)),
    offersPerSecond: Math.round(TOTAL / bulkSeconds),
    requestLatencyP50Ms: Math.round(latencies[Math.floor(latencies.length / 2)]),
    requestLatencyMaxMs: Math.round(latencies.at(-1)),
    singleOffers: SINGLE,
    singleOffersPerSecond: Math.round(SINGLE / singleSeconds),
    single,
    graphql: viaGraphqlBulk,
    raw: viaRawBulk,
    identical: scenarios.bulkPublishIdentical,
  };
  delete scenarios.bulkPublishIdentical;
  const b = scenarios.bulkPublish;
  log(
    `  publishOffers       ${b.offersPerSecond} offers/s (${b.offers} in ${b.seconds} s; ${b.perRequest} per request, p50 ${b.requestLatencyP50Ms} ms, max ${b.requestLatencyMaxMs} ms)`,
  );
  log(
    `  publishOffer        ${b.singleOffersPerSecond} offers/s (${SINGLE} offers, one per request, for comparison; p50 ${single.latencyP50Ms} ms, ` +
      `CPU per offer: node ${single.nodeCpuMsPerRequest} ms + PostgreSQL ${single.postgresCpuMsPerRequest} ms; ${market.counts.openBids ?? 0} open bids waiting)`,
  );
  print("GraphQL publishOffers", viaGraphqlBulk);
  print("raw SQL publishOffers", viaRawBulk);
  b.ratios = ratios("bulkPublish", viaGraphqlBulk, viaRawBulk);
}
report.scenarios = scenarios;

// ---------------------------------------------------------------- --compare: this server and the other, in turns
if (other) {
  const { runCompare } = await import("./bench/compare.mjs");
  const rounds = Number(args.rounds ?? (size === "full" ? 5 : 3));
  const graphqlLoad = (proc, connections) => timedLoad(proc, "/graphql", undefined, connections);
  const finance = { authorization: "Bearer gvm_bench_finance_shanghai" };
  const spendVariables = {
    city: "Shanghai",
    from: new Date(anchor - 365 * DAY).toISOString(),
    to: new Date(anchor).toISOString(),
  };
  const month = new Date(anchor + 8 * HOUR);
  const firstOf = (back) =>
    new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() - back, 1)).toISOString().slice(0, 10);
  const policyVariables = { city: "Shanghai", from: firstOf(12), to: firstOf(0) };
  const supplyRate = Number(process.env.BENCH_CHECKOUT_SUPPLY_RATE || 400);
  let loadNumber = 0;
  const runId = Date.now().toString(36);
  report.compare = await runCompare({
    rounds,
    mine: server,
    other: Object.assign(other, { label: args.compare }),
    log,
    scenarios: [
      {
        name: "offersSearch",
        load: (proc) =>
          graphqlLoad(
            proc,
            Array.from({ length: 16 }, (_, i) => {
              let n = i;
              return {
                headers: {},
                next: () =>
                  JSON.stringify({
                    query: SEARCH,
                    variables: { filter: searchFilters[n++ % searchFilters.length], first: 50 },
                  }),
              };
            }),
          ),
      },
      {
        name: "placeBid",
        load: (proc) => {
          const load = ++loadNumber;
          return graphqlLoad(
            proc,
            bidSmes.map((sme, i) => ({
              headers: { authorization: `Bearer ${sme.token}` },
              next: bidSource(300 + 20 * load + i),
            })),
          );
        },
      },
      {
        name: "checkout",
        load: async (proc) => {
          // Each load its own HELD reservations, placed untimed through the raw floor.
          const load = ++loadNumber;
          const target = Math.ceil((supplyRate * duration) / bidSmes.length);
          const supply = bidSmes.map(() => []);
          await Promise.all(
            bidSmes.map(async (sme, i) => {
              const next = bidSource(300 + 20 * load + i);
              while (supply[i].length < target) {
                const body = await rawCall("/placeBid", JSON.parse(next()), sme.token);
                if (body.data?.placeBid.reservation) supply[i].push(body.data.placeBid.reservation.id);
              }
            }),
          );
          return graphqlLoad(
            proc,
            bidSmes.map((sme, i) => {
              let n = 0;
              let last = supply[i][0];
              return {
                headers: { authorization: `Bearer ${sme.token}` },
                next: () => {
                  const reservationId = supply[i].shift() ?? last;
                  last = reservationId;
                  const input = {
                    reservationId,
                    voucherId: `voucher_${sme.voucherId}`,
                    idempotencyKey: `compare-${runId}-${load}-${i}-${n++}`,
                  };
                  return JSON.stringify({ query: CHECKOUT, variables: { input } });
                },
              };
            }),
          );
        },
      },
      {
        name: "subsidySpend",
        load: (proc) =>
          graphqlLoad(proc, [
            { headers: finance, next: () => JSON.stringify({ query: SPEND, variables: spendVariables }) },
          ]),
      },
      {
        name: "policyReport",
        load: (proc) =>
          graphqlLoad(proc, [
            { headers: finance, next: () => JSON.stringify({ query: POLICY, variables: policyVariables }) },
          ]),
      },
    ],
  });
}

// ---------------------------------------------------------------- memory, invariants, plans
report.serverMemory = server.memory();
report.rawServerMemory = raw.memory();
await Promise.all(subscribers.map((client) => client.dispose()));
await server.stop();
await raw.stop();
await other?.stop();
log(
  `\nserver peak RSS (VmHWM): ${report.serverMemory.peakRssMb} MB (limit 512 MB: ${report.serverMemory.peakRssMb < 512 ? "ok" : "OVER"}); raw baseline ${report.rawServerMemory.peakRssMb} MB`,
);

const checker = postgres(databaseUrl, { max: 1, onnotice: () => {} });
log(`\ninvariants over the whole database:`);
const invariants = await checkInvariants(checker, new Date());
for (const check of invariants)
  log(
    `  ${check.ok ? "ok    " : "BROKEN"} ${check.name}${check.ok ? "" : `: ${check.offending.join(", ")}`} (${check.ms} ms)`,
  );
report.invariants = invariants;
const [counts] = await checker`
  select (select count(*) from orders)::int as orders, (select count(*) from orders where status = 'PAID')::int as paid,
         (select count(*) from bids)::int as bids, (select count(*) from reservations where status = 'HELD')::int as held`;
report.finalCounts = counts;
log(`  rows now: ${counts.orders} orders (${counts.paid} PAID), ${counts.bids} bids, ${counts.held} reservations HELD`);

report.plans = await explainHotQueries(checker, market);
if (args.explain) {
  for (const [name, plan] of Object.entries(report.plans)) log(`\nEXPLAIN ANALYZE ${name}:\n${plan}`);
}
await checker.end();
await benchDb.end();
await admin.end();

report.totalSeconds = Number(((Date.now() - started) / 1000).toFixed(1));
const s = scenarios;
report.ratios = {};
const LABELS = {
  offersSearch: "offers search",
  placeBid: "placeBid",
  checkout: "checkout",
  subsidySpend: "subsidySpend",
  policyReport: "policyReport",
  bulkPublish: "bulk publishing",
};
if (Object.keys(scenarios).length) {
  log(`\nsummary (${size}): ratios to the raw-SQL floor (throughput GraphQL / raw; CPU per request raw / GraphQL)`);
  log(
    `  ${"scenario".padEnd(16)} ${"throughput".padStart(10)} ${"CPU/req".padStart(8)}  target  identical  GraphQL req/s, p50`,
  );
}
for (const [key, label] of Object.entries(LABELS)) {
  const r = s[key]?.ratios;
  if (!r) continue;
  const met = r.target == null ? "" : Math.min(r.throughput ?? 0, r.cpu ?? 0) >= r.target ? " met" : " NOT MET";
  report.ratios[key] = { throughput: r.throughput, cpu: r.cpu, target: r.target, identical: s[key].identical };
  log(
    `  ${label.padEnd(16)} ${String(r.throughput).padStart(10)} ${String(r.cpu).padStart(8)}  ${(r.target == null ? "-" : `>= ${r.target}`).padEnd(7)}${met.padEnd(8)} ${String(s[key].identical).padEnd(9)}  ${s[key].graphql.requestsPerSecond} req/s, p50 ${s[key].graphql.latencyP50Ms} ms`,
  );
}
if (s.placeBid)
  log(
    `  placeBid          ${s.placeBid.matchedPerSecond} matched bids/s (raw floor ${s.placeBid.raw.matchedPerSecond})`,
  );
if (s.checkout)
  log(`  checkout          ${s.checkout.paidPerSecond} paid checkouts/s (raw floor ${s.checkout.raw.paidPerSecond})`);
if (s.bulkPublish)
  log(
    `  bulk publishing   ${s.bulkPublish.offersPerSecond} offers/s through publishOffers (${s.bulkPublish.offers} offers, ${s.bulkPublish.perRequest} per request; one at a time ${s.bulkPublish.singleOffersPerSecond} offers/s)`,
  );
if (s.subsidySpend)
  log(
    `  subsidySpend      p50 ${s.subsidySpend.graphql.latencyP50Ms} ms over ${market.counts.orders} orders, ${s.subsidySpend.rows} rows (raw SQL p50 ${s.subsidySpend.raw.latencyP50Ms} ms)`,
  );
if (s.policyReport)
  log(
    `  policyReport      p50 ${s.policyReport.graphql.latencyP50Ms} ms, a year by MONTH (raw SQL p50 ${s.policyReport.raw.latencyP50Ms} ms)`,
  );
log(`  invariants        ${invariants.every((c) => c.ok) ? "all hold" : "BROKEN"}`);
log(`  server peak RSS   ${report.serverMemory.peakRssMb} MB`);
log(`  total run         ${report.totalSeconds} s`);
if (args.json) {
  writeFileSync(args.json, JSON.stringify(report, null, 2));
  log(`figures written to ${args.json}`);
}
process.exit(invariants.every((c) => c.ok) ? 0 : 1);
