// Voucher applications: an SME applies, the program's city finance team decides once; approval grants a voucher.
import { and, asc, eq } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { organizations, subsidyPrograms, voucherApplications, vouchers } from "../db/schema.js";
import type { Viewer } from "../graphql/context.js";
import { badInput, conflict, notEligible, notFound } from "../errors.js";
import { minFen, parsePositiveYuan } from "../money.js";
import { requireText } from "../accounts/accounts.service.js";
import { programInScope } from "./programs.service.js";
import { acceptsCategory, INELIGIBLE_MESSAGES } from "./subsidy.js";

export type ApplicationRow = typeof voucherApplications.$inferSelect;
export type VoucherRow = typeof vouchers.$inferSelect;
export type ApplicationStatusValue = ApplicationRow["status"];

export const MAX_PURPOSE = 2000;
export const MAX_REASON = 1000;

export async function applyForVoucher(
  db: Executor,
  smeId: number,
  input: { programId: number | null; requestedAmount: string; purpose: string },
  now: Date,
): Promise<ApplicationRow> {
  const requestedAmount = parsePositiveYuan("requestedAmount", input.requestedAmount);
  const purpose = requireText("purpose", input.purpose, MAX_PURPOSE);
  const [[program], [applicant]] = await Promise.all([
    input.programId == null ? [] : db.select().from(subsidyPrograms).where(eq(subsidyPrograms.id, input.programId)),
    db.select({ category: organizations.category }).from(organizations).where(eq(organizations.id, smeId)),
  ]);
  if (!program) throw notFound("Subsidy program");
  if (program.status !== "ACTIVE") throw notEligible("PROGRAM_NOT_ACTIVE", INELIGIBLE_MESSAGES.PROGRAM_NOT_ACTIVE);
  if (now < program.validFrom || now >= program.validUntil) {
    throw notEligible("PROGRAM_OUTSIDE_VALIDITY", INELIGIBLE_MESSAGES.PROGRAM_OUTSIDE_VALIDITY);
  }
  if (!acceptsCategory(program, applicant?.category ?? null))
    throw notEligible("CATEGORY", INELIGIBLE_MESSAGES.CATEGORY);
  const [row] = await db
    .insert(voucherApplications)
    .values({ programId: program.id, smeId, requestedAmount, purpose, createdAt: now })
    .returning();
  return row;
}

export async function listApplications(
  db: Executor,
  viewer: Viewer,
  programId: number | null,
  status: ApplicationStatusValue | null | undefined,
): Promise<ApplicationRow[]> {
  const program = await programInScope(db, viewer, programId);
  return db
    .select()
    .from(voucherApplications)
    .where(
      and(eq(voucherApplications.programId, program.id), status ? eq(voucherApplications.status, status) : undefined),
    )
    .orderBy(asc(voucherApplications.id));
}

export async function smeApplications(db: Executor, smeId: number): Promise<ApplicationRow[]> {
  return db
    .select()
    .from(voucherApplications)
    .where(eq(voucherApplications.smeId, smeId))
    .orderBy(asc(voucherApplications.id));
}

export interface Decision {
  approve: boolean;
  grantedAmount?: string | null;
  reason?: string | null;
}

/**
 * Approves (granting a voucher) or rejects. A decision is final: the update only applies to a
 * PENDING application, so of two concurrent decisions exactly one wins and the other is a CONFLICT.
 * Call inside a transaction: the decision and its voucher are written together.
 */
export async function decideApplication(
  tx: Executor,
  viewer: Viewer,
  applicationId: number | null,
  decision: Decision,
  now: Date,
): Promise<{ application: ApplicationRow; voucher: VoucherRow | null }> {
  const [application] =
    applicationId == null
      ? []
      : await tx.select().from(voucherApplications).where(eq(voucherApplications.id, applicationId));
  if (!application) throw notFound("Voucher application");
  const program = await programInScope(tx, viewer, application.programId).catch(() => {
    throw notFound("Voucher application");
  });

  const reason =
    decision.reason == null || decision.reason.trim() === ""
      ? null
      : requireText("reason", decision.reason, MAX_REASON);
  let granted: bigint | null = null;
  if (decision.approve) {
    const cap = program.perSmeAnnualCap;
    if (decision.grantedAmount == null) {
      granted = cap == null ? application.requestedAmount : minFen(application.requestedAmount, cap);
    } else {
      granted = parsePositiveYuan("grantedAmount", decision.grantedAmount);
      if (granted > application.requestedAmount)
        throw badInput("grantedAmount", "grantedAmount may not exceed the requested amount");
      if (cap != null && granted > cap)
        throw badInput("grantedAmount", "grantedAmount may not exceed the program's perSmeAnnualCap");
    }
    if (granted > program.budgetTotal)
      throw badInput("grantedAmount", "grantedAmount may not exceed the program's budget");
  } else if (!reason) {
    throw badInput("reason", "reason is required to reject an application");
  }
  if (application.status !== "PENDING") throw conflict("This application was already decided");
  if (decision.approve && program.status === "CLOSED") throw conflict("The program is closed");

  const [decided] = await tx
    .update(voucherApplications)
    .set({ status: decision.approve ? "APPROVED" : "REJECTED", decisionReason: reason, decidedAt: now })
    .where(and(eq(voucherApplications.id, application.id), eq(voucherApplications.status, "PENDING")))
    .returning();
  if (!decided) throw conflict("This application was already decided");
  if (granted == null) return { application: decided, voucher: null };

  const [voucher] = await tx
    .insert(vouchers)
    .values({
      programId: program.id,
      smeId: application.smeId,
      applicationId: application.id,
      grantedAmount: granted,
      remaining: granted,
      validUntil: program.validUntil,
      createdAt: now,
    })
    .returning();
  return { application: decided, voucher };
}

export async function smeVouchers(db: Executor, smeId: number): Promise<VoucherRow[]> {
  return db.select().from(vouchers).where(eq(vouchers.smeId, smeId)).orderBy(asc(vouchers.id));
}
