import { describe, expect, it } from "vitest";
import {
  compareBidPriority,
  compareCandidates,
  dataCentersToCompare,
  earliestFeasibleStart,
  feasibleCandidates,
  freeSpans,
  isCandidateOffer,
  isStale,
  pickWinner,
  searchRange,
  type BidTerms,
  type Candidate,
  type OfferTerms,
} from "../src/bids/match.js";
import { bookingsByOffer, integers } from "../src/offers/offers.queries.js";
import type { Booking } from "../src/offers/capacity.js";
import type { Utilization } from "../src/offers/utilization.js";

const T0 = Date.parse("2027-03-01T00:00:00Z");
const at = (hours: number) => new Date(T0 + hours * 3_600_000);
const NOW = at(-24);

function bid(overrides: Partial<BidTerms> = {}): BidTerms {
  return {
    gpuModelId: 1,
    gpuCount: 2,
    hours: 3,
    earliestStart: at(0),
    latestEnd: at(24),
    maxPricePerGpuHour: 2000n,
    hubs: null,
    ...overrides,
  };
}

let nextId = 1;
function offer(overrides: Partial<OfferTerms> = {}): OfferTerms {
  const id = overrides.id ?? nextId++;
  return {
    id,
    dataCenterId: 10,
    hub: "Ningxia Zhongwei",
    gpuModelId: 1,
    gpuCount: 8,
    pricePerGpuHour: 1500n,
    availableFrom: at(0),
    availableUntil: at(24),
    minHours: 1,
    status: "ACTIVE",
    createdAt: at(-48),
    ...overrides,
  };
}

const booking = (from: number, to: number, gpuCount: number): Booking => ({
  startsAt: at(from),
  endsAt: at(to),
  gpuCount,
});
const utilization = (entries: [number, number, number][]) =>
  new Map<number, Utilization>(
    entries.map(([dc, reserved, offered]) => [dc, { reservedGpuHours: reserved, offeredGpuHours: offered }]),
  );

describe("candidate filter", () => {
  it("keeps an ACTIVE offer of the model, within price, minHours, hubs and window", () => {
    expect(isCandidateOffer(bid(), offer(), NOW)).toBe(true);
  });

  it("drops PAUSED and WITHDRAWN offers", () => {
    expect(isCandidateOffer(bid(), offer({ status: "PAUSED" }), NOW)).toBe(false);
    expect(isCandidateOffer(bid(), offer({ status: "WITHDRAWN" }), NOW)).toBe(false);
  });

  it("drops another GPU model", () => {
    expect(isCandidateOffer(bid(), offer({ gpuModelId: 2 }), NOW)).toBe(false);
  });

  it("keeps a price equal to the bid's max and drops one a fen above", () => {
    expect(isCandidateOffer(bid(), offer({ pricePerGpuHour: 2000n }), NOW)).toBe(true);
    expect(isCandidateOffer(bid(), offer({ pricePerGpuHour: 2001n }), NOW)).toBe(false);
  });

  it("needs hours >= minHours", () => {
    expect(isCandidateOffer(bid({ hours: 3 }), offer({ minHours: 3 }), NOW)).toBe(true);
    expect(isCandidateOffer(bid({ hours: 3 }), offer({ minHours: 4 }), NOW)).toBe(false);
  });

  it("needs the offer's hub among the bid's hubs when the bid names any", () => {
    expect(isCandidateOffer(bid({ hubs: ["Gansu Qingyang", "Ningxia Zhongwei"] }), offer(), NOW)).toBe(true);
    expect(isCandidateOffer(bid({ hubs: ["Gansu Qingyang"] }), offer(), NOW)).toBe(false);
    expect(isCandidateOffer(bid({ hubs: [] }), offer(), NOW)).toBe(true);
  });

  it("needs the intersection of both windows to hold the bid's hours", () => {
    // Bid [0, 24) for 3 h; offer [21, 30): the overlap [21, 24) is exactly 3 hours.
    expect(isCandidateOffer(bid(), offer({ availableFrom: at(21), availableUntil: at(30) }), NOW)).toBe(true);
    expect(isCandidateOffer(bid(), offer({ availableFrom: at(22), availableUntil: at(30) }), NOW)).toBe(false);
    expect(isCandidateOffer(bid(), offer({ availableFrom: at(-10), availableUntil: at(2) }), NOW)).toBe(false);
  });

  it("never starts in the past: the range begins at the next whole hour from now", () => {
    const now = at(20.5);
    expect(searchRange(bid(), offer(), now).from).toEqual(at(21));
    expect(isCandidateOffer(bid(), offer(), now)).toBe(true);
    expect(isCandidateOffer(bid(), offer(), at(21.5))).toBe(false);
  });

  it("drops an offer with fewer GPUs than the bid wants", () => {
    expect(isCandidateOffer(bid({ gpuCount: 9 }), offer({ gpuCount: 8 }), NOW)).toBe(false);
  });
});

