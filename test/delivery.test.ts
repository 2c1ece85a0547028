// Delivered hours behind every claim: the data center reports what it delivered, the SME may
// dispute it, the grace period assumes delivery in full, and undelivered GPU-hours are credited pro
// rata, exact to the fen: the subsidy back to the program and the voucher, the SME's share refunded
// (against the fake Stripe over HTTP), statements billing only delivered hours and refusing to be
// settled while a claim is disputed or awaiting its report.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { FakeStripe } from "./support/fake-stripe.js";
import { budget, CHECKOUT, market, NOW, reserve, type Market } from "./support/market.js";
import { assertLedgerInvariants } from "./support/ledger-invariants.js";
import { organization } from "./support/fixtures.js";
import { keyOf } from "./support/ids.js";
import { checkReport, creditFor } from "../src/delivery/credit.js";

const DELIVERY = `deliveredGpuHours bookedGpuHours status assumed reportDeadline disputeReason
  outages { from to gpus } subsidyCredit { fen } smeShareCredit { fen } refundStatus`;
const REPORT = `mutation($id: ID!, $input: DeliveryReportInput!) { reportDelivery(reservationId: $id, input: $input) { ${DELIVERY} } }`;
const DISPUTE = `mutation($id: ID!, $reason: String!) { disputeDelivery(reservationId: $id, reason: $reason) { ${DELIVERY} } }`;
const CORRECT = `mutation($id: ID!, $input: DeliveryReportInput!) { correctDelivery(reservationId: $id, input: $input) { ${DELIVERY} } }`;
const READ = `query($id: ID!) { delivery(reservationId: $id) { ${DELIVERY} } }`;
const SETTLE = `mutation($programId: ID!, $month: String!) { settleCityStatement(programId: $programId, month: $month) {
  status total { fen } lines { orders subsidy { fen } credits { fen } } } }`;
const STATEMENT = `query($programId: ID!, $month: String!) { cityStatement(programId: $programId, month: $month) {
  status total { fen } lines { orders subsidy { fen } credits { fen } } } }`;
const MAINTENANCE = `mutation { runMaintenance { task changed } }`;

/** 3 GPUs × 7 hours at 18.37 CNY, 30 %: the figures every expectation below is computed from by hand. */
const PRICE = "18.37";
// gross = 3 × 7 × 1837 = 38,577 fen; subsidy = floor(38,577 × 3000 / 10000) = floor(11,573.1) = 11,573;
// smeShare = 38,577 − 11,573 = 27,004. Booked 21 GPU-hours.
const GROSS = 38_577n;
const SUBSIDY = 11_573n;
const SME_SHARE = 27_004n;
// One GPU out for 2 hours: 2 of 21 GPU-hours undelivered.
// subsidyCredit  = floor(11,573 × 2 / 21) = floor(23,146 / 21) = floor(1,102.19…) = 1,102
// smeShareCredit = floor(27,004 × 2 / 21) = floor(54,008 / 21) = floor(2,571.80…) = 2,571
const SUBSIDY_CREDIT = 1_102n;
const SME_CREDIT = 2_571n;

