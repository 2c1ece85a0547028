import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import { createProgram, grantVoucher, insertReservation, PROGRAM_FIELDS, checkoutOrder } from "./support/orders.js";
import type { ReservationRow } from "../src/bids/reservations.service.js";
import { globalId, keyOf } from "./support/ids.js";

const NOW = "2026-11-15T10:00:00Z";
let server: TestServer;
let finance: Actor;
let otherFinance: Actor;
let sme: Actor;
let otherSme: Actor;
let operator: Actor;
let ningxiaDc: string;
let wuhuDc: string;

beforeAll(async () => {
  server = await startServer();
  finance = await organization(server, "CITY_FINANCE", "Shanghai Finance", "Shanghai");
  otherFinance = await organization(server, "CITY_FINANCE", "Hangzhou Finance", "Hangzhou");
  sme = await organization(server, "SME", "Mofang Vision", "Shanghai");
  otherSme = await organization(server, "SME", "Lingxi AI", "Hangzhou");
  operator = await organization(server, "DATA_CENTER_OPERATOR", "Western Cloud");
  ningxiaDc = await dataCenter(server, operator, "Ningxia Zhongwei");
  wuhuDc = await dataCenter(server, operator, "Wuhu", "Wuhu DC", "Anhui");
});
afterAll(() => server?.close());

const CREATE = `mutation($input: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $input) { ${PROGRAM_FIELDS} } }`;
const APPLY = `mutation($input: ApplyForVoucherInput!) { applyForVoucher(input: $input) { id status requestedAmount { fen } purpose program { id } sme { id } voucher { id } } }`;
const DECIDE = `mutation($id: ID!, $approve: Boolean!, $grantedAmount: String, $reason: String) {
  decideVoucherApplication(id: $id, approve: $approve, grantedAmount: $grantedAmount, reason: $reason) {
    id status decisionReason voucher { id grantedAmount { fen } remaining { fen } validUntil status program { id } } } }`;
const LIST = `query($programId: ID!, $status: ApplicationStatus) { voucherApplications(programId: $programId, status: $status) { id status sme { name } } }`;
const QUOTE = `query($reservationId: ID!, $voucherId: ID) { quote(reservationId: $reservationId, voucherId: $voucherId) { gross { fen amount currency } subsidy { fen amount } smeShare { fen amount } } }`;

const validProgram = {
  name: "Shanghai Compute Voucher",
  budget: "600000.00",
  rateBasisPoints: 3000,
  domesticRateBasisPoints: 5000,
  perOrderCap: "10000.00",
  perSmeAnnualCap: "200000.00",
  maxSubsidizedPricePerGpuHour: "40.00",
  eligibleHubs: ["Ningxia Zhongwei", "Gansu Qingyang"],
  validFrom: "2026-01-01T00:00:00Z",
  validUntil: "2027-01-01T00:00:00Z",
};

