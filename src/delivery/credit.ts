// The delivery rules of docs/domain.md as pure functions: what a report may say, and the credit
// for the GPU-hours that were not delivered. No database.
import { badInput } from "../errors.js";
import { HOUR_MS, hoursBetween, requireWholeHour } from "../time.js";

/** A stretch of whole hours in which `gpus` of the reservation's GPUs were not available. */
export interface Outage {
  from: Date;
  to: Date;
  gpus: number;
}

/** At most this many outages per report. */
export const MAX_OUTAGES = 1_000;

/**
 * Checks a report against its reservation: `delivered` GPU-hours between 0 and the booked ones, and
 * outages of whole hours inside the rental that never put more GPUs out in one hour than it has.
 * The outages account for every undelivered GPU-hour: their GPU-hours sum to booked − delivered.
 * BAD_USER_INPUT names the field at fault (`outages[2].to`).
 */
export function checkReport(
  reservation: { gpuCount: number; startsAt: Date; endsAt: Date },
  delivered: number,
  outages: readonly Outage[],
): { booked: number } {
  const hours = hoursBetween(reservation.startsAt, reservation.endsAt);
  const booked = reservation.gpuCount * hours;
  if (!Number.isSafeInteger(delivered) || delivered < 0 || delivered > booked)
    throw badInput("deliveredGpuHours", `deliveredGpuHours must be between 0 and the ${booked} GPU-hours booked`);
  if (outages.length > MAX_OUTAGES) throw badInput("outages", `at most ${MAX_OUTAGES} outages per report`);
  // GPUs out per hour of the rental, to refuse overlapping outages that add up to more than it has.
  const out = new Map<number, number>();
  let missing = 0;
  outages.forEach((outage, i) => {
    const field = `outages[${i}]`;
    requireWholeHour(`${field}.from`, outage.from);
    requireWholeHour(`${field}.to`, outage.to);
    if (outage.to <= outage.from) throw badInput(`${field}.to`, `${field}.to must be after ${field}.from`);
    if (outage.from < reservation.startsAt || outage.to > reservation.endsAt)
      throw badInput(`${field}.from`, `${field} must lie inside the rental`);
    if (!Number.isInteger(outage.gpus) || outage.gpus < 1 || outage.gpus > reservation.gpuCount)
      throw badInput(`${field}.gpus`, `${field}.gpus must be between 1 and the ${reservation.gpuCount} GPUs rented`);
    for (let t = outage.from.getTime(); t < outage.to.getTime(); t += HOUR_MS) {
      const gpus = (out.get(t) ?? 0) + outage.gpus;
      if (gpus > reservation.gpuCount)
        throw badInput(`${field}.gpus`, `the outages put more GPUs out in one hour than were rented`);
      out.set(t, gpus);
    }
    missing += outage.gpus * hoursBetween(outage.from, outage.to);
  });
  if (missing !== booked - delivered) {
    throw badInput(
      "outages",
      `the outages account for ${missing} GPU-hours, but ${booked - delivered} were not delivered (booked − deliveredGpuHours)`,
    );
  }
  return { booked };
}

/**
 * The credit for undelivered GPU-hours, pro rata, each part on its own and rounded down to the fen:
 *
 *   subsidyCredit  = floor(subsidy  × undelivered / booked)   back to the program and the voucher
 *   smeShareCredit = floor(smeShare × undelivered / booked)   refunded to the SME
 *
 * The fen a rounding leaves stays with the party that was charged for it (the city's budget, the
 * SME), paid to the data center. Nothing delivered: both parts in full; everything delivered: 0.
 */
export function creditFor(
  order: { subsidy: bigint; smeShare: bigint },
  booked: number,
  delivered: number,
): { subsidyCredit: bigint; smeShareCredit: bigint } {
  if (!Number.isSafeInteger(booked) || booked <= 0) throw new RangeError("booked must be a positive integer");
  if (!Number.isSafeInteger(delivered) || delivered < 0 || delivered > booked)
    throw new RangeError("delivered must be between 0 and booked");
  const undelivered = BigInt(booked - delivered);
  // BigInt division truncates toward zero: floor for these non-negative values.
  return {
    subsidyCredit: (order.subsidy * undelivered) / BigInt(booked),
    smeShareCredit: (order.smeShare * undelivered) / BigInt(booked),
  };
}

/** The outages as stored (JSON), and back. */
export const outagesToJson = (outages: readonly Outage[]): string =>
  JSON.stringify(outages.map((o) => ({ from: o.from.toISOString(), to: o.to.toISOString(), gpus: o.gpus })));

export function outagesFromJson(text: string): Outage[] {
  const parsed = JSON.parse(text) as { from: string; to: string; gpus: number }[];
  return parsed.map((o) => ({ from: new Date(o.from), to: new Date(o.to), gpus: o.gpus }));
}
