// The audit trail (who did what, to which object, in which request), and secrets at rest and in
// the logs: tokens are stored only hashed, and neither tokens nor Stripe secrets reach a log line.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditDetail, MAX_DETAIL } from "../src/audit/detail.js";
import { ADMIN, freshPostgresDatabase, startServer, type CallOptions, type TestServer } from "./support/harness.js";
import { organization, type Actor } from "./support/fixtures.js";
import { CHECKOUT, market, NOW, reserve, type Market } from "./support/market.js";
import { FakeStripe } from "./support/fake-stripe.js";
import { startProcess, type ServerProcess } from "./support/processes.js";
import { globalId, keyOf } from "./support/ids.js";

const AUDIT = `query($first: Int, $after: String, $action: AuditAction, $organizationId: ID) {
  auditLog(first: $first, after: $after, action: $action, organizationId: $organizationId) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id action role organization { id name } apiKeyId targetId detail programId city requestId createdAt } }
  }
}`;

const PLACE_BID = `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id status reservation { id } } }`;
const BID_INPUT = {
  gpuModel: "H800",
  gpuCount: 1,
  hours: 4,
  earliestStart: "2027-03-10T00:00:00Z",
  latestEnd: "2027-03-20T00:00:00Z",
  maxPricePerGpuHour: "50.00",
};

interface Entry {
  id: string;
  action: string;
  role: string;
  organization: { id: string; name: string } | null;
  apiKeyId: string | null;
  targetId: string | null;
  detail: string | null;
  programId: string | null;
  city: string | null;
  requestId: string | null;
  createdAt: string;
}

describe("audit details (pure)", () => {
  it("masks anything shaped like a credential and stays short", () => {
    const detail = auditDetail(
      "key gvm_abcdefghijklmnop, Bearer xyz123 then sk_test_51Habc, whsec_abcd1234 and pi_123_secret_456 done",
    );
    expect(detail).toBe("key [redacted], [redacted] then [redacted], [redacted] and [redacted] done");
    expect(auditDetail("a\n  b\t c")).toBe("a b c");
    const long = auditDetail("x".repeat(500));
    expect(long).toHaveLength(MAX_DETAIL);
    expect(long.endsWith("…")).toBe(true);
  });
});

