// Values written into the text of queries planned on every call (src/db/client.ts).
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  constantOf,
  openDatabase,
  planEachCall,
  withConstants,
  type Database,
  type Placeholders,
} from "../src/db/client.js";

const TRICKY = ["plain", "O'Brien", "back\\slash", "\\'; select 1; --", "$1 and $2", "", "line\nbreak", "汉字"];

describe("constants", () => {
  it("quotes every value as an escape string, quotes and backslashes doubled", () => {
    expect(constantOf("O'Brien")).toBe("E'O''Brien'");
    expect(constantOf("a\\b")).toBe("E'a\\\\b'");
    expect(constantOf(12)).toBe("E'12'");
    expect(constantOf(-5)).toBe("E'-5'");
    expect(constantOf(3120n)).toBe("E'3120'");
    expect(constantOf(true)).toBe("E'true'");
    expect(constantOf(null)).toBe("null");
    expect(constantOf(new Date("2026-12-02T00:00:00Z"))).toBe("E'2026-12-02T00:00:00.000Z'");
  });

  it("leaves to parameters what it cannot write: NUL, arrays, buffers, NaN", () => {
    for (const value of ["a\u0000b", [1, 2], Buffer.from("x"), Number.NaN, new Date(Number.NaN)])
      expect(constantOf(value)).toBeUndefined();
    expect(withConstants("select $1, $2", ["a", [1]])).toBeNull();
  });

  it("replaces each placeholder once, $1 apart from $10, and never inside a value written in", () => {
    const params = Array.from({ length: 10 }, (_, i) => `v${i + 1}`);
    params[0] = "$2";
    expect(withConstants("select $1, $10, $2", params)).toBe("select E'$2', E'v10', E'v2'");
  });
});

describe.runIf(!!process.env.DATABASE_URL)("constants on PostgreSQL", () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: "memory://", poolSize: 1 });
  });
  afterAll(() => database.close());

  it("reads back every text as it was sent, and typed values by their context", async () => {
    const statement = planEachCall(
      "tricky_texts",
      (p: Placeholders<{ text: string; three: number; four: number; at: string }>) =>
        sql`select ${p.text}::text as text, ${p.three}::int + ${p.four}::int as count where ${p.at}::timestamptz < now() + interval '10 years'`,
    );
    for (const text of TRICKY) {
      const [row] = await statement.rows(database.db, { text, three: 3, four: 4, at: "2026-12-02T00:00:00.000Z" });
      expect(row).toEqual({ text, count: 7 });
    }
  });
});
