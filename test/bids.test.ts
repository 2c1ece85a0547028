import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rematchModel } from "../src/bids/rematch.js";
import { confirmReservation } from "../src/bids/reservations.service.js";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import { assertCapacityInvariants } from "./support/invariants.js";
import { keyOf } from "./support/ids.js";

// Every test works on its own day of March 2027, so offers and bids of one test never meet another's.
const NOW = "2027-02-01T00:00:00Z";
const day = (n: number, hour = 0) => new Date(Date.UTC(2027, 2, n, hour)).toISOString();
const minutesAfter = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * 60_000).toISOString();

let server: TestServer;
let west: Actor;
let east: Actor;
let sme: Actor;
let rival: Actor;
let ningxia: string;
let gansu: string;
let wuhu: string;

const RESERVATION = `id status gpuCount startsAt endsAt holdExpiresAt pricePerGpuHour { amount fen } total { amount fen } offer { id }`;
const BID = `id status gpuCount hours earliestStart latestEnd hubs maxPricePerGpuHour { amount } gpuModel { name } createdAt reservation { ${RESERVATION} }`;

interface BidInput {
  gpuModel?: string;
  gpuCount?: number;
  hours?: number;
  earliestStart: string;
  latestEnd: string;
  maxPricePerGpuHour?: string;
  hubs?: string[];
}

async function place(who: Actor, input: BidInput, now = NOW) {
  const { placeBid } = await server.ok(
    `mutation($input: PlaceBidInput!) { placeBid(input: $input) { ${BID} } }`,
    { input: { gpuModel: "H800", gpuCount: 1, hours: 1, maxPricePerGpuHour: "30.00", ...input } },
    { token: who.token, now },
  );
  return placeBid;
}

async function bidOf(who: Actor, id: string, now = NOW) {
  return (await server.ok(`query($id: ID!) { bid(id: $id) { ${BID} } }`, { id }, { token: who.token, now })).bid;
}

async function cancel(who: Actor, id: string, now = NOW) {
  return (await server.ok(`mutation($id: ID!) { cancelBid(id: $id) { ${BID} } }`, { id }, { token: who.token, now }))
    .cancelBid;
}

async function freeGpus(offerId: string, from: string, to: string, now = NOW): Promise<number> {
  const { offer } = await server.ok(
    `query($id: ID!, $from: DateTime!, $to: DateTime!) { offer(id: $id) { freeGpus(from: $from, to: $to) } }`,
    { id: offerId, from, to },
    { now },
  );
  return offer.freeGpus;
}

async function maintain(now: string) {
  return (await server.ok(`mutation { runMaintenance { task changed } }`, {}, { token: ADMIN, now })).runMaintenance;
}

async function counts() {
  const [row] = await server.sql(
    `select (select count(*) from bids)::int as bids, (select count(*) from reservations)::int as reservations`,
  );
  return row;
}

beforeAll(async () => {
  server = await startServer();
  west = await organization(server, "DATA_CENTER_OPERATOR", "Western Cloud");
  east = await organization(server, "DATA_CENTER_OPERATOR", "Eastern Hub");
  sme = await organization(server, "SME", "Lingxi AI", "Hangzhou");
  rival = await organization(server, "SME", "Other Robotics", "Shenzhen");
  ningxia = await dataCenter(server, west, "Ningxia Zhongwei", "Zhongwei DC", "Ningxia");
  gansu = await dataCenter(server, west, "Gansu Qingyang", "Qingyang DC", "Gansu");
  wuhu = await dataCenter(server, east, "Wuhu", "Wuhu DC", "Anhui");
});
afterAll(() => server?.close());

