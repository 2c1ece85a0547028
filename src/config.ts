// Process configuration, read once from the environment and checked as a whole (the README's
// table): every variable has a schema, and a bad value stops the start with one line per variable
// naming it and what is allowed (ConfigError; main.ts exits with code 2). An empty value is unset.
import { randomBytes } from "node:crypto";
import { billingTimeZoneProblem, DEFAULT_BILLING_TIME_ZONE } from "./time.js";
import { z } from "zod";
import { parseCorsOrigins } from "./web/cors.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

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
  /** Stripe's publishable key (pk_...), public by design: given to the console for Stripe.js. */
  stripePublishableKey: string | undefined;
  /** Lets a request set the clock with an `X-Now` header; for tests, never in production. */
  testClock: boolean;
  development: boolean;
  /** NODE_ENV=production: the checks below refuse what must not run there. */
  production: boolean;
  /** ALLOW_SIMULATED_PAYMENTS=1: a production-like deployment that knowingly has no real payments. */
  allowSimulatedPayments: boolean;
  /** Origins of browser pages that may call /graphql (CORS_ORIGINS); `*` = any. */
  corsOrigins: string[];
  dbPoolSize: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** `pretty` for people, `json` for collectors; `auto` = pretty when stdout is a terminal. */
  logFormat: "auto" | "pretty" | "json";
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
  /** Days after a rental ends in which its delivery is reported or disputed; then it is assumed in full. */
  deliveryReportDays: number;
  /** Stripe payment method types of the SME's share (STRIPE_PAYMENT_METHODS): card, alipay, wechat_pay. */
  stripePaymentMethods: PaymentMethodType[];
  /** The IANA zone of statement months, report months and days, and annual-cap years (BILLING_TIME_ZONE). */
  billingTimeZone: string;
  /** Applies the pending migrations at start (off when a release step runs `npm run db:migrate`). */
  migrateOnStart: boolean;
  /** Bearer token GET /metrics asks for; unset = open (keep the port private then). */
  metricsToken: string | undefined;
  /** Redis that every process counts its rate limits in; unset = each process counts its own. */
  redisUrl: string | undefined;
  /** Prefix of this deployment's keys in Redis (several deployments may share one Redis). */
  redisPrefix: string;
}

/** One line per bad variable: `HOLD_MINUTES=0: an integer from 1 to 1440 (minutes)`. */
export class ConfigError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join("\n"));
    this.name = "ConfigError";
  }
}

const count = (min: number, max: number) =>
  z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));

const flag = z.enum(["0", "1"]).transform((value) => value === "1");
const bool = z.enum(["true", "false", "1", "0"]).transform((value) => value === "true" || value === "1");

