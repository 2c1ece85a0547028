// Money is integer fen (1 CNY = 100 fen) held in BigInt; it enters as a decimal string in yuan.
import { badInput } from "./errors.js";

const YUAN = /^(0|[1-9]\d{0,12})(\.\d{1,2})?$/;

/** "12.5" -> 1250n. At most two decimals, no sign, no exponent, no spaces, at most 10^13 yuan. */
export function parseYuan(field: string, value: string): bigint {
  if (!YUAN.test(value)) {
    throw badInput(field, `${field} must be an amount in yuan with at most two decimals, like "12.50"`);
  }
  const [whole, decimals = ""] = value.split(".");
  return BigInt(whole) * 100n + BigInt(decimals.padEnd(2, "0"));
}

export function parsePositiveYuan(field: string, value: string): bigint {
  const fen = parseYuan(field, value);
  if (fen <= 0n) throw badInput(field, `${field} must be more than 0`);
  return fen;
}

/** 123450n -> "1234.50" */
export function formatYuan(fen: bigint): string {
  return formatYuanOfText(fen.toString());
}

/** "123450" -> "1234.50": fen written as an integer in text (as PostgreSQL sends its sums). */
export function formatYuanOfText(fen: string): string {
  const negative = fen.startsWith("-");
  const digits = (negative ? fen.slice(1) : fen).padStart(3, "0");
  return `${negative ? "-" : ""}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

export function minFen(...values: bigint[]): bigint {
  return values.reduce((a, b) => (b < a ? b : a));
}
