// GET /metrics in Prometheus's text format (prom-client): the GraphQL requests, what the domains
// did (matches, checkouts, webhooks), the database and its pool, and the process (event-loop lag,
// memory, CPU). Counters are this process's since it started; the gauges read from the database
// (connections, subsidy committed) are the same on every process. Names: docs/operations.md.
import client from "prom-client";
import type { Database } from "./db/client.js";
import { spendByMonth } from "./db/schema.js";
import { sum } from "drizzle-orm";
import type { Meters } from "./services.js";

/** Client-chosen operation names are labels: at most this many distinct ones, then `other`. */
const MAX_OPERATION_NAMES = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

// The process's own metrics (event-loop lag, GC, memory, CPU, handles) are collected once per
// process, however many servers a test starts in it.
let processRegistry: client.Registry | undefined;
function processMetrics(): client.Registry {
  if (!processRegistry) {
    processRegistry = new client.Registry();
    client.collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 10 });
  }
  return processRegistry;
}

export class Metrics implements Meters {
  readonly registry = new client.Registry();
  private readonly operationNames = new Set<string>();

  private readonly requests = new client.Counter({
    name: "gvm_graphql_requests_total",
    help: "GraphQL operations answered, by operation name, type and outcome code (OK or the first error's code)",
    labelNames: ["operation", "type", "code"] as const,
    registers: [this.registry],
  });
  private readonly duration = new client.Histogram({
    name: "gvm_graphql_request_duration_seconds",
    help: "Time from receiving a GraphQL operation to its answer, by operation name and type",
    labelNames: ["operation", "type"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly mutations = new client.Counter({
    name: "gvm_mutations_total",
    help: "Mutation fields run, by mutation and outcome code (OK or the field's error code)",
    labelNames: ["mutation", "code"] as const,
    registers: [this.registry],
  });
  private readonly matches = new client.Counter({
    name: "gvm_bid_matches_total",
    help: "Bids matched to an offer: at once (placeBid) or later, when capacity was freed (rematch)",
    labelNames: ["via"] as const,
    registers: [this.registry],
  });
  private readonly checkouts = new client.Counter({
    name: "gvm_checkouts_total",
    help: "Checkouts by outcome: the order's status (PAID, PENDING_PAYMENT, FAILED), REFUSED (a domain error) or ERROR",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  private readonly webhooks = new client.Counter({
    name: "gvm_webhook_deliveries_total",
    help: "Stripe webhook deliveries by outcome (handled, duplicate, ignored, unknown_payment, bad_signature, bad_request, not_configured, error)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });
  private readonly rateLimitStoreErrors = new client.Counter({
    name: "gvm_rate_limit_store_errors_total",
    help: "Requests let through unlimited because the shared rate-limit store (Redis) did not answer",
    registers: [this.registry],
  });

  private readonly databaseUp = new client.Gauge({
    name: "gvm_database_up",
    help: "1 when the database answered this scrape's queries, else 0",
    registers: [this.registry],
  });
  private readonly connections = new client.Gauge({
    name: "gvm_db_connections",
    help: "Connections of this application to its database by state (idle, active, idle in transaction), all processes",
    labelNames: ["state"] as const,
    registers: [this.registry],
  });
  private readonly subsidy = new client.Gauge({
    name: "gvm_subsidy_committed_fen",
    help: "Subsidy of paid orders, in fen, all programs and processes (from the spend report's totals)",
    registers: [this.registry],
  });

  constructor(
    private readonly database: Database,
    poolSize: number,
  ) {
    new client.Gauge({
      name: "gvm_db_pool_max_connections",
      help: "Connections this process may open to the database (DB_POOL_SIZE; 1 for embedded PGlite)",
      registers: [this.registry],
    }).set(database.kind === "postgres" ? poolSize : 1);
    new client.Counter({
      name: "gvm_db_queries_total",
      help: "Queries this process sent to the database",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(database.queryCount());
      },
    });
  }

  /** The gauges read from the database, before each scrape. */
  private async readDatabase(): Promise<void> {
    this.connections.reset();
    try {
      const [states, [row]] = await Promise.all([
        this.database.connectionStates(),
        this.database.db.select({ total: sum(spendByMonth.subsidy) }).from(spendByMonth),
      ]);
      for (const [state, n] of Object.entries(states)) this.connections.set({ state }, n);
      this.subsidy.set(Number(row?.total ?? 0));
      this.databaseUp.set(1);
    } catch {
      this.databaseUp.set(0);
    }
  }

  /** The label for an operation name: the name itself while there are few, else `other`. */
  private operationLabel(name: string | null | undefined): string {
    if (!name) return "(anonymous)";
    if (!OPERATION_NAME.test(name)) return "other";
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES) return "other";
    this.operationNames.add(name);
    return name;
  }

  request(operation: string | null | undefined, type: string, code: string, seconds: number): void {
    const name = this.operationLabel(operation);
    this.requests.inc({ operation: name, type, code });
    this.duration.observe({ operation: name, type }, seconds);
  }

  mutation(field: string, code: string): void {
    this.mutations.inc({ mutation: field, code });
  }

  matched(via: "placeBid" | "rematch", count: number): void {
    if (count > 0) this.matches.inc({ via }, count);
  }

  checkout(outcome: string): void {
    this.checkouts.inc({ outcome });
  }

  webhook(outcome: string): void {
    this.webhooks.inc({ outcome });
  }

  rateLimitStoreError(): void {
    this.rateLimitStoreErrors.inc();
  }

  readonly contentType = client.Registry.PROMETHEUS_CONTENT_TYPE;

  /** The scrape: the process's metrics, then this server's. */
  async text(): Promise<string> {
    await this.readDatabase();
    const [process, own] = await Promise.all([processMetrics().metrics(), this.registry.metrics()]);
    return `${process}\n${own}`;
  }
}
