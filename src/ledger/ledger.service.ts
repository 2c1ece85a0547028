// The budget ledger: the only code that moves a program's balances. Each move is an append-only
// entry tied to its order (one per order and kind), written together with guarded updates of the
// program, the voucher and the SME's annual counter, inside the caller's transaction.
//
//   RESERVE  available -> pending   voucher remaining down, annual committed up   (checkout)
//   POST     pending   -> spent     claim line + to the city's statement          (payment succeeded)
//   VOID     pending   -> available voucher and annual back                         (payment failed, expiry, cancel)
//   REFUND   spent     -> available voucher and annual back, claim line -           (refund after payment)
//
// Every entry point first locks the program row, so the moves of one program are serialized on
// every server; locks are always taken program -> voucher -> annual counter -> statement.
// Each is idempotent: repeating it for an order writes nothing and returns false.
import { and, count, desc, eq, lt, sql } from "drizzle-orm";
import { rowsOf, type Executor } from "../db/client.js";
import { ledgerEntries, orders } from "../db/schema.js";
import { appError, conflict } from "../graphql/errors.js";
import { decodeCursor, encodeCursor, toPage, type Page } from "../graphql/pagination.js";
import { monthOf } from "../time.js";

export type OrderRow = typeof orders.$inferSelect;
export type LedgerEntryRow = typeof ledgerEntries.$inferSelect;
export type LedgerKind = LedgerEntryRow["kind"];

/** The fields of an order the ledger reads. */
export type LedgerOrder = Pick<OrderRow, "id" | "programId" | "voucherId" | "smeId" | "subsidy" | "subsidyYear" | "dataCenterId" | "paidAt">;

type Subsidized = LedgerOrder & { programId: number; voucherId: number };

const carriesSubsidy = (order: LedgerOrder): order is Subsidized =>
  order.subsidy > 0n && order.voucherId != null && order.programId != null;

/** The entries that must (and must not) precede each kind. */
const PRECONDITION: Record<LedgerKind, { requires: LedgerKind | null; excludes: LedgerKind | null }> = {
  RESERVE: { requires: null, excludes: null },
  POST: { requires: "RESERVE", excludes: "VOID" },
  VOID: { requires: "RESERVE", excludes: "POST" },
  REFUND: { requires: "POST", excludes: null },
};

/** A bigint parameter, typed for PostgreSQL whatever the driver infers. */
const int8 = (value: number | bigint) => sql`${String(value)}::bigint`;

const guardFailed = (reason: string, message: string) => appError("CONFLICT", message, { reason });

/**
 * Locks a program row: every move of its budget and every settlement of its statements takes this
 * lock first. NO KEY UPDATE, the lock an UPDATE takes, so that the key-share locks of foreign keys
 * (inserting an order or an entry that references the program) never deadlock against it.
 */
export async function lockProgram(tx: Executor, programId: number): Promise<{ perSmeAnnualCap: bigint | null }> {
  const [row] = await rowsOf<{ per_sme_annual_cap: string | number | null }>(
    tx,
    sql`select per_sme_annual_cap from subsidy_programs where id = ${int8(programId)} for no key update`,
  );
  if (!row) throw conflict("The order's subsidy program does not exist");
  return { perSmeAnnualCap: row.per_sme_annual_cap == null ? null : BigInt(row.per_sme_annual_cap) };
}

/**
 * Appends the entry when the order's earlier entries allow it. Returns false when this entry
 * already exists (a repeat); throws CONFLICT when the order is in no state for it.
 */
async function appendEntry(tx: Executor, order: Subsidized, kind: LedgerKind): Promise<boolean> {
  const { requires, excludes } = PRECONDITION[kind];
  const inserted = await rowsOf<{ id: number }>(
    tx,
    sql`insert into ledger_entries (program_id, voucher_id, order_id, kind, amount)
        select ${int8(order.programId)}, ${int8(order.voucherId)}, ${int8(order.id)}, ${kind}::ledger_entry_kind, ${int8(order.subsidy)}
        where true
          ${requires ? sql`and exists (select 1 from ledger_entries where order_id = ${int8(order.id)} and kind = ${requires}::ledger_entry_kind)` : sql``}
          ${excludes ? sql`and not exists (select 1 from ledger_entries where order_id = ${int8(order.id)} and kind = ${excludes}::ledger_entry_kind)` : sql``}
        on conflict (order_id, kind) do nothing
        returning id`,
  );
  if (inserted.length > 0) return true;
  const existing = await tx
    .select({ kind: ledgerEntries.kind, amount: ledgerEntries.amount })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.orderId, order.id));
  const same = existing.find((e) => e.kind === kind);
  if (same) {
    if (same.amount !== order.subsidy) throw conflict("The order's subsidy differs from its ledger entry");
    return false;
  }
  if (requires && !existing.some((e) => e.kind === requires)) throw conflict(`The order has no ${requires} entry to ${kind.toLowerCase()}`);
  throw conflict(`The order's subsidy was already ${excludes === "VOID" ? "voided" : "posted"}`);
}

