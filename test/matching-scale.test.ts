// Matching reads a new bid's candidates cheapest first, a batch at a time: with more candidates
// than one batch, the winner must still be the cheapest free offer, and a price level cut by a
// batch must be read to its end before the tie-breakers decide.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import { assertCapacityInvariants } from "./support/invariants.js";
import { keyOf } from "./support/ids.js";

const NOW = "2027-02-01T00:00:00Z";
const hour = (day: number, h = 0) => new Date(Date.UTC(2027, 3, day, h)).toISOString();
const OFFERS = 70; // more than one batch of candidates (64)

let server: TestServer;
let operator: Actor;
let sme: Actor;
let dc: string;

beforeAll(async () => {
  server = await startServer();
  operator = await organization(server, "DATA_CENTER_OPERATOR", "Western Compute");
  sme = await organization(server, "SME", "Model Lab");
  dc = await dataCenter(server, operator, "Ningxia Zhongwei");
});
afterAll(() => server.close());

async function bid(day: number, lastHour = 2) {
  const { placeBid } = await server.ok(
    `mutation($input: PlaceBidInput!) { placeBid(input: $input) { status reservation { startsAt offer { id } } } }`,
    {
      input: {
        gpuModel: "H800",
        gpuCount: 1,
        hours: 2,
        earliestStart: hour(day),
        latestEnd: hour(day, lastHour),
        maxPricePerGpuHour: "50.00",
      },
    },
    { token: sme.token, now: NOW },
  );
  return placeBid;
}

describe("matching with more candidates than one batch", () => {
  it("each bid takes the cheapest free offer, past the first batch, then stays OPEN", async () => {
    // Published from the dearest to the cheapest: price order is the reverse of id order.
    const ids: string[] = [];
    for (let i = 0; i < OFFERS; i++) {
      const price = (20 + (OFFERS - 1 - i) / 100).toFixed(2);
      ids.push(
        await publishOffer(
          server,
          operator,
          { dataCenterId: dc, gpuCount: 1, pricePerGpuHour: price, availableFrom: hour(5), availableUntil: hour(5, 2) },
          NOW,
        ),
      );
    }
    const taken: string[] = [];
    for (let i = 0; i < OFFERS; i++) {
      const placed = await bid(5);
      expect(placed.status).toBe("MATCHED");
      taken.push(placed.reservation.offer.id);
    }
    expect(taken).toEqual([...ids].reverse());
    expect((await bid(5)).status).toBe("OPEN");
    await assertCapacityInvariants(server.sql);
  });

  it("a price level longer than a batch is read to its end before the tie-breakers decide", async () => {
    // One price; the last four published (beyond the first batch) can start an hour earlier, so
    // they win first; then the others go in publication order.
    const ids: string[] = [];
    for (let i = 0; i < OFFERS; i++) {
      const from = i < OFFERS - 4 ? hour(6, 1) : hour(6);
      ids.push(
        await publishOffer(
          server,
          operator,
          { dataCenterId: dc, gpuCount: 1, pricePerGpuHour: "30.00", availableFrom: from, availableUntil: hour(6, 3) },
          NOW,
        ),
      );
    }
    const taken: string[] = [];
    for (let i = 0; i < OFFERS; i++) taken.push((await bid(6, 3)).reservation.offer.id);
    expect(taken.slice(0, 4)).toEqual(ids.slice(OFFERS - 4));
    expect(taken.slice(4)).toEqual(ids.slice(0, OFFERS - 4));
    await assertCapacityInvariants(server.sql);
  });
});

