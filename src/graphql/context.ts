import type { Db } from "../db/client.js";
import type { AppServices } from "../services.js";
import type { Loaders } from "./loaders.js";

export type Role = "ADMIN" | "SME" | "DATA_CENTER" | "CITY_FINANCE";

export interface Viewer {
  role: Role;
  /** null for the platform admin. */
  organizationId: number | null;
  city: string | null;
  apiKeyId: number | null;
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
