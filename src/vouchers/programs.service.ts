// Subsidy programs: a city's finance team creates and runs them; anyone may read them.
import { and, asc, eq, ne } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { subsidyPrograms } from "../db/schema.js";
import type { Category } from "../accounts/accounts.service.js";
import type { Viewer } from "../graphql/context.js";
import { badInput, conflict, notFound } from "../errors.js";
import { parsePositiveYuan } from "../money.js";
import { requireStorable, requireText } from "../accounts/accounts.service.js";
import { requireHub } from "../offers/catalog.js";

export type ProgramRow = typeof subsidyPrograms.$inferSelect;
export type ProgramStatusValue = ProgramRow["status"];

/** A finance team acts on its own city only; the admin on every city. */
export function inScope(viewer: Viewer, city: string): boolean {
  return viewer.role === "ADMIN" || (viewer.role === "CITY_FINANCE" && viewer.city === city);
}

/** The program if the viewer may manage it; another city's program is not found. */
export async function programInScope(db: Executor, viewer: Viewer, programId: number | null): Promise<ProgramRow> {
  const [row] =
    programId == null ? [] : await db.select().from(subsidyPrograms).where(eq(subsidyPrograms.id, programId));
  if (!row || !inScope(viewer, row.city)) throw notFound("Subsidy program");
  return row;
}

export function requireBasisPoints(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 10_000)
    throw badInput(field, `${field} must be an integer from 0 to 10000`);
  return value;
}

export interface CreateProgram {
  name: string;
  budget: string;
  rateBasisPoints: number;
  domesticRateBasisPoints?: number | null;
  perOrderCap?: string | null;
  perSmeAnnualCap?: string | null;
  maxSubsidizedPricePerGpuHour?: string | null;
  eligibleHubs?: string[] | null;
  requiresHardwareAttestation?: boolean | null;
  eligibleCategories?: Category[] | null;
  validFrom: Date;
  validUntil: Date;
}

const optionalYuan = (field: string, value: string | null | undefined) =>
  value == null ? null : parsePositiveYuan(field, value);

export async function createProgram(
  db: Executor,
  finance: { organizationId: number; city: string },
  input: CreateProgram,
  now: Date,
): Promise<ProgramRow> {
  const name = requireText("name", input.name);
  const budget = parsePositiveYuan("budget", input.budget);
  const rateBasisPoints = requireBasisPoints("rateBasisPoints", input.rateBasisPoints);
  const domesticRateBasisPoints =
    input.domesticRateBasisPoints == null
      ? null
      : requireBasisPoints("domesticRateBasisPoints", input.domesticRateBasisPoints);
  const perOrderCap = optionalYuan("perOrderCap", input.perOrderCap);
  const perSmeAnnualCap = optionalYuan("perSmeAnnualCap", input.perSmeAnnualCap);
  const ceiling = optionalYuan("maxSubsidizedPricePerGpuHour", input.maxSubsidizedPricePerGpuHour);
  if (perOrderCap != null && perOrderCap > budget)
    throw badInput("perOrderCap", "perOrderCap may not exceed the budget");
  if (perSmeAnnualCap != null && perSmeAnnualCap > budget)
    throw badInput("perSmeAnnualCap", "perSmeAnnualCap may not exceed the budget");
  const eligibleHubs = [...new Set((input.eligibleHubs ?? []).map((hub) => requireHub("eligibleHubs", hub)))];
  const eligibleCategories = [...new Set(input.eligibleCategories ?? ["SME"])] as Category[];
  if (eligibleCategories.length === 0)
    throw badInput("eligibleCategories", "eligibleCategories must name at least one category");
  if (input.validUntil <= input.validFrom) throw badInput("validUntil", "validUntil must be after validFrom");
  if (input.validUntil <= now) throw badInput("validUntil", "validUntil must be in the future");

  const [row] = await db
    .insert(subsidyPrograms)
    .values({
      city: finance.city,
      name,
      financeOrgId: finance.organizationId,
      budgetTotal: budget,
      available: budget,
      rateBasisPoints,
      domesticRateBasisPoints,
      perOrderCap,
      perSmeAnnualCap,
      maxSubsidizedPricePerGpuHour: ceiling,
      eligibleHubs,
      requiresHardwareAttestation: input.requiresHardwareAttestation ?? false,
      eligibleCategories,
      validFrom: input.validFrom,
      validUntil: input.validUntil,
      createdAt: now,
    })
    .returning();
  return row;
}

export async function listPrograms(db: Executor, city: string | null | undefined): Promise<ProgramRow[]> {
  const where = city == null ? undefined : eq(subsidyPrograms.city, requireStorable("city", city).trim());
  return db.select().from(subsidyPrograms).where(where).orderBy(asc(subsidyPrograms.id));
}

/** Suspends, resumes or closes a program. CLOSED is final; a conditional update makes it so under concurrency. */
export async function setProgramStatus(
  db: Executor,
  viewer: Viewer,
  programId: number | null,
  status: ProgramStatusValue,
): Promise<ProgramRow> {
  const program = await programInScope(db, viewer, programId);
  if (program.status === status) return program;
  const [row] = await db
    .update(subsidyPrograms)
    .set({ status })
    .where(and(eq(subsidyPrograms.id, program.id), ne(subsidyPrograms.status, "CLOSED")))
    .returning();
  if (!row) throw conflict("A closed program cannot be reopened");
  return row;
}
