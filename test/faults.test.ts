// Faults under load, on a private PostgreSQL cluster (never the shared one): the database restarted
// under a stream of requests, SIGTERM with requests in flight, kill -9 in the middle of checkouts
// with Stripe. Whatever happens, clients get a clear code (never a 500 with a stack), the server
// recovers on its own, and every invariant of docs/domain.md holds afterwards.
import http from "node:http";
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import { grantVoucher, NOW } from "./support/market.js";
import { assertCapacityInvariants } from "./support/invariants.js";
import { brokenLedgerInvariants } from "./support/ledger-invariants.js";
import { FakeStripe } from "./support/fake-stripe.js";
import { startProcess, type ServerProcess } from "./support/processes.js";
import { startPgCluster, type PgCluster } from "./support/pg-cluster.js";
import { keyOf } from "./support/ids.js";

const BASE_ENV = {
  ADMIN_TOKEN: ADMIN,
  SEED: "none",
  ENABLE_TEST_CLOCK: "1",
  RATE_LIMIT_PER_MINUTE: "0",
  QUERY_POINTS_PER_MINUTE: "0",
  AUTH_FAILURES_PER_MINUTE: "0",
  MAINTENANCE_INTERVAL_MS: "0",
};
const PLACE_BID = `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id status reservation { id } } }`;
const CHECKOUT = `mutation($input: CheckoutInput!) { checkout(input: $input) { id status subsidy { fen } smeShare { fen } gross { fen } payment { providerRef status } } }`;
/** The codes a client may see while the database is away; anything else is a defect. */
const OUTAGE_CODES = new Set(["SERVICE_UNAVAILABLE"]);

const bidInput = (hour: number) => ({
  gpuModel: "H800",
  gpuCount: 1,
  hours: 1,
  earliestStart: new Date(Date.parse("2027-03-10T00:00:00Z") + hour * 3_600_000).toISOString(),
  latestEnd: "2027-03-30T00:00:00Z",
  maxPricePerGpuHour: "30.00",
});

interface Reply {
  /** HTTP status; 0 when no complete response arrived. */
  status: number;
  body: any;
  /** The raw text, to look for stack traces. */
  text: string;
  /** The socket error when no complete response arrived (ECONNREFUSED = never accepted). */
  error?: string;
  /** When the response was complete (monotonic ms). */
  at: number;
}

/**
 * One POST on a fresh connection (no keep-alive), so a refused connection and a response cut off
 * mid-way are told apart.
 */
function send(
  url: string,
  query: string,
  variables: Record<string, unknown>,
  options: { token?: string; now?: string } = {},
): Promise<Reply> {
  return new Promise((resolve) => {
    const body = JSON.stringify({ query, variables });
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
    };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.now) headers["x-now"] = options.now;
    const request = http.request(`${url}/graphql`, { method: "POST", headers, agent: false }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => {
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(text);
        } catch {
          // reported through `body: null`
        }
        resolve({ status: response.statusCode ?? 0, body: parsed, text, at: performance.now() });
      });
      response.on("error", (error: NodeJS.ErrnoException) =>
        resolve({ status: 0, body: null, text, error: error.code ?? error.message, at: performance.now() }),
      );
    });
    request.on("error", (error: NodeJS.ErrnoException) =>
      resolve({ status: 0, body: null, text: "", error: error.code ?? error.message, at: performance.now() }),
    );
    request.end(body);
  });
}

const codesOf = (reply: Reply): string[] =>
  (reply.body?.errors ?? []).map((e: { extensions?: { code?: string } }) => e.extensions?.code ?? "NONE");

/** A defect in a reply: a 500, a stack trace, a body that is not GraphQL JSON, or an unexpected code. */
function defectOf(reply: Reply, allowed: Set<string>): string | null {
  if (reply.status === 0) return `no response (${reply.error})`;
  if (reply.status >= 500 && reply.status !== 503) return `HTTP ${reply.status}: ${reply.text.slice(0, 300)}`;
  if (/\bat .+:\d+:\d+\)?/.test(reply.text) || /stacktrace/i.test(reply.text))
    return `a stack trace: ${reply.text.slice(0, 300)}`;
  if (!reply.body || (!reply.body.data && !reply.body.errors))
    return `not a GraphQL response: ${reply.text.slice(0, 300)}`;
  const unexpected = codesOf(reply).filter((c) => !allowed.has(c));
  return unexpected.length ? `unexpected codes ${unexpected.join(",")}: ${reply.text.slice(0, 300)}` : null;
}

