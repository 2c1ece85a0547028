// Real server processes (`node dist/main.js`, built by the global setup) for tests that need
// several servers on one database. Each gets a free port, is ready once /healthz answers, and is
// stopped with SIGTERM (SIGKILL if it hangs).
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import type { CallOptions, GqlResult } from "./harness.js";

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** What the process wrote so far, for failure messages. */
  output(): string;
  gql<T = any>(query: string, variables?: Record<string, unknown>, options?: CallOptions): Promise<GqlResult<T>>;
  ok<T = any>(query: string, variables?: Record<string, unknown>, options?: CallOptions): Promise<T>;
  stop(): Promise<void>;
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts `node dist/main.js` with `env` on a free port and waits until it is healthy. */
export async function startProcess(env: Record<string, string>, timeoutMs = 120_000): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["dist/main.js"], {
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server process exited with ${child.exitCode}:\n${output}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server process not healthy after ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

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
    return { ...((await response.json()) as GqlResult<T>), status: response.status };
  }

  return {
    url,
    child,
    output: () => output,
    gql,
    async ok(query, variables, options) {
      const result = await gql(query, variables, options);
      if (result.errors?.length) throw new Error(`GraphQL errors from ${url}: ${JSON.stringify(result.errors)}`);
      return result.data as any;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = exited(child);
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}
