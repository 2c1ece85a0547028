import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ExcelJS from "exceljs";
import { extractText, getDocumentProxy } from "unpdf";
import type { Db } from "../src/db/client.js";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import {
  checkoutOrder,
  createProgram,
  grantVoucher,
  insertReservation,
  payOrder,
  refundOrder,
} from "./support/orders.js";

const NOW = "2026-10-20T02:00:00Z";
const CHINESE_DC = "中卫沙漠云一号";
const FORMULA_DC = "=SUM(1,2) Lab";
let server: TestServer;
let db: Db;
let finance: Actor;
let otherFinance: Actor;
let sme: Actor;
let program: string;

const STATEMENT = `query($programId: ID!, $month: String!) { cityStatement(programId: $programId, month: $month) {
  month status settledAt settledBy { name } total { fen amount }
  lines { dataCenter { id name } orders subsidy { fen amount } } files { csv xlsx pdf } } }`;
const SPEND = `query($from: DateTime!, $to: DateTime!, $groupBy: [SpendDimension!]!) {
  subsidySpend(from: $from, to: $to, groupBy: $groupBy) {
    rows { keys { value label } orders gpuHours gross { fen } subsidy { fen } smePaid { fen } }
    totals { orders gpuHours gross { fen } subsidy { fen } smePaid { fen } } } }`;

beforeAll(async () => {
  server = await startServer();
  db = server.app.services.db;
  finance = await organization(server, "CITY_FINANCE", "上海市财政局 Shanghai Finance", "Shanghai");
  otherFinance = await organization(server, "CITY_FINANCE", "Hangzhou Finance", "Hangzhou");
  sme = await organization(server, "SME", "上海魔方视觉科技 Mofang Vision");
  const operator = await organization(server, "DATA_CENTER_OPERATOR", "West Operator");
  const window = { availableFrom: "2027-02-01T00:00:00Z", availableUntil: "2027-04-01T00:00:00Z", gpuCount: 100 };
  const offers = [
    await publishOffer(
      server,
      operator,
      {
        dataCenterId: await dataCenter(server, operator, "Ningxia Zhongwei", CHINESE_DC),
        pricePerGpuHour: "18.55",
        ...window,
      },
      NOW,
    ),
    await publishOffer(
      server,
      operator,
      {
        dataCenterId: await dataCenter(server, operator, "Gansu Qingyang", FORMULA_DC, "Gansu"),
        pricePerGpuHour: "33.33",
        ...window,
      },
      NOW,
    ),
  ];
  program = await createProgram(
    server,
    finance,
    {
      name: "上海算力券 Shanghai Compute Voucher",
      validFrom: "2026-01-01T00:00:00Z",
      validUntil: "2028-01-01T00:00:00Z",
    },
    NOW,
  );
  const voucher = await grantVoucher(server, finance, sme, program, "100000", NOW);
  const order = async (offerId: string, gpuCount: number, hours: number) =>
    checkoutOrder(db, {
      reservation: await insertReservation(db, { offerId, smeId: sme.id, gpuCount, hours }),
      voucherId: voucher,
      now: new Date(NOW),
    });
  // November in China: three payments over both data centers, and the refund of an October one.
  const october = await order(offers[1], 3, 7);
  await payOrder(db, october.id, new Date("2026-10-25T03:00:00Z"));
  await payOrder(db, (await order(offers[0], 8, 24)).id, new Date("2026-11-02T03:00:00Z"));
  await payOrder(db, (await order(offers[0], 1, 3)).id, new Date("2026-11-30T15:59:59Z"));
  await payOrder(db, (await order(offers[1], 5, 11)).id, new Date("2026-11-10T03:00:00Z"));
  await refundOrder(db, october.id, new Date("2026-11-12T03:00:00Z"));
  await server.ok(
    `mutation($programId: ID!) { settleCityStatement(programId: $programId, month: "2026-11") { status } }`,
    { programId: program },
    // Once the rentals billed in November (February's) are past their delivery grace period.
    { token: finance.token, now: "2027-03-01T00:00:00Z" },
  );
});
afterAll(() => server?.close());

