// Every operation of the API as every kind of caller, against one world built through the API.
// The expectations are a table: public reads work for anyone; everything else needs a token
// (UNAUTHENTICATED); the wrong role is FORBIDDEN; another tenant's object looks exactly like an id
// that does not exist (NOT_FOUND, or null for the nullable single-object queries), so ids are never
// confirmed; a refused mutation changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startServer, type GqlResult, type TestServer } from "./support/harness.js";
import { brokenInvariants } from "./support/orders.js";
import { buildWorld, ghostId, snapshot, type World } from "./support/world.js";

const ROLES = [
  "anonymous",
  "sme",
  "otherSme",
  "operator",
  "otherOperator",
  "finance",
  "otherFinance",
  "admin",
] as const;
type Role = (typeof ROLES)[number];

/**
 * D = data, 0 = null, U = UNAUTHENTICATED, F = FORBIDDEN, N = NOT_FOUND, B = BAD_USER_INPUT (a bulk
 * input naming another tenant's object among its problems, exactly as an unknown id).
 */
type Cell = "D" | "0" | "U" | "F" | "N" | "B";
const CODES: Partial<Record<Cell, string>> = {
  U: "UNAUTHENTICATED",
  F: "FORBIDDEN",
  N: "NOT_FOUND",
  B: "BAD_USER_INPUT",
};

interface Operation {
  /** The operation's root field. */
  field: string;
  kind: "query" | "mutation";
  /** One expectation per role, in the order of ROLES. */
  expect: string;
  document: string;
  vars: (w: World) => Record<string, unknown>;
  /** The same call with the foreign id replaced by one that does not exist (for N and 0 cells). */
  ghost?: (w: World) => Record<string, unknown>;
  /** Tells rows of one field apart in the test names. */
  label?: string;
  /** The request's clock when not the world's (a delivery is reported once the rental has ended). */
  now?: string;
  /** B cells are other tenants' objects, to compare with an unknown id (the ghost call). */
  ghostOnBadInput?: boolean;
  /** Further checks of a D cell's data. */
  check?: (data: any, role: Role, w: World) => void;
}

const ids = (connection: { edges: { node: { id: string } }[] }) => connection.edges.map((e) => e.node.id);
const PERIOD = { from: "2027-01-01T00:00:00Z", to: "2028-01-01T00:00:00Z" };

// ------------------------------------------------------------------ queries

/** After the world's rentals ended (10 March, 10:00), within their grace period. */
const RENTALS_ENDED = "2027-03-11T00:00:00Z";

