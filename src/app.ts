// The HTTP server: /graphql (Apollo; plain JSON POSTs by graphql/http.ts, repeated queries by graphql/known-queries.ts),
// POST /webhooks/stripe (raw body), GET /healthz, GET /readyz, GET /metrics, POST /imports/offers (CSV); what browsers get (CORS, the explorer, the landing page) by web/browser.ts.
import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from "@apollo/server/plugin/disabled";
import express from "express";
import type { Config } from "./config.js";
import { openDatabase, type Database } from "./db/client.js";
import { migrate, pendingMigrations } from "./db/migrate.js";
import { driverPatch } from "./db/postgres-driver.js";
import { ensureReferenceData } from "./db/reference.js";
import { isEmpty, seedDemo } from "./db/seed.js";
import { Authenticator } from "./accounts/auth.js";
import { bearerToken } from "./accounts/tokens.js";
import type { Context } from "./graphql/context.js";
import { compiledExecution } from "./graphql/executor.js";
import { KnownQueries } from "./graphql/known-queries.js";
import { formatError, httpAnswerOf, httpError, rateLimited, unauthenticated } from "./graphql/errors.js";
import { MAX_TOKENS, queryShape } from "./graphql/limits.js";
import {
  graphqlAnswer,
  isPlainGraphqlPost,
  MAX_BODY_BYTES,
  plainGraphqlPost,
  sendBodyError,
  sendClientError,
} from "./graphql/http.js";
import { Loaders } from "./graphql/loaders.js";
import {
  AuthFailureLimit,
  CountLimit,
  MemoryLimitStore,
  RedisLimitStore,
  RequestJudge,
  requestLimits,
  type LimitStore,
} from "./graphql/rate-limit.js";
import { requestLog } from "./graphql/request-log.js";
import { buildSchema } from "./graphql/schema.js";
import { Catalog } from "./offers/catalog.js";
import { createLogger, type Logger } from "./logger.js";
import { Metrics } from "./metrics.js";
import { startMaintenanceTimer } from "./maintenance/maintenance.js";
import { rematcherFor } from "./bids/rematch.js";
import { bidsMaintenanceTasks } from "./bids/sweeper.js";
import { createPaymentProvider } from "./payments/payments.service.js";
import { noPaymentEvents } from "./payments/provider.js";
import { reconcilerTask } from "./checkout/reconciler.js";
import { deliveriesTask } from "./delivery/delivery.service.js";
import { paymentEventsFor } from "./checkout/webhook-handler.js";
import { stripeWebhookRoute } from "./payments/webhook.route.js";
import { MAX_IMPORT_BYTES, offersImportRoute } from "./offers/import.route.js";
import type { AppServices } from "./services.js";
import { browserFront } from "./web/browser.js";
import { EventStream } from "./events/stream.js";
import { eventsMaintenanceTasks } from "./events/maintenance.js";
import { serveSubscriptions, type Subscriptions } from "./graphql/ws.js";
import { DeliveryWorker } from "./webhooks/worker.js";
import { exportsRouter, type Caller } from "./exports/exports.route.js";
import { configureBillingTimeZone } from "./time.js";
import { useBillingZone } from "./reports/reports.queries.js";

export interface App {
  services: AppServices;
  logger: Logger;
  seeded: boolean;
  /** Listens on the port (0 = any free one) and returns the base URL. */
  listen(port: number): Promise<string>;
  /** Stops accepting, lets requests in flight finish, then closes the database. */
  close(): Promise<void>;
}

function databaseUnavailable(): never {
  throw httpError("SERVICE_UNAVAILABLE", "The database is unavailable; retry shortly", 503);
}

/** Why the server cannot start, in one line for the operator (main.ts prints it and exits 1). */
export class StartupError extends Error {
  override name = "StartupError";
}

/** Whether an Authorization header carries exactly this bearer token (in constant time). */
function bearerMatches(header: string | undefined, token: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(bearerToken(header) ?? ""), digest(token));
}

/** The rate limits' counters: in Redis, shared by every process, when REDIS_URL is set. */
async function limitStoreFor(config: Config, logger: Logger, metrics: Metrics): Promise<LimitStore> {
  if (!config.redisUrl) return new MemoryLimitStore();
  const { createClient } = await import("@redis/client");
  const redis = createClient({
    url: config.redisUrl,
    // While Redis is away a command fails at once (the request passes) rather than waiting in a queue.
    disableOfflineQueue: true,
    socket: { connectTimeout: 2_000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000) },
  });
  let lastError = 0;
  redis.on("error", (error: unknown) => {
    if (Date.now() - lastError < 60_000) return;
    lastError = Date.now();
    logger.warn({ err: error }, "rate limits: Redis connection failed; retrying");
  });
  const connected = redis.connect().then(
    () => true,
    () => false,
  );
  if (!(await Promise.race([connected, sleep(3_000).then(() => false)])))
    logger.warn("rate limits: Redis not reachable yet; requests pass unlimited until it is");
  return new RedisLimitStore(redis as never, logger, () => metrics.rateLimitStoreError(), config.redisPrefix);
}

