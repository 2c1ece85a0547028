import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/client.js";
import type { OrderRow } from "../src/checkout/settlement.js";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import { formatYuan } from "../src/money.js";
import { spendSources } from "../src/reports/reports.service.js";
import {
  brokenInvariants,
  checkoutOrder,
  createProgram,
  failOrder,
  grantVoucher,
  insertReservation,
  payOrder,
  refundOrder,
} from "./support/orders.js";
import { globalId, keyOf } from "./support/ids.js";

const NOW = "2026-11-01T10:00:00Z";
let server: TestServer;
let db: Db;
let finance: Actor;
let otherFinance: Actor;
let sme1: Actor;
let sme2: Actor;
let programs: { p1: string; p2: string; p3: string };
let dcs: { ningxia: string; gansu: string };
const counted: OrderRow[] = [];
let refunded: OrderRow;
let late: OrderRow;

const SPEND = `query($programId: ID, $city: String, $from: DateTime!, $to: DateTime!, $groupBy: [SpendDimension!]!) {
  subsidySpend(programId: $programId, city: $city, from: $from, to: $to, groupBy: $groupBy) {
    rows { keys { dimension value label } orders gpuHours gross { fen } subsidy { fen } smePaid { fen } }
    totals { keys { dimension } orders gpuHours gross { fen } subsidy { fen } smePaid { fen } } } }`;
const STATEMENT = `query($programId: ID!, $month: String!) { cityStatement(programId: $programId, month: $month) {
  program { id } month status settledAt total { fen amount } lines { dataCenter { id name } orders subsidy { fen } } } }`;
const SETTLE = `mutation($programId: ID!, $month: String!) { settleCityStatement(programId: $programId, month: $month) {
  month status settledAt total { fen } lines { dataCenter { id } orders subsidy { fen } } } }`;
const WINDOW = { from: "2026-11-01T00:00:00Z", to: "2027-01-01T00:00:00Z" };

beforeAll(async () => {
  server = await startServer();
  db = server.app.services.db;
  finance = await organization(server, "CITY_FINANCE", "Shanghai Finance", "Shanghai");
  otherFinance = await organization(server, "CITY_FINANCE", "Hangzhou Finance", "Hangzhou");
  sme1 = await organization(server, "SME", "Mofang Vision");
  sme2 = await organization(server, "SME", "Lingxi AI");
  const operator = await organization(server, "DATA_CENTER_OPERATOR", "West Operator");
  dcs = {
    ningxia: await dataCenter(server, operator, "Ningxia Zhongwei", "Zhongwei DC-1"),
    gansu: await dataCenter(server, operator, "Gansu Qingyang", "Qingyang Center", "Gansu"),
  };
  const window = { availableFrom: "2026-12-01T00:00:00Z", availableUntil: "2027-03-01T00:00:00Z", gpuCount: 100 };
  const offers = {
    ningxiaH800: await publishOffer(
      server,
      operator,
      { dataCenterId: dcs.ningxia, gpuModel: "H800", pricePerGpuHour: "50.00", ...window },
      NOW,
    ),
    gansuAscend: await publishOffer(
      server,
      operator,
      { dataCenterId: dcs.gansu, gpuModel: "Ascend 910B", pricePerGpuHour: "30.00", ...window },
      NOW,
    ),
    gansuH800: await publishOffer(
      server,
      operator,
      { dataCenterId: dcs.gansu, gpuModel: "H800", pricePerGpuHour: "40.00", ...window },
      NOW,
    ),
  };
  const validity = { validFrom: "2026-01-01T00:00:00Z", validUntil: "2027-06-30T00:00:00Z" };
  programs = {
    p1: await createProgram(
      server,
      finance,
      { name: "Shanghai Compute Voucher", rateBasisPoints: 5000, ...validity },
      NOW,
    ),
    p2: await createProgram(
      server,
      finance,
      { name: "Shanghai Domestic Chips", rateBasisPoints: 2000, domesticRateBasisPoints: 4000, ...validity },
      NOW,
    ),
    p3: await createProgram(
      server,
      otherFinance,
      { name: "Hangzhou Compute Voucher", rateBasisPoints: 3000, ...validity },
      NOW,
    ),
  };
  const voucher = {
    s1p1: await grantVoucher(server, finance, sme1, programs.p1, "100000", NOW),
    s2p1: await grantVoucher(server, finance, sme2, programs.p1, "100000", NOW),
    s1p2: await grantVoucher(server, finance, sme1, programs.p2, "100000", NOW),
    s2p2: await grantVoucher(server, finance, sme2, programs.p2, "100000", NOW),
    s1p3: await grantVoucher(server, otherFinance, sme1, programs.p3, "100000", NOW),
  };
  const order = async (sme: Actor, offerId: string, gpuCount: number, hours: number, voucherId: string | null) =>
    checkoutOrder(db, {
      reservation: await insertReservation(db, { offerId, smeId: sme.id, gpuCount, hours }),
      voucherId,
      now: new Date(NOW),
    });
  const paid = async (o: OrderRow, at: string) => payOrder(db, o.id, new Date(at));

  counted.push(await paid(await order(sme1, offers.ningxiaH800, 2, 10, voucher.s1p1), "2026-11-05T08:00:00Z"));
  counted.push(await paid(await order(sme2, offers.gansuAscend, 1, 5, voucher.s2p1), "2026-11-20T08:00:00Z"));
  counted.push(await paid(await order(sme1, offers.gansuH800, 4, 3, voucher.s1p2), "2026-12-02T08:00:00Z"));
  counted.push(await paid(await order(sme2, offers.ningxiaH800, 2, 2, voucher.s2p2), "2026-12-31T23:00:00Z"));
  counted.push(await paid(await order(sme2, offers.gansuAscend, 3, 7, voucher.s2p2), "2026-11-30T12:00:00Z"));
  // Out of the window or not paid: never counted.
  refunded = await paid(await order(sme1, offers.gansuAscend, 2, 4, voucher.s1p1), "2026-12-10T00:00:00Z");
  refunded = await refundOrder(db, refunded.id, new Date("2027-01-03T00:00:00Z"));
  await order(sme2, offers.ningxiaH800, 1, 1, voucher.s2p1);
  await failOrder(db, (await order(sme1, offers.ningxiaH800, 1, 1, voucher.s1p1)).id);
  await paid(await order(sme1, offers.ningxiaH800, 1, 3, voucher.s1p3), "2026-11-11T00:00:00Z");
  await paid(await order(sme2, offers.ningxiaH800, 1, 3, null), "2026-11-12T00:00:00Z");
  late = await paid(await order(sme1, offers.ningxiaH800, 1, 6, voucher.s1p1), "2027-01-15T00:00:00Z");
});
afterAll(() => server?.close());