const QUERIES: Operation[] = [
  {
    field: "delivery",
    kind: "query",
    expect: "U D 0 D 0 F F D",
    document: `query($id: ID!) { delivery(reservationId: $id) { reservationId orderId status } }`,
    vars: (w) => ({ id: w.paidReservationA }),
    ghost: () => ({ id: ghostId("reservation") }),
    now: RENTALS_ENDED,
    check: (data, _role, w) =>
      expect(data.delivery).toMatchObject({ reservationId: w.paidReservationA, orderId: w.orderA }),
  },
  {
    field: "me",
    kind: "query",
    expect: "U D D D D D D D",
    document: `{ me { role organization { id } } }`,
    vars: () => ({}),
    check: (data, role, w) => {
      const expected: Record<Role, [string, string | null]> = {
        anonymous: ["", null],
        sme: ["SME", w.smeA.id],
        otherSme: ["SME", w.smeB.id],
        operator: ["DATA_CENTER", w.opA.id],
        otherOperator: ["DATA_CENTER", w.opB.id],
        finance: ["CITY_FINANCE", w.finA.id],
        otherFinance: ["CITY_FINANCE", w.finB.id],
        admin: ["ADMIN", null],
      };
      const [roleName, orgId] = expected[role];
      expect(data.me).toEqual({ role: roleName, organization: orgId ? { id: orgId } : null });
    },
  },
  {
    field: "gpuModels",
    kind: "query",
    expect: "D D D D D D D D",
    document: `{ gpuModels { id name domestic } }`,
    vars: () => ({}),
    check: (data) => expect(data.gpuModels.map((m: { name: string }) => m.name)).toContain("H800"),
  },
  {
    field: "paymentConfiguration",
    kind: "query",
    expect: "D D D D D D D D",
    document: `{ paymentConfiguration { provider publishableKey methods } }`,
    vars: () => ({}),
    check: (data) =>
      expect(data.paymentConfiguration).toEqual({ provider: "simulated", publishableKey: null, methods: [] }),
  },
  {
    field: "dataCenters",
    kind: "query",
    expect: "D D D D D D D D",
    document: `query($from: DateTime!, $to: DateTime!) { dataCenters { id operator { id } utilization(from: $from, to: $to) } }`,
    vars: () => PERIOD,
    check: (data, _role, w) =>
      expect(data.dataCenters.map((d: { id: string }) => d.id)).toEqual(expect.arrayContaining([w.dcA, w.dcB])),
  },
  {
    field: "offers",
    kind: "query",
    expect: "D D D D D D D D",
    document: `{ offers(first: 100) { totalCount edges { node { id freeGpus(from: "2027-03-10T00:00:00Z", to: "2027-03-11T00:00:00Z") } } } }`,
    vars: () => ({}),
    check: (data, _role, w) =>
      expect(ids(data.offers)).toEqual(expect.arrayContaining([w.offerA, w.offerA2, w.offerB])),
  },
  {
    field: "offer",
    kind: "query",
    expect: "D D D D D D D D",
    document: `query($id: ID!) { offer(id: $id) { id dataCenter { id } } }`,
    vars: (w) => ({ id: w.offerA }),
    check: (data, _role, w) => expect(data.offer).toEqual({ id: w.offerA, dataCenter: { id: w.dcA } }),
  },
  {
    field: "myBids",
    kind: "query",
    expect: "U D D F F F F F",
    document: `{ myBids(first: 100) { totalCount edges { node { id } } } }`,
    vars: () => ({}),
    check: (data, role, w) => {
      if (role === "sme") expect(ids(data.myBids)).toEqual(expect.arrayContaining([w.bidA, w.openBidA]));
      else expect(ids(data.myBids)).not.toContain(w.bidA);
      if (role === "otherSme") expect(ids(data.myBids)).toContain(w.bidB);
    },
  },
  {
    field: "bid",
    kind: "query",
    expect: "U D 0 F F F F F",
    document: `query($id: ID!) { bid(id: $id) { id reservation { id } } }`,
    vars: (w) => ({ id: w.bidA }),
    ghost: () => ({ id: ghostId("bid") }),
    check: (data, _role, w) => expect(data.bid).toEqual({ id: w.bidA, reservation: { id: w.reservationA } }),
  },
  {
    field: "reservation",
    kind: "query",
    expect: "U D 0 D 0 F F F",
    document: `query($id: ID!) { reservation(id: $id) { id status offer { id } bid { id } } }`,
    vars: (w) => ({ id: w.reservationA }),
    ghost: () => ({ id: ghostId("reservation") }),
    check: (data, role, w) =>
      // The bid shows what the SME would pay at most: the operator does not see it.
      expect(data.reservation).toEqual({
        id: w.reservationA,
        status: "HELD",
        offer: { id: w.offerA },
        bid: role === "sme" ? { id: w.bidA } : null,
      }),
  },
  {
    field: "myOffers",
    kind: "query",
    expect: "U F F D D F F F",
    document: `{ myOffers(first: 100) { totalCount edges { node { id } } } }`,
    vars: () => ({}),
    check: (data, role, w) => {
      if (role === "operator") expect(ids(data.myOffers).sort()).toEqual([w.offerA, w.offerA2].sort());
      else expect(ids(data.myOffers)).toEqual([w.offerB]);
    },
  },
  {
    field: "offerReservations",
    kind: "query",
    expect: "U F F D N F F F",
    document: `query($id: ID!) { offerReservations(offerId: $id, first: 100) { totalCount edges { node { id bid { id } } } } }`,
    vars: (w) => ({ id: w.offerA }),
    ghost: () => ({ id: ghostId("offer") }),
    check: (data, _role, w) => {
      expect(ids(data.offerReservations)).toContain(w.reservationA);
      expect(data.offerReservations.edges.every((e: { node: { bid: unknown } }) => e.node.bid === null)).toBe(true);
    },
  },
  {
    field: "subsidyPrograms",
    kind: "query",
    expect: "U D D D D D D D",
    document: `{ subsidyPrograms { id city budgetStatus { available { fen } } } }`,
    vars: () => ({}),
    check: (data, _role, w) =>
      expect(data.subsidyPrograms.map((p: { id: string }) => p.id)).toEqual(
        expect.arrayContaining([w.programA, w.programB]),
      ),
  },
  {
    field: "myVouchers",
    kind: "query",
    expect: "U D D F F F F F",
    document: `{ myVouchers { id program { id } } }`,
    vars: () => ({}),
    check: (data, role, w) =>
      expect(data.myVouchers.map((v: { id: string }) => v.id)).toEqual(role === "sme" ? [w.voucherA] : [w.voucherB]),
  },
  {
    field: "myVoucherApplications",
    kind: "query",
    expect: "U D D F F F F F",
    document: `{ myVoucherApplications { id sme { id } } }`,
    vars: () => ({}),
    check: (data, role, w) => {
      const own = role === "sme" ? w.smeA.id : w.smeB.id;
      expect(data.myVoucherApplications.length).toBe(2);
      expect(data.myVoucherApplications.every((a: { sme: { id: string } }) => a.sme.id === own)).toBe(true);
    },
  },
  {
    field: "voucherApplications",
    kind: "query",
    expect: "U F F F F D N D",
    document: `query($id: ID!) { voucherApplications(programId: $id) { id program { id } } }`,
    vars: (w) => ({ id: w.programA }),
    ghost: () => ({ id: ghostId("program") }),
    check: (data, _role, w) => {
      expect(data.voucherApplications.map((a: { id: string }) => a.id)).toContain(w.applicationA);
      expect(data.voucherApplications.every((a: { program: { id: string } }) => a.program.id === w.programA)).toBe(
        true,
      );
    },
  },
  {
    field: "quote",
    kind: "query",
    expect: "U D N F F F F F",
    document: `query($r: ID!, $v: ID) { quote(reservationId: $r, voucherId: $v) { gross { fen } subsidy { fen } smeShare { fen } } }`,
    vars: (w) => ({ r: w.reservationA, v: w.voucherA }),
    ghost: (w) => ({ r: ghostId("reservation"), v: w.voucherA }),
    check: (data) =>
      expect(data.quote).toEqual({ gross: { fen: "40000" }, subsidy: { fen: "12000" }, smeShare: { fen: "28000" } }),
  },
  {
    field: "myOrders",
    kind: "query",
    expect: "U D D F F F F F",
    document: `{ myOrders(first: 100) { totalCount edges { node { id } } } }`,
    vars: () => ({}),
    check: (data, role, w) =>
      expect(ids(data.myOrders).sort()).toEqual(role === "sme" ? [w.orderA, w.orderA2].sort() : [w.orderB]),
  },
  {
    field: "order",
    kind: "query",
    expect: "U D 0 F F F F F",
    document: `query($id: ID!) { order(id: $id) { id status voucher { id } reservation { id } } }`,
    vars: (w) => ({ id: w.orderA }),
    ghost: () => ({ id: ghostId("order") }),
    check: (data, _role, w) =>
      expect(data.order).toMatchObject({ id: w.orderA, status: "PAID", voucher: { id: w.voucherA } }),
  },
  {
    field: "subsidySpend",
    kind: "query",
    expect: "U F F F F D N D",
    document: `query($id: ID, $from: DateTime!, $to: DateTime!) {
      subsidySpend(programId: $id, from: $from, to: $to, groupBy: [PROGRAM, SME]) { rows { keys { value } orders } totals { orders subsidy { fen } } } }`,
    vars: (w) => ({ id: w.programA, ...PERIOD }),
    ghost: () => ({ id: ghostId("program"), ...PERIOD }),
    check: (data) => expect(data.subsidySpend.totals).toEqual({ orders: 1, subsidy: { fen: "12000" } }),
  },
  {
    field: "subsidySpend",
    kind: "query",
    // A city is no secret (subsidyPrograms lists them): another city's spend is simply not the caller's to read.
    expect: "U F F F F D F D",
    document: `query($city: String, $from: DateTime!, $to: DateTime!) {
      subsidySpend(city: $city, from: $from, to: $to, groupBy: [SME]) { totals { orders subsidy { fen } } } }`,
    vars: () => ({ city: "Shanghai", ...PERIOD }),
    check: (data) => expect(data.subsidySpend.totals).toEqual({ orders: 1, subsidy: { fen: "12000" } }),
  },
  {
    field: "policyReport",
    kind: "query",
    // A city is no secret: another city's figures are simply not the caller's to read.
    expect: "U F F F F D F D",
    document: `query($city: String) { policyReport(city: $city, from: "2027-01-01", to: "2028-01-01", granularity: MONTH) {
      city subsidizedGpuHours smesServed subsidy { fen } } }`,
    vars: () => ({ city: "Shanghai" }),
    check: (data) =>
      expect(data.policyReport).toMatchObject({ city: "Shanghai", smesServed: 1, subsidy: { fen: "12000" } }),
  },
  {
    field: "cityStatement",
    kind: "query",
    expect: "U F F F F D N D",
    document: `query($id: ID!) { cityStatement(programId: $id, month: "2027-03") { program { id } status total { fen } lines { dataCenter { id } orders } } }`,
    vars: (w) => ({ id: w.programA }),
    ghost: () => ({ id: ghostId("program") }),
    check: (data, _role, w) =>
      expect(data.cityStatement).toEqual({
        program: { id: w.programA },
        status: "OPEN",
        total: { fen: "12000" },
        lines: [{ dataCenter: { id: w.dcA }, orders: 1 }],
      }),
  },
  {
    field: "budgetLedger",
    kind: "query",
    expect: "U F F F F D N D",
    document: `query($id: ID!) { budgetLedger(programId: $id, first: 100) { totalCount edges { node { kind amount { fen } order { id } } } } }`,
    vars: (w) => ({ id: w.programA }),
    ghost: () => ({ id: ghostId("program") }),
    check: (data, _role, w) => {
      const entries = data.budgetLedger.edges.map((e: { node: unknown }) => e.node);
      expect(entries).toEqual(
        expect.arrayContaining([
          { kind: "RESERVE", amount: { fen: "12000" }, order: { id: w.orderA } },
          { kind: "POST", amount: { fen: "12000" }, order: { id: w.orderA } },
        ]),
      );
      expect(entries.every((e: { order: { id: string } }) => e.order.id !== w.orderB)).toBe(true);
    },
  },
  {
    field: "auditLog",
    kind: "query",
    expect: "U F F F F D D D",
    document: `{ auditLog(first: 100) { totalCount edges { node { id city } } } }`,
    vars: () => ({}),
    check: (data, role) => {
      // A finance team reads the entries of its own city's programs only.
      const cities = new Set(data.auditLog.edges.map((e: { node: { city: string | null } }) => e.node.city));
      if (role === "finance") expect([...cities]).toEqual(["Shanghai"]);
      if (role === "otherFinance") expect([...cities]).toEqual(["Beijing"]);
    },
  },
];

