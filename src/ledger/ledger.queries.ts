// The ledger's statements written once from the schema (src/db/client.ts): the program's lock, a
// move of its budget in one guarded statement, a month's statements and claim lines. Every
// checkout and every payment sends them. Their rows become the domain's types here.
import { and, eq, gte, sql } from "drizzle-orm";
import {
  nameOf,
  perShape,
  prepared,
  qb,
  rowFrom,
  valueFor,
  valuesFor,
  type Executor,
  type Placeholders,
} from "../db/client.js";
import {
  cityStatements,
  claimLines,
  ledgerEntries,
  smeAnnualSubsidy,
  subsidyPrograms,
  vouchers,
} from "../db/schema.js";
import type { LedgerKind } from "./ledger.service.js";

type Balance = "available" | "pending" | "spent";

/**
 * A program row locked NO KEY UPDATE, with the one figure a move checks besides the balances; null
 * when there is no such program.
 */
const programLockStatement = prepared("program_lock", (p: Placeholders<{ id: number }>) =>
  qb
    .select({ perSmeAnnualCap: subsidyPrograms.perSmeAnnualCap })
    .from(subsidyPrograms)
    .where(eq(subsidyPrograms.id, p.id))
    .for("no key update"),
);

export async function lockProgramRow(
  tx: Executor,
  programId: number,
): Promise<{ perSmeAnnualCap: bigint | null } | null> {
  const [row] = await programLockStatement.rows(tx, { id: programId });
  return row ? { perSmeAnnualCap: rowFrom(subsidyPrograms, row).perSmeAnnualCap } : null;
}

/** What one kind of entry requires and moves (the ledger's rules, in ledger.service.ts). */
export interface Move {
  kind: LedgerKind;
  requires: LedgerKind | null;
  excludes: LedgerKind | null;
  from: Balance;
  to: Balance;
  voucher: "take" | "return" | null;
  annual: "commit" | "release" | null;
}

/** What each part of a move statement wrote: a row count each. */
export type MoveResult = { entry: number; program: number; voucher: number; annual: number };

/** The order's figures a move writes. */
export interface MoveOf {
  programId: number;
  voucherId: number;
  orderId: number;
  smeId: number;
  year: number;
  amount: bigint;
}

type MoveValues = {
  programId: string;
  voucherId: string;
  orderId: string;
  smeId: string;
  year: number;
  amount: string;
};

const BALANCES = {
  available: subsidyPrograms.available,
  pending: subsidyPrograms.pending,
  spent: subsidyPrograms.spent,
} as const;

/**
 * The entry when the order's earlier entries allow it, then the program's balances, the voucher
 * and the SME's annual counter, each guarded so that no balance goes below 0 (or a voucher above
 * its grant, a counter above the cap), and each only when the entry was written. Plain
 * parameters, cast in the text. The outer select reads the parts in lock order: program, then
 * voucher, then annual counter.
 */
