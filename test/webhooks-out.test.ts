// Outbound webhooks as a back end receives them (not Stripe's incoming ones: webhooks.test.ts): a
// local receiver checks each request's Standard Webhooks signature with the `standardwebhooks`
// package, gets each event once, gets it again after failures on the backoff schedule (shortened
// here), and never another organization's. URLs to private addresses are refused unless allowed.
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { keyOf } from "./support/ids.js";
import { organization } from "./support/fixtures.js";
import { market, NOW, reserve, type Market } from "./support/market.js";
import { Receiver } from "./support/receiver.js";
import { eventually } from "./support/subscriptions.js";

const CREATE = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { secret endpoint { id url types status } } }`;
const DELIVERIES = `query($id: ID!) { webhookDeliveries(endpointId: $id, first: 50) { totalCount edges { node {
  id status deliveredAt event { id name } attempts { attempt succeeded responseStatus latencyMs error } } } } }`;

let server: TestServer;
let receiver: Receiver;
let m: Market;

beforeAll(async () => {
  receiver = await Receiver.start();
  server = await startServer({
    WEBHOOK_ALLOW_PRIVATE: "1",
    WEBHOOK_RETRY_SCHEDULE: "0.2,0.2,0.2",
    WEBHOOK_POLL_MS: "100",
    WEBHOOK_TIMEOUT_MS: "2000",
  });
  m = await market(server);
});

afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

async function endpoint(token: string, path: string, types?: string[]) {
  const { createWebhookEndpoint } = await server.ok(
    CREATE,
    { input: { url: `${receiver.url}${path}`, types } },
    { token },
  );
  return createWebhookEndpoint as { secret: string; endpoint: { id: string; status: string; types: string[] } };
}

const verified = (secret: string, request: { headers: Record<string, string>; body: string }) =>
  new Webhook(secret).verify(request.body, request.headers) as { type: string; timestamp: string; data: any };

describe("outbound webhooks", () => {
  it("delivers each event once, signed per Standard Webhooks, only the endpoint's types", async () => {
    const all = await endpoint(m.sme.token, "/sme-all");
    const paidOnly = await endpoint(m.sme.token, "/sme-paid", ["ORDER_PAID"]);
    expect(all.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(paidOnly.endpoint.types).toEqual(["ORDER_PAID"]);
    const reservationId = await reserve(server, m.sme);
    const [request] = await eventually(() => receiver.on("/sme-all").length >= 1 && receiver.on("/sme-all"));
    const body = verified(all.secret, request);
    expect(body).toMatchObject({ type: "bid.matched", data: { reservationId, status: "HELD" } });
    expect(request.headers["webhook-id"]).toMatch(/^event_\d+$/);
    expect(Math.abs(Number(request.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
    // Another secret does not verify it: the signature is the endpoint's.
    expect(() => verified(paidOnly.secret, request)).toThrow();
    // Once: a moment later there is still one request, and the delivery is DELIVERED after one attempt.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.on("/sme-all")).toHaveLength(1);
    expect(receiver.on("/sme-paid")).toHaveLength(0);
    const { webhookDeliveries } = await server.ok(DELIVERIES, { id: all.endpoint.id }, { token: m.sme.token });
    expect(webhookDeliveries.edges.map((e: any) => [e.node.status, e.node.event.id, e.node.attempts.length])).toEqual([
      ["DELIVERED", request.headers["webhook-id"], 1],
    ]);
    expect(webhookDeliveries.edges[0].node.attempts[0]).toMatchObject({ succeeded: true, responseStatus: 200 });
  });

  it("retries a receiver that answers 500 twice: the third attempt delivers", async () => {
    const { secret, endpoint: e } = await endpoint(m.operator.token, "/operator");
    receiver.answer("/operator", 500, 500);
    const reservationId = await reserve(server, m.sme);
    const requests = await eventually(() => receiver.on("/operator").length >= 3 && receiver.on("/operator"));
    expect(new Set(requests.map((r) => r.headers["webhook-id"])).size).toBe(1); // the same message each time
    for (const request of requests) expect(verified(secret, request).data.reservationId).toBe(reservationId);
    const delivery = await eventually(async () => {
      const { webhookDeliveries } = await server.ok(DELIVERIES, { id: e.id }, { token: m.operator.token });
      const node = webhookDeliveries.edges[0]?.node;
      return node?.status === "DELIVERED" && node;
    });
    expect(delivery.attempts.map((a: any) => [a.attempt, a.succeeded, a.responseStatus])).toEqual([
      [1, false, 500],
      [2, false, 500],
      [3, true, 200],
    ]);
    for (const attempt of delivery.attempts) expect(attempt.latencyMs).toBeGreaterThanOrEqual(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.on("/operator")).toHaveLength(3);
  });

  it("marks the endpoint FAILING when every retry failed, and ACTIVE again after a success", async () => {
    const sme = await organization(server, "SME", "Flaky Receiver Ltd");
    const { endpoint: e } = await endpoint(sme.token, "/flaky");
    receiver.answer("/flaky", 503, 503, 503, 503);
    await reserve(server, sme);
    await eventually(async () => {
      const { webhookEndpoints } = await server.ok(
        `{ webhookEndpoints { id status failingSince } }`,
        {},
        { token: sme.token },
      );
      return webhookEndpoints[0].status === "FAILING";
    });
    const { webhookDeliveries } = await server.ok(DELIVERIES, { id: e.id }, { token: sme.token });
    expect(webhookDeliveries.edges[0].node.status).toBe("FAILED");
    expect(webhookDeliveries.edges[0].node.attempts).toHaveLength(4); // the first and three retries
    // Redelivered by hand, with the same webhook-id: delivered, and the endpoint ACTIVE again.
    const eventId = webhookDeliveries.edges[0].node.event.id;
    const { redeliverEvent } = await server.ok(
      `mutation($id: ID!) { redeliverEvent(id: $id) { status } }`,
      { id: eventId },
      { token: sme.token },
    );
    expect(redeliverEvent).toEqual([{ status: "PENDING" }]);
    await eventually(async () => {
      const { webhookEndpoints } = await server.ok(`{ webhookEndpoints { status } }`, {}, { token: sme.token });
      return webhookEndpoints[0].status === "ACTIVE";
    });
    expect(receiver.on("/flaky").at(-1)!.headers["webhook-id"]).toBe(eventId);
  });

  it("never delivers or redelivers another organization's events, and hides its endpoints", async () => {
    const other = await endpoint(m.otherSme.token, "/other");
    const before = receiver.on("/sme-all").length;
    await reserve(server, m.sme);
    await eventually(() => receiver.on("/sme-all").length > before);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.on("/other")).toHaveLength(0);
    const smeEvent = receiver.on("/sme-all").at(-1)!.headers["webhook-id"];
    await server.fails(
      "NOT_FOUND",
      `mutation($id: ID!) { redeliverEvent(id: $id) { status } }`,
      { id: smeEvent },
      { token: m.otherSme.token },
    );
    await server.fails("NOT_FOUND", DELIVERIES, { id: other.endpoint.id }, { token: m.sme.token });
    await server.fails(
      "NOT_FOUND",
      `mutation($id: ID!) { disableWebhookEndpoint(id: $id) { id } }`,
      { id: other.endpoint.id },
      { token: m.sme.token },
    );
    const { webhookEndpoints } = await server.ok(`{ webhookEndpoints { id } }`, {}, { token: m.otherSme.token });
    expect(webhookEndpoints).toEqual([{ id: other.endpoint.id }]);
  });

  it("rotates the secret: for a while both the new and the old one verify; a disabled endpoint gets nothing", async () => {
    const sme = await organization(server, "SME", "Rotating Keys Ltd");
    const first = await endpoint(sme.token, "/rotating");
    const { rotateWebhookSecret } = await server.ok(
      `mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { id previousSecretValidUntil } } }`,
      { id: first.endpoint.id },
      { token: sme.token },
    );
    expect(rotateWebhookSecret.secret).not.toBe(first.secret);
    expect(rotateWebhookSecret.endpoint.previousSecretValidUntil).not.toBeNull();
    await reserve(server, sme);
    const [request] = await eventually(() => receiver.on("/rotating").length >= 1 && receiver.on("/rotating"));
    expect(verified(rotateWebhookSecret.secret, request).type).toBe("bid.matched");
    expect(verified(first.secret, request).type).toBe("bid.matched");

    const { disableWebhookEndpoint } = await server.ok(
      `mutation($id: ID!) { disableWebhookEndpoint(id: $id) { status } }`,
      { id: first.endpoint.id },
      { token: sme.token },
    );
    expect(disableWebhookEndpoint.status).toBe("DISABLED");
    await reserve(server, sme);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.on("/rotating")).toHaveLength(1);
  });
});

describe("retention", () => {
  it("prunes events older than EVENT_RETENTION_DAYS whose deliveries are done, keeping one still pending", async () => {
    const sme = await organization(server, "SME", "Old Events Ltd");
    await endpoint(sme.token, "/old");
    await reserve(server, sme);
    await reserve(server, sme);
    const org = keyOf(sme.id);
    const delivered = `select count(*)::int as n from webhook_deliveries d join events e on e.id = d.event_id
      where e.organization_id = $1 and d.status = 'DELIVERED'`;
    await eventually(async () => (await server.sql(delivered, [org]))[0].n === 2);
    // Read once final (every older transaction on the PostgreSQL server has ended).
    const events = await eventually(async () => {
      const { events } = await server.ok(`{ events { id } }`, {}, { token: sme.token });
      return events.length === 2 && (events as { id: string }[]);
    });
    // Both recorded 31 days ago; the second one's delivery is due again (as after a redelivery).
    await server.sql(`update events set created_at = now() - interval '31 days' where organization_id = $1`, [org]);
    await server.sql(
      `update webhook_deliveries set status = 'PENDING', next_attempt_at = now() + interval '1 day' where event_id = $1`,
      [keyOf(events[1].id)],
    );
    const { runMaintenance } = await server.ok(`mutation { runMaintenance { task changed } }`, {}, { token: ADMIN });
    expect(runMaintenance.find((t: { task: string }) => t.task === "events.prune")).toEqual({
      task: "events.prune",
      changed: 1,
    });
    const after = await server.ok(`{ events { id } }`, {}, { token: sme.token });
    expect(after.events).toEqual([{ id: events[1].id }]);
  });
});

describe("where webhooks may go", () => {
  let strict: TestServer;
  let sme: { token: string };
  beforeAll(async () => {
    strict = await startServer();
    sme = await organization(strict, "SME", "Careful Ltd");
  });
  afterAll(async () => strict?.close());

  it("refuses loopback, private and link-local addresses, and anything but http and https", async () => {
    for (const url of [
      "http://127.0.0.1:8080/hook",
      "http://localhost/hook",
      "http://10.1.2.3/hook",
      "http://192.168.0.10/hook",
      "http://172.20.0.1/hook",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]/hook",
      "http://[fd00::1]/hook",
      "http://[::ffff:127.0.0.1]/hook",
      "http://0.0.0.0/hook",
      "ftp://203.0.114.1/hook",
      "file:///etc/passwd",
      "not a url",
      "https://user:pass@203.0.114.1/hook",
    ]) {
      const error = await strict.fails("BAD_USER_INPUT", CREATE, { input: { url } }, { token: sme.token });
      expect(error.extensions?.field).toBe("url");
    }
    const { createWebhookEndpoint } = await strict.ok(
      CREATE,
      { input: { url: "https://203.0.114.1/hook" } },
      { token: sme.token },
    );
    expect(createWebhookEndpoint.endpoint.status).toBe("ACTIVE");
    await strict.fails("FORBIDDEN", `{ webhookEndpoints { id } }`, {}, { token: "test-admin-token" });
  });
});

void NOW;
