// Process configuration, read once from the environment (see the README's table).
import { randomBytes } from "node:crypto";
import { parseCorsOrigins } from "./web/cors.js";
import { billingTimeZoneProblem, DEFAULT_BILLING_TIME_ZONE } from "./time.js";

export interface Config {
  port: number;
  databaseUrl: string | undefined;
  dataDir: string;
  seed: "demo" | "none";
  adminToken: string;
  adminTokenGenerated: boolean;
  holdMinutes: number;
  rateLimitPerMinute: number;
  /** Cost points each client may spend per minute; 0 = off. */
  queryPointsPerMinute: number;
  /** Failed authentications per client IP per minute before it is refused without a lookup; 0 = off. */
  authFailuresPerMinute: number;
  stripeSecretKey: string | undefined;
  stripeWebhookSecret: string | undefined;
  stripeApiBase: string | undefined;
  /** Lets a request set the clock with an `X-Now` header; for tests, never in production. */
  testClock: boolean;
  development: boolean;
  /** Origins of browser pages that may call /graphql (CORS_ORIGINS); `*` = any. */
  corsOrigins: string[];
  dbPoolSize: number;
  logLevel: string;
  maintenanceIntervalMs: number;
  /** The IANA zone of statement months, report months and days, and annual-cap years (BILLING_TIME_ZONE). */
  billingTimeZone: string;
}

function int(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a non-negative integer`);
  return Number(raw);
}

function timeZone(name: string, fallback: string, env: NodeJS.ProcessEnv): string {
  const value = env[name] || fallback;
  const problem = billingTimeZoneProblem(value);
  if (problem) throw new Error(`${name}: ${problem}`);
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const adminToken = env.ADMIN_TOKEN || `admin_${randomBytes(24).toString("base64url")}`;
  return {
    port: int("PORT", 4000, env),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.DATA_DIR || ".data",
    seed: env.SEED === "none" ? "none" : "demo",
    adminToken,
    adminTokenGenerated: !env.ADMIN_TOKEN,
    holdMinutes: int("HOLD_MINUTES", 15, env),
    rateLimitPerMinute: int("RATE_LIMIT_PER_MINUTE", 600, env),
    queryPointsPerMinute: int("QUERY_POINTS_PER_MINUTE", 100_000, env),
    authFailuresPerMinute: int("AUTH_FAILURES_PER_MINUTE", 30, env),
    stripeSecretKey: env.STRIPE_SECRET_KEY || undefined,
    stripeWebhookSecret: env.STRIPE_WEBHOOK_SECRET || undefined,
    stripeApiBase: env.STRIPE_API_BASE || undefined,
    testClock: env.ENABLE_TEST_CLOCK === "1",
    development: env.NODE_ENV === "development",
    corsOrigins: parseCorsOrigins(env.CORS_ORIGINS),
    dbPoolSize: int("DB_POOL_SIZE", 10, env),
    logLevel: env.LOG_LEVEL || "info",
    maintenanceIntervalMs: int("MAINTENANCE_INTERVAL_MS", 30_000, env),
    billingTimeZone: timeZone("BILLING_TIME_ZONE", DEFAULT_BILLING_TIME_ZONE, env),
  };
}