// node(id:) for every Node type: the same rules as the type's own query; whatever a caller may not
// see is null, exactly like an id that names nothing.
const NODE = `query($id: ID!) { node(id: $id) { __typename id } }`;

function nodeRow(type: string, prefix: string, expectCells: string, idOf: (w: World) => string): Operation {
  return {
    field: "node",
    label: `${type} ${expectCells === "D D D D D D D D" ? "public" : "private"}`,
    kind: "query",
    expect: expectCells,
    document: NODE,
    vars: (w) => ({ id: idOf(w) }),
    ghost: () => ({ id: ghostId(prefix) }),
    check: (data, _role, w) => expect(data.node).toEqual({ __typename: type, id: idOf(w) }),
  };
}

// ------------------------------------------------------------------ events and webhooks
// SME A's webhook endpoint, kept disabled so that no delivery runs in the background while the
// matrix compares snapshots, and one of SME A's events: both made in beforeAll.
let webhookA = "";
let eventA = "";

QUERIES.push(
  {
    field: "events",
    kind: "query",
    expect: "U D D D D D D D",
    document: `{ events(first: 100) { id objectId } }`,
    vars: () => ({}),
    check: (data, role) => {
      const ids = data.events.map((e: { id: string }) => e.id);
      // Only SME A (and the admin, who sees every organization's) sees SME A's event.
      expect(ids.includes(eventA)).toBe(role === "sme" || role === "admin");
    },
  },
  {
    field: "webhookEndpoints",
    kind: "query",
    expect: "U D D D D D D F",
    document: `{ webhookEndpoints { id } }`,
    vars: () => ({}),
    check: (data, role) =>
      expect(data.webhookEndpoints.some((e: { id: string }) => e.id === webhookA)).toBe(role === "sme"),
  },
  {
    field: "webhookDeliveries",
    kind: "query",
    expect: "U D N N N N N F",
    document: `query($id: ID!) { webhookDeliveries(endpointId: $id) { totalCount } }`,
    vars: () => ({ id: webhookA }),
    ghost: () => ({ id: ghostId("webhook") }),
  },
);

