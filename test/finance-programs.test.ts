import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "../src/db/client.js";
import { forecastBudget } from "../src/vouchers/forecast.js";
import { DEMO_TOKENS } from "../src/db/seed.js";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import {
  brokenInvariants,
  checkoutOrder,
  createProgram,
  grantVoucher,
  insertReservation,
  payOrder,
  refundOrder,
} from "./support/orders.js";

const NOW = "2026-11-15T02:00:00Z";
const VALIDITY = { validFrom: "2026-01-01T00:00:00Z", validUntil: "2030-01-01T00:00:00Z" };
let server: TestServer;
let db: Db;
let finance: Actor;
let otherFinance: Actor;
let sme: Actor;
let institute: Actor;
let operator: Actor;
let offerId: string;

const APPLY = `mutation($input: ApplyForVoucherInput!) { applyForVoucher(input: $input) { id status } }`;
const CATEGORY = `mutation($id: ID!, $c: ApplicantCategory!) { setOrganizationCategory(organizationId: $id, category: $c) { id kind category } }`;

beforeAll(async () => {
  server = await startServer();
  db = server.app.services.db;
  finance = await organization(server, "CITY_FINANCE", "Chengdu Finance", "Chengdu");
  otherFinance = await organization(server, "CITY_FINANCE", "Hangzhou Finance", "Hangzhou");
  sme = await organization(server, "SME", "Mofang Vision");
  institute = await organization(server, "SME", "Chengdu Institute of Computing");
  operator = await organization(server, "DATA_CENTER_OPERATOR", "West Operator");
  const dc = await dataCenter(server, operator, "Chengdu Tianfu", "Tianfu DC-1", "Sichuan");
  offerId = await publishOffer(
    server,
    operator,
    {
      dataCenterId: dc,
      gpuCount: 200,
      pricePerGpuHour: "20.00",
      availableFrom: "2027-02-01T00:00:00Z",
      availableUntil: "2027-04-01T00:00:00Z",
    },
    NOW,
  );
});
afterAll(() => server?.close());

