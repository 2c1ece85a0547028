// The budget ledger: the only code that moves a program's balances. Each move is an append-only
// entry tied to its order (one per order and kind), written together with guarded updates of the
// program, the voucher and the SME's annual counter, inside the caller's transaction.
//
//   RESERVE  available -> pending   voucher remaining down, annual committed up   (checkout)
//   POST     pending   -> spent     claim line + to the city's statement          (payment succeeded)
//   VOID     pending   -> available voucher and annual back                         (payment failed, expiry, cancel)
//   REFUND   spent     -> available voucher and annual back, claim line -           (refund after payment)
//
// Every entry point locks the program row first (a reserve with its own update, the others with
// lockProgram, so that their checks of earlier entries see every committed move), so the moves of
// one program are serialized on every server; locks are always taken program -> voucher -> annual
// counter -> statement.
// Each is idempotent: repeating it for an order writes nothing and returns false.
import { and, count, desc, eq, gte, lt, sql } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { ledgerEntries } from "../db/schema.js";
import { conflict } from "../errors.js";
import { decodeCursor, encodeCursor, toPage, type Page } from "../graphql/pagination.js";
import { monthOf } from "../time.js";
import type { OrderRow } from "../checkout/settlement.js";
import {
  appendMove,
  insertClaimLine,
  lockProgramRow,
  statementOfMonth,
  statementsFrom,
  type Move,
  type MoveResult,
  type StatementRef,
} from "./ledger.queries.js";

export type LedgerEntryRow = typeof ledgerEntries.$inferSelect;
export type LedgerKind = LedgerEntryRow["kind"];

/** The fields of an order the ledger reads. */
export type LedgerOrder = Pick<
  OrderRow,
  "id" | "programId" | "voucherId" | "smeId" | "subsidy" | "subsidyYear" | "dataCenterId" | "paidAt"
>;

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

const guardFailed = (reason: string, message: string) => conflict(message, reason);

/**
 * Locks a program row: every move of its budget and every settlement of its statements takes this
 * lock first. NO KEY UPDATE, the lock an UPDATE takes, so that the key-share locks of foreign keys
 * (inserting an order or an entry that references the program) never deadlock against it.
 */
export async function lockProgram(tx: Executor, programId: number): Promise<{ perSmeAnnualCap: bigint | null }> {
  return lockedProgram(await lockProgramRow(tx, programId));
}

function lockedProgram(row: { perSmeAnnualCap: bigint | null } | null): { perSmeAnnualCap: bigint | null } {
  if (!row) throw conflict("The order's subsidy program does not exist");
  return row;
}

/** What each kind of entry moves besides the program's balances. */
const MOVES: Record<LedgerKind, Pick<Move, "from" | "to" | "voucher" | "annual">> = {
  RESERVE: { from: "available", to: "pending", voucher: "take", annual: "commit" },
  POST: { from: "pending", to: "spent", voucher: null, annual: null },
  VOID: { from: "pending", to: "available", voucher: "return", annual: "release" },
  REFUND: { from: "spent", to: "available", voucher: "return", annual: "release" },
};

/** Why a guarded move wrote nothing, by the part that refused it. */
const REFUSALS = {
  available: ["PROGRAM_BUDGET_EXHAUSTED", "The program's available budget is too small for this subsidy"],
  take: ["VOUCHER_BALANCE_EXHAUSTED", "The voucher's remaining balance is too small for this subsidy"],
  return: ["VOUCHER_BALANCE_MISMATCH", "The voucher cannot take back more than was granted"],
  commit: ["PER_SME_ANNUAL_CAP_REACHED", "This subsidy would exceed the program's per-SME annual cap"],
  release: ["ANNUAL_BALANCE_MISMATCH", "The SME's annual counter is smaller than this subsidy"],
} as const;

/**
 * Appends the entry and makes its moves in one statement: the entry when the order's earlier
 * entries allow it, then the program's balances, the voucher and the SME's annual counter, each
 * guarded so that no balance goes below 0 (or a voucher above its grant, a counter above the cap),
 * and each only when the entry was written. Returns false when the entry already exists (a repeat);
 * throws CONFLICT when the order is in no state for it or a guard refused, and the caller's
 * transaction rolls the entry back.
 */
