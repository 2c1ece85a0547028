// Matching rules as pure functions: which offers can serve a bid, where on each, and which wins.
// The service feeds them rows it has locked; nothing here touches the database.
import { freeProfile, type Booking } from "../offers/capacity.js";
import { compareUtilization, NO_UTILIZATION, type Utilization } from "../offers/utilization.js";
import { addHours, ceilHour, HOUR_MS, maxDate, minDate } from "../time.js";

export interface BidTerms {
  gpuModelId: number;
  gpuCount: number;
  hours: number;
  earliestStart: Date;
  latestEnd: Date;
  maxPricePerGpuHour: bigint;
  /** Acceptable hubs; null or empty = any hub. */
  hubs: readonly string[] | null;
}

export interface OfferTerms {
  id: number;
  dataCenterId: number;
  hub: string;
  gpuModelId: number;
  gpuCount: number;
  pricePerGpuHour: bigint;
  availableFrom: Date;
  availableUntil: Date;
  minHours: number;
  status: string;
  createdAt: Date;
}

export interface Candidate {
  offer: OfferTerms;
  startsAt: Date;
}

/**
 * The hours a reservation for this bid may use on this offer: [from, to). A start in the past is
 * useless, so starts are also at or after the next whole hour from `now`.
 */
export function searchRange(bid: BidTerms, offer: Pick<OfferTerms, "availableFrom" | "availableUntil">, now: Date) {
  const from = maxDate(maxDate(bid.earliestStart, offer.availableFrom), ceilHour(now));
  const to = minDate(bid.latestEnd, offer.availableUntil);
  return { from, to };
}

/** The static conditions of a candidate: everything but free capacity. */
export function isCandidateOffer(bid: BidTerms, offer: OfferTerms, now: Date): boolean {
  if (offer.status !== "ACTIVE") return false;
  if (offer.gpuModelId !== bid.gpuModelId) return false;
  if (offer.pricePerGpuHour > bid.maxPricePerGpuHour) return false;
  if (bid.hours < offer.minHours) return false;
  if (offer.gpuCount < bid.gpuCount) return false;
  if (bid.hubs && bid.hubs.length > 0 && !bid.hubs.includes(offer.hub)) return false;
  const { from, to } = searchRange(bid, offer, now);
  return to.getTime() - from.getTime() >= bid.hours * HOUR_MS;
}

/**
 * The earliest whole-hour start s in `range` such that every hour of [s, s + hours) has at least
 * `gpuCount` free GPUs on the offer, or null. Linear in the range's length.
 */
export function earliestFeasibleStart(
  offer: Pick<OfferTerms, "gpuCount" | "availableFrom" | "availableUntil">,
  bookings: readonly Booking[],
  range: { from: Date; to: Date },
  gpuCount: number,
  hours: number,
): Date | null {
  if (hours < 1 || range.to.getTime() - range.from.getTime() < hours * HOUR_MS) return null;
  const profile = freeProfile(offer, bookings, range.from, range.to);
  let run = 0;
  for (let h = 0; h < profile.length; h++) {
    run = profile[h] >= gpuCount ? run + 1 : 0;
    if (run === hours) return addHours(range.from, h - hours + 1);
  }
  return null;
}

/** Every offer that can serve the bid, each with its earliest feasible start. */
export function feasibleCandidates(
  bid: BidTerms,
  offers: readonly OfferTerms[],
  bookingsByOffer: ReadonlyMap<number, readonly Booking[]>,
  now: Date,
): Candidate[] {
  const result: Candidate[] = [];
  for (const offer of offers) {
    if (!isCandidateOffer(bid, offer, now)) continue;
    const startsAt = earliestFeasibleStart(
      offer,
      bookingsByOffer.get(offer.id) ?? [],
      searchRange(bid, offer, now),
      bid.gpuCount,
      bid.hours,
    );
    if (startsAt) result.push({ offer, startsAt });
  }
  return result;
}

/** A stretch of an offer's hours that all have at least `level` free GPUs, and one of them exactly that many. */
export interface FreeSpan {
  level: number;
  from: Date;
  to: Date;
}

/**
 * The offer's free capacity from the next whole hour on, as spans: for each hour with free GPUs,
 * the longest stretch around it where no hour has fewer, with that hour's count as its level. A bid
 * the offer may serve (isCandidateOffer) fits it exactly when some span has `level >= gpuCount` and
 * holds `hours` hours of the bid's window: the span of the fullest hour of a feasible block holds
 * the whole block. Spans nest or stay apart, so there are fewer of them than steps in the profile.
 */