describe("the credit rule, by hand", () => {
  it("floors each part on its own; the fen left stays with the party charged", () => {
    expect(GROSS).toBe(SUBSIDY + SME_SHARE);
    expect(creditFor({ subsidy: SUBSIDY, smeShare: SME_SHARE }, 21, 19)).toEqual({
      subsidyCredit: SUBSIDY_CREDIT,
      smeShareCredit: SME_CREDIT,
    });
    // Nothing delivered: both back in full; everything delivered: nothing.
    expect(creditFor({ subsidy: SUBSIDY, smeShare: SME_SHARE }, 21, 0)).toEqual({
      subsidyCredit: SUBSIDY,
      smeShareCredit: SME_SHARE,
    });
    expect(creditFor({ subsidy: SUBSIDY, smeShare: SME_SHARE }, 21, 21)).toEqual({
      subsidyCredit: 0n,
      smeShareCredit: 0n,
    });
    // 1 fen over 3 GPU-hours, 1 undelivered: floor(1/3) = 0, the fen stays charged.
    expect(creditFor({ subsidy: 1n, smeShare: 2n }, 3, 2)).toEqual({ subsidyCredit: 0n, smeShareCredit: 0n });
    // 10 fen, 1 of 3 undelivered: floor(10/3) = 3.
    expect(creditFor({ subsidy: 10n, smeShare: 10n }, 3, 2)).toEqual({ subsidyCredit: 3n, smeShareCredit: 3n });
  });

  it("a report's outages must account for every missing GPU-hour, inside the rental, never more GPUs than rented", () => {
    const rental = {
      gpuCount: 3,
      startsAt: new Date("2027-03-10T00:00:00Z"),
      endsAt: new Date("2027-03-10T07:00:00Z"),
    };
    const outage = (from: string, to: string, gpus: number) => ({
      from: new Date(`2027-03-10T${from}:00:00Z`),
      to: new Date(`2027-03-10T${to}:00:00Z`),
      gpus,
    });
    expect(checkReport(rental, 19, [outage("02", "04", 1)])).toEqual({ booked: 21 });
    expect(checkReport(rental, 21, [])).toEqual({ booked: 21 });
    const field = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        return (error as { field: string }).field;
      }
      return null;
    };
    expect(field(() => checkReport(rental, 22, []))).toBe("deliveredGpuHours");
    expect(field(() => checkReport(rental, 18, [outage("02", "04", 1)]))).toBe("outages");
    expect(field(() => checkReport(rental, 17, [outage("02", "04", 2), outage("06", "08", 1)]))).toBe(
      "outages[1].from",
    );
    expect(field(() => checkReport(rental, 15, [outage("02", "04", 2), outage("03", "05", 2)]))).toBe(
      "outages[1].gpus",
    );
    expect(
      field(() => checkReport(rental, 19, [{ ...outage("02", "04", 1), to: new Date("2027-03-10T03:30:00Z") }])),
    ).toBe("outages[0].to");
  });
});