describe("subsidy programs", () => {
  it("a finance team creates a program in its own city, with the whole budget available", async () => {
    const { createSubsidyProgram: program } = await server.ok(
      CREATE,
      { input: validProgram },
      { token: finance.token, now: NOW },
    );
    expect(program).toMatchObject({
      city: "Shanghai",
      name: "Shanghai Compute Voucher",
      status: "ACTIVE",
      rateBasisPoints: 3000,
      domesticRateBasisPoints: 5000,
      eligibleHubs: ["Ningxia Zhongwei", "Gansu Qingyang"],
      validFrom: "2026-01-01T00:00:00.000Z",
      validUntil: "2027-01-01T00:00:00.000Z",
      budget: { fen: "60000000" },
      perOrderCap: { fen: "1000000" },
      perSmeAnnualCap: { fen: "20000000" },
      maxSubsidizedPricePerGpuHour: { fen: "4000" },
      budgetStatus: {
        total: { fen: "60000000" },
        available: { fen: "60000000" },
        pending: { fen: "0" },
        spent: { fen: "0" },
      },
    });
    const minimal = await server.ok(
      CREATE,
      {
        input: {
          name: "Plain",
          budget: "100",
          rateBasisPoints: 0,
          validFrom: validProgram.validFrom,
          validUntil: validProgram.validUntil,
        },
      },
      { token: finance.token, now: NOW },
    );
    expect(minimal.createSubsidyProgram).toMatchObject({
      domesticRateBasisPoints: null,
      perOrderCap: null,
      perSmeAnnualCap: null,
      maxSubsidizedPricePerGpuHour: null,
      eligibleHubs: [],
    });
  });

  it.each([
    ["budget", { budget: "abc" }],
    ["budget", { budget: "0" }],
    ["budget", { budget: "12.345" }],
    ["rateBasisPoints", { rateBasisPoints: 10001 }],
    ["rateBasisPoints", { rateBasisPoints: -1 }],
    ["domesticRateBasisPoints", { domesticRateBasisPoints: 20000 }],
    ["perOrderCap", { perOrderCap: "600000.01" }],
    ["perOrderCap", { perOrderCap: "0" }],
    ["perSmeAnnualCap", { perSmeAnnualCap: "700000" }],
    ["maxSubsidizedPricePerGpuHour", { maxSubsidizedPricePerGpuHour: "-1" }],
    ["eligibleHubs", { eligibleHubs: ["Ningxia Zhongwei", "Atlantis"] }],
    ["validUntil", { validUntil: "2026-01-01T00:00:00Z" }],
    ["validUntil", { validFrom: "2025-01-01T00:00:00Z", validUntil: "2026-02-01T00:00:00Z" }],
    ["name", { name: "  " }],
  ])("refuses a bad %s with BAD_USER_INPUT and writes nothing", async (field, change) => {
    const [{ n: before }] = await server.sql(`select count(*)::int as n from subsidy_programs`);
    const error = await server.fails(
      "BAD_USER_INPUT",
      CREATE,
      { input: { ...validProgram, ...change } },
      { token: finance.token, now: NOW },
    );
    expect(error.extensions?.field).toBe(field);
    expect(error.message).toContain(field);
    const [{ n: after }] = await server.sql(`select count(*)::int as n from subsidy_programs`);
    expect(after).toBe(before);
  });

  it("only a finance team creates programs", async () => {
    await server.fails("FORBIDDEN", CREATE, { input: validProgram }, { token: sme.token, now: NOW });
    await server.fails("FORBIDDEN", CREATE, { input: validProgram }, { token: ADMIN, now: NOW });
    await server.fails("UNAUTHENTICATED", CREATE, { input: validProgram });
  });

  it("anyone signed in lists programs, optionally of one city", async () => {
    await createProgram(server, otherFinance, { name: "Hangzhou Voucher" }, NOW);
    const all = await server.ok(
      `{ subsidyPrograms { city name budgetStatus { total { fen } } } }`,
      {},
      { token: sme.token },
    );
    expect(new Set(all.subsidyPrograms.map((p: { city: string }) => p.city))).toEqual(
      new Set(["Shanghai", "Hangzhou"]),
    );
    const hangzhou = await server.ok(
      `query($c: String) { subsidyPrograms(city: $c) { city name } }`,
      { c: "Hangzhou" },
      { token: operator.token },
    );
    expect(hangzhou.subsidyPrograms).toEqual([{ city: "Hangzhou", name: "Hangzhou Voucher" }]);
    const none = await server.ok(
      `query($c: String) { subsidyPrograms(city: $c) { id } }`,
      { c: "Atlantis" },
      { token: finance.token },
    );
    expect(none.subsidyPrograms).toEqual([]);
  });

  it("a finance team suspends and resumes its program; CLOSED is final; another city's program is NOT_FOUND", async () => {
    const programId = await createProgram(server, finance, {}, NOW);
    const SET = `mutation($id: ID!, $status: ProgramStatus!) { setSubsidyProgramStatus(programId: $id, status: $status) { id status } }`;
    expect(
      (await server.ok(SET, { id: programId, status: "SUSPENDED" }, { token: finance.token })).setSubsidyProgramStatus
        .status,
    ).toBe("SUSPENDED");
    expect(
      (await server.ok(SET, { id: programId, status: "ACTIVE" }, { token: finance.token })).setSubsidyProgramStatus
        .status,
    ).toBe("ACTIVE");
    await server.fails("NOT_FOUND", SET, { id: programId, status: "SUSPENDED" }, { token: otherFinance.token });
    await server.fails("NOT_FOUND", SET, { id: "program_999999", status: "SUSPENDED" }, { token: finance.token });
    const { applyForVoucher } = await server.ok(
      APPLY,
      { input: { programId, requestedAmount: "100", purpose: "Late" } },
      { token: sme.token, now: NOW },
    );
    expect(
      (await server.ok(SET, { id: programId, status: "CLOSED" }, { token: finance.token })).setSubsidyProgramStatus
        .status,
    ).toBe("CLOSED");
    await server.fails("CONFLICT", SET, { id: programId, status: "ACTIVE" }, { token: finance.token });
    // A closed program grants no more vouchers; the application can still be rejected.
    await server.fails("CONFLICT", DECIDE, { id: applyForVoucher.id, approve: true }, { token: finance.token });
    const rejected = await server.ok(
      DECIDE,
      { id: applyForVoucher.id, approve: false, reason: "Program closed" },
      { token: finance.token },
    );
    expect(rejected.decideVoucherApplication.status).toBe("REJECTED");
  });
});