const urlWith = (protocols: string[]) =>
  z.string().refine((value) => {
    try {
      return protocols.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  });

/** The payment method types the server can offer through Stripe, for China. */
export const PAYMENT_METHOD_TYPES = ["card", "alipay", "wechat_pay"] as const;
export type PaymentMethodType = (typeof PAYMENT_METHOD_TYPES)[number];

/** "card,alipay , wechat_pay" -> the types, in that order, without repeats; throws on an unknown one or none. */
export function parsePaymentMethods(raw: string | undefined): PaymentMethodType[] {
  if (raw === undefined || raw.trim() === "") return ["card"];
  const types = [...new Set(raw.split(",").map((part) => part.trim()))].filter((part) => part !== "");
  for (const type of types) {
    if (!(PAYMENT_METHOD_TYPES as readonly string[]).includes(type))
      throw new Error(
        `STRIPE_PAYMENT_METHODS: unknown payment method ${JSON.stringify(type)}; use ${PAYMENT_METHOD_TYPES.join(", ")}`,
      );
  }
  if (types.length === 0) throw new Error(`STRIPE_PAYMENT_METHODS names no payment method`);
  return types as PaymentMethodType[];
}

/** Retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h: about 28 hours in all (Standard Webhooks' schedule). */
export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

/** Comma-separated seconds: `5,300,1800` (fractions for tests: `0.2,0.2`). */
const seconds = z
  .string()
  .regex(/^\s*\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*\s*$/)
  .transform((value) => value.split(",").map((part) => Number(part.trim())));

interface Variable {
  schema: z.ZodType;
  /** What is allowed, as the error line says it. */
  allowed: string;
  /** Its value is never written anywhere, also not in an error line. */
  secret?: boolean;
  /** What exactly is wrong with a refused value, when `allowed` alone would not say it. */
  explain?: (raw: string) => string | null;
}

const VARIABLES = {
  PORT: { schema: count(0, 65535), allowed: "a port number from 0 to 65535 (0 = any free port)" },
  DATABASE_URL: {
    schema: urlWith(["postgres:", "postgresql:"]),
    allowed: "a PostgreSQL URL like postgres://user:password@host:5432/database, or unset for embedded PGlite",
    secret: true,
  },
  DATA_DIR: { schema: z.string(), allowed: "a directory, or memory:// (nothing kept)" },
  DB_POOL_SIZE: { schema: count(1, 1000), allowed: "an integer from 1 to 1000 (connections per process)" },
  SEED: { schema: z.enum(["demo", "none"]), allowed: "demo or none" },
  ADMIN_TOKEN: {
    schema: z.string().min(16).regex(/^\S+$/),
    allowed: "at least 16 characters without spaces (e.g. openssl rand -hex 24)",
    secret: true,
  },
  HOLD_MINUTES: { schema: count(1, 1440), allowed: "an integer from 1 to 1440 (minutes a match is held)" },
  RATE_LIMIT_PER_MINUTE: { schema: count(0, 1e9), allowed: "a non-negative integer (0 = off)" },
  QUERY_POINTS_PER_MINUTE: { schema: count(0, 1e12), allowed: "a non-negative integer (0 = off)" },
  AUTH_FAILURES_PER_MINUTE: { schema: count(0, 1e9), allowed: "a non-negative integer (0 = off)" },
  STRIPE_SECRET_KEY: {
    schema: z.string().regex(/^(sk|rk)_(test|live)_\S+$/),
    allowed: "a Stripe secret or restricted key (sk_live_..., sk_test_..., rk_...)",
    secret: true,
  },
  STRIPE_WEBHOOK_SECRET: {
    schema: z.string().regex(/^whsec_\S+$/),
    allowed: "a Stripe webhook signing secret (whsec_...)",
    secret: true,
  },
  STRIPE_PUBLISHABLE_KEY: {
    schema: z.string().regex(/^pk_(test|live)_\S+$/),
    allowed: "a Stripe publishable key (pk_live_..., pk_test_...), with STRIPE_SECRET_KEY",
  },
  STRIPE_API_BASE: { schema: urlWith(["http:", "https:"]), allowed: "an http(s) URL" },
  MAINTENANCE_INTERVAL_MS: {
    schema: count(0, 86_400_000),
    allowed: "milliseconds from 0 (never) to 86400000 (a day)",
  },
  LOG_LEVEL: { schema: z.enum(LOG_LEVELS), allowed: LOG_LEVELS.join(", ") },
  LOG_FORMAT: { schema: z.enum(["auto", "pretty", "json"]), allowed: "auto, pretty or json" },
  CORS_ORIGINS: {
    schema: z.string().transform((value, ctx) => {
      try {
        return parseCorsOrigins(value);
      } catch {
        ctx.addIssue({ code: "custom", message: "not an origin" });
        return z.NEVER;
      }
    }),
    allowed: "comma-separated origins like https://app.example.com (scheme, host and port only), or *",
  },
  NODE_ENV: { schema: z.enum(["production", "development", "test"]), allowed: "production, development or test" },
  ENABLE_TEST_CLOCK: { schema: flag, allowed: "1 or 0" },
  ALLOW_SIMULATED_PAYMENTS: { schema: flag, allowed: "1 or 0" },
  HOLD_EXPIRING_MINUTES: {
    schema: count(1, 1440),
    allowed: "an integer from 1 to 1440 (minutes before a hold lapses that the SME is told)",
  },
  EVENT_RETENTION_DAYS: { schema: count(1, 3650), allowed: "an integer from 1 to 3650 (days events are kept)" },
  WEBHOOK_ALLOW_PRIVATE: { schema: flag, allowed: "1 or 0" },
  WEBHOOK_TIMEOUT_MS: { schema: count(100, 120_000), allowed: "milliseconds from 100 to 120000" },
  WEBHOOK_RETRY_SCHEDULE: { schema: seconds, allowed: "comma-separated seconds, e.g. 5,300,1800" },
  WEBHOOK_POLL_MS: { schema: count(0, 3_600_000), allowed: "milliseconds from 0 (only when woken) to 3600000" },
  WS_CONNECTIONS_PER_KEY: { schema: count(1, 10_000), allowed: "an integer from 1 to 10000" },
  WS_SUBSCRIPTIONS_PER_CONNECTION: { schema: count(1, 1_000), allowed: "an integer from 1 to 1000" },
  DELIVERY_REPORT_DAYS: {
    schema: count(0, 365),
    allowed: "an integer from 0 to 365 (days to report or dispute a delivery)",
  },
  STRIPE_PAYMENT_METHODS: {
    schema: z.string().transform((value, ctx) => {
      try {
        return parsePaymentMethods(value);
      } catch {
        ctx.addIssue({ code: "custom", message: "not a payment method list" });
        return z.NEVER;
      }
    }),
    allowed: `comma-separated payment methods from ${PAYMENT_METHOD_TYPES.join(", ")} (default card)`,
  },
  BILLING_TIME_ZONE: {
    schema: z.string().refine((value) => billingTimeZoneProblem(value) == null),
    allowed: "an IANA time zone a whole number of hours from UTC, e.g. Asia/Shanghai (the default)",
    explain: billingTimeZoneProblem,
  },
  MIGRATE_ON_START: { schema: bool, allowed: "true or false" },
  METRICS_TOKEN: {
    schema: z.string().min(16).regex(/^\S+$/),
    allowed: "at least 16 characters without spaces",
    secret: true,
  },
  REDIS_URL: {
    schema: urlWith(["redis:", "rediss:"]),
    allowed: "a Redis URL like redis://host:6379 or rediss://user:password@host:6380",
    secret: true,
  },
  REDIS_PREFIX: {
    schema: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/),
    allowed: "1 to 64 letters, digits, _ . : or -",
  },
} satisfies Record<string, Variable>;

