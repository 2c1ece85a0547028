// An offer's hourly capacity profile: pure functions over the live reservations of one offer.
import { HOUR_MS } from "../time.js";

export interface Booking {
  startsAt: Date;
  endsAt: Date;
  gpuCount: number;
}

export interface OfferWindow {
  gpuCount: number;
  availableFrom: Date;
  availableUntil: Date;
}

/** Free GPUs per hour over [from, to); 0 for hours outside the offer's window. */
export function freeProfile(offer: OfferWindow, bookings: readonly Booking[], from: Date, to: Date): Int32Array {
  const start = from.getTime();
  const hours = Math.max(0, Math.ceil((to.getTime() - start) / HOUR_MS));
  const profile = new Int32Array(hours);
  const open = Math.max(0, Math.ceil((offer.availableFrom.getTime() - start) / HOUR_MS));
  const close = Math.min(hours, Math.floor((offer.availableUntil.getTime() - start) / HOUR_MS));
  for (let h = open; h < close; h++) profile[h] = offer.gpuCount;
  for (const booking of bookings) {
    const first = Math.max(0, Math.floor((booking.startsAt.getTime() - start) / HOUR_MS));
    const last = Math.min(hours, Math.ceil((booking.endsAt.getTime() - start) / HOUR_MS));
    for (let h = first; h < last; h++) profile[h] -= booking.gpuCount;
  }
  return profile;
}

/** The fewest free GPUs in any hour of [from, to); 0 for an empty range. */
export function freeGpus(offer: OfferWindow, bookings: readonly Booking[], from: Date, to: Date): number {
  // Any hour outside the window has 0 free, which also bounds the profile to the window's size.
  if (from < offer.availableFrom || to > offer.availableUntil) return 0;
  const profile = freeProfile(offer, bookings, from, to);
  if (profile.length === 0) return 0;
  let least = Infinity;
  for (const free of profile) least = Math.min(least, free);
  return Math.max(0, least);
}

/** The most GPUs reserved in any one hour, over all bookings. */
export function peakReserved(bookings: readonly Booking[]): number {
  const changes = new Map<number, number>();
  for (const b of bookings) {
    changes.set(b.startsAt.getTime(), (changes.get(b.startsAt.getTime()) ?? 0) + b.gpuCount);
    changes.set(b.endsAt.getTime(), (changes.get(b.endsAt.getTime()) ?? 0) - b.gpuCount);
  }
  let current = 0;
  let peak = 0;
  for (const [, delta] of [...changes].sort((a, b) => a[0] - b[0])) {
    current += delta;
    peak = Math.max(peak, current);
  }
  return peak;
}
