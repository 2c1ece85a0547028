// Every table of the marketplace. Money columns are bigint fen (read as BigInt); times are
// timestamptz in UTC. Invariants that must survive concurrency live here as constraints.
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  date,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

const id = () => bigserial("id", { mode: "number" }).primaryKey();
const ref = (name: string) => bigint(name, { mode: "number" });
const fen = (name: string) => bigint(name, { mode: "bigint" });
const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
const createdAt = () => ts("created_at").notNull().defaultNow();
const updatedAt = () => ts("updated_at").notNull().defaultNow();

// ---------------------------------------------------------------- accounts
export const orgKind = pgEnum("org_kind", ["SME", "DATA_CENTER_OPERATOR", "CITY_FINANCE"]);
/** What kind of applicant an organization of kind SME is, declared by the admin; programs accept some. */
export const orgCategory = pgEnum("org_category", ["SME", "RESEARCH_INSTITUTE", "UNIVERSITY", "STARTUP"]);

export const organizations = pgTable(
  "organizations",
  {
    id: id(),
    name: text("name").notNull(),
    kind: orgKind("kind").notNull(),
    city: text("city"),
    creditCode: text("credit_code"),
    /** The applicant category of an organization of kind SME; the other kinds keep the default, unused. */
    category: orgCategory("category").notNull().default("SME"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("organizations_credit_code_uq").on(t.creditCode)],
);

/** Declared affiliations, stored in both directions so a lookup is one index probe. */
export const affiliations = pgTable(
  "affiliations",
  {
    organizationId: ref("organization_id")
      .notNull()
      .references(() => organizations.id),
    affiliatedId: ref("affiliated_id")
      .notNull()
      .references(() => organizations.id),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.affiliatedId] })],
);

export const apiKeys = pgTable(
  "api_keys",
  {
    id: id(),
    organizationId: ref("organization_id")
      .notNull()
      .references(() => organizations.id),
    tokenHash: text("token_hash").notNull(),
    createdAt: createdAt(),
    revokedAt: ts("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_token_hash_uq").on(t.tokenHash), index("api_keys_org_idx").on(t.organizationId)],
);

// ---------------------------------------------------------------- catalog
export const hubs = pgTable("hubs", {
  name: text("name").primaryKey(),
  province: text("province").notNull(),
});

export const gpuModels = pgTable("gpu_models", {
  id: id(),
  name: text("name").notNull().unique(),
  vendor: text("vendor").notNull(),
  memoryGb: integer("memory_gb").notNull(),
  domestic: boolean("domestic").notNull(),
});

export const dataCenters = pgTable(
  "data_centers",
  {
    id: id(),
    name: text("name").notNull(),
    hub: text("hub")
      .notNull()
      .references(() => hubs.name),
    province: text("province").notNull(),
    operatorId: ref("operator_id")
      .notNull()
      .references(() => organizations.id),
    createdAt: createdAt(),
  },
  (t) => [index("data_centers_hub_idx").on(t.hub), index("data_centers_operator_idx").on(t.operatorId)],
);

// ---------------------------------------------------------------- offers
export const offerStatus = pgEnum("offer_status", ["ACTIVE", "PAUSED", "WITHDRAWN"]);

