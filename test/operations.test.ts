// What an operator probes and reads: GET /readyz, GET /metrics (scraped and parsed as Prometheus
// parses it), the migrations on their own (npm run db:migrate, MIGRATE_ON_START=false, a migration
// outside a transaction), and the start-up and request logs, on a terminal and in JSON.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../src/db/client.js";
import { migrate, pendingMigrations, readMigrations } from "../src/db/migrate.js";
import { ADMIN, freshPostgresDatabase, startServer, type TestServer } from "./support/harness.js";
import { CHECKOUT, market, NOW, reserve } from "./support/market.js";
import { freePort, startProcess } from "./support/processes.js";
import { scrape } from "./support/prometheus.js";

const METRICS_TOKEN = "metrics-token-for-tests-0123";
/** Tests that start server processes: generous, the machine is slow under load. */
const PROCESSES_MS = 240_000;
const onPostgres = !!process.env.DATABASE_URL;
const MIGRATIONS = readMigrations();

/** A database nobody migrated yet: its env for a server process, and how to remove it. */
async function emptyDatabase(): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  if (onPostgres) {
    const database = await freshPostgresDatabase();
    return { env: { DATABASE_URL: database.url }, drop: database.drop };
  }
  const dir = mkdtempSync(path.join(tmpdir(), "gvm-pglite-"));
  return { env: { DATA_DIR: dir }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe("GET /readyz and GET /metrics", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ METRICS_TOKEN });
  });
  afterAll(() => server?.close());

  it("/readyz is ready once the database answers with every migration applied, and says what is missing", async () => {
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: "ready",
      database: onPostgres ? "postgres" : "pglite",
      migrations: "current",
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    // The newest migration's record goes missing (a database behind this code): not ready.
    const newest = MIGRATIONS.at(-1)!;
    await server.sql(`delete from drizzle.__drizzle_migrations where created_at = ${newest.when}`);
    const behind = await fetch(`${server.url}/readyz`);
    expect(behind.status).toBe(503);
    expect(await behind.json()).toMatchObject({ status: "not ready", migrations: { pending: [newest.tag] } });
    await server.sql(
      `insert into drizzle.__drizzle_migrations (hash, created_at) values ('${newest.hash}', ${newest.when})`,
    );
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });

  it("/metrics answers only with METRICS_TOKEN when it is set", async () => {
    const without = await fetch(`${server.url}/metrics`);
    expect(without.status).toBe(401);
    expect(without.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: "Bearer not-the-token" } });
    expect(wrong.status).toBe(401);
    await expect(scrape(server.url, METRICS_TOKEN)).resolves.toBeDefined();
  });

  it("/metrics counts requests by operation and outcome, their latency, mutations, matches, checkouts, subsidy, webhooks, the pool and the event loop", async () => {
    const before = await scrape(server.url, METRICS_TOKEN);
    const m = await market(server);
    const reservationId = await reserve(server, m.sme, 2, 10);
    const { checkout } = await server.ok(
      CHECKOUT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey: "metrics-1" } },
      { token: m.sme.token, now: NOW },
    );
    expect(checkout.status).toBe("PAID");
    for (let i = 0; i < 2; i++) await server.ok(`query Models { gpuModels { name } }`);
    const broken = await server.gql(`query Broken { nope }`);
    expect(broken.errors?.[0].extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const refused = await server.gql(`mutation Refused { cancelBid(id: "bid_999999") { id } }`, {}, { token: ADMIN });
    expect(refused.errors?.[0].extensions?.code).toBe("FORBIDDEN");
    // Stripe is not configured here: the delivery is refused, and counted.
    expect((await fetch(`${server.url}/webhooks/stripe`, { method: "POST", body: "{}" })).status).toBe(404);

    const after = await scrape(server.url, METRICS_TOKEN);
    const grew = (name: string, labels: Record<string, string>) =>
      after.value(name, labels) - before.value(name, labels);

    expect(after.family("gvm_graphql_requests_total").type).toBe("COUNTER");
    expect(grew("gvm_graphql_requests_total", { operation: "Models", type: "query", code: "OK" })).toBe(2);
    expect(grew("gvm_graphql_requests_total", { operation: "Broken", code: "GRAPHQL_VALIDATION_FAILED" })).toBe(1);
    expect(grew("gvm_graphql_requests_total", { operation: "Refused", type: "mutation", code: "FORBIDDEN" })).toBe(1);
    const latency = after.histogram("gvm_graphql_request_duration_seconds", { operation: "Models", type: "query" });
    expect(after.family("gvm_graphql_request_duration_seconds").type).toBe("HISTOGRAM");
    expect(Number(latency.count)).toBe(2);
    expect(Number(latency.buckets["+Inf"])).toBe(2);
    expect(Object.keys(latency.buckets)).toContain("0.005");
    expect(Number(latency.sum)).toBeGreaterThan(0);

    expect(grew("gvm_mutations_total", { mutation: "placeBid", code: "OK" })).toBe(1);
    expect(grew("gvm_mutations_total", { mutation: "checkout", code: "OK" })).toBe(1);
    expect(grew("gvm_mutations_total", { mutation: "cancelBid", code: "FORBIDDEN" })).toBe(1);
    expect(grew("gvm_bid_matches_total", { via: "placeBid" })).toBe(1);
    expect(grew("gvm_checkouts_total", { outcome: "PAID" })).toBe(1);
    expect(grew("gvm_subsidy_committed_fen", {})).toBe(Number(checkout.subsidy.fen));
    expect(grew("gvm_webhook_deliveries_total", { outcome: "not_configured" })).toBe(1);

    expect(after.value("gvm_database_up")).toBe(1);
    expect(after.value("gvm_db_pool_max_connections")).toBe(onPostgres ? 10 : 1);
    expect(grew("gvm_db_queries_total", {})).toBeGreaterThan(10);
    if (onPostgres) expect(after.samples("gvm_db_connections").length).toBeGreaterThan(0);
    expect(after.family("nodejs_eventloop_lag_seconds").type).toBe("GAUGE");
    expect(after.value("process_resident_memory_bytes")).toBeGreaterThan(0);
  });
});