describe("audit trail", () => {
  let server: TestServer;
  let m: Market;
  let hangzhou: Actor;
  let hangzhouProgramId: string;
  const keyIdOf = new Map<string, string>();

  const as = (actor: { token: string } | string, requestId?: string): CallOptions => ({
    token: typeof actor === "string" ? actor : actor.token,
    now: NOW,
    headers: requestId ? { "x-request-id": requestId } : {},
  });

  async function entries(
    token: string,
    variables: Record<string, unknown> = {},
  ): Promise<{ totalCount: number; nodes: Entry[] }> {
    const { auditLog } = await server.ok(AUDIT, { first: 100, ...variables }, { token, now: NOW });
    return { totalCount: auditLog.totalCount, nodes: auditLog.edges.map((e: { node: Entry }) => e.node) };
  }

  async function auditCount(where = "true", params: unknown[] = []): Promise<number> {
    const [{ n }] = await server.sql(`select count(*)::int as n from audit_log where ${where}`, params);
    return n;
  }

  beforeAll(async () => {
    server = await startServer();
    m = await market(server);
    hangzhou = await organization(server, "CITY_FINANCE", "Hangzhou Finance", "Hangzhou");
    const { createSubsidyProgram } = await server.ok(
      `mutation($input: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $input) { id } }`,
      {
        input: {
          name: "Hangzhou Compute",
          budget: "5000.00",
          rateBasisPoints: 2000,
          validFrom: "2027-01-01T00:00:00Z",
          validUntil: "2027-12-31T00:00:00Z",
        },
      },
      { token: hangzhou.token, now: NOW },
    );
    hangzhouProgramId = createSubsidyProgram.id;
    for (const actor of [m.operator, m.sme, m.otherSme, m.finance, hangzhou]) {
      const [row] = await server.sql(`select id::text from api_keys where organization_id = $1`, [keyOf(actor.id)]);
      keyIdOf.set(actor.id, globalId("ApiKey", row.id));
    }
  });
  afterAll(() => server?.close());

  it("records every audited action with who, what, on which object, and the request id", async () => {
    // The admin's actions.
    const { createOrganization } = await server.ok(
      `mutation { createOrganization(input: { name: "Audit Extra SME", kind: SME, city: "Shanghai" }) { id } }`,
      {},
      as(ADMIN, "req-create-org"),
    );
    const { createApiKey } = await server.ok(
      `mutation($id: ID!) { createApiKey(organizationId: $id) { id token } }`,
      { id: createOrganization.id },
      as(ADMIN, "req-create-key"),
    );
    await server.ok(
      `mutation($a: ID!, $b: ID!) { declareAffiliation(organizationId: $a, affiliatedId: $b) }`,
      { a: createOrganization.id, b: m.otherSme.id },
      as(ADMIN, "req-affiliate"),
    );
    const { createDataCenter } = await server.ok(
      `mutation($input: CreateDataCenterInput!) { createDataCenter(input: $input) { id } }`,
      { input: { name: "Qingyang DC-7", hub: "Gansu Qingyang", province: "Gansu", operatorId: m.operator.id } },
      as(ADMIN, "req-create-dc"),
    );

    // The operator's.
    const { publishOffer } = await server.ok(
      `mutation($input: PublishOfferInput!) { publishOffer(input: $input) { id } }`,
      {
        input: {
          dataCenterId: createDataCenter.id,
          gpuModel: "H800",
          gpuCount: 4,
          pricePerGpuHour: "25.00",
          minHours: 1,
          availableFrom: "2027-04-01T00:00:00Z",
          availableUntil: "2027-04-02T00:00:00Z",
        },
      },
      as(m.operator, "req-publish"),
    );
    await server.ok(
      `mutation($id: ID!) { updateOffer(id: $id, input: { pricePerGpuHour: "18.00" }) { id } }`,
      { id: publishOffer.id },
      as(m.operator, "req-update"),
    );
    await server.ok(
      `mutation($id: ID!) { withdrawOffer(id: $id) { id } }`,
      { id: publishOffer.id },
      as(m.operator, "req-withdraw"),
    );

    // The SME's.
    const first = (await server.ok(PLACE_BID, { input: BID_INPUT }, as(m.sme, "req-bid-1"))).placeBid;
    await server.ok(
      `mutation($id: ID!) { cancelBid(id: $id) { status } }`,
      { id: first.id },
      as(m.sme, "req-cancel-bid"),
    );
    const second = (await server.ok(PLACE_BID, { input: BID_INPUT }, as(m.sme, "req-bid-2"))).placeBid;
    const { checkout } = await server.ok(
      CHECKOUT,
      { input: { reservationId: second.reservation.id, voucherId: m.voucherId, idempotencyKey: "audit-1" } },
      as(m.sme, "req-checkout"),
    );
    await server.ok(
      `mutation($id: ID!) { cancelOrder(id: $id) { status } }`,
      { id: checkout.id },
      as(m.sme, "req-cancel-order"),
    );

    // The finance team's.
    await server.ok(
      `mutation($id: ID!) { settleCityStatement(programId: $id, month: "2027-02") { status } }`,
      { id: m.programId },
      as(m.finance, "req-settle"),
    );

    const { nodes } = await entries(ADMIN);
    const byRequest = new Map(nodes.filter((e) => e.requestId?.startsWith("req-")).map((e) => [e.requestId!, e]));
    const admin = { role: "ADMIN", organization: null, apiKeyId: null, programId: null, city: null };
    const operator = {
      role: "DATA_CENTER",
      organization: { id: m.operator.id, name: "Western Cloud" },
      apiKeyId: keyIdOf.get(m.operator.id),
      programId: null,
      city: null,
    };
    const sme = { role: "SME", organization: { id: m.sme.id, name: "Mofang Vision" }, apiKeyId: keyIdOf.get(m.sme.id) };
    const onProgram = { programId: m.programId, city: "Shanghai" };

    expect(byRequest.get("req-create-org")).toMatchObject({
      ...admin,
      action: "CREATE_ORGANIZATION",
      targetId: createOrganization.id,
      detail: "SME Audit Extra SME",
    });
    expect(byRequest.get("req-create-key")).toMatchObject({
      ...admin,
      action: "CREATE_API_KEY",
      targetId: createApiKey.id,
    });
    expect(byRequest.get("req-create-key")!.detail).not.toContain(createApiKey.token);
    expect(byRequest.get("req-affiliate")).toMatchObject({
      ...admin,
      action: "DECLARE_AFFILIATION",
      targetId: createOrganization.id,
    });
    expect(byRequest.get("req-affiliate")!.detail).toContain(m.otherSme.id);
    expect(byRequest.get("req-create-dc")).toMatchObject({
      ...admin,
      action: "CREATE_DATA_CENTER",
      targetId: createDataCenter.id,
    });
    expect(byRequest.get("req-publish")).toMatchObject({
      ...operator,
      action: "PUBLISH_OFFER",
      targetId: publishOffer.id,
    });
    expect(byRequest.get("req-publish")!.detail).toContain("25.00");
    expect(byRequest.get("req-update")).toMatchObject({
      ...operator,
      action: "UPDATE_OFFER",
      targetId: publishOffer.id,
    });
    expect(byRequest.get("req-update")!.detail).toContain("18.00");
    expect(byRequest.get("req-withdraw")).toMatchObject({
      ...operator,
      action: "WITHDRAW_OFFER",
      targetId: publishOffer.id,
    });
    expect(byRequest.get("req-withdraw")!.detail).toContain("WITHDRAWN");
    expect(byRequest.get("req-bid-1")).toMatchObject({
      ...sme,
      action: "PLACE_BID",
      targetId: first.id,
      programId: null,
    });
    expect(byRequest.get("req-bid-1")!.detail).toContain("MATCHED");
    expect(byRequest.get("req-cancel-bid")).toMatchObject({
      ...sme,
      action: "CANCEL_BID",
      targetId: first.id,
      programId: null,
    });
    expect(byRequest.get("req-bid-2")).toMatchObject({ ...sme, action: "PLACE_BID", targetId: second.id });
    expect(byRequest.get("req-checkout")).toMatchObject({
      ...sme,
      ...onProgram,
      action: "CHECKOUT",
      targetId: checkout.id,
    });
    expect(byRequest.get("req-checkout")!.detail).toContain(`voucher ${m.voucherId}`);
    expect(byRequest.get("req-cancel-order")).toMatchObject({
      ...sme,
      ...onProgram,
      action: "CANCEL_ORDER",
      targetId: checkout.id,
    });
    expect(byRequest.get("req-cancel-order")!.detail).toContain("REFUNDED");
    expect(byRequest.get("req-settle")).toMatchObject({
      ...onProgram,
      role: "CITY_FINANCE",
      organization: { id: m.finance.id, name: "Shanghai Finance" },
      apiKeyId: keyIdOf.get(m.finance.id),
      action: "SETTLE_CITY_STATEMENT",
      targetId: m.programId,
    });
    expect(byRequest.size).toBe(13);

    // The market's own set-up went through the same mutations.
    const programs = (await entries(ADMIN, { action: "CREATE_SUBSIDY_PROGRAM" })).nodes;
    expect(programs.map((e) => [e.targetId, e.programId, e.city]).sort()).toEqual(
      [
        [m.programId, m.programId, "Shanghai"],
        [hangzhouProgramId, hangzhouProgramId, "Hangzhou"],
      ].sort(),
    );
    const decisions = (await entries(ADMIN, { action: "DECIDE_VOUCHER_APPLICATION" })).nodes;
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ role: "CITY_FINANCE", programId: m.programId, city: "Shanghai" });
    expect(decisions[0].detail).toContain(`voucher ${m.voucherId}`);
    // A request without x-request-id still gets one (the id the server answers with).
    expect(decisions[0].requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("echoes the request id it records", async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${m.sme.token}`, "x-now": NOW },
      body: JSON.stringify({
        query: `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id } }`,
        variables: { input: BID_INPUT },
      }),
    });
    const body = await response.json();
    const requestId = response.headers.get("x-request-id");
    expect(requestId).toBeTruthy();
    const [row] = await server.sql(
      `select request_id, target_id from audit_log where action = 'PLACE_BID' order by id desc limit 1`,
    );
    expect(row).toEqual({ request_id: requestId, target_id: String(keyOf(body.data.placeBid.id)) });
  });

  it("lists newest first, pages with a cursor and filters by action and organization", async () => {
    const all = await entries(ADMIN);
    expect(all.totalCount).toBe(await auditCount());
    const ids = all.nodes.map((e) => keyOf(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const page1 = (await server.ok(AUDIT, { first: 3 }, { token: ADMIN })).auditLog;
    const page2 = (await server.ok(AUDIT, { first: 3, after: page1.pageInfo.endCursor }, { token: ADMIN })).auditLog;
    expect(page1.pageInfo.hasNextPage).toBe(true);
    expect([...page1.edges, ...page2.edges].map((e: { node: Entry }) => keyOf(e.node.id))).toEqual(ids.slice(0, 6));
    expect(page2.totalCount).toBe(all.totalCount);

    const bids = await entries(ADMIN, { action: "PLACE_BID" });
    expect(bids.totalCount).toBe(await auditCount(`action = 'PLACE_BID'`));
    expect(bids.nodes.length).toBeGreaterThan(0);
    expect(new Set(bids.nodes.map((e) => e.action))).toEqual(new Set(["PLACE_BID"]));

    const operator = await entries(ADMIN, { organizationId: m.operator.id });
    expect(operator.totalCount).toBe(await auditCount(`organization_id = $1`, [keyOf(m.operator.id)]));
    expect(new Set(operator.nodes.map((e) => e.organization?.id))).toEqual(new Set([m.operator.id]));
    const operatorPublished = await entries(ADMIN, { organizationId: m.operator.id, action: "PUBLISH_OFFER" });
    expect(operatorPublished.totalCount).toBe(2);

    await server.fails("BAD_USER_INPUT", AUDIT, { first: 101 }, { token: ADMIN });
    await server.fails("BAD_USER_INPUT", AUDIT, { after: "not-a-cursor" }, { token: ADMIN });
    await server.fails("BAD_USER_INPUT", AUDIT, { organizationId: "abc" }, { token: ADMIN });
    const unknownAction = await server.gql(AUDIT, { action: "DROP_TABLES" }, { token: ADMIN });
    expect(unknownAction.errors?.[0].extensions?.code).toBe("BAD_USER_INPUT");
  });

  it("a finance team sees only the entries of its own city's programs; other roles are FORBIDDEN", async () => {
    const shanghai = await entries(m.finance.token);
    expect(shanghai.totalCount).toBe(await auditCount(`city = 'Shanghai'`));
    expect(shanghai.nodes.length).toBeGreaterThanOrEqual(5);
    expect(new Set(shanghai.nodes.map((e) => e.city))).toEqual(new Set(["Shanghai"]));
    expect(new Set(shanghai.nodes.map((e) => e.programId))).toEqual(new Set([m.programId]));
    // The SME's checkout on the city's program is there; its bids are not.
    expect(shanghai.nodes.map((e) => e.action)).toEqual(
      expect.arrayContaining([
        "CREATE_SUBSIDY_PROGRAM",
        "DECIDE_VOUCHER_APPLICATION",
        "CHECKOUT",
        "CANCEL_ORDER",
        "SETTLE_CITY_STATEMENT",
      ]),
    );
    expect(shanghai.nodes.some((e) => e.action === "PLACE_BID")).toBe(false);
    expect((await entries(m.finance.token, { organizationId: m.operator.id })).totalCount).toBe(0);

    const other = await entries(hangzhou.token);
    expect(other.nodes.map((e) => [e.action, e.programId])).toEqual([["CREATE_SUBSIDY_PROGRAM", hangzhouProgramId]]);

    await server.fails("FORBIDDEN", AUDIT, {}, { token: m.sme.token });
    await server.fails("FORBIDDEN", AUDIT, {}, { token: m.operator.token });
    await server.fails("UNAUTHENTICATED", AUDIT, {});
  });

  it("a refused action leaves no entry", async () => {
    const before = await auditCount();
    const reservationId = await reserve(server, m.sme, 1, 2);
    expect(await auditCount()).toBe(before + 1); // the bid

    const refused: [string, string, Record<string, unknown>, CallOptions][] = [
      ["BAD_USER_INPUT", `mutation { createOrganization(input: { name: "  ", kind: SME }) { id } }`, {}, as(ADMIN)],
      ["NOT_FOUND", `mutation { createApiKey(organizationId: "org_999999") { token } }`, {}, as(ADMIN)],
      [
        "BAD_USER_INPUT",
        `mutation($id: ID!) { declareAffiliation(organizationId: $id, affiliatedId: $id) }`,
        { id: m.sme.id },
        as(ADMIN),
      ],
      [
        "BAD_USER_INPUT",
        `mutation($input: CreateDataCenterInput!) { createDataCenter(input: $input) { id } }`,
        { input: { name: "X", hub: "Atlantis", province: "X", operatorId: m.operator.id } },
        as(ADMIN),
      ],
      ["FORBIDDEN", `mutation { createOrganization(input: { name: "Sneaky", kind: SME }) { id } }`, {}, as(m.sme)],
      [
        "BAD_USER_INPUT",
        `mutation($input: PublishOfferInput!) { publishOffer(input: $input) { id } }`,
        {
          input: {
            dataCenterId: m.dataCenterId,
            gpuModel: "H800",
            gpuCount: 0,
            pricePerGpuHour: "20.00",
            minHours: 1,
            availableFrom: "2027-04-01T00:00:00Z",
            availableUntil: "2027-04-02T00:00:00Z",
          },
        },
        as(m.operator),
      ],
      [
        "BAD_USER_INPUT",
        `mutation($id: ID!) { updateOffer(id: $id, input: { gpuCount: 0 }) { id } }`,
        { id: m.offerId },
        as(m.operator),
      ],
      ["NOT_FOUND", `mutation { withdrawOffer(id: "offer_999999") { id } }`, {}, as(m.operator)],
      ["BAD_USER_INPUT", PLACE_BID, { input: { ...BID_INPUT, hours: 0 } }, as(m.sme)],
      ["CONFLICT", `mutation($id: ID!) { withdrawOffer(id: $id) { id } }`, { id: m.offerId }, as(m.operator)],
      [
        "NOT_FOUND",
        `mutation($id: ID!) { checkout(input: { reservationId: $id, idempotencyKey: "x-1" }) { id } }`,
        { id: reservationId },
        as(m.otherSme),
      ],
      [
        "BAD_USER_INPUT",
        `mutation { createSubsidyProgram(input: { name: "Bad", budget: "-1", rateBasisPoints: 3000, validFrom: "2027-01-01T00:00:00Z", validUntil: "2027-12-31T00:00:00Z" }) { id } }`,
        {},
        as(m.finance),
      ],
      [
        "CONFLICT",
        `mutation($id: ID!) { settleCityStatement(programId: $id, month: "2027-02") { status } }`,
        { id: m.programId },
        as(m.finance),
      ],
      [
        "NOT_FOUND",
        `mutation($id: ID!) { settleCityStatement(programId: $id, month: "2027-02") { status } }`,
        { id: hangzhouProgramId },
        as(m.finance),
      ],
    ];
    for (const [code, query, variables, options] of refused) {
      const result = await server.gql(query, variables, options);
      expect([query, result.errors?.map((e) => e.extensions?.code)]).toEqual([query, [code]]);
    }
    // Refused inside the transaction, after locks and reads: the voucher belongs to another SME.
    const { placeBid } = await server.ok(PLACE_BID, { input: BID_INPUT }, as(m.otherSme));
    const foreignVoucher = await server.gql(
      CHECKOUT,
      { input: { reservationId: placeBid.reservation.id, voucherId: m.voucherId, idempotencyKey: "x-3" } },
      as(m.otherSme),
    );
    expect(foreignVoucher.errors?.[0].extensions?.code).toMatch(/NOT_ELIGIBLE|NOT_FOUND/);
    expect(await auditCount()).toBe(before + 2); // the two bids, nothing else
    expect(await auditCount(`action = 'CHECKOUT' and target_id is null`)).toBe(0);
  });

  it("concurrent attempts at one action leave exactly one entry", async () => {
    const { applyForVoucher } = await server.ok(
      `mutation($input: ApplyForVoucherInput!) { applyForVoucher(input: $input) { id } }`,
      { input: { programId: m.programId, requestedAmount: "100.00", purpose: "Fine-tuning" } },
      as(m.otherSme),
    );
    const decisions = await Promise.all(
      Array.from({ length: 6 }, () =>
        server.gql(
          `mutation($id: ID!) { decideVoucherApplication(id: $id, approve: true) { status } }`,
          { id: applyForVoucher.id },
          as(m.finance),
        ),
      ),
    );
    expect(decisions.filter((d) => !d.errors).length).toBe(1);
    expect(decisions.filter((d) => d.errors).map((d) => d.errors![0].extensions?.code)).toEqual(
      Array(5).fill("CONFLICT"),
    );
    expect(
      await auditCount(`action = 'DECIDE_VOUCHER_APPLICATION' and target_id = $1`, [String(keyOf(applyForVoucher.id))]),
    ).toBe(1);

    // The same checkout sent several times with one key is one order and one entry.
    const reservationId = await reserve(server, m.sme, 1, 2);
    const checkouts = await Promise.all(
      Array.from({ length: 5 }, () =>
        server.gql(
          CHECKOUT,
          { input: { reservationId, voucherId: m.voucherId, idempotencyKey: "same-key" } },
          as(m.sme),
        ),
      ),
    );
    const orderIds = new Set(checkouts.map((c) => c.data?.checkout?.id));
    expect(orderIds.size).toBe(1);
    const [orderId] = [...orderIds];
    expect(orderId).toBeTruthy();
    expect(await auditCount(`action = 'CHECKOUT' and target_id = $1`, [String(keyOf(orderId))])).toBe(1);

    // Other keys on the same reservation: refused, and no entry.
    const others = await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        server.gql(
          CHECKOUT,
          { input: { reservationId, voucherId: m.voucherId, idempotencyKey: `other-${i}` } },
          as(m.sme),
        ),
      ),
    );
    expect(others.map((c) => c.errors?.[0].extensions?.code)).toEqual(["CONFLICT", "CONFLICT", "CONFLICT"]);
    expect(await auditCount(`action = 'CHECKOUT' and request_id is not null`)).toBe(
      await auditCount(`action = 'CHECKOUT'`),
    );
    const [{ n: orders }] = await server.sql(`select count(*)::int as n from orders`);
    expect(await auditCount(`action = 'CHECKOUT'`)).toBe(orders);
  });

  it("keeps no plaintext token anywhere in the database", async () => {
    const extra = await organization(server, "SME", "Dump Check Ltd");
    const tokens = [
      ADMIN,
      m.sme.token,
      m.otherSme.token,
      m.operator.token,
      m.finance.token,
      hangzhou.token,
      extra.token,
    ];
    const tables = await server.sql<{ schema: string; name: string }>(
      `select table_schema as schema, table_name as name from information_schema.tables
       where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
    );
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(["api_keys", "audit_log", "organizations", "orders"]),
    );
    let dump = "";
    for (const table of tables) {
      // The whole row as text: every column of every table.
      const rows = await server.sql<{ row: string }>(`select t::text as row from "${table.schema}"."${table.name}" t`);
      dump += rows.map((r) => r.row).join("\n") + "\n";
    }
    expect(dump).toContain("Dump Check Ltd"); // the dump does hold the data
    for (const token of tokens) expect(dump.includes(token), `a token is stored in plain text`).toBe(false);
    // What is stored is the hash, not a reversible form of the token.
    expect(dump.includes(Buffer.from(extra.token).toString("base64"))).toBe(false);
  });
});

