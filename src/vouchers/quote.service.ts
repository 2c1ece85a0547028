// Prices a reservation with or without a voucher: the quote, and the figures a checkout commits.
import { sql, type SQL } from "drizzle-orm";
import { pipelined, rowsOf, type Executor } from "../db/client.js";
import { reservations } from "../db/schema.js";
import { notEligible, notFound } from "../errors.js";
import { hoursBetween } from "../time.js";
import { checkEligibility, computeSubsidy, grossOf, INELIGIBLE_MESSAGES } from "./subsidy.js";

export type ReservationRow = typeof reservations.$inferSelect;

export interface PricedReservation {
  gross: bigint;
  subsidy: bigint;
  smeShare: bigint;
  /** null without a voucher. */
  programId: number | null;
  voucherId: number | null;
  /** The calendar year (UTC) whose per-SME cap the subsidy counts against. */
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

interface RentalRow {
  data_center_id: string | number;
  hub: string;
  gpu_model_id: string | number;
  domestic: boolean;
  affiliated: boolean;
}

interface VoucherProgramRow {
  voucher_sme_id: string | number;
  voucher_status: string;
  voucher_valid_until: Date | string;
  remaining: string | number;
  program_id: string | number;
  program_status: string;
  valid_from: Date | string;
  valid_until: Date | string;
  eligible_hubs: string[] | string;
  available: string | number;
  rate_basis_points: number;
  domestic_rate_basis_points: number | null;
  per_order_cap: string | number | null;
  per_sme_annual_cap: string | number | null;
  max_subsidized_price_per_gpu_hour: string | number | null;
  committed: string | number | null;
}

const big = (value: string | number | null): bigint | null => (value == null ? null : BigInt(value));
const date = (value: Date | string): Date => (value instanceof Date ? value : new Date(value));
// The postgres driver may hand a text[] over as its literal, e.g. {"Gansu Qingyang",Wuhu}.
function textArray(value: string[] | string): string[] {
  if (Array.isArray(value)) return value;
  const inner = value.replace(/^\{|\}$/g, "");
  if (inner === "") return [];
  return [...inner.matchAll(/"((?:[^"\\]|\\.)*)"|([^,]+)/g)].map((m) =>
    m[1] != null ? m[1].replace(/\\(.)/g, "$1") : m[2],
  );
}

/** Gross, subsidy and SME share of a reservation; throws NOT_ELIGIBLE (with the reason) for a voucher that may not pay. */
export async function priceReservation(tx: Executor, args: PriceArgs): Promise<PricedReservation> {
  const { reservation, smeId, now } = args;
  const year = now.getUTCFullYear();
  const hours = hoursBetween(reservation.startsAt, reservation.endsAt);
  const rentalQuery = sql`select dc.id as data_center_id, dc.hub, o.gpu_model_id, m.domestic,
             (dc.operator_id = ${smeId} or exists (
                select 1 from affiliations a where a.organization_id = ${smeId} and a.affiliated_id = dc.operator_id)) as affiliated
      from offers o
      join data_centers dc on dc.id = o.data_center_id
      join gpu_models m on m.id = o.gpu_model_id
      where o.id = ${reservation.offerId}`;
  // The rental's facts and the voucher's program, read or locked, in one round trip.
  const [[rental], found] =
    args.voucherId == null
      ? [await rowsOf<RentalRow>(tx, rentalQuery), null]
      : args.lock
        ? await lockedVoucherAndProgram(tx, rentalQuery, args.voucherId, smeId, year)
        : await readVoucherAndProgram(tx, rentalQuery, args.voucherId, smeId, year);
  if (!rental) throw notFound("Offer");
  const copied = {
    year,
    offerId: reservation.offerId,
    dataCenterId: Number(rental.data_center_id),
    hub: rental.hub,
    gpuModelId: Number(rental.gpu_model_id),
    gpuHours: reservation.gpuCount * hours,
  };
  if (args.voucherId == null) {
    const gross = grossOf(reservation.gpuCount, hours, reservation.pricePerGpuHour);
    return { ...copied, gross, subsidy: 0n, smeShare: gross, programId: null, voucherId: null };
  }

  const reason = checkEligibility({
    smeId,
    voucher: found && {
      smeId: Number(found.voucher_sme_id),
      status: found.voucher_status,
      validUntil: date(found.voucher_valid_until),
    },
    program: found
      ? {
          status: found.program_status,
          validFrom: date(found.valid_from),
          validUntil: date(found.valid_until),
          eligibleHubs: textArray(found.eligible_hubs),
        }
      : { status: "ACTIVE", validFrom: now, validUntil: now, eligibleHubs: [] },
    hub: rental.hub,
    affiliated: !!rental.affiliated,
    now,
  });
  if (reason || !found)
    throw notEligible(reason ?? "VOUCHER_NOT_OWNED", INELIGIBLE_MESSAGES[reason ?? "VOUCHER_NOT_OWNED"]);

  const split = computeSubsidy({
    gpuCount: reservation.gpuCount,
    hours,
    pricePerGpuHour: reservation.pricePerGpuHour,
    domestic: !!rental.domestic,
    program: {
      rateBasisPoints: Number(found.rate_basis_points),
      domesticRateBasisPoints:
        found.domestic_rate_basis_points == null ? null : Number(found.domestic_rate_basis_points),
      perOrderCap: big(found.per_order_cap),
      perSmeAnnualCap: big(found.per_sme_annual_cap),
      maxSubsidizedPricePerGpuHour: big(found.max_subsidized_price_per_gpu_hour),
    },
    voucherRemaining: BigInt(found.remaining),
    smeCommittedThisYear: BigInt(found.committed ?? 0),
    programAvailable: BigInt(found.available),
  });
  return {
    ...copied,
    gross: split.gross,
    subsidy: split.subsidy,
    smeShare: split.smeShare,
    programId: Number(found.program_id),
    voucherId: args.voucherId,
  };
}

