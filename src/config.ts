// Process configuration, read once from the environment (see the README's table).
import { randomBytes } from "node:crypto";
import { parseCorsOrigins } from "./web/cors.js";

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
  /** How long before a hold lapses reservation.hold_expiring is sent. */
  holdExpiringMinutes: number;
  /** Events older than this, with no delivery still pending, are pruned by maintenance. */
  eventRetentionDays: number;
  /** Lets webhooks go to loopback, link-local and private addresses (tests, a private network). */
  webhookAllowPrivate: boolean;
  /** How long one webhook attempt may take before it counts as failed. */
  webhookTimeoutMs: number;
  /** Seconds to wait before each retry of a failed delivery; the endpoint is failing after the last. */
  webhookRetrySchedule: number[];
  /** How often each process looks for deliveries due (retries); new events wake it at once. */
  webhookPollMs: number;
  /** WebSocket connections each API key may hold on one process. */
  wsConnectionsPerKey: number;
  /** Subscriptions one WebSocket connection may run at once. */
  wsSubscriptionsPerConnection: number;
}

/** Retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: about 28 hours in all (Standard Webhooks' schedule). */
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

function schedule(name: string, fallback: number[], env: NodeJS.ProcessEnv): number[] {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const values = raw.split(",").map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isFinite(value) || value < 0))
    throw new Error(`${name} must be a comma-separated list of seconds`);
  return values;
}

function int(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a non-negative integer`);
  return Number(raw);
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
    holdExpiringMinutes: int("HOLD_EXPIRING_MINUTES", 5, env),
    eventRetentionDays: int("EVENT_RETENTION_DAYS", 30, env),
    webhookAllowPrivate: env.WEBHOOK_ALLOW_PRIVATE === "1",
    webhookTimeoutMs: int("WEBHOOK_TIMEOUT_MS", 10_000, env),
    webhookRetrySchedule: schedule("WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE, env),
    webhookPollMs: int("WEBHOOK_POLL_MS", 1_000, env),
    wsConnectionsPerKey: int("WS_CONNECTIONS_PER_KEY", 20, env),
    wsSubscriptionsPerConnection: int("WS_SUBSCRIPTIONS_PER_CONNECTION", 20, env),
  };
}
