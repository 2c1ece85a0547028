// The statements the file exports read besides the reports' own, written from the schema
// (src/db/client.ts): a month's claim lines one by one, with the names a filed document shows.
import { sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { prepared, tableAs, type Executor, type Placeholders } from "../db/client.js";
import { cityStatements, claimLines, dataCenters, organizations, orders } from "../db/schema.js";

const c = alias(claimLines, "c");
const st = alias(cityStatements, "st");
const dc = alias(dataCenters, "dc");
const o = alias(orders, "o");
const sme = alias(organizations, "sme");

/** A month's claim lines, by data center, order and line: what the statement's totals sum. */
const claimLinesStatement = prepared(
  "statement_claim_lines",
  (v: Placeholders<{ programId: string; month: string }>) =>
    sql`select ${c.id} as id, ${c.orderId} as order_id, ${c.dataCenterId} as data_center_id, ${dc.name} as data_center,
               ${dc.hub} as hub, ${sme.name} as sme, ${o.gpuHours} as gpu_hours, ${c.amount}::text as amount, ${c.createdAt} as billed_at
        from ${tableAs(claimLines, c)}
        join ${tableAs(cityStatements, st)} on ${st.id} = ${c.statementId}
        join ${tableAs(dataCenters, dc)} on ${dc.id} = ${c.dataCenterId}
        join ${tableAs(orders, o)} on ${o.id} = ${c.orderId}
        join ${tableAs(organizations, sme)} on ${sme.id} = ${o.smeId}
        where ${st.programId} = ${v.programId}::bigint and ${st.month} = ${v.month}::text
        order by ${c.dataCenterId}, ${c.orderId}, ${c.id}`,
);

export interface ClaimLineRow {
  id: number;
  orderId: number;
  dataCenterId: number;
  dataCenter: string;
  hub: string;
  sme: string;
  gpuHours: number;
  /** Fen; negative for a refund. */
  amount: bigint;
  billedAt: Date;
}

export async function statementClaimLines(db: Executor, programId: number, month: string): Promise<ClaimLineRow[]> {
  const rows = await claimLinesStatement.rows<Record<string, unknown>>(db, { programId: String(programId), month });
  return rows.map((row) => ({
    id: Number(row.id),
    orderId: Number(row.order_id),
    dataCenterId: Number(row.data_center_id),
    dataCenter: String(row.data_center),
    hub: String(row.hub),
    sme: String(row.sme),
    gpuHours: Number(row.gpu_hours),
    amount: BigInt(row.amount as string),
    billedAt: new Date(row.billed_at as string | Date),
  }));
}
