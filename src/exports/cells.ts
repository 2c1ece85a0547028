// How amounts and texts go into files (docs/decisions/0014-statement-files.md). Amounts are
// integer fen until the last step: a text field is the exact decimal written from the fen; a
// spreadsheet number is fen / 100, the one division of the whole path, shown with two decimals.
import { formatYuan } from "../money.js";

/** "1234.50" for 123450n: the amount in yuan, written digit by digit from the fen. */
export const yuanText = (fen: bigint): string => formatYuan(fen);

const EXACT_LIMIT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The number a spreadsheet cell holds for an amount: fen / 100 as the nearest double. Both operands
 * are exact below 2^53 fen (90 trillion yuan), and IEEE division rounds once, so the cell's value is
 * the double nearest the exact amount; the file stores it as the shortest decimal that reads back
 * to that double, which is the amount itself ("1234.5"), and the format 0.00 shows it to the fen.
 */
export function yuanCell(fen: bigint): number {
  if (fen > EXACT_LIMIT || fen < -EXACT_LIMIT) throw new Error("amount too large for a spreadsheet number");
  return Number(fen) / 100;
}

/** The number format of amount cells: two decimals, the minus sign kept. */
export const YUAN_FORMAT = "0.00";

/**
 * A text a spreadsheet could read as a formula (=, +, -, @, or a tab or carriage return first) gets
 * a leading apostrophe, so a name typed by a user never runs in the finance team's Excel.
 */
export function safeText(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break. */
function csvField(value: string | number): string {
  const text = typeof value === "number" ? String(value) : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A CSV file: UTF-8 with a byte order mark, so Excel reads Chinese names as UTF-8, CRLF line ends.
 * Text cells go through safeText; amounts are given as their exact yuan text.
 */
export function csvFile(header: string[], rows: (string | number)[][]): Buffer {
  const lines = [header, ...rows].map((row) => row.map(csvField).join(","));
  return Buffer.from(`\uFEFF${lines.join("\r\n")}\r\n`, "utf8");
}