describe("earliest feasible start", () => {
  const eight = offer({ gpuCount: 8 });
  const range = { from: at(0), to: at(24) };

  it("is the start of the range on an empty offer", () => {
    expect(earliestFeasibleStart(eight, [], range, 8, 3)).toEqual(at(0));
  });

  it("fits exactly the capacity left", () => {
    expect(earliestFeasibleStart(eight, [booking(0, 24, 6)], range, 2, 3)).toEqual(at(0));
    expect(earliestFeasibleStart(eight, [booking(0, 24, 6)], range, 3, 3)).toBeNull();
  });

  it("starts right where a reservation ends (touching windows do not overlap)", () => {
    expect(earliestFeasibleStart(eight, [booking(0, 5, 8)], range, 1, 3)).toEqual(at(5));
  });

  it("skips a gap too short for the hours", () => {
    // Full in [0,2) and [4,6): the gap [2,4) holds 2 hours, the bid needs 3.
    expect(earliestFeasibleStart(eight, [booking(0, 2, 8), booking(4, 6, 8)], range, 1, 3)).toEqual(at(6));
    expect(earliestFeasibleStart(eight, [booking(0, 2, 8), booking(4, 6, 8)], range, 1, 2)).toEqual(at(2));
  });

  it("adds partially overlapping reservations hour by hour", () => {
    // 3 GPUs in [0,4), 3 in [2,6): hours 2 and 3 have 2 free. A 3-GPU bid of 2 hours fits in
    // [0,2); one of 3 hours waits for hour 4.
    const bookings = [booking(0, 4, 3), booking(2, 6, 3)];
    expect(earliestFeasibleStart(eight, bookings, range, 3, 2)).toEqual(at(0));
    expect(earliestFeasibleStart(eight, bookings, range, 3, 3)).toEqual(at(4));
    expect(earliestFeasibleStart(eight, bookings, range, 2, 24)).toEqual(at(0));
  });

  it("is null when the bid is longer than any free stretch or the range", () => {
    expect(earliestFeasibleStart(eight, [booking(10, 11, 8)], range, 1, 14)).toBeNull();
    expect(earliestFeasibleStart(eight, [booking(10, 11, 8)], range, 1, 13)).toEqual(at(11));
    expect(earliestFeasibleStart(eight, [], range, 1, 25)).toBeNull();
  });

  it("ignores hours outside the offer's window", () => {
    const narrow = offer({ availableFrom: at(4), availableUntil: at(8) });
    expect(earliestFeasibleStart(narrow, [], range, 1, 4)).toEqual(at(4));
    expect(earliestFeasibleStart(narrow, [], range, 1, 5)).toBeNull();
  });

  it("is the last possible start when only the tail of the range fits", () => {
    expect(earliestFeasibleStart(eight, [booking(0, 21, 8)], range, 8, 3)).toEqual(at(21));
  });
});