export const offers = pgTable(
  "offers",
  {
    id: id(),
    dataCenterId: ref("data_center_id")
      .notNull()
      .references(() => dataCenters.id),
    gpuModelId: ref("gpu_model_id")
      .notNull()
      .references(() => gpuModels.id),
    gpuCount: integer("gpu_count").notNull(),
    pricePerGpuHour: fen("price_per_gpu_hour").notNull(),
    availableFrom: ts("available_from").notNull(),
    availableUntil: ts("available_until").notNull(),
    minHours: integer("min_hours").notNull(),
    status: offerStatus("status").notNull().default("ACTIVE"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("offers_gpu_count_positive", sql`${t.gpuCount} > 0`),
    check("offers_price_positive", sql`${t.pricePerGpuHour} > 0`),
    check("offers_window_ordered", sql`${t.availableUntil} > ${t.availableFrom}`),
    check("offers_min_hours_positive", sql`${t.minHours} > 0`),
    // Offers of a model in price order. Everything matching and a search filter on rides along in
    // the key, so the offers the filters drop are never read from the table.
    index("offers_search_idx").on(
      t.gpuModelId,
      t.status,
      t.pricePerGpuHour,
      t.id,
      t.availableFrom,
      t.availableUntil,
      t.minHours,
      t.gpuCount,
      t.dataCenterId,
      t.createdAt,
    ),
    index("offers_status_price_idx").on(t.status, t.pricePerGpuHour, t.id),
    // A data center's offers still running after a time: utilization tie-breaks, operator views.
    // With what a tie-break reads of each offer in the key, it is an index-only scan.
    index("offers_data_center_idx").on(t.dataCenterId, t.availableUntil, t.availableFrom, t.status, t.gpuCount, t.id),
    // A window filter (searches, matching) reads only offers still running at its end; with the
    // data center and the price in the key, a count is an index-only scan.
    index("offers_window_idx").on(
      t.gpuModelId,
      t.status,
      t.availableUntil,
      t.availableFrom,
      t.dataCenterId,
      t.pricePerGpuHour,
    ),
  ],
);

/**
 * The operator's declaration of an offer's hardware: serial numbers or an attestation reference,
 * and how many GPUs it covers. One per offer; a new declaration replaces it (the audit trail keeps
 * every one). An offer is attested when the declaration covers all its GPUs.
 */
export const offerAttestations = pgTable(
  "offer_attestations",
  {
    offerId: ref("offer_id")
      .primaryKey()
      .references(() => offers.id),
    serialNumbers: text("serial_numbers")
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    reference: text("reference"),
    gpuCount: integer("gpu_count").notNull(),
    declaredBy: ref("declared_by")
      .notNull()
      .references(() => organizations.id),
    declaredAt: ts("declared_at").notNull(),
  },
  (t) => [
    check("offer_attestations_gpu_count_positive", sql`${t.gpuCount} > 0`),
    check(
      "offer_attestations_something_declared",
      sql`${t.reference} is not null or cardinality(${t.serialNumbers}) > 0`,
    ),
  ],
);

// ---------------------------------------------------------------- bids and reservations
export const bidStatus = pgEnum("bid_status", ["OPEN", "MATCHED", "CANCELLED", "EXPIRED"]);

export const bids = pgTable(
  "bids",
  {
    id: id(),
    smeId: ref("sme_id")
      .notNull()
      .references(() => organizations.id),
    gpuModelId: ref("gpu_model_id")
      .notNull()
      .references(() => gpuModels.id),
    gpuCount: integer("gpu_count").notNull(),
    hours: integer("hours").notNull(),
    earliestStart: ts("earliest_start").notNull(),
    latestEnd: ts("latest_end").notNull(),
    maxPricePerGpuHour: fen("max_price_per_gpu_hour").notNull(),
    hubs: text("hubs").array(),
    status: bidStatus("status").notNull().default("OPEN"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("bids_gpu_count_positive", sql`${t.gpuCount} > 0`),
    check("bids_hours_positive", sql`${t.hours} > 0`),
    index("bids_sme_idx").on(t.smeId, t.id),
    // Open bids in price-time priority, per GPU model.
    index("bids_open_priority_idx")
      .on(t.gpuModelId, t.maxPricePerGpuHour.desc(), t.createdAt, t.id)
      .where(sql`${t.status} = 'OPEN'`),
  ],
);

export const reservationStatus = pgEnum("reservation_status", ["HELD", "CONFIRMED", "EXPIRED", "CANCELLED"]);

export const reservations = pgTable(
  "reservations",
  {
    id: id(),
    bidId: ref("bid_id")
      .notNull()
      .references(() => bids.id),
    offerId: ref("offer_id")
      .notNull()
      .references(() => offers.id),
    smeId: ref("sme_id")
      .notNull()
      .references(() => organizations.id),
    gpuCount: integer("gpu_count").notNull(),
    startsAt: ts("starts_at").notNull(),
    endsAt: ts("ends_at").notNull(),
    pricePerGpuHour: fen("price_per_gpu_hour").notNull(),
    status: reservationStatus("status").notNull().default("HELD"),
    holdExpiresAt: ts("hold_expires_at").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("reservations_window_ordered", sql`${t.endsAt} > ${t.startsAt}`),
    uniqueIndex("reservations_bid_uq").on(t.bidId),
    // An offer's live reservations over a span. With what a bid's bookings and the utilization
    // tie-break read of each in the key, pages VACUUM has seen are read from the index alone.
    index("reservations_offer_live_idx")
      .on(t.offerId, t.startsAt, t.endsAt, t.status, t.holdExpiresAt, t.gpuCount)
      .where(sql`${t.status} in ('HELD', 'CONFIRMED')`),
    index("reservations_held_expiry_idx")
      .on(t.holdExpiresAt)
      .where(sql`${t.status} = 'HELD'`),
    index("reservations_sme_idx").on(t.smeId),
    // Rentals that ended and await their delivery report (the deliveries maintenance task).
    index("reservations_confirmed_end_idx")
      .on(t.endsAt)
      .where(sql`${t.status} = 'CONFIRMED'`),
  ],
);

// ---------------------------------------------------------------- subsidy programs and vouchers
export const programStatus = pgEnum("program_status", ["ACTIVE", "SUSPENDED", "CLOSED"]);

export const subsidyPrograms = pgTable(
  "subsidy_programs",
  {
    id: id(),
    city: text("city").notNull(),
    name: text("name").notNull(),
    financeOrgId: ref("finance_org_id")
      .notNull()
      .references(() => organizations.id),
    budgetTotal: fen("budget_total").notNull(),
    // The three balances of the budget; total = available + pending + spent, each >= 0.
    available: fen("available").notNull(),
    pending: fen("pending")
      .notNull()
      .default(sql`0`),
    spent: fen("spent")
      .notNull()
      .default(sql`0`),
    rateBasisPoints: integer("rate_basis_points").notNull(),
    domesticRateBasisPoints: integer("domestic_rate_basis_points"),
    perOrderCap: fen("per_order_cap"),
    perSmeAnnualCap: fen("per_sme_annual_cap"),
    maxSubsidizedPricePerGpuHour: fen("max_subsidized_price_per_gpu_hour"),
    eligibleHubs: text("eligible_hubs")
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** Only offers whose hardware the operator declared (offer_attestations) may be subsidized. */
    requiresHardwareAttestation: boolean("requires_hardware_attestation").notNull().default(false),
    /** The applicant categories the program pays for (at least one). */
    eligibleCategories: orgCategory("eligible_categories")
      .array()
      .notNull()
      .default(sql`'{SME}'::org_category[]`),
    validFrom: ts("valid_from").notNull(),
    validUntil: ts("valid_until").notNull(),
    status: programStatus("status").notNull().default("ACTIVE"),
    /** The highest of 80, 95, 100 (% of the budget committed) announced by program.budget_threshold; a trigger keeps it. */
    budgetAlertPercent: integer("budget_alert_percent").notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    check("programs_balances_nonnegative", sql`${t.available} >= 0 and ${t.pending} >= 0 and ${t.spent} >= 0`),
    check("programs_balances_sum", sql`${t.budgetTotal} = ${t.available} + ${t.pending} + ${t.spent}`),
    check("programs_rate_range", sql`${t.rateBasisPoints} between 0 and 10000`),
    check(
      "programs_domestic_rate_range",
      sql`${t.domesticRateBasisPoints} is null or ${t.domesticRateBasisPoints} between 0 and 10000`,
    ),
    check("programs_validity_ordered", sql`${t.validUntil} > ${t.validFrom}`),
    check("programs_categories_nonempty", sql`cardinality(${t.eligibleCategories}) > 0`),
    index("programs_city_idx").on(t.city),
  ],
);

export const applicationStatus = pgEnum("application_status", ["PENDING", "APPROVED", "REJECTED"]);

export const voucherApplications = pgTable(
  "voucher_applications",
  {
    id: id(),
    programId: ref("program_id")
      .notNull()
      .references(() => subsidyPrograms.id),
    smeId: ref("sme_id")
      .notNull()
      .references(() => organizations.id),
    requestedAmount: fen("requested_amount").notNull(),
    purpose: text("purpose").notNull(),
    status: applicationStatus("status").notNull().default("PENDING"),
    decisionReason: text("decision_reason"),
    decidedAt: ts("decided_at"),
    createdAt: createdAt(),
  },
  (t) => [
    check("applications_requested_positive", sql`${t.requestedAmount} > 0`),
    index("applications_program_idx").on(t.programId, t.status),
    index("applications_sme_idx").on(t.smeId),
  ],
);

export const voucherStatus = pgEnum("voucher_status", ["ACTIVE", "REVOKED"]);

export const vouchers = pgTable(
  "vouchers",
  {
    id: id(),
    programId: ref("program_id")
      .notNull()
      .references(() => subsidyPrograms.id),
    smeId: ref("sme_id")
      .notNull()
      .references(() => organizations.id),
    applicationId: ref("application_id")
      .notNull()
      .references(() => voucherApplications.id),
    grantedAmount: fen("granted_amount").notNull(),
    remaining: fen("remaining").notNull(),
    validUntil: ts("valid_until").notNull(),
    status: voucherStatus("status").notNull().default("ACTIVE"),
    createdAt: createdAt(),
  },
  (t) => [
    check("vouchers_remaining_range", sql`${t.remaining} >= 0 and ${t.remaining} <= ${t.grantedAmount}`),
    uniqueIndex("vouchers_application_uq").on(t.applicationId),
    index("vouchers_sme_idx").on(t.smeId),
  ],
);

/** Subsidy an SME has pending or spent in a program per calendar year (billing time zone): the annual cap's counter. */
export const smeAnnualSubsidy = pgTable(
  "sme_annual_subsidy",
  {
    programId: ref("program_id")
      .notNull()
      .references(() => subsidyPrograms.id),
    smeId: ref("sme_id")
      .notNull()
      .references(() => organizations.id),
    year: integer("year").notNull(),
    committed: fen("committed")
      .notNull()
      .default(sql`0`),
  },
  (t) => [
    primaryKey({ columns: [t.programId, t.smeId, t.year] }),
    check("sme_annual_subsidy_nonnegative", sql`${t.committed} >= 0`),
  ],
);

// ---------------------------------------------------------------- orders and payments
export const orderStatus = pgEnum("order_status", ["PENDING_PAYMENT", "PAID", "FAILED", "CANCELLED", "REFUNDED"]);

export const orders = pgTable(
  "orders",
  {
    id: id(),
    reservationId: ref("reservation_id")
      .notNull()
      .references(() => reservations.id),
    smeId: ref("sme_id")
      .notNull()
      .references(() => organizations.id),
    voucherId: ref("voucher_id").references(() => vouchers.id),
    programId: ref("program_id").references(() => subsidyPrograms.id),
    // Copied from the reservation at checkout so that reports aggregate one table.
    offerId: ref("offer_id")
      .notNull()
      .references(() => offers.id),
    dataCenterId: ref("data_center_id")
      .notNull()
      .references(() => dataCenters.id),
    hub: text("hub").notNull(),
    gpuModelId: ref("gpu_model_id")
      .notNull()
      .references(() => gpuModels.id),
    gpuHours: bigint("gpu_hours", { mode: "number" }).notNull(),
    gross: fen("gross").notNull(),
    subsidy: fen("subsidy").notNull(),
    smeShare: fen("sme_share").notNull(),
    subsidyYear: integer("subsidy_year").notNull(),
    status: orderStatus("status").notNull().default("PENDING_PAYMENT"),
    idempotencyKey: text("idempotency_key").notNull(),
    requestFingerprint: text("request_fingerprint").notNull(),
    paymentProvider: text("payment_provider").notNull(),
    paymentRef: text("payment_ref"),
    paymentStatus: text("payment_status").notNull().default("PENDING"),
    clientSecret: text("client_secret"),
    /** What the client must do next to pay (a redirect, a QR code), as the provider said: JSON; null when nothing. */
    paymentAction: text("payment_action"),
    paidAt: ts("paid_at"),
    // Credits for undelivered GPU-hours (deliveries): the part of the subsidy given back to the
    // program, and the part of the SME's share refunded. Both 0 until a delivery is final.
    subsidyCredited: fen("subsidy_credited")
      .notNull()
      .default(sql`0`),
    smeShareCredited: fen("sme_share_credited")
      .notNull()
      .default(sql`0`),
    /**
     * The day of paidAt in the billing time zone, written by a trigger from billing_calendar
     * (migration 0011): reports group by it without converting a time zone per row.
     */
    paidDay: date("paid_day", { mode: "string" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check("orders_split_exact", sql`${t.subsidy} + ${t.smeShare} = ${t.gross}`),
    check("orders_amounts_nonnegative", sql`${t.subsidy} >= 0 and ${t.smeShare} >= 0`),
    check(
      "orders_credits_range",
      sql`${t.subsidyCredited} between 0 and ${t.subsidy} and ${t.smeShareCredited} between 0 and ${t.smeShare}`,
    ),
    uniqueIndex("orders_idempotency_uq").on(t.smeId, t.idempotencyKey),
    // At most one live order per reservation.
    uniqueIndex("orders_live_reservation_uq")
      .on(t.reservationId)
      .where(sql`${t.status} in ('PENDING_PAYMENT', 'PAID')`),
    index("orders_sme_idx").on(t.smeId, t.id),
    index("orders_pending_idx")
      .on(t.updatedAt)
      .where(sql`${t.status} = 'PENDING_PAYMENT'`),
    // Spend reports: a program's paid orders by payment time, with the figures they sum and the
    // billing day they group by (index-only).
    index("orders_paid_spend_idx")
      .on(t.programId, t.paidAt, t.dataCenterId, t.gpuHours, t.gross, t.subsidy, t.smeShare, t.paidDay)
      .where(sql`${t.status} = 'PAID'`),
    uniqueIndex("orders_payment_ref_uq").on(t.paymentRef),
    // The policy report: a program's paid orders by billing day, with what it sums (index-only).
    index("orders_paid_policy_idx")
      .on(t.programId, t.paidDay, t.smeId, t.gpuModelId, t.hub, t.gpuHours, t.subsidy)
      .where(sql`${t.status} = 'PAID'`),
  ],
);

export const ledgerEntryKind = pgEnum("ledger_entry_kind", ["RESERVE", "POST", "VOID", "REFUND"]);

/** Append-only: each move of a program's budget, one per order and kind. */
export const ledgerEntries = pgTable(
  "ledger_entries",
  {
    id: id(),
    programId: ref("program_id")
      .notNull()
      .references(() => subsidyPrograms.id),
    voucherId: ref("voucher_id")
      .notNull()
      .references(() => vouchers.id),
    orderId: ref("order_id")
      .notNull()
      .references(() => orders.id),
    kind: ledgerEntryKind("kind").notNull(),
    amount: fen("amount").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    check("ledger_amount_positive", sql`${t.amount} > 0`),
    uniqueIndex("ledger_order_kind_uq").on(t.orderId, t.kind),
    index("ledger_program_idx").on(t.programId, t.id),
    // A program's moves of the last days, for its forecast (index-only).
    index("ledger_program_time_idx").on(t.programId, t.createdAt, t.kind, t.amount),
  ],
);

export const statementStatus = pgEnum("statement_status", ["OPEN", "SETTLED"]);

/** A program's monthly bill to the city; claims land in the oldest open statement at or after their month. */
export const cityStatements = pgTable(
  "city_statements",
  {
    id: id(),
    programId: ref("program_id")
      .notNull()
      .references(() => subsidyPrograms.id),
    month: text("month").notNull(),
    status: statementStatus("status").notNull().default("OPEN"),
    settledAt: ts("settled_at"),
    /** When statement.ready was recorded for it (its month had ended): at most once. */
    readyAt: ts("ready_at"),
    /** The finance team that settled it. */
    settledBy: ref("settled_by").references(() => organizations.id),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("city_statements_program_month_uq").on(t.programId, t.month)],
);

/** One line per paid order (positive) or refund of a paid order (negative). */
export const claimLines = pgTable(
  "claim_lines",
  {
    id: id(),
    statementId: ref("statement_id")
      .notNull()
      .references(() => cityStatements.id),
    programId: ref("program_id")
      .notNull()
      .references(() => subsidyPrograms.id),
    orderId: ref("order_id")
      .notNull()
      .references(() => orders.id),
    dataCenterId: ref("data_center_id")
      .notNull()
      .references(() => dataCenters.id),
    amount: fen("amount").notNull(),
    /** A credit for undelivered GPU-hours (negative), not a refund: the order stays billed. */
    credit: boolean("credit").notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("claim_lines_order_sign_uq").on(t.orderId, sql`sign(${t.amount})`),
    index("claim_lines_statement_idx").on(t.statementId, t.dataCenterId),
  ],
);

/**
 * Paid orders with a program, summed per program, billing month of payment and data center: a spend
 * report reads its whole months here instead of every order. Triggers on orders keep it (migration
 * 0004), so it always equals the PAID orders it sums; a group whose orders were all refunded stays
 * with zero orders.
 */
export const spendByMonth = pgTable(
  "spend_by_month",
  {
    programId: bigint("program_id", { mode: "number" }).notNull(),
    month: date("month", { mode: "string" }).notNull(),
    dataCenterId: bigint("data_center_id", { mode: "number" }).notNull(),
    hub: text("hub").notNull(),
    orders: integer("orders").notNull(),
    gpuHours: bigint("gpu_hours", { mode: "number" }).notNull(),
    gross: fen("gross").notNull(),
    subsidy: fen("subsidy").notNull(),
    smePaid: fen("sme_paid").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.programId, t.month, t.dataCenterId, t.hub] }),
    // The report's read: a program's months with the figures they sum (index-only).
    index("spend_by_month_report_idx").on(
      t.programId,
      t.month,
      t.dataCenterId,
      t.hub,
      t.orders,
      t.gpuHours,
      t.gross,
      t.subsidy,
      t.smePaid,
    ),
  ],
);

// ---------------------------------------------------------------- delivery

export const deliveryStatus = pgEnum("delivery_status", ["REPORTED", "DISPUTED", "FINAL"]);

/**
 * What a data center delivered of a CONFIRMED reservation, once it ended: reported by its operator,
 * assumed in full after the grace period, disputed by the SME, corrected by the admin. FINAL once
 * the credit for undelivered GPU-hours is made (subsidy_credit, sme_share_credit).
 */
export const deliveries = pgTable(
  "deliveries",
  {
    reservationId: ref("reservation_id")
      .primaryKey()
      .references(() => reservations.id),
    orderId: ref("order_id")
      .notNull()
      .references(() => orders.id),
    bookedGpuHours: bigint("booked_gpu_hours", { mode: "number" }).notNull(),
    deliveredGpuHours: bigint("delivered_gpu_hours", { mode: "number" }).notNull(),
    /** JSON: [{ "from": ISO, "to": ISO, "gpus": n }], as reported. */
    outages: text("outages").notNull().default("[]"),
    status: deliveryStatus("status").notNull(),
    /** Nobody reported within the grace period: delivered in full. */
    assumed: boolean("assumed").notNull().default(false),
    reportedBy: ref("reported_by").references(() => organizations.id),
    reportedAt: ts("reported_at"),
    disputeReason: text("dispute_reason"),
    disputedAt: ts("disputed_at"),
    correctedAt: ts("corrected_at"),
    finalAt: ts("final_at"),
    subsidyCredit: fen("subsidy_credit")
      .notNull()
      .default(sql`0`),
    smeShareCredit: fen("sme_share_credit")
      .notNull()
      .default(sql`0`),
    /** The provider's refund of smeShareCredit: pending until it answered, then its status. */
    refundStatus: text("refund_status"),
    refundRef: text("refund_ref"),
  },
  (t) => [
    check("deliveries_hours_range", sql`${t.deliveredGpuHours} >= 0 and ${t.deliveredGpuHours} <= ${t.bookedGpuHours}`),
    check("deliveries_credits_nonnegative", sql`${t.subsidyCredit} >= 0 and ${t.smeShareCredit} >= 0`),
    index("deliveries_order_idx").on(t.orderId),
    index("deliveries_open_idx")
      .on(t.status)
      .where(sql`${t.status} <> 'FINAL' or ${t.refundStatus} = 'pending'`),
  ],
);

/**
 * The billing time zone the database's days and months were written in (one row). The server
 * keeps it equal to BILLING_TIME_ZONE at start; the triggers that write orders.paid_day and
 * capacity_by_day read it.
 */
export const billingCalendar = pgTable(
  "billing_calendar",
  {
    id: boolean("id").primaryKey().default(true),
    timeZone: text("time_zone").notNull(),
  },
  (t) => [check("billing_calendar_one_row", sql`${t.id}`)],
);

/**
 * Offered and paid-for (CONFIRMED) GPU-hours per data center and billing day, for the policy
 * report's utilization over time. Triggers on offers and reservations keep it (migration 0011):
 * offered counts ACTIVE and PAUSED offers, clipped to each day.
 */
export const capacityByDay = pgTable(
  "capacity_by_day",
  {
    dataCenterId: bigint("data_center_id", { mode: "number" }).notNull(),
    day: date("day", { mode: "string" }).notNull(),
    hub: text("hub").notNull(),
    offeredGpuHours: bigint("offered_gpu_hours", { mode: "number" }).notNull(),
    reservedGpuHours: bigint("reserved_gpu_hours", { mode: "number" }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.dataCenterId, t.day] }),
    index("capacity_by_day_report_idx").on(t.day, t.hub, t.offeredGpuHours, t.reservedGpuHours),
  ],
);