async function download(path: string, token?: string): Promise<Response> {
  return fetch(`${server.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

/** "-12.34" -> -1234n: a yuan text read back to fen without a float. */
function fenOf(yuan: string): bigint {
  const match = /^(-?)(\d+)\.(\d{2})$/.exec(yuan);
  if (!match) throw new Error(`not an amount: ${yuan}`);
  return (match[1] ? -1n : 1n) * (BigInt(match[2]) * 100n + BigInt(match[3]));
}

/** A spreadsheet number read back to fen: it must be the amount itself, to the fen. */
function fenOfCell(value: unknown): bigint {
  expect(typeof value).toBe("number");
  const fen = Math.round((value as number) * 100);
  expect(fen / 100).toBe(value); // the cell is exactly the yuan amount's double
  return BigInt(fen);
}

/** RFC 4180, as the export writes it. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += ch;
  }
  return rows;
}

describe("statement files", () => {
  let statement: any;
  beforeAll(async () => {
    statement = (await server.ok(STATEMENT, { programId: program, month: "2026-11" }, { token: finance.token }))
      .cityStatement;
  });

  it("the statement names its files and who settled it", () => {
    expect(statement.files).toEqual({
      csv: `/exports/statements/${program}/2026-11.csv`,
      xlsx: `/exports/statements/${program}/2026-11.xlsx`,
      pdf: `/exports/statements/${program}/2026-11.pdf`,
    });
    expect(statement).toMatchObject({ status: "SETTLED", settledBy: { name: "上海市财政局 Shanghai Finance" } });
    expect(statement.lines.map((l: any) => l.orders)).toEqual([2, 0]);
  });

  it("CSV: UTF-8 with a byte order mark, a row per claim line, a TOTAL equal to the statement's to the fen", async () => {
    const response = await download(statement.files.csv, finance.token);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(response.headers.get("content-disposition")).toBe(`attachment; filename="statement-${program}-2026-11.csv"`);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const [header, ...rows] = parseCsv(bytes.subarray(3).toString("utf8"));
    expect(header[1]).toBe("数据中心 Data center");
    const total = rows.pop()!;
    expect([total[0], total[8]]).toEqual(["TOTAL 合计", statement.total.amount]);
    expect(rows).toHaveLength(4); // three payments and a refund
    expect(rows.reduce((sum, row) => sum + fenOf(row[8]), 0n)).toBe(BigInt(statement.total.fen));
    expect(rows.map((row) => row[1])).toEqual(expect.arrayContaining([CHINESE_DC, `'${FORMULA_DC}`]));
    expect(rows.filter((row) => row[6] === "REFUND 退款").map((row) => fenOf(row[8]) < 0n)).toEqual([true]);
  });

  it("XLSX: a sheet of lines and one of totals, amounts as numbers in yuan with two decimals", async () => {
    const response = await download(statement.files.xlsx, finance.token);
    expect(response.status).toBe(200);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(await response.arrayBuffer()) as never);
    expect(workbook.worksheets.map((sheet) => sheet.name)).toEqual(["Lines 明细", "Totals 合计"]);

    const lines = workbook.getWorksheet("Lines 明细")!;
    const amounts: bigint[] = [];
    lines.eachRow((row, n) => {
      if (n === 1) return;
      const cell = row.getCell(9);
      expect(cell.numFmt).toBe("0.00");
      amounts.push(fenOfCell(cell.value));
    });
    expect(amounts).toHaveLength(4);
    expect(amounts.reduce((a, b) => a + b, 0n)).toBe(BigInt(statement.total.fen));

    const totals = workbook.getWorksheet("Totals 合计")!;
    const rows: unknown[][] = [];
    totals.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
    expect(rows[0]).toEqual(["项目 Program", `上海算力券 Shanghai Compute Voucher (${program})`]);
    expect(rows).toContainEqual(["状态 Status", "SETTLED 已结算"]);
    const byDc = rows.filter((row) => typeof row[0] === "string" && (row[0] as string).startsWith("dc_"));
    expect(byDc.map((row) => [row[0], row[1], row[3], String(fenOfCell(row[4]))])).toEqual(
      statement.lines.map((l: any) => [
        l.dataCenter.id,
        l.dataCenter.name.startsWith("=") ? `'${l.dataCenter.name}` : l.dataCenter.name,
        l.orders,
        l.subsidy.fen,
      ]),
    );
    const total = rows.find((row) => row[0] === "TOTAL 合计")!;
    expect(fenOfCell(total[4])).toBe(BigInt(statement.total.fen));
  });

  it("PDF: the program, month, status, lines per data center and the total, in Chinese characters", async () => {
    const response = await download(statement.files.pdf, finance.token);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/pdf");
    const pdf = await getDocumentProxy(new Uint8Array(await response.arrayBuffer()));
    const { text } = await extractText(pdf, { mergePages: true });
    for (const shown of [
      "算力券月度结算单",
      "上海算力券 Shanghai Compute Voucher",
      "2026-11 (Asia/Shanghai)",
      "SETTLED 已结算",
      "上海市财政局 Shanghai Finance",
      CHINESE_DC,
      "合计 Total",
      statement.total.amount,
      ...statement.lines.map((l: any) => l.subsidy.amount),
    ]) {
      expect(text).toContain(shown);
    }
  });

  it("an open month without claims downloads too, with a total of 0.00", async () => {
    const empty = await download(`/exports/statements/${program}/2026-06.pdf`, finance.token);
    expect(empty.status).toBe(200);
    const pdf = await getDocumentProxy(new Uint8Array(await empty.arrayBuffer()));
    expect((await extractText(pdf, { mergePages: true })).text).toContain("OPEN 未结算");
    const csv = Buffer.from(await (await download(`/exports/statements/${program}/2026-06.csv`, ADMIN)).arrayBuffer());
    expect(parseCsv(csv.subarray(3).toString("utf8")).pop()).toEqual([
      "TOTAL 合计",
      "",
      "",
      "",
      "",
      "",
      "",
      "",
      "0.00",
    ]);
  });

  it("has cityStatement's authorization: a key, the program's city or the admin; errors as JSON with their codes", async () => {
    const path = statement.files.csv;
    const expectError = async (response: Response, status: number, code: string) => {
      expect(response.status).toBe(status);
      const body = (await response.json()) as { errors: { extensions: { code: string; field?: string } }[] };
      expect(body.errors[0].extensions.code).toBe(code);
      return body.errors[0].extensions;
    };
    await expectError(await download(path), 401, "UNAUTHENTICATED");
    await expectError(await download(path, "gvm_not_a_key"), 401, "UNAUTHENTICATED");
    await expectError(await download(path, sme.token), 403, "FORBIDDEN");
    await expectError(await download(path, otherFinance.token), 404, "NOT_FOUND");
    expect((await download(path, ADMIN)).status).toBe(200);
    expect(
      (
        await expectError(
          await download(`/exports/statements/${program}/2026-13.csv`, finance.token),
          400,
          "BAD_USER_INPUT",
        )
      ).field,
    ).toBe("month");
    expect(
      (
        await expectError(
          await download(`/exports/statements/${program}/2026-11.doc`, finance.token),
          400,
          "BAD_USER_INPUT",
        )
      ).field,
    ).toBe("file");
    expect(
      (await expectError(await download(`/exports/statements/dc_1/2026-11.csv`, finance.token), 400, "BAD_USER_INPUT"))
        .field,
    ).toBe("programId");
  });
});

