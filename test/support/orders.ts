// Fixtures for the subsidy tests: programs and vouchers through the API; reservations and orders
// written directly (as matching and checkout would), with the ledger's entry points moving the budget.
import { eq } from "drizzle-orm";
import type { Executor } from "../../src/db/client.js";
import { bids, dataCenters, offers, orders, reservations } from "../../src/db/schema.js";
import { postSubsidy, refundSubsidy, reserveSubsidy, voidSubsidy } from "../../src/ledger/ledger.service.js";
import type { OrderRow } from "../../src/checkout/settlement.js";
import { priceReservation } from "../../src/vouchers/quote.service.js";
import type { ReservationRow } from "../../src/bids/reservations.service.js";
import { newOrder } from "../../src/checkout/checkout.service.js";
import type { Actor } from "./fixtures.js";
import type { TestServer } from "./harness.js";
import { SPEND_BY_MONTH_MISMATCHES } from "./ledger-invariants.js";
import { keyOf } from "./ids.js";

export const PROGRAM_FIELDS = `id city name status rateBasisPoints domesticRateBasisPoints eligibleHubs validFrom validUntil
  budget { fen } perOrderCap { fen } perSmeAnnualCap { fen } maxSubsidizedPricePerGpuHour { fen }
  budgetStatus { total { fen } available { fen } pending { fen } spent { fen } }`;

export interface ProgramInput {
  name?: string;
  budget?: string;
  rateBasisPoints?: number;
  domesticRateBasisPoints?: number | null;
  perOrderCap?: string | null;
  perSmeAnnualCap?: string | null;
  maxSubsidizedPricePerGpuHour?: string | null;
  eligibleHubs?: string[] | null;
  eligibleCategories?: string[] | null;
  validFrom?: string;
  validUntil?: string;
}

export async function createProgram(
  server: TestServer,
  finance: Actor,
  input: ProgramInput = {},
  now?: string,
): Promise<string> {
  const { createSubsidyProgram } = await server.ok(
    `mutation($input: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $input) { id } }`,
    {
      input: {
        name: "Compute Voucher",
        budget: "1000000.00",
        rateBasisPoints: 3000,
        validFrom: "2026-01-01T00:00:00Z",
        validUntil: "2027-01-01T00:00:00Z",
        ...input,
      },
    },
    { token: finance.token, now },
  );
  return createSubsidyProgram.id;
}

/** Applies as the SME and approves as the finance team; the voucher's id. */
export async function grantVoucher(
  server: TestServer,
  finance: Actor,
  sme: Actor,
  programId: string,
  amount: string,
  now?: string,
): Promise<string> {
  const { applyForVoucher } = await server.ok(
    `mutation($input: ApplyForVoucherInput!) { applyForVoucher(input: $input) { id } }`,
    { input: { programId, requestedAmount: amount, purpose: "Training a model" } },
    { token: sme.token, now },
  );
  const { decideVoucherApplication } = await server.ok(
    `mutation($id: ID!) { decideVoucherApplication(id: $id, approve: true) { voucher { id } } }`,
    { id: applyForVoucher.id },
    { token: finance.token, now },
  );
  return decideVoucherApplication.voucher.id;
}

/** A HELD reservation (with its matched bid) of `gpuCount` GPUs for `hours` hours on an offer, at the offer's price. */
export async function insertReservation(
  db: Executor,
  args: { offerId: string | number; smeId: string | number; gpuCount: number; hours: number; startsAt?: Date },
): Promise<ReservationRow> {
  const [offer] = await db
    .select()
    .from(offers)
    .where(eq(offers.id, keyOf(args.offerId)));
  const startsAt = args.startsAt ?? offer.availableFrom;
  const endsAt = new Date(startsAt.getTime() + args.hours * 3_600_000);
  const [bid] = await db
    .insert(bids)
    .values({
      smeId: keyOf(args.smeId),
      gpuModelId: offer.gpuModelId,
      gpuCount: args.gpuCount,
      hours: args.hours,
      earliestStart: startsAt,
      latestEnd: endsAt,
      maxPricePerGpuHour: offer.pricePerGpuHour,
      status: "MATCHED",
    })
    .returning();
  const [reservation] = await db
    .insert(reservations)
    .values({
      bidId: bid.id,
      offerId: offer.id,
      smeId: keyOf(args.smeId),
      gpuCount: args.gpuCount,
      startsAt,
      endsAt,
      pricePerGpuHour: offer.pricePerGpuHour,
      holdExpiresAt: new Date("2099-01-01T00:00:00Z"),
    })
    .returning();
  return reservation;
}