const WEBHOOK_MUTATIONS: Operation[] = [
  {
    field: "createWebhookEndpoint",
    kind: "mutation",
    expect: "U D D D D D D F",
    // A type none of the matrix's calls makes, so nothing is delivered in the background.
    document: `mutation { createWebhookEndpoint(input: { url: "https://203.0.114.1/hooks", types: [STATEMENT_READY] }) { secret endpoint { status } } }`,
    vars: () => ({}),
    check: (data) => expect(data.createWebhookEndpoint.endpoint.status).toBe("ACTIVE"),
  },
  ...(["rotateWebhookSecret", "disableWebhookEndpoint", "redeliverEvent", "enableWebhookEndpoint"] as const).map(
    (field): Operation => {
      const event = field === "redeliverEvent";
      const selection =
        field === "rotateWebhookSecret" ? "{ secret }" : field === "redeliverEvent" ? "{ id }" : "{ id }";
      return {
        field,
        kind: "mutation",
        expect: "U D N N N N N F",
        document: `mutation($id: ID!) { ${field}(id: $id) ${selection} }`,
        vars: () => ({ id: event ? eventA : webhookA }),
        ghost: () => ({ id: ghostId(event ? "event" : "webhook") }),
      };
    },
  ),
];

/** The statement of program A for March 2027: `statement_<program's key>_2027-03`. */
const statementOf = (w: World) => `statement_${w.programA.split("_")[1]}_2027-03`;

const NODE_ROWS: Operation[] = [
  nodeRow("Offer", "offer", "D D D D D D D D", (w) => w.offerA),
  nodeRow("DataCenter", "dc", "D D D D D D D D", (w) => w.dcA),
  nodeRow("Organization", "org", "D D D D D D D D", (w) => w.opA.id),
  nodeRow("Organization", "org", "0 D 0 0 0 0 0 D", (w) => w.smeA.id),
  nodeRow("Bid", "bid", "0 D 0 0 0 0 0 0", (w) => w.bidA),
  nodeRow("Reservation", "reservation", "0 D 0 D 0 0 0 0", (w) => w.reservationA),
  nodeRow("Order", "order", "0 D 0 0 0 0 0 0", (w) => w.orderA),
  nodeRow("SubsidyProgram", "program", "0 D D D D D D D", (w) => w.programA),
  nodeRow("BudgetStatus", "budget", "0 D D D D D D D", (w) => w.programA.replace("program_", "budget_")),
  nodeRow("Voucher", "voucher", "0 D 0 0 0 0 0 0", (w) => w.voucherA),
  nodeRow("VoucherApplication", "application", "0 D 0 0 0 D 0 D", (w) => w.applicationA),
  nodeRow("CityStatement", "statement", "0 0 0 0 0 D 0 D", statementOf),
  nodeRow("Event", "event", "0 D 0 0 0 0 0 D", () => eventA),
  nodeRow("WebhookEndpoint", "webhook", "0 D 0 0 0 0 0 0", () => webhookA),
  {
    field: "nodes",
    kind: "query",
    expect: "D D D D D D D D",
    document: `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`,
    vars: (w) => ({ ids: [w.offerA, w.bidA, ghostId("bid"), "not-an-id"] }),
    check: (data, role, w) =>
      expect(data.nodes).toEqual([
        { __typename: "Offer", id: w.offerA },
        role === "sme" ? { __typename: "Bid", id: w.bidA } : null,
        null,
        null,
      ]),
  },
];

// ------------------------------------------------------------------ mutations
// Refused cells run first and must change nothing; the allowed ones run last, on objects left for them.

