import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";

const NOW = "2027-01-10T08:00:00Z";
let server: TestServer;
let west: Actor;
let east: Actor;
let sme: Actor;
let ningxia: string;
let gansu: string;
let wuhu: string;

const OFFER_FIELDS = `id gpuCount minHours status availableFrom availableUntil createdAt
  pricePerGpuHour { amount fen currency } gpuModel { name domestic }
  dataCenter { id name hub province operator { id name kind city creditCode } }`;

async function search(variables: Record<string, unknown>) {
  const { offers } = await server.ok(
    `query($filter: OfferFilter, $sort: OfferSort, $first: Int, $after: String) {
       offers(filter: $filter, sort: $sort, first: $first, after: $after) {
         totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${OFFER_FIELDS} } } } }`,
    variables,
  );
  return offers;
}

beforeAll(async () => {
  server = await startServer();
  west = await organization(server, "DATA_CENTER_OPERATOR", "Western Cloud");
  east = await organization(server, "DATA_CENTER_OPERATOR", "Eastern Hub");
  sme = await organization(server, "SME", "Lingxi AI", "Hangzhou");
  ningxia = await dataCenter(server, west, "Ningxia Zhongwei", "Zhongwei DC", "Ningxia");
  gansu = await dataCenter(server, west, "Gansu Qingyang", "Qingyang DC", "Gansu");
  wuhu = await dataCenter(server, east, "Wuhu", "Wuhu DC", "Anhui");
  const window = { availableFrom: "2027-02-01T00:00:00Z", availableUntil: "2027-02-11T00:00:00Z" };
  // Seven offers with distinct prices, so every sort has one right answer.
  await publishOffer(
    server,
    west,
    { dataCenterId: ningxia, gpuModel: "H800", gpuCount: 64, pricePerGpuHour: "18.50", ...window },
    NOW,
  );
  await publishOffer(
    server,
    west,
    { dataCenterId: ningxia, gpuModel: "A800", gpuCount: 16, pricePerGpuHour: "12", ...window },
    NOW,
  );
  await publishOffer(
    server,
    west,
    { dataCenterId: gansu, gpuModel: "H800", gpuCount: 8, pricePerGpuHour: "17.9", ...window },
    NOW,
  );
  await publishOffer(
    server,
    west,
    { dataCenterId: gansu, gpuModel: "Ascend 910B", gpuCount: 32, pricePerGpuHour: "9.80", ...window },
    NOW,
  );
  await publishOffer(
    server,
    east,
    { dataCenterId: wuhu, gpuModel: "H800", gpuCount: 128, pricePerGpuHour: "25.00", ...window },
    NOW,
  );
  await publishOffer(
    server,
    east,
    {
      dataCenterId: wuhu,
      gpuModel: "H800",
      gpuCount: 8,
      pricePerGpuHour: "22.00",
      availableFrom: "2027-02-05T00:00:00Z",
      availableUntil: "2027-02-06T00:00:00Z",
    },
    NOW,
  );
  await publishOffer(
    server,
    east,
    { dataCenterId: wuhu, gpuModel: "RTX 4090", gpuCount: 8, pricePerGpuHour: "6.00", ...window },
    NOW,
  );
});
afterAll(() => server?.close());

