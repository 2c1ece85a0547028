// Rate limits across processes: two server processes with REDIS_URL allow each limit once in
// total (the query budget, mutation fields, failed authentications); without it each process
// counts its own. Needs Redis at REDIS_TEST_URL (default redis://127.0.0.1:6379; .ci/run starts it).
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { freePort, startProcess, type ServerProcess } from "./support/processes.js";
import { scrape } from "./support/prometheus.js";

const REDIS_URL = process.env.REDIS_TEST_URL ?? "redis://127.0.0.1:6379";

const LIMITS = {
  QUERY_POINTS_PER_MINUTE: "10", // `{ gpuModels { name } }` costs 2: five fit in a minute
  RATE_LIMIT_PER_MINUTE: "3",
  AUTH_FAILURES_PER_MINUTE: "3",
};

interface Answer {
  status: number;
  code: string;
}

/** Sends one request to `url` in the given minute of the test clock; its status and first code (or OK). */
async function send(url: string, minute: number, body: unknown, token?: string): Promise<Answer> {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-now": `2027-05-01T10:${String(minute).padStart(2, "0")}:30Z`,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
  return { status: response.status, code: answer.errors?.[0]?.extensions?.code ?? "OK" };
}

/** Alternates `count` requests between the servers; the codes in order. */
async function alternate(urls: string[], count: number, request: (url: string) => Promise<Answer>) {
  const codes: string[] = [];
  for (let i = 0; i < count; i++) codes.push((await request(urls[i % urls.length])).code);
  return codes;
}

const models = { query: "{ gpuModels { name } }" };
// Refused by the input check, but counted: every mutation field counts when it is sent.
const mutation = { query: `mutation { createOrganization(input: { name: "", kind: SME }) { id } }` };
const forged = () => `gvm_${randomBytes(16).toString("hex")}`;

describe("rate limits shared through Redis by two processes", () => {
  let servers: ServerProcess[] = [];
  beforeAll(async () => {
    const env = {
      DATA_DIR: "memory://",
      ADMIN_TOKEN: ADMIN,
      SEED: "none",
      ENABLE_TEST_CLOCK: "1",
      MAINTENANCE_INTERVAL_MS: "0",
      REDIS_URL,
      REDIS_PREFIX: `test-${randomBytes(6).toString("hex")}`,
      ...LIMITS,
    };
    servers = await Promise.all([startProcess(env), startProcess(env)]);
  }, 240_000); // two processes starting at once: the machine is slow under load
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
  });
  const urls = () => servers.map((server) => server.url);

  it("the query budget holds in total", async () => {
    const codes = await alternate(urls(), 8, (url) => send(url, 1, models));
    expect(codes).toEqual(["OK", "OK", "OK", "OK", "OK", "RATE_LIMITED", "RATE_LIMITED", "RATE_LIMITED"]);
    // The next minute the budget is whole again, on either process.
    expect((await send(urls()[1], 2, models)).code).toBe("OK");
  });

  it("mutation fields per IP and API key hold in total", async () => {
    const codes = await alternate(urls(), 5, (url) => send(url, 3, mutation, ADMIN));
    expect(codes).toEqual(["BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT", "RATE_LIMITED", "RATE_LIMITED"]);
  });

  it("failed authentications per IP hold in total", async () => {
    const answers: Answer[] = [];
    for (let i = 0; i < 5; i++) answers.push(await send(urls()[i % 2], 4, { query: "{ me { role } }" }, forged()));
    expect(answers.map((a) => `${a.status} ${a.code}`)).toEqual([
      "401 UNAUTHENTICATED",
      "401 UNAUTHENTICATED",
      "401 UNAUTHENTICATED",
      "429 RATE_LIMITED",
      "429 RATE_LIMITED",
    ]);
  });

  it("/readyz reports the shared store", async () => {
    const ready = await fetch(`${urls()[0]}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", limits: "redis" });
  });
});

describe("rate limits without REDIS_URL", () => {
  let servers: TestServer[] = [];
  beforeAll(async () => {
    servers = [await startServer(LIMITS), await startServer(LIMITS)];
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  it("are counted by each process: two processes allow the budget twice", async () => {
    const codes = await alternate(
      servers.map((s) => s.url),
      12,
      (url) => send(url, 5, models),
    );
    expect(codes.filter((code) => code === "OK")).toHaveLength(10);
  });
});

describe("when Redis does not answer", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ ...LIMITS, LOG_LEVEL: "error", REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
  });
  afterAll(() => server?.close());

  it("requests pass unlimited, counted in /metrics, and /readyz says so without stopping traffic", async () => {
    const codes = await alternate([server.url], 7, (url) => send(url, 6, models));
    expect(codes).toEqual(Array(7).fill("OK"));
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ limits: "redis unavailable: counted nowhere" });
    expect((await scrape(server.url)).value("gvm_rate_limit_store_errors_total")).toBeGreaterThanOrEqual(7);
  });
});
