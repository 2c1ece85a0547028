// A data center's sales desk publishing a catalogue: publishOffers (all or nothing, every bad input
// named by index and field, one multi-row insert, one mutation per 100 offers against the rate
// limit), updateOffers, the CSV import with its dry run and per-row report, and hardware
// declarations that programs may require.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, type Actor } from "./support/fixtures.js";
import { grantVoucher } from "./support/market.js";
import { parseCsv } from "../src/offers/csv.js";

const NOW = "2027-03-01T08:00:00Z";
const PUBLISH = `mutation($inputs: [PublishOfferInput!]!) { publishOffers(inputs: $inputs) { id gpuCount status pricePerGpuHour { fen } } }`;
const UPDATE = `mutation($ids: [ID!]!, $input: UpdateOffersInput!) { updateOffers(ids: $ids, input: $input) { id status pricePerGpuHour { fen } } }`;

const offer = (dataCenterId: string, extra: Record<string, unknown> = {}) => ({
  dataCenterId,
  gpuModel: "H800",
  gpuCount: 8,
  pricePerGpuHour: "20.00",
  availableFrom: "2027-03-10T00:00:00Z",
  availableUntil: "2027-03-20T00:00:00Z",
  minHours: 1,
  ...extra,
});

let server: TestServer;
let operator: Actor;
let otherOperator: Actor;
let sme: Actor;
let dc: string;
let otherDc: string;

beforeAll(async () => {
  server = await startServer();
  operator = await organization(server, "DATA_CENTER_OPERATOR", "Western Cloud");
  otherOperator = await organization(server, "DATA_CENTER_OPERATOR", "Eastern Cloud");
  sme = await organization(server, "SME", "Mofang Vision", "Shanghai");
  dc = await dataCenter(server, operator, "Ningxia Zhongwei", "Zhongwei DC-1", "Ningxia");
  otherDc = await dataCenter(server, otherOperator, "Gansu Qingyang", "Qingyang DC-1", "Gansu");
});
afterAll(async () => {
  await server?.close();
});

const offerCount = async () => Number((await server.sql(`select count(*)::int as n from offers`))[0].n);
const at = (token: string, now = NOW) => ({ token, now });

describe("publishOffers", () => {
  it("publishes every input in order, ACTIVE", async () => {
    const inputs = [1, 2, 3].map((i) => offer(dc, { gpuCount: i * 8, pricePerGpuHour: `1${i}.50` }));
    const { publishOffers } = await server.ok(PUBLISH, { inputs }, at(operator.token));
    expect(publishOffers.map((o: { gpuCount: number }) => o.gpuCount)).toEqual([8, 16, 24]);
    expect(publishOffers.map((o: { pricePerGpuHour: { fen: string } }) => o.pricePerGpuHour.fen)).toEqual([
      "1150",
      "1250",
      "1350",
    ]);
    expect(new Set(publishOffers.map((o: { status: string }) => o.status))).toEqual(new Set(["ACTIVE"]));
  });

  it("is all or nothing: every bad input is named by index and field, and nothing is written", async () => {
    const before = await offerCount();
    const inputs = [
      offer(dc),
      offer(dc, { pricePerGpuHour: "12.345" }),
      offer(dc),
      offer(otherDc),
      offer(dc, { availableFrom: "2027-03-10T00:30:00Z" }),
      offer(dc, { gpuModel: "Z9000" }),
    ];
    const error = await server.fails("BAD_USER_INPUT", PUBLISH, { inputs }, at(operator.token));
    expect(error.extensions?.field).toBe("inputs[1].pricePerGpuHour");
    expect((error.extensions?.problems as { field: string }[]).map((p) => p.field)).toEqual([
      "inputs[1].pricePerGpuHour",
      "inputs[3].dataCenterId",
      "inputs[4].availableFrom",
      "inputs[5].gpuModel",
    ]);
    expect(await offerCount()).toBe(before);
    // A malformed data center id is named the same way.
    const malformed = await server.fails(
      "BAD_USER_INPUT",
      PUBLISH,
      { inputs: [offer(dc), offer("bid_1")] },
      at(operator.token),
    );
    expect(malformed.extensions?.problems).toEqual([expect.objectContaining({ field: "inputs[1].dataCenterId" })]);
    expect(await offerCount()).toBe(before);
  });

  it("takes 1 to 1000 offers; only operators publish", async () => {
    await server.fails("BAD_USER_INPUT", PUBLISH, { inputs: [] }, at(operator.token));
    const tooMany = await server.fails(
      "BAD_USER_INPUT",
      PUBLISH,
      { inputs: Array.from({ length: 1001 }, () => offer(dc)) },
      at(operator.token),
    );
    expect(tooMany.extensions?.field).toBe("inputs");
    await server.fails("FORBIDDEN", PUBLISH, { inputs: [offer(dc)] }, at(sme.token));
  });

  it("writes 1000 offers with a fixed handful of statements, not one per offer", async () => {
    const before = await offerCount();
    const inputs = Array.from({ length: 1000 }, (_, i) => offer(dc, { pricePerGpuHour: `${20 + (i % 50)}.00` }));
    const queries = server.queryCount();
    const { publishOffers } = await server.ok(PUBLISH, { inputs }, at(operator.token));
    const used = server.queryCount() - queries;
    expect(publishOffers).toHaveLength(1000);
    expect(await offerCount()).toBe(before + 1000);
    expect(used).toBeLessThan(20);
    const [{ n }] = await server.sql(`select count(*)::int as n from audit_log where action = 'PUBLISH_OFFER'`);
    expect(Number(n)).toBeGreaterThanOrEqual(1000);
  });

  it("matches open bids to the new offers at once", async () => {
    const { placeBid } = await server.ok(
      `mutation($input: PlaceBidInput!) { placeBid(input: $input) { status } }`,
      {
        input: {
          gpuModel: "Ascend 910B",
          gpuCount: 4,
          hours: 10,
          earliestStart: "2027-03-10T00:00:00Z",
          latestEnd: "2027-03-20T00:00:00Z",
          maxPricePerGpuHour: "30.00",
        },
      },
      at(sme.token),
    );
    expect(placeBid.status).toBe("OPEN");
    await server.ok(PUBLISH, { inputs: [offer(dc, { gpuModel: "Ascend 910B" })] }, at(operator.token));
    const { myBids } = await server.ok(`{ myBids { edges { node { status } } } }`, {}, at(sme.token));
    expect(myBids.edges.map((e: { node: { status: string } }) => e.node.status)).toContain("MATCHED");
  });
});

