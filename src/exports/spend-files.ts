// The spend report as files: the rows subsidySpend answers, one per group, then its totals.
import ExcelJS from "exceljs";
import type { SpendRowData } from "../reports/reports.service.js";
import { csvFile, safeText, YUAN_FORMAT, yuanCell, yuanText } from "./cells.js";

export interface SpendDocument {
  dimensions: string[];
  rows: SpendRowData[];
  totals: SpendRowData;
  /** "city Shanghai, 2026-01-01T00:00:00.000Z .. 2027-01-01T00:00:00.000Z" */
  title: string;
}

const FIGURES = [
  "订单数 Orders",
  "GPU时 GPU-hours",
  "租金（元） Gross (CNY)",
  "补贴（元） Subsidy (CNY)",
  "企业支付（元） SME paid (CNY)",
];

/** The rows of groups: none without dimensions, where the report's one row is its totals. */
const groupsOf = (doc: SpendDocument) => (doc.dimensions.length ? doc.rows : []);

function header(doc: SpendDocument): string[] {
  return [...doc.dimensions.flatMap((d) => [d, `${d} label`]), ...FIGURES];
}

const keysOf = (doc: SpendDocument, row: SpendRowData | null): string[] =>
  row ? row.keys.flatMap((key) => [key.value, safeText(key.label)]) : doc.dimensions.flatMap(() => ["", ""]);

/** CSV (UTF-8 with a byte order mark): one row per group, the keys as value and label, then a TOTAL row. */
export function spendCsv(doc: SpendDocument): Buffer {
  const line = (row: SpendRowData, keys: string[]) => [
    ...keys,
    row.orders,
    row.gpuHours,
    yuanText(BigInt(row.gross.fen)),
    yuanText(BigInt(row.subsidy.fen)),
    yuanText(BigInt(row.smePaid.fen)),
  ];
  // A first column names the TOTAL row.
  const rows = [
    ...groupsOf(doc).map((row) => ["", ...line(row, keysOf(doc, row))]),
    ["TOTAL 合计", ...line(doc.totals, keysOf(doc, null))],
  ];
  return csvFile(["", ...header(doc)], rows);
}

/** XLSX: a sheet of the rows and their TOTAL row, amounts as numbers in yuan with two decimals. */
export async function spendXlsx(doc: SpendDocument): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = "GPU voucher market";
  const sheet = workbook.addWorksheet("Spend 支出");
  sheet.addRow([doc.title]);
  sheet.addRow([]);
  const head = ["", ...header(doc)];
  sheet.addRow(head).font = { bold: true };
  const line = (label: string, row: SpendRowData, keys: string[]) => [
    label,
    ...keys,
    row.orders,
    row.gpuHours,
    yuanCell(BigInt(row.gross.fen)),
    yuanCell(BigInt(row.subsidy.fen)),
    yuanCell(BigInt(row.smePaid.fen)),
  ];
  for (const row of groupsOf(doc)) sheet.addRow(line("", row, keysOf(doc, row)));
  sheet.addRow(line("TOTAL 合计", doc.totals, keysOf(doc, null))).font = { bold: true };
  for (let i = head.length - 2; i <= head.length; i++) sheet.getColumn(i).numFmt = YUAN_FORMAT;
  sheet.columns.forEach((column) => (column.width = 22));
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