/** Opens the database, migrates and seeds it, and builds the server (not yet listening). */
export async function createApp(config: Config): Promise<App> {
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  configureBillingTimeZone(config.billingTimeZone);
  const database: Database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.dbPoolSize,
  });
  const db = database.db;
  if (database.kind === "postgres" && !driverPatch.applied) {
    logger.warn(
      { driver: `postgres@${driverPatch.version}`, unmatchedPatterns: driverPatch.unmatched },
      "the postgres driver's connection-loss fixes did not apply (its code changed): a PostgreSQL restart may " +
        "crash or stall this process; see docs/decisions/0011",
    );
  }

  let seeded = false;
  try {
    await database.migrateWithLock(async () => {
      if (config.migrateOnStart) {
        await migrate(database, undefined, (tag) => logger.info({ migration: tag }, "migration applied"));
      } else {
        const pending = await pendingMigrations(database);
        if (pending.length)
          throw new StartupError(
            `${pending.length} migration(s) not applied (${pending.join(", ")}) and MIGRATE_ON_START=false: ` +
              "run `npm run db:migrate` first",
          );
      }
      // Billing days and months follow BILLING_TIME_ZONE; a changed zone re-counts them once.
      const before = await db.transaction((tx) => useBillingZone(tx, config.billingTimeZone));
      if (before !== config.billingTimeZone)
        logger.info(
          { from: before, to: config.billingTimeZone },
          "billing days and months now counted in the billing time zone",
        );
      await ensureReferenceData(db);
      if (config.seed === "demo" && (await isEmpty(db))) {
        await db.transaction((tx) => seedDemo(tx, new Date()));
        seeded = true;
      }
    });
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }

  const metrics = new Metrics(database, config.dbPoolSize);

  const services: AppServices = {
    config,
    database,
    db,
    catalog: await Catalog.load(db),
    // Domain wiring: what runs when capacity is freed, and the periodic maintenance tasks.
    afterCapacityFreed: rematcherFor(logger),
    // Payments first: an order settled by the provider keeps its reservation out of the hold sweep.
    // Holds lapse (bidsMaintenanceTasks) after their warnings are recorded.
    maintenanceTasks: [reconcilerTask, ...eventsMaintenanceTasks, ...bidsMaintenanceTasks, deliveriesTask],
    payments: createPaymentProvider(config),
    paymentEvents: noPaymentEvents,
    events: new EventStream(database, logger),
    webhooks: undefined as unknown as DeliveryWorker,
    meters: metrics,
  };
  services.webhooks = new DeliveryWorker(services, logger);
  // A notification of an event with deliveries wakes this process's worker (every process's races; SKIP LOCKED shares).
  services.events.onDeliveries = () => services.webhooks.wake();
  // The webhook handler settles orders with these very services, so it is wired once they exist.
  services.paymentEvents = paymentEventsFor(services, logger);
  const authenticator = new Authenticator(db, config.adminToken);
  const limitStore = await limitStoreFor(config, logger, metrics);
  const authFailures = new AuthFailureLimit(limitStore, config.authFailuresPerMinute);
  // Mutations per key and IP outside GraphQL (the CSV import), counted with GraphQL's.
  const importMutations = new CountLimit(limitStore, "mutations", config.rateLimitPerMinute);

  const expressApp = express();
  expressApp.disable("x-powered-by");
  // Express hashes every answer for an ETag, which no GraphQL POST can use: 2.7 MB for a year's report.
  expressApp.disable("etag");
  // Express until the GraphQL route is ready below; then the lean route for plain GraphQL POSTs.
  let serveRequest: http.RequestListener = expressApp;
  // CORS on /graphql, the explorer, the landing page: ahead of both GraphQL routes.
  const browser = browserFront(config, logger);
  const httpServer = http.createServer(
    { requestTimeout: 30_000, headersTimeout: 10_000 },
    (req, res) => browser.serve(req, res) || serveRequest(req, res),
  );
  // Connections accepted whose first request is not read yet: the drain counts them idle and would
  // close them under a client that has already sent its request. close() waits for them briefly.
  const unread = new Set<Socket>();
  let lastArrival = 0;
  httpServer.on("connection", (socket: Socket) => {
    lastArrival = Date.now();
    unread.add(socket);
    socket.once("close", () => unread.delete(socket));
  });
  httpServer.on("request", (req: http.IncomingMessage) => unread.delete(req.socket));
  const schema = await buildSchema();
  const judge = new RequestJudge(
    schema,
    { pointsPerMinute: config.queryPointsPerMinute, mutationsPerMinute: config.rateLimitPerMinute },
    limitStore,
  );
  const knownQueries = new KnownQueries(schema, judge, logger, metrics, config.development);
  const apollo = new ApolloServer<Context>({
    gateway: compiledExecution(schema, knownQueries),
    // Compact JSON: Apollo's default indents every answer.
    stringifyResult: (result) => JSON.stringify(result),
    introspection: true,
    includeStacktraceInErrorResponses: config.development,
    // main.ts owns SIGTERM/SIGINT: Apollo's own handler would stop first, and the second stop()
    // (from close()) then waits forever, so the database would never be closed.
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => formatError(formatted, error, config.development),
    allowBatchedHttpRequests: true,
    // Parsing takes time with the length of the text: a longer document is refused as it is read.
    parseOptions: { maxTokens: MAX_TOKENS },
    validationRules: [queryShape],
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // No HTTP caching of GraphQL answers here; off, it no longer wraps every field's resolver.
      ApolloServerPluginCacheControlDisabled(),
      requestLimits(judge),
      requestLog(logger, metrics),
      // Apollo's own landing page loads from a CDN; GET /graphql serves our offline explorer instead.
      ApolloServerPluginLandingPageDisabled(),
    ],
  });
  await apollo.start();

  // Raw body, before any JSON parser: the signature covers the exact bytes.
  expressApp.post("/webhooks/stripe", express.raw({ type: "*/*", limit: "1mb" }), stripeWebhookRoute(services, logger));

  // An operator's offers as CSV, with its API key; raw bytes, decoded as UTF-8 by the route.
  expressApp.post(
    "/imports/offers",
    express.raw({ type: "*/*", limit: MAX_IMPORT_BYTES }),
    offersImportRoute(services, authenticator, importMutations, logger),
  );

  expressApp.get("/healthz", async (_req, res) => {
    try {
      await database.db.execute("select 1" as never);
      res.json({ status: "ok", database: database.kind });
    } catch {
      res.status(503).json({ status: "unavailable" });
    }
  });

  // Ready for traffic: the database answers and has every migration this code knows; not while
  // stopping. The shared limits' store is reported, but its absence does not stop traffic.
  let closed = false;
  expressApp.get("/readyz", async (_req, res) => {
    const report: Record<string, unknown> = {};
    let ready = !closed;
    if (closed) report.stopping = true;
    try {
      const pending = await pendingMigrations(database);
      report.database = database.kind;
      report.migrations = pending.length ? { pending } : "current";
      if (pending.length) ready = false;
    } catch {
      report.database = "unavailable";
      ready = false;
    }
    if (limitStore.shared) report.limits = (await limitStore.ping()) ? "redis" : "redis unavailable: counted nowhere";
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not ready", ...report });
  });

  // Prometheus scrapes; with METRICS_TOKEN set, only with `Authorization: Bearer <METRICS_TOKEN>`.
  expressApp.get("/metrics", async (req, res) => {
    if (config.metricsToken && !bearerMatches(req.headers.authorization, config.metricsToken)) {
      res.status(401).set("www-authenticate", 'Bearer realm="metrics"').json({ error: "METRICS_TOKEN required" });
      return;
    }
    res.set("content-type", metrics.contentType).send(await metrics.text());
  });

  // Who is calling, on the request's clock: for /graphql and the file exports alike.
  const identify = async (req: http.IncomingMessage): Promise<Caller> => {
    const testNow = config.testClock ? req.headers["x-now"] : undefined;
    const now = typeof testNow === "string" ? new Date(testNow) : new Date();
    if (Number.isNaN(now.getTime())) throw httpError("BAD_USER_INPUT", "X-Now must be an ISO-8601 time", 400);
    const token = bearerToken(req.headers.authorization);
    const ip = req.socket.remoteAddress ?? "unknown";
    let viewer = token ? authenticator.known(token) : null;
    if (token && !viewer) {
      // A token that is no key, or not known yet: an IP that failed too often this minute is
      // refused before the lookup.
      const wait = await authFailures.wait(ip, now.getTime());
      if (wait != null) throw rateLimited(`Too many failed authentications; retry in ${wait} s`, wait);
      // The key lookup needs the database: while it is away, a 503 with a code, not a 500.
      if (viewer === undefined) viewer = await authenticator.viewerOf(token).catch(databaseUnavailable);
      if (!viewer) {
        await authFailures.failed(ip, now.getTime());
        throw unauthenticated();
      }
    }
    return {
      viewer: viewer ?? null,
      now,
      requestId: (req.headers["x-request-id"] as string | undefined)?.slice(0, 64) || randomUUID(),
      ip,
    };
  };
  const answer = graphqlAnswer<Context>(
    apollo,
    async (req) => ({ app: services, db, loaders: new Loaders(db), ...(await identify(req)) }),
    knownQueries,
  );
  // Statements and spend reports as files, with the same keys and authorization as GraphQL. A file
  // costs more than most fields: exports count against the mutations' per-key limit of their own.
  const exportLimit = new CountLimit(limitStore, "exports", config.rateLimitPerMinute);
  expressApp.use(
    "/exports",
    exportsRouter(services, {
      caller: async (req) => {
        const caller = await identify(req);
        if (!caller.viewer) throw unauthenticated();
        const wait = await exportLimit.take([`key:${caller.viewer.apiKeyId ?? "admin"}`], 1, caller.now.getTime());
        if (wait != null) throw rateLimited(`Too many exports this minute; retry in ${wait} s`, wait);
        return { ...caller, viewer: caller.viewer };
      },
      fail: (res, error) => {
        const answer = httpAnswerOf(error, config.development);
        if (answer.status === 500) logger.error({ err: error }, "export failed");
        res.status(answer.status).set(answer.headers).json(answer.body);
      },
    }),
  );
  const leanGraphql = plainGraphqlPost(answer);
  serveRequest = (req, res) => {
    if (!isPlainGraphqlPost(req)) return expressApp(req, res);
    leanGraphql(req, res).catch((error: unknown) => {
      logger.error({ err: error }, "unhandled error");
      if (!res.headersSent) sendClientError(res, 500, "Internal error", "INTERNAL_SERVER_ERROR");
      else res.destroy();
    });
  };
  // The other GraphQL requests (GET, other content types and encodings): Express parses the body.
  expressApp.use("/graphql", express.json({ limit: MAX_BODY_BYTES }), (req, res) => answer(req, res, req.body));

  // A malformed JSON body or an oversized one: a client error with a code, never a 500.
  expressApp.use(
    (
      error: { status?: number; type?: string },
      _req: express.Request,
      res: express.Response,
      next: express.NextFunction,
    ) => {
      if (res.headersSent) return next(error);
      const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 500;
      if (status === 413 || status === 400) return sendBodyError(res, status);
      if (status === 500) logger.error({ err: error }, "unhandled error");
      const code = status === 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST";
      sendClientError(res, status, status === 500 ? "Internal error" : "The request could not be read", code);
    },
  );

  // Subscriptions over WebSocket on the same /graphql path.
  const subscriptions: Subscriptions = serveSubscriptions(
    httpServer,
    schema,
    services,
    (token) => authenticator.viewerOf(token),
    logger,
  );

  let stopMaintenance = () => {};
  return {
    services,
    logger,
    seeded,
    listen: (port) =>
      new Promise((resolve) => {
        httpServer.listen(port, "0.0.0.0", async () => {
          const { port: actual } = httpServer.address() as AddressInfo;
          stopMaintenance = startMaintenanceTimer(services, config.maintenanceIntervalMs, logger);
          await services.events.start();
          services.webhooks.start();
          resolve(`http://127.0.0.1:${actual}`);
        });
      }),
    close: async () => {
      if (closed) return;
      closed = true;
      stopMaintenance();
      // Clients the kernel already connected (still queued for accept, or accepted with their
      // request unread) are served: closing the listener would reset them. It closes once no
      // connection has arrived for a moment (2 s at most); later clients are refused.
      for (
        const deadline = Date.now() + 2_000;
        Date.now() < deadline && (Date.now() - lastArrival < 100 || unread.size > 0);
      ) {
        await sleep(10);
      }
      httpServer.close();
      await subscriptions.close();
      await services.events.stop();
      await apollo.stop(); // drains the HTTP server: in-flight requests finish first
      await services.webhooks.stop();
      await limitStore.close();
      await database.close();
    },
  };
}