describe("migrations on their own", () => {
  let database: Awaited<ReturnType<typeof emptyDatabase>>;
  beforeAll(async () => {
    database = await emptyDatabase();
  });
  afterAll(() => database?.drop());

  it(
    "MIGRATE_ON_START=false refuses a database behind; npm run db:migrate migrates it without a server; then it starts",
    async () => {
      const env = { ...database.env, ADMIN_TOKEN: ADMIN, SEED: "none", MAINTENANCE_INTERVAL_MS: "0" };
      const port = String(await freePort());
      const refused = await run(["dist/main.js"], { ...env, PORT: port, MIGRATE_ON_START: "false" });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        `start: ${MIGRATIONS.length} migration(s) not applied (${MIGRATIONS.map((m) => m.tag).join(", ")}) and ` +
          "MIGRATE_ON_START=false: run `npm run db:migrate` first\n",
      );

      const migrated = await run(["scripts/migrate.mjs"], env);
      expect([migrated.code, migrated.stderr]).toEqual([0, ""]);
      const lines = migrated.stdout.trimEnd().split("\n");
      expect(lines.map((line) => line.replace(/^\S+ /, ""))).toEqual([
        ...MIGRATIONS.map((m) => `applied ${m.tag}`),
        `${MIGRATIONS.length} migration(s) applied to ${onPostgres ? "PostgreSQL" : `PGlite in ${database.env.DATA_DIR}`}`,
      ]);
      for (const line of lines) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
      const again = await run(["scripts/migrate.mjs"], env);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/ is up to date\n$/);

      const server = await startProcess({ ...env, MIGRATE_ON_START: "false" });
      try {
        const ready = await fetch(`${server.url}/readyz`);
        expect(ready.status).toBe(200);
        expect(await server.ok(`{ gpuModels { name } }`)).toMatchObject({ gpuModels: expect.any(Array) });
      } finally {
        await server.stop();
      }
    },
    PROCESSES_MS,
  );
});