describe("free spans", () => {
  const eight = offer({ gpuCount: 8 });
  const span = (level: number, from: number, to: number) => ({ level, from: at(from), to: at(to) });
  const byStart = (a: { from: Date; level: number }, b: { from: Date; level: number }) =>
    a.from.getTime() - b.from.getTime() || a.level - b.level;

  it("are the stretches around each hour with no fewer free GPUs, with that hour's count", () => {
    // 3 GPUs in [0,4), 3 in [2,6): 5 free, then 2, then 5, then 8 from hour 6.
    const spans = freeSpans(eight, [booking(0, 4, 3), booking(2, 6, 3)], NOW).sort(byStart);
    expect(spans).toEqual([span(2, 0, 24), span(5, 0, 2), span(5, 4, 24), span(8, 6, 24)]);
  });

  it("start at the next whole hour and leave out full hours and a past offer", () => {
    expect(freeSpans(eight, [booking(0, 4, 8)], at(1.5))).toEqual([span(8, 4, 24)]);
    expect(freeSpans(eight, [booking(0, 24, 8)], NOW)).toEqual([]);
    expect(freeSpans(eight, [], at(24))).toEqual([]);
  });

  it("say exactly whether a bid fits, as earliestFeasibleStart does", () => {
    let seed = 20270301;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      const bookings: Booking[] = [];
      for (let i = next(8); i > 0; i--) {
        const from = next(24);
        bookings.push(booking(from, from + 1 + next(24 - from), 1 + next(3)));
      }
      const free = offer({ gpuCount: 8 });
      // Keep the bookings within capacity, as live reservations always are.
      const fitting: Booking[] = [];
      for (const b of bookings)
        if (
          earliestFeasibleStart(
            free,
            fitting,
            { from: b.startsAt, to: b.endsAt },
            b.gpuCount,
            (b.endsAt.getTime() - b.startsAt.getTime()) / 3_600_000,
          )
        )
          fitting.push(b);
      const spans = freeSpans(free, fitting, NOW);
      for (let probe = 0; probe < 20; probe++) {
        const start = next(24);
        const hours = 1 + next(6);
        const end = Math.min(24, start + hours + next(6));
        const gpuCount = 1 + next(8);
        if (end - start < hours) continue;
        const exact = earliestFeasibleStart(free, fitting, { from: at(start), to: at(end) }, gpuCount, hours) != null;
        const bySpans = spans.some(
          (s) =>
            s.level >= gpuCount &&
            Math.min(s.to.getTime(), at(end).getTime()) - Math.max(s.from.getTime(), at(start).getTime()) >=
              hours * 3_600_000,
        );
        expect(bySpans, JSON.stringify({ fitting, start, end, hours, gpuCount })).toBe(exact);
      }
    }
  });
});

describe("feasible candidates", () => {
  it("lists each usable offer with its own earliest start, and drops full or ineligible ones", () => {
    const a = offer({ id: 101 });
    const b = offer({ id: 102 });
    const full = offer({ id: 103 });
    const otherHub = offer({ id: 104, hub: "Wuhu" });
    const bookings = new Map([
      [101, [booking(0, 4, 8)]],
      [103, [booking(0, 24, 7)]],
    ]);
    const result = feasibleCandidates(bid({ hubs: ["Ningxia Zhongwei"] }), [a, b, full, otherHub], bookings, NOW);
    expect(result.map((c) => [c.offer.id, c.startsAt.toISOString()])).toEqual([
      [101, at(4).toISOString()],
      [102, at(0).toISOString()],
    ]);
  });
});