const MUTATIONS: Operation[] = [
  {
    field: "createOrganization",
    kind: "mutation",
    expect: "U F F F F F F D",
    document: `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id name } }`,
    vars: () => ({ input: { name: "Matrix Org", kind: "SME", city: "Wuhan" } }),
    check: (data) => expect(data.createOrganization.name).toBe("Matrix Org"),
  },
  {
    field: "setOrganizationCategory",
    kind: "mutation",
    expect: "U F F F F F F D",
    document: `mutation($id: ID!) { setOrganizationCategory(organizationId: $id, category: STARTUP) { id category } }`,
    vars: (w) => ({ id: w.spareSme.id }),
    check: (data, _role, w) => expect(data.setOrganizationCategory).toEqual({ id: w.spareSme.id, category: "STARTUP" }),
  },
  {
    field: "createApiKey",
    kind: "mutation",
    expect: "U F F F F F F D",
    document: `mutation($id: ID!) { createApiKey(organizationId: $id) { id token } }`,
    vars: (w) => ({ id: w.spareSme.id }),
    check: (data) => expect(data.createApiKey.token).toMatch(/^gvm_/),
  },
  {
    field: "declareAffiliation",
    kind: "mutation",
    expect: "U F F F F F F D",
    document: `mutation($a: ID!, $b: ID!) { declareAffiliation(organizationId: $a, affiliatedId: $b) }`,
    vars: (w) => ({ a: w.spareSme.id, b: w.spareOp.id }),
    check: (data) => expect(data.declareAffiliation).toBe(true),
  },
  {
    field: "createDataCenter",
    kind: "mutation",
    expect: "U F F F F F F D",
    document: `mutation($input: CreateDataCenterInput!) { createDataCenter(input: $input) { id operator { id } } }`,
    vars: (w) => ({
      input: {
        name: "Horinger DC-9",
        hub: "Inner Mongolia Horinger",
        province: "Inner Mongolia",
        operatorId: w.spareOp.id,
      },
    }),
    check: (data, _role, w) => expect(data.createDataCenter.operator).toEqual({ id: w.spareOp.id }),
  },
  {
    field: "runMaintenance",
    kind: "mutation",
    expect: "U F F F F F F D",
    document: `mutation { runMaintenance { task changed } }`,
    vars: () => ({}),
    check: (data) => expect(Array.isArray(data.runMaintenance)).toBe(true),
  },
  {
    field: "publishOffer",
    kind: "mutation",
    expect: "U F F D N F F F",
    document: `mutation($input: PublishOfferInput!) { publishOffer(input: $input) { id dataCenter { id } } }`,
    vars: (w) => ({
      input: {
        dataCenterId: w.dcA,
        gpuModel: "L40S",
        gpuCount: 4,
        pricePerGpuHour: "9.00",
        availableFrom: "2027-04-01T00:00:00Z",
        availableUntil: "2027-04-02T00:00:00Z",
      },
    }),
    ghost: () => ({
      input: {
        dataCenterId: ghostId("dc"),
        gpuModel: "L40S",
        gpuCount: 4,
        pricePerGpuHour: "9.00",
        availableFrom: "2027-04-01T00:00:00Z",
        availableUntil: "2027-04-02T00:00:00Z",
      },
    }),
    check: (data, _role, w) => expect(data.publishOffer.dataCenter).toEqual({ id: w.dcA }),
  },
  {
    field: "updateOffer",
    kind: "mutation",
    expect: "U F F D N F F F",
    document: `mutation($id: ID!, $input: UpdateOfferInput!) { updateOffer(id: $id, input: $input) { id gpuCount } }`,
    vars: (w) => ({ id: w.offerA, input: { gpuCount: 17 } }),
    ghost: () => ({ id: ghostId("offer"), input: { gpuCount: 17 } }),
    check: (data, _role, w) => expect(data.updateOffer).toEqual({ id: w.offerA, gpuCount: 17 }),
  },
  {
    field: "withdrawOffer",
    kind: "mutation",
    expect: "U F F D N F F F",
    document: `mutation($id: ID!) { withdrawOffer(id: $id) { id status } }`,
    vars: (w) => ({ id: w.offerA2 }),
    ghost: () => ({ id: ghostId("offer") }),
    check: (data, _role, w) => expect(data.withdrawOffer).toEqual({ id: w.offerA2, status: "WITHDRAWN" }),
  },
  {
    field: "placeBid",
    kind: "mutation",
    expect: "U D D F F F F F",
    document: `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id status } }`,
    vars: () => ({
      input: {
        gpuModel: "H800",
        gpuCount: 1,
        hours: 2,
        earliestStart: "2027-03-12T00:00:00Z",
        latestEnd: "2027-03-13T00:00:00Z",
        maxPricePerGpuHour: "1.00",
      },
    }),
    check: (data) => expect(data.placeBid.status).toBe("OPEN"),
  },
  {
    field: "cancelBid",
    kind: "mutation",
    expect: "U D N F F F F F",
    document: `mutation($id: ID!) { cancelBid(id: $id) { id status } }`,
    vars: (w) => ({ id: w.openBidA }),
    ghost: () => ({ id: ghostId("bid") }),
    check: (data, _role, w) => expect(data.cancelBid).toEqual({ id: w.openBidA, status: "CANCELLED" }),
  },
  {
    field: "createSubsidyProgram",
    kind: "mutation",
    expect: "U F F F F D D F",
    document: `mutation($input: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $input) { id city } }`,
    vars: () => ({
      input: {
        name: "Matrix Program",
        budget: "1000.00",
        rateBasisPoints: 2000,
        validFrom: "2027-01-01T00:00:00Z",
        validUntil: "2027-12-31T00:00:00Z",
      },
    }),
    check: (data, role) => expect(data.createSubsidyProgram.city).toBe(role === "finance" ? "Shanghai" : "Beijing"),
  },
  {
    field: "setSubsidyProgramStatus",
    kind: "mutation",
    expect: "U F F F F D N F",
    document: `mutation($id: ID!) { setSubsidyProgramStatus(programId: $id, status: ACTIVE) { id status } }`,
    vars: (w) => ({ id: w.programA }),
    ghost: () => ({ id: ghostId("program") }),
    check: (data, _role, w) => expect(data.setSubsidyProgramStatus).toEqual({ id: w.programA, status: "ACTIVE" }),
  },
  {
    field: "applyForVoucher",
    kind: "mutation",
    expect: "U D D F F F F F",
    document: `mutation($input: ApplyForVoucherInput!) { applyForVoucher(input: $input) { id status sme { id } } }`,
    vars: (w) => ({ input: { programId: w.programA, requestedAmount: "100.00", purpose: "Evaluating a model" } }),
    check: (data, role, w) =>
      expect(data.applyForVoucher).toMatchObject({
        status: "PENDING",
        sme: { id: role === "sme" ? w.smeA.id : w.smeB.id },
      }),
  },
  {
    field: "decideVoucherApplication",
    kind: "mutation",
    expect: "U F F F F D N F",
    document: `mutation($id: ID!) { decideVoucherApplication(id: $id, approve: false, reason: "Out of scope") { id status } }`,
    vars: (w) => ({ id: w.applicationA }),
    ghost: () => ({ id: ghostId("application") }),
    check: (data, _role, w) =>
      expect(data.decideVoucherApplication).toEqual({ id: w.applicationA, status: "REJECTED" }),
  },
  {
    field: "checkout",
    kind: "mutation",
    expect: "U D N F F F F F",
    document: `mutation($input: CheckoutInput!) { checkout(input: $input) { id status subsidy { fen } } }`,
    vars: (w) => ({
      input: { reservationId: w.reservationA2, voucherId: w.voucherA, idempotencyKey: "matrix-checkout" },
    }),
    ghost: (w) => ({
      input: { reservationId: ghostId("reservation"), voucherId: w.voucherA, idempotencyKey: "matrix-checkout" },
    }),
    check: (data) => expect(data.checkout).toMatchObject({ status: "PAID", subsidy: { fen: "12000" } }),
  },
  {
    field: "cancelOrder",
    kind: "mutation",
    expect: "U D N F F F F F",
    document: `mutation($id: ID!) { cancelOrder(id: $id) { id status } }`,
    vars: (w) => ({ id: w.orderA2 }),
    ghost: () => ({ id: ghostId("order") }),
    check: (data, _role, w) => expect(data.cancelOrder).toEqual({ id: w.orderA2, status: "REFUNDED" }),
  },
  {
    field: "publishOffers",
    kind: "mutation",
    expect: "U F F D B F F F",
    ghostOnBadInput: true,
    document: `mutation($inputs: [PublishOfferInput!]!) { publishOffers(inputs: $inputs) { id dataCenter { id } } }`,
    vars: (w) => ({
      inputs: [
        {
          dataCenterId: w.dcA,
          gpuModel: "L40S",
          gpuCount: 4,
          pricePerGpuHour: "9.50",
          availableFrom: "2027-04-01T00:00:00Z",
          availableUntil: "2027-04-02T00:00:00Z",
        },
      ],
    }),
    ghost: () => ({
      inputs: [
        {
          dataCenterId: ghostId("dc"),
          gpuModel: "L40S",
          gpuCount: 4,
          pricePerGpuHour: "9.50",
          availableFrom: "2027-04-01T00:00:00Z",
          availableUntil: "2027-04-02T00:00:00Z",
        },
      ],
    }),
    check: (data, _role, w) => expect(data.publishOffers[0].dataCenter).toEqual({ id: w.dcA }),
  },
  {
    field: "updateOffers",
    kind: "mutation",
    expect: "U F F D B F F F",
    ghostOnBadInput: true,
    document: `mutation($ids: [ID!]!) { updateOffers(ids: $ids, input: { pricePerGpuHour: "20.00" }) { id } }`,
    vars: (w) => ({ ids: [w.offerA] }),
    ghost: () => ({ ids: [ghostId("offer")] }),
    check: (data, _role, w) => expect(data.updateOffers).toEqual([{ id: w.offerA }]),
  },
  {
    field: "declareOfferHardware",
    kind: "mutation",
    expect: "U F F D N F F F",
    document: `mutation($id: ID!) { declareOfferHardware(id: $id, input: { gpuCount: 17, attestationReference: "CAICT-2027-00042" }) { id hardwareAttested } }`,
    vars: (w) => ({ id: w.offerA }),
    ghost: () => ({ id: ghostId("offer") }),
    check: (data, _role, w) => expect(data.declareOfferHardware).toEqual({ id: w.offerA, hardwareAttested: true }),
  },
  {
    field: "confirmPayment",
    kind: "mutation",
    // Simulated payments: the owner's paid order has no method to choose (B), another SME's is not found.
    expect: "U B N F F F F F",
    document: `mutation($id: ID!) { confirmPayment(orderId: $id, method: WECHAT_PAY) { id } }`,
    vars: (w) => ({ id: w.orderA }),
    ghost: () => ({ id: ghostId("order") }),
  },
  {
    field: "reportDelivery",
    kind: "mutation",
    expect: "U F F D N F F F",
    // The world's rentals are 2 GPUs for 10 hours: delivered in full.
    document: `mutation($id: ID!) { reportDelivery(reservationId: $id, input: { deliveredGpuHours: 20, outages: [] }) { status } }`,
    vars: (w) => ({ id: w.paidReservationA }),
    ghost: () => ({ id: ghostId("reservation") }),
    now: RENTALS_ENDED,
    check: (data) => expect(data.reportDelivery).toEqual({ status: "REPORTED" }),
  },
  {
    field: "disputeDelivery",
    kind: "mutation",
    expect: "U D N F F F F F",
    document: `mutation($id: ID!) { disputeDelivery(reservationId: $id, reason: "Two GPUs were down") { status } }`,
    vars: (w) => ({ id: w.paidReservationA }),
    ghost: () => ({ id: ghostId("reservation") }),
    now: RENTALS_ENDED,
    check: (data) => expect(data.disputeDelivery).toEqual({ status: "DISPUTED" }),
  },
  {
    field: "correctDelivery",
    kind: "mutation",
    expect: "U F F F F F F D",
    document: `mutation($id: ID!, $input: DeliveryReportInput!) { correctDelivery(reservationId: $id, input: $input) { status } }`,
    vars: (w) => ({ id: w.paidReservationA, input: { deliveredGpuHours: 20, outages: [] } }),
    now: RENTALS_ENDED,
    check: (data) => expect(data.correctDelivery).toEqual({ status: "FINAL" }),
  },
  {
    field: "settleCityStatement",
    kind: "mutation",
    expect: "U F F F F D N F",
    document: `mutation($id: ID!) { settleCityStatement(programId: $id, month: "2027-02") { program { id } status } }`,
    vars: (w) => ({ id: w.programA }),
    ghost: () => ({ id: ghostId("program") }),
    check: (data, _role, w) =>
      expect(data.settleCityStatement).toEqual({ program: { id: w.programA }, status: "SETTLED" }),
  },
  ...WEBHOOK_MUTATIONS,
];