let keys = 0;

/** What a checkout does to the budget: price under locks, write the order, reserve its subsidy. One transaction. */
export async function checkoutOrder(
  db: Executor,
  args: { reservation: ReservationRow; voucherId: string | number | null; now: Date },
): Promise<OrderRow> {
  return db.transaction(async (tx) => {
    const priced = await priceReservation(tx, {
      reservation: args.reservation,
      voucherId: args.voucherId == null ? null : keyOf(args.voucherId),
      smeId: args.reservation.smeId,
      now: args.now,
      lock: true,
    });
    const key = { idempotencyKey: `test-${++keys}`, requestFingerprint: "test" };
    const [order] = await tx
      .insert(orders)
      .values(newOrder(args.reservation.id, args.reservation.smeId, priced, key, "test", args.now))
      .returning();
    await reserveSubsidy(tx, order);
    return order;
  });
}

/**
 * An order with a subsidy chosen by the caller (not by the rules), reserved in one transaction:
 * for proving that the ledger's own guards hold whatever figure reaches them.
 */
export async function forcedOrder(
  db: Executor,
  args: { reservation: ReservationRow; voucherId: number; programId: number; subsidy: bigint; year: number; now: Date },
): Promise<OrderRow> {
  return db.transaction(async (tx) => {
    const [offer] = await tx
      .select({ dataCenterId: offers.dataCenterId, gpuModelId: offers.gpuModelId, hub: dataCenters.hub })
      .from(offers)
      .innerJoin(dataCenters, eq(dataCenters.id, offers.dataCenterId))
      .where(eq(offers.id, args.reservation.offerId));
    const gross = args.subsidy + 1000n;
    const [order] = await tx
      .insert(orders)
      .values({
        reservationId: args.reservation.id,
        smeId: args.reservation.smeId,
        voucherId: args.voucherId,
        programId: args.programId,
        offerId: args.reservation.offerId,
        dataCenterId: offer.dataCenterId,
        hub: offer.hub,
        gpuModelId: offer.gpuModelId,
        gpuHours: args.reservation.gpuCount,
        gross,
        subsidy: args.subsidy,
        smeShare: gross - args.subsidy,
        subsidyYear: args.year,
        idempotencyKey: `forced-${++keys}`,
        requestFingerprint: "test",
        paymentProvider: "test",
        createdAt: args.now,
        updatedAt: args.now,
      })
      .returning();
    await reserveSubsidy(tx, order);
    return order;
  });
}

async function moveOrder(
  db: Executor,
  orderId: number,
  from: OrderRow["status"],
  change: Partial<OrderRow>,
  ledger: (tx: Executor, order: OrderRow) => Promise<unknown>,
) {
  return db.transaction(async (tx) => {
    const [order] = await tx.select().from(orders).where(eq(orders.id, orderId)).for("update");
    if (order.status !== from) throw new Error(`order ${orderId} is ${order.status}, not ${from}`);
    const [moved] = await tx.update(orders).set(change).where(eq(orders.id, orderId)).returning();
    await ledger(tx, moved);
    return moved;
  });
}

export const payOrder = (db: Executor, orderId: number, paidAt: Date) =>
  moveOrder(db, orderId, "PENDING_PAYMENT", { status: "PAID", paidAt, paymentStatus: "SUCCEEDED" }, (tx, o) =>
    postSubsidy(tx, o, paidAt),
  );

export const failOrder = (db: Executor, orderId: number) =>
  moveOrder(db, orderId, "PENDING_PAYMENT", { status: "FAILED", paymentStatus: "FAILED" }, (tx, o) =>
    voidSubsidy(tx, o),
  );

export const refundOrder = (db: Executor, orderId: number, now: Date) =>
  moveOrder(db, orderId, "PAID", { status: "REFUNDED" }, (tx, o) => refundSubsidy(tx, o, now));