describe("catalog and data centers", () => {
  it("lists the GPU catalog to anyone, with domestic models", async () => {
    const { gpuModels } = await server.ok(`{ gpuModels { id name vendor memoryGb domestic } }`);
    const names = gpuModels.map((m: { name: string }) => m.name);
    expect(names).toEqual(expect.arrayContaining(["H800", "A800", "H20", "H100", "L40S", "RTX 4090", "Ascend 910B"]));
    expect(gpuModels.find((m: { name: string }) => m.name === "Ascend 910B")).toMatchObject({
      domestic: true,
      vendor: "Huawei",
    });
    expect(gpuModels.find((m: { name: string }) => m.name === "H800")).toMatchObject({ domestic: false, memoryGb: 80 });
  });

  it("lists data centers, optionally by hub, with their operator", async () => {
    const { dataCenters } = await server.ok(`{ dataCenters { id name hub province operator { name } } }`);
    expect(dataCenters).toHaveLength(3);
    const { dataCenters: inWuhu } = await server.ok(`{ dataCenters(hub: "Wuhu") { name operator { name } } }`);
    expect(inWuhu).toEqual([{ name: "Wuhu DC", operator: { name: "Eastern Hub" } }]);
    await server.fails("BAD_USER_INPUT", `{ dataCenters(hub: "Atlantis") { id } }`);
  });

  it("utilization is 0 when nothing is reserved or offered", async () => {
    const { dataCenters } = await server.ok(
      `{ dataCenters(hub: "Ningxia Zhongwei") { utilization(from: "2027-02-01T00:00:00Z", to: "2027-02-02T00:00:00Z") } }`,
    );
    expect(dataCenters).toEqual([{ utilization: 0 }]);
  });

  it("only the admin creates data centers, for an operator organization", async () => {
    await server.fails(
      "FORBIDDEN",
      `mutation($o: ID!) { createDataCenter(input: { name: "X", hub: "Wuhu", province: "Anhui", operatorId: $o }) { id } }`,
      { o: west.id },
      { token: west.token },
    );
    const wrongKind = await server.fails(
      "BAD_USER_INPUT",
      `mutation($o: ID!) { createDataCenter(input: { name: "X", hub: "Wuhu", province: "Anhui", operatorId: $o }) { id } }`,
      { o: sme.id },
      { token: ADMIN },
    );
    expect(wrongKind.message).toMatch(/operatorId/);
    await server.fails(
      "BAD_USER_INPUT",
      `mutation($o: ID!) { createDataCenter(input: { name: "X", hub: "Shanghai", province: "Anhui", operatorId: $o }) { id } }`,
      { o: west.id },
      { token: ADMIN },
    );
  });
});