// ------------------------------------------------------------------ running the table

let server: TestServer;
let w: World;
let tokens: Record<Role, string | undefined>;

beforeAll(async () => {
  server = await startServer();
  w = await buildWorld(server);
  const { createWebhookEndpoint } = await server.ok(
    `mutation { createWebhookEndpoint(input: { url: "https://203.0.114.1/a" }) { endpoint { id } } }`,
    {},
    { token: w.smeA.token },
  );
  webhookA = createWebhookEndpoint.endpoint.id;
  await server.ok(
    `mutation($id: ID!) { disableWebhookEndpoint(id: $id) { id } }`,
    { id: webhookA },
    { token: w.smeA.token },
  );
  const { events } = await server.ok(`{ events(first: 1) { id } }`, {}, { token: w.smeA.token });
  eventA = events[0].id;
  tokens = {
    anonymous: undefined,
    sme: w.smeA.token,
    otherSme: w.smeB.token,
    operator: w.opA.token,
    otherOperator: w.opB.token,
    finance: w.finA.token,
    otherFinance: w.finB.token,
    admin: ADMIN,
  };
});
afterAll(() => server?.close());

function cellsOf(op: Operation): Record<Role, Cell> {
  const cells = op.expect.split(/\s+/);
  if (cells.length !== ROLES.length || cells.some((c) => !"D0UFNB".includes(c)))
    throw new Error(`bad row for ${op.field}: ${op.expect}`);
  return Object.fromEntries(ROLES.map((role, i) => [role, cells[i] as Cell])) as Record<Role, Cell>;
}

