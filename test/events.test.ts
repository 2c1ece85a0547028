// Events as a client developer meets them: each type of the catalogue recorded with its payload in
// the transaction of its change (and none for a change rolled back), read with events(after:), and
// pushed over WebSocket subscriptions (graphql-ws), only to the organization it is for. On the
// embedded database, or PostgreSQL with DATABASE_URL.
import { readFileSync } from "node:fs";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reservations } from "../src/db/schema.js";
import { EVENT_KINDS } from "../src/events/catalogue.js";
import { FakeStripe } from "./support/fake-stripe.js";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { CHECKOUT, market, NOW, reserve, type Market } from "./support/market.js";
import { keyOf } from "./support/ids.js";
import { eventually, subscriptionClient, type SubscriptionClient } from "./support/subscriptions.js";
import { organization } from "./support/fixtures.js";

const EVENTS = `query($after: ID, $first: Int, $types: [EventType!]) {
  events(after: $after, first: $first, types: $types) { id type name objectId payload createdAt } }`;
const LIVE = `subscription($types: [EventType!], $after: ID) {
  events(types: $types, after: $after) { id type name objectId payload } }`;
const MAINTENANCE = `mutation { runMaintenance { task changed } }`;

let server: TestServer;
let m: Market;
const clients: SubscriptionClient[] = [];

/**
 * Waits until every event recorded so far is final: readers take an event once its transaction and
 * every older one on the PostgreSQL server (other databases' included) have ended.
 */
async function settled(on: TestServer = server) {
  await eventually(async () => {
    const [{ waiting }] = await on.sql(
      `select count(*)::int as waiting from events where xid >= pg_snapshot_xmin(pg_current_snapshot())`,
    );
    return waiting === 0;
  });
}

async function eventsOf(token: string, after?: string, types?: string[]) {
  await settled();
  const { events } = await server.ok(EVENTS, { after, first: 100, types }, { token });
  return events as { id: string; type: string; name: string; objectId: string; payload: any }[];
}

/** The organization's events after the last one it has seen so far (a cursor per token). */
const seen = new Map<string, string | undefined>();
async function newEvents(token: string) {
  const events = await eventsOf(token, seen.get(token));
  if (events.length) seen.set(token, events.at(-1)!.id);
  return events;
}

function client(token?: string) {
  const c = subscriptionClient(server.url, token);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  server = await startServer();
  m = await market(server, { budget: "125.00", voucherAmount: "125.00", rateBasisPoints: 3000 });
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await server?.close();
});