describe("offer search", () => {
  it("sorts by price ascending by default and shows money exactly", async () => {
    const offers = await search({});
    expect(offers.totalCount).toBe(7);
    const prices = offers.edges.map((e: any) => e.node.pricePerGpuHour.amount);
    expect(prices).toEqual(["6.00", "9.80", "12.00", "17.90", "18.50", "22.00", "25.00"]);
    expect(offers.edges[1].node.pricePerGpuHour).toEqual({ amount: "9.80", fen: "980", currency: "CNY" });
    expect(offers.edges[1].node).toMatchObject({
      gpuModel: { name: "Ascend 910B", domestic: true },
      dataCenter: {
        name: "Qingyang DC",
        hub: "Gansu Qingyang",
        province: "Gansu",
        operator: { name: "Western Cloud" },
      },
      status: "ACTIVE",
      availableFrom: "2027-02-01T00:00:00.000Z",
    });
  });

  it("shows each offer, its data center and operator as offer(id) and dataCenters show them, also in one request", async () => {
    const { offers, dataCenters } = await server.ok(
      `{ offers { edges { node { ${OFFER_FIELDS} } } } dataCenters { id name hub province operator { id name kind city creditCode } } }`,
    );
    expect(offers.edges).toHaveLength(7);
    for (const { node } of offers.edges) {
      const { offer } = await server.ok(`query($id: ID!) { offer(id: $id) { ${OFFER_FIELDS} } }`, { id: node.id });
      expect(node).toEqual(offer);
      expect(dataCenters).toContainEqual(node.dataCenter);
    }
  });

  it("answers every field asked, however the query asks it: aliases, repeats, fragments, inline fragments", async () => {
    // The search reads only the columns its fields show; offer(id) reads whole rows.
    const selections = [
      { node: "id pricePerGpuHour { amount }" },
      { node: "id ...Age", fragments: "fragment Age on Offer { status createdAt }" },
      { node: "id dataCenter { name }" },
      { node: "id where: dataCenter { id } dataCenter { province } ... on Offer { dataCenter { operator { name } } }" },
      { node: "id dataCenter { operator { name ... on Organization { kind city } } }" },
      {
        node: "... on Node { id } ...Owner",
        fragments: "fragment Owner on Offer { dataCenter { operator { ...Org } } }",
      },
      {
        node: "id ...Owner",
        fragments: "fragment Owner on Offer { dataCenter { operator { id } operator { creditCode } } }",
      },
      { node: "id gpuCount hardwareAttested status" },
    ].map(({ node, fragments = "" }) => ({
      node,
      fragments: fragments.includes("...Org")
        ? `${fragments} fragment Org on Organization { name creditCode }`
        : fragments,
    }));
    for (const { node, fragments } of selections) {
      const { offers } = await server.ok(`{ offers(sort: NEWEST) { edges { node { ${node} } } } } ${fragments}`);
      expect(offers.edges).toHaveLength(7);
      for (const edge of offers.edges) {
        const id = edge.node.id;
        const { offer } = await server.ok(`query($id: ID!) { offer(id: $id) { ${node} } } ${fragments}`, { id });
        expect(edge.node, node).toEqual(offer);
      }
    }
    const { offers } = await server.ok(`{ offers(first: 1) { edges { node { status createdAt
      dataCenter { operator { kind city } } } } } }`);
    expect(offers.edges[0].node).toEqual({
      status: "ACTIVE",
      createdAt: "2027-01-10T08:00:00.000Z",
      dataCenter: { operator: { kind: "DATA_CENTER_OPERATOR", city: null } },
    });
  });

  it("sorts by price descending and by newest", async () => {
    const desc = await search({ sort: "PRICE_DESC" });
    expect(desc.edges.map((e: any) => e.node.pricePerGpuHour.amount)).toEqual([
      "25.00",
      "22.00",
      "18.50",
      "17.90",
      "12.00",
      "9.80",
      "6.00",
    ]);
    const newest = await search({ sort: "NEWEST" });
    expect(newest.edges.map((e: any) => e.node.gpuModel.name)).toEqual([
      "RTX 4090",
      "H800",
      "H800",
      "Ascend 910B",
      "H800",
      "A800",
      "H800",
    ]);
  });

  it("filters by GPU model, hub, province, data center, price, size and window", async () => {
    const amounts = async (filter: object) =>
      (await search({ filter })).edges.map((e: any) => e.node.pricePerGpuHour.amount);
    expect(await amounts({ gpuModel: "H800" })).toEqual(["17.90", "18.50", "22.00", "25.00"]);
    expect(await amounts({ hub: "Ningxia Zhongwei" })).toEqual(["12.00", "18.50"]);
    expect(await amounts({ province: "Anhui" })).toEqual(["6.00", "22.00", "25.00"]);
    expect(await amounts({ dataCenterId: gansu })).toEqual(["9.80", "17.90"]);
    expect(await amounts({ maxPricePerGpuHour: "17.9" })).toEqual(["6.00", "9.80", "12.00", "17.90"]);
    expect(await amounts({ minGpuCount: 32 })).toEqual(["9.80", "18.50", "25.00"]);
    expect(await amounts({ gpuModel: "H800", hub: "Wuhu", minGpuCount: 8 })).toEqual(["22.00", "25.00"]);
    // The window filter keeps offers whose window covers [from, until).
    expect(
      await amounts({
        gpuModel: "H800",
        availableFrom: "2027-02-05T00:00:00Z",
        availableUntil: "2027-02-06T00:00:00Z",
      }),
    ).toEqual(["17.90", "18.50", "22.00", "25.00"]);
    expect(
      await amounts({
        gpuModel: "H800",
        availableFrom: "2027-02-04T00:00:00Z",
        availableUntil: "2027-02-06T00:00:00Z",
      }),
    ).toEqual(["17.90", "18.50", "25.00"]);
    expect(await amounts({ availableFrom: "2027-02-10T00:00:00Z", availableUntil: "2027-02-12T00:00:00Z" })).toEqual(
      [],
    );
  });

  it("pages with opaque cursors through every offer exactly once", async () => {
    for (const sort of ["PRICE_ASC", "PRICE_DESC", "NEWEST"]) {
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const page: any = await search({ sort, first: 3, after });
        expect(page.totalCount).toBe(7);
        seen.push(...page.edges.map((e: any) => e.node.id));
        pages++;
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(7);
      // A cursor at the last offer: an empty page that still counts every match.
      const last = await search({ sort, first: 7 });
      const beyond = await search({ sort, first: 3, after: last.pageInfo.endCursor });
      expect(beyond).toEqual({ totalCount: 7, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
    }
    const none = await search({ filter: { gpuModel: "H100" } });
    expect(none).toEqual({ totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
  });

  it("refuses bad search input with BAD_USER_INPUT", async () => {
    await server.fails("BAD_USER_INPUT", `{ offers(first: 101) { totalCount } }`);
    await server.fails("BAD_USER_INPUT", `{ offers(first: -1) { totalCount } }`);
    await server.fails("BAD_USER_INPUT", `{ offers(after: "bm90IGEgY3Vyc29y") { totalCount } }`);
    await server.fails("BAD_USER_INPUT", `{ offers(filter: { gpuModel: "GTX 1080" }) { totalCount } }`);
    await server.fails("BAD_USER_INPUT", `{ offers(filter: { hub: "Beijing" }) { totalCount } }`);
    await server.fails("BAD_USER_INPUT", `{ offers(filter: { maxPricePerGpuHour: "1.234" }) { totalCount } }`);
    await server.fails("BAD_USER_INPUT", `{ offers(filter: { maxPricePerGpuHour: "NaN" }) { totalCount } }`);
    const window = await server.fails(
      "BAD_USER_INPUT",
      `{ offers(filter: { availableFrom: "2027-02-05T00:00:00Z", availableUntil: "2027-02-01T00:00:00Z" }) { totalCount } }`,
    );
    expect(window.message).toMatch(/availableUntil/);
  });

  it("a page of 100 offers with their data center, operator and model costs a fixed number of queries", async () => {
    const extra = await publishOfferBatch(40);
    expect(extra).toBe(40);
    const query = `{ offers(first: 100) { totalCount edges { node { id gpuModel { name } dataCenter { name operator { name } } } } } }`;
    const before = server.queryCount();
    const small = await server.ok(
      `{ offers(first: 2) { edges { node { id gpuModel { name } dataCenter { name operator { name } } } } } }`,
    );
    const smallQueries = server.queryCount() - before;
    const mid = server.queryCount();
    const large = await server.ok(query);
    const largeQueries = server.queryCount() - mid;
    expect(small.offers.edges).toHaveLength(2);
    expect(large.offers.edges).toHaveLength(47);
    expect(largeQueries).toBe(smallQueries);
    expect(largeQueries).toBeLessThanOrEqual(4);
  });
});

async function publishOfferBatch(n: number): Promise<number> {
  const dcs = [ningxia, gansu];
  for (let i = 0; i < n; i++) {
    await publishOffer(
      server,
      west,
      {
        dataCenterId: dcs[i % 2],
        gpuModel: "L40S",
        gpuCount: 8,
        pricePerGpuHour: `${30 + i}.00`,
        availableFrom: "2027-03-01T00:00:00Z",
        availableUntil: "2027-03-02T00:00:00Z",
      },
      NOW,
    );
  }
  return n;
}

describe("publishing and changing offers", () => {
  const publish = `mutation($input: PublishOfferInput!) { publishOffer(input: $input) { ${OFFER_FIELDS} } }`;
  const base = () => ({
    dataCenterId: ningxia,
    gpuModel: "H20",
    gpuCount: 16,
    pricePerGpuHour: "11.25",
    availableFrom: "2027-04-01T00:00:00Z",
    availableUntil: "2027-04-03T00:00:00Z",
    minHours: 4,
  });

  it("an operator publishes an offer on its own data center", async () => {
    const { publishOffer } = await server.ok(publish, { input: base() }, { token: west.token, now: NOW });
    expect(publishOffer).toMatchObject({
      gpuCount: 16,
      minHours: 4,
      status: "ACTIVE",
      pricePerGpuHour: { amount: "11.25", fen: "1125" },
      gpuModel: { name: "H20" },
      dataCenter: { id: ningxia, operator: { id: west.id } },
    });
    const { offer } = await server.ok(
      `query($id: ID!) { offer(id: $id) { id freeGpus(from: "2027-04-01T00:00:00Z", to: "2027-04-02T00:00:00Z") } }`,
      {
        id: publishOffer.id,
      },
    );
    expect(offer).toEqual({ id: publishOffer.id, freeGpus: 16 });
    const { offer: outside } = await server.ok(
      `query($id: ID!) { offer(id: $id) { freeGpus(from: "2027-03-31T23:00:00Z", to: "2027-04-01T05:00:00Z") } }`,
      {
        id: publishOffer.id,
      },
    );
    expect(outside.freeGpus).toBe(0);
  });

  it("another operator's data center is not found, and only operators publish", async () => {
    await server.fails(
      "NOT_FOUND",
      publish,
      { input: { ...base(), dataCenterId: wuhu } },
      { token: west.token, now: NOW },
    );
    await server.fails("FORBIDDEN", publish, { input: base() }, { token: sme.token, now: NOW });
    await server.fails("UNAUTHENTICATED", publish, { input: base() });
  });

  it("refuses bad offers with the field named, writing nothing", async () => {
    const [{ n: before }] = await server.sql(`select count(*)::int as n from offers`);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ gpuModel: "Voodoo 2" }, /gpuModel/],
      [{ gpuCount: 0 }, /gpuCount/],
      [{ gpuCount: 2_000_000 }, /gpuCount/],
      [{ pricePerGpuHour: "12.345" }, /pricePerGpuHour/],
      [{ pricePerGpuHour: "-3" }, /pricePerGpuHour/],
      [{ pricePerGpuHour: "1e3" }, /pricePerGpuHour/],
      [{ pricePerGpuHour: "0" }, /pricePerGpuHour/],
      [{ availableFrom: "2027-04-01T00:30:00Z" }, /availableFrom/],
      [{ availableUntil: "2027-03-30T00:00:00Z" }, /availableUntil/],
      [{ availableFrom: "2026-12-01T00:00:00Z", availableUntil: "2027-01-01T00:00:00Z" }, /availableUntil/],
      [{ minHours: 0 }, /minHours/],
      [{ minHours: 49 }, /minHours/],
      [{ dataCenterId: "x1" }, /dataCenterId/],
    ];
    for (const [change, message] of cases) {
      const error = await server.fails(
        "BAD_USER_INPUT",
        publish,
        { input: { ...base(), ...change } },
        { token: west.token, now: NOW },
      );
      expect(error.message).toMatch(message);
    }
    const notADate = await server.gql(
      publish,
      { input: { ...base(), availableFrom: "tomorrow" } },
      { token: west.token, now: NOW },
    );
    expect(notADate.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
    const [{ n: after }] = await server.sql(`select count(*)::int as n from offers`);
    expect(after).toBe(before);
  });

  it("times of offers and bids are whole hours exactly: digits past the milliseconds are refused, never dropped", async () => {
    const [{ n: before }] = await server.sql(`select count(*)::int as n from offers`);
    const [{ n: bidsBefore }] = await server.sql(`select count(*)::int as n from bids`);
    for (const change of [
      { availableFrom: "2027-04-01T00:00:00.0001Z" },
      { availableFrom: "2027-04-01T08:00:00.000000001+08:00" },
      { availableUntil: "2027-04-03T00:00:00.9999999Z" },
    ]) {
      await server.fails(
        "BAD_USER_INPUT",
        publish,
        { input: { ...base(), ...change } },
        { token: west.token, now: NOW },
      );
    }
    // Written in the query itself rather than as a variable: refused before it runs, as any literal a scalar refuses.
    const literal = `mutation { publishOffer(input: { dataCenterId: "${ningxia}", gpuModel: "H20", gpuCount: 4, pricePerGpuHour: "11.25", minHours: 1,
      availableFrom: "2027-04-01T00:00:00.0001Z", availableUntil: "2027-04-03T00:00:00Z" }) { id } }`;
    await server.fails("GRAPHQL_VALIDATION_FAILED", literal, {}, { token: west.token, now: NOW });
    const [{ n: after }] = await server.sql(`select count(*)::int as n from offers`);
    expect(after).toBe(before);

    // Zeros past the milliseconds are the same whole hour.
    const { publishOffer } = await server.ok(
      publish,
      {
        input: {
          ...base(),
          availableFrom: "2027-04-01T00:00:00.000000Z",
          availableUntil: "2027-04-03T08:00:00.000000000+08:00",
        },
      },
      { token: west.token, now: NOW },
    );
    expect(publishOffer).toMatchObject({
      availableFrom: "2027-04-01T00:00:00.000Z",
      availableUntil: "2027-04-03T00:00:00.000Z",
    });
    const update = `mutation($id: ID!, $input: UpdateOfferInput!) { updateOffer(id: $id, input: $input) { availableUntil } }`;
    await server.fails(
      "BAD_USER_INPUT",
      update,
      { id: publishOffer.id, input: { availableUntil: "2027-04-05T00:00:00.0001Z" } },
      { token: west.token, now: NOW },
    );
    const bid = `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id } }`;
    const bidInput = {
      gpuModel: "H20",
      gpuCount: 1,
      hours: 2,
      earliestStart: "2027-04-01T00:00:00Z",
      latestEnd: "2027-04-02T00:00:00Z",
      maxPricePerGpuHour: "20.00",
    };
    await server.fails(
      "BAD_USER_INPUT",
      bid,
      { input: { ...bidInput, earliestStart: "2027-04-01T00:00:00.0001Z" } },
      { token: sme.token, now: NOW },
    );
    await server.fails(
      "BAD_USER_INPUT",
      bid,
      { input: { ...bidInput, latestEnd: "2027-04-02T00:00:00.00000001Z" } },
      { token: sme.token, now: NOW },
    );
    const [{ n: bidsAfter }] = await server.sql(`select count(*)::int as n from bids`);
    expect(bidsAfter).toBe(bidsBefore);
    expect((await server.ok(`{ offer(id: "${publishOffer.id}") { availableUntil } }`)).offer.availableUntil).toBe(
      "2027-04-03T00:00:00.000Z",
    );
    // Instants that need not be whole hours are exact too: a search window past the milliseconds is refused.
    await server.fails("BAD_USER_INPUT", `query($filter: OfferFilter) { offers(filter: $filter) { totalCount } }`, {
      filter: { availableFrom: "2027-02-01T00:00:00.0005Z" },
    });
  });

  it("updates price, size, window end and status; withdraws", async () => {
    const { publishOffer } = await server.ok(publish, { input: base() }, { token: west.token, now: NOW });
    const update = `mutation($id: ID!, $input: UpdateOfferInput!) { updateOffer(id: $id, input: $input) { status gpuCount availableUntil pricePerGpuHour { amount } } }`;
    const { updateOffer } = await server.ok(
      update,
      {
        id: publishOffer.id,
        input: { pricePerGpuHour: "10.50", gpuCount: 24, availableUntil: "2027-04-05T00:00:00Z", status: "PAUSED" },
      },
      { token: west.token, now: NOW },
    );
    expect(updateOffer).toEqual({
      status: "PAUSED",
      gpuCount: 24,
      availableUntil: "2027-04-05T00:00:00.000Z",
      pricePerGpuHour: { amount: "10.50" },
    });
    // A paused offer is not listed.
    const listed = await search({ filter: { gpuModel: "H20" } });
    expect(listed.edges.map((e: any) => e.node.id)).not.toContain(publishOffer.id);
    await server.fails(
      "NOT_FOUND",
      update,
      { id: publishOffer.id, input: { gpuCount: 1 } },
      { token: east.token, now: NOW },
    );
    await server.fails(
      "BAD_USER_INPUT",
      update,
      { id: publishOffer.id, input: { gpuCount: 0 } },
      { token: west.token, now: NOW },
    );

    const withdraw = `mutation($id: ID!) { withdrawOffer(id: $id) { status } }`;
    await server.fails("NOT_FOUND", withdraw, { id: publishOffer.id }, { token: east.token, now: NOW });
    expect(await server.ok(withdraw, { id: publishOffer.id }, { token: west.token, now: NOW })).toEqual({
      withdrawOffer: { status: "WITHDRAWN" },
    });
    await server.fails(
      "CONFLICT",
      update,
      { id: publishOffer.id, input: { status: "ACTIVE" } },
      { token: west.token, now: NOW },
    );
  });

  it("myOffers lists only the operator's offers, in every status", async () => {
    const { myOffers } = await server.ok(
      `{ myOffers(first: 100) { totalCount edges { node { dataCenter { operator { id } } } } } }`,
      {},
      { token: east.token },
    );
    expect(myOffers.totalCount).toBe(3);
    expect(myOffers.edges.every((e: any) => e.node.dataCenter.operator.id === east.id)).toBe(true);
    await server.fails("FORBIDDEN", `{ myOffers { totalCount } }`, {}, { token: sme.token });
  });

  it("an unknown offer id reads as null; a malformed one, or another type's, is BAD_USER_INPUT naming the argument", async () => {
    expect(await server.ok(`{ offer(id: "offer_99999999") { id } }`)).toEqual({ offer: null });
    for (const id of ["abc", "99999999", "bid_1", "offer_0", "offer_1.5"]) {
      const error = await server.fails("BAD_USER_INPUT", `query($id: ID!) { offer(id: $id) { id } }`, { id });
      expect(error.extensions).toMatchObject({ field: "id" });
      expect(error.message).toContain("offer_123");
    }
  });
});

describe("utilization", () => {
  it("is the live reserved GPU-hours over the offered GPU-hours in the period, each clipped to it", async () => {
    const shaoguan = await dataCenter(server, west, "Shaoguan", "Shaoguan DC", "Guangdong");
    const offer = (input: Record<string, unknown>) =>
      publishOffer(server, west, { dataCenterId: shaoguan, gpuModel: "L40S", ...input } as never, NOW);
    await offer({
      gpuCount: 8,
      pricePerGpuHour: "10.00",
      availableFrom: "2027-03-01T00:00:00Z",
      availableUntil: "2027-03-03T00:00:00Z",
    }); // 8 x 24 h in the period
    const paused = await offer({
      gpuCount: 4,
      pricePerGpuHour: "12.00",
      availableFrom: "2027-03-01T12:00:00Z",
      availableUntil: "2027-03-05T00:00:00Z",
    }); // 4 x 12 h
    const withdrawn = await offer({
      gpuCount: 2,
      pricePerGpuHour: "11.00",
      availableFrom: "2027-03-01T00:00:00Z",
      availableUntil: "2027-03-02T00:00:00Z",
    });
    await server.ok(
      `mutation($id: ID!) { updateOffer(id: $id, input: { status: PAUSED }) { id } }`,
      { id: paused },
      { token: west.token, now: NOW },
    );
    await server.ok(
      `mutation($id: ID!) { withdrawOffer(id: $id) { id } }`,
      { id: withdrawn },
      { token: west.token, now: NOW },
    );
    const bid = (input: Record<string, unknown>) =>
      server.ok(
        `mutation($input: PlaceBidInput!) { placeBid(input: $input) { status } }`,
        { input: { gpuModel: "L40S", maxPricePerGpuHour: "10.00", hubs: ["Shaoguan"], ...input } },
        { token: sme.token, now: NOW },
      );
    expect(
      await bid({ gpuCount: 2, hours: 3, earliestStart: "2027-03-01T05:00:00Z", latestEnd: "2027-03-01T08:00:00Z" }),
    ).toEqual({ placeBid: { status: "MATCHED" } }); // 6 GPU-h
    expect(
      await bid({ gpuCount: 1, hours: 4, earliestStart: "2027-03-01T22:00:00Z", latestEnd: "2027-03-02T02:00:00Z" }),
    ).toEqual({ placeBid: { status: "MATCHED" } }); // 2 of them in the period

    const utilization = async (now: string) =>
      (
        await server.ok(
          `{ dataCenters(hub: "Shaoguan") { utilization(from: "2027-03-01T00:00:00Z", to: "2027-03-02T00:00:00Z") } }`,
          {},
          { now },
        )
      ).dataCenters;
    expect(await utilization(NOW)).toEqual([{ utilization: 8 / 240 }]);
    // Once the holds have lapsed, nothing is reserved.
    expect(await utilization("2027-02-20T00:00:00Z")).toEqual([{ utilization: 0 }]);
  });
});