describe("the rate limit counts bulk mutations per 100 offers", () => {
  let limited: TestServer;
  let op: Actor;
  let site: string;
  beforeAll(async () => {
    limited = await startServer({ RATE_LIMIT_PER_MINUTE: "12" });
    op = await organization(limited, "DATA_CENTER_OPERATOR", "Limited Cloud");
    site = await dataCenter(limited, op, "Guizhou Gui'an", "Gui'an DC-1", "Guizhou");
  });
  afterAll(async () => {
    await limited?.close();
  });

  it("1000 offers count as 10 mutations, 101 as 2", async () => {
    const now = "2027-03-01T09:00:10Z"; // one minute's window for the whole test
    const inputs = (n: number) => Array.from({ length: n }, () => offer(site));
    await limited.ok(PUBLISH, { inputs: inputs(1000) }, { token: op.token, now });
    await limited.ok(PUBLISH, { inputs: inputs(101) }, { token: op.token, now });
    // 12 spent: one more offer is one mutation too many.
    const refused = await limited.gql(PUBLISH, { inputs: inputs(1) }, { token: op.token, now });
    expect(refused.status).toBe(429);
    expect(refused.errors?.[0].extensions?.code).toBe("RATE_LIMITED");
    // The next minute has room again.
    await limited.ok(PUBLISH, { inputs: inputs(1) }, { token: op.token, now: "2027-03-01T09:01:10Z" });
  });
});