async function appendAndMove(tx: Executor, order: Subsidized, kind: LedgerKind): Promise<boolean> {
  return judgeMove(tx, order, kind, await moveOf(tx, order, kind));
}

/** The move statement of appendAndMove (ledger.queries.ts), for this order and kind. */
const moveOf = (tx: Executor, order: Subsidized, kind: LedgerKind): Promise<MoveResult> =>
  appendMove(
    tx,
    { kind, ...PRECONDITION[kind], ...MOVES[kind] },
    {
      programId: order.programId,
      voucherId: order.voucherId,
      orderId: order.id,
      smeId: order.smeId,
      year: order.subsidyYear,
      amount: order.subsidy,
    },
  );

/** True when the move statement wrote the entry and every move; false for a repeat; else CONFLICT. */
async function judgeMove(tx: Executor, order: Subsidized, kind: LedgerKind, done: MoveResult): Promise<boolean> {
  const move = MOVES[kind];
  if (done.entry === 0) return explainMissingEntry(tx, order, kind);
  const refusal =
    done.program === 0
      ? move.from === "available"
        ? REFUSALS.available
        : (["PROGRAM_BALANCE_MISMATCH", `The program's ${move.from} balance is too small for this move`] as const)
      : done.voucher === 0
        ? REFUSALS[move.voucher!]
        : done.annual === 0
          ? REFUSALS[move.annual!]
          : null;
  if (refusal) throw guardFailed(refusal[0], refusal[1]);
  return true;
}

/** Why an entry was not written: false for a repeat of the same entry, CONFLICT for anything else. */
async function explainMissingEntry(tx: Executor, order: Subsidized, kind: LedgerKind): Promise<false> {
  const { requires, excludes } = PRECONDITION[kind];
  const existing = await tx
    .select({ kind: ledgerEntries.kind, amount: ledgerEntries.amount })
    .from(ledgerEntries)
    .where(eq(ledgerEntries.orderId, order.id));
  const same = existing.find((e) => e.kind === kind);
  if (same) {
    if (same.amount !== order.subsidy) throw conflict("The order's subsidy differs from its ledger entry");
    return false;
  }
  if (requires && !existing.some((e) => e.kind === requires))
    throw conflict(`The order has no ${requires} entry to ${kind.toLowerCase()}`);
  throw conflict(`The order's subsidy was already ${excludes === "VOID" ? "voided" : "posted"}`);
}

/** "2026-11" -> "2026-12" */
export function nextMonth(month: string): string {
  const [year, mon] = month.split("-").map(Number);
  return mon === 12 ? `${year + 1}-01` : `${year}-${String(mon + 1).padStart(2, "0")}`;
}

/**
 * The oldest OPEN statement of the program at or after `month`, created on demand, from the
 * program's statements read under its lock. Settling takes the program's lock too, so no statement
 * can be settled between this choice and the claim line.
 */
async function statementFor(tx: Executor, programId: number, month: string, existing: StatementRef[]): Promise<number> {
  const byMonth = new Map(existing.map((s) => [s.month, s]));
  let candidate = month;
  for (;;) {
    const statement = byMonth.get(candidate);
    if (!statement) break;
    if (statement.status === "OPEN") return statement.id;
    candidate = nextMonth(candidate);
  }
  return statementOfMonth(tx, programId, candidate);
}

async function addClaimLine(
  tx: Executor,
  order: Subsidized,
  amount: bigint,
  month: string,
  statements: StatementRef[],
  credit = false,
) {
  const statementId = await statementFor(tx, order.programId, month, statements);
  await insertClaimLine(tx, {
    statementId,
    programId: order.programId,
    orderId: order.id,
    dataCenterId: order.dataCenterId,
    amount,
    credit,
  });
}

/**
 * The program's lock, then the entry with its moves, then (for a claim) the statements of the
 * claim's month on: sent together they take one round trip, and PostgreSQL runs them in that
 * order, each on a fresh snapshot, so the later ones see every move committed before the lock.
 */
