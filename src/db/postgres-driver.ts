// The `postgres` driver, with a fix for how 3.4.x handles a connection that PostgreSQL closes
// (a restart, a failover, an admin's pg_terminate_backend) while a transaction is using it:
// - a write deferred with setImmediate runs after close() set the socket to null and throws an
//   uncatchable TypeError that kills the whole process (porsager/postgres#1154, #1208);
// - close() cancels the deferred write without forgetting it, so the pooled connection's next
//   socket never writes again: every later query on it hangs until the connect timeout.
// Both are patched at load time: the pending write is dropped and its queries are rejected with
// CONNECTION_CLOSED (SERVICE_UNAVAILABLE to clients). A third fix: a query that fails after some of
// its rows arrived (cancelled by a restart, a timeout) leaves the row counter where it was, and
// the next query on that connection resolves with holes at the start of its rows
// (porsager/postgres#1119, #1181); the counter is reset on every error. When a release fixes
// these, the patterns no longer match and the driver loads unchanged: `driverPatch` says so, and the
// server logs a warning at start (a release may also have moved the code without fixing it). The
// driver is pinned exactly in package.json for that reason (decision record 0011).
import { existsSync, readFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import path from "node:path";
import type PostgresModule from "postgres";

const require = createRequire(import.meta.url);

const PATCHES: [from: string, to: string][] = [
  ["  function ErrorResponse(x) {\n    if (query) {", "  function ErrorResponse(x) {\n    rows = 0\n    if (query) {"],
  [
    "function nextWrite(fn) {\n    const x = socket.write(chunk, fn)",
    `function nextWrite(fn) {
    if (!socket) {
      nextWriteTimer !== null && clearImmediate(nextWriteTimer)
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
    const x = socket.write(chunk, fn)`,
  ],
  [
    "    clearImmediate(nextWriteTimer)\n    if (socket) {",
    "    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    if (socket) {",
  ],
  [
    "    clearImmediate(nextWriteTimer)\n    socket.removeListener('data', data)",
    "    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null\n    socket.removeListener('data', data)",
  ],
];

type ModuleInternals = typeof Module & {
  _nodeModulePaths(dir: string): string[];
  new (
    id: string,
    parent?: unknown,
  ): {
    filename: string;
    paths: string[];
    loaded: boolean;
    exports: unknown;
    _compile(source: string, file: string): void;
  };
};

/** The patterns (by index) that a version of the driver's connection.js no longer contains. */
export function unmatchedPatterns(source: string): number[] {
  return PATCHES.flatMap(([from], i) => (source.includes(from) ? [] : [i]));
}

/** Whether the fixes above were applied to the installed driver, and which patterns did not match. */
export const driverPatch: { version: string; applied: boolean; unmatched: number[] } = {
  version: "unknown",
  applied: false,
  unmatched: [],
};

function loadPatched(): typeof PostgresModule {
  const index = require.resolve("postgres"); // the CommonJS build: .../cjs/src/index.js
  const file = path.join(path.dirname(index), "connection.js");
  try {
    // The package's own package.json, two levels above cjs/src/ (its exports map hides it).
    const manifest = path.join(path.dirname(index), "..", "..", "package.json");
    driverPatch.version = (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
  } catch {
    // another layout: the version stays unknown
  }
  const source = existsSync(file) ? readFileSync(file, "utf8") : "";
  driverPatch.unmatched = unmatchedPatterns(source);
  driverPatch.applied = driverPatch.unmatched.length === 0;
  if (!require.cache[file]) {
    if (driverPatch.applied) {
      const patched = PATCHES.reduce((text, [from, to]) => text.replace(from, to), source);
      const internals = Module as ModuleInternals;
      const connection = new internals(file, null);
      connection.filename = file;
      connection.paths = internals._nodeModulePaths(path.dirname(file));
      connection._compile(patched, file);
      connection.loaded = true;
      require.cache[file] = connection as unknown as NodeJS.Module;
    }
  }
  const loaded = require("postgres") as typeof PostgresModule | { default: typeof PostgresModule };
  return "default" in loaded && typeof loaded.default === "function"
    ? loaded.default
    : (loaded as typeof PostgresModule);
}

export const postgres = loadPatched();