describe("applicant categories", () => {
  it("an SME is an SME unless the admin declares another category; other kinds have none", async () => {
    const { createOrganization } = await server.ok(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { kind category } }`,
      { input: { name: "Tsinghua Vision Lab", kind: "SME", category: "UNIVERSITY" } },
      { token: ADMIN },
    );
    expect(createOrganization).toEqual({ kind: "SME", category: "UNIVERSITY" });
    const error = await server.fails(
      "BAD_USER_INPUT",
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }`,
      { input: { name: "Some Operator", kind: "DATA_CENTER_OPERATOR", category: "STARTUP" } },
      { token: ADMIN },
    );
    expect(error.extensions?.field).toBe("category");

    const { setOrganizationCategory } = await server.ok(
      CATEGORY,
      { id: institute.id, c: "RESEARCH_INSTITUTE" },
      { token: ADMIN },
    );
    expect(setOrganizationCategory).toEqual({ id: institute.id, kind: "SME", category: "RESEARCH_INSTITUTE" });
    const { me } = await server.ok(`{ me { organization { category } } }`, {}, { token: sme.token });
    expect(me.organization.category).toBe("SME");
    const { node } = await server.ok(
      `query($id: ID!) { node(id: $id) { ... on Organization { category } } }`,
      { id: operator.id },
      { token: ADMIN },
    );
    expect(node.category).toBeNull();

    expect(
      (await server.fails("BAD_USER_INPUT", CATEGORY, { id: operator.id, c: "SME" }, { token: ADMIN })).extensions
        ?.field,
    ).toBe("organizationId");
    await server.fails("NOT_FOUND", CATEGORY, { id: "org_999", c: "SME" }, { token: ADMIN });
    await server.fails("FORBIDDEN", CATEGORY, { id: sme.id, c: "STARTUP" }, { token: finance.token });
    const { auditLog } = await server.ok(
      `{ auditLog(action: SET_ORGANIZATION_CATEGORY, first: 5) { edges { node { targetId detail } } } }`,
      {},
      { token: ADMIN },
    );
    expect(auditLog.edges.map((e: any) => e.node)).toEqual([
      { targetId: institute.id, detail: "SME -> RESEARCH_INSTITUTE" },
    ]);
  });

  it("a program pays the categories it lists (SME by default): another applies or checks out NOT_ELIGIBLE, reason CATEGORY", async () => {
    const research = await createProgram(
      server,
      finance,
      { name: "Chengdu Research", ...VALIDITY, eligibleCategories: ["RESEARCH_INSTITUTE"] },
      NOW,
    );
    const smes = await createProgram(server, finance, { name: "Chengdu SMEs", ...VALIDITY }, NOW);
    const { node } = await server.ok(
      `query($id: ID!) { node(id: $id) { ... on SubsidyProgram { eligibleCategories } } }`,
      { id: smes },
      { token: finance.token },
    );
    expect(node.eligibleCategories).toEqual(["SME"]);

    const refused = await server.fails(
      "NOT_ELIGIBLE",
      APPLY,
      { input: { programId: research, requestedAmount: "1000", purpose: "Protein folding" } },
      { token: sme.token, now: NOW },
    );
    expect(refused.extensions?.reason).toBe("CATEGORY");
    const refusedInstitute = await server.fails(
      "NOT_ELIGIBLE",
      APPLY,
      { input: { programId: smes, requestedAmount: "1000", purpose: "Protein folding" } },
      { token: institute.token, now: NOW },
    );
    expect(refusedInstitute.extensions?.reason).toBe("CATEGORY");

    const voucher = await grantVoucher(server, finance, institute, research, "1000", NOW);
    const reservation = await insertReservation(db, { offerId, smeId: institute.id, gpuCount: 1, hours: 2 });
    const QUOTE = `query($r: ID!, $v: ID!) { quote(reservationId: $r, voucherId: $v) { subsidy { fen } } }`;
    const r = `reservation_${reservation.id}`;
    expect((await server.ok(QUOTE, { r, v: voucher }, { token: institute.token, now: NOW })).quote.subsidy.fen).toBe(
      "1200",
    );
    // Declared an SME after the grant: the research voucher no longer pays, at quote or checkout.
    await server.ok(CATEGORY, { id: institute.id, c: "SME" }, { token: ADMIN });
    const quoteError = await server.fails(
      "NOT_ELIGIBLE",
      QUOTE,
      { r, v: voucher },
      { token: institute.token, now: NOW },
    );
    expect(quoteError.extensions?.reason).toBe("CATEGORY");
    const checkoutError = await server.fails(
      "NOT_ELIGIBLE",
      `mutation($input: CheckoutInput!) { checkout(input: $input) { id } }`,
      { input: { reservationId: r, voucherId: voucher, idempotencyKey: "category-1" } },
      { token: institute.token, now: NOW },
    );
    expect(checkoutError.extensions?.reason).toBe("CATEGORY");
    await server.ok(CATEGORY, { id: institute.id, c: "RESEARCH_INSTITUTE" }, { token: ADMIN });

    const empty = await server.fails(
      "BAD_USER_INPUT",
      `mutation($input: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $input) { id } }`,
      {
        input: { name: "Nobody", budget: "1000", rateBasisPoints: 1000, eligibleCategories: [], ...VALIDITY },
      },
      { token: finance.token, now: NOW },
    );
    expect(empty.extensions?.field).toBe("eligibleCategories");
  });

  it("the demo data seeds Chengdu's research program for research institutes, with an institute to try it", async () => {
    const demo = await startServer({ SEED: "demo" });
    try {
      const { subsidyPrograms } = await demo.ok(
        `{ subsidyPrograms(city: "Chengdu") { id name eligibleCategories } }`,
        {},
        { token: DEMO_TOKENS.INSTITUTE },
      );
      expect(subsidyPrograms).toEqual([
        { id: "program_4", name: "Chengdu Research Compute Voucher", eligibleCategories: ["RESEARCH_INSTITUTE"] },
      ]);
      const input = { programId: "program_4", requestedAmount: "20000", purpose: "Climate model training" };
      expect((await demo.ok(APPLY, { input }, { token: DEMO_TOKENS.INSTITUTE })).applyForVoucher.status).toBe(
        "PENDING",
      );
      const error = await demo.fails("NOT_ELIGIBLE", APPLY, { input }, { token: DEMO_TOKENS.SME });
      expect(error.extensions?.reason).toBe("CATEGORY");
      const { me } = await demo.ok(`{ me { organization { category } } }`, {}, { token: DEMO_TOKENS.INSTITUTE });
      expect(me.organization.category).toBe("RESEARCH_INSTITUTE");
    } finally {
      await demo.close();
    }
  });
});