describe("the event record", () => {
  it("records each change's event for the organization it is for, with its payload", async () => {
    // The market's voucher: applied for (to the finance team) and approved (to the SME).
    const [submitted] = await newEvents(m.finance.token);
    expect(submitted).toMatchObject({
      type: "VOUCHER_APPLICATION_SUBMITTED",
      name: "voucher_application.submitted",
      payload: { programId: m.programId, smeId: m.sme.id, requestedAmount: { amount: "125.00", fen: "12500" } },
    });
    const [decided] = await newEvents(m.sme.token);
    expect(decided).toMatchObject({
      type: "VOUCHER_APPLICATION_DECIDED",
      objectId: submitted.objectId,
      payload: { status: "APPROVED", voucherId: m.voucherId, grantedAmount: { amount: "125.00" } },
    });

    // A bid matched at once: bid.matched to the SME, reservation.created to the operator.
    const reservationId = await reserve(server, m.sme);
    const [matched] = await newEvents(m.sme.token);
    expect(matched).toMatchObject({
      type: "BID_MATCHED",
      name: "bid.matched",
      payload: {
        reservationId,
        offerId: m.offerId,
        gpuCount: 2,
        status: "HELD",
        total: { amount: "400.00", fen: "40000", currency: "CNY" },
      },
    });
    expect(matched.objectId).toBe(matched.payload.bidId);
    expect(matched.payload.holdExpiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const [created] = await newEvents(m.operator.token);
    expect(created).toMatchObject({ type: "RESERVATION_CREATED", objectId: reservationId, payload: { reservationId } });
    expect(created.payload.bidId).toBeUndefined(); // the operator never sees the SME's bid

    // Paid: order.paid to the SME, reservation.confirmed to the operator; 120.00 of 125.00 is 96 %
    // of the budget committed: two thresholds for the finance team.
    const { checkout } = await server.ok(
      CHECKOUT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey: "events-1" } },
      { token: m.sme.token, now: NOW },
    );
    const [paid] = await newEvents(m.sme.token);
    expect(paid).toMatchObject({
      type: "ORDER_PAID",
      objectId: checkout.id,
      payload: {
        orderId: checkout.id,
        reservationId,
        status: "PAID",
        gross: { amount: "400.00" },
        subsidy: { amount: "120.00" },
        smeShare: { amount: "280.00" },
        voucherId: m.voucherId,
      },
    });
    expect((await newEvents(m.operator.token)).map((e) => e.type)).toEqual(["RESERVATION_CONFIRMED"]);
    const thresholds = await newEvents(m.finance.token);
    expect(thresholds.map((e) => [e.type, e.payload.thresholdPercent])).toEqual([
      ["PROGRAM_BUDGET_THRESHOLD", 80],
      ["PROGRAM_BUDGET_THRESHOLD", 95],
    ]);
    expect(thresholds[0].payload).toMatchObject({ programId: m.programId, total: { amount: "125.00" } });

    // Refunded: order.refunded to the SME, reservation.released to the operator. The budget
    // falls back under 80 %: no new threshold, and none again when it rises (each once).
    await server.ok(
      `mutation($id: ID!) { cancelOrder(id: $id) { status } }`,
      { id: checkout.id },
      { token: m.sme.token, now: NOW },
    );
    expect((await newEvents(m.sme.token)).map((e) => [e.type, e.payload.status])).toEqual([
      ["ORDER_REFUNDED", "REFUNDED"],
    ]);
    expect((await newEvents(m.operator.token)).map((e) => [e.type, e.payload.status])).toEqual([
      ["RESERVATION_RELEASED", "CANCELLED"],
    ]);
    const again = await reserve(server, m.sme);
    await server.ok(
      CHECKOUT,
      { input: { reservationId: again, voucherId: m.voucherId, idempotencyKey: "events-2" } },
      { token: m.sme.token, now: NOW },
    );
    expect(await newEvents(m.finance.token)).toEqual([]);
    await newEvents(m.sme.token);
    await newEvents(m.operator.token);
  });

  it("warns of a hold about to lapse once, then records its expiry", async () => {
    const reservationId = await reserve(server, m.sme);
    const [matched] = await newEvents(m.sme.token);
    await newEvents(m.operator.token);
    const lapses = Date.parse(matched.payload.holdExpiresAt);
    const fourMinutesBefore = new Date(lapses - 4 * 60_000);
    await server.ok(MAINTENANCE, {}, { token: ADMIN, now: fourMinutesBefore });
    await server.ok(MAINTENANCE, {}, { token: ADMIN, now: new Date(lapses - 3 * 60_000) });
    const warned = await newEvents(m.sme.token);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({
      type: "RESERVATION_HOLD_EXPIRING",
      objectId: reservationId,
      payload: { reservationId, bidId: matched.payload.bidId, holdExpiresAt: matched.payload.holdExpiresAt },
    });
    await server.ok(MAINTENANCE, {}, { token: ADMIN, now: new Date(lapses + 1_000) });
    expect((await newEvents(m.sme.token)).map((e) => [e.type, e.objectId, e.payload.bidId])).toEqual([
      ["RESERVATION_EXPIRED", reservationId, matched.payload.bidId],
    ]);
    expect((await newEvents(m.operator.token)).map((e) => [e.type, e.payload.status])).toEqual([
      ["RESERVATION_RELEASED", "EXPIRED"],
    ]);
  });

  it("tells the finance team once that an ended month's statement can be settled", async () => {
    const month = NOW.slice(0, 7);
    const nextMonth = "2027-04-02T00:00:00Z";
    await server.ok(MAINTENANCE, {}, { token: ADMIN, now: NOW });
    expect(await newEvents(m.finance.token)).toEqual([]); // the month has not ended
    await server.ok(MAINTENANCE, {}, { token: ADMIN, now: nextMonth });
    await server.ok(MAINTENANCE, {}, { token: ADMIN, now: nextMonth });
    const ready = await newEvents(m.finance.token);
    expect(ready.map((e) => [e.type, e.objectId])).toEqual([
      ["STATEMENT_READY", `statement_${keyOf(m.programId)}_${month}`],
    ]);
    expect(ready[0].payload).toMatchObject({ programId: m.programId, month, total: { amount: "120.00" } });
  });

  it("records nothing for a change that rolls back, and the same change's event when it commits", async () => {
    const reservationId = await reserve(server, m.sme);
    await newEvents(m.sme.token);
    await newEvents(m.operator.token);
    const key = keyOf(reservationId);
    const release = (tx: any) => tx.update(reservations).set({ status: "CANCELLED" }).where(eq(reservations.id, key));
    await expect(
      server.app.services.db.transaction(async (tx) => {
        await release(tx);
        throw new Error("rolled back");
      }),
    ).rejects.toThrow("rolled back");
    expect(await newEvents(m.operator.token)).toEqual([]);
    await server.app.services.db.transaction(release);
    expect((await newEvents(m.operator.token)).map((e) => [e.type, e.objectId])).toEqual([
      ["RESERVATION_RELEASED", reservationId],
    ]);
  });

  it("reads events after an id, of some types, and refuses an id that is not the caller's", async () => {
    const all = await eventsOf(m.sme.token);
    expect(all.length).toBeGreaterThan(4);
    const after = await eventsOf(m.sme.token, all[1].id);
    expect(after.map((e) => e.id)).toEqual(all.slice(2).map((e) => e.id));
    const paid = await eventsOf(m.sme.token, undefined, ["ORDER_PAID"]);
    expect(paid.map((e) => e.id)).toEqual(all.filter((e) => e.type === "ORDER_PAID").map((e) => e.id));
    const error = await server.fails("BAD_USER_INPUT", EVENTS, { after: all[0].id }, { token: m.operator.token });
    expect(error.extensions?.field).toBe("after");
    expect(await eventsOf(m.otherSme.token)).toEqual([]);
    await server.fails("UNAUTHENTICATED", EVENTS, {});
  });

  it("documents every type of the catalogue in docs/events.md: its name, enum value, audience and payload", () => {
    const docs = readFileSync("docs/events.md", "utf8");
    const audience = { SME: "SME", DATA_CENTER: "data center", CITY_FINANCE: "city finance" };
    const rows = docs.split("\n").filter((line) => /^\| `[a-z_]+\.[a-z_]+` \| `[A-Z_]+` \|/.test(line));
    expect(rows).toHaveLength(EVENT_KINDS.length);
    const expand = (row: string) =>
      row
        .replace("RES,", "`reservationId`, `offerId`, `gpuCount`, `startsAt`, `endsAt`, `status`, `total`,")
        .replace(/RES \|/, "`reservationId`, `offerId`, `gpuCount`, `startsAt`, `endsAt`, `status`, `total` |")
        .replace(
          /ORDER \|/,
          "`orderId`, `reservationId`, `status`, `gross`, `subsidy`, `smeShare`, `voucherId`, `paidAt` |",
        );
    for (const kind of EVENT_KINDS) {
      const row = rows.find((line) =>
        line.startsWith(`| \`${kind.name}\` | \`${kind.key}\` | ${audience[kind.audience]} |`),
      );
      expect(row, kind.name).toBeDefined();
      const payload = expand(row!).split(" | ").at(-1)!;
      expect([...payload.matchAll(/`(\w+)`/g)].map((match) => match[1]).sort(), kind.name).toEqual(
        [...kind.payload].sort(),
      );
    }
  });

  it("names every type of the catalogue in the schema, with its payload", async () => {
    const { __type } = await server.ok(`{ __type(name: "EventType") { enumValues { name description } } }`);
    expect(__type.enumValues.map((v: { name: string }) => v.name).sort()).toEqual(EVENT_KINDS.map((k) => k.key).sort());
    for (const kind of EVENT_KINDS) {
      const value = __type.enumValues.find((v: { name: string }) => v.name === kind.key);
      expect(value.description).toContain(kind.name);
      for (const field of kind.payload) expect(value.description).toContain(field);
    }
  });
});