const moveStatement = perShape((move: Move) =>
  prepared<MoveValues>("ledger_move", (p) => {
    const [source, target] = [nameOf(BALANCES[move.from]), nameOf(BALANCES[move.to])];
    const written = sql`exists (select 1 from entry)`;
    const cap = sql`(select ${subsidyPrograms.perSmeAnnualCap} from ${subsidyPrograms} where ${subsidyPrograms.id} = ${p.programId}::bigint)`;
    const remaining = nameOf(vouchers.remaining);
    const voucher =
      move.voucher === "take"
        ? sql`update ${vouchers} set ${remaining} = ${vouchers.remaining} - ${p.amount}::bigint
              where ${vouchers.id} = ${p.voucherId}::bigint and ${vouchers.remaining} >= ${p.amount}::bigint and ${written} returning ${vouchers.id}`
        : sql`update ${vouchers} set ${remaining} = ${vouchers.remaining} + ${p.amount}::bigint
              where ${vouchers.id} = ${p.voucherId}::bigint and ${vouchers.remaining} + ${p.amount}::bigint <= ${vouchers.grantedAmount} and ${written} returning ${vouchers.id}`;
    const a = smeAnnualSubsidy;
    const committed = nameOf(a.committed);
    const annual =
      move.annual === "commit"
        ? sql`insert into ${a} (${nameOf(a.programId)}, ${nameOf(a.smeId)}, ${nameOf(a.year)}, ${committed})
              select ${p.programId}::bigint, ${p.smeId}::bigint, ${p.year}::integer, ${p.amount}::bigint
              where ${written} and (${cap} is null or ${p.amount}::bigint <= ${cap})
              on conflict (${nameOf(a.programId)}, ${nameOf(a.smeId)}, ${nameOf(a.year)}) do update
                set ${committed} = ${a.committed} + excluded.${committed}
                where ${cap} is null or ${a.committed} + excluded.${committed} <= ${cap}
              returning ${a.committed}`
        : sql`update ${a} set ${committed} = ${a.committed} - ${p.amount}::bigint
              where ${a.programId} = ${p.programId}::bigint and ${a.smeId} = ${p.smeId}::bigint and ${a.year} = ${p.year}::integer
                and ${a.committed} >= ${p.amount}::bigint and ${written}
              returning ${a.committed}`;
    const entries = ledgerEntries;
    const earlier = (kind: LedgerKind) =>
      sql`select 1 from ${entries} where ${entries.orderId} = ${p.orderId}::bigint and ${entries.kind} = ${kind}::ledger_entry_kind`;
    return sql`with entry as (
          insert into ${entries} (${nameOf(entries.programId)}, ${nameOf(entries.voucherId)}, ${nameOf(entries.orderId)}, ${nameOf(entries.kind)}, ${nameOf(entries.amount)})
          select ${p.programId}::bigint, ${p.voucherId}::bigint, ${p.orderId}::bigint, ${move.kind}::ledger_entry_kind, ${p.amount}::bigint
          where true
            ${move.requires ? sql`and exists (${earlier(move.requires)})` : sql``}
            ${move.excludes ? sql`and not exists (${earlier(move.excludes)})` : sql``}
          on conflict (${nameOf(entries.orderId)}, ${nameOf(entries.kind)}) do nothing
          returning ${entries.id}
        ), program as (
          update ${subsidyPrograms} set ${source} = ${BALANCES[move.from]} - ${p.amount}::bigint, ${target} = ${BALANCES[move.to]} + ${p.amount}::bigint
          where ${subsidyPrograms.id} = ${p.programId}::bigint and ${BALANCES[move.from]} >= ${p.amount}::bigint and ${written}
          returning ${subsidyPrograms.id}
        )${move.voucher ? sql`, voucher as (${voucher})` : sql``}${move.annual ? sql`, annual as (${annual})` : sql``}
        select (select count(*) from entry)::int as entry, (select count(*) from program)::int as program,
               ${move.voucher ? sql`(select count(*) from voucher)::int` : sql`1`} as voucher,
               ${move.annual ? sql`(select count(*) from annual)::int` : sql`1`} as annual`;
  }),
);

/** Appends the entry and makes its moves in one statement: what each part wrote. */
export async function appendMove(tx: Executor, move: Move, of: MoveOf): Promise<MoveResult> {
  const [done] = await moveStatement(move).rows<MoveResult>(tx, {
    programId: String(of.programId),
    voucherId: String(of.voucherId),
    orderId: String(of.orderId),
    smeId: String(of.smeId),
    year: of.year,
    amount: String(of.amount),
  });
  return {
    entry: Number(done.entry),
    program: Number(done.program),
    voucher: Number(done.voucher),
    annual: Number(done.annual),
  };
}

export type StatementRef = Pick<typeof cityStatements.$inferSelect, "id" | "month" | "status">;

/** The program's statements from `month` on, by month. */
const statementsFromStatement = prepared(
  "statements_from_month",
  (p: Placeholders<{ programId: number; month: string }>) =>
    qb
      .select({ id: cityStatements.id, month: cityStatements.month, status: cityStatements.status })
      .from(cityStatements)
      .where(and(eq(cityStatements.programId, p.programId), gte(cityStatements.month, p.month)))
      .orderBy(cityStatements.month),
);

export async function statementsFrom(tx: Executor, programId: number, month: string): Promise<StatementRef[]> {
  const rows = await statementsFromStatement.rows(tx, { programId, month });
  return rows.map((row) => rowFrom(cityStatements, row) as StatementRef);
}

/** The program's statement of `month`, created OPEN when it has none; its id. */
const statementOfMonthStatement = prepared(
  "statement_of_month",
  (p: Placeholders<{ programId: number; month: string }>) =>
    qb
      .insert(cityStatements)
      .values({
        programId: valueFor(cityStatements.programId, p.programId),
        month: valueFor(cityStatements.month, p.month),
      })
      .onConflictDoUpdate({
        target: [cityStatements.programId, cityStatements.month],
        set: { month: sql`excluded.${nameOf(cityStatements.month)}` },
      })
      .returning({ id: cityStatements.id }),
);

export async function statementOfMonth(tx: Executor, programId: number, month: string): Promise<number> {
  const [row] = await statementOfMonthStatement.rows(tx, { programId, month });
  return Number(row.id);
}

const NEW_CLAIM_LINE = ["statementId", "programId", "orderId", "dataCenterId", "amount", "credit"] as const;
export type NewClaimLine = Pick<typeof claimLines.$inferInsert, (typeof NEW_CLAIM_LINE)[number]>;

const insertClaimLineStatement = prepared<NewClaimLine>("claim_line_insert", () =>
  qb.insert(claimLines).values(valuesFor(claimLines, NEW_CLAIM_LINE)),
);

export async function insertClaimLine(tx: Executor, values: NewClaimLine): Promise<void> {
  await insertClaimLineStatement.rows(tx, values);
}