async function lockedMove(tx: Executor, order: Subsidized, kind: LedgerKind, claimMonth: string | null) {
  const [program, done, statements] = await Promise.all([
    lockProgramRow(tx, order.programId),
    moveOf(tx, order, kind),
    claimMonth == null ? [] : statementsFrom(tx, order.programId, claimMonth),
  ]);
  lockedProgram(program);
  return { appended: await judgeMove(tx, order, kind, done), statements };
}

/**
 * Checkout: available -> pending; the voucher's remaining down and the SME's annual counter up.
 * Its program update is its first lock on the program (a checkout has locked it already).
 */
export async function reserveSubsidy(tx: Executor, order: LedgerOrder): Promise<boolean> {
  if (!carriesSubsidy(order)) return false;
  return appendAndMove(tx, order, "RESERVE");
}

/** Payment succeeded: pending -> spent, and a claim line on the statement of the payment month. */
export async function postSubsidy(tx: Executor, order: LedgerOrder, now: Date): Promise<boolean> {
  if (!carriesSubsidy(order)) return false;
  const month = monthOf(order.paidAt ?? now);
  const { appended, statements } = await lockedMove(tx, order, "POST", month);
  if (appended) await addClaimLine(tx, order, order.subsidy, month, statements);
  return appended;
}

/** Payment failed, hold expired or order cancelled before payment: pending -> available, voucher and annual back. */
export async function voidSubsidy(tx: Executor, order: LedgerOrder): Promise<boolean> {
  if (!carriesSubsidy(order)) return false;
  return (await lockedMove(tx, order, "VOID", null)).appended;
}

/** Refund after payment: spent -> available, voucher and annual back, a negative claim line on the next open statement. */
export async function refundSubsidy(tx: Executor, order: LedgerOrder, now: Date): Promise<boolean> {
  if (!carriesSubsidy(order)) return false;
  const month = monthOf(now);
  const { appended, statements } = await lockedMove(tx, order, "REFUND", month);
  if (appended) await addClaimLine(tx, order, -order.subsidy, month, statements);
  return appended;
}

/**
 * A credit for undelivered GPU-hours: `amount` fen of the order's subsidy (0 < amount <= subsidy)
 * spent -> available, the voucher and the SME's annual counter of the checkout's year back, and a
 * negative credit line on the statement of the payment month (still open: a month cannot be
 * settled while a claim in it awaits its delivery), or the next open one. It is the order's one
 * REFUND entry: a paid order is refunded in full before its rental starts or credited after it
 * ends, never both.
 */
export async function creditSubsidy(tx: Executor, order: LedgerOrder, amount: bigint, now: Date): Promise<boolean> {
  if (!carriesSubsidy(order) || amount <= 0n) return false;
  if (amount > order.subsidy) throw conflict("A credit cannot exceed the order's subsidy");
  const credited = { ...order, subsidy: amount };
  const month = monthOf(order.paidAt ?? now);
  const { appended, statements } = await lockedMove(tx, credited, "REFUND", month);
  if (appended) await addClaimLine(tx, credited, -amount, month, statements, true);
  return appended;
}

/** A program's entries, newest first: two queries (the page and its count). */
export async function programLedger(
  db: Executor,
  programId: number,
  first: number,
  after: string | null | undefined,
): Promise<Page<LedgerEntryRow>> {
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
  return toPage(
    rows,
    first,
    Number(total),
    (row) => encodeCursor([row.id]),
    (row) => row,
    after != null,
  );
}

/**
 * The budget a program committed over [from, to): what its checkouts reserved less what was voided
 * or refunded then (a POST only moves pending to spent). Negative when more came back than went out.
 */
export async function committedBetween(db: Executor, programId: number, from: Date, to: Date): Promise<bigint> {
  const rows = await db
    .select({ kind: ledgerEntries.kind, amount: sql<string>`sum(${ledgerEntries.amount})::text` })
    .from(ledgerEntries)
    .where(
      and(eq(ledgerEntries.programId, programId), gte(ledgerEntries.createdAt, from), lt(ledgerEntries.createdAt, to)),
    )
    .groupBy(ledgerEntries.kind);
  let committed = 0n;
  for (const row of rows) {
    if (row.kind === "RESERVE") committed += BigInt(row.amount);
    else if (row.kind === "VOID" || row.kind === "REFUND") committed -= BigInt(row.amount);
  }
  return committed;
}