describe("placing a bid", () => {
  it("is matched at once: a HELD reservation at the offer's price for one block of hours", async () => {
    const offer = await publishOffer(
      server,
      west,
      {
        dataCenterId: ningxia,
        gpuCount: 8,
        pricePerGpuHour: "18.50",
        availableFrom: day(1, 2),
        availableUntil: day(2),
      },
      NOW,
    );
    const bid = await place(sme, {
      gpuCount: 3,
      hours: 4,
      earliestStart: day(1),
      latestEnd: day(1, 12),
      maxPricePerGpuHour: "20",
      hubs: [],
    });
    expect(bid).toMatchObject({
      status: "MATCHED",
      gpuCount: 3,
      hours: 4,
      hubs: [],
      maxPricePerGpuHour: { amount: "20.00" },
      gpuModel: { name: "H800" },
      createdAt: "2027-02-01T00:00:00.000Z",
    });
    expect(bid.reservation).toEqual({
      id: expect.any(String),
      status: "HELD",
      gpuCount: 3,
      startsAt: day(1, 2),
      endsAt: day(1, 6),
      holdExpiresAt: "2027-02-01T00:15:00.000Z",
      pricePerGpuHour: { amount: "18.50", fen: "1850" },
      total: { amount: "222.00", fen: "22200" },
      offer: { id: offer },
    });
    expect(await freeGpus(offer, day(1, 2), day(1, 6))).toBe(5);
    expect(await freeGpus(offer, day(1, 6), day(1, 10))).toBe(8);
    expect(await bidOf(sme, bid.id)).toEqual(bid);
  });

  it("stays OPEN when no offer can serve it", async () => {
    await publishOffer(
      server,
      west,
      {
        dataCenterId: ningxia,
        gpuCount: 4,
        pricePerGpuHour: "18.00",
        availableFrom: day(2),
        availableUntil: day(2, 6),
        minHours: 2,
      },
      NOW,
    );
    const cases: BidInput[] = [
      { gpuCount: 5, earliestStart: day(2), latestEnd: day(3) }, // more GPUs than offered
      { maxPricePerGpuHour: "17.99", earliestStart: day(2), latestEnd: day(3) }, // too cheap
      { hours: 1, earliestStart: day(2), latestEnd: day(3) }, // below minHours
      { hours: 7, earliestStart: day(2), latestEnd: day(3) }, // longer than the window
      { hours: 2, earliestStart: day(2, 5), latestEnd: day(3) }, // window overlap too short
      { gpuModel: "A800", hours: 2, earliestStart: day(2), latestEnd: day(3) }, // other model
      { hours: 2, hubs: ["Wuhu"], earliestStart: day(2), latestEnd: day(3) }, // other hub
    ];
    for (const input of cases) {
      const bid = await place(sme, input);
      expect(bid, JSON.stringify(input)).toMatchObject({ status: "OPEN", reservation: null });
    }
    const fits = await place(sme, {
      hours: 2,
      gpuCount: 4,
      earliestStart: day(2, 4),
      latestEnd: day(3),
      hubs: ["Ningxia Zhongwei", "Wuhu"],
    });
    expect(fits.status).toBe("MATCHED");
    expect(fits.reservation.startsAt).toBe(day(2, 4));
  });

  it("takes the earliest feasible start around existing reservations", async () => {
    const offer = await publishOffer(
      server,
      west,
      { dataCenterId: ningxia, gpuCount: 4, availableFrom: day(3), availableUntil: day(4) },
      NOW,
    );
    await place(sme, { gpuCount: 4, hours: 2, earliestStart: day(3, 2), latestEnd: day(3, 4) }); // full in [2, 4)
    await place(sme, { gpuCount: 3, hours: 3, earliestStart: day(3, 5), latestEnd: day(3, 8) }); // 1 free in [5, 8)
    const next = await place(sme, { gpuCount: 2, hours: 3, earliestStart: day(3), latestEnd: day(4) });
    // [0, 2) is too short; [4, 5) too; 2 GPUs fit again from hour 8.
    expect(next.reservation).toMatchObject({ startsAt: day(3, 8), endsAt: day(3, 11), offer: { id: offer } });
    const exact = await place(sme, { gpuCount: 1, hours: 1, earliestStart: day(3, 4), latestEnd: day(3, 8) });
    expect(exact.reservation.startsAt).toBe(day(3, 4));
    await assertCapacityInvariants(server.sql);
  });
});

