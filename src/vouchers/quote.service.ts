// Prices a reservation with or without a voucher: the quote, and the figures a checkout commits.
import { and, eq } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { smeAnnualSubsidy, subsidyPrograms, vouchers } from "../db/schema.js";
import { notEligible, notFound } from "../errors.js";
import { hoursBetween, yearOf } from "../time.js";
import type { ReservationRow } from "../bids/reservations.service.js";
import { checkEligibility, computeSubsidy, grossOf, INELIGIBLE_MESSAGES } from "./subsidy.js";
import { lockRentalAndVoucher, readRental, type Rental, type VoucherAndProgram } from "./vouchers.queries.js";

export interface PricedReservation {
  gross: bigint;
  subsidy: bigint;
  smeShare: bigint;
  /** null without a voucher. */
  programId: number | null;
  voucherId: number | null;
  /** The calendar year (billing time zone) whose per-SME cap the subsidy counts against. */
  year: number;
  // What an order copies from the reservation, so that reports aggregate one table.
  offerId: number;
  dataCenterId: number;
  hub: string;
  gpuModelId: number;
  gpuHours: number;
}

export interface PriceArgs {
  reservation: Pick<ReservationRow, "offerId" | "gpuCount" | "startsAt" | "endsAt" | "pricePerGpuHour">;
  voucherId: number | null;
  smeId: number;
  now: Date;
  /**
   * true inside a checkout's transaction: locks the program row, then the voucher row, then the
   * SME's annual counter (always in that order, as the ledger does), so that the figures cannot
   * go stale before the subsidy is reserved.
   */
  lock: boolean;
}

/** Gross, subsidy and SME share of a reservation; throws NOT_ELIGIBLE (with the reason) for a voucher that may not pay. */
export async function priceReservation(tx: Executor, args: PriceArgs): Promise<PricedReservation> {
  const { reservation, smeId, now } = args;
  const year = yearOf(now);
  const hours = hoursBetween(reservation.startsAt, reservation.endsAt);
  // The rental's facts and the voucher's program, read or locked, in one round trip.
  const [rental, found] =
    args.voucherId == null
      ? [await readRental(tx, reservation.offerId, smeId), null]
      : args.lock
        ? await lockRentalAndVoucher(tx, reservation.offerId, args.voucherId, smeId, year)
        : await readVoucherAndProgram(tx, reservation.offerId, args.voucherId, smeId, year);
  if (!rental) throw notFound("Offer");
  const copied = {
    year,
    offerId: reservation.offerId,
    dataCenterId: rental.dataCenterId,
    hub: rental.hub,
    gpuModelId: rental.gpuModelId,
    gpuHours: reservation.gpuCount * hours,
  };
  if (args.voucherId == null) {
    const gross = grossOf(reservation.gpuCount, hours, reservation.pricePerGpuHour);
    return { ...copied, gross, subsidy: 0n, smeShare: gross, programId: null, voucherId: null };
  }

  const reason = checkEligibility({
    smeId,
    voucher: found && found.voucher,
    program: found
      ? found.program
      : { status: "ACTIVE", validFrom: now, validUntil: now, eligibleHubs: [], eligibleCategories: [] },
    category: rental.category,
    hub: rental.hub,
    attested: rental.attested,
    affiliated: rental.affiliated,
    now,
  });
  if (reason || !found)
    throw notEligible(reason ?? "VOUCHER_NOT_OWNED", INELIGIBLE_MESSAGES[reason ?? "VOUCHER_NOT_OWNED"]);

  const split = computeSubsidy({
    gpuCount: reservation.gpuCount,
    hours,
    pricePerGpuHour: reservation.pricePerGpuHour,
    domestic: rental.domestic,
    program: found.program,
    voucherRemaining: found.voucher.remaining,
    smeCommittedThisYear: found.committed,
    programAvailable: found.program.available,
  });
  return {
    ...copied,
    gross: split.gross,
    subsidy: split.subsidy,
    smeShare: split.smeShare,
    programId: found.program.id,
    voucherId: args.voucherId,
  };
}

/** No locks: for quotes. The rental's read and the voucher's, in one round trip. */
async function readVoucherAndProgram(
  tx: Executor,
  offerId: number,
  voucherId: number,
  smeId: number,
  year: number,
): Promise<[Rental | null, VoucherAndProgram | null]> {
  const [rental, [row]] = await Promise.all([
    readRental(tx, offerId, smeId),
    tx
      .select({
        voucher: {
          smeId: vouchers.smeId,
          status: vouchers.status,
          validUntil: vouchers.validUntil,
          remaining: vouchers.remaining,
        },
        program: subsidyPrograms,
        committed: smeAnnualSubsidy.committed,
      })
      .from(vouchers)
      .innerJoin(subsidyPrograms, eq(subsidyPrograms.id, vouchers.programId))
      .leftJoin(
        smeAnnualSubsidy,
        and(
          eq(smeAnnualSubsidy.programId, subsidyPrograms.id),
          eq(smeAnnualSubsidy.smeId, smeId),
          eq(smeAnnualSubsidy.year, year),
        ),
      )
      .where(eq(vouchers.id, voucherId)),
  ]);
  return [rental, row ? { ...row, committed: row.committed ?? 0n } : null];
}