interface World {
  operator: Actor;
  smes: { actor: Actor; voucherId: string }[];
  finance: Actor;
  offerId: string;
  programId: string;
}

/** An operator with one large offer, a Shanghai program and SMEs holding vouchers, through the API. */
async function buildWorld(server: ServerProcess, smeCount: number): Promise<World> {
  const api = server as unknown as TestServer;
  const operator = await organization(api, "DATA_CENTER_OPERATOR", "Fault Cloud");
  const dc = await dataCenter(api, operator, "Ningxia Zhongwei", "Zhongwei DC-9", "Ningxia");
  const offerId = await publishOffer(
    api,
    operator,
    {
      dataCenterId: dc,
      gpuModel: "H800",
      gpuCount: 64,
      pricePerGpuHour: "20.00",
      availableFrom: "2027-03-10T00:00:00Z",
      availableUntil: "2027-03-30T00:00:00Z",
    },
    NOW,
  );
  const finance = await organization(api, "CITY_FINANCE", "Fault City Finance", "Shanghai");
  const { createSubsidyProgram } = await api.ok(
    `mutation($input: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $input) { id } }`,
    {
      input: {
        name: "Fault Program",
        budget: "100000.00",
        rateBasisPoints: 3000,
        validFrom: "2027-01-01T00:00:00Z",
        validUntil: "2027-12-31T00:00:00Z",
      },
    },
    { token: finance.token, now: NOW },
  );
  const smes = [];
  for (let i = 0; i < smeCount; i++) {
    const actor = await organization(api, "SME", `Fault SME ${i}`, "Shanghai");
    smes.push({ actor, voucherId: await grantVoucher(api, actor, finance, createSubsidyProgram.id, "5000.00") });
  }
  return { operator, smes, finance, offerId, programId: createSubsidyProgram.id };
}

/** Every invariant over the whole database, at the clock `now` (holds lapsed before it do not count). */
async function assertAllInvariants(sql: postgres.Sql, now?: Date) {
  const run = async (text: string, params: unknown[] = []) =>
    (await sql.unsafe(text, params as never[])) as unknown as any[];
  await assertCapacityInvariants(run, now);
  expect(await brokenLedgerInvariants(run)).toEqual([]);
  // Every order has its ledger entries: a reserve when it took a subsidy, a post when it is paid,
  // a void when it failed or was cancelled, and nothing else.
  const ledgerless = await run(`
    select o.id, o.status, o.subsidy,
      count(*) filter (where e.kind = 'RESERVE') as reserves,
      count(*) filter (where e.kind = 'POST') as posts,
      count(*) filter (where e.kind = 'VOID') as voids
    from orders o left join ledger_entries e on e.order_id = o.id
    where o.subsidy > 0
    group by o.id
    having count(*) filter (where e.kind = 'RESERVE') <> 1
        or count(*) filter (where e.kind = 'POST') <> (case when o.status in ('PAID', 'REFUNDED') then 1 else 0 end)
        or count(*) filter (where e.kind = 'VOID') <> (case when o.status in ('FAILED', 'CANCELLED') then 1 else 0 end)`);
  expect(ledgerless).toEqual([]);
  // A paid order has its claim line for the city.
  expect(
    await run(
      `select o.id from orders o left join claim_lines c on c.order_id = o.id where o.status = 'PAID' and o.subsidy > 0 and c.order_id is null`,
    ),
  ).toEqual([]);
  // Each committed bid and order has exactly one audit entry, written in its own transaction.
  expect(
    await run(
      `select b.id from bids b left join audit_log a on a.action = 'PLACE_BID' and a.target_id = b.id::text group by b.id having count(a.id) <> 1`,
    ),
  ).toEqual([]);
  expect(
    await run(
      `select o.id from orders o left join audit_log a on a.action = 'CHECKOUT' and a.target_id = o.id::text group by o.id having count(a.id) <> 1`,
    ),
  ).toEqual([]);
}

