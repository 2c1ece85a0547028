// The statements a checkout prices its reservation with, written once from the schema
// (src/db/client.ts): the rental's facts, and the program, voucher and annual counter locked in
// the order every budget move takes. Their rows become the domain's types here.
import { and, eq, sql, type Placeholder } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { prepared, qb, rowFrom, tableAs, type Executor, type Placeholders } from "../db/client.js";
import {
  affiliations,
  dataCenters,
  gpuModels,
  offerAttestations,
  offers,
  organizations,
  smeAnnualSubsidy,
  subsidyPrograms,
  vouchers,
} from "../db/schema.js";
import type { VoucherRow } from "./applications.service.js";
import type { ProgramRow } from "./programs.service.js";

/** What a price needs to know of the rented offer, and what an order copies from it. */
export interface Rental {
  dataCenterId: number;
  hub: string;
  gpuModelId: number;
  domestic: boolean;
  /** The SME operates the data center, or declared an affiliation with its operator. */
  affiliated: boolean;
  /** The operator declared the hardware of all the offer's GPUs (offer_attestations). */
  attested: boolean;
  /** The renting SME's applicant category. */
  category: string | null;
}

const o = alias(offers, "o");
const dc = alias(dataCenters, "dc");
const m = alias(gpuModels, "m");
const a = alias(affiliations, "a");
const sme = alias(organizations, "sme");

const rentalStatement = prepared(
  "rental_of_offer",
  (p: Placeholders<{ offerId: number; smeId: number }>) =>
    sql`select ${dc.id} as data_center_id, ${dc.hub} as hub, ${o.gpuModelId} as gpu_model_id, ${m.domestic} as domestic,
               (${dc.operatorId} = ${p.smeId} or exists (
                  select 1 from ${tableAs(affiliations, a)} where ${a.organizationId} = ${p.smeId} and ${a.affiliatedId} = ${dc.operatorId})) as affiliated,
               exists (select 1 from ${offerAttestations} where ${offerAttestations.offerId} = ${o.id}
                  and ${offerAttestations.gpuCount} >= ${o.gpuCount}) as attested,
               (select ${sme.category} from ${tableAs(organizations, sme)} where ${sme.id} = ${p.smeId}) as category
        from ${tableAs(offers, o)}
        join ${tableAs(dataCenters, dc)} on ${dc.id} = ${o.dataCenterId}
        join ${tableAs(gpuModels, m)} on ${m.id} = ${o.gpuModelId}
        where ${o.id} = ${p.offerId}`,
);

/** The rental of an offer for this SME; null when there is no such offer. */
export async function readRental(tx: Executor, offerId: number, smeId: number): Promise<Rental | null> {
  const [row] = await rentalStatement.rows<{
    data_center_id: string | number;
    hub: string;
    gpu_model_id: string | number;
    domestic: boolean;
    affiliated: boolean;
    attested: boolean;
    category: string | null;
  }>(tx, { offerId, smeId });
  return row
    ? {
        dataCenterId: Number(row.data_center_id),
        hub: row.hub,
        gpuModelId: Number(row.gpu_model_id),
        domestic: !!row.domestic,
        affiliated: !!row.affiliated,
        attested: !!row.attested,
        category: row.category ?? null,
      }
    : null;
}

/** What a price reads of a voucher. */
export type VoucherTerms = Pick<VoucherRow, "smeId" | "status" | "validUntil" | "remaining">;

/** The voucher with its program and the SME's subsidy committed in the program this year (0 without a counter). */
export interface VoucherAndProgram {
  voucher: VoucherTerms;
  program: ProgramRow;
  committed: bigint;
}

/** The voucher's program. */
const programOfVoucher = (voucherId: Placeholder) =>
  qb.select({ id: vouchers.programId }).from(vouchers).where(eq(vouchers.id, voucherId));

const lockProgramStatement = prepared("program_of_voucher_lock", (p: Placeholders<{ voucherId: number }>) =>
  qb
    .select()
    .from(subsidyPrograms)
    .where(eq(subsidyPrograms.id, programOfVoucher(p.voucherId)))
    .for("no key update"),
);

const lockVoucherStatement = prepared("voucher_lock", (p: Placeholders<{ voucherId: number }>) =>
  qb
    .select({
      smeId: vouchers.smeId,
      status: vouchers.status,
      validUntil: vouchers.validUntil,
      remaining: vouchers.remaining,
    })
    .from(vouchers)
    .where(eq(vouchers.id, p.voucherId))
    .for("no key update"),
);

// An absent counter cannot be locked, but every change to it happens under the program's lock taken first.
const lockAnnualStatement = prepared(
  "annual_subsidy_lock",
  (p: Placeholders<{ voucherId: number; smeId: number; year: number }>) =>
    qb
      .select({ committed: smeAnnualSubsidy.committed })
      .from(smeAnnualSubsidy)
      .where(
        and(
          eq(smeAnnualSubsidy.programId, programOfVoucher(p.voucherId)),
          eq(smeAnnualSubsidy.smeId, p.smeId),
          eq(smeAnnualSubsidy.year, p.year),
        ),
      )
      .for("no key update"),
);

/**
 * Locks the voucher's program, then the voucher, then the SME's annual counter: the order every
 * budget move takes. The rental's read goes first, in the same round trip. Null without such a
 * voucher.
 */
export async function lockRentalAndVoucher(
  tx: Executor,
  offerId: number,
  voucherId: number,
  smeId: number,
  year: number,
): Promise<[Rental | null, VoucherAndProgram | null]> {
  const [rental, [program], [voucher], [annual]] = await Promise.all([
    readRental(tx, offerId, smeId),
    lockProgramStatement.rows(tx, { voucherId }),
    lockVoucherStatement.rows(tx, { voucherId }),
    lockAnnualStatement.rows(tx, { voucherId, smeId, year }),
  ]);
  if (!program || !voucher) return [rental, null];
  return [
    rental,
    {
      program: rowFrom(subsidyPrograms, program),
      voucher: rowFrom(vouchers, voucher) as VoucherTerms,
      committed: annual ? rowFrom(smeAnnualSubsidy, annual).committed : 0n,
    },
  ];
}