/**
 * capacity_by_day summed per data center and billing month (the month's first day), kept by the
 * same triggers: a year's report by MONTH reads twelve rows per data center, not 365.
 */
export const capacityByMonth = pgTable(
  "capacity_by_month",
  {
    dataCenterId: bigint("data_center_id", { mode: "number" }).notNull(),
    month: date("month", { mode: "string" }).notNull(),
    hub: text("hub").notNull(),
    offeredGpuHours: bigint("offered_gpu_hours", { mode: "number" }).notNull(),
    reservedGpuHours: bigint("reserved_gpu_hours", { mode: "number" }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.dataCenterId, t.month] }),
    index("capacity_by_month_report_idx").on(t.month, t.hub, t.offeredGpuHours, t.reservedGpuHours),
  ],
);

/** Payment provider events already handled, for deduplication. */
export const webhookEvents = pgTable("webhook_events", {
  id: text("id").primaryKey(),
  type: text("type").notNull(),
  receivedAt: createdAt(),
});

// ---------------------------------------------------------------- audit
export const auditLog = pgTable(
  "audit_log",
  {
    id: id(),
    organizationId: ref("organization_id"),
    apiKeyId: ref("api_key_id"),
    role: text("role").notNull(),
    action: text("action").notNull(),
    targetId: text("target_id"),
    detail: text("detail"),
    /** The program acted on and its city: a finance team reads the entries of its own city. */
    programId: ref("program_id"),
    city: text("city"),
    requestId: text("request_id"),
    createdAt: createdAt(),
  },
  (t) => [
    index("audit_log_org_idx").on(t.organizationId, t.id),
    index("audit_log_action_idx").on(t.action, t.id),
    index("audit_log_city_idx").on(t.city, t.id),
  ],
);