describe("ranking", () => {
  it("1. the lowest price wins, even in a busier data center with a later start, published later", async () => {
    await publishOffer(
      server,
      west,
      { dataCenterId: gansu, gpuCount: 8, pricePerGpuHour: "19.00", availableFrom: day(5), availableUntil: day(6) },
      "2027-01-01T00:00:00Z",
    );
    const cheap = await publishOffer(
      server,
      east,
      { dataCenterId: wuhu, gpuCount: 8, pricePerGpuHour: "18.99", availableFrom: day(5, 6), availableUntil: day(6) },
      NOW,
    );
    await place(rival, { gpuCount: 4, hours: 10, hubs: ["Wuhu"], earliestStart: day(5), latestEnd: day(6) }); // Wuhu is now busier
    const bid = await place(sme, { gpuCount: 2, hours: 2, earliestStart: day(5), latestEnd: day(6) });
    expect(bid.reservation.offer.id).toBe(cheap);
    expect(bid.reservation.pricePerGpuHour.amount).toBe("18.99");
  });

  it("2. at one price, the least utilized data center over the bid's window wins over an earlier start", async () => {
    const busy = await publishOffer(
      server,
      west,
      { dataCenterId: ningxia, gpuCount: 8, availableFrom: day(7), availableUntil: day(8) },
      "2027-01-01T00:00:00Z",
    );
    const idle = await publishOffer(
      server,
      west,
      { dataCenterId: gansu, gpuCount: 8, availableFrom: day(7, 5), availableUntil: day(8) },
      NOW,
    );
    const first = await place(rival, {
      gpuCount: 1,
      hours: 1,
      hubs: ["Ningxia Zhongwei"],
      earliestStart: day(7),
      latestEnd: day(8),
    });
    expect(first.reservation.offer.id).toBe(busy);
    const { dataCenters } = await server.ok(
      `query($from: DateTime!, $to: DateTime!) { dataCenters { id utilization(from: $from, to: $to) } }`,
      { from: day(7), to: day(8) },
      { now: NOW },
    );
    const use = new Map(dataCenters.map((d: { id: string; utilization: number }) => [d.id, d.utilization]));
    expect(use.get(ningxia)).toBeGreaterThan(use.get(gansu) as number);
    const bid = await place(sme, { gpuCount: 1, hours: 1, earliestStart: day(7), latestEnd: day(8) });
    expect(bid.reservation).toMatchObject({ offer: { id: idle }, startsAt: day(7, 5) });
  });

  it("3. at one price and utilization, the earliest feasible start wins over the offer published first", async () => {
    await publishOffer(
      server,
      west,
      { dataCenterId: ningxia, gpuCount: 8, availableFrom: day(9, 3), availableUntil: day(10) },
      "2027-01-01T00:00:00Z",
    );
    const early = await publishOffer(
      server,
      west,
      { dataCenterId: gansu, gpuCount: 8, availableFrom: day(9, 2), availableUntil: day(10) },
      NOW,
    );
    const bid = await place(sme, { gpuCount: 1, hours: 1, earliestStart: day(9), latestEnd: day(10) });
    expect(bid.reservation).toMatchObject({ offer: { id: early }, startsAt: day(9, 2) });
  });

  it("4. then the offer published first, then the smaller id", async () => {
    const later = await publishOffer(
      server,
      west,
      { dataCenterId: ningxia, gpuCount: 1, availableFrom: day(11), availableUntil: day(12) },
      "2027-01-20T00:00:00Z",
    );
    const earlier = await publishOffer(
      server,
      west,
      { dataCenterId: ningxia, gpuCount: 1, availableFrom: day(11), availableUntil: day(12) },
      "2027-01-10T00:00:00Z",
    );
    expect(keyOf(earlier)).toBeGreaterThan(keyOf(later));
    const first = await place(sme, { hours: 24, earliestStart: day(11), latestEnd: day(12) });
    expect(first.reservation.offer.id).toBe(earlier);
    const second = await place(sme, { hours: 24, earliestStart: day(11), latestEnd: day(12) });
    expect(second.reservation.offer.id).toBe(later);

    const a = await publishOffer(
      server,
      west,
      { dataCenterId: ningxia, gpuCount: 1, availableFrom: day(13), availableUntil: day(14) },
      "2027-01-10T00:00:00Z",
    );
    const b = await publishOffer(
      server,
      west,
      { dataCenterId: ningxia, gpuCount: 1, availableFrom: day(13), availableUntil: day(14) },
      "2027-01-10T00:00:00Z",
    );
    expect(keyOf(a)).toBeLessThan(keyOf(b));
    expect((await place(sme, { hours: 24, earliestStart: day(13), latestEnd: day(14) })).reservation.offer.id).toBe(a);
    expect((await place(sme, { hours: 24, earliestStart: day(13), latestEnd: day(14) })).reservation.offer.id).toBe(b);
  });

  it("the bid's hubs exclude a cheaper offer elsewhere", async () => {
    await publishOffer(
      server,
      west,
      { dataCenterId: ningxia, pricePerGpuHour: "10.00", availableFrom: day(15), availableUntil: day(16) },
      NOW,
    );
    const wuhuOffer = await publishOffer(
      server,
      east,
      { dataCenterId: wuhu, pricePerGpuHour: "25.00", availableFrom: day(15), availableUntil: day(16) },
      NOW,
    );
    const bid = await place(sme, { hubs: ["Wuhu", "Wuhu"], earliestStart: day(15), latestEnd: day(16) });
    expect(bid.hubs).toEqual(["Wuhu"]);
    expect(bid.reservation.offer.id).toBe(wuhuOffer);
  });

  it("places a bid with a fixed number of queries, whatever the number of offers", async () => {
    const run = async () => {
      // The caller's key is looked up at most every 10 s: read it first, so the count is the bid's alone.
      await server.ok(`{ __typename }`, {}, { token: sme.token });
      const before = server.queryCount();
      const bid = await place(sme, { earliestStart: day(17), latestEnd: day(18) });
      expect(bid.status).toBe("MATCHED");
      return server.queryCount() - before;
    };
    // Two data centers at one price: the utilization tie-breaker is needed each time.
    await publishOffer(
      server,
      west,
      { dataCenterId: ningxia, gpuCount: 100, availableFrom: day(17), availableUntil: day(18) },
      NOW,
    );
    await publishOffer(
      server,
      west,
      { dataCenterId: gansu, gpuCount: 100, availableFrom: day(17), availableUntil: day(18) },
      NOW,
    );
    const few = await run();
    for (let i = 0; i < 20; i++) {
      await publishOffer(
        server,
        east,
        { dataCenterId: wuhu, gpuCount: 100, availableFrom: day(17), availableUntil: day(18) },
        NOW,
      );
    }
    const many = await run();
    expect(many).toBe(few);
    expect(few).toBeLessThanOrEqual(10);
  });
});