function call(op: Operation, role: Role, vars: Record<string, unknown>): Promise<GqlResult> {
  return server.gql(op.document, vars, { token: tokens[role], now: op.now ?? w.now });
}

/** What a caller learns from an answer: the code and message of its error, or whether the object is null. */
function outcome(result: GqlResult, field: string): string {
  if (result.errors?.length) return result.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join("; ");
  return (result.data as Record<string, unknown> | undefined)?.[field] === null ? "null" : "data";
}

/** Asserts one cell; a NOT_FOUND or null cell must also be indistinguishable from an unknown id. */
async function checkCell(op: Operation, role: Role, cell: Cell): Promise<void> {
  const where = `${op.field} as ${role}`;
  const result = await call(op, role, op.vars(w));
  expect(result.status, where).toBeLessThan(500);
  for (const error of result.errors ?? []) {
    expect(error.extensions?.code, where).toBeTruthy();
    expect(error.extensions ?? {}, where).not.toHaveProperty("stacktrace");
  }
  if (cell === "D") {
    expect(result.errors, `${where}: ${JSON.stringify(result.errors)}`).toBeUndefined();
    expect(result.data?.[op.field], where).not.toBeNull();
    op.check?.(result.data, role, w);
    return;
  }
  if (cell === "0") {
    expect(result.errors, `${where}: ${JSON.stringify(result.errors)}`).toBeUndefined();
    expect(result.data?.[op.field], where).toBeNull();
  } else {
    expect(
      result.errors?.map((e) => e.extensions?.code),
      `${where}: ${JSON.stringify(result)}`,
    ).toEqual([CODES[cell]]);
    // Nothing of the object leaks along with the error.
    expect(result.data?.[op.field] ?? null, where).toBeNull();
  }
  if (cell === "N" || cell === "0" || (cell === "B" && op.ghostOnBadInput)) {
    if (!op.ghost) throw new Error(`${op.field} needs a ghost call for its ${cell} cell`);
    const ghost = await call(op, role, op.ghost(w));
    expect(outcome(result, op.field), `${where}: another tenant's id must look like an unknown one`).toBe(
      outcome(ghost, op.field),
    );
  }
}