// ---------------------------------------------------------------- events and outbound webhooks

/** A transaction id that never wraps (PostgreSQL's xid8): the order events are read in (src/events/stream.ts). */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => "xid8" });

/**
 * The outbox: one row per event, written in the transaction of the change (by the triggers of
 * migration 0009, or by a maintenance task), for one organization. Subscriptions and webhooks read
 * it; readers take rows whose transaction is older than every running one, in (xid, id) order, so
 * an event that commits late is never skipped.
 */
export const events = pgTable(
  "events",
  {
    id: id(),
    xid: xid8("xid")
      .notNull()
      .default(sql`pg_current_xact_id()`),
    /** The catalogue's name, like `bid.matched` (src/events/catalogue.ts). */
    type: text("type").notNull(),
    organizationId: ref("organization_id")
      .notNull()
      .references(() => organizations.id),
    /** The global id of the object the event is about, like `reservation_12`. */
    objectId: text("object_id").notNull(),
    payload: jsonb("payload").notNull(),
    /** Set for events that must be recorded once (a hold's warning): a second insert is skipped. */
    dedupeKey: text("dedupe_key"),
    createdAt: createdAt(),
  },
  (t) => [
    index("events_stream_idx").on(t.xid, t.id),
    index("events_organization_idx").on(t.organizationId, t.xid, t.id),
    uniqueIndex("events_dedupe_uq").on(t.dedupeKey),
    index("events_created_idx").on(t.createdAt),
  ],
);