describe("open bids get matched when capacity appears, in price-time priority", () => {
  it("publishing, enlarging an offer and cancelling a bid each serve the best open bid", async () => {
    const window = { earliestStart: day(19), latestEnd: day(20), hours: 4, gpuCount: 4 };
    const low = await place(sme, { ...window, maxPricePerGpuHour: "20.00" }, "2027-02-01T00:00:00Z");
    const highOld = await place(rival, { ...window, maxPricePerGpuHour: "25.00" }, "2027-02-01T01:00:00Z");
    const highNew = await place(sme, { ...window, maxPricePerGpuHour: "25.00" }, "2027-02-01T02:00:00Z");
    expect([low, highOld, highNew].map((b) => b.status)).toEqual(["OPEN", "OPEN", "OPEN"]);

    const now = "2027-02-01T03:00:00Z";
    const offer = await publishOffer(
      server,
      west,
      {
        dataCenterId: ningxia,
        gpuCount: 4,
        pricePerGpuHour: "15.00",
        availableFrom: day(19),
        availableUntil: day(19, 4),
      },
      now,
    );
    expect((await bidOf(rival, highOld.id, now)).status).toBe("MATCHED");
    expect((await bidOf(sme, highNew.id, now)).status).toBe("OPEN");
    expect((await bidOf(sme, low.id, now)).status).toBe("OPEN");

    await server.ok(
      `mutation($id: ID!) { updateOffer(id: $id, input: { gpuCount: 8 }) { id } }`,
      { id: offer },
      { token: west.token, now },
    );
    const matched = await bidOf(sme, highNew.id, now);
    expect(matched.status).toBe("MATCHED");
    expect(matched.reservation).toMatchObject({
      status: "HELD",
      offer: { id: offer },
      pricePerGpuHour: { amount: "15.00" },
      holdExpiresAt: "2027-02-01T03:15:00.000Z",
    });
    expect((await bidOf(sme, low.id, now)).status).toBe("OPEN");

    const cancelled = await cancel(rival, highOld.id, now);
    expect(cancelled).toMatchObject({ status: "CANCELLED", reservation: { status: "CANCELLED" } });
    const last = await bidOf(sme, low.id, now);
    expect(last).toMatchObject({ status: "MATCHED", reservation: { status: "HELD", offer: { id: offer } } });
    expect(await freeGpus(offer, day(19), day(19, 4), now)).toBe(0);
    await assertCapacityInvariants(server.sql, new Date(now));
  });
});