describe("delivery, credits and statements (simulated payments)", () => {
  let server: TestServer;
  let m: Market;
  /** The rental whose delivery is reported short, the disputed one, the one nobody reports. */
  let short: string;
  let disputed: string;
  let silent: string;
  const ENDED = "2027-03-10T08:00:00Z"; // after the first rental ended (07:00)
  const AFTER_GRACE = "2027-04-02T00:00:00Z"; // March over, every grace period passed

  beforeAll(async () => {
    server = await startServer();
    m = await market(server, { price: PRICE, voucherAmount: "10000.00" });
    // Three rentals checked out (and paid) on 1 March: the March statement bills them.
    const checkout = async (hours: number, key: string) => {
      const reservationId = await reserve(server, m.sme, 3, hours);
      const { checkout } = await server.ok(
        CHECKOUT,
        { input: { reservationId, voucherId: m.voucherId, idempotencyKey: key } },
        { token: m.sme.token, now: NOW },
      );
      expect(checkout.status).toBe("PAID");
      return reservationId;
    };
    short = await checkout(7, "short");
    disputed = await checkout(7, "disputed");
    silent = await checkout(7, "silent");
  });
  afterAll(async () => {
    await server?.close();
  });

  const at = (now: string, token = m.operator.token) => ({ token, now });

  it("each checkout split 38,577 fen as 11,573 subsidy + 27,004 SME share", async () => {
    const rows = await server.sql(`select gross::text, subsidy::text, sme_share::text from orders order by id`);
    expect(rows).toEqual(
      Array(3).fill({ gross: String(GROSS), subsidy: String(SUBSIDY), sme_share: String(SME_SHARE) }),
    );
  });

  it("awaits its report until the rental has ended; only its data center's operator reports", async () => {
    const read = await server.ok(READ, { id: short }, at(NOW, m.sme.token));
    expect(read.delivery).toMatchObject({ status: "AWAITING_REPORT", bookedGpuHours: 21, deliveredGpuHours: 21 });
    const input = { deliveredGpuHours: 21, outages: [] };
    await server.fails("CONFLICT", REPORT, { id: short, input }, at(NOW));
    const stranger = await organization(server, "DATA_CENTER_OPERATOR", "Other Cloud");
    await server.fails("NOT_FOUND", REPORT, { id: short, input }, at(ENDED, stranger.token));
    await server.fails("FORBIDDEN", REPORT, { id: short, input }, at(ENDED, m.sme.token));
    // Someone else's rental is not shown.
    expect((await server.ok(READ, { id: short }, at(ENDED, m.otherSme.token))).delivery).toBeNull();
  });

  it("refuses a report whose outages do not account for the missing hours, naming the field", async () => {
    const error = await server.fails(
      "BAD_USER_INPUT",
      REPORT,
      {
        id: short,
        input: {
          deliveredGpuHours: 18,
          outages: [{ from: "2027-03-10T02:00:00Z", to: "2027-03-10T04:00:00Z", gpus: 1 }],
        },
      },
      at(ENDED),
    );
    expect(error.extensions?.field).toBe("outages");
    const outside = await server.fails(
      "BAD_USER_INPUT",
      REPORT,
      {
        id: short,
        input: {
          deliveredGpuHours: 19,
          outages: [{ from: "2027-03-10T06:00:00Z", to: "2027-03-10T08:00:00Z", gpus: 1 }],
        },
      },
      at(ENDED),
    );
    expect(outside.extensions?.field).toBe("outages[0].from");
  });

  it("takes the report once; a second one is CONFLICT", async () => {
    const input = {
      deliveredGpuHours: 19,
      outages: [{ from: "2027-03-10T02:00:00Z", to: "2027-03-10T04:00:00Z", gpus: 1 }],
    };
    const { reportDelivery } = await server.ok(REPORT, { id: short, input }, at(ENDED));
    expect(reportDelivery).toMatchObject({
      status: "REPORTED",
      deliveredGpuHours: 19,
      bookedGpuHours: 21,
      outages: [{ from: "2027-03-10T02:00:00.000Z", to: "2027-03-10T04:00:00.000Z", gpus: 1 }],
      // The credit is made when the delivery is final, not before.
      subsidyCredit: { fen: "0" },
      smeShareCredit: { fen: "0" },
    });
    const again = await server.fails("CONFLICT", REPORT, { id: short, input }, at(ENDED));
    expect(again.extensions?.reason).toBe("DELIVERY_ALREADY_REPORTED");
  });

  it("the SME disputes within the grace period; a second dispute is CONFLICT", async () => {
    const { disputeDelivery } = await server.ok(
      DISPUTE,
      { id: disputed, reason: "All 3 GPUs were unreachable on the second day" },
      at("2027-03-12T00:00:00Z", m.sme.token),
    );
    expect(disputeDelivery).toMatchObject({
      status: "DISPUTED",
      disputeReason: "All 3 GPUs were unreachable on the second day",
    });
    const again = await server.fails(
      "CONFLICT",
      DISPUTE,
      { id: disputed, reason: "again" },
      at("2027-03-12T00:00:00Z", m.sme.token),
    );
    expect(again.extensions?.reason).toBe("DELIVERY_DISPUTED");
  });

  it("after the grace period nothing reported counts as delivered in full; a late report is refused", async () => {
    const { delivery } = await server.ok(READ, { id: silent }, at(AFTER_GRACE, m.sme.token));
    expect(delivery).toMatchObject({
      status: "FINAL",
      assumed: true,
      deliveredGpuHours: 21,
      subsidyCredit: { fen: "0" },
    });
    const late = await server.fails(
      "CONFLICT",
      REPORT,
      { id: silent, input: { deliveredGpuHours: 10, outages: [] } },
      at(AFTER_GRACE),
    );
    expect(late.extensions?.reason).toBe("DELIVERY_REPORT_CLOSED");
  });

  it("the month cannot be settled while a claim awaits its credit or is disputed", async () => {
    const vars = { programId: m.programId, month: "2027-03" };
    // The maintenance has not run: the reported shortfall awaits its credit (and one claim is disputed).
    const first = await server.fails("CONFLICT", SETTLE, vars, at(AFTER_GRACE, m.finance.token));
    expect(first.extensions?.reason).toBe("DELIVERY_DISPUTED");
    const { runMaintenance } = await server.ok(MAINTENANCE, {}, at(AFTER_GRACE, ADMIN));
    expect(runMaintenance.find((r: { task: string }) => r.task === "deliveries").changed).toBe(2); // silent assumed, short final
    const still = await server.fails("CONFLICT", SETTLE, vars, at(AFTER_GRACE, m.finance.token));
    expect(still.extensions?.reason).toBe("DELIVERY_DISPUTED");
    expect((await server.ok(STATEMENT, vars, at(AFTER_GRACE, m.finance.token))).cityStatement.status).toBe("OPEN");
    await assertLedgerInvariants(server);
  });

  it("credits the short delivery pro rata, exact to the fen: budget, voucher, annual cap and statement", async () => {
    const { delivery } = await server.ok(READ, { id: short }, at(AFTER_GRACE, m.sme.token));
    expect(delivery).toMatchObject({
      status: "FINAL",
      assumed: false,
      subsidyCredit: { fen: String(SUBSIDY_CREDIT) },
      smeShareCredit: { fen: String(SME_CREDIT) },
      // The simulated provider refunds at once.
      refundStatus: "succeeded",
    });
    const spent = 3n * SUBSIDY - SUBSIDY_CREDIT;
    expect(await budget(server, m.finance, m.programId)).toMatchObject({ spent: String(spent), pending: "0" });
    const { myVouchers } = await server.ok(`{ myVouchers { id remaining { fen } } }`, {}, at(AFTER_GRACE, m.sme.token));
    expect(myVouchers.find((v: { id: string }) => v.id === m.voucherId).remaining.fen).toBe(String(1_000_000n - spent));
    const [entry] = await server.sql(
      `select kind, amount::text from ledger_entries e join orders o on o.id = e.order_id
       where o.reservation_id = $1 and e.kind = 'REFUND'`,
      [keyOf(short)],
    );
    expect(entry).toEqual({ kind: "REFUND", amount: String(SUBSIDY_CREDIT) });
    const orders = await server.sql(
      `select subsidy_credited::text as s, sme_share_credited::text as p from orders where reservation_id = $1`,
      [keyOf(short)],
    );
    expect(orders).toEqual([{ s: String(SUBSIDY_CREDIT), p: String(SME_CREDIT) }]);
    const [annual] = await server.sql(`select committed::text from sme_annual_subsidy`);
    expect(annual.committed).toBe(String(spent));
    // The statement bills delivered hours only: three claims, less the credit.
    const { cityStatement } = await server.ok(
      STATEMENT,
      { programId: m.programId, month: "2027-03" },
      at(AFTER_GRACE, m.finance.token),
    );
    expect(cityStatement).toMatchObject({
      total: { fen: String(spent) },
      lines: [{ orders: 3, subsidy: { fen: String(spent) }, credits: { fen: String(-SUBSIDY_CREDIT) } }],
    });
    await assertLedgerInvariants(server);
  });

  it("the admin resolves the dispute (the SME's order is credited), and the month can then be settled", async () => {
    // All 3 GPUs out from 01:00 to 03:00: 6 of 21 undelivered.
    // subsidyCredit = floor(11,573 × 6 / 21) = floor(69,438 / 21) = floor(3,306.57…) = 3,306
    // smeShareCredit = floor(27,004 × 6 / 21) = floor(162,024 / 21) = floor(7,715.42…) = 7,715
    await server.fails(
      "FORBIDDEN",
      CORRECT,
      { id: disputed, input: { deliveredGpuHours: 15, outages: [] } },
      at(AFTER_GRACE, m.finance.token),
    );
    const { correctDelivery } = await server.ok(
      CORRECT,
      {
        id: disputed,
        input: {
          deliveredGpuHours: 15,
          outages: [{ from: "2027-03-10T01:00:00Z", to: "2027-03-10T03:00:00Z", gpus: 3 }],
        },
      },
      at(AFTER_GRACE, ADMIN),
    );
    expect(correctDelivery).toMatchObject({
      status: "FINAL",
      deliveredGpuHours: 15,
      subsidyCredit: { fen: "3306" },
      smeShareCredit: { fen: "7715" },
    });
    await server.fails(
      "CONFLICT",
      CORRECT,
      { id: disputed, input: { deliveredGpuHours: 21, outages: [] } },
      at(AFTER_GRACE, ADMIN),
    );
    const spent = 3n * SUBSIDY - SUBSIDY_CREDIT - 3_306n;
    const { settleCityStatement } = await server.ok(
      SETTLE,
      { programId: m.programId, month: "2027-03" },
      at(AFTER_GRACE, m.finance.token),
    );
    expect(settleCityStatement).toMatchObject({
      status: "SETTLED",
      total: { fen: String(spent) },
      lines: [{ orders: 3, subsidy: { fen: String(spent) }, credits: { fen: String(-(SUBSIDY_CREDIT + 3_306n)) } }],
    });
    expect(await budget(server, m.finance, m.programId)).toMatchObject({ spent: String(spent) });
    await assertLedgerInvariants(server);
    const audit = await server.ok(
      `{ auditLog(first: 50) { edges { node { action targetId detail } } } }`,
      {},
      { token: ADMIN, now: AFTER_GRACE },
    );
    const actions = audit.auditLog.edges.map((e: { node: { action: string } }) => e.node.action);
    expect(actions).toEqual(expect.arrayContaining(["REPORT_DELIVERY", "DISPUTE_DELIVERY", "CORRECT_DELIVERY"]));
  });
});

