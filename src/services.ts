// What one server process shares between its requests and its background work: app.ts wires it,
// GraphQL requests reach it as ctx.app, maintenance tasks and the payment webhook get it directly.
import type { Config } from "./config.js";
import type { Database, Db } from "./db/client.js";
import type { EventStream } from "./events/stream.js";
import type { Catalog } from "./offers/catalog.js";
import type { PaymentEventHandler, PaymentProvider } from "./payments/provider.js";
import type { DeliveryWorker } from "./webhooks/worker.js";

/** Services shared by every request of one server. */
export interface AppServices {
  config: Config;
  database: Database;
  db: Db;
  catalog: Catalog;
  /**
   * Hooks the later domains register, run after capacity was freed (re-match open bids): on these
   * offers when given, else on any offer of the models.
   */
  afterCapacityFreed: (at: HookContext, gpuModelIds: number[], offerIds?: number[]) => Promise<void>;
  /** Periodic tasks, run on a timer and by the admin's runMaintenance. */
  maintenanceTasks: MaintenanceTask[];
  /** Stripe, or the simulated provider when STRIPE_SECRET_KEY is unset. */
  payments: PaymentProvider;
  /** What a verified payment webhook does; the checkout registers it (default: nothing). */
  paymentEvents: PaymentEventHandler;
  /** The outbox's live stream in this process: what subscriptions read (events/stream.ts). */
  events: EventStream;
  /** This process's webhook delivery worker (webhooks/worker.ts). */
  webhooks: DeliveryWorker;
  /** Counts of what the domains did, for GET /metrics (src/metrics.ts); nothing reads them back. */
  meters: Meters;
}

/** The domain's events that /metrics counts; the domains call these, src/metrics.ts implements them. */
export interface Meters {
  /** Bids matched: by a new bid (`placeBid`) or when freed capacity went to open bids (`rematch`). */
  matched(via: "placeBid" | "rematch", count: number): void;
  /** A checkout's outcome: the order's status (PAID, PENDING_PAYMENT, FAILED), REFUSED or ERROR. */
  checkout(outcome: string): void;
  /** A webhook delivery's outcome: handled, duplicate, ignored, unknown_payment, bad_signature, error, ... */
  webhook(outcome: string): void;
}

/** Meters that count nothing (tools and tests that build services by hand). */
export const noMeters: Meters = { matched: () => {}, checkout: () => {}, webhook: () => {} };

/** What a hook reads of the request that runs it (a GraphQL context is one): the services and the request's clock. */
export interface HookContext {
  app: AppServices;
  now: Date;
}

/** Periodic work that keeps the database honest; maintenance/maintenance.ts runs the tasks. */
export interface MaintenanceTask {
  name: string;
  /** Does the work due at `now`; returns how many records it changed. */
  run(app: AppServices, now: Date): Promise<number>;
}