type Name = keyof typeof VARIABLES;
type Parsed = { [K in Name]: z.output<(typeof VARIABLES)[K]["schema"]> | undefined };

/** The variables the server reads, for the docs test and the start-up log. */
export const CONFIG_VARIABLES = Object.keys(VARIABLES) as Name[];

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const parsed = {} as Parsed;
  for (const name of CONFIG_VARIABLES) {
    const variable: Variable = VARIABLES[name];
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    const result = variable.schema.safeParse(raw);
    if (result.success) (parsed as Record<string, unknown>)[name] = result.data;
    else
      problems.push(
        `${name}=${variable.secret ? "(hidden)" : JSON.stringify(raw)}: ${variable.explain?.(raw) ?? variable.allowed}`,
      );
  }

  // What must not run in production, checked once each variable is valid.
  const production = parsed.NODE_ENV === "production";
  const allowSimulated = parsed.ALLOW_SIMULATED_PAYMENTS === true;
  if (production && !allowSimulated) {
    if (parsed.ENABLE_TEST_CLOCK)
      problems.push(
        "ENABLE_TEST_CLOCK=1: refused with NODE_ENV=production (any caller could choose the time); " +
          "unset it, or set ALLOW_SIMULATED_PAYMENTS=1 for a staging deployment",
      );
    if (!env.STRIPE_SECRET_KEY)
      problems.push(
        "STRIPE_SECRET_KEY: required with NODE_ENV=production, else every payment is simulated and succeeds; " +
          "set it, or set ALLOW_SIMULATED_PAYMENTS=1 for a staging deployment",
      );
  }
  if (parsed.STRIPE_PUBLISHABLE_KEY && !parsed.STRIPE_SECRET_KEY)
    problems.push(
      "STRIPE_PUBLISHABLE_KEY: set without STRIPE_SECRET_KEY; payments are simulated, so the console would load Stripe.js for nothing",
    );
  if (production && !env.ADMIN_TOKEN)
    problems.push(
      "ADMIN_TOKEN: required with NODE_ENV=production (a generated one would differ in every process and be lost at restart); " +
        "at least 16 characters, e.g. openssl rand -hex 24",
    );
  if (problems.length) throw new ConfigError(problems);

  const adminToken = parsed.ADMIN_TOKEN ?? `admin_${randomBytes(24).toString("base64url")}`;
  return {
    port: parsed.PORT ?? 4000,
    databaseUrl: parsed.DATABASE_URL,
    dataDir: parsed.DATA_DIR ?? ".data",
    seed: parsed.SEED ?? "demo",
    adminToken,
    adminTokenGenerated: parsed.ADMIN_TOKEN === undefined,
    holdMinutes: parsed.HOLD_MINUTES ?? 15,
    rateLimitPerMinute: parsed.RATE_LIMIT_PER_MINUTE ?? 600,
    queryPointsPerMinute: parsed.QUERY_POINTS_PER_MINUTE ?? 100_000,
    authFailuresPerMinute: parsed.AUTH_FAILURES_PER_MINUTE ?? 30,
    stripeSecretKey: parsed.STRIPE_SECRET_KEY,
    stripeWebhookSecret: parsed.STRIPE_WEBHOOK_SECRET,
    stripeApiBase: parsed.STRIPE_API_BASE,
    stripePublishableKey: parsed.STRIPE_PUBLISHABLE_KEY,
    testClock: parsed.ENABLE_TEST_CLOCK ?? false,
    development: parsed.NODE_ENV === "development",
    production,
    allowSimulatedPayments: allowSimulated,
    corsOrigins: parsed.CORS_ORIGINS ?? [],
    dbPoolSize: parsed.DB_POOL_SIZE ?? 10,
    logLevel: parsed.LOG_LEVEL ?? "info",
    logFormat: parsed.LOG_FORMAT ?? "auto",
    maintenanceIntervalMs: parsed.MAINTENANCE_INTERVAL_MS ?? 30_000,
    holdExpiringMinutes: parsed.HOLD_EXPIRING_MINUTES ?? 5,
    eventRetentionDays: parsed.EVENT_RETENTION_DAYS ?? 30,
    webhookAllowPrivate: parsed.WEBHOOK_ALLOW_PRIVATE ?? false,
    webhookTimeoutMs: parsed.WEBHOOK_TIMEOUT_MS ?? 10_000,
    webhookRetrySchedule: parsed.WEBHOOK_RETRY_SCHEDULE ?? DEFAULT_RETRY_SCHEDULE,
    webhookPollMs: parsed.WEBHOOK_POLL_MS ?? 1_000,
    wsConnectionsPerKey: parsed.WS_CONNECTIONS_PER_KEY ?? 20,
    wsSubscriptionsPerConnection: parsed.WS_SUBSCRIPTIONS_PER_CONNECTION ?? 20,
    deliveryReportDays: parsed.DELIVERY_REPORT_DAYS ?? 3,
    stripePaymentMethods: parsed.STRIPE_PAYMENT_METHODS ?? ["card"],
    billingTimeZone: parsed.BILLING_TIME_ZONE ?? DEFAULT_BILLING_TIME_ZONE,
    migrateOnStart: parsed.MIGRATE_ON_START ?? true,
    metricsToken: parsed.METRICS_TOKEN,
    redisUrl: parsed.REDIS_URL,
    redisPrefix: parsed.REDIS_PREFIX ?? "gvm",
  };
}

