// A month's statement as files a finance office attaches to its payment order: CSV, XLSX and PDF.
// Each is written from the statement GraphQL answers (its lines per data center and its total) and
// the claim lines those sum, so every file's total is the GraphQL total to the fen.
import ExcelJS from "exceljs";
import PDFDocument from "pdfkit";
import { globalId } from "../graphql/ids.js";
import { billingTimeZone } from "../time.js";
import type { StatementData } from "../reports/reports.service.js";
import type { ClaimLineRow } from "./exports.queries.js";
import { csvFile, safeText, YUAN_FORMAT, yuanCell, yuanText } from "./cells.js";
import { chineseFont } from "./fonts.js";

/** What a statement file shows: the statement, its claim lines, and the names of what it refers to. */
export interface StatementDocument {
  statement: StatementData;
  claims: ClaimLineRow[];
  /** Data centers of the statement's lines, by id. */
  dataCenters: Map<number, { name: string; hub: string }>;
  settledBy: string | null;
}

const kindOf = (amount: bigint) => (amount < 0n ? "REFUND 退款" : "PAID 支付");

const LINE_HEADER = [
  "数据中心编号 Data center ID",
  "数据中心 Data center",
  "枢纽 Hub",
  "订单 Order",
  "企业 SME",
  "GPU时 GPU-hours",
  "类型 Kind",
  "入账时间 Billed at (UTC)",
  "补贴（元） Subsidy (CNY)",
];

function lineCells(claim: ClaimLineRow) {
  return [
    globalId("DataCenter", claim.dataCenterId),
    safeText(claim.dataCenter),
    claim.hub,
    globalId("Order", claim.orderId),
    safeText(claim.sme),
    claim.gpuHours,
    kindOf(claim.amount),
    claim.billedAt.toISOString(),
  ] as const;
}

/** CSV: one row per claim line, by data center and order, then a TOTAL row. */
export function statementCsv(doc: StatementDocument): Buffer {
  const rows: (string | number)[][] = doc.claims.map((claim) => [...lineCells(claim), yuanText(claim.amount)]);
  rows.push(["TOTAL 合计", "", "", "", "", "", "", "", yuanText(doc.statement.total)]);
  return csvFile(LINE_HEADER, rows);
}

function about(doc: StatementDocument): [string, string][] {
  const { statement } = doc;
  return [
    ["项目 Program", `${statement.program.name} (${globalId("SubsidyProgram", statement.program.id)})`],
    ["城市 City", statement.program.city],
    ["月份 Month", `${statement.month} (${billingTimeZone()})`],
    ["状态 Status", statement.status === "SETTLED" ? "SETTLED 已结算" : "OPEN 未结算"],
    ["结算时间 Settled at (UTC)", statement.settledAt ? statement.settledAt.toISOString() : ""],
    ["结算人 Settled by", doc.settledBy ?? ""],
  ];
}

/** XLSX: a sheet of lines per data center and order, and a sheet of totals per data center. */
export async function statementXlsx(doc: StatementDocument): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  workbook.creator = "GPU voucher market";
  const lines = workbook.addWorksheet("Lines 明细");
  lines.addRow(LINE_HEADER);
  for (const claim of doc.claims) lines.addRow([...lineCells(claim), yuanCell(claim.amount)]);
  lines.getColumn(LINE_HEADER.length).numFmt = YUAN_FORMAT;
  lines.getRow(1).font = { bold: true };
  lines.columns.forEach((column, i) => (column.width = i === 1 || i === 4 ? 32 : 20));

  const totals = workbook.addWorksheet("Totals 合计");
  for (const row of about(doc)) totals.addRow(row);
  totals.addRow([]);
  const header = totals.addRow([
    "数据中心编号 Data center ID",
    "数据中心 Data center",
    "枢纽 Hub",
    "订单数 Orders",
    "补贴（元） Subsidy (CNY)",
  ]);
  header.font = { bold: true };
  for (const line of doc.statement.lines) {
    const dc = doc.dataCenters.get(line.dataCenterId);
    totals.addRow([
      globalId("DataCenter", line.dataCenterId),
      safeText(dc?.name ?? ""),
      dc?.hub ?? "",
      line.orders,
      yuanCell(line.subsidy),
    ]);
  }
  const total = totals.addRow([
    "TOTAL 合计",
    "",
    "",
    doc.statement.lines.reduce((sum, line) => sum + line.orders, 0),
    yuanCell(doc.statement.total),
  ]);
  total.font = { bold: true };
  totals.getColumn(5).numFmt = YUAN_FORMAT;
  totals.columns.forEach((column, i) => (column.width = i === 0 ? 28 : i === 1 ? 36 : 20));
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** PDF, A4, in Chinese and English: the statement with its lines per data center and its total. */
export async function statementPdf(doc: StatementDocument): Promise<Buffer> {
  const { statement } = doc;
  const pdf = new PDFDocument({
    size: "A4",
    margin: 50,
    info: { Title: `Statement ${statement.program.name} ${statement.month}`, Creator: "GPU voucher market" },
  });
  const chunks: Buffer[] = [];
  pdf.on("data", (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    pdf.on("end", resolve);
    pdf.on("error", reject);
  });

  pdf.registerFont("sc", chineseFont());
  pdf.font("sc");
  pdf.fontSize(18).text("算力券月度结算单  City compute voucher statement");
  pdf.moveDown(0.5);
  pdf.fontSize(10);
  for (const [label, value] of about(doc)) pdf.text(`${label}: ${value || "—"}`);
  pdf.moveDown();

  const columns = [
    { title: "数据中心 Data center", x: 50, width: 210, align: "left" as const },
    { title: "枢纽 Hub", x: 265, width: 120, align: "left" as const },
    { title: "订单数 Orders", x: 390, width: 60, align: "right" as const },
    { title: "补贴（元） Subsidy (CNY)", x: 455, width: 90, align: "right" as const },
  ];
  const row = (cells: string[]) => {
    if (pdf.y > pdf.page.height - 80) pdf.addPage();
    const y = pdf.y;
    cells.forEach((cell, i) =>
      pdf.text(cell, columns[i].x, y, { width: columns[i].width, align: columns[i].align, lineBreak: false }),
    );
    pdf.x = 50;
    pdf.y = y + 16;
  };
  row(columns.map((c) => c.title));
  pdf
    .moveTo(50, pdf.y - 3)
    .lineTo(545, pdf.y - 3)
    .stroke();
  for (const line of statement.lines) {
    const dc = doc.dataCenters.get(line.dataCenterId);
    row([
      dc?.name ?? globalId("DataCenter", line.dataCenterId),
      dc?.hub ?? "",
      String(line.orders),
      yuanText(line.subsidy),
    ]);
  }
  if (statement.lines.length === 0) row(["无申领 No claims", "", "0", "0.00"]);
  pdf
    .moveTo(50, pdf.y - 3)
    .lineTo(545, pdf.y - 3)
    .stroke();
  row([
    "合计 Total",
    "",
    String(statement.lines.reduce((sum, line) => sum + line.orders, 0)),
    yuanText(statement.total),
  ]);
  pdf.moveDown(2);
  pdf
    .fontSize(8)
    .text(
      `金额为人民币元，由整数分精确换算。Amounts in CNY, written exactly from integer fen. ${doc.claims.length} claim lines; ` +
        `months are calendar months in ${billingTimeZone()}.`,
      50,
    );
  pdf.end();
  await done;
  return Buffer.concat(chunks);
}