const PROGRAM_COLUMNS =
  sql.raw(`p.id as program_id, p.status as program_status, p.valid_from, p.valid_until, p.eligible_hubs,
  p.available, p.rate_basis_points, p.domestic_rate_basis_points, p.per_order_cap, p.per_sme_annual_cap,
  p.max_subsidized_price_per_gpu_hour`);

/** No locks: for quotes. */
async function readVoucherAndProgram(
  tx: Executor,
  rental: SQL,
  voucherId: number,
  smeId: number,
  year: number,
): Promise<[RentalRow[], VoucherProgramRow | null]> {
  const [rentals, [row]] = await pipelined<[RentalRow, VoucherProgramRow]>(tx, [
    rental,
    sql`select v.sme_id as voucher_sme_id, v.status as voucher_status, v.valid_until as voucher_valid_until, v.remaining,
               ${PROGRAM_COLUMNS}, a.committed
        from vouchers v
        join subsidy_programs p on p.id = v.program_id
        left join sme_annual_subsidy a on a.program_id = p.id and a.sme_id = ${smeId} and a.year = ${year}
        where v.id = ${voucherId}`,
  ]);
  return [rentals, row ?? null];
}

type VoucherRow = Pick<VoucherProgramRow, "voucher_sme_id" | "voucher_status" | "voucher_valid_until" | "remaining">;

/** Locks program, then voucher, then the annual counter: the order every budget move takes. */
async function lockedVoucherAndProgram(
  tx: Executor,
  rental: SQL,
  voucherId: number,
  smeId: number,
  year: number,
): Promise<[RentalRow[], VoucherProgramRow | null]> {
  const programOfVoucher = sql`(select program_id from vouchers where id = ${voucherId})`;
  const [rentals, [program], [voucher], [annual]] = await pipelined<
    [RentalRow, VoucherProgramRow, VoucherRow, { committed: string | number }]
  >(tx, [
    rental,
    sql`select ${PROGRAM_COLUMNS} from subsidy_programs p where p.id = ${programOfVoucher} for no key update`,
    sql`select sme_id as voucher_sme_id, status as voucher_status, valid_until as voucher_valid_until, remaining
        from vouchers where id = ${voucherId} for no key update`,
    // An absent counter cannot be locked, but every change to it happens under the program's lock taken first.
    sql`select committed from sme_annual_subsidy
        where program_id = ${programOfVoucher} and sme_id = ${smeId} and year = ${year}
        for no key update`,
  ]);
  return [rentals, program && voucher ? { ...program, ...voucher, committed: annual?.committed ?? 0 } : null];
}
