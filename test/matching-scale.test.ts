// Matching reads a new bid's candidates cheapest first, a batch at a time: with more candidates
// than one batch, the winner must still be the cheapest free offer, and a price level cut by a
// batch must be read to its end before the tie-breakers decide.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import { assertCapacityInvariants } from "./support/invariants.js";

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
    { input: { gpuModel: "H800", gpuCount: 1, hours: 2, earliestStart: hour(day), latestEnd: hour(day, lastHour), maxPricePerGpuHour: "50.00" } },
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
      ids.push(await publishOffer(server, operator, { dataCenterId: dc, gpuCount: 1, pricePerGpuHour: price, availableFrom: hour(5), availableUntil: hour(5, 2) }, NOW));
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
      ids.push(await publishOffer(server, operator, { dataCenterId: dc, gpuCount: 1, pricePerGpuHour: "30.00", availableFrom: from, availableUntil: hour(6, 3) }, NOW));
    }
    const taken: string[] = [];
    for (let i = 0; i < OFFERS; i++) taken.push((await bid(6, 3)).reservation.offer.id);
    expect(taken.slice(0, 4)).toEqual(ids.slice(OFFERS - 4));
    expect(taken.slice(4)).toEqual(ids.slice(0, OFFERS - 4));
    await assertCapacityInvariants(server.sql);
  });
});