describe("a migration outside a transaction", () => {
  let database: Database;
  let drop = async () => {};
  let folder: string;
  beforeAll(async () => {
    if (onPostgres) {
      const fresh = await freshPostgresDatabase();
      drop = fresh.drop;
      database = await openDatabase({ databaseUrl: fresh.url, dataDir: "", poolSize: 2 });
    } else {
      database = await openDatabase({ dataDir: "memory://", poolSize: 1 });
    }
    folder = mkdtempSync(path.join(tmpdir(), "gvm-migrations-"));
  });
  afterAll(async () => {
    await database?.close();
    await drop();
    rmSync(folder, { recursive: true, force: true });
  });

  const write = (entries: [tag: string, when: number, text: string][]) => {
    mkdirSync(path.join(folder, "meta"), { recursive: true });
    const journal = { version: "7", dialect: "postgresql", entries: [] as unknown[] };
    entries.forEach(([tag, when, text], idx) => {
      journal.entries.push({ idx, version: "7", when, tag, breakpoints: true });
      writeFileSync(path.join(folder, `${tag}.sql`), text);
    });
    writeFileSync(path.join(folder, "meta", "_journal.json"), JSON.stringify(journal));
  };
  const table = `CREATE TABLE readings (id serial PRIMARY KEY, sensor int NOT NULL);
--> statement-breakpoint
INSERT INTO readings (sensor) SELECT i % 97 FROM generate_series(1, 5000) i;`;

  it("CREATE INDEX CONCURRENTLY runs when the migration says no-transaction, and is refused inside one", async () => {
    write([
      ["0000_readings", 1, table],
      ["0001_index_in_transaction", 2, "CREATE INDEX CONCURRENTLY readings_sensor_idx ON readings (sensor);"],
    ]);
    await expect(migrate(database, folder)).rejects.toThrow(/cannot run inside a transaction block/);
    // The first migration stays applied, the refused one is not recorded.
    expect(await pendingMigrations(database, folder)).toEqual(["0001_index_in_transaction"]);

    write([
      ["0000_readings", 1, table],
      [
        "0001_index_concurrently",
        2,
        "-- migrate: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS readings_sensor_idx;\n--> statement-breakpoint\n" +
          "CREATE INDEX CONCURRENTLY readings_sensor_idx ON readings (sensor);",
      ],
    ]);
    expect(await migrate(database, folder)).toEqual({ applied: ["0001_index_concurrently"] });
    expect(await pendingMigrations(database, folder)).toEqual([]);
    const session = await database.migrationSession();
    try {
      const [index] = await session.run(
        `select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = 'readings_sensor_idx'`,
      );
      expect(index).toEqual({ valid: true });
    } finally {
      await session.close();
    }
  });
});

describe("logs", () => {
  const env = {
    DATA_DIR: "memory://",
    SEED: "demo",
    LOG_LEVEL: "info",
    MAINTENANCE_INTERVAL_MS: "0",
  };

  it(
    "are JSON lines with ISO times when stdout is no terminal: one line per request, no generated admin token",
    async () => {
      const server = await startProcess({ ...env, SEED: "none" });
      try {
        const answer = await fetch(`${server.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-request-id": "ops-log-1" },
          body: JSON.stringify({ query: "query Models { gpuModels { name } }", operationName: "Models" }),
        });
        expect(answer.status).toBe(200);
        await fetch(`${server.url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-request-id": "ops-log-2" },
          body: JSON.stringify({ query: "query Broken { nope }" }),
        });
      } finally {
        await server.stop();
      }
      const lines = server
        .output()
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      for (const line of lines) expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(lines.find((l) => l.requestId === "ops-log-1")).toMatchObject({
        level: 30,
        msg: "request",
        operation: "Models",
        type: "query",
        code: "OK",
        ms: expect.any(Number),
      });
      expect(lines.find((l) => l.requestId === "ops-log-2")).toMatchObject({
        level: 30,
        operation: "Broken",
        code: "GRAPHQL_VALIDATION_FAILED",
      });
      expect(lines.find((l) => l.msg === "configuration")).toMatchObject({
        config: { adminToken: "(generated)", payments: "simulated", limitsShared: "no (counted in each process)" },
      });
      expect(lines.find((l) => String(l.msg).startsWith("admin token"))).toMatchObject({
        level: 40,
        msg: "admin token generated but not logged (stdout is no terminal): set ADMIN_TOKEN to choose one",
      });
      expect(server.output()).not.toMatch(/admin_[A-Za-z0-9_-]{20,}/);
    },
    PROCESSES_MS,
  );

  it(
    "are readable lines on a terminal, where the generated admin token is printed once",
    async () => {
      const port = await freePort();
      // `script` gives the server a terminal, as a person's shell would.
      const child = spawn("script", ["-qfec", `${process.execPath} dist/main.js`, "/dev/null"], {
        env: { PATH: process.env.PATH ?? "", TERM: "dumb", ...env, PORT: String(port) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk) => (output += chunk));
      try {
        for (const deadline = Date.now() + 120_000; !output.includes("demo tokens") && Date.now() < deadline;)
          await new Promise((resolve) => setTimeout(resolve, 100));
      } finally {
        child.kill("SIGTERM");
        await new Promise((resolve) => child.once("exit", resolve));
      }
      // eslint-disable-next-line no-control-regex
      const text = output.replace(/\u001b\[[0-9;]*m/g, "").replace(/\r/g, "");
      const tokens = text.match(/admin token \(generated; set ADMIN_TOKEN to choose one\): (admin_\S+)/g) ?? [];
      expect(tokens).toHaveLength(1);
      expect(text).toMatch(
        /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] INFO: GraphQL API at http:\/\/127\.0\.0\.1:\d+\/graphql$/m,
      );
      expect(text).toMatch(/INFO: demo tokens, one per role \(demo data only\): gvm_demo_sme_shanghai, /);
      for (const line of text.split("\n").filter((l) => l.startsWith("["))) expect(() => JSON.parse(line)).toThrow();
    },
    PROCESSES_MS,
  );
});
