// The configuration as an operator meets it: each bad value stops `node dist/main.js` at once
// with exit code 2 and one line naming the variable and what is allowed; no stack trace; secrets
// are never echoed. Good values load, and production refuses what must not run there.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, ConfigError, describeConfig, loadConfig } from "../src/config.js";

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runMain(env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["dist/main.js"], {
      env: { PATH: process.env.PATH ?? "", DATA_DIR: "memory://", PORT: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    // A valid configuration would start a server: it is stopped once it says so.
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const PRODUCTION = {
  NODE_ENV: "production",
  ADMIN_TOKEN: "production-admin-token-0123456789",
  STRIPE_SECRET_KEY: "sk_live_config_test",
};

// [environment, the one line expected on stderr]
const BAD: [Record<string, string>, string][] = [
  [{ LOG_LEVEL: "verbose" }, `LOG_LEVEL="verbose": fatal, error, warn, info, debug, trace, silent`],
  [{ HOLD_MINUTES: "0" }, `HOLD_MINUTES="0": an integer from 1 to 1440 (minutes a match is held)`],
  [{ HOLD_MINUTES: "15m" }, `HOLD_MINUTES="15m": an integer from 1 to 1440 (minutes a match is held)`],
  [{ PORT: "70000" }, `PORT="70000": a port number from 0 to 65535 (0 = any free port)`],
  [{ DB_POOL_SIZE: "0" }, `DB_POOL_SIZE="0": an integer from 1 to 1000 (connections per process)`],
  [{ SEED: "all" }, `SEED="all": demo or none`],
  [{ RATE_LIMIT_PER_MINUTE: "-1" }, `RATE_LIMIT_PER_MINUTE="-1": a non-negative integer (0 = off)`],
  [{ QUERY_POINTS_PER_MINUTE: "1e5" }, `QUERY_POINTS_PER_MINUTE="1e5": a non-negative integer (0 = off)`],
  [{ AUTH_FAILURES_PER_MINUTE: "many" }, `AUTH_FAILURES_PER_MINUTE="many": a non-negative integer (0 = off)`],
  [
    { MAINTENANCE_INTERVAL_MS: "1.5" },
    `MAINTENANCE_INTERVAL_MS="1.5": milliseconds from 0 (never) to 86400000 (a day)`,
  ],
  [{ LOG_FORMAT: "text" }, `LOG_FORMAT="text": auto, pretty or json`],
  [{ NODE_ENV: "prod" }, `NODE_ENV="prod": production, development or test`],
  [{ ENABLE_TEST_CLOCK: "yes" }, `ENABLE_TEST_CLOCK="yes": 1 or 0`],
  [{ ALLOW_SIMULATED_PAYMENTS: "true" }, `ALLOW_SIMULATED_PAYMENTS="true": 1 or 0`],
  [{ MIGRATE_ON_START: "later" }, `MIGRATE_ON_START="later": true or false`],
  [{ STRIPE_API_BASE: "localhost:12111" }, `STRIPE_API_BASE="localhost:12111": an http(s) URL`],
  [
    { STRIPE_SECRET_KEY: "sk_test_abc", STRIPE_PUBLISHABLE_KEY: "sk_test_abc" },
    `STRIPE_PUBLISHABLE_KEY="sk_test_abc": a Stripe publishable key (pk_live_..., pk_test_...), with STRIPE_SECRET_KEY`,
  ],
  [
    { STRIPE_PUBLISHABLE_KEY: "pk_test_abc" },
    "STRIPE_PUBLISHABLE_KEY: set without STRIPE_SECRET_KEY; payments are simulated, so the console would load Stripe.js for nothing",
  ],
  [
    { CORS_ORIGINS: "https://app.example.com/path" },
    `CORS_ORIGINS="https://app.example.com/path": comma-separated origins like https://app.example.com (scheme, host and port only), or *`,
  ],
  [{ REDIS_PREFIX: "a b" }, `REDIS_PREFIX="a b": 1 to 64 letters, digits, _ . : or -`],
  // Secrets: named, never echoed.
  [
    { DATABASE_URL: "mysql://user:hunter2-secret@db/market" },
    `DATABASE_URL=(hidden): a PostgreSQL URL like postgres://user:password@host:5432/database, or unset for embedded PGlite`,
  ],
  [
    { REDIS_URL: "http://user:hunter2-secret@cache:6379" },
    `REDIS_URL=(hidden): a Redis URL like redis://host:6379 or rediss://user:password@host:6380`,
  ],
  [
    { STRIPE_SECRET_KEY: "pk_test_hunter2-secret" },
    `STRIPE_SECRET_KEY=(hidden): a Stripe secret or restricted key (sk_live_..., sk_test_..., rk_...)`,
  ],
  [
    { STRIPE_WEBHOOK_SECRET: "hunter2-secret" },
    `STRIPE_WEBHOOK_SECRET=(hidden): a Stripe webhook signing secret (whsec_...)`,
  ],
  [
    { ADMIN_TOKEN: "hunter2-secret" },
    `ADMIN_TOKEN=(hidden): at least 16 characters without spaces (e.g. openssl rand -hex 24)`,
  ],
  [{ METRICS_TOKEN: "hunter2-secret" }, `METRICS_TOKEN=(hidden): at least 16 characters without spaces`],
  // What production refuses.
  [
    { ...PRODUCTION, ENABLE_TEST_CLOCK: "1" },
    "ENABLE_TEST_CLOCK=1: refused with NODE_ENV=production (any caller could choose the time); unset it, or set ALLOW_SIMULATED_PAYMENTS=1 for a staging deployment",
  ],
  [
    { ...PRODUCTION, STRIPE_SECRET_KEY: "" },
    "STRIPE_SECRET_KEY: required with NODE_ENV=production, else every payment is simulated and succeeds; set it, or set ALLOW_SIMULATED_PAYMENTS=1 for a staging deployment",
  ],
  [
    { ...PRODUCTION, ADMIN_TOKEN: "" },
    "ADMIN_TOKEN: required with NODE_ENV=production (a generated one would differ in every process and be lost at restart); at least 16 characters, e.g. openssl rand -hex 24",
  ],
];

describe("a bad configuration value", () => {
  it.each(BAD)(
    "%j stops the server with exit code 2 and one line",
    async (env, line) => {
      const run = await runMain(env);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`configuration: ${line}\n`);
      expect(run.stdout).toBe("");
      expect(`${run.stdout}${run.stderr}`).not.toContain("hunter2");
    },
    120_000,
  );

  it("names every bad variable, one line each", async () => {
    const run = await runMain({ LOG_LEVEL: "verbose", HOLD_MINUTES: "0", PORT: "http" });
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split("\n")).toEqual([
      `configuration: PORT="http": a port number from 0 to 65535 (0 = any free port)`,
      `configuration: HOLD_MINUTES="0": an integer from 1 to 1440 (minutes a match is held)`,
      `configuration: LOG_LEVEL="verbose": fatal, error, warn, info, debug, trace, silent`,
    ]);
  });
});

describe("loading the configuration", () => {
  it("reads good values, treats empty ones as unset, and describes itself without secrets", () => {
    const config = loadConfig({
      PORT: "8080",
      HOLD_MINUTES: "30",
      LOG_LEVEL: "debug",
      SEED: "none",
      MIGRATE_ON_START: "false",
      ADMIN_TOKEN: "a-very-secret-admin-token",
      DATABASE_URL: "postgres://market:db-password@db.internal:5432/market",
      REDIS_URL: "redis://:redis-password@cache.internal:6379",
      METRICS_TOKEN: "a-very-secret-metrics-token",
      CORS_ORIGINS: "https://desk.example.com",
      RATE_LIMIT_PER_MINUTE: "",
    });
    expect(config).toMatchObject({
      port: 8080,
      holdMinutes: 30,
      logLevel: "debug",
      seed: "none",
      migrateOnStart: false,
      adminTokenGenerated: false,
      rateLimitPerMinute: 600,
      corsOrigins: ["https://desk.example.com"],
      redisPrefix: "gvm",
    });
    const described = JSON.stringify(describeConfig(config));
    for (const secret of ["a-very-secret", "db-password", "redis-password"]) expect(described).not.toContain(secret);
    expect(describeConfig(config)).toMatchObject({
      database: "postgres://db.internal:5432/market",
      limitsShared: "redis redis://cache.internal:6379",
      adminToken: "(set)",
      metricsToken: "(set)",
    });
  });

  it("lets a staging deployment run production with simulated payments and the test clock, when it says so", () => {
    const config = loadConfig({
      NODE_ENV: "production",
      ADMIN_TOKEN: "staging-admin-token-0123",
      ALLOW_SIMULATED_PAYMENTS: "1",
      ENABLE_TEST_CLOCK: "1",
    });
    expect(config).toMatchObject({ production: true, testClock: true, stripeSecretKey: undefined });
    expect(() => loadConfig({ NODE_ENV: "production", ADMIN_TOKEN: "staging-admin-token-0123" })).toThrow(ConfigError);
  });
});

describe("the configuration table (docs/operations.md)", () => {
  it("lists every variable the server reads", () => {
    const operations = readFileSync("docs/operations.md", "utf8");
    const table = operations.slice(
      operations.indexOf("## Configuration variables"),
      operations.indexOf("## Configuration is checked at start"),
    );
    for (const name of CONFIG_VARIABLES) expect(table, name).toContain(`\`${name}\``);
  });
});
