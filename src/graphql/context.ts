import type { Config } from "../config.js";
import type { Database, Db } from "../db/client.js";
import type { Catalog } from "../offers/catalog.js";
import type { MaintenanceTask } from "../maintenance/maintenance.js";
import type { PaymentEventHandler, PaymentProvider } from "../payments/provider.js";
import type { Loaders } from "./loaders.js";

export type Role = "ADMIN" | "SME" | "DATA_CENTER" | "CITY_FINANCE";

export interface Viewer {
  role: Role;
  /** null for the platform admin. */
  organizationId: number | null;
  city: string | null;
  apiKeyId: number | null;
}

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
  afterCapacityFreed: (ctx: Context, gpuModelIds: number[], offerIds?: number[]) => Promise<void>;
  /** Periodic tasks, run on a timer and by the admin's runMaintenance. */
  maintenanceTasks: MaintenanceTask[];
  /** Stripe, or the simulated provider when STRIPE_SECRET_KEY is unset. */
  payments: PaymentProvider;
  /** What a verified payment webhook does; the checkout registers it (default: nothing). */
  paymentEvents: PaymentEventHandler;
}

export interface Context {
  app: AppServices;
  db: Db;
  viewer: Viewer | null;
  /** The request's clock: tests may move it with X-Now when ENABLE_TEST_CLOCK=1. */
  now: Date;
  loaders: Loaders;
  requestId: string;
  ip: string;
}

export function requireViewer(ctx: Context): Viewer {
  if (!ctx.viewer) throw new Error("authChecker must run before requireViewer");
  return ctx.viewer;
}

/** The organization of the calling viewer; only for roles that have one. */
export function orgIdOf(ctx: Context): number {
  const id = ctx.viewer?.organizationId;
  if (id == null) throw new Error("this operation needs an organization");
  return id;
}
