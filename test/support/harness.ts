// Starts the real server on a fresh database per test file and talks GraphQL to it over HTTP.
// PGlite in memory by default; with DATABASE_URL, a new PostgreSQL database per server.
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { createApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";

export const ADMIN = "test-admin-token";

export interface GqlResult<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; [k: string]: unknown } }[];
}

export interface CallOptions {
  token?: string;
  /** The request's clock (X-Now). */
  now?: Date | string;
  headers?: Record<string, string>;
}

export interface TestServer {
  url: string;
  app: App;
  databaseUrl: string | undefined;
  /** Sends a GraphQL request and returns the HTTP status with the body. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, options?: CallOptions): Promise<GqlResult<T>>;
  /** Like gql, but fails the test on any error and returns data. */
  ok<T = any>(query: string, variables?: Record<string, unknown>, options?: CallOptions): Promise<T>;
  /** Expects exactly one error with this code and returns it. */
  fails(
    code: string,
    query: string,
    variables?: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<NonNullable<GqlResult["errors"]>[number]>;
  /** Runs SQL on the server's database (checks of invariants over the whole database). */
  sql<T = any>(text: string, params?: unknown[]): Promise<T[]>;
  queryCount(): number;
  close(): Promise<void>;
}

const ADMIN_URL = process.env.DATABASE_URL;

/** A new, empty PostgreSQL database; its URL. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `t_${randomBytes(6).toString("hex")}`;
  const admin = postgres(ADMIN_URL!, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const again = postgres(ADMIN_URL!, { max: 1, onnotice: () => {} });
      await again.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
      await again.end();
    },
  };
}

export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const database = ADMIN_URL ? await freshPostgresDatabase() : undefined;
  const config = loadConfig({
    ADMIN_TOKEN: ADMIN,
    SEED: "none",
    DATA_DIR: "memory://",
    ENABLE_TEST_CLOCK: "1",
    RATE_LIMIT_PER_MINUTE: "0",
    QUERY_POINTS_PER_MINUTE: "0",
    AUTH_FAILURES_PER_MINUTE: "0",
    LOG_LEVEL: "warn",
    MAINTENANCE_INTERVAL_MS: "0",
    // No webhook polling in the background (new events with deliveries still wake the worker):
    // tests that count a request's queries must not count a poll; webhook tests set it.
    WEBHOOK_POLL_MS: "0",
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...env,
  });
  const app = await createApp(config);
  const url = await app.listen(0);
  const sqlClient = database ? postgres(database.url, { max: 2, onnotice: () => {} }) : undefined;

  async function gql<T>(
    query: string,
    variables: Record<string, unknown> = {},
    options: CallOptions = {},
  ): Promise<GqlResult<T>> {
    const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.now) headers["x-now"] = options.now instanceof Date ? options.now.toISOString() : options.now;
    const response = await fetch(`${url}/graphql`, {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as GqlResult<T>;
    return { ...body, status: response.status };
  }

  return {
    url,
    app,
    databaseUrl: database?.url,
    gql,
    async ok(query, variables, options) {
      const result = await gql(query, variables, options);
      if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data as any;
    },
    async fails(code, query, variables, options) {
      const result = await gql(query, variables, options);
      const errors = result.errors ?? [];
      if (errors.length !== 1 || errors[0].extensions?.code !== code) {
        throw new Error(`expected one ${code} error, got ${JSON.stringify(result)}`);
      }
      return errors[0];
    },
    async sql(text, params = []) {
      if (sqlClient) return (await sqlClient.unsafe(text, params as never[])) as any;
      const result = await (app.services.db as any).session.client.query(text, params);
      return result.rows;
    },
    queryCount: () => app.services.database.queryCount(),
    async close() {
      await app.close();
      await sqlClient?.end();
      await database?.drop();
    },
  };
}