describe("budget forecast", () => {
  const DAY = 86_400_000;
  it("carries the last 30 days' rate forward in exact integers", () => {
    const now = new Date("2027-01-01T00:00:00Z");
    const validUntil = new Date("2028-01-01T00:00:00Z");
    expect(forecastBudget({ total: 60_000n, available: 24_000n, committed: 36_000n, now, validUntil })).toEqual({
      committedInWindow: 36_000n,
      committedPerDay: 1_200n,
      exhaustsAt: new Date(now.getTime() + 20 * DAY),
      monthsLeftHundredths: 66n,
      runsOutBeforeEnd: true,
      usedBasisPoints: 6000,
      thresholdsCrossed: [],
    });
    // 30 days × 1 / 7, rounded down to the millisecond.
    const seventh = forecastBudget({ total: 100n, available: 1n, committed: 7n, now, validUntil });
    expect(seventh.exhaustsAt).toEqual(new Date(now.getTime() + Math.floor((30 * DAY) / 7)));
    expect(seventh.thresholdsCrossed).toEqual([80, 95]);
    const never = forecastBudget({ total: 100n, available: 100n, committed: 0n, now, validUntil });
    expect([never.exhaustsAt, never.monthsLeftHundredths, never.runsOutBeforeEnd]).toEqual([null, null, false]);
    const later = forecastBudget({ total: 1_000_000n, available: 999_999n, committed: 10_000n, now, validUntil });
    expect([later.exhaustsAt!.getTime() > validUntil.getTime(), later.runsOutBeforeEnd]).toEqual([true, false]);
    // Past a thousand years it does not run out, for any purpose here.
    const glacial = forecastBudget({ total: 10n ** 15n, available: 10n ** 15n - 1n, committed: 1n, now, validUntil });
    expect([glacial.exhaustsAt, glacial.runsOutBeforeEnd]).toEqual([null, false]);
    expect(forecastBudget({ total: 100n, available: 0n, committed: 100n, now, validUntil })).toMatchObject({
      exhaustsAt: now,
      monthsLeftHundredths: 0n,
      thresholdsCrossed: [80, 95, 100],
    });
  });

  it("forecasts a program from its ledger, for its city's finance team and the admin only", async () => {
    const FORECAST = `query($c: String) { subsidyPrograms(city: $c) { id forecast {
      committedLast30Days { fen } committedPerDay { fen } exhaustsAt monthsLeft runsOutBeforeEnd usedBasisPoints thresholdsCrossed } } }`;
    const program = await createProgram(server, finance, { name: "Small Budget", budget: "600.00", ...VALIDITY }, NOW);
    const voucher = await grantVoucher(server, finance, sme, program, "600", NOW);
    // The ledger's entries carry the database's clock: the forecast is asked a minute later.
    const forecastAt = async (token = finance.token) => {
      const now = new Date(Date.now() + 60_000);
      const { subsidyPrograms } = await server.ok(FORECAST, { c: "Chengdu" }, { token, now });
      return { now, forecast: subsidyPrograms.find((p: any) => p.id === program).forecast };
    };
    const nothing = await forecastAt();
    expect(nothing.forecast).toEqual({
      committedLast30Days: { fen: "0" },
      committedPerDay: { fen: "0" },
      exhaustsAt: null,
      monthsLeft: null,
      runsOutBeforeEnd: false,
      usedBasisPoints: 0,
      thresholdsCrossed: [],
    });
    const checkout = async () => {
      const reservation = await insertReservation(db, { offerId, smeId: sme.id, gpuCount: 2, hours: 10 });
      return checkoutOrder(db, { reservation, voucherId: voucher, now: new Date(NOW) });
    };
    // 120.00 of subsidy each (30 % of 400.00).
    const orders = [await checkout(), await checkout(), await checkout()];
    await payOrder(db, orders[0].id, new Date(NOW));
    const sixty = await forecastAt();
    expect(sixty.forecast).toEqual({
      committedLast30Days: { fen: "36000" },
      committedPerDay: { fen: "1200" },
      // 240.00 left at 360.00 per 30 days: 20 days.
      exhaustsAt: new Date(sixty.now.getTime() + 20 * 86_400_000).toISOString(),
      monthsLeft: 0.66,
      runsOutBeforeEnd: true,
      usedBasisPoints: 6000,
      thresholdsCrossed: [],
    });
    orders.push(await checkout());
    expect((await forecastAt()).forecast.thresholdsCrossed).toEqual([80]);
    // A refund gives budget back: the rate of the window is net of it.
    await refundOrder(db, orders[0].id, new Date(NOW));
    const refunded = await forecastAt();
    expect(refunded.forecast).toMatchObject({
      committedLast30Days: { fen: "36000" },
      usedBasisPoints: 6000,
      thresholdsCrossed: [],
    });
    orders.push(await checkout(), await checkout());
    const spent = await forecastAt();
    expect(spent.forecast).toMatchObject({
      usedBasisPoints: 10000,
      thresholdsCrossed: [80, 95, 100],
      exhaustsAt: spent.now.toISOString(),
      monthsLeft: 0,
    });
    // Thirty days on, nothing committed in the window: it never runs out at that rate.
    const { subsidyPrograms } = await server.ok(
      FORECAST,
      { c: "Chengdu" },
      {
        token: ADMIN,
        now: new Date(Date.now() + 31 * 86_400_000),
      },
    );
    expect(subsidyPrograms.find((p: any) => p.id === program).forecast).toMatchObject({
      committedLast30Days: { fen: "0" },
      exhaustsAt: null,
      thresholdsCrossed: [80, 95, 100],
    });
    // Others read the program, not its forecast.
    for (const token of [sme.token, otherFinance.token, operator.token]) {
      const seen = await server.ok(FORECAST, { c: "Chengdu" }, { token });
      expect(seen.subsidyPrograms.every((p: any) => p.forecast === null)).toBe(true);
    }
    expect(await brokenInvariants(server)).toEqual([]);
  });
});
