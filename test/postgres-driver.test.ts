// The driver as the server loads it (src/db/postgres-driver.ts), against real PostgreSQL.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { driverPatch, postgres, unmatchedPatterns } from "../src/db/postgres-driver.js";

describe.runIf(!!process.env.DATABASE_URL)("the postgres driver", () => {
  it("a query that fails after some rows arrived leaves the next query on its connection whole", async () => {
    const sql = postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      // Three rows stream, then the fourth divides by zero; the next query waits on the same connection.
      const failing = sql`select i, 1 / (4 - i) as boom from generate_series(1, 10) i`.catch((error: Error) => error);
      const next = sql`select x from generate_series(1, 5) x`;
      expect(await failing).toBeInstanceOf(Error);
      const rows = await next;
      expect(rows.length).toBe(5);
      expect([...rows].map((r) => r.x)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});

describe("the driver patch", () => {
  it("applies to the pinned driver, and names the patterns a changed driver no longer contains", async () => {
    const pinned = JSON.parse(readFileSync("package.json", "utf8")).dependencies.postgres;
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/); // exactly one version
    expect(driverPatch).toEqual({ version: pinned, applied: true, unmatched: [] });
    const file = path.join(path.dirname(createRequire(import.meta.url).resolve("postgres")), "connection.js");
    const source = readFileSync(file, "utf8");
    expect(unmatchedPatterns(source)).toEqual([]);
    const moved = source.replace("function nextWrite(fn) {", "function nextWrite(fn, x) {");
    expect(unmatchedPatterns(moved)).toEqual([1]);
  });
});