/** The effective configuration for the start-up log: secrets only say whether they are set. */
export function describeConfig(config: Config): Record<string, unknown> {
  const set = (value: string | undefined) => (value ? "(set)" : "(unset)");
  const host = (url: string | undefined) => {
    if (!url) return "(unset)";
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`; // no user or password
  };
  return {
    port: config.port,
    database: config.databaseUrl ? host(config.databaseUrl) : `pglite:${config.dataDir}`,
    dbPoolSize: config.dbPoolSize,
    seed: config.seed,
    adminToken: config.adminTokenGenerated ? "(generated)" : "(set)",
    holdMinutes: config.holdMinutes,
    rateLimitPerMinute: config.rateLimitPerMinute,
    queryPointsPerMinute: config.queryPointsPerMinute,
    authFailuresPerMinute: config.authFailuresPerMinute,
    limitsShared: config.redisUrl ? `redis ${host(config.redisUrl)}` : "no (counted in each process)",
    payments: config.stripeSecretKey ? "stripe" : "simulated",
    stripeWebhookSecret: set(config.stripeWebhookSecret),
    stripeApiBase: config.stripeApiBase ?? "(default)",
    stripePublishableKey: config.stripePublishableKey ? "(set)" : "(unset)",
    testClock: config.testClock,
    nodeEnv: config.production ? "production" : config.development ? "development" : "(unset)",
    allowSimulatedPayments: config.allowSimulatedPayments,
    corsOrigins: config.corsOrigins,
    logLevel: config.logLevel,
    maintenanceIntervalMs: config.maintenanceIntervalMs,
    holdExpiringMinutes: config.holdExpiringMinutes,
    eventRetentionDays: config.eventRetentionDays,
    webhookAllowPrivate: config.webhookAllowPrivate,
    deliveryReportDays: config.deliveryReportDays,
    stripePaymentMethods: config.stripePaymentMethods,
    billingTimeZone: config.billingTimeZone,
    migrateOnStart: config.migrateOnStart,
    metricsToken: set(config.metricsToken),
  };
}