describe("order.payment_failed and order.cancelled (Stripe)", () => {
  let stripe: TestServer;
  let fake: FakeStripe;
  let s: Market;

  beforeAll(async () => {
    fake = await FakeStripe.start({ webhookSecret: "whsec_events" });
    stripe = await startServer({
      STRIPE_SECRET_KEY: "sk_test_events",
      STRIPE_WEBHOOK_SECRET: "whsec_events",
      STRIPE_API_BASE: fake.url,
    });
    s = await market(stripe);
  });
  afterAll(async () => {
    await stripe?.close();
    await fake?.close();
  });

  it("records a payment declined through Stripe's webhook and a cancelled unpaid order for the SME", async () => {
    fake.webhookUrl = `${stripe.url}/webhooks/stripe`;
    const declined = await reserve(stripe, s.sme);
    const { checkout: unpaid } = await stripe.ok(
      CHECKOUT,
      { input: { reservationId: declined, voucherId: s.voucherId, idempotencyKey: "declined" } },
      { token: s.sme.token, now: NOW },
    );
    expect((await fake.fail(unpaid.payment.providerRef)).delivery?.status).toBe(200);
    const pending = await reserve(stripe, s.sme);
    const { checkout } = await stripe.ok(
      CHECKOUT,
      { input: { reservationId: pending, voucherId: s.voucherId, idempotencyKey: "pending" } },
      { token: s.sme.token, now: NOW },
    );
    expect(checkout.status).toBe("PENDING_PAYMENT");
    await stripe.ok(
      `mutation($id: ID!) { cancelOrder(id: $id) { status } }`,
      { id: checkout.id },
      { token: s.sme.token, now: NOW },
    );
    await settled(stripe);
    const { events } = await stripe.ok(
      EVENTS,
      { types: ["ORDER_PAYMENT_FAILED", "ORDER_CANCELLED"] },
      { token: s.sme.token },
    );
    expect(events.map((e: any) => [e.name, e.payload.status, e.payload.reservationId])).toEqual([
      ["order.payment_failed", "FAILED", declined],
      ["order.cancelled", "CANCELLED", pending],
    ]);
  });
});