/** Where an organization's back end receives its events, signed with the endpoint's secret. */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: id(),
    organizationId: ref("organization_id")
      .notNull()
      .references(() => organizations.id),
    url: text("url").notNull(),
    /** Event types sent (catalogue names); empty: every type the organization receives. */
    types: text("types")
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    description: text("description"),
    /** `whsec_` and the base64 key; kept to sign (shown to the client once). */
    secret: text("secret").notNull(),
    /** The secret before the last rotation, still signed with until previousSecretUntil. */
    previousSecret: text("previous_secret"),
    previousSecretUntil: ts("previous_secret_until"),
    enabled: boolean("enabled").notNull().default(true),
    /** Since when a delivery has used up every retry without success; null once one succeeds. */
    failingSince: ts("failing_since"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [index("webhook_endpoints_organization_idx").on(t.organizationId)],
);

export const webhookDeliveryStatus = pgEnum("webhook_delivery_status", ["PENDING", "DELIVERED", "FAILED"]);

/** One event to one endpoint: made with the event (same transaction), claimed by a worker per attempt. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: id(),
    endpointId: ref("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    eventId: ref("event_id")
      .notNull()
      .references(() => events.id, { onDelete: "cascade" }),
    status: webhookDeliveryStatus("status").notNull().default("PENDING"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at").notNull().defaultNow(),
    /** A worker's claim: no other takes the delivery before this time (a worker that died loses it then). */
    lockedUntil: ts("locked_until"),
    deliveredAt: ts("delivered_at"),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_endpoint_event_uq").on(t.endpointId, t.eventId),
    index("webhook_deliveries_due_idx")
      .on(t.nextAttemptAt)
      .where(sql`${t.status} = 'PENDING'`),
    index("webhook_deliveries_event_idx").on(t.eventId),
    index("webhook_deliveries_endpoint_idx").on(t.endpointId, t.id),
  ],
);

/** Each HTTP attempt of a delivery, as the client reads it in webhookDeliveries. */
export const webhookAttempts = pgTable(
  "webhook_attempts",
  {
    id: id(),
    deliveryId: ref("delivery_id")
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    succeeded: boolean("succeeded").notNull(),
    /** The receiver's HTTP status; null when none came (refused, timed out, address not allowed). */
    responseStatus: integer("response_status"),
    latencyMs: integer("latency_ms").notNull(),
    error: text("error"),
    createdAt: createdAt(),
  },
  (t) => [index("webhook_attempts_delivery_idx").on(t.deliveryId, t.id)],
);