describe("voucher applications", () => {
  let programId: string;
  beforeAll(async () => {
    programId = await createProgram(
      server,
      finance,
      { perSmeAnnualCap: "50000.00", validUntil: "2027-06-30T00:00:00Z" },
      NOW,
    );
  });

  it("an SME applies; the city's finance team lists and approves; the SME sees its voucher", async () => {
    const { applyForVoucher: application } = await server.ok(
      APPLY,
      { input: { programId, requestedAmount: "30000.50", purpose: "Fine-tuning a vision model" } },
      { token: sme.token, now: NOW },
    );
    expect(application).toMatchObject({
      status: "PENDING",
      requestedAmount: { fen: "3000050" },
      purpose: "Fine-tuning a vision model",
      program: { id: programId },
      sme: { id: sme.id },
      voucher: null,
    });

    const pending = await server.ok(LIST, { programId, status: "PENDING" }, { token: finance.token });
    expect(pending.voucherApplications).toContainEqual({
      id: application.id,
      status: "PENDING",
      sme: { name: "Mofang Vision" },
    });

    const { decideVoucherApplication: decided } = await server.ok(
      DECIDE,
      { id: application.id, approve: true },
      { token: finance.token, now: NOW },
    );
    expect(decided).toMatchObject({
      status: "APPROVED",
      voucher: {
        grantedAmount: { fen: "3000050" },
        remaining: { fen: "3000050" },
        validUntil: "2027-06-30T00:00:00.000Z",
        status: "ACTIVE",
        program: { id: programId },
      },
    });
    const mine = await server.ok(
      `{ myVouchers { id remaining { fen } status program { id city } } }`,
      {},
      { token: sme.token, now: NOW },
    );
    expect(mine.myVouchers).toContainEqual({
      id: decided.voucher.id,
      remaining: { fen: "3000050" },
      status: "ACTIVE",
      program: { id: programId, city: "Shanghai" },
    });
    const theirs = await server.ok(`{ myVouchers { id } }`, {}, { token: otherSme.token });
    expect(theirs.myVouchers).toEqual([]);
    // The voucher reads as EXPIRED once its program's validity is over.
    const later = await server.ok(
      `{ myVouchers { id status } }`,
      {},
      { token: sme.token, now: "2027-07-01T00:00:00Z" },
    );
    expect(later.myVouchers).toContainEqual({ id: decided.voucher.id, status: "EXPIRED" });

    const approved = await server.ok(LIST, { programId, status: "APPROVED" }, { token: finance.token });
    expect(approved.voucherApplications.map((a: { id: string }) => a.id)).toContain(application.id);
    expect(
      (await server.ok(LIST, { programId, status: "PENDING" }, { token: finance.token })).voucherApplications.map(
        (a: { id: string }) => a.id,
      ),
    ).not.toContain(application.id);
  });

  it("grants a smaller amount; never more than requested or than the per-SME annual cap", async () => {
    const apply = async (amount: string) =>
      (
        await server.ok(
          APPLY,
          { input: { programId, requestedAmount: amount, purpose: "Inference" } },
          { token: sme.token, now: NOW },
        )
      ).applyForVoucher.id;
    const small = await apply("1000");
    const more = await server.fails(
      "BAD_USER_INPUT",
      DECIDE,
      { id: small, approve: true, grantedAmount: "1000.01" },
      { token: finance.token },
    );
    expect(more.extensions?.field).toBe("grantedAmount");
    const granted = await server.ok(
      DECIDE,
      { id: small, approve: true, grantedAmount: "400.5" },
      { token: finance.token },
    );
    expect(granted.decideVoucherApplication.voucher.grantedAmount.fen).toBe("40050");

    const big = await apply("80000");
    const aboveCap = await server.fails(
      "BAD_USER_INPUT",
      DECIDE,
      { id: big, approve: true, grantedAmount: "50000.01" },
      { token: finance.token },
    );
    expect(aboveCap.extensions?.field).toBe("grantedAmount");
    // The default grant is the requested amount, within the annual cap.
    const capped = await server.ok(DECIDE, { id: big, approve: true }, { token: finance.token });
    expect(capped.decideVoucherApplication.voucher.grantedAmount.fen).toBe("5000000");
  });

  it("a rejection needs a reason; a decision is final (CONFLICT) and writes nothing more", async () => {
    const { applyForVoucher } = await server.ok(
      APPLY,
      { input: { programId, requestedAmount: "500", purpose: "Rendering" } },
      { token: sme.token, now: NOW },
    );
    const noReason = await server.fails(
      "BAD_USER_INPUT",
      DECIDE,
      { id: applyForVoucher.id, approve: false },
      { token: finance.token },
    );
    expect(noReason.extensions?.field).toBe("reason");
    const rejected = await server.ok(
      DECIDE,
      { id: applyForVoucher.id, approve: false, reason: "Not an AI workload" },
      { token: finance.token },
    );
    expect(rejected.decideVoucherApplication).toMatchObject({
      status: "REJECTED",
      decisionReason: "Not an AI workload",
      voucher: null,
    });
    await server.fails("CONFLICT", DECIDE, { id: applyForVoucher.id, approve: true }, { token: finance.token });
    await server.fails(
      "CONFLICT",
      DECIDE,
      { id: applyForVoucher.id, approve: false, reason: "again" },
      { token: finance.token },
    );
    const vouchers = await server.sql(`select count(*)::int as n from vouchers where application_id = $1`, [
      keyOf(applyForVoucher.id),
    ]);
    expect(vouchers[0].n).toBe(0);
  });

  it("concurrent decisions on one application: exactly one wins", async () => {
    for (let round = 0; round < 5; round++) {
      const { applyForVoucher } = await server.ok(
        APPLY,
        { input: { programId, requestedAmount: "100", purpose: "Race" } },
        { token: sme.token, now: NOW },
      );
      const results = await Promise.all([
        ...Array.from({ length: 4 }, () =>
          server.gql(DECIDE, { id: applyForVoucher.id, approve: true }, { token: finance.token }),
        ),
        ...Array.from({ length: 4 }, () =>
          server.gql(DECIDE, { id: applyForVoucher.id, approve: false, reason: "No" }, { token: finance.token }),
        ),
      ]);
      const winners = results.filter((r) => !r.errors);
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r.errors).every((r) => r.errors![0].extensions?.code === "CONFLICT")).toBe(true);
      const [{ n }] = await server.sql(`select count(*)::int as n from vouchers where application_id = $1`, [
        keyOf(applyForVoucher.id),
      ]);
      expect(n).toBe(winners[0].data.decideVoucherApplication.status === "APPROVED" ? 1 : 0);
    }
  });

  it("another city's finance team cannot see or decide the applications (NOT_FOUND); an SME cannot decide", async () => {
    const { applyForVoucher } = await server.ok(
      APPLY,
      { input: { programId, requestedAmount: "100", purpose: "Scope" } },
      { token: sme.token, now: NOW },
    );
    await server.fails("NOT_FOUND", LIST, { programId }, { token: otherFinance.token });
    await server.fails("NOT_FOUND", DECIDE, { id: applyForVoucher.id, approve: true }, { token: otherFinance.token });
    await server.fails("NOT_FOUND", DECIDE, { id: "application_99999999", approve: true }, { token: finance.token });
    await server.fails("FORBIDDEN", DECIDE, { id: applyForVoucher.id, approve: true }, { token: sme.token });
    await server.fails("FORBIDDEN", LIST, { programId }, { token: sme.token });
    // The admin reads every city.
    const all = await server.ok(LIST, { programId }, { token: ADMIN });
    expect(all.voucherApplications.map((a: { id: string }) => a.id)).toContain(applyForVoucher.id);
    const [row] = await server.sql(`select status from voucher_applications where id = $1`, [
      keyOf(applyForVoucher.id),
    ]);
    expect(row.status).toBe("PENDING");
  });

  it("refuses bad applications and applications to a program that is not active or not valid", async () => {
    const bad = await server.fails(
      "BAD_USER_INPUT",
      APPLY,
      { input: { programId, requestedAmount: "0", purpose: "x" } },
      { token: sme.token, now: NOW },
    );
    expect(bad.extensions?.field).toBe("requestedAmount");
    const blank = await server.fails(
      "BAD_USER_INPUT",
      APPLY,
      { input: { programId, requestedAmount: "10", purpose: " " } },
      { token: sme.token, now: NOW },
    );
    expect(blank.extensions?.field).toBe("purpose");
    await server.fails(
      "NOT_FOUND",
      APPLY,
      { input: { programId: "program_99999999", requestedAmount: "10", purpose: "x" } },
      { token: sme.token, now: NOW },
    );
    await server.fails(
      "FORBIDDEN",
      APPLY,
      { input: { programId, requestedAmount: "10", purpose: "x" } },
      { token: finance.token, now: NOW },
    );

    const expired = await server.fails(
      "NOT_ELIGIBLE",
      APPLY,
      { input: { programId, requestedAmount: "10", purpose: "x" } },
      { token: sme.token, now: "2027-07-01T00:00:00Z" },
    );
    expect(expired.extensions?.reason).toBe("PROGRAM_OUTSIDE_VALIDITY");
    const suspendedId = await createProgram(server, finance, { name: "To suspend" }, NOW);
    await server.ok(
      `mutation($id: ID!) { setSubsidyProgramStatus(programId: $id, status: SUSPENDED) { id } }`,
      { id: suspendedId },
      { token: finance.token },
    );
    const suspended = await server.fails(
      "NOT_ELIGIBLE",
      APPLY,
      { input: { programId: suspendedId, requestedAmount: "10", purpose: "x" } },
      { token: sme.token, now: NOW },
    );
    expect(suspended.extensions?.reason).toBe("PROGRAM_NOT_ACTIVE");
  });
});