describe("updateOffers", () => {
  let ids: string[];
  beforeAll(async () => {
    const { publishOffers } = await server.ok(
      PUBLISH,
      { inputs: [offer(dc), offer(dc), offer(dc)] },
      at(operator.token),
    );
    ids = publishOffers.map((o: { id: string }) => o.id);
  });

  it("pauses and reprices many offers at once, answering them in the order of the ids", async () => {
    const { updateOffers } = await server.ok(
      UPDATE,
      { ids: [ids[2], ids[0], ids[1]], input: { status: "PAUSED", pricePerGpuHour: "17.00" } },
      at(operator.token),
    );
    expect(updateOffers).toEqual([
      { id: ids[2], status: "PAUSED", pricePerGpuHour: { fen: "1700" } },
      { id: ids[0], status: "PAUSED", pricePerGpuHour: { fen: "1700" } },
      { id: ids[1], status: "PAUSED", pricePerGpuHour: { fen: "1700" } },
    ]);
    const { updateOffers: resumed } = await server.ok(UPDATE, { ids, input: { status: "ACTIVE" } }, at(operator.token));
    expect(resumed.map((o: { status: string }) => o.status)).toEqual(["ACTIVE", "ACTIVE", "ACTIVE"]);
  });

  it("is all or nothing: another operator's offer is named, a withdrawn one is CONFLICT", async () => {
    const { publishOffers } = await server.ok(PUBLISH, { inputs: [offer(otherDc)] }, at(otherOperator.token));
    const error = await server.fails(
      "BAD_USER_INPUT",
      UPDATE,
      { ids: [ids[0], publishOffers[0].id], input: { pricePerGpuHour: "9.00" } },
      at(operator.token),
    );
    expect(error.extensions?.problems).toEqual([expect.objectContaining({ field: "ids[1]" })]);
    const [row] = await server.sql(`select price_per_gpu_hour::text as p from offers where id = $1`, [
      Number(ids[0].split("_")[1]),
    ]);
    expect(row.p).toBe("1700");
    await server.ok(`mutation($id: ID!) { withdrawOffer(id: $id) { status } }`, { id: ids[2] }, at(operator.token));
    await server.fails("CONFLICT", UPDATE, { ids, input: { status: "PAUSED" } }, at(operator.token));
    await server.fails("BAD_USER_INPUT", UPDATE, { ids: [ids[0]], input: {} }, at(operator.token));
  });
});