/** Moves `amount` between two balances of the program, never letting the source go below 0. */
async function moveProgram(tx: Executor, programId: number, amount: bigint, from: "available" | "pending" | "spent", to: "available" | "pending" | "spent") {
  const source = sql.raw(from);
  const target = sql.raw(to);
  const moved = await rowsOf<{ id: number }>(
    tx,
    sql`update subsidy_programs set ${source} = ${source} - ${int8(amount)}, ${target} = ${target} + ${int8(amount)}
        where id = ${int8(programId)} and ${source} >= ${int8(amount)}
        returning id`,
  );
  if (moved.length === 0) {
    throw from === "available"
      ? guardFailed("PROGRAM_BUDGET_EXHAUSTED", "The program's available budget is too small for this subsidy")
      : guardFailed("PROGRAM_BALANCE_MISMATCH", `The program's ${from} balance is too small for this move`);
  }
}

async function takeFromVoucher(tx: Executor, voucherId: number, amount: bigint) {
  const taken = await rowsOf<{ id: number }>(
    tx,
    sql`update vouchers set remaining = remaining - ${int8(amount)} where id = ${int8(voucherId)} and remaining >= ${int8(amount)} returning id`,
  );
  if (taken.length === 0) throw guardFailed("VOUCHER_BALANCE_EXHAUSTED", "The voucher's remaining balance is too small for this subsidy");
}

async function returnToVoucher(tx: Executor, voucherId: number, amount: bigint) {
  const returned = await rowsOf<{ id: number }>(
    tx,
    sql`update vouchers set remaining = remaining + ${int8(amount)} where id = ${int8(voucherId)} and remaining + ${int8(amount)} <= granted_amount returning id`,
  );
  if (returned.length === 0) throw guardFailed("VOUCHER_BALANCE_MISMATCH", "The voucher cannot take back more than was granted");
}

async function commitAnnual(tx: Executor, order: Subsidized, cap: bigint | null) {
  const withinCap = (total: ReturnType<typeof sql>) => (cap == null ? sql`true` : sql`${total} <= ${int8(cap)}`);
  const counted = await rowsOf<{ committed: unknown }>(
    tx,
    sql`insert into sme_annual_subsidy (program_id, sme_id, year, committed)
        select ${int8(order.programId)}, ${int8(order.smeId)}, ${order.subsidyYear}::integer, ${int8(order.subsidy)}
        where ${withinCap(int8(order.subsidy))}
        on conflict (program_id, sme_id, year) do update
          set committed = sme_annual_subsidy.committed + excluded.committed
          where ${withinCap(sql`sme_annual_subsidy.committed + excluded.committed`)}
        returning committed`,
  );
  if (counted.length === 0) throw guardFailed("PER_SME_ANNUAL_CAP_REACHED", "This subsidy would exceed the program's per-SME annual cap");
}

async function releaseAnnual(tx: Executor, order: Subsidized) {
  const released = await rowsOf<{ committed: unknown }>(
    tx,
    sql`update sme_annual_subsidy set committed = committed - ${int8(order.subsidy)}
        where program_id = ${int8(order.programId)} and sme_id = ${int8(order.smeId)} and year = ${order.subsidyYear}::integer
          and committed >= ${int8(order.subsidy)}
        returning committed`,
  );
  if (released.length === 0) throw guardFailed("ANNUAL_BALANCE_MISMATCH", "The SME's annual counter is smaller than this subsidy");
}

/** "2026-11" -> "2026-12" */
export function nextMonth(month: string): string {
  const [year, mon] = month.split("-").map(Number);
  return mon === 12 ? `${year + 1}-01` : `${year}-${String(mon + 1).padStart(2, "0")}`;
}

/**
 * The oldest OPEN statement of the program at or after `month`, created on demand. Settling takes
 * the program's lock too, so no statement can be settled between this choice and the claim line.
 */