describe("holds and expiry", () => {
  it("a lapsed hold frees its capacity; maintenance expires it with its bid and serves the next open bid", async () => {
    const offer = await publishOffer(
      server,
      west,
      { dataCenterId: gansu, gpuCount: 2, availableFrom: day(21), availableUntil: day(22) },
      NOW,
    );
    const held = await place(sme, { gpuCount: 2, hours: 24, earliestStart: day(21), latestEnd: day(22) });
    const waiting = await place(rival, { gpuCount: 2, hours: 24, earliestStart: day(21), latestEnd: day(22) });
    expect([held.status, waiting.status]).toEqual(["MATCHED", "OPEN"]);

    const before = minutesAfter(NOW, 14);
    expect(await freeGpus(offer, day(21), day(22), before)).toBe(0);
    await maintain(before);
    expect((await bidOf(sme, held.id, before)).reservation.status).toBe("HELD");

    const after = minutesAfter(NOW, 15);
    expect(await freeGpus(offer, day(21), day(22), after)).toBe(2);
    const results = await maintain(after);
    expect(results.map((r: { task: string }) => r.task)).toEqual(
      expect.arrayContaining(["expireLapsedHolds", "expireStaleBids", "rematchOpenBids"]),
    );
    expect(results.find((r: { task: string }) => r.task === "expireLapsedHolds").changed).toBeGreaterThanOrEqual(1);
    expect(await bidOf(sme, held.id, after)).toMatchObject({ status: "EXPIRED", reservation: { status: "EXPIRED" } });
    const served = await bidOf(rival, waiting.id, after);
    expect(served).toMatchObject({
      status: "MATCHED",
      reservation: { status: "HELD", offer: { id: offer }, holdExpiresAt: "2027-02-01T00:30:00.000Z" },
    });
    expect(await freeGpus(offer, day(21), day(22), after)).toBe(0);
    await assertCapacityInvariants(server.sql, new Date(after));

    // Running it again, or cancelling the expired bid, changes nothing.
    await maintain(after);
    expect((await bidOf(sme, held.id, after)).status).toBe("EXPIRED");
    await server.fails(
      "CONFLICT",
      `mutation($id: ID!) { cancelBid(id: $id) { id } }`,
      { id: held.id },
      { token: sme.token, now: after },
    );
  });

  it("a new bid takes the capacity of a lapsed hold before maintenance runs when no open bid wants it, and that hold can then no longer be confirmed", async () => {
    const offer = await publishOffer(
      server,
      west,
      { dataCenterId: gansu, gpuCount: 1, availableFrom: day(23), availableUntil: day(24) },
      NOW,
    );
    const lapsed = await place(sme, { hours: 24, earliestStart: day(23), latestEnd: day(24) });
    const later = minutesAfter(NOW, 20);
    const taker = await place(rival, { hours: 24, earliestStart: day(23), latestEnd: day(24) }, later);
    expect(taker.reservation.offer.id).toBe(offer);
    expect(await bidOf(sme, lapsed.id, later)).toMatchObject({ status: "EXPIRED", reservation: { status: "EXPIRED" } });
    // A checkout confirming the old hold on a clock that still sees it alive (a minute before it
    // lapses, within the clock-skew allowance, on a clock 6 minutes behind the taker's) finds it
    // expired: the taker's bid expired it before taking its GPUs.
    const db = server.app.services.db;
    await expect(
      db.transaction((tx) => confirmReservation(tx, keyOf(lapsed.reservation.id), new Date(minutesAfter(NOW, 14)))),
    ).rejects.toThrow(/no longer held/);
    // The live one confirms, once, and stays confirmed.
    const confirmed = await db.transaction((tx) =>
      confirmReservation(tx, keyOf(taker.reservation.id), new Date(later)),
    );
    expect(confirmed.status).toBe("CONFIRMED");
    await assertCapacityInvariants(server.sql, new Date(later));

    // The catch-all re-match expires no hold: it may give the GPUs of a lapsed hold to an open bid,
    // and that hold, confirmed on a clock that still sees it alive, finds them gone.
    await publishOffer(
      server,
      west,
      { dataCenterId: gansu, gpuCount: 1, availableFrom: day(37), availableUntil: day(38) },
      NOW,
    );
    const first = await place(sme, { hours: 24, earliestStart: day(37), latestEnd: day(38) });
    const waiting = await place(rival, { hours: 24, earliestStart: day(37), latestEnd: day(38) });
    expect([first.status, waiting.status]).toEqual(["MATCHED", "OPEN"]);
    const [{ id: h800 }] = await server.sql(`select id::int as id from gpu_models where name = 'H800'`);
    expect(await rematchModel(db, h800, new Date(later), 15)).toBe(1);
    expect((await bidOf(rival, waiting.id, later)).status).toBe("MATCHED");
    await expect(
      db.transaction((tx) => confirmReservation(tx, keyOf(first.reservation.id), new Date(minutesAfter(NOW, 14)))),
    ).rejects.toThrow(/lapsed/);
    await assertCapacityInvariants(server.sql, new Date(later));
  });

  it("the capacity of a lapsed hold goes to the standing open bids, in priority order, before a newer bid", async () => {
    const offer = await publishOffer(
      server,
      west,
      { dataCenterId: gansu, gpuCount: 2, availableFrom: day(33), availableUntil: day(34) },
      NOW,
    );
    const window = { hours: 24, earliestStart: day(33), latestEnd: day(34) };
    const held = await place(sme, { ...window, gpuCount: 2 });
    const older = await place(rival, { ...window, gpuCount: 1, maxPricePerGpuHour: "28.00" }, minutesAfter(NOW, 1));
    const dearer = await place(rival, { ...window, gpuCount: 2, maxPricePerGpuHour: "30.00" }, minutesAfter(NOW, 2));
    expect([held.status, older.status, dearer.status]).toEqual(["MATCHED", "OPEN", "OPEN"]);

    // The hold lapses; no maintenance has run when a newer, cheaper bid arrives.
    const lapsed = minutesAfter(NOW, 16);
    const newer = await place(sme, { ...window, gpuCount: 1, maxPricePerGpuHour: "25.00" }, lapsed);
    expect(newer).toMatchObject({ status: "OPEN", reservation: null });
    expect(await bidOf(rival, dearer.id, lapsed)).toMatchObject({
      status: "MATCHED",
      reservation: { status: "HELD", offer: { id: offer } },
    });
    expect((await bidOf(rival, older.id, lapsed)).status).toBe("OPEN");
    expect(await bidOf(sme, held.id, lapsed)).toMatchObject({ status: "EXPIRED", reservation: { status: "EXPIRED" } });
    expect(await freeGpus(offer, day(33), day(34), lapsed)).toBe(0);
    await assertCapacityInvariants(server.sql, new Date(lapsed));
  });

  it("a lapsed hold is EXPIRED before any sweep: so it reads, and cancelling it is a CONFLICT, as after maintenance", async () => {
    const offer = await publishOffer(
      server,
      west,
      { dataCenterId: gansu, gpuCount: 2, availableFrom: day(35), availableUntil: day(36) },
      NOW,
    );
    const held = await place(sme, { gpuCount: 2, hours: 24, earliestStart: day(35), latestEnd: day(36) });
    const reservationId = held.reservation.id;
    const lapsed = minutesAfter(NOW, 15);
    const reservationOf = async (who: Actor) =>
      (
        await server.ok(
          `query($id: ID!) { reservation(id: $id) { id status } }`,
          { id: reservationId },
          { token: who.token, now: lapsed },
        )
      ).reservation;
    const listed = async (status: string) =>
      (
        await server.ok(
          `query($status: BidStatus) { myBids(status: $status, first: 100) { totalCount edges { node { id status } } } }`,
          { status },
          { token: sme.token, now: lapsed },
        )
      ).myBids.edges
        .filter((e: { node: { id: string } }) => e.node.id === held.id)
        .map((e: { node: unknown }) => e.node);
    const seen = async () => ({
      bid: await bidOf(sme, held.id, lapsed),
      bySme: await reservationOf(sme),
      byOperator: await reservationOf(west),
      expired: await listed("EXPIRED"),
      matched: await listed("MATCHED"),
    });

    const before = await seen();
    expect(before.bid).toMatchObject({ status: "EXPIRED", reservation: { id: reservationId, status: "EXPIRED" } });
    expect(before.bySme).toEqual({ id: reservationId, status: "EXPIRED" });
    expect(before.byOperator).toEqual({ id: reservationId, status: "EXPIRED" });
    expect(before.expired).toEqual([{ id: held.id, status: "EXPIRED" }]);
    expect(before.matched).toEqual([]);
    const refused = await server.fails(
      "CONFLICT",
      `mutation($id: ID!) { cancelBid(id: $id) { id status } }`,
      { id: held.id },
      { token: sme.token, now: lapsed },
    );
    expect(await freeGpus(offer, day(35), day(36), lapsed)).toBe(2);

    await maintain(lapsed);
    expect(await seen()).toEqual(before);
    const refusedAfter = await server.fails(
      "CONFLICT",
      `mutation($id: ID!) { cancelBid(id: $id) { id status } }`,
      { id: held.id },
      { token: sme.token, now: lapsed },
    );
    expect(refusedAfter.message).toBe(refused.message);
    await assertCapacityInvariants(server.sql, new Date(lapsed));
  });

  it("an OPEN bid that can no longer start in time expires", async () => {
    const bid = await place(sme, { hours: 5, earliestStart: day(25), latestEnd: day(25, 10), gpuModel: "L40S" });
    expect(bid.status).toBe("OPEN");
    await maintain(day(25, 5));
    expect((await bidOf(sme, bid.id, day(25, 5))).status).toBe("OPEN");
    await maintain(day(25, 6));
    expect((await bidOf(sme, bid.id, day(25, 6))).status).toBe("EXPIRED");
  });
});