/** Every budget invariant of docs/domain.md over the whole database; returns the broken ones (empty = all hold). */
export async function brokenInvariants(server: TestServer): Promise<string[]> {
  const rows = await server.sql<{ problem: string }>(`
    with entries as (
      select program_id,
        coalesce(sum(case kind when 'RESERVE' then -amount when 'VOID' then amount when 'REFUND' then amount else 0 end), 0) as available,
        coalesce(sum(case kind when 'RESERVE' then amount when 'POST' then -amount when 'VOID' then -amount else 0 end), 0) as pending,
        coalesce(sum(case kind when 'POST' then amount when 'REFUND' then -amount else 0 end), 0) as spent
      from ledger_entries group by program_id
    ),
    by_orders as (
      select program_id,
        coalesce(sum(subsidy) filter (where status = 'PAID'), 0) as spent,
        coalesce(sum(subsidy) filter (where status = 'PENDING_PAYMENT'), 0) as pending
      from orders where program_id is not null group by program_id
    ),
    voucher_use as (
      select voucher_id, coalesce(sum(subsidy) filter (where status in ('PAID', 'PENDING_PAYMENT')), 0) as used
      from orders where voucher_id is not null group by voucher_id
    ),
    annual_use as (
      select program_id, sme_id, subsidy_year as year, coalesce(sum(subsidy) filter (where status in ('PAID', 'PENDING_PAYMENT')), 0) as used
      from orders where program_id is not null group by program_id, sme_id, subsidy_year
    ),
    claims as (
      select program_id, sum(amount) as claimed from claim_lines group by program_id
    )
    select 'program ' || p.id || ': total <> available + pending + spent' as problem from subsidy_programs p
      where p.budget_total <> p.available + p.pending + p.spent
    union all select 'program ' || p.id || ': a negative balance' from subsidy_programs p
      where p.available < 0 or p.pending < 0 or p.spent < 0
    union all select 'program ' || p.id || ': spent <> PAID orders' from subsidy_programs p left join by_orders b on b.program_id = p.id
      where p.spent <> coalesce(b.spent, 0)
    union all select 'program ' || p.id || ': pending <> PENDING_PAYMENT orders' from subsidy_programs p left join by_orders b on b.program_id = p.id
      where p.pending <> coalesce(b.pending, 0)
    union all select 'program ' || p.id || ': entries do not replay to the balances' from subsidy_programs p left join entries e on e.program_id = p.id
      where p.available <> p.budget_total + coalesce(e.available, 0) or p.pending <> coalesce(e.pending, 0) or p.spent <> coalesce(e.spent, 0)
    union all select 'program ' || p.id || ': claims <> spent' from subsidy_programs p left join claims c on c.program_id = p.id
      where p.spent <> coalesce(c.claimed, 0)
    union all select 'voucher ' || v.id || ': remaining <> granted - used' from vouchers v left join voucher_use u on u.voucher_id = v.id
      where v.remaining <> v.granted_amount - coalesce(u.used, 0)
    union all select 'annual ' || a.program_id || '/' || a.sme_id || '/' || a.year || ': committed <> used'
      from sme_annual_subsidy a left join annual_use u on u.program_id = a.program_id and u.sme_id = a.sme_id and u.year = a.year
      where a.committed <> coalesce(u.used, 0)
    union all select 'annual ' || u.program_id || '/' || u.sme_id || ': used without a counter'
      from annual_use u left join sme_annual_subsidy a on a.program_id = u.program_id and a.sme_id = u.sme_id and a.year = u.year
      where u.used > 0 and a.program_id is null
    union all select 'annual ' || u.program_id || '/' || u.sme_id || ': above the cap'
      from annual_use u join subsidy_programs p on p.id = u.program_id where p.per_sme_annual_cap is not null and u.used > p.per_sme_annual_cap
    union all select 'order ' || o.id || ': subsidy + smeShare <> gross' from orders o where o.subsidy + o.sme_share <> o.gross
    union all select 'spend_by_month ' || spend_group || ': <> its PAID orders' from (${SPEND_BY_MONTH_MISMATCHES}) m
  `);
  return rows.map((r) => r.problem);
}