export async function statementFor(tx: Executor, programId: number, month: string): Promise<number> {
  const existing = await rowsOf<{ id: string | number; month: string; status: string }>(
    tx,
    sql`select id, month, status from city_statements where program_id = ${int8(programId)} and month >= ${month}::text order by month`,
  );
  const byMonth = new Map(existing.map((s) => [s.month, s]));
  let candidate = month;
  for (;;) {
    const statement = byMonth.get(candidate);
    if (!statement) break;
    if (statement.status === "OPEN") return Number(statement.id);
    candidate = nextMonth(candidate);
  }
  const [created] = await rowsOf<{ id: string | number }>(
    tx,
    sql`insert into city_statements (program_id, month) values (${int8(programId)}, ${candidate}::text)
        on conflict (program_id, month) do update set month = excluded.month
        returning id`,
  );
  return Number(created.id);
}

async function addClaimLine(tx: Executor, order: Subsidized, amount: bigint, month: string) {
  const statementId = await statementFor(tx, order.programId, month);
  await rowsOf(
    tx,
    sql`insert into claim_lines (statement_id, program_id, order_id, data_center_id, amount)
        values (${int8(statementId)}, ${int8(order.programId)}, ${int8(order.id)}, ${int8(order.dataCenterId)}, ${int8(amount)})`,
  );
}

/** Checkout: available -> pending; the voucher's remaining down and the SME's annual counter up. */
export async function reserveSubsidy(tx: Executor, order: LedgerOrder): Promise<boolean> {
  if (!carriesSubsidy(order)) return false;
  const program = await lockProgram(tx, order.programId);
  if (!(await appendEntry(tx, order, "RESERVE"))) return false;
  await moveProgram(tx, order.programId, order.subsidy, "available", "pending");
  await takeFromVoucher(tx, order.voucherId, order.subsidy);
  await commitAnnual(tx, order, program.perSmeAnnualCap);
  return true;
}

/** Payment succeeded: pending -> spent, and a claim line on the statement of the payment month. */
export async function postSubsidy(tx: Executor, order: LedgerOrder, now: Date): Promise<boolean> {
  if (!carriesSubsidy(order)) return false;
  await lockProgram(tx, order.programId);
  if (!(await appendEntry(tx, order, "POST"))) return false;
  await moveProgram(tx, order.programId, order.subsidy, "pending", "spent");
  await addClaimLine(tx, order, order.subsidy, monthOf(order.paidAt ?? now));
  return true;
}

/** Payment failed, hold expired or order cancelled before payment: pending -> available, voucher and annual back. */
export async function voidSubsidy(tx: Executor, order: LedgerOrder): Promise<boolean> {
  if (!carriesSubsidy(order)) return false;
  await lockProgram(tx, order.programId);
  if (!(await appendEntry(tx, order, "VOID"))) return false;
  await moveProgram(tx, order.programId, order.subsidy, "pending", "available");
  await returnToVoucher(tx, order.voucherId, order.subsidy);
  await releaseAnnual(tx, order);
  return true;
}

/** Refund after payment: spent -> available, voucher and annual back, a negative claim line on the next open statement. */
export async function refundSubsidy(tx: Executor, order: LedgerOrder, now: Date): Promise<boolean> {
  if (!carriesSubsidy(order)) return false;
  await lockProgram(tx, order.programId);
  if (!(await appendEntry(tx, order, "REFUND"))) return false;
  await moveProgram(tx, order.programId, order.subsidy, "spent", "available");
  await returnToVoucher(tx, order.voucherId, order.subsidy);
  await releaseAnnual(tx, order);
  await addClaimLine(tx, order, -order.subsidy, monthOf(now));
  return true;
}

/** A program's entries, newest first: two queries (the page and its count). */
export async function programLedger(db: Executor, programId: number, first: number, after: string | null | undefined): Promise<Page<LedgerEntryRow>> {
  const cursor = decodeCursor(after, ["number"]);
  const mine = eq(ledgerEntries.programId, programId);
  const [rows, [{ total }]] = await Promise.all([
    db
      .select()
      .from(ledgerEntries)
      .where(and(mine, cursor ? lt(ledgerEntries.id, cursor[0] as number) : undefined))
      .orderBy(desc(ledgerEntries.id))
      .limit(first + 1),
    db.select({ total: count() }).from(ledgerEntries).where(mine),
  ]);
  return toPage(rows, first, Number(total), (row) => encodeCursor([row.id]), (row) => row);
}
