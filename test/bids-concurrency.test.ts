// Parallel bids on two server processes sharing one PostgreSQL: capacity is never oversold, and
// every GPU-hour that some bid could use ends up used. PostgreSQL only (PGlite cannot race).
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { feasibleCandidates, type BidTerms, type OfferTerms } from "../src/bids/match.js";
import type { Booking } from "../src/offers/capacity.js";
import { ADMIN, freshPostgresDatabase, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import { assertCapacityInvariants, overbookedHours } from "./support/invariants.js";
import { startProcess, type ServerProcess } from "./support/processes.js";
import { keyOf } from "./support/ids.js";

const NOW = "2027-02-01T00:00:00Z";
const T = Date.parse("2027-03-01T00:00:00Z");
const at = (hours: number) => new Date(T + hours * 3_600_000).toISOString();

const PLACE = `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id status reservation { id offer { id } gpuCount startsAt endsAt } } }`;

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  return (n: number) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state % n;
  };
}

describe.runIf(!!process.env.DATABASE_URL)("bids on two server processes sharing one PostgreSQL", () => {
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let servers: ServerProcess[] = [];
  let sql: postgres.Sql;
  let operator: Actor;
  let smes: Actor[];
  const run = async (text: string, params: unknown[] = []) =>
    (await sql.unsafe(text, params as never[])) as unknown as any[];

  beforeAll(async () => {
    database = await freshPostgresDatabase();
    const env = {
      DATABASE_URL: database.url,
      ADMIN_TOKEN: ADMIN,
      SEED: "none",
      ENABLE_TEST_CLOCK: "1",
      RATE_LIMIT_PER_MINUTE: "0",
      QUERY_POINTS_PER_MINUTE: "0",
      // Maintenance runs only when a test asks, on the test's clock.
      MAINTENANCE_INTERVAL_MS: "0",
    };
    servers = await Promise.all([startProcess(env), startProcess(env)]);
    sql = postgres(database.url, { max: 2, onnotice: () => {} });
    const first = servers[0] as unknown as TestServer;
    operator = await organization(first, "DATA_CENTER_OPERATOR", "Race Cloud");
    smes = await Promise.all([1, 2, 3, 4].map((i) => organization(first, "SME", `Racer ${i}`)));
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await sql?.end();
    await database?.drop();
  });

  /** Places every bid at once, alternating between the two processes; all must succeed. */
  async function placeAll(inputs: Record<string, unknown>[]) {
    const results = await Promise.all(
      inputs.map((input, i) => servers[i % 2].gql(PLACE, { input }, { token: smes[i % smes.length].token, now: NOW })),
    );
    const failed = results.filter((r) => r.errors?.length);
    expect(failed.map((r) => r.errors)).toEqual([]);
    return results.map((r) => r.data.placeBid);
  }

  it("sells exactly the capacity there is: 72 identical bids for 12 GPUs", async () => {
    const dcs = await Promise.all(
      ["Ningxia Zhongwei", "Gansu Qingyang", "Guizhou Gui'an"].map((hub) =>
        dataCenter(servers[0] as unknown as TestServer, operator, hub),
      ),
    );
    const sizes = [4, 3, 5];
    const offers = [];
    for (const [i, gpuCount] of sizes.entries()) {
      offers.push(
        await publishOffer(
          servers[i % 2] as unknown as TestServer,
          operator,
          {
            dataCenterId: dcs[i],
            gpuModel: "H800",
            gpuCount,
            pricePerGpuHour: `${10 + i}.00`,
            availableFrom: at(0),
            availableUntil: at(4),
          },
          NOW,
        ),
      );
    }
    const input = {
      gpuModel: "H800",
      gpuCount: 1,
      hours: 4,
      earliestStart: at(0),
      latestEnd: at(4),
      maxPricePerGpuHour: "20.00",
    };
    const bids = await placeAll(Array.from({ length: 72 }, () => input));

    const matched = bids.filter((b) => b.status === "MATCHED");
    expect(matched).toHaveLength(12);
    expect(bids.filter((b) => b.status === "OPEN")).toHaveLength(60);
    const perOffer = new Map<string, number>();
    for (const b of matched) perOffer.set(b.reservation.offer.id, (perOffer.get(b.reservation.offer.id) ?? 0) + 1);
    expect(offers.map((id) => perOffer.get(id))).toEqual(sizes);
    const [{ n }] = await run(`select count(*)::int as n from bids where status = 'MATCHED'`);
    expect(n).toBe(12);
    expect(await overbookedHours(run)).toEqual([]);
    await assertCapacityInvariants(run, new Date(NOW));
  });

  it("bids placed on both processes while holds lapse leave that capacity to the standing bids, in priority order", async () => {
    const minutes = (n: number) => new Date(Date.parse(NOW) + n * 60_000).toISOString();
    const dcs = await Promise.all(
      ["Shaoguan", "Chongqing"].map((hub) =>
        dataCenter(servers[0] as unknown as TestServer, operator, hub, `Lapse ${hub}`),
      ),
    );
    for (const [i, gpuCount] of [4, 5, 3].entries()) {
      await publishOffer(
        servers[i % 2] as unknown as TestServer,
        operator,
        {
          dataCenterId: dcs[i % 2],
          gpuModel: "L40S",
          gpuCount,
          pricePerGpuHour: `${10 + i}.00`,
          availableFrom: at(0),
          availableUntil: at(4),
        },
        NOW,
      );
    }
    const bid = (maxPricePerGpuHour: string) => ({
      gpuModel: "L40S",
      gpuCount: 1,
      hours: 4,
      earliestStart: at(0),
      latestEnd: at(4),
      maxPricePerGpuHour,
    });
    const place = async (inputs: Record<string, unknown>[], now: string) => {
      const results = await Promise.all(
        inputs.map((input, i) => servers[i % 2].gql(PLACE, { input }, { token: smes[i % smes.length].token, now })),
      );
      expect(results.filter((r) => r.errors?.length).map((r) => r.errors)).toEqual([]);
      return results.map((r) => r.data.placeBid as { id: string; status: string });
    };
    const statusOf = async (ids: string[], now: string) => {
      // Through the API, as each SME sees its own bids.
      const rows = await run(
        `select 'bid_' || id as id, 'org_' || sme_id as sme from bids where id = any($1::bigint[])`,
        [`{${ids.map(keyOf).join(",")}}`],
      );
      const owner = new Map(rows.map((r) => [r.id, smes.find((s) => s.id === r.sme)!]));
      return Promise.all(
        ids.map(
          async (id) =>
            (
              await servers[0].ok(
                `query($id: ID!) { bid(id: $id) { status } }`,
                { id },
                { token: owner.get(id)!.token, now },
              )
            ).bid.status as string,
        ),
      );
    };
    const openInPriority = async () =>
      (
        await run(`select 'bid_' || b.id as id from bids b where b.status = 'OPEN' and b.gpu_model_id = (select id from gpu_models where name = 'L40S')
                  order by b.max_price_per_gpu_hour desc, b.created_at, b.id`)
      ).map((r) => r.id as string);
    const maintenance = (now: string) =>
      servers.map((s) => s.gql(`mutation { runMaintenance { task changed } }`, {}, { token: ADMIN, now }));

    // All 12 GPUs held; then 14 standing bids at 30.00 down to 17.00.
    const holders = await place(
      Array.from({ length: 12 }, () => bid("20.00")),
      NOW,
    );
    expect(holders.every((b) => b.status === "MATCHED")).toBe(true);
    const standing = await place(
      Array.from({ length: 14 }, (_, i) => bid(`${30 - i}.00`)),
      minutes(1),
    );
    expect(standing.every((b) => b.status === "OPEN")).toBe(true);

    // The holds lapse; 24 newer, cheaper bids arrive on both processes, with maintenance racing them.
    const first = minutes(16);
    const sweeps = maintenance(first);
    const newer = await place(
      Array.from({ length: 24 }, () => bid("16.00")),
      first,
    );
    for (const result of await Promise.all(sweeps)) expect(result.errors).toBeUndefined();
    expect(
      await statusOf(
        standing.map((b) => b.id),
        first,
      ),
    ).toEqual([...Array(12).fill("MATCHED"), "OPEN", "OPEN"]);
    expect(
      await statusOf(
        newer.map((b) => b.id),
        first,
      ),
    ).toEqual(newer.map(() => "OPEN"));
    expect(
      await statusOf(
        holders.map((b) => b.id),
        first,
      ),
    ).toEqual(holders.map(() => "EXPIRED"));
    expect(await overbookedHours(run, new Date(first))).toEqual([]);
    await assertCapacityInvariants(run, new Date(first));

    // Those holds lapse in turn: the 12 best of the open bids get them, none of the newest.
    const ranked = await openInPriority();
    const second = minutes(32);
    const sweepsAgain = maintenance(second);
    const newest = await place(
      Array.from({ length: 24 }, () => bid("15.00")),
      second,
    );
    for (const result of await Promise.all(sweepsAgain)) expect(result.errors).toBeUndefined();
    expect(await statusOf(ranked, second)).toEqual(ranked.map((_, i) => (i < 12 ? "MATCHED" : "OPEN")));
    expect(
      await statusOf(
        newest.map((b) => b.id),
        second,
      ),
    ).toEqual(newest.map(() => "OPEN"));
    await assertCapacityInvariants(run, new Date(second));
  });

  it("overlapping bids of many shapes, with cancels and maintenance racing them, never oversell", async () => {
    const next = random(20270301);
    const dc = await dataCenter(servers[1] as unknown as TestServer, operator, "Wuhu", "Race Wuhu");
    const windows: [number, number, number][] = [
      [3, 0, 8],
      [4, 2, 10],
      [2, 4, 12],
      [1, 0, 12],
    ];
    for (const [i, [gpuCount, from, until]] of windows.entries()) {
      await publishOffer(
        servers[i % 2] as unknown as TestServer,
        operator,
        {
          dataCenterId: dc,
          gpuModel: "A800",
          gpuCount,
          pricePerGpuHour: `${12 + next(3)}.00`,
          availableFrom: at(from),
          availableUntil: at(until),
        },
        NOW,
      );
    }
    const shape = () => {
      const hours = 1 + next(4);
      const start = next(9);
      return {
        gpuModel: "A800",
        gpuCount: 1 + next(3),
        hours,
        earliestStart: at(start),
        latestEnd: at(Math.min(12, start + hours + next(4))),
        maxPricePerGpuHour: `${12 + next(4)}.00`,
      };
    };
    const valid = (b: ReturnType<typeof shape>) =>
      Date.parse(b.latestEnd) - Date.parse(b.earliestStart) >= b.hours * 3_600_000;

    const firstWave = await placeAll(Array.from({ length: 80 }, shape).filter(valid));
    const matched = firstWave.filter((b) => b.status === "MATCHED");
    expect(matched.length).toBeGreaterThan(0);
    await assertCapacityInvariants(run, new Date(NOW));

    // Second wave: cancel some matched bids while new bids and maintenance passes race them.
    const toCancel = matched.slice(0, Math.min(10, matched.length));
    const owners = new Map<string, Actor>();
    for (const [i, b] of firstWave.entries()) owners.set(b.id, smes[i % smes.length]);
    const cancels = toCancel.map((b, i) =>
      servers[(i + 1) % 2].gql(
        `mutation($id: ID!) { cancelBid(id: $id) { status } }`,
        { id: b.id },
        { token: owners.get(b.id)!.token, now: NOW },
      ),
    );
    const maintenance = servers.map((s) =>
      s.gql(`mutation { runMaintenance { task changed } }`, {}, { token: ADMIN, now: NOW }),
    );
    const secondWave = placeAll(Array.from({ length: 40 }, shape).filter(valid));
    const cancelled = await Promise.all(cancels);
    expect(cancelled.map((r) => r.errors ?? r.data.cancelBid.status)).toEqual(toCancel.map(() => "CANCELLED"));
    for (const result of await Promise.all(maintenance)) expect(result.errors).toBeUndefined();
    await secondWave;
    await assertCapacityInvariants(run, new Date(NOW));

    // A bid placed while a cancel was committing may have missed the freed hours: the maintenance
    // pass re-matches it. After it, no open bid fits anywhere.
    await servers[0].ok(`mutation { runMaintenance { task changed } }`, {}, { token: ADMIN, now: NOW });
    await assertCapacityInvariants(run, new Date(NOW));
    const offerRows = await run(
      `select o.*, d.hub from offers o join data_centers d on d.id = o.data_center_id where o.gpu_model_id = (select id from gpu_models where name = 'A800')`,
    );
    const offerTerms: OfferTerms[] = offerRows.map((o) => ({
      id: keyOf(o.id),
      dataCenterId: keyOf(o.data_center_id),
      hub: o.hub,
      gpuModelId: keyOf(o.gpu_model_id),
      gpuCount: o.gpu_count,
      pricePerGpuHour: BigInt(o.price_per_gpu_hour),
      availableFrom: new Date(o.available_from),
      availableUntil: new Date(o.available_until),
      minHours: o.min_hours,
      status: o.status,
      createdAt: new Date(o.created_at),
    }));
    const bookings = new Map<number, Booking[]>();
    for (const r of await run(
      `select * from reservations where status in ('HELD', 'CONFIRMED') and hold_expires_at > $1`,
      [NOW],
    )) {
      const list = bookings.get(keyOf(r.offer_id)) ?? [];
      list.push({ startsAt: new Date(r.starts_at), endsAt: new Date(r.ends_at), gpuCount: r.gpu_count });
      bookings.set(keyOf(r.offer_id), list);
    }
    const open = await run(
      `select * from bids where status = 'OPEN' and gpu_model_id = (select id from gpu_models where name = 'A800')`,
    );
    expect(open.length).toBeGreaterThan(0);
    for (const b of open) {
      const terms: BidTerms = {
        gpuModelId: keyOf(b.gpu_model_id),
        gpuCount: b.gpu_count,
        hours: b.hours,
        earliestStart: new Date(b.earliest_start),
        latestEnd: new Date(b.latest_end),
        maxPricePerGpuHour: BigInt(b.max_price_per_gpu_hour),
        hubs: b.hubs,
      };
      expect(feasibleCandidates(terms, offerTerms, bookings, new Date(NOW)), `open bid ${b.id} still fits`).toEqual([]);
    }
  });
});
