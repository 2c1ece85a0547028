import { describe, expect, it } from "vitest";
import { formatYuan, formatYuanOfText, parseYuan } from "../src/money.js";

describe("money", () => {
  it("writes fen in yuan with two decimals, from a BigInt or from integer text", () => {
    const cases: [bigint, string][] = [
      [0n, "0.00"],
      [5n, "0.05"],
      [50n, "0.50"],
      [99n, "0.99"],
      [100n, "1.00"],
      [101n, "1.01"],
      [123450n, "1234.50"],
      [-5n, "-0.05"],
      [-100n, "-1.00"],
      [-123456n, "-1234.56"],
      [9223372036854775807n, "92233720368547758.07"],
    ];
    for (const [fen, yuan] of cases) {
      expect(formatYuan(fen)).toBe(yuan);
      expect(formatYuanOfText(fen.toString())).toBe(yuan);
    }
  });

  it("reads yuan back to the same fen", () => {
    for (const yuan of ["0.00", "0.05", "1.00", "1234.50", "9999999999999.99"])
      expect(formatYuan(parseYuan("amount", yuan))).toBe(yuan);
    expect(parseYuan("amount", "12.5")).toBe(1250n);
  });
});