type Dimension = "MONTH" | "DAY" | "PROGRAM" | "DATA_CENTER" | "HUB" | "GPU_MODEL" | "SME";

/** The day of an instant in China (UTC+8, no daylight saving), written out by hand: "2027-01-01" for 2026-12-31T16:00Z. */
const chinaDay = (at: Date) => new Date(at.getTime() + 8 * 3_600_000).toISOString().slice(0, 10);

/** The report computed here from the orders themselves, to compare with the server's SQL. */
async function expected(orders: OrderRow[], groupBy: Dimension[]) {
  const names = async (table: string, ids: number[]) => {
    const rows = await server.sql(`select id::int as id, name from ${table} where id = any($1::bigint[])`, [ids]);
    return new Map(rows.map((r: { id: number; name: string }) => [r.id, r.name]));
  };
  const programNames = await names(
    "subsidy_programs",
    orders.map((o) => o.programId!),
  );
  const dcNames = await names(
    "data_centers",
    orders.map((o) => o.dataCenterId),
  );
  const modelNames = await names(
    "gpu_models",
    orders.map((o) => o.gpuModelId),
  );
  const smeNames = await names(
    "organizations",
    orders.map((o) => o.smeId),
  );
  const keyOf = (o: OrderRow, d: Dimension) => {
    switch (d) {
      case "MONTH":
        return { dimension: d, value: chinaDay(o.paidAt!).slice(0, 7), label: chinaDay(o.paidAt!).slice(0, 7) };
      case "DAY":
        return { dimension: d, value: chinaDay(o.paidAt!), label: chinaDay(o.paidAt!) };
      case "PROGRAM":
        return { dimension: d, value: globalId("SubsidyProgram", o.programId!), label: programNames.get(o.programId!) };
      case "DATA_CENTER":
        return { dimension: d, value: globalId("DataCenter", o.dataCenterId), label: dcNames.get(o.dataCenterId) };
      case "HUB":
        return { dimension: d, value: o.hub, label: o.hub };
      case "GPU_MODEL":
        return { dimension: d, value: globalId("GpuModel", o.gpuModelId), label: modelNames.get(o.gpuModelId) };
      case "SME":
        return { dimension: d, value: globalId("Organization", o.smeId), label: smeNames.get(o.smeId) };
    }
  };
  const groups = new Map<
    string,
    { keys: unknown[]; orders: number; gpuHours: number; gross: bigint; subsidy: bigint; smePaid: bigint }
  >();
  for (const o of orders) {
    const keys = [...new Set(groupBy)].map((d) => keyOf(o, d));
    const id = JSON.stringify(keys);
    const group = groups.get(id) ?? { keys, orders: 0, gpuHours: 0, gross: 0n, subsidy: 0n, smePaid: 0n };
    group.orders += 1;
    group.gpuHours += o.gpuHours;
    group.gross += o.gross;
    group.subsidy += o.subsidy;
    group.smePaid += o.smeShare;
    groups.set(id, group);
  }
  return [...groups.values()].map((g) => ({
    ...g,
    gross: { fen: String(g.gross) },
    subsidy: { fen: String(g.subsidy) },
    smePaid: { fen: String(g.smePaid) },
  }));
}