describe("ranking", () => {
  const none = new Map<number, Utilization>();
  const cand = (o: Partial<OfferTerms>, start = 0): Candidate => ({ offer: offer(o), startsAt: at(start) });

  it("1. the lowest price wins over everything else", () => {
    const cheap = cand({ pricePerGpuHour: 1000n, dataCenterId: 1, createdAt: at(-1) }, 10);
    const dear = cand({ pricePerGpuHour: 1001n, dataCenterId: 2, createdAt: at(-100) }, 0);
    const use = utilization([
      [1, 90, 100],
      [2, 0, 100],
    ]);
    expect(pickWinner([dear, cheap], use)).toBe(cheap);
  });

  it("2. at equal price the least utilized data center wins, before the start", () => {
    const busy = cand({ dataCenterId: 1 }, 0);
    const idle = cand({ dataCenterId: 2 }, 10);
    const use = utilization([
      [1, 30, 100],
      [2, 29, 100],
    ]);
    expect(pickWinner([busy, idle], use)).toBe(idle);
  });

  it("2. compares the fractions exactly; a data center offering nothing in the window is 0", () => {
    // 1/3 vs 2/6: equal, so the start decides.
    const third = cand({ dataCenterId: 1 }, 5);
    const twoSixths = cand({ dataCenterId: 2 }, 4);
    expect(
      pickWinner(
        [third, twoSixths],
        utilization([
          [1, 1, 3],
          [2, 2, 6],
        ]),
      ),
    ).toBe(twoSixths);
    const unknown = cand({ dataCenterId: 3 }, 9);
    expect(pickWinner([third, unknown], utilization([[1, 1, 3]]))).toBe(unknown);
  });

  it("3. at equal price and utilization the earliest feasible start wins", () => {
    const late = cand({ dataCenterId: 1, createdAt: at(-100) }, 5);
    const early = cand({ dataCenterId: 2, createdAt: at(-1) }, 4);
    expect(
      pickWinner(
        [late, early],
        utilization([
          [1, 1, 10],
          [2, 1, 10],
        ]),
      ),
    ).toBe(early);
  });

  it("4. then the offer published first, then the smaller id", () => {
    const older = cand({ id: 500, createdAt: at(-50) });
    const newer = cand({ id: 400, createdAt: at(-40) });
    expect(pickWinner([newer, older], none)).toBe(older);
    const low = cand({ id: 300, createdAt: at(-50) });
    const high = cand({ id: 301, createdAt: at(-50) });
    expect(pickWinner([high, low], none)).toBe(low);
    expect(compareCandidates(low, high, none)).toBeLessThan(0);
  });

  it("offers of one data center skip the utilization step", () => {
    const a = cand({ dataCenterId: 7 }, 3);
    const b = cand({ dataCenterId: 7 }, 2);
    expect(pickWinner([a, b], none)).toBe(b);
  });

  it("no candidate, no winner", () => {
    expect(pickWinner([], none)).toBeNull();
  });

  it("asks for utilization only for data centers of the cheapest candidates, when they differ", () => {
    const c = (dc: number, price: bigint) => cand({ dataCenterId: dc, pricePerGpuHour: price });
    expect(dataCentersToCompare([c(1, 1000n)])).toEqual([]);
    expect(dataCentersToCompare([c(1, 1000n), c(1, 1000n), c(2, 1200n)])).toEqual([]);
    expect(dataCentersToCompare([c(3, 1000n), c(1, 1000n), c(2, 1200n)])).toEqual([1, 3]);
  });
});

describe("open bids", () => {
  it("are served highest max price first, then oldest, then smaller id", () => {
    const bids = [
      { id: 1, maxPricePerGpuHour: 1000n, createdAt: at(0) },
      { id: 2, maxPricePerGpuHour: 3000n, createdAt: at(2) },
      { id: 3, maxPricePerGpuHour: 3000n, createdAt: at(1) },
      { id: 4, maxPricePerGpuHour: 3000n, createdAt: at(1) },
    ];
    expect([...bids].sort(compareBidPriority).map((b) => b.id)).toEqual([3, 4, 2, 1]);
  });

  it("are stale once latestEnd - hours has passed", () => {
    const b = bid({ latestEnd: at(10), hours: 3 });
    expect(isStale(b, at(7))).toBe(false);
    expect(isStale(b, at(7.01))).toBe(true);
  });
});

describe("live bookings as PostgreSQL packs them", () => {
  it("reads the integers of an array's text form", () => {
    expect(integers("{}")).toEqual([]);
    expect(integers("{7}")).toEqual([7]);
    expect(integers("{1796000000,-3,0,42}")).toEqual([1796000000, -3, 0, 42]);
  });

  it("gives each offer its bookings, times from epoch seconds", () => {
    const byOffer = bookingsByOffer([
      { offer_id: "12", starts: "{1796000400,1796004000}", ends: "{1796004000,1796011200}", gpus: "{2,8}" },
      { offer_id: 13, starts: "{1796000400}", ends: "{1796004000}", gpus: "{1}" },
    ]);
    expect(byOffer.get(12)).toEqual([
      { offerId: 12, startsAt: new Date(1796000400_000), endsAt: new Date(1796004000_000), gpuCount: 2 },
      { offerId: 12, startsAt: new Date(1796004000_000), endsAt: new Date(1796011200_000), gpuCount: 8 },
    ]);
    expect(byOffer.get(13)).toEqual([
      { offerId: 13, startsAt: new Date(1796000400_000), endsAt: new Date(1796004000_000), gpuCount: 1 },
    ]);
  });
});