/** Each SME places `perSme` bids that match at once; the HELD reservations, with their owner. */
async function holdReservations(server: ServerProcess, world: World, perSme: number) {
  const held = await Promise.all(
    world.smes.flatMap((sme, i) =>
      Array.from({ length: perSme }, (_, j) =>
        server
          .ok(PLACE_BID, { input: bidInput(i * perSme + j) }, { token: sme.actor.token, now: NOW })
          .then((r) => ({ sme, reservationId: r.placeBid.reservation.id as string, key: `fault-${i}-${j}` })),
      ),
    ),
  );
  return held;
}

/** How the process ended; one that is still there after 10 s is killed (and ends with SIGKILL). */
function exitOf(server: ServerProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const child = server.child;
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  const hung = setTimeout(() => child.kill("SIGKILL"), 10_000);
  return new Promise((resolve) =>
    child.once("exit", (code, signal) => {
      clearTimeout(hung);
      resolve({ code, signal });
    }),
  );
}

describe.runIf(!!process.env.DATABASE_URL)("faults on a private PostgreSQL cluster", () => {
  let cluster: PgCluster;
  let sequence = 0;
  const servers: ServerProcess[] = [];
  const clients: postgres.Sql[] = [];
  let fake: FakeStripe | undefined;

  async function database() {
    const url = await cluster.createDatabase(`faults_${++sequence}_${randomBytes(3).toString("hex")}`);
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    clients.push(sql);
    return { url, sql };
  }

  async function serverOn(url: string, env: Record<string, string> = {}) {
    const server = await startProcess({ ...BASE_ENV, DATABASE_URL: url, ...env });
    servers.push(server);
    return server;
  }

  beforeAll(async () => {
    cluster = await startPgCluster();
  });

  afterAll(async () => {
    for (const server of servers) {
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill("SIGKILL");
    }
    await Promise.all(clients.map((c) => c.end({ timeout: 1 }).catch(() => {})));
    await fake?.close();
    await cluster?.destroy();
  });

  it("PostgreSQL restarted under load: clear codes while it is down, the same process answers once it is back", async () => {
    const { url, sql } = await database();
    const server = await serverOn(url, { DB_POOL_SIZE: "5" });
    const pid = server.child.pid;
    const world = await buildWorld(server, 4);

    const replies: { kind: string; reply: Reply }[] = [];
    let stop = false;
    let hour = 0;
    const worker = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const sme = world.smes[(n + i) % world.smes.length].actor;
        const kind = ["offers", "myBids", "placeBid", "me-new-token", "placeBid"][i % 5];
        let reply: Reply;
        if (kind === "offers") {
          reply = await send(
            server.url,
            `{ offers(first: 5) { totalCount edges { node { id freeGpus(from: "2027-03-10T00:00:00Z", to: "2027-03-11T00:00:00Z") } } } }`,
            {},
            { now: NOW },
          );
        } else if (kind === "myBids") {
          reply = await send(
            server.url,
            `{ myBids(first: 5) { totalCount edges { node { id status } } } }`,
            {},
            { token: sme.token, now: NOW },
          );
        } else if (kind === "me-new-token") {
          // A token the server has not cached: authentication itself needs the database.
          reply = await send(
            server.url,
            `{ me { role } }`,
            {},
            { token: `gvm_${randomBytes(16).toString("hex")}`, now: NOW },
          );
        } else {
          reply = await send(server.url, PLACE_BID, { input: bidInput(hour++ % 400) }, { token: sme.token, now: NOW });
        }
        replies.push({ kind, reply });
      }
    };
    const load = Array.from({ length: 6 }, (_, n) => worker(n));

    await new Promise((resolve) => setTimeout(resolve, 700));
    const before = replies.length;
    await cluster.restart(800);
    const restartedAt = replies.length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    stop = true;
    await Promise.all(load);

    // The load did run on both sides of the restart.
    expect(before).toBeGreaterThan(10);
    expect(replies.length).toBeGreaterThan(restartedAt);
    const defects = replies
      .map(({ kind, reply }) => ({
        kind,
        defect: defectOf(reply, kind === "me-new-token" ? new Set([...OUTAGE_CODES, "UNAUTHENTICATED"]) : OUTAGE_CODES),
      }))
      .filter((d) => d.defect);
    expect(defects.slice(0, 5)).toEqual([]);
    // The outage was seen, and with the clear code.
    const unavailable = replies.filter(({ reply }) => codesOf(reply).includes("SERVICE_UNAVAILABLE"));
    expect(unavailable.length).toBeGreaterThan(0);

    // The same process (not restarted) answers again: postgres-js reconnects on its own.
    let recovered = false;
    for (let attempt = 0; attempt < 100 && !recovered; attempt++) {
      const reply = await send(
        server.url,
        PLACE_BID,
        { input: bidInput(401) },
        { token: world.smes[0].actor.token, now: NOW },
      );
      recovered = reply.status === 200 && codesOf(reply).length === 0;
      if (!recovered) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(recovered).toBe(true);
    expect(server.child.exitCode).toBeNull();
    expect(server.child.pid).toBe(pid);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    const fresh = await send(server.url, `{ me { role } }`, {}, { token: `gvm_${randomBytes(16).toString("hex")}` });
    expect(codesOf(fresh)).toEqual(["UNAUTHENTICATED"]);

    // Every bid a client was told about exists as it was told.
    const placed = replies
      .filter(({ kind, reply }) => kind === "placeBid" && reply.body?.data?.placeBid)
      .map(({ reply }) => reply.body.data.placeBid);
    expect(placed.length).toBeGreaterThan(0);
    const stored = await sql.unsafe(`select 'bid_' || id as id, status from bids where id = any($1::bigint[])`, [
      placed.map((b) => keyOf(b.id)),
    ] as never[]);
    expect(new Map(stored.map((r) => [r.id, r.status]))).toEqual(new Map(placed.map((b) => [b.id, b.status])));
    await assertAllInvariants(sql, new Date(NOW));
  });

  it("SIGTERM under load: requests in flight finish, the process exits 0, nothing is half-written", async () => {
    const { url, sql } = await database();
    const server = await serverOn(url);
    const world = await buildWorld(server, 6);
    const held = await holdReservations(server, world, 4);

    // A burst of checkouts (simulated provider: paid within the request), bids and reads, each on
    // its own connection; SIGTERM as soon as the first answer is back, the others still in flight.
    const requests: { kind: string; reply: Promise<Reply> }[] = [
      ...held.map((h) => ({
        kind: "checkout",
        reply: send(
          server.url,
          CHECKOUT,
          { input: { reservationId: h.reservationId, voucherId: h.sme.voucherId, idempotencyKey: h.key } },
          { token: h.sme.actor.token, now: NOW },
        ),
      })),
      ...Array.from({ length: 24 }, (_, n) => ({
        kind: "placeBid",
        reply: send(
          server.url,
          PLACE_BID,
          { input: bidInput(100 + n) },
          { token: world.smes[n % world.smes.length].actor.token, now: NOW },
        ),
      })),
      ...Array.from({ length: 12 }, () => ({
        kind: "offers",
        reply: send(server.url, `{ offers(first: 10) { totalCount edges { node { id } } } }`, {}, { now: NOW }),
      })),
    ];
    await Promise.race(requests.map((r) => r.reply));
    const signalledAt = performance.now();
    server.child.kill("SIGTERM");
    const replies = await Promise.all(requests.map(async (r) => ({ kind: r.kind, reply: await r.reply })));
    const exit = await exitOf(server);

    expect(exit).toEqual({ code: 0, signal: null });
    // Every request either got its whole answer, without any error, or was never accepted.
    const broken = replies.filter(({ reply }) =>
      reply.status === 0 ? reply.error !== "ECONNREFUSED" : defectOf(reply, new Set()) !== null,
    );
    expect(broken.map(({ kind, reply }) => [kind, reply.status, reply.error ?? reply.text.slice(0, 200)])).toEqual([]);
    // Requests were in flight when the signal came, and they were answered.
    expect(replies.filter(({ reply }) => reply.status === 200 && reply.at > signalledAt).length).toBeGreaterThan(0);

    // What clients were told is what the database holds, and nothing is half-done.
    const paid = replies
      .filter(({ kind, reply }) => kind === "checkout" && reply.body?.data)
      .map(({ reply }) => reply.body.data.checkout);
    expect(paid.length).toBeGreaterThan(0);
    for (const order of paid) expect(order.status).toBe("PAID");
    const stored = await sql.unsafe(`select 'order_' || id as id, status from orders`);
    expect(new Map(stored.map((r) => [r.id, r.status]))).toEqual(new Map(paid.map((o) => [o.id, "PAID"])));
    await assertAllInvariants(sql, new Date(NOW));
  });

  it("kill -9 during Stripe checkouts: after a restart, maintenance finishes or voids every order past its payment window", async () => {
    const secret = "whsec_faults";
    fake = await FakeStripe.start({ webhookSecret: secret });
    const stripeEnv = { STRIPE_SECRET_KEY: "sk_test_faults", STRIPE_WEBHOOK_SECRET: secret, STRIPE_API_BASE: fake.url };
    const { url, sql } = await database();
    const first = await serverOn(url, stripeEnv);
    fake.webhookUrl = `${first.url}/webhooks/stripe`;
    const world = await buildWorld(first, 6);
    const held = await holdReservations(first, world, 4);

    const checkouts = held.map((h) =>
      send(
        first.url,
        CHECKOUT,
        { input: { reservationId: h.reservationId, voucherId: h.sme.voucherId, idempotencyKey: h.key } },
        { token: h.sme.actor.token, now: NOW },
      ),
    );
    await Promise.race(checkouts);
    first.child.kill("SIGKILL");
    const replies = await Promise.all(checkouts);
    expect((await exitOf(first)).signal).toBe("SIGKILL");
    // Some checkouts were cut off by the kill: that is the point of this test.
    expect(replies.filter((r) => r.status === 0).length).toBeGreaterThan(0);
    const answered = replies.filter((r) => r.body?.data?.checkout).map((r) => r.body.data.checkout);
    expect(answered.length).toBeGreaterThan(0);
    for (const order of answered) expect(order.status).toBe("PENDING_PAYMENT");

    // While the server is down, the SMEs that got a client secret pay; the webhooks are lost.
    fake.webhookUrl = undefined;
    const paidAtStripe = answered.slice(0, 2).map((o) => o.payment.providerRef as string);
    for (const ref of paidAtStripe) await fake.succeed(ref);

    const second = await serverOn(url, stripeEnv);
    fake.webhookUrl = `${second.url}/webhooks/stripe`;
    const later = new Date(Date.parse(NOW) + 61 * 60_000).toISOString();
    const { runMaintenance } = await second.ok(
      `mutation { runMaintenance { task changed } }`,
      {},
      { token: ADMIN, now: later },
    );
    expect(runMaintenance.find((r: { task: string }) => r.task === "reconcile-payments").changed).toBeGreaterThan(0);

    // No order is left waiting past its window: paid when the money was taken, voided otherwise.
    const orders = await sql.unsafe(`select id::text, status, payment_ref, payment_status from orders order by id`);
    expect(orders.length).toBeGreaterThanOrEqual(answered.length);
    expect(orders.filter((o) => o.status === "PENDING_PAYMENT")).toEqual([]);
    for (const ref of paidAtStripe) expect(orders.find((o) => o.payment_ref === ref)?.status).toBe("PAID");
    expect(orders.filter((o) => !["PAID", "FAILED", "CANCELLED"].includes(o.status))).toEqual([]);
    // Every intent Stripe holds for a voided order is cancelled there, so nobody can pay it later.
    const byOrder = new Map(orders.map((o) => [o.id, o]));
    for (const intent of fake.intents.values()) {
      const order = byOrder.get(intent.metadata.orderId);
      expect(order, `intent ${intent.id} has an order`).toBeDefined();
      if (order!.status === "PAID") expect(intent.status).toBe("succeeded");
      else expect([intent.id, intent.status]).toEqual([intent.id, "canceled"]);
    }
    // A voided order's capacity is free again.
    expect(
      await sql.unsafe(
        `select o.id from orders o join reservations r on r.id = o.reservation_id where o.status <> 'PAID' and r.status in ('HELD', 'CONFIRMED')`,
      ),
    ).toEqual([]);
    await assertAllInvariants(sql, new Date(later));
    // And the new process serves as usual.
    expect((await second.ok(`{ me { role } }`, {}, { token: world.smes[0].actor.token })).me.role).toBe("SME");
  });
});