const sortRows = <T extends { keys: unknown[] }>(rows: T[]) =>
  [...rows].sort((a, b) => JSON.stringify(a.keys).localeCompare(JSON.stringify(b.keys)));

function expectTotalsAreTheSumOfRows(report: any) {
  const sum = (pick: (r: any) => string | number) => report.rows.reduce((a: bigint, r: any) => a + BigInt(pick(r)), 0n);
  expect(BigInt(report.totals.orders)).toBe(sum((r) => r.orders));
  expect(BigInt(report.totals.gpuHours)).toBe(sum((r) => r.gpuHours));
  expect(BigInt(report.totals.gross.fen)).toBe(sum((r) => r.gross.fen));
  expect(BigInt(report.totals.subsidy.fen)).toBe(sum((r) => r.subsidy.fen));
  expect(BigInt(report.totals.smePaid.fen)).toBe(sum((r) => r.smePaid.fen));
  expect(report.totals.keys).toEqual([]);
}

describe("subsidySpend", () => {
  const groupings: Dimension[][] = [
    [],
    ["MONTH"],
    ["PROGRAM"],
    ["DATA_CENTER"],
    ["HUB"],
    ["GPU_MODEL"],
    ["SME"],
    ["DAY"],
    ["DAY", "HUB"],
    ["MONTH", "DATA_CENTER"],
    ["GPU_MODEL", "PROGRAM", "SME"],
    ["SME", "HUB", "SME"],
    ["MONTH", "PROGRAM", "DATA_CENTER", "HUB", "GPU_MODEL", "SME"],
  ];

  it.each(groupings.map((g) => [g.join(", ") || "nothing", g] as const))(
    "grouped by %s: the rows match the paid orders, the totals their sum",
    async (_, groupBy) => {
      const { subsidySpend: report } = await server.ok(SPEND, { ...WINDOW, groupBy }, { token: finance.token });
      const want = await expected(counted, groupBy);
      expect(sortRows(report.rows)).toEqual(sortRows(want));
      expectTotalsAreTheSumOfRows(report);
      expect(report.totals.orders).toBe(counted.length);
      for (const row of report.rows)
        expect(row.keys.map((k: { dimension: string }) => k.dimension)).toEqual([...new Set(groupBy)]);
    },
  );

  it("reads whole months from the monthly sums and the partial months at either end from the orders", () => {
    const at = (iso: string) => new Date(iso);
    // Months of the billing time zone, Asia/Shanghai: December 2025 starts at 2025-11-30T16:00Z.
    expect(spendSources(at("2025-11-30T00:00:00Z"), at("2026-11-30T00:00:00Z"), ["MONTH", "DATA_CENTER"])).toEqual({
      months: { from: at("2025-11-30T16:00:00Z"), to: at("2026-10-31T16:00:00Z") },
      orders: [
        { from: at("2025-11-30T00:00:00Z"), to: at("2025-11-30T16:00:00Z") },
        { from: at("2026-10-31T16:00:00Z"), to: at("2026-11-30T00:00:00Z") },
      ],
    });
    expect(spendSources(at("2026-11-01T00:00:00+08:00"), at("2027-01-01T00:00:00+08:00"), ["HUB", "PROGRAM"])).toEqual({
      months: { from: at("2026-10-31T16:00:00Z"), to: at("2026-12-31T16:00:00Z") },
      orders: [],
    });
    // Whole UTC months are not whole months here: the first and last eight hours come from the orders.
    expect(spendSources(at("2026-11-01T00:00:00Z"), at("2027-01-01T00:00:00Z"), ["HUB"])).toEqual({
      months: { from: at("2026-11-30T16:00:00Z"), to: at("2026-12-31T16:00:00Z") },
      orders: [
        { from: at("2026-11-01T00:00:00Z"), to: at("2026-11-30T16:00:00Z") },
        { from: at("2026-12-31T16:00:00Z"), to: at("2027-01-01T00:00:00Z") },
      ],
    });
    // No whole month inside, or a dimension the monthly sums do not keep: the orders alone.
    const within = { from: at("2026-11-03T00:00:00Z"), to: at("2026-11-29T00:00:00Z") };
    expect(spendSources(within.from, within.to, ["MONTH"])).toEqual({ months: null, orders: [within] });
    const year = { from: at("2026-01-01T00:00:00Z"), to: at("2027-01-01T00:00:00Z") };
    expect(spendSources(year.from, year.to, ["MONTH", "SME"])).toEqual({ months: null, orders: [year] });
    expect(spendSources(year.from, year.to, ["GPU_MODEL"])).toEqual({ months: null, orders: [year] });
  });

  it("a window cut inside months counts the same orders as the orders themselves, refunds included", async () => {
    // 2026-11-20 .. 2027-01-10: the end of November and the start of January from the orders,
    // December from the monthly sums (where the refunded order of 2026-12-10 was added, then taken out).
    const cut = { from: "2026-11-20T00:00:00Z", to: "2027-01-10T00:00:00Z" };
    const inCut = counted.filter((o) => o.paidAt! >= new Date(cut.from) && o.paidAt! < new Date(cut.to));
    expect(inCut.length).toBeGreaterThan(1);
    expect(inCut.length).toBeLessThan(counted.length);
    for (const groupBy of [
      ["MONTH", "DATA_CENTER"],
      ["PROGRAM", "HUB"],
      ["MONTH", "SME"],
      ["DAY"],
      [],
    ] as Dimension[][]) {
      const { subsidySpend: report } = await server.ok(SPEND, { ...cut, groupBy }, { token: finance.token });
      expect(sortRows(report.rows)).toEqual(sortRows(await expected(inCut, groupBy)));
      expect(report.totals.orders).toBe(inCut.length);
    }
  });

  it("answers the rows alike however a query selects them: aliases, repeats, fragments, __typename, @skip", async () => {
    const variables = { ...WINDOW, groupBy: ["MONTH", "DATA_CENTER"] };
    const { subsidySpend: plain } = await server.ok(SPEND, variables, { token: finance.token });
    const shapes = `query($from: DateTime!, $to: DateTime!, $groupBy: [SpendDimension!]!) {
      subsidySpend(from: $from, to: $to, groupBy: $groupBy) {
        rows { ...Row keys { label } orders }
        again: rows { __typename money: gross { fen } ... on SpendRow { keys { dimension } } } } }
      fragment Row on SpendRow { keys { dimension value } gpuHours orders subsidy { fen } }`;
    const { subsidySpend: asked } = await server.ok(shapes, variables, { token: finance.token });
    expect(asked.rows.length).toBeGreaterThan(1);
    expect(asked.rows).toEqual(
      plain.rows.map((row: any) => ({
        keys: row.keys,
        gpuHours: row.gpuHours,
        orders: row.orders,
        subsidy: row.subsidy,
      })),
    );
    // Keys in the order the query first names them, as graphql-js answers.
    expect(Object.keys(asked.rows[0])).toEqual(["keys", "gpuHours", "orders", "subsidy"]);
    expect(Object.keys(asked.rows[0].keys[0])).toEqual(["dimension", "value", "label"]);
    expect(asked.again).toEqual(
      plain.rows.map((row: any) => ({
        __typename: "SpendRow",
        money: row.gross,
        keys: row.keys.map((key: any) => ({ dimension: key.dimension })),
      })),
    );
    // A query with @skip or @include is completed field by field instead (decision 0022): the same answer.
    const conditional = `query($from: DateTime!, $to: DateTime!, $groupBy: [SpendDimension!]!, $yes: Boolean!) {
      subsidySpend(from: $from, to: $to, groupBy: $groupBy) { rows { orders keys { value label @skip(if: $yes) } } } }`;
    const { subsidySpend: maybe } = await server.ok(conditional, { ...variables, yes: true }, { token: finance.token });
    expect(maybe.rows).toEqual(
      plain.rows.map((row: any) => ({ orders: row.orders, keys: row.keys.map((key: any) => ({ value: key.value })) })),
    );
  });

  it("answers every amount in yuan and fen, the yuan written as everywhere else", async () => {
    const query = `query($from: DateTime!, $to: DateTime!, $groupBy: [SpendDimension!]!) { subsidySpend(from: $from, to: $to, groupBy: $groupBy) {
      rows { gross { amount fen currency } subsidy { amount fen currency } smePaid { amount fen currency } }
      totals { gross { amount fen currency } subsidy { amount fen currency } smePaid { amount fen currency } } } }`;
    for (const groupBy of [["MONTH", "SME"], ["DATA_CENTER"], []]) {
      const { subsidySpend: report } = await server.ok(query, { ...WINDOW, groupBy }, { token: finance.token });
      const amounts = [...report.rows, report.totals].flatMap((row: any) => [row.gross, row.subsidy, row.smePaid]);
      expect(amounts.length).toBeGreaterThan(3);
      for (const money of amounts)
        expect(money).toEqual({ amount: formatYuan(BigInt(money.fen)), fen: money.fen, currency: "CNY" });
    }
  });

  it("orders rows by their keys and labels them with names", async () => {
    const { subsidySpend } = await server.ok(SPEND, { ...WINDOW, groupBy: ["MONTH", "HUB"] }, { token: finance.token });
    // The payment at 2026-12-31T23:00Z is inside the window but on 1 January in China: January's.
    expect(subsidySpend.rows.map((r: any) => r.keys.map((k: any) => k.label).join(" / "))).toEqual([
      "2026-11 / Gansu Qingyang",
      "2026-11 / Ningxia Zhongwei",
      "2026-12 / Gansu Qingyang",
      "2027-01 / Ningxia Zhongwei",
    ]);
    const byDc = await server.ok(SPEND, { ...WINDOW, groupBy: ["DATA_CENTER"] }, { token: finance.token });
    expect(byDc.subsidySpend.rows.map((r: any) => r.keys[0])).toEqual([
      { dimension: "DATA_CENTER", value: dcs.ningxia, label: "Zhongwei DC-1" },
      { dimension: "DATA_CENTER", value: dcs.gansu, label: "Qingyang Center" },
    ]);
  });

  it("agrees with the budget ledger to the fen: the subsidy of each program over all time is its spent", async () => {
    const allTime = { from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z" };
    const { subsidyPrograms } = await server.ok(
      `{ subsidyPrograms { id budgetStatus { spent { fen } } } }`,
      {},
      { token: ADMIN },
    );
    const spent = new Map(subsidyPrograms.map((p: any) => [p.id, p.budgetStatus.spent.fen]));
    const { subsidySpend } = await server.ok(SPEND, { ...allTime, groupBy: ["PROGRAM"] }, { token: ADMIN });
    expect(subsidySpend.rows.map((r: any) => [r.keys[0].value, r.subsidy.fen])).toEqual(
      [programs.p1, programs.p2, programs.p3].map((id) => [id, spent.get(id)]),
    );
    for (const id of [programs.p1, programs.p2]) {
      const one = await server.ok(SPEND, { ...allTime, programId: id, groupBy: [] }, { token: finance.token });
      expect(one.subsidySpend.totals.subsidy.fen).toBe(spent.get(id));
      const [ledger] = await server.sql(
        `select coalesce(sum(case kind when 'POST' then amount when 'REFUND' then -amount else 0 end), 0)::text as spent from ledger_entries where program_id = $1`,
        [keyOf(id)],
      );
      expect(one.subsidySpend.totals.subsidy.fen).toBe(ledger.spent);
    }
    // The refunded order dropped out; the late one counts in its own month.
    const january = await server.ok(
      SPEND,
      { from: "2027-01-01T00:00:00Z", to: "2027-02-01T00:00:00Z", groupBy: ["SME"] },
      { token: finance.token },
    );
    expect(january.subsidySpend.totals).toMatchObject({ orders: 1, subsidy: { fen: String(late.subsidy) } });
    expect(refunded.status).toBe("REFUNDED");
    expect(await brokenInvariants(server)).toEqual([]);
  });

  it("an empty window is all zeros", async () => {
    const { subsidySpend } = await server.ok(
      SPEND,
      { from: "2020-01-01T00:00:00Z", to: "2020-02-01T00:00:00Z", groupBy: ["MONTH"] },
      { token: finance.token },
    );
    expect(subsidySpend).toEqual({
      rows: [],
      totals: { keys: [], orders: 0, gpuHours: 0, gross: { fen: "0" }, subsidy: { fen: "0" }, smePaid: { fen: "0" } },
    });
  });

  it("a finance team sees its own city only; the admin sees every city", async () => {
    const mine = await server.ok(SPEND, { ...WINDOW, groupBy: ["PROGRAM"] }, { token: otherFinance.token });
    expect(mine.subsidySpend.rows.map((r: any) => r.keys[0].label)).toEqual(["Hangzhou Compute Voucher"]);
    await server.fails(
      "NOT_FOUND",
      SPEND,
      { ...WINDOW, programId: programs.p1, groupBy: [] },
      { token: otherFinance.token },
    );
    await server.fails(
      "NOT_FOUND",
      SPEND,
      { ...WINDOW, programId: "program_99999999", groupBy: [] },
      { token: finance.token },
    );
    await server.fails("FORBIDDEN", SPEND, { ...WINDOW, city: "Shanghai", groupBy: [] }, { token: otherFinance.token });
    await server.fails("FORBIDDEN", SPEND, { ...WINDOW, groupBy: [] }, { token: sme1.token });

    const all = await server.ok(SPEND, { ...WINDOW, groupBy: ["PROGRAM"] }, { token: ADMIN });
    expect(all.subsidySpend.rows.map((r: any) => r.keys[0].label)).toEqual([
      "Shanghai Compute Voucher",
      "Shanghai Domestic Chips",
      "Hangzhou Compute Voucher",
    ]);
    const shanghai = await server.ok(SPEND, { ...WINDOW, city: "Shanghai", groupBy: ["PROGRAM"] }, { token: ADMIN });
    expect(shanghai.subsidySpend.rows).toHaveLength(2);
    const ownCity = await server.ok(
      SPEND,
      { ...WINDOW, city: "Shanghai", programId: programs.p2, groupBy: [] },
      { token: finance.token },
    );
    expect(ownCity.subsidySpend.totals.orders).toBe(counted.filter((o) => o.programId === keyOf(programs.p2)).length);
  });

  it("a city name is only ever a name: quotes, backslashes and placeholders find no city", async () => {
    for (const city of ["O'Brien", "Shanghai' or 'x' = 'x", "Shanghai\\", "\\'; select 1; --", "$1"]) {
      const { subsidySpend } = await server.ok(SPEND, { ...WINDOW, city, groupBy: ["PROGRAM"] }, { token: ADMIN });
      expect(subsidySpend.rows).toEqual([]);
      expect(subsidySpend.totals.orders).toBe(0);
    }
  });

  it("validates the window", async () => {
    const error = await server.fails(
      "BAD_USER_INPUT",
      SPEND,
      { from: WINDOW.to, to: WINDOW.from, groupBy: [] },
      { token: finance.token },
    );
    expect(error.extensions?.field).toBe("to");
    await server.fails("BAD_USER_INPUT", SPEND, { ...WINDOW, groupBy: ["COLOR"] }, { token: finance.token });
  });

  it("runs a fixed number of queries whatever the grouping", async () => {
    const counts = [];
    for (const groupBy of [["MONTH"], ["MONTH", "PROGRAM", "DATA_CENTER", "HUB", "GPU_MODEL", "SME"]]) {
      await server.ok(SPEND, { ...WINDOW, groupBy }, { token: finance.token }); // warms the key cache
      const before = server.queryCount();
      await server.ok(SPEND, { ...WINDOW, groupBy }, { token: finance.token });
      counts.push(server.queryCount() - before);
    }
    expect(counts[0]).toBe(counts[1]);
    expect(counts[1]).toBeLessThanOrEqual(2);
  });
});

describe("city statements", () => {
  it("lists the month's claims per data center; the total agrees with the ledger", async () => {
    const { cityStatement } = await server.ok(
      STATEMENT,
      { programId: programs.p1, month: "2026-11" },
      { token: finance.token },
    );
    const [o1, o2] = counted;
    expect(cityStatement).toEqual({
      program: { id: programs.p1 },
      month: "2026-11",
      status: "OPEN",
      settledAt: null,
      total: { fen: String(o1.subsidy + o2.subsidy), amount: expect.any(String) },
      lines: [
        { dataCenter: { id: dcs.ningxia, name: "Zhongwei DC-1" }, orders: 1, subsidy: { fen: String(o1.subsidy) } },
        { dataCenter: { id: dcs.gansu, name: "Qingyang Center" }, orders: 1, subsidy: { fen: String(o2.subsidy) } },
      ],
    });
    // January: the refund of a December claim and a January claim.
    const january = (await server.ok(STATEMENT, { programId: programs.p1, month: "2027-01" }, { token: ADMIN }))
      .cityStatement;
    expect(january.lines).toEqual([
      { dataCenter: { id: dcs.ningxia, name: "Zhongwei DC-1" }, orders: 1, subsidy: { fen: String(late.subsidy) } },
      {
        dataCenter: { id: dcs.gansu, name: "Qingyang Center" },
        orders: -1,
        subsidy: { fen: String(-refunded.subsidy) },
      },
    ]);
    // Over every month, the statements add up to the program's spent.
    let total = 0n;
    for (const month of ["2026-11", "2026-12", "2027-01"]) {
      total += BigInt(
        (await server.ok(STATEMENT, { programId: programs.p1, month }, { token: finance.token })).cityStatement.total
          .fen,
      );
    }
    const { subsidyPrograms } = await server.ok(
      `query($c: String) { subsidyPrograms(city: $c) { id budgetStatus { spent { fen } } } }`,
      { c: "Shanghai" },
      { token: finance.token },
    );
    expect(String(total)).toBe(subsidyPrograms.find((p: any) => p.id === programs.p1).budgetStatus.spent.fen);
  });

  it("a month without claims reads as an empty open statement", async () => {
    const { cityStatement } = await server.ok(
      STATEMENT,
      { programId: programs.p2, month: "2025-03" },
      { token: finance.token },
    );
    expect(cityStatement).toMatchObject({
      month: "2025-03",
      status: "OPEN",
      settledAt: null,
      total: { fen: "0" },
      lines: [],
    });
  });

  it("settles a month once; later claims of that month land in the next open statement", async () => {
    const before = (await server.ok(STATEMENT, { programId: programs.p2, month: "2026-12" }, { token: finance.token }))
      .cityStatement;
    const januaryBefore = (
      await server.ok(STATEMENT, { programId: programs.p2, month: "2027-01" }, { token: finance.token })
    ).cityStatement;
    const { settleCityStatement } = await server.ok(
      SETTLE,
      { programId: programs.p2, month: "2026-12" },
      { token: finance.token, now: "2027-01-05T00:00:00Z" },
    );
    expect(settleCityStatement).toMatchObject({
      month: "2026-12",
      status: "SETTLED",
      settledAt: "2027-01-05T00:00:00.000Z",
      total: { fen: before.total.fen },
      lines: before.lines.map((l: any) => ({ ...l, dataCenter: { id: l.dataCenter.id } })),
    });
    await server.fails(
      "CONFLICT",
      SETTLE,
      { programId: programs.p2, month: "2026-12" },
      { token: finance.token, now: "2027-01-06T00:00:00Z" },
    );

    // A payment of December heard after the settlement goes to January.
    const voucherId = (
      await server.sql(`select id::text from vouchers where program_id = $1 limit 1`, [keyOf(programs.p2)])
    )[0].id;
    const [offer] = await server.sql(`select id::int from offers where data_center_id = $1 limit 1`, [
      keyOf(dcs.gansu),
    ]);
    const [voucherRow] = await server.sql(`select sme_id::int from vouchers where id = $1`, [keyOf(voucherId)]);
    const reservation = await insertReservation(db, {
      offerId: offer.id,
      smeId: voucherRow.sme_id,
      gpuCount: 1,
      hours: 2,
    });
    const order = await checkoutOrder(db, { reservation, voucherId, now: new Date(NOW) });
    await payOrder(db, order.id, new Date("2026-12-15T00:00:00Z"));
    const december = (
      await server.ok(STATEMENT, { programId: programs.p2, month: "2026-12" }, { token: finance.token })
    ).cityStatement;
    expect(december.total).toEqual(before.total);
    expect(december.status).toBe("SETTLED");
    const january = (await server.ok(STATEMENT, { programId: programs.p2, month: "2027-01" }, { token: finance.token }))
      .cityStatement;
    expect(january).toMatchObject({
      status: "OPEN",
      total: { fen: String(BigInt(januaryBefore.total.fen) + order.subsidy) },
    });
    expect(january.lines.find((l: any) => l.dataCenter.id === dcs.gansu)).toMatchObject({ orders: 1 });
    expect(await brokenInvariants(server)).toEqual([]);
  });

  it("a month with no statement yet can be settled", async () => {
    const { settleCityStatement } = await server.ok(
      SETTLE,
      { programId: programs.p1, month: "2026-06" },
      { token: finance.token, now: NOW },
    );
    expect(settleCityStatement).toMatchObject({ month: "2026-06", status: "SETTLED", total: { fen: "0" }, lines: [] });
    await server.fails(
      "CONFLICT",
      SETTLE,
      { programId: programs.p1, month: "2026-06" },
      { token: finance.token, now: NOW },
    );
  });

  it("a month is settled only once it has ended, on the request's clock; malformed or absurd months are BAD_USER_INPUT", async () => {
    const settled = async () =>
      (await server.sql(`select count(*)::int as n from city_statements where status = 'SETTLED'`))[0].n;
    const before = await settled();
    // January 2027, Hangzhou's program: not over on its last millisecond in China (15:59:59.999Z on
    // the 31st), nor the months after it.
    for (const [month, now] of [
      ["2027-01", "2027-01-15T00:00:00Z"],
      ["2027-01", "2027-01-31T15:59:59.999Z"],
      ["2027-02", "2027-01-31T15:59:59.999Z"],
      ["2030-05", "2027-01-31T15:59:59.999Z"],
    ]) {
      const error = await server.fails(
        "BAD_USER_INPUT",
        SETTLE,
        { programId: programs.p3, month },
        { token: otherFinance.token, now },
      );
      expect([month, error.extensions?.field, error.message]).toEqual([
        month,
        "month",
        expect.stringMatching(/not ended/),
      ]);
    }
    // Months no program can bill, to settle or to read.
    for (const month of ["0000-01", "1999-12", "2100-01", "9999-12"]) {
      const error = await server.fails(
        "BAD_USER_INPUT",
        SETTLE,
        { programId: programs.p3, month },
        { token: otherFinance.token, now: "2027-02-01T00:00:00Z" },
      );
      expect(error.extensions?.field).toBe("month");
      await server.fails(
        "BAD_USER_INPUT",
        STATEMENT,
        { programId: programs.p3, month },
        { token: otherFinance.token, now: "2027-02-01T00:00:00Z" },
      );
    }
    expect(await settled()).toBe(before);
    // A month that has not ended can still be read: its statement is open.
    const { cityStatement } = await server.ok(
      STATEMENT,
      { programId: programs.p3, month: "2027-01" },
      { token: otherFinance.token, now: "2027-01-15T00:00:00Z" },
    );
    expect(cityStatement).toMatchObject({ month: "2027-01", status: "OPEN" });
    // Over at its end, midnight in China: settled.
    const { settleCityStatement } = await server.ok(
      SETTLE,
      { programId: programs.p3, month: "2027-01" },
      { token: otherFinance.token, now: "2027-01-31T16:00:00Z" },
    );
    expect(settleCityStatement).toMatchObject({
      month: "2027-01",
      status: "SETTLED",
      settledAt: "2027-01-31T16:00:00.000Z",
    });
    expect(await settled()).toBe(before + 1);
  });

  it("is its city's finance team's: others get NOT_FOUND, FORBIDDEN or BAD_USER_INPUT", async () => {
    await server.fails(
      "NOT_FOUND",
      STATEMENT,
      { programId: programs.p1, month: "2026-11" },
      { token: otherFinance.token },
    );
    await server.fails(
      "NOT_FOUND",
      SETTLE,
      { programId: programs.p1, month: "2026-11" },
      { token: otherFinance.token },
    );
    await server.fails("FORBIDDEN", STATEMENT, { programId: programs.p1, month: "2026-11" }, { token: sme1.token });
    await server.fails("FORBIDDEN", SETTLE, { programId: programs.p1, month: "2026-11" }, { token: ADMIN });
    for (const month of ["2026-13", "2026-1", "November", "2026-11-01"]) {
      const error = await server.fails(
        "BAD_USER_INPUT",
        STATEMENT,
        { programId: programs.p1, month },
        { token: finance.token },
      );
      expect(error.extensions?.field).toBe("month");
    }
    const error = await server.fails(
      "BAD_USER_INPUT",
      SETTLE,
      { programId: programs.p1, month: "2026-00" },
      { token: finance.token },
    );
    expect(error.extensions?.field).toBe("month");
    const [{ n }] = await server.sql(
      `select count(*)::int as n from city_statements where status = 'SETTLED' and program_id = $1 and month = '2026-11'`,
      [keyOf(programs.p1)],
    );
    expect(n).toBe(0);
  });
});