export function freeSpans(
  offer: Pick<OfferTerms, "gpuCount" | "availableFrom" | "availableUntil">,
  bookings: readonly Booking[],
  now: Date,
): FreeSpan[] {
  const from = maxDate(offer.availableFrom, ceilHour(now));
  if (offer.availableUntil.getTime() <= from.getTime()) return [];
  const profile = freeProfile(offer, bookings, from, offer.availableUntil);
  // Steps: runs of hours with the same count.
  const starts: number[] = [];
  const levels: number[] = [];
  for (let h = 0; h < profile.length; h++) {
    if (h === 0 || profile[h] !== profile[h - 1]) {
      starts.push(h);
      levels.push(profile[h]);
    }
  }
  const n = levels.length;
  const ends = starts.map((_, i) => (i + 1 < n ? starts[i + 1] : profile.length));
  // For each step, the nearest step on each side with fewer free GPUs (a monotonic stack).
  const left = new Array<number>(n);
  const right = new Array<number>(n);
  const stack: number[] = [];
  for (let i = 0; i < n; i++) {
    while (stack.length && levels[stack[stack.length - 1]] >= levels[i]) stack.pop();
    left[i] = stack.length ? stack[stack.length - 1] : -1;
    stack.push(i);
  }
  stack.length = 0;
  for (let i = n - 1; i >= 0; i--) {
    while (stack.length && levels[stack[stack.length - 1]] >= levels[i]) stack.pop();
    right[i] = stack.length ? stack[stack.length - 1] : n;
    stack.push(i);
  }
  const spans = new Map<string, FreeSpan>();
  for (let i = 0; i < n; i++) {
    if (levels[i] <= 0) continue;
    const first = starts[left[i] + 1];
    const last = ends[right[i] - 1];
    const key = `${first}:${last}`;
    if (!spans.has(key)) spans.set(key, { level: levels[i], from: addHours(from, first), to: addHours(from, last) });
  }
  return [...spans.values()];
}

/**
 * The data centers whose utilization could decide the winner: those of the cheapest candidates,
 * when they are more than one data center. Empty when the price alone decides.
 */
export function dataCentersToCompare(candidates: readonly Candidate[]): number[] {
  if (candidates.length < 2) return [];
  let lowest = candidates[0].offer.pricePerGpuHour;
  for (const c of candidates) if (c.offer.pricePerGpuHour < lowest) lowest = c.offer.pricePerGpuHour;
  const ids = new Set(candidates.filter((c) => c.offer.pricePerGpuHour === lowest).map((c) => c.offer.dataCenterId));
  return ids.size > 1 ? [...ids].sort((a, b) => a - b) : [];
}

/**
 * Orders candidates by the four tie-breakers: lowest price; least utilized data center over the
 * bid's window; earliest feasible start; offer published first, then smaller id.
 */
export function compareCandidates(a: Candidate, b: Candidate, utilization: ReadonlyMap<number, Utilization>): number {
  if (a.offer.pricePerGpuHour !== b.offer.pricePerGpuHour)
    return a.offer.pricePerGpuHour < b.offer.pricePerGpuHour ? -1 : 1;
  if (a.offer.dataCenterId !== b.offer.dataCenterId) {
    const byUse = compareUtilization(
      utilization.get(a.offer.dataCenterId) ?? NO_UTILIZATION,
      utilization.get(b.offer.dataCenterId) ?? NO_UTILIZATION,
    );
    if (byUse !== 0) return byUse;
  }
  const byStart = a.startsAt.getTime() - b.startsAt.getTime();
  if (byStart !== 0) return byStart;
  const byAge = a.offer.createdAt.getTime() - b.offer.createdAt.getTime();
  if (byAge !== 0) return byAge;
  return a.offer.id - b.offer.id;
}

/** The winning candidate, or null when there is none. */
export function pickWinner(
  candidates: readonly Candidate[],
  utilization: ReadonlyMap<number, Utilization>,
): Candidate | null {
  let best: Candidate | null = null;
  for (const c of candidates) if (!best || compareCandidates(c, best, utilization) < 0) best = c;
  return best;
}

export interface OpenBid {
  id: number;
  maxPricePerGpuHour: bigint;
  createdAt: Date;
}

/** Price-time priority of open bids: highest max price first, then oldest, then smaller id. */
export function compareBidPriority(a: OpenBid, b: OpenBid): number {
  if (a.maxPricePerGpuHour !== b.maxPricePerGpuHour) return a.maxPricePerGpuHour > b.maxPricePerGpuHour ? -1 : 1;
  const byAge = a.createdAt.getTime() - b.createdAt.getTime();
  return byAge !== 0 ? byAge : a.id - b.id;
}

/** A bid can no longer be served once its latest possible start, latestEnd - hours, has passed. */
export function isStale(bid: Pick<BidTerms, "latestEnd" | "hours">, now: Date): boolean {
  return bid.latestEnd.getTime() - bid.hours * HOUR_MS < now.getTime();
}