describe("credits against Stripe: a partial refund of the SME's share", () => {
  const SECRET = "whsec_delivery";
  let fake: FakeStripe;
  let server: TestServer;
  let m: Market;

  beforeAll(async () => {
    fake = await FakeStripe.start({ webhookSecret: SECRET });
    server = await startServer({
      STRIPE_SECRET_KEY: "sk_test_delivery",
      STRIPE_WEBHOOK_SECRET: SECRET,
      STRIPE_API_BASE: fake.url,
      DELIVERY_REPORT_DAYS: "1",
    });
    fake.webhookUrl = `${server.url}/webhooks/stripe`;
    m = await market(server, { price: PRICE });
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  it("refunds floor(smeShare × undelivered / booked) once, with a key derived from the order", async () => {
    const reservationId = await reserve(server, m.sme, 3, 7);
    const { checkout } = await server.ok(
      CHECKOUT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey: "stripe-credit" } },
      { token: m.sme.token, now: NOW },
    );
    expect(checkout.status).toBe("PENDING_PAYMENT");
    const ref = checkout.payment.providerRef;
    // The payer pays; Stripe's webhook arrives on the test clock, so the claim is billed to March.
    const url = fake.webhookUrl!;
    fake.webhookUrl = undefined;
    const { event } = await fake.succeed(ref);
    fake.webhookUrl = url;
    expect((await fake.sendWebhook(url, event, { headers: { "x-now": NOW } })).status).toBe(200);

    await server.ok(
      REPORT,
      {
        id: reservationId,
        input: {
          deliveredGpuHours: 19,
          outages: [{ from: "2027-03-10T02:00:00Z", to: "2027-03-10T04:00:00Z", gpus: 1 }],
        },
      },
      { token: m.operator.token, now: "2027-03-10T09:00:00Z" },
    );
    // DELIVERY_REPORT_DAYS=1: still open a day after the end, final after it.
    expect(fake.refunds.size).toBe(0);
    await server.ok(MAINTENANCE, {}, { token: ADMIN, now: "2027-03-11T06:00:00Z" });
    expect(fake.refunds.size).toBe(0);
    // March is over, the grace period too, but the maintenance has not made the credit yet: the
    // month waits for it.
    const waiting = await server.fails(
      "CONFLICT",
      SETTLE,
      { programId: m.programId, month: "2027-03" },
      { token: m.finance.token, now: "2027-04-01T00:00:00Z" },
    );
    expect(waiting.extensions?.reason).toBe("DELIVERY_NOT_FINAL");
    await server.ok(MAINTENANCE, {}, { token: ADMIN, now: "2027-03-11T07:00:00Z" });
    const refunds = [...fake.refunds.values()];
    expect(refunds).toEqual([
      expect.objectContaining({ payment_intent: ref, amount: Number(SME_CREDIT), currency: "cny" }),
    ]);
    const orderId = keyOf(checkout.id);
    const request = fake.log.filter((entry) => entry.route === "POST /v1/refunds").at(-1)!;
    expect(request.idempotencyKey).toBe(`order-${orderId}-credit`);
    // Once only: the maintenance again changes nothing and refunds nothing.
    await server.ok(MAINTENANCE, {}, { token: ADMIN, now: "2027-03-12T00:00:00Z" });
    expect(fake.refunds.size).toBe(1);
    const charge = fake.charges.get(fake.intent(ref).latest_charge!)!;
    expect(charge.amount_refunded).toBe(Number(SME_CREDIT));
    const { order } = await server.ok(
      `query($id: ID!) { order(id: $id) { status subsidyCredited { fen } smeShareCredited { fen } } }`,
      { id: checkout.id },
      { token: m.sme.token, now: "2027-03-12T00:00:00Z" },
    );
    expect(order).toEqual({
      status: "PAID",
      subsidyCredited: { fen: String(SUBSIDY_CREDIT) },
      smeShareCredited: { fen: String(SME_CREDIT) },
    });
    const { delivery } = await server.ok(
      READ,
      { id: reservationId },
      { token: m.sme.token, now: "2027-03-12T00:00:00Z" },
    );
    expect(delivery.refundStatus).toBe("succeeded");
    await assertLedgerInvariants(server);
  });

  it("a refund the provider could not make stays pending and is sent again, with the same key", async () => {
    const reservationId = await reserve(server, m.sme, 3, 7);
    const { checkout } = await server.ok(
      CHECKOUT,
      { input: { reservationId, voucherId: m.voucherId, idempotencyKey: "stripe-credit-retry" } },
      { token: m.sme.token, now: NOW },
    );
    await fake.succeed(checkout.payment.providerRef);
    const [{ ends_at }] = await server.sql(`select ends_at from reservations where id = $1`, [keyOf(reservationId)]);
    const end = new Date(ends_at);
    const hour = (h: number) => new Date(end.getTime() + h * 3_600_000).toISOString();
    // The provider is away for the refund (every attempt of the SDK's retries).
    fake.failNext(3);
    const { correctDelivery } = await server.ok(
      CORRECT,
      { id: reservationId, input: { deliveredGpuHours: 0, outages: [{ from: hour(-7), to: hour(0), gpus: 3 }] } },
      { token: ADMIN, now: hour(1) },
    );
    // Nothing delivered: the whole subsidy and the whole share come back.
    expect(correctDelivery).toMatchObject({
      status: "FINAL",
      subsidyCredit: { fen: String(SUBSIDY) },
      smeShareCredit: { fen: String(SME_SHARE) },
      refundStatus: "pending",
    });
    expect(fake.refunds.size).toBe(1);
    await server.ok(MAINTENANCE, {}, { token: ADMIN, now: hour(2) });
    expect(fake.refunds.size).toBe(2);
    expect([...fake.refunds.values()].at(-1)).toMatchObject({ amount: Number(SME_SHARE) });
    const keys = fake.log.filter((entry) => entry.route === "POST /v1/refunds").map((entry) => entry.idempotencyKey);
    expect(new Set(keys.slice(-4))).toEqual(new Set([`order-${keyOf(checkout.id)}-credit`]));
    const { delivery } = await server.ok(READ, { id: reservationId }, { token: m.sme.token, now: hour(2) });
    expect(delivery.refundStatus).toBe("succeeded");
    await assertLedgerInvariants(server);
  });
});