describe("POST /imports/offers (CSV)", () => {
  const post = async (body: string | Uint8Array, options: { token?: string; dryRun?: boolean; now?: string } = {}) => {
    const headers: Record<string, string> = { "content-type": "text/csv; charset=utf-8", "x-now": options.now ?? NOW };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const response = await fetch(`${server.url}/imports/offers${options.dryRun ? "?dryRun=true" : ""}`, {
      method: "POST",
      headers,
      body: body as BodyInit,
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const HEADER = "dataCenterId,gpuModel,gpuCount,pricePerGpuHour,availableFrom,availableUntil,minHours";
  const row = (price = "18.50", gpuModel = "H800") =>
    `${dc},${gpuModel},16,${price},2027-03-10T00:00:00Z,2027-03-20T00:00:00Z,4`;

  it("parses quoted fields with commas, doubled quotes and line breaks", () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi"""\n"two\nlines",z\n\n')).toEqual([
      ["a", "b"],
      ["x, y", 'say "hi"'],
      ["two\nlines", "z"],
    ]);
  });

  it("a dry run checks every row and writes nothing", async () => {
    const before = await offerCount();
    const { status, body } = await post(`\ufeff${HEADER}\n${row()}\n${row("19.00", '"Ascend 910B"')}\n`, {
      token: operator.token,
      dryRun: true,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      dryRun: true,
      valid: true,
      published: 0,
      rows: [
        { row: 2, status: "VALID", offerId: null, errors: [] },
        { row: 3, status: "VALID", offerId: null, errors: [] },
      ],
    });
    expect(await offerCount()).toBe(before);
  });

  it("publishes a good file and answers each row's offer", async () => {
    const before = await offerCount();
    const serials = Array.from({ length: 16 }, (_, i) => `SN-${1000 + i}`).join(";");
    const file =
      `${HEADER},hardware.gpuCount,hardware.serialNumbers,hardware.attestationReference\n` +
      `${row()},16,${serials},\n${row("19.00")},16,,CAICT-2027-00123\n${row("21.00")},,,\n`;
    const { status, body } = await post(file, { token: operator.token });
    expect(status).toBe(200);
    expect(body.published).toBe(3);
    expect(body.rows.map((r: { status: string }) => r.status)).toEqual(["PUBLISHED", "PUBLISHED", "PUBLISHED"]);
    expect(await offerCount()).toBe(before + 3);
    const ids = body.rows.map((r: { offerId: string }) => r.offerId);
    const { nodes } = await server.ok(
      `query($ids: [ID!]!) { nodes(ids: $ids) { ... on Offer { pricePerGpuHour { amount } minHours hardwareAttested
        hardware { gpuCount serialNumberCount attestationReference } } } }`,
      { ids },
    );
    expect(nodes).toEqual([
      {
        pricePerGpuHour: { amount: "18.50" },
        minHours: 4,
        hardwareAttested: true,
        hardware: { gpuCount: 16, serialNumberCount: 16, attestationReference: null },
      },
      {
        pricePerGpuHour: { amount: "19.00" },
        minHours: 4,
        hardwareAttested: true,
        hardware: { gpuCount: 16, serialNumberCount: 0, attestationReference: "CAICT-2027-00123" },
      },
      { pricePerGpuHour: { amount: "21.00" }, minHours: 4, hardwareAttested: false, hardware: null },
    ]);
  });

  it("a file with bad rows is refused as a whole, with each bad row's fields", async () => {
    const before = await offerCount();
    const file = `${HEADER}\n${row()}\n${row("free")}\n${dc},H800,many,18.00,2027-03-10T00:00:00Z,soon,1\n${otherDc.replace("dc_", "dc_")},H800,8,18.00,2027-03-10T00:00:00Z,2027-03-20T00:00:00Z,1\n${row()},extra\n`;
    const { status, body } = await post(file, { token: operator.token });
    expect(status).toBe(422);
    expect(body.valid).toBe(false);
    expect(body.published).toBe(0);
    const byRow = Object.fromEntries(
      body.rows.map((r: { row: number; status: string; errors: { field: string }[] }) => [
        r.row,
        [r.status, r.errors.map((e) => e.field)],
      ]),
    );
    expect(byRow).toEqual({
      2: ["VALID", []],
      3: ["INVALID", ["pricePerGpuHour"]],
      4: ["INVALID", ["gpuCount", "availableUntil"]],
      5: ["INVALID", ["dataCenterId"]],
      6: ["INVALID", ["row"]],
    });
    expect(await offerCount()).toBe(before);
  });

  it("refuses what it cannot read, a missing key, and keys that are not an operator's", async () => {
    expect((await post(`${HEADER}\n${row()}\n`)).status).toBe(401);
    expect((await post(`${HEADER}\n${row()}\n`, { token: sme.token })).status).toBe(403);
    const unknown = await post(`${HEADER},colour\n${row()},red\n`, { token: operator.token });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].extensions.code).toBe("BAD_USER_INPUT");
    expect((await post(`dataCenterId,gpuModel\n${dc},H800\n`, { token: operator.token })).status).toBe(400);
    expect((await post(`${HEADER}\n`, { token: operator.token })).status).toBe(400);
    expect((await post(new Uint8Array([0x64, 0x63, 0xff, 0xfe, 0x0a]), { token: operator.token })).status).toBe(400);
    expect((await post(`${HEADER}\n"${row()}\n`, { token: operator.token })).status).toBe(400);
  });
});

describe("hardware attestation", () => {
  const QUOTE = `query($r: ID!, $v: ID) { quote(reservationId: $r, voucherId: $v) { subsidy { fen } } }`;
  let finance: Actor;
  let programId: string;
  let voucherId: string;
  let offerId: string;

  beforeAll(async () => {
    finance = await organization(server, "CITY_FINANCE", "Shanghai Finance", "Shanghai");
    const { createSubsidyProgram } = await server.ok(
      `mutation($input: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $input) { id requiresHardwareAttestation } }`,
      {
        input: {
          name: "Shanghai Attested Compute",
          budget: "1000000.00",
          rateBasisPoints: 3000,
          requiresHardwareAttestation: true,
          validFrom: "2027-01-01T00:00:00Z",
          validUntil: "2027-12-31T00:00:00Z",
        },
      },
      at(finance.token),
    );
    expect(createSubsidyProgram.requiresHardwareAttestation).toBe(true);
    programId = createSubsidyProgram.id;
    voucherId = await grantVoucher(server, sme, finance, programId, "10000.00");
    // The only RTX 4090 offer, so that the bid below lands on it.
    const { publishOffers } = await server.ok(
      PUBLISH,
      { inputs: [offer(dc, { gpuModel: "RTX 4090", gpuCount: 4 })] },
      at(operator.token),
    );
    offerId = publishOffers[0].id;
  });

  it("an unattested offer is NOT_ELIGIBLE (UNATTESTED_HARDWARE); declared for all its GPUs, it is subsidized", async () => {
    const { placeBid } = await server.ok(
      `mutation($input: PlaceBidInput!) { placeBid(input: $input) { status reservation { id offer { id } } } }`,
      {
        input: {
          gpuModel: "RTX 4090",
          gpuCount: 2,
          hours: 10,
          earliestStart: "2027-03-10T00:00:00Z",
          latestEnd: "2027-03-20T00:00:00Z",
          maxPricePerGpuHour: "50.00",
        },
      },
      at(sme.token),
    );
    expect(placeBid.reservation.offer.id).toBe(offerId);
    const reservationId = placeBid.reservation.id;
    const refused = await server.fails("NOT_ELIGIBLE", QUOTE, { r: reservationId, v: voucherId }, at(sme.token));
    expect(refused.extensions?.reason).toBe("UNATTESTED_HARDWARE");

    const DECLARE = `mutation($id: ID!, $input: HardwareAttestationInput!) { declareOfferHardware(id: $id, input: $input) {
      hardwareAttested hardware { gpuCount serialNumbers serialNumberCount } } }`;
    // Covering 2 of its 4 GPUs is not enough.
    const partial = await server.ok(
      DECLARE,
      { id: offerId, input: { gpuCount: 2, serialNumbers: ["A1", "A2"] } },
      at(operator.token),
    );
    expect(partial.declareOfferHardware).toMatchObject({ hardwareAttested: false, hardware: { gpuCount: 2 } });
    expect(
      (await server.fails("NOT_ELIGIBLE", QUOTE, { r: reservationId, v: voucherId }, at(sme.token))).extensions?.reason,
    ).toBe("UNATTESTED_HARDWARE");
    // Bad declarations name the field.
    const repeated = await server.fails(
      "BAD_USER_INPUT",
      DECLARE,
      { id: offerId, input: { gpuCount: 2, serialNumbers: ["A1", "A1"] } },
      at(operator.token),
    );
    expect(repeated.extensions?.field).toBe("input.serialNumbers");
    await server.fails("BAD_USER_INPUT", DECLARE, { id: offerId, input: { gpuCount: 4 } }, at(operator.token));
    await server.fails(
      "NOT_FOUND",
      DECLARE,
      { id: offerId, input: { gpuCount: 4, attestationReference: "X" } },
      at(otherOperator.token),
    );

    const full = await server.ok(
      DECLARE,
      { id: offerId, input: { gpuCount: 4, serialNumbers: ["B1", "B2", "B3", "B4"] } },
      at(operator.token),
    );
    expect(full.declareOfferHardware).toEqual({
      hardwareAttested: true,
      hardware: { gpuCount: 4, serialNumbers: ["B1", "B2", "B3", "B4"], serialNumberCount: 4 },
    });
    // rent 2 × 10 × 20.00 = 400.00; 30 % = 120.00
    const { quote } = await server.ok(QUOTE, { r: reservationId, v: voucherId }, at(sme.token));
    expect(quote.subsidy.fen).toBe("12000");
    // Anyone sees that it is attested; only its operator, the admin and finance teams see the serial numbers.
    const HARDWARE = `query($id: ID!) { offer(id: $id) { hardwareAttested hardware { serialNumbers serialNumberCount } } }`;
    expect((await server.ok(HARDWARE, { id: offerId })).offer).toEqual({
      hardwareAttested: true,
      hardware: { serialNumbers: null, serialNumberCount: 4 },
    });
    expect((await server.ok(HARDWARE, { id: offerId }, at(finance.token))).offer.hardware.serialNumbers).toHaveLength(
      4,
    );
    expect(
      (await server.ok(HARDWARE, { id: offerId }, at(otherOperator.token))).offer.hardware.serialNumbers,
    ).toBeNull();
  });

  it("the audit trail records who declared what", async () => {
    const { auditLog } = await server.ok(
      `{ auditLog(first: 20, action: DECLARE_OFFER_HARDWARE) { edges { node { role organization { id } targetId detail } } } }`,
      {},
      { token: ADMIN },
    );
    const mine = auditLog.edges
      .map((e: { node: any }) => e.node)
      .filter((n: { targetId: string }) => n.targetId === offerId);
    expect(mine).toHaveLength(2);
    expect(mine[0]).toMatchObject({ role: "DATA_CENTER", organization: { id: operator.id } });
    expect(mine[0].detail).toMatch(/^4 GPUs: 4 serials sha256:[0-9a-f]{16} B1,B2,B3,B4$/);
    expect(mine[1].detail).toMatch(/^2 GPUs: 2 serials sha256:[0-9a-f]{16} A1,A2$/);
  });
});
