// Events across server processes on one PostgreSQL: a subscription on one process receives what
// another commits (LISTEN/NOTIFY), webhook deliveries are shared by the processes' workers without
// sending one twice (FOR UPDATE SKIP LOCKED), and a process killed with SIGKILL between the commit
// and the delivery loses nothing. PostgreSQL only; the embedded database's subscriptions are in
// events.test.ts.
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, freshPostgresDatabase, type TestServer } from "./support/harness.js";
import { market, NOW, reserve, type Market } from "./support/market.js";
import { startProcess, type ServerProcess } from "./support/processes.js";
import { Receiver } from "./support/receiver.js";
import { eventually, subscriptionClient } from "./support/subscriptions.js";

const CREATE = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { secret endpoint { id } } }`;

describe.runIf(!!process.env.DATABASE_URL)("events on two server processes sharing one PostgreSQL", () => {
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let receiver: Receiver;
  let servers: ServerProcess[] = [];
  let m: Market;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await freshPostgresDatabase();
    receiver = await Receiver.start();
    env = {
      DATABASE_URL: database.url,
      ADMIN_TOKEN: ADMIN,
      SEED: "none",
      ENABLE_TEST_CLOCK: "1",
      RATE_LIMIT_PER_MINUTE: "0",
      QUERY_POINTS_PER_MINUTE: "0",
      MAINTENANCE_INTERVAL_MS: "0",
      WEBHOOK_ALLOW_PRIVATE: "1",
      WEBHOOK_POLL_MS: "200",
      WEBHOOK_TIMEOUT_MS: "1000",
      WEBHOOK_RETRY_SCHEDULE: "0.2,0.2,0.2",
    };
    servers = await Promise.all([startProcess(env), startProcess(env)]);
    m = await market(servers[0] as unknown as TestServer);
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await receiver?.close();
    await database?.drop();
  });

  it("a subscription on one process receives bid.matched for a bid matched on the other", async () => {
    const [a, b] = servers;
    const client = subscriptionClient(a.url, m.sme.token);
    const operatorClient = subscriptionClient(a.url, m.operator.token);
    try {
      const sme = client.subscribe(`subscription { events(types: [BID_MATCHED]) { id name payload } }`);
      const operator = operatorClient.subscribe(`subscription { events { name objectId } }`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const reservationId = await reserve(b as unknown as TestServer, m.sme);
      const [{ events }] = await sme.until(1);
      expect(events).toMatchObject({ name: "bid.matched", payload: { reservationId } });
      const [{ events: created }] = await operator.until(1);
      expect(created).toEqual({ name: "reservation.created", objectId: reservationId });
    } finally {
      await client.close();
      await operatorClient.close();
    }
  });

  it("two processes' workers share the deliveries: each event reaches the receiver exactly once", async () => {
    const { createWebhookEndpoint } = await servers[0].ok(
      CREATE,
      { input: { url: `${receiver.url}/shared`, types: ["BID_MATCHED"] } },
      { token: m.sme.token },
    );
    const bids = 20;
    const placed = await Promise.all(
      Array.from({ length: bids }, (_, i) =>
        servers[i % 2].ok(
          `mutation($input: PlaceBidInput!) { placeBid(input: $input) { status } }`,
          {
            input: {
              gpuModel: "H800",
              gpuCount: 1,
              hours: 2,
              earliestStart: "2027-03-10T00:00:00Z",
              latestEnd: "2027-03-20T00:00:00Z",
              maxPricePerGpuHour: "50.00",
            },
          },
          { token: m.sme.token, now: NOW },
        ),
      ),
    );
    expect(placed.every((p) => p.placeBid.status === "MATCHED")).toBe(true);
    await eventually(() => receiver.on("/shared").length >= bids);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const ids = receiver.on("/shared").map((r) => r.headers["webhook-id"]);
    expect(ids).toHaveLength(bids);
    expect(new Set(ids).size).toBe(bids);
    for (const request of receiver.on("/shared"))
      expect(() => new Webhook(createWebhookEndpoint.secret).verify(request.body, request.headers)).not.toThrow();
  });

  it("a process killed with SIGKILL between the commit and the delivery loses nothing: delivered after restart", async () => {
    // Only one process from here: the one killed.
    await servers[1].stop();
    const { createWebhookEndpoint } = await servers[0].ok(
      CREATE,
      { input: { url: `${receiver.url}/killed`, types: ["BID_MATCHED"] } },
      { token: m.sme.token },
    );
    receiver.answer("/killed", "hang"); // the first attempt never gets its answer
    const reservationId = await reserve(servers[0] as unknown as TestServer, m.sme);
    await eventually(() => receiver.on("/killed").length >= 1);
    servers[0].child.kill("SIGKILL");
    await new Promise((resolve) => servers[0].child.once("exit", resolve));

    servers[0] = await startProcess(env);
    const [first, again] = await eventually(() => receiver.on("/killed").length >= 2 && receiver.on("/killed"), 20_000);
    expect(again.headers["webhook-id"]).toBe(first.headers["webhook-id"]);
    const body = new Webhook(createWebhookEndpoint.secret).verify(again.body, again.headers) as any;
    expect(body.data.reservationId).toBe(reservationId);
    // Recorded once the answer came: DELIVERED, after an attempt that never got its answer.
    await eventually(async () => {
      const { webhookDeliveries } = await servers[0].ok(
        `query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { node { status } } } }`,
        { id: createWebhookEndpoint.endpoint.id },
        { token: m.sme.token },
      );
      return webhookDeliveries.edges.map((e: any) => e.node.status).join() === "DELIVERED";
    });
  });
});