describe("no open bid is starved by the ones ranked above it", () => {
  const UNSERVABLE = 2_500;
  const may = (day: number, h = 0) => new Date(Date.UTC(2027, 4, day, h)).toISOString();
  const PLACE = `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id status reservation { id status offer { id } } } }`;
  const BID = `query($id: ID!) { bid(id: $id) { id status reservation { status offer { id } } } }`;
  let dealer: Actor;

  const place = async (who: Actor, day: number, maxPricePerGpuHour: string, now = NOW) =>
    (
      await server.ok(
        PLACE,
        {
          input: {
            gpuModel: "L40S",
            gpuCount: 4,
            hours: 24,
            earliestStart: may(day),
            latestEnd: may(day + 1),
            maxPricePerGpuHour,
          },
        },
        { token: who.token, now },
      )
    ).placeBid;
  const bidOf = async (who: Actor, id: string, now = NOW) =>
    (await server.ok(BID, { id }, { token: who.token, now })).bid;
  const maintain = (now: string) =>
    server.ok(`mutation { runMaintenance { task changed } }`, {}, { token: ADMIN, now });

  beforeAll(async () => {
    dealer = await organization(server, "SME", "Many Bids Ltd");
    // Open L40S bids that no offer can ever serve (64 GPUs; or 48 hours, longer than any window),
    // at the dearest price and the oldest: they rank above every other open bid of the model.
    await server.sql(
      `insert into bids (sme_id, gpu_model_id, gpu_count, hours, earliest_start, latest_end, max_price_per_gpu_hour, status, created_at, updated_at)
       select $1, (select id from gpu_models where name = 'L40S'),
              case when i % 2 = 0 then 64 else 1 end, case when i % 2 = 0 then 2 else 48 end,
              $2::timestamptz, $3::timestamptz, 99900, 'OPEN', $4::timestamptz, $4::timestamptz
       from generate_series(1, ${UNSERVABLE}) as i`,
      [keyOf(dealer.id), may(1), may(20), "2027-01-15T00:00:00Z"],
    );
  });

  it("capacity freed by a cancel goes to the best fitting bid, past thousands that cannot fit", async () => {
    await publishOffer(
      server,
      operator,
      { dataCenterId: dc, gpuModel: "L40S", gpuCount: 4, availableFrom: may(2), availableUntil: may(3) },
      NOW,
    );
    const holder = await place(sme, 2, "50.00");
    expect(holder.status).toBe("MATCHED");
    const better = await place(sme, 2, "30.00");
    const worse = await place(sme, 2, "25.00");
    expect([better.status, worse.status]).toEqual(["OPEN", "OPEN"]);

    await server.ok(
      `mutation($id: ID!) { cancelBid(id: $id) { status } }`,
      { id: holder.id },
      { token: sme.token, now: NOW },
    );
    expect(await bidOf(sme, better.id)).toMatchObject({ status: "MATCHED", reservation: { status: "HELD" } });
    expect((await bidOf(sme, worse.id)).status).toBe("OPEN");
    await assertCapacityInvariants(server.sql, new Date(NOW));
  });

  it("capacity freed by a lapsed hold goes to the best fitting bid at maintenance, past thousands that cannot fit", async () => {
    const offer = await publishOffer(
      server,
      operator,
      { dataCenterId: dc, gpuModel: "L40S", gpuCount: 4, availableFrom: may(4), availableUntil: may(5) },
      NOW,
    );
    const holder = await place(sme, 4, "50.00");
    expect(holder.status).toBe("MATCHED");
    const worse = await place(sme, 4, "25.00");
    const better = await place(sme, 4, "30.00");
    expect([better.status, worse.status]).toEqual(["OPEN", "OPEN"]);

    const lapsed = new Date(Date.parse(NOW) + 15 * 60_000).toISOString();
    await maintain(lapsed);
    expect(await bidOf(sme, holder.id, lapsed)).toMatchObject({ status: "EXPIRED" });
    expect(await bidOf(sme, better.id, lapsed)).toMatchObject({
      status: "MATCHED",
      reservation: { status: "HELD", offer: { id: offer } },
    });
    expect((await bidOf(sme, worse.id, lapsed)).status).toBe("OPEN");
    await assertCapacityInvariants(server.sql, new Date(lapsed));
  });

  it("an open bid that missed free capacity is served by maintenance, past thousands that cannot fit", async () => {
    const offer = await publishOffer(
      server,
      operator,
      { dataCenterId: dc, gpuModel: "L40S", gpuCount: 4, availableFrom: may(6), availableUntil: may(7) },
      NOW,
    );
    // What a bid placed while a cancel was committing looks like: OPEN next to capacity that fits it
    // (its row is written directly; nothing else could make such a bid).
    const [missed] = await server.sql(
      `insert into bids (sme_id, gpu_model_id, gpu_count, hours, earliest_start, latest_end, max_price_per_gpu_hour, status, created_at, updated_at)
       values ($1, (select id from gpu_models where name = 'L40S'), 4, 24, $2::timestamptz, $3::timestamptz, 2000, 'OPEN', $4::timestamptz, $4::timestamptz)
       returning 'bid_' || id as id`,
      [keyOf(sme.id), may(6), may(7), NOW],
    );
    await maintain(NOW);
    expect(await bidOf(sme, missed.id)).toMatchObject({
      status: "MATCHED",
      reservation: { status: "HELD", offer: { id: offer } },
    });
    await assertCapacityInvariants(server.sql, new Date(NOW));
  });
});
