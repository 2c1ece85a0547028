import { describe, expect, it } from "vitest";
import { DateTimeScalar } from "../src/graphql/scalars.js";

describe("DateTime answers", () => {
  it("are UTC with milliseconds, exactly as toISOString writes them, whole hours or not, again and again", () => {
    const instants = [
      Date.UTC(2027, 1, 1, 0),
      Date.UTC(2027, 1, 1, 0, 0, 0, 1),
      Date.UTC(2026, 11, 31, 23, 59, 59, 999),
      Date.UTC(1969, 11, 31, 23),
      Date.UTC(2028, 1, 29, 16),
      -62198755200000, // year 0
      Date.UTC(2300, 0, 1),
    ];
    for (let round = 0; round < 2; round++)
      for (const ms of instants) {
        const date = new Date(ms);
        expect(DateTimeScalar.serialize(date)).toBe(date.toISOString());
        expect(DateTimeScalar.serialize(date.toISOString())).toBe(date.toISOString());
      }
    // Thousands of distinct whole hours: the texts kept are bounded, every answer still right.
    for (let hour = 0; hour < 50_000; hour += 1) {
      const date = new Date(Date.UTC(2020, 0, 1) + hour * 3_600_000);
      if (DateTimeScalar.serialize(date) !== date.toISOString()) expect.fail(`hour ${hour}`);
    }
  });

  it("refuses an invalid date rather than answer one", () => {
    expect(() => DateTimeScalar.serialize(new Date(NaN))).toThrow();
  });
});