describe("spend report files", () => {
  const WINDOW = { from: "2026-10-01T00:00:00+08:00", to: "2027-01-01T00:00:00+08:00" };
  const query = (format: string, groupBy: string) =>
    `/exports/spend.${format}?from=${encodeURIComponent(WINDOW.from)}&to=${encodeURIComponent(WINDOW.to)}&groupBy=${groupBy}`;

  it("CSV and XLSX hold subsidySpend's rows and totals, to the fen", async () => {
    const { subsidySpend } = await server.ok(
      SPEND,
      { ...WINDOW, groupBy: ["MONTH", "DATA_CENTER"] },
      { token: finance.token },
    );
    expect(subsidySpend.rows.length).toBeGreaterThan(1);

    const csv = Buffer.from(await (await download(query("csv", "MONTH,DATA_CENTER"), finance.token)).arrayBuffer());
    expect([...csv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const [header, ...rows] = parseCsv(csv.subarray(3).toString("utf8"));
    expect(header.slice(0, 5)).toEqual(["", "MONTH", "MONTH label", "DATA_CENTER", "DATA_CENTER label"]);
    const total = rows.pop()!;
    const figures = (row: any) =>
      [row.orders, row.gpuHours, row.gross.fen, row.subsidy.fen, row.smePaid.fen].map(String);
    const fromCsv = (row: string[]) => [row[5], row[6], ...row.slice(7, 10).map((y) => String(fenOf(y)))];
    expect(rows.map((row) => [row[1], row[3], ...fromCsv(row)])).toEqual(
      subsidySpend.rows.map((row: any) => [row.keys[0].value, row.keys[1].value, ...figures(row)]),
    );
    expect([total[0], ...fromCsv(total)]).toEqual(["TOTAL 合计", ...figures(subsidySpend.totals)]);

    const xlsx = await download(query("xlsx", "MONTH,DATA_CENTER"), finance.token);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(Buffer.from(await xlsx.arrayBuffer()) as never);
    const sheet = workbook.worksheets[0];
    const values: unknown[][] = [];
    sheet.eachRow((row) => values.push((row.values as unknown[]).slice(1)));
    const totalRow = values.find((row) => row[0] === "TOTAL 合计")!;
    expect([totalRow[5], totalRow[6], ...totalRow.slice(7, 10).map((v) => String(fenOfCell(v)))].map(String)).toEqual(
      figures(subsidySpend.totals),
    );
  });

  it("follows subsidySpend's rules: a finance team's own city, a valid window and known dimensions", async () => {
    const status = async (path: string, token?: string) => (await download(path, token)).status;
    expect(await status(query("csv", ""), finance.token)).toBe(200);
    expect(await status(`${query("csv", "MONTH")}&city=Hangzhou`, finance.token)).toBe(403);
    expect(await status(`${query("csv", "MONTH")}&city=Hangzhou`, ADMIN)).toBe(200);
    expect(await status(query("csv", "MONTH"), sme.token)).toBe(403);
    expect(await status(query("csv", "MONTH,WEEKDAY"), finance.token)).toBe(400);
    expect(await status(query("pdf", "MONTH"), finance.token)).toBe(400);
    expect(await status(`/exports/spend.csv?from=2026-10-01&to=2027-01-01T00:00:00Z`, finance.token)).toBe(400);
  });
});