describe("authorization matrix", () => {
  it("covers every operation of the schema", async () => {
    const { data } = await server.gql(
      `{ __schema { queryType { fields { name } } mutationType { fields { name } } } }`,
    );
    const inSchema = [...data.__schema.queryType.fields, ...data.__schema.mutationType.fields].map(
      (f: { name: string }) => f.name,
    );
    const covered = new Set([...QUERIES, ...NODE_ROWS, ...MUTATIONS].map((op) => op.field));
    expect(inSchema.filter((name: string) => !covered.has(name))).toEqual([]);
  });

  describe.each(
    [...QUERIES, ...NODE_ROWS].map((op) => [`${op.field}(${op.expect})${op.label ? ` ${op.label}` : ""}`, op] as const),
  )("query %s", (_name, op) => {
    it.each(ROLES.map((role) => [role]))("as %s", async (role) => {
      await checkCell(op, role, cellsOf(op)[role]);
    });
  });

  it("queries change nothing", async () => {
    const before = await snapshot(server);
    for (const op of [...QUERIES, ...NODE_ROWS]) for (const role of ROLES) await call(op, role, op.vars(w));
    expect(await snapshot(server)).toEqual(before);
  });

  describe.each(MUTATIONS.map((op) => [`${op.field}(${op.expect})`, op] as const))("mutation %s", (_name, op) => {
    it("refuses every other caller and changes nothing, then works for the allowed ones", async () => {
      const cells = cellsOf(op);
      const before = await snapshot(server);
      for (const role of ROLES) if (cells[role] !== "D") await checkCell(op, role, cells[role]);
      expect(await snapshot(server), `a refused ${op.field} changed the database`).toEqual(before);
      for (const role of ROLES) if (cells[role] === "D") await checkCell(op, role, "D");
    });
  });

  it("a token that is not a key is UNAUTHENTICATED everywhere, public reads included", async () => {
    for (const op of [...QUERIES, ...NODE_ROWS, ...MUTATIONS]) {
      const result = await server.gql(op.document, op.vars(w), {
        token: "gvm_forged_0000000000000000000000000000000000000",
        now: w.now,
      });
      expect(
        result.errors?.map((e) => e.extensions?.code),
        op.field,
      ).toEqual(["UNAUTHENTICATED"]);
      expect(result.status, op.field).toBe(401);
    }
  });

  it("another SME's voucher is refused exactly like a voucher that does not exist, and checkout writes nothing", async () => {
    const QUOTE = `query($r: ID!, $v: ID) { quote(reservationId: $r, voucherId: $v) { subsidy { fen } } }`;
    const CHECKOUT = `mutation($input: CheckoutInput!) { checkout(input: $input) { id } }`;
    const a = { token: w.smeA.token, now: w.now };
    const reservationId = w.reservationA;
    const foreignQuote = await server.gql(QUOTE, { r: reservationId, v: w.voucherB }, a);
    const ghostQuote = await server.gql(QUOTE, { r: reservationId, v: ghostId("voucher") }, a);
    expect(foreignQuote.errors?.[0].extensions).toMatchObject({ code: "NOT_ELIGIBLE", reason: "VOUCHER_NOT_OWNED" });
    expect(outcome(foreignQuote, "quote")).toBe(outcome(ghostQuote, "quote"));

    const before = await snapshot(server);
    const foreign = await server.gql(
      CHECKOUT,
      { input: { reservationId, voucherId: w.voucherB, idempotencyKey: "foreign-voucher" } },
      a,
    );
    const ghost = await server.gql(
      CHECKOUT,
      { input: { reservationId, voucherId: ghostId("voucher"), idempotencyKey: "ghost-voucher" } },
      a,
    );
    expect(foreign.errors?.[0].extensions).toMatchObject({ code: "NOT_ELIGIBLE", reason: "VOUCHER_NOT_OWNED" });
    expect(outcome(foreign, "checkout")).toBe(outcome(ghost, "checkout"));
    expect(await snapshot(server)).toEqual(before);
  });

  it("another operator's data center, offer and reservation stay hidden in nested reads too", async () => {
    // An operator sees its own reservations' offers, never the SME's bid; another operator sees nothing.
    const { offerReservations } = await server.ok(
      `query($id: ID!) { offerReservations(offerId: $id, first: 100) { edges { node { id bid { id maxPricePerGpuHour { fen } } } } } }`,
      { id: w.offerB },
      { token: w.opB.token, now: w.now },
    );
    expect(ids(offerReservations)).toContain(w.reservationB);
    expect(offerReservations.edges.every((e: { node: { bid: unknown } }) => e.node.bid === null)).toBe(true);
    const { reservation } = await server.ok(
      `query($id: ID!) { reservation(id: $id) { id } }`,
      { id: w.reservationB },
      { token: w.opA.token, now: w.now },
    );
    expect(reservation).toBeNull();
  });

  it("the ledger still balances after the whole matrix", async () => {
    expect(await brokenInvariants(server)).toEqual([]);
  });
});