describe("cancelling", () => {
  it("an OPEN bid becomes CANCELLED; again is harmless; another SME's bid is NOT_FOUND", async () => {
    const bid = await place(sme, { gpuModel: "H100", earliestStart: day(26), latestEnd: day(27) });
    await server.fails(
      "NOT_FOUND",
      `mutation($id: ID!) { cancelBid(id: $id) { id } }`,
      { id: bid.id },
      { token: rival.token },
    );
    await server.fails("NOT_FOUND", `mutation { cancelBid(id: "bid_987654321") { id } }`, {}, { token: sme.token });
    const wrongType = await server.fails(
      "BAD_USER_INPUT",
      `mutation { cancelBid(id: "order_1") { id } }`,
      {},
      { token: sme.token },
    );
    expect(wrongType.extensions).toMatchObject({ field: "id" });
    expect((await cancel(sme, bid.id)).status).toBe("CANCELLED");
    expect((await cancel(sme, bid.id)).status).toBe("CANCELLED");
    // A cancelled bid is not matched when capacity appears.
    await publishOffer(
      server,
      west,
      { dataCenterId: ningxia, gpuModel: "H100", availableFrom: day(26), availableUntil: day(27) },
      NOW,
    );
    expect(await bidOf(sme, bid.id)).toMatchObject({ status: "CANCELLED", reservation: null });
  });

  it("a paid reservation cannot be cancelled through its bid", async () => {
    await publishOffer(server, west, { dataCenterId: ningxia, availableFrom: day(27), availableUntil: day(28) }, NOW);
    const bid = await place(sme, { earliestStart: day(27), latestEnd: day(28) });
    await server.app.services.db.transaction((tx) => confirmReservation(tx, keyOf(bid.reservation.id), new Date(NOW)));
    const error = await server.fails(
      "CONFLICT",
      `mutation($id: ID!) { cancelBid(id: $id) { id } }`,
      { id: bid.id },
      { token: sme.token },
    );
    expect(error.message).toMatch(/order/);
    expect(await bidOf(sme, bid.id)).toMatchObject({ status: "MATCHED", reservation: { status: "CONFIRMED" } });
  });
});

