// A private PostgreSQL cluster for fault tests: initdb into a temp dir on a free port, trust auth,
// started, stopped and restarted with pg_ctl, removed afterwards. The shared server at
// 127.0.0.1:5432 that other test files use is never touched. As root, every PostgreSQL command
// runs as the `postgres` user (PostgreSQL refuses to run as root), which owns the temp dir.
import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import postgres from "postgres";
import { freePort } from "./processes.js";

const run = promisify(execFile);

export interface PgCluster {
  port: number;
  /** URL of a database of this cluster (default `postgres`). */
  url(database?: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown: open connections are terminated). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops, stays down for `downMs`, starts again. */
  restart(downMs?: number): Promise<void>;
  /** The server's own log, for failure messages. */
  log(): string;
  /** Stops the server (immediate) and removes the cluster's files. */
  destroy(): Promise<void>;
}

/** The newest installed PostgreSQL's bin directory (Debian layout), or one from PG_BIN. */
export function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(path.join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length) throw new Error("no PostgreSQL found under /usr/lib/postgresql/*/bin (set PG_BIN)");
  return path.join(root, versions[0], "bin");
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

function userIds(user: string): { uid: number; gid: number } {
  const uid = Number(execFileSync("id", ["-u", user]).toString().trim());
  const gid = Number(execFileSync("id", ["-g", user]).toString().trim());
  return { uid, gid };
}

/** Runs a PostgreSQL tool, as `postgres` when we are root. */
function command(bin: string, tool: string, args: string[]): [string, string[]] {
  const file = path.join(bin, tool);
  return isRoot() ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, args];
}

async function tool(bin: string, name: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const [file, argv] = command(bin, name, args);
  try {
    const { stdout } = await run(file, argv, { timeout: timeoutMs, env: { ...process.env, LC_ALL: "C" } });
    return stdout;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${name} ${args.join(" ")} failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

export async function startPgCluster(): Promise<PgCluster> {
  const bin = postgresBinDir();
  const dir = mkdtempSync(path.join(tmpdir(), "pg-cluster-"));
  const data = path.join(dir, "data");
  const logFile = path.join(dir, "server.log");
  if (isRoot()) {
    const { uid, gid } = userIds("postgres");
    chownSync(dir, uid, gid);
  }
  const port = await freePort();

  await tool(bin, "initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  writeFileSync(
    path.join(data, "postgresql.auto.conf"),
    [
      `port = ${port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${dir}'`,
      `max_connections = 100`,
      `shared_buffers = '32MB'`,
      // Durability is not what these tests are about (the server is stopped cleanly), speed is.
      `fsync = off`,
      `synchronous_commit = off`,
      `full_page_writes = off`,
    ].join("\n") + "\n",
  );
  if (isRoot()) {
    const { uid, gid } = userIds("postgres");
    chownSync(path.join(data, "postgresql.auto.conf"), uid, gid);
  }

  const ctl = (args: string[]) => tool(bin, "pg_ctl", ["-D", data, ...args]);
  let running = false;
  const start = async () => {
    await ctl(["-l", logFile, "-w", "-t", "60", "start"]);
    running = true;
  };
  const stop = async () => {
    await ctl(["-m", "fast", "-w", "-t", "60", "stop"]);
    running = false;
  };

  // A test that dies half-way must not leave a server behind.
  const onExit = () => {
    if (!running) return;
    try {
      const [file, argv] = command(bin, "pg_ctl", ["-D", data, "-m", "immediate", "stop"]);
      execFileSync(file, argv, { stdio: "ignore", timeout: 10_000 });
    } catch {
      // already gone
    }
  };
  process.once("exit", onExit);

  await start();
  const url = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`;

  return {
    port,
    url,
    async createDatabase(name) {
      const admin = postgres(url(), { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`create database ${name}`);
      } finally {
        await admin.end();
      }
      return url(name);
    },
    stop,
    start,
    async restart(downMs = 0) {
      await stop();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await start();
    },
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    async destroy() {
      process.removeListener("exit", onExit);
      if (running) await ctl(["-m", "immediate", "-w", "stop"]).catch(() => {});
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
