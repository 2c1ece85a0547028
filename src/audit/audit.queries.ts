// The audit trail's entry, written once from the schema (src/db/client.ts): every audited
// mutation appends one, a placed bid and a checkout among them.
import { sql } from "drizzle-orm";
import { prepared, qb, valuesFor, type Executor } from "../db/client.js";
import { auditLog, subsidyPrograms } from "../db/schema.js";

const NEW_ENTRY = [
  "organizationId",
  "apiKeyId",
  "role",
  "action",
  "targetId",
  "detail",
  "programId",
  "requestId",
  "createdAt",
] as const;
export type NewAuditEntry = Pick<typeof auditLog.$inferInsert, (typeof NEW_ENTRY)[number]>;

/** The entry, with the city of its program (if any) read in the same statement. */
const insertEntryStatement = prepared<NewAuditEntry>("audit_insert", (p) =>
  qb.insert(auditLog).values({
    ...valuesFor(auditLog, NEW_ENTRY),
    city: sql`(select ${subsidyPrograms.city} from ${subsidyPrograms} where ${subsidyPrograms.id} = ${p.programId}::bigint)`,
  }),
);

export async function insertAuditEntry(db: Executor, entry: NewAuditEntry): Promise<void> {
  await insertEntryStatement.rows(db, entry);
}