describe("reserved capacity cannot be taken away from an offer", () => {
  it("updateOffer and withdrawOffer refuse, until the reservation is cancelled", async () => {
    const offer = await publishOffer(
      server,
      west,
      { dataCenterId: ningxia, gpuCount: 8, availableFrom: day(28), availableUntil: day(29) },
      NOW,
    );
    const bid = await place(sme, { gpuCount: 6, hours: 4, earliestStart: day(28, 10), latestEnd: day(28, 20) });
    const update = `mutation($id: ID!, $input: UpdateOfferInput!) { updateOffer(id: $id, input: $input) { gpuCount availableUntil status } }`;
    await server.fails("CONFLICT", update, { id: offer, input: { gpuCount: 5 } }, { token: west.token });
    await server.fails(
      "CONFLICT",
      update,
      { id: offer, input: { availableUntil: day(28, 13) } },
      { token: west.token },
    );
    await server.fails(
      "CONFLICT",
      `mutation($id: ID!) { withdrawOffer(id: $id) { id } }`,
      { id: offer },
      { token: west.token },
    );
    expect(
      (
        await server.ok(
          update,
          { id: offer, input: { gpuCount: 6, availableUntil: day(28, 14) } },
          { token: west.token },
        )
      ).updateOffer,
    ).toMatchObject({ gpuCount: 6 });
    expect(
      (await server.ok(update, { id: offer, input: { status: "PAUSED" } }, { token: west.token })).updateOffer.status,
    ).toBe("PAUSED");
    expect(await freeGpus(offer, day(28, 10), day(28, 14))).toBe(0);

    await cancel(sme, bid.id);
    const { withdrawOffer } = await server.ok(
      `mutation($id: ID!) { withdrawOffer(id: $id) { status } }`,
      { id: offer },
      { token: west.token },
    );
    expect(withdrawOffer.status).toBe("WITHDRAWN");
  });
});