describe("quote", () => {
  let foreignOffer: string;
  let domesticOffer: string;
  let wuhuOffer: string;
  // 8 GPUs x 10 hours at 50.00 yuan = 4000.00 yuan gross.
  const reserve = async (offerId: string, who: Actor = sme, gpuCount = 8, hours = 10): Promise<ReservationRow> =>
    insertReservation(server.app.services.db, { offerId, smeId: who.id, gpuCount, hours });
  const quote = async (reservation: ReservationRow, voucherId: string | null, who: Actor = sme, now = NOW) =>
    (
      await server.ok(
        QUOTE,
        { reservationId: globalId("Reservation", reservation.id), voucherId },
        { token: who.token, now },
      )
    ).quote;

  beforeAll(async () => {
    const window = { availableFrom: "2026-12-01T00:00:00Z", availableUntil: "2026-12-31T00:00:00Z" };
    foreignOffer = await publishOffer(
      server,
      operator,
      { dataCenterId: ningxiaDc, gpuModel: "H800", gpuCount: 64, pricePerGpuHour: "50.00", ...window },
      NOW,
    );
    domesticOffer = await publishOffer(
      server,
      operator,
      { dataCenterId: ningxiaDc, gpuModel: "Ascend 910B", gpuCount: 64, pricePerGpuHour: "50.00", ...window },
      NOW,
    );
    wuhuOffer = await publishOffer(
      server,
      operator,
      { dataCenterId: wuhuDc, gpuModel: "H800", gpuCount: 64, pricePerGpuHour: "50.00", ...window },
      NOW,
    );
  });

  // Each case: a program, a voucher, a reservation; the quote must match docs/domain.md to the fen.
  const cases: {
    name: string;
    program: Record<string, unknown>;
    voucher?: string;
    offer?: "foreign" | "domestic";
    subsidy: string;
  }[] = [
    { name: "rate", program: { rateBasisPoints: 3000 }, subsidy: "120000" },
    {
      name: "domestic rate on a domestic model",
      program: { rateBasisPoints: 3000, domesticRateBasisPoints: 4500 },
      offer: "domestic",
      subsidy: "180000",
    },
    {
      name: "normal rate on a foreign model",
      program: { rateBasisPoints: 3000, domesticRateBasisPoints: 4500 },
      subsidy: "120000",
    },
    {
      name: "price ceiling",
      program: { rateBasisPoints: 3000, maxSubsidizedPricePerGpuHour: "20.00" },
      subsidy: "48000",
    },
    { name: "per-order cap", program: { rateBasisPoints: 3000, perOrderCap: "999.99" }, subsidy: "99999" },
    { name: "voucher remaining", program: { rateBasisPoints: 3000 }, voucher: "123.45", subsidy: "12345" },
    { name: "a rate of 33.33 %", program: { rateBasisPoints: 3333 }, subsidy: "133320" },
    {
      name: "floor rounding of a fraction",
      program: { rateBasisPoints: 9999, maxSubsidizedPricePerGpuHour: "0.99" },
      subsidy: "7919",
    },
  ];

  it.each(cases)("$name", async ({ program, voucher, offer, subsidy }) => {
    const programId = await createProgram(server, finance, program as never, NOW);
    const voucherId = await grantVoucher(server, finance, sme, programId, voucher ?? "100000", NOW);
    const reservation = await reserve(offer === "domestic" ? domesticOffer : foreignOffer);
    const q = await quote(reservation, voucherId);
    expect(q.gross).toEqual({ fen: "400000", amount: "4000.00", currency: "CNY" });
    expect(q.subsidy.fen).toBe(subsidy);
    expect(BigInt(q.smeShare.fen)).toBe(400000n - BigInt(subsidy));
  });

  it("the program's available budget", async () => {
    const programId = await createProgram(server, finance, { rateBasisPoints: 3000, budget: "500.00" }, NOW);
    const theirs = await grantVoucher(server, finance, otherSme, programId, "200", NOW);
    const mine = await grantVoucher(server, finance, sme, programId, "500", NOW);
    await checkoutOrder(server.app.services.db, {
      reservation: await reserve(foreignOffer, otherSme),
      voucherId: theirs,
      now: new Date(NOW),
    });
    expect((await quote(await reserve(foreignOffer), mine)).subsidy.fen).toBe("30000");
  });

  it("the per-SME annual cap counts what the SME has pending or spent this calendar year", async () => {
    const programId = await createProgram(
      server,
      finance,
      { rateBasisPoints: 3000, perSmeAnnualCap: "1500.00", validUntil: "2027-06-30T00:00:00Z" },
      NOW,
    );
    const first = await grantVoucher(server, finance, sme, programId, "1500", NOW);
    const second = await grantVoucher(server, finance, sme, programId, "1500", NOW);
    const reservation = await reserve(foreignOffer);
    expect((await quote(reservation, first)).subsidy.fen).toBe("120000");
    await checkoutOrder(server.app.services.db, { reservation, voucherId: first, now: new Date(NOW) });
    const next = await reserve(foreignOffer);
    expect((await quote(next, second)).subsidy.fen).toBe("30000");
    // A new calendar year (UTC) starts a new cap.
    expect((await quote(next, second, sme, "2027-01-01T00:00:00Z")).subsidy.fen).toBe("120000");
  });

  it("without a voucher the SME pays the gross", async () => {
    const reservation = await reserve(foreignOffer, sme, 2, 3);
    expect(await quote(reservation, null)).toEqual({
      gross: { fen: "30000", amount: "300.00", currency: "CNY" },
      subsidy: { fen: "0", amount: "0.00" },
      smeShare: { fen: "30000", amount: "300.00" },
    });
  });

  it("refuses an ineligible voucher with NOT_ELIGIBLE and the reason", async () => {
    const programId = await createProgram(
      server,
      finance,
      { eligibleHubs: ["Ningxia Zhongwei"], validUntil: "2026-12-20T00:00:00Z" },
      NOW,
    );
    const voucherId = await grantVoucher(server, finance, sme, programId, "1000", NOW);
    const theirVoucher = await grantVoucher(server, finance, otherSme, programId, "1000", NOW);
    const reservation = await reserve(foreignOffer);
    const refusal = async (voucher: string, now = NOW, res = reservation) =>
      (
        await server.fails(
          "NOT_ELIGIBLE",
          QUOTE,
          { reservationId: globalId("Reservation", res.id), voucherId: voucher },
          { token: sme.token, now },
        )
      ).extensions?.reason;

    expect(await refusal(theirVoucher)).toBe("VOUCHER_NOT_OWNED");
    expect(await refusal("voucher_99999999")).toBe("VOUCHER_NOT_OWNED");
    const malformed = await server.fails(
      "BAD_USER_INPUT",
      QUOTE,
      { reservationId: globalId("Reservation", reservation.id), voucherId: "not-an-id" },
      { token: sme.token, now: NOW },
    );
    expect(malformed.extensions).toMatchObject({ field: "voucherId" });
    expect(await refusal(voucherId, "2026-12-20T00:00:00Z")).toBe("VOUCHER_EXPIRED");
    expect(await refusal(voucherId, NOW, await reserve(wuhuOffer))).toBe("HUB_NOT_ELIGIBLE");

    await server.sql(`update vouchers set status = 'REVOKED' where id = $1`, [keyOf(voucherId)]);
    expect(await refusal(voucherId)).toBe("VOUCHER_NOT_ACTIVE");
    await server.sql(`update vouchers set status = 'ACTIVE' where id = $1`, [keyOf(voucherId)]);

    await server.sql(`update vouchers set valid_until = '2027-06-01T00:00:00Z' where id = $1`, [keyOf(voucherId)]);
    expect(await refusal(voucherId, "2026-12-25T00:00:00Z")).toBe("PROGRAM_OUTSIDE_VALIDITY");
    expect(await refusal(voucherId, "2025-12-25T00:00:00Z")).toBe("PROGRAM_OUTSIDE_VALIDITY");

    const SET = `mutation($id: ID!, $status: ProgramStatus!) { setSubsidyProgramStatus(programId: $id, status: $status) { id } }`;
    await server.ok(SET, { id: programId, status: "SUSPENDED" }, { token: finance.token });
    expect(await refusal(voucherId)).toBe("PROGRAM_NOT_ACTIVE");
    await server.ok(SET, { id: programId, status: "ACTIVE" }, { token: finance.token });
    expect((await quote(reservation, voucherId)).subsidy.fen).toBe("100000");

    // The SME and the data center's operator affiliated: no subsidy between them.
    await server.ok(
      `mutation($a: ID!, $b: ID!) { declareAffiliation(organizationId: $a, affiliatedId: $b) }`,
      { a: sme.id, b: operator.id },
      { token: ADMIN },
    );
    expect(await refusal(voucherId)).toBe("AFFILIATED_WITH_DATA_CENTER");
  });

  it("another SME's reservation is NOT_FOUND; only an SME asks for quotes", async () => {
    const reservation = await reserve(foreignOffer, otherSme);
    await server.fails(
      "NOT_FOUND",
      QUOTE,
      { reservationId: globalId("Reservation", reservation.id), voucherId: null },
      { token: sme.token },
    );
    await server.fails("BAD_USER_INPUT", QUOTE, { reservationId: "99999999", voucherId: null }, { token: sme.token });
    await server.fails(
      "NOT_FOUND",
      QUOTE,
      { reservationId: "reservation_987654321", voucherId: null },
      { token: sme.token },
    );
    await server.fails(
      "FORBIDDEN",
      QUOTE,
      { reservationId: globalId("Reservation", reservation.id), voucherId: null },
      { token: finance.token },
    );
  });
});
