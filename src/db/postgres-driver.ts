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
// these, the patterns no longer match and the driver loads unchanged.
import { readFileSync } from "node:fs";
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

function loadPatched(): typeof PostgresModule {
  const index = require.resolve("postgres"); // the CommonJS build: .../cjs/src/index.js
  const file = path.join(path.dirname(index), "connection.js");
  if (!require.cache[file]) {
    const source = readFileSync(file, "utf8");
    if (PATCHES.every(([from]) => source.includes(from))) {
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
