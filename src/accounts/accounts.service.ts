// Organizations, API keys and affiliations: the admin's tools.
import { and, eq, or } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { affiliations, apiKeys, organizations } from "../db/schema.js";
import { badInput, conflict, notFound } from "../errors.js";
import { newToken, hashToken } from "./tokens.js";

export type OrganizationRow = typeof organizations.$inferSelect;
export type Category = OrganizationRow["category"];

const CREDIT_CODE = /^[0-9A-HJ-NP-RTUW-Y]{2}\d{6}[0-9A-HJ-NP-RTUW-Y]{10}$/;

/** PostgreSQL text cannot hold a NUL character: refused as bad input before it reaches SQL. */
export function requireStorable(field: string, value: string): string {
  if (value.includes("\u0000")) throw badInput(field, `${field} may not contain a NUL character`);
  return value;
}

export function requireText(field: string, value: string, max = 200): string {
  const text = requireStorable(field, value).trim();
  if (text.length === 0 || text.length > max) throw badInput(field, `${field} must have 1 to ${max} characters`);
  return text;
}

export async function createOrganization(
  db: Executor,
  input: {
    name: string;
    kind: OrganizationRow["kind"];
    city?: string | null;
    creditCode?: string | null;
    category?: Category | null;
  },
): Promise<OrganizationRow> {
  const name = requireText("name", input.name);
  const city = input.city == null || input.city.trim() === "" ? null : requireText("city", input.city, 100);
  if (input.kind === "CITY_FINANCE" && !city)
    throw badInput("city", "city is required for a CITY_FINANCE organization");
  const creditCode = input.creditCode ? input.creditCode.trim().toUpperCase() : null;
  if (creditCode && !CREDIT_CODE.test(creditCode)) {
    throw badInput("creditCode", "creditCode must be an 18-character unified social credit code");
  }
  if (input.category != null && input.kind !== "SME")
    throw badInput("category", "Only an organization of kind SME has an applicant category");
  const category = input.category ?? "SME";
  const [row] = await db
    .insert(organizations)
    .values({ name, kind: input.kind, city, creditCode, category })
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict("An organization with this creditCode already exists");
  return row;
}

/**
 * Declares the applicant category of an organization of kind SME (BAD_USER_INPUT for another
 * kind); returns the organization and the category it had. Programs judge it at each application
 * and checkout, so orders already made keep their subsidy.
 */
export async function setOrganizationCategory(
  db: Executor,
  organizationId: number,
  category: Category,
): Promise<{ row: OrganizationRow; before: Category }> {
  const [current] = await db.select().from(organizations).where(eq(organizations.id, organizationId)).for("update");
  if (!current) throw notFound("Organization");
  if (current.kind !== "SME")
    throw badInput("organizationId", "Only an organization of kind SME has an applicant category");
  const [row] = await db
    .update(organizations)
    .set({ category })
    .where(eq(organizations.id, organizationId))
    .returning();
  return { row, before: current.category };
}

export async function createApiKey(db: Executor, organizationId: number): Promise<{ id: number; token: string }> {
  const [org] = await db
    .select({ id: organizations.id })
    .from(organizations)
    .where(eq(organizations.id, organizationId));
  if (!org) throw notFound("Organization");
  const token = newToken();
  const [key] = await db
    .insert(apiKeys)
    .values({ organizationId, tokenHash: hashToken(token) })
    .returning({ id: apiKeys.id });
  return { id: key.id, token };
}

export async function declareAffiliation(db: Executor, organizationId: number, affiliatedId: number): Promise<void> {
  if (organizationId === affiliatedId)
    throw badInput("affiliatedId", "An organization is always affiliated with itself");
  const found = await db
    .select({ id: organizations.id })
    .from(organizations)
    .where(or(eq(organizations.id, organizationId), eq(organizations.id, affiliatedId)));
  if (found.length !== 2) throw notFound("Organization");
  await db
    .insert(affiliations)
    .values([
      { organizationId, affiliatedId },
      { organizationId: affiliatedId, affiliatedId: organizationId },
    ])
    .onConflictDoNothing();
}

/** True when two organizations are the same or declared affiliated. */
export async function areAffiliated(db: Executor, a: number, b: number): Promise<boolean> {
  if (a === b) return true;
  const [row] = await db
    .select({ a: affiliations.organizationId })
    .from(affiliations)
    .where(and(eq(affiliations.organizationId, a), eq(affiliations.affiliatedId, b)))
    .limit(1);
  return !!row;
}