describe("who sees what", () => {
  it("bids and reservations are visible to their SME and the offer's operator only", async () => {
    const offer = await publishOffer(
      server,
      east,
      { dataCenterId: wuhu, gpuModel: "A800", availableFrom: day(29), availableUntil: day(30) },
      NOW,
    );
    const bid = await place(sme, { gpuModel: "A800", earliestStart: day(29), latestEnd: day(30) });
    const reservationId = bid.reservation.id;
    const query = `query($id: ID!) { reservation(id: $id) { id status offer { id } bid { id maxPricePerGpuHour { amount } } } }`;

    expect((await server.ok(query, { id: reservationId }, { token: sme.token })).reservation).toMatchObject({
      id: reservationId,
      bid: { id: bid.id },
    });
    // The operator sees the reservation but not the SME's bid, which shows how much it would pay.
    expect((await server.ok(query, { id: reservationId }, { token: east.token })).reservation).toMatchObject({
      id: reservationId,
      offer: { id: offer },
      bid: null,
    });
    expect((await server.ok(query, { id: reservationId }, { token: west.token })).reservation).toBeNull();
    expect((await server.ok(query, { id: reservationId }, { token: rival.token })).reservation).toBeNull();
    expect((await server.ok(query, { id: "reservation_99999999" }, { token: sme.token })).reservation).toBeNull();
    await server.fails("FORBIDDEN", query, { id: reservationId }, { token: ADMIN });
    await server.fails("UNAUTHENTICATED", query, { id: reservationId });

    expect(
      (await server.ok(`query($id: ID!) { bid(id: $id) { id } }`, { id: bid.id }, { token: rival.token })).bid,
    ).toBeNull();
    await server.fails("FORBIDDEN", `query($id: ID!) { bid(id: $id) { id } }`, { id: bid.id }, { token: east.token });

    const list = `query($id: ID!, $first: Int, $after: String) { offerReservations(offerId: $id, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { id gpuCount status } } } }`;
    const { offerReservations } = await server.ok(list, { id: offer }, { token: east.token });
    expect(offerReservations).toMatchObject({
      totalCount: 1,
      edges: [{ node: { id: reservationId, gpuCount: 1, status: "HELD" } }],
    });
    await server.fails("NOT_FOUND", list, { id: offer }, { token: west.token });
    await server.fails("NOT_FOUND", list, { id: "offer_987654321" }, { token: west.token });
    await server.fails("BAD_USER_INPUT", list, { id: "nope" }, { token: west.token });
    await server.fails("FORBIDDEN", list, { id: offer }, { token: sme.token });
  });

  it("myBids pages through the caller's bids, newest first, optionally by status", async () => {
    const mine = await organization(server, "SME", "Paging SME");
    const placed = [];
    for (let i = 0; i < 5; i++)
      placed.push((await place(mine, { gpuModel: "H20", earliestStart: day(30), latestEnd: day(31) })).id);
    await cancel(mine, placed[1]);
    const query = `query($status: BidStatus, $first: Int, $after: String) { myBids(status: $status, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id status reservation { id } } } } }`;
    const page1 = (await server.ok(query, { first: 3 }, { token: mine.token })).myBids;
    expect(page1.pageInfo).toMatchObject({
      hasPreviousPage: false,
      startCursor: page1.edges[0].cursor,
      endCursor: page1.edges[2].cursor,
    });
    expect(page1.totalCount).toBe(5);
    expect(page1.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([placed[4], placed[3], placed[2]]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = (await server.ok(query, { first: 3, after: page1.pageInfo.endCursor }, { token: mine.token })).myBids;
    expect(page2.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([placed[1], placed[0]]);
    expect(page2.pageInfo).toMatchObject({
      hasNextPage: false,
      hasPreviousPage: true,
      startCursor: page2.edges[0].cursor,
      endCursor: page2.edges[1].cursor,
    });
    const past = (await server.ok(query, { first: 3, after: page2.pageInfo.endCursor }, { token: mine.token })).myBids;
    expect(past).toMatchObject({
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null },
    });
    const open = (await server.ok(query, { status: "OPEN" }, { token: mine.token })).myBids;
    expect(open.totalCount).toBe(4);
    const cancelled = (await server.ok(query, { status: "CANCELLED" }, { token: mine.token })).myBids;
    expect(cancelled.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([placed[1]]);
    expect(
      (await server.ok(query, {}, { token: sme.token })).myBids.edges.map((e: { node: { id: string } }) => e.node.id),
    ).not.toContain(placed[0]);
    await server.fails("BAD_USER_INPUT", query, { first: 101 }, { token: mine.token });

    // Nested reservations, offers and data centers are batched: the page size does not add queries.
    const nested = `query($first: Int) { myBids(first: $first) { edges { node { id gpuModel { name }
      reservation { id total { amount } offer { id dataCenter { id hub } } bid { id } } } } } }`;
    const cost = async (first: number) => {
      const before = server.queryCount();
      const { myBids } = await server.ok(nested, { first }, { token: sme.token });
      return {
        queries: server.queryCount() - before,
        withReservation: myBids.edges.filter((e: { node: { reservation: unknown } }) => e.node.reservation).length,
      };
    };
    const small = await cost(1);
    const large = await cost(30);
    expect(large.withReservation).toBeGreaterThan(10);
    expect(large.queries).toBe(small.queries);
    await server.fails("BAD_USER_INPUT", query, { after: "garbage" }, { token: mine.token });
  });
});

describe("bad input", () => {
  it("is BAD_USER_INPUT naming the field, and writes nothing", async () => {
    await publishOffer(server, west, { dataCenterId: ningxia, availableFrom: day(31), availableUntil: day(32) }, NOW);
    const valid: BidInput & Record<string, unknown> = {
      gpuModel: "H800",
      gpuCount: 1,
      hours: 2,
      earliestStart: day(31),
      latestEnd: day(32),
      maxPricePerGpuHour: "20.00",
    };
    const before = await counts();
    const cases: [Record<string, unknown>, string][] = [
      [{ hours: 0 }, "hours"],
      [{ hours: 24 * 366 + 1 }, "hours"],
      [{ gpuCount: 1_000_000 }, "gpuCount"],
      [{ gpuCount: 0 }, "gpuCount"],
      [{ earliestStart: day(31, 23) }, "latestEnd"],
      [{ gpuModel: "GTX 1080" }, "gpuModel"],
      [{ hubs: ["Atlantis"] }, "hubs"],
      [{ maxPricePerGpuHour: "20.005" }, "maxPricePerGpuHour"],
      [{ maxPricePerGpuHour: "0" }, "maxPricePerGpuHour"],
      [{ maxPricePerGpuHour: "-1" }, "maxPricePerGpuHour"],
      [{ earliestStart: "2027-03-31T00:30:00Z" }, "earliestStart"],
      [{ latestEnd: "2027-04-01T00:00:01Z" }, "latestEnd"],
    ];
    for (const [change, field] of cases) {
      const error = await server.fails(
        "BAD_USER_INPUT",
        `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id } }`,
        { input: { ...valid, ...change } },
        { token: sme.token, now: NOW },
      );
      expect(error.extensions?.field, JSON.stringify(change)).toBe(field);
    }
    // Too late to start: latestEnd - hours has passed.
    const late = await server.fails(
      "BAD_USER_INPUT",
      `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id } }`,
      { input: valid },
      { token: sme.token, now: "2027-03-31T22:00:01Z" },
    );
    expect(late.extensions?.field).toBe("latestEnd");
    // A time that is not a time at all.
    await server.fails(
      "BAD_USER_INPUT",
      `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id } }`,
      { input: { ...valid, earliestStart: "tomorrow" } },
      { token: sme.token, now: NOW },
    );
    expect(await counts()).toEqual(before);
    // The valid bid goes through.
    expect((await place(sme, valid)).status).toBe("MATCHED");
  });

  it("only an SME places bids", async () => {
    await server.fails(
      "FORBIDDEN",
      `mutation { placeBid(input: { gpuModel: "H800", gpuCount: 1, hours: 1, earliestStart: "${day(31)}", latestEnd: "${day(32)}", maxPricePerGpuHour: "1" }) { id } }`,
      {},
      { token: west.token },
    );
    await server.fails("UNAUTHENTICATED", `{ myBids { totalCount } }`);
  });
});