describe("subscriptions over WebSocket", () => {
  it("reads the outbox only for the organizations subscribed to: an idle subscription costs no read", async () => {
    // The other tests' subscriptions end first, so only this test's are served.
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const busy = await organization(server, "SME", "Busy SME");
    const idle = await organization(server, "SME", "Idle SME");
    /** Queries the server sends while eight bids of the busy SME are matched and their events committed. */
    const queriesForEightBids = async () => {
      const before = server.queryCount();
      for (let i = 0; i < 8; i++) {
        await reserve(server, busy, 1, 2);
        await settled();
        await new Promise((resolve) => setTimeout(resolve, 100)); // time for the stream to read, if it would
      }
      return server.queryCount() - before;
    };
    const withoutSubscription = await queriesForEightBids();
    const watching = client(idle.token).subscribe(LIVE);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const withIdleSubscription = await queriesForEightBids();
    // Sixteen events of other organizations: no read of the outbox for them (at most the stream's safety
    // read every 5 s: the horizon and one read, two queries).
    expect(withIdleSubscription - withoutSubscription).toBeLessThanOrEqual(2);
    expect(watching.data).toEqual([]);

    // A subscription that starts now gets what comes after it, not the events the stream moved past.
    const own = client(busy.token).subscribe(LIVE, { types: ["BID_MATCHED"] });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const next = await reserve(server, busy, 1, 2);
    const [{ events: matched }] = await own.until(1);
    expect(matched.payload.reservationId).toBe(next);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(own.data).toHaveLength(1);
    expect(watching.data).toEqual([]);
  });

  it("pushes a matched bid to its SME and the reservation to the operator, as they commit", async () => {
    const sme = client(m.sme.token).subscribe(LIVE, { types: ["BID_MATCHED"] });
    const operator = client(m.operator.token).subscribe(LIVE);
    const other = client(m.otherSme.token).subscribe(LIVE);
    await new Promise((resolve) => setTimeout(resolve, 200)); // subscribed
    const reservationId = await reserve(server, m.sme);
    const [{ events: matched }] = await sme.until(1);
    expect(matched).toMatchObject({ type: "BID_MATCHED", name: "bid.matched", payload: { reservationId } });
    const [{ events: created }] = await operator.until(1);
    expect(created).toMatchObject({ type: "RESERVATION_CREATED", objectId: reservationId });
    // Another SME's subscription got none of it: the first thing it receives is its own bid.
    const own = await reserve(server, m.otherSme);
    const [{ events: first }] = await other.until(1);
    expect(first.payload.reservationId).toBe(own);
    expect(sme.data).toHaveLength(1);
  });

  it("resumes after the last event seen: exactly the missed events, then live ones, none twice", async () => {
    const first = client(m.sme.token);
    const live = first.subscribe(LIVE);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await reserve(server, m.sme);
    const [{ events: last }] = await live.until(1);
    await first.close();

    // Offline: two more bids matched.
    const missed = [await reserve(server, m.sme), await reserve(server, m.sme)];
    const resumed = client(m.sme.token).subscribe(LIVE, { after: last.id });
    const replayed = await resumed.until(2);
    expect(replayed.map((r: any) => r.events.payload.reservationId)).toEqual(missed);
    const latest = await reserve(server, m.sme);
    const all = await resumed.until(3);
    expect(all[2].events.payload.reservationId).toBe(latest);
    const ids = all.map((r: any) => r.events.id);
    expect(new Set(ids).size).toBe(ids.length);
    // The query catches up the same way.
    const caughtUp = await eventsOf(m.sme.token, last.id);
    expect(caughtUp.map((e) => e.id)).toEqual(ids);
  });

  it("follows one bid with bidUpdated and one order with orderUpdated, as they are now", async () => {
    const c = client(m.sme.token);
    const { placeBid } = await server.ok(
      `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id status } }`,
      {
        input: {
          gpuModel: "H800",
          gpuCount: 9,
          hours: 10,
          earliestStart: "2027-03-10T00:00:00Z",
          latestEnd: "2027-03-20T00:00:00Z",
          maxPricePerGpuHour: "50.00",
        },
      },
      { token: m.sme.token, now: NOW },
    );
    expect(placeBid.status).toBe("OPEN"); // no offer has 9 GPUs: it waits
    const bid = c.subscribe(`subscription($id: ID!) { bidUpdated(id: $id) { id status reservation { id status } } }`, {
      id: placeBid.id,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The operator offers more GPUs: the bid is matched by the re-match.
    await server.ok(
      `mutation($id: ID!) { updateOffer(id: $id, input: { gpuCount: 16 }) { id } }`,
      { id: m.offerId },
      { token: m.operator.token, now: NOW },
    );
    const [{ bidUpdated }] = await bid.until(1);
    expect(bidUpdated).toMatchObject({ id: placeBid.id, status: "MATCHED", reservation: { status: "HELD" } });

    const order = await server.ok(
      CHECKOUT,
      { input: { reservationId: bidUpdated.reservation.id, idempotencyKey: "events-follow" } },
      { token: m.sme.token, now: NOW },
    );
    const followed = c.subscribe(`subscription($id: ID!) { orderUpdated(id: $id) { id status } }`, {
      id: order.checkout.id,
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await server.ok(
      `mutation($id: ID!) { cancelOrder(id: $id) { status } }`,
      { id: order.checkout.id },
      { token: m.sme.token, now: NOW },
    );
    // The order as it is after each event about it: REFUNDED after the cancel (order.paid may come
    // first: it was committed just before the subscription started).
    await eventually(() => followed.data.some((d: any) => d.orderUpdated.status === "REFUNDED"));
    expect(followed.data.at(-1)).toEqual({ orderUpdated: { id: order.checkout.id, status: "REFUNDED" } });

    // Another SME's bid or order cannot be followed.
    const spy = client(m.otherSme.token).subscribe(`subscription($id: ID!) { bidUpdated(id: $id) { id } }`, {
      id: placeBid.id,
    });
    await expect(spy.until(1, 3_000)).rejects.toThrow(/NOT_FOUND/);
  });

  it("closes a connection without a valid API key, and refuses queries over WebSocket", async () => {
    expect(await client().closed).toBe(4403);
    expect(await client("gvm_not_a_key").closed).toBe(4403);
    const c = client(m.sme.token).subscribe(`{ me { role } }`);
    await expect(c.until(1, 3_000)).rejects.toThrow(/BAD_REQUEST/);
  });

  it("limits subscriptions per connection and connections per API key", async () => {
    const limited = await startServer({ WS_SUBSCRIPTIONS_PER_CONNECTION: "2", WS_CONNECTIONS_PER_KEY: "2" });
    try {
      const sme = await organization(limited, "SME", "Busy Screens Ltd");
      const c = subscriptionClient(limited.url, sme.token);
      const subs = [1, 2, 3].map(() => c.subscribe(LIVE));
      await expect(subs[2].until(1, 3_000)).rejects.toThrow(/RATE_LIMITED/);
      const second = subscriptionClient(limited.url, sme.token);
      const third = subscriptionClient(limited.url, sme.token);
      expect(await third.closed).toBe(4429);
      await Promise.all([c.close(), second.close()]);
    } finally {
      await limited.close();
    }
  });
});