describe("logs", () => {
  let fake: FakeStripe;
  let server: ServerProcess;
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>> | undefined;
  // The fixtures act as the harness's admin.
  const adminToken = ADMIN;
  const stripeKey = `sk_test_${randomBytes(18).toString("hex")}`;
  const webhookSecret = `whsec_${randomBytes(18).toString("hex")}`;

  beforeAll(async () => {
    fake = await FakeStripe.start({ webhookSecret });
    database = process.env.DATABASE_URL ? await freshPostgresDatabase() : undefined;
    server = await startProcess({
      ...(database ? { DATABASE_URL: database.url } : { DATA_DIR: "memory://" }),
      ADMIN_TOKEN: adminToken,
      SEED: "none",
      ENABLE_TEST_CLOCK: "1",
      RATE_LIMIT_PER_MINUTE: "0",
      QUERY_POINTS_PER_MINUTE: "0",
      MAINTENANCE_INTERVAL_MS: "0",
      LOG_LEVEL: "debug",
      STRIPE_SECRET_KEY: stripeKey,
      STRIPE_WEBHOOK_SECRET: webhookSecret,
      STRIPE_API_BASE: fake.url,
    });
    fake.webhookUrl = `${server.url}/webhooks/stripe`;
  });
  afterAll(async () => {
    await server?.stop();
    await fake?.close();
    await database?.drop();
  });

  it("are JSON lines with a request id, and never carry a token or a Stripe secret", async () => {
    const api = server as unknown as TestServer;
    const secrets: string[] = [adminToken, stripeKey, webhookSecret];
    const m = await market(api);
    secrets.push(m.sme.token, m.otherSme.token, m.operator.token, m.finance.token);

    // Requests of every kind, with tokens in the header: reads, mutations, errors, a Stripe checkout.
    await api.ok(`{ me { role } }`, {}, { token: m.sme.token, headers: { "x-request-id": "log-check-me" } });
    const reservationId = await reserve(api, m.sme, 1, 2);
    const { checkout } = await api.ok(
      CHECKOUT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey: "log-1" } },
      { token: m.sme.token, now: NOW },
    );
    expect(checkout.payment.provider).toBe("stripe");
    secrets.push(checkout.payment.clientSecret);
    const delivered = await fake.succeed(checkout.payment.providerRef);
    expect(delivered.delivery?.status).toBe(200);
    const unknownToken = `gvm_${randomBytes(32).toString("base64url")}`;
    secrets.push(unknownToken);
    expect((await api.gql(`{ me { role } }`, {}, { token: unknownToken })).status).toBe(401);
    await api.gql(`{ me { nope } }`, {}, { token: m.operator.token });
    await api.gql(
      `mutation { createOrganization(input: { name: "x", kind: SME }) { id } }`,
      {},
      { token: m.finance.token },
    );
    const key = await api.ok(
      `mutation($id: ID!) { createApiKey(organizationId: $id) { token } }`,
      { id: m.sme.id },
      { token: adminToken },
    );
    secrets.push(key.createApiKey.token);
    const forged = await fetch(`${server.url}/webhooks/stripe`, {
      method: "POST",
      headers: { "content-type": "application/json", "stripe-signature": `t=1,v1=${webhookSecret}` },
      body: JSON.stringify({
        id: "evt_forged",
        type: "payment_intent.succeeded",
        data: { object: { id: checkout.payment.providerRef } },
      }),
    });
    expect(forged.status).toBe(400);

    await server.stop();
    expect(server.child.exitCode).toBe(0);
    const output = server.output();
    const lines = output.split("\n").filter((line) => line.trim() !== "");
    const parsed: Record<string, unknown>[] = lines.map((line) => JSON.parse(line));
    const requests = parsed.filter((l) => l.msg === "request");
    expect(requests.length).toBeGreaterThan(15);
    for (const line of requests) expect(line.requestId).toEqual(expect.any(String));
    expect(requests.find((l) => l.requestId === "log-check-me")).toMatchObject({
      role: "SME",
      organizationId: keyOf(m.sme.id),
    });
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(10);
      expect(output.includes(secret), `a secret reached the log`).toBe(false);
    }
  });
});
