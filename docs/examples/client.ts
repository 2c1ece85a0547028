// A small typed client over plain fetch, one flow per role, with the documents that `npm run codegen`
// generates from docs/examples/*.graphql into generated/graphql.ts. Results and variables are typed
// from the schema: a field that is renamed, removed or made nullable breaks this file's compilation
// (test/codegen.test.ts compiles it with `tsc --strict`).
import {
  CheckoutDocument,
  CityStatementDocument,
  CreateApiKeyDocument,
  CreateOrganizationDocument,
  DecideVoucherApplicationDocument,
  MeDocument,
  MyBidsDocument,
  MyOffersDocument,
  MyOrdersDocument,
  MyVouchersDocument,
  OfferReservationsDocument,
  PendingApplicationsDocument,
  PlaceBidDocument,
  PublishOfferDocument,
  QuoteDocument,
  SearchOffersDocument,
  SubsidyProgramsDocument,
  SubsidySpendDocument,
  type MoneyFieldsFragment,
  type OfferFilter,
  type SearchOffersQuery,
  type TypedDocumentString,
} from "./generated/graphql.js";

/** The codes of `extensions.code` (the API's own, then Apollo's and the server's). */
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "NOT_ELIGIBLE"
  | "PAYMENT_FAILED"
  | "RATE_LIMITED"
  | "GRAPHQL_PARSE_FAILED"
  | "GRAPHQL_VALIDATION_FAILED"
  | "SERVICE_UNAVAILABLE"
  | "INTERNAL_SERVER_ERROR";

export interface ApiErrorEntry {
  message: string;
  path?: (string | number)[];
  extensions?: {
    code?: ErrorCode;
    /** BAD_USER_INPUT: the input at fault, like "latestEnd" or "filter.hub". */
    field?: string;
    /** NOT_ELIGIBLE: why, like "VOUCHER_EXPIRED". */
    reason?: string;
    /** PAYMENT_FAILED: whether the same request may be sent again. */
    retryable?: boolean;
    /** RATE_LIMITED: when to try again. */
    retryAfterSeconds?: number;
  };
}

export class ApiError extends Error {
  constructor(
    readonly errors: ApiErrorEntry[],
    readonly status: number,
  ) {
    super(errors.map((e) => e.message).join("; "));
  }

  get code(): ErrorCode | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

/** The variables argument: optional when the operation requires none. */
type VariablesArg<V> = Record<string, never> extends V ? [variables?: V] : [variables: V];

export type Request = <R, V>(document: TypedDocumentString<R, V>, ...variables: VariablesArg<V>) => Promise<R>;

/** A client for one API key (none for the public reads). */
export function createClient(url: string, token?: string): Request {
  return async function request<R, V>(
    document: TypedDocumentString<R, V>,
    ...[variables]: VariablesArg<V>
  ): Promise<R> {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query: document.toString(), variables: variables ?? {} }),
    });
    const body = (await response.json()) as { data?: unknown; errors?: ApiErrorEntry[] };
    if (body.errors?.length || body.data == null) {
      throw new ApiError(body.errors ?? [{ message: `HTTP ${response.status} without data` }], response.status);
    }
    return body.data as R;
  };
}

/** Exact arithmetic on money: always on fen, never on the display amount. */
export const fenOf = (money: MoneyFieldsFragment): bigint => BigInt(money.fen);

const yuan = (money: MoneyFieldsFragment) => `${money.amount} ${money.currency}`;

// ------------------------------------------------------------------ anyone

type Offer = SearchOffersQuery["offers"]["edges"][number]["node"];

/** Every active offer matching the filter, cheapest first, page by page. */
export async function allOffers(anyone: Request, filter: OfferFilter): Promise<Offer[]> {
  const offers: Offer[] = [];
  let after: string | null = null;
  do {
    const { offers: page }: SearchOffersQuery = await anyone(SearchOffersDocument, {
      filter,
      sort: "PRICE_ASC",
      first: 100,
      after,
    });
    offers.push(...page.edges.map((edge) => edge.node));
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after != null);
  return offers;
}

// ------------------------------------------------------------------ SME

/** Bids for 8 H800 for 24 hours in the western hubs and, once matched, checks out with the best voucher. */
export async function rentWithVoucher(sme: Request): Promise<string> {
  const { me } = await sme(MeDocument);
  if (me.role !== "SME") throw new Error(`an SME key is needed, not ${me.role}`);

  const { placeBid: bid } = await sme(PlaceBidDocument, {
    input: {
      gpuModel: "H800",
      gpuCount: 8,
      hours: 24,
      earliestStart: "2027-06-01T00:00:00Z",
      latestEnd: "2027-06-08T00:00:00Z",
      maxPricePerGpuHour: "30.00",
      hubs: ["Ningxia Zhongwei", "Gansu Qingyang"],
    },
  });
  const reservation = bid.reservation;
  if (bid.status !== "MATCHED" || reservation == null)
    return `bid ${bid.id} is ${bid.status}: matched when capacity appears`;
  console.log(
    `held ${reservation.gpuCount} GPUs in ${reservation.offer.dataCenter.name} until ${reservation.holdExpiresAt}`,
  );

  const { myVouchers } = await sme(MyVouchersDocument);
  const voucher = myVouchers
    .filter((v) => v.status === "ACTIVE" && fenOf(v.remaining) > 0n)
    .sort((a, b) => (fenOf(b.remaining) > fenOf(a.remaining) ? 1 : -1))[0];
  try {
    const { quote } = await sme(QuoteDocument, { reservationId: reservation.id, voucherId: voucher?.id });
    if (fenOf(quote.subsidy) + fenOf(quote.smeShare) !== fenOf(quote.gross))
      throw new Error("the split does not add up");
    console.log(`gross ${yuan(quote.gross)}: the city pays ${yuan(quote.subsidy)}, we pay ${yuan(quote.smeShare)}`);
  } catch (error) {
    if (error instanceof ApiError && error.code === "NOT_ELIGIBLE")
      console.log(`voucher refused: ${error.errors[0].extensions?.reason}`);
    else throw error;
  }

  // The same key makes a retry safe: it returns the same order.
  const idempotencyKey = `rent-${reservation.id}`;
  const { checkout: order } = await sme(CheckoutDocument, {
    input: { reservationId: reservation.id, voucherId: voucher?.id, idempotencyKey },
  });
  if (order.status === "PENDING_PAYMENT" && order.payment.clientSecret) {
    return `order ${order.id}: confirm ${yuan(order.smeShare)} with Stripe.js (client secret ${order.payment.clientSecret})`;
  }
  return `order ${order.id} is ${order.status}, reservation ${order.reservation.status}`;
}

/** The SME's open bids and latest orders. */
export async function smeOverview(sme: Request): Promise<string[]> {
  const { myBids } = await sme(MyBidsDocument, { status: "OPEN", first: 10 });
  const { myOrders } = await sme(MyOrdersDocument, { first: 10 });
  return [
    ...myBids.edges.map(
      ({ node }) =>
        `bid ${node.id}: ${node.gpuCount} × ${node.gpuModel.name} for ${node.hours} h, at most ${yuan(node.maxPricePerGpuHour)}`,
    ),
    ...myOrders.edges.map(
      ({ node }) => `order ${node.id} ${node.status}: ${yuan(node.gross)}, paid ${node.paidAt ?? "not yet"}`,
    ),
  ];
}

// ------------------------------------------------------------------ data center

/** Publishes a week of 32 H800 and lists the operator's offers with their free GPUs on its first day. */
export async function publishAndWatch(operator: Request, dataCenterId: string): Promise<string[]> {
  const { publishOffer: offer } = await operator(PublishOfferDocument, {
    input: {
      dataCenterId,
      gpuModel: "H800",
      gpuCount: 32,
      pricePerGpuHour: "18.50",
      availableFrom: "2027-06-01T00:00:00Z",
      availableUntil: "2027-06-08T00:00:00Z",
      minHours: 4,
    },
  });
  const { myOffers } = await operator(MyOffersDocument, {
    first: 20,
    from: offer.availableFrom,
    to: "2027-06-02T00:00:00Z",
  });
  const { offerReservations } = await operator(OfferReservationsDocument, { offerId: offer.id, first: 50 });
  return [
    ...myOffers.edges.map(
      ({ node }) => `offer ${node.id} ${node.status}: ${node.freeGpus}/${node.gpuCount} ${node.gpuModel.name} free`,
    ),
    `${offerReservations.totalCount} reservations on offer ${offer.id}`,
    ...offerReservations.edges.map(
      ({ node }) => `  ${node.status} ${node.gpuCount} GPUs ${node.startsAt}..${node.endsAt}: ${yuan(node.total)}`,
    ),
  ];
}

// ------------------------------------------------------------------ city finance

/** The city's budgets, a decision on each pending application, the year's spend and a statement. */
export async function financeMonth(finance: Request, city: string, month: string): Promise<string[]> {
  const lines: string[] = [];
  const { subsidyPrograms } = await finance(SubsidyProgramsDocument, { city });
  for (const program of subsidyPrograms) {
    const { total, available, pending, spent } = program.budgetStatus;
    lines.push(
      `${program.name} (${program.status}): ${yuan(available)} of ${yuan(total)} available, ${yuan(pending)} pending, ${yuan(spent)} spent`,
    );
    if (program.forecast?.exhaustsAt)
      lines.push(
        `  at ${yuan(program.forecast.committedPerDay)} a day the budget runs out on ${program.forecast.exhaustsAt.slice(0, 10)}` +
          (program.forecast.thresholdsCrossed.length
            ? `; past ${program.forecast.thresholdsCrossed.join(", ")} %`
            : ""),
      );

    const { voucherApplications } = await finance(PendingApplicationsDocument, { programId: program.id });
    for (const application of voucherApplications) {
      const approve = fenOf(application.requestedAmount) <= fenOf(available);
      const { decideVoucherApplication: decided } = await finance(DecideVoucherApplicationDocument, {
        id: application.id,
        approve,
        reason: approve ? null : "The budget left does not cover the request",
      });
      lines.push(
        `  ${application.sme.name}: ${decided.status}${decided.voucher ? `, voucher of ${yuan(decided.voucher.remaining)}` : ""}`,
      );
    }

    const { cityStatement } = await finance(CityStatementDocument, { programId: program.id, month });
    lines.push(`  statement ${cityStatement.month} ${cityStatement.status}: ${yuan(cityStatement.total)}`);
    for (const line of cityStatement.lines)
      lines.push(`    ${line.dataCenter.name}: ${line.orders} orders, ${yuan(line.subsidy)}`);
    lines.push(`    to file: ${cityStatement.files.pdf} (also .xlsx, .csv)`);
  }

  const { subsidySpend } = await finance(SubsidySpendDocument, {
    city,
    from: "2026-01-01T00:00:00Z",
    to: "2027-01-01T00:00:00Z",
    groupBy: ["MONTH", "DATA_CENTER"],
  });
  for (const row of subsidySpend.rows) {
    lines.push(
      `${row.keys.map((key) => key.label).join(" / ")}: ${row.orders} orders, ${row.gpuHours} GPU-h, subsidy ${yuan(row.subsidy)}`,
    );
  }
  lines.push(
    `total: ${subsidySpend.totals.orders} orders, subsidy ${yuan(subsidySpend.totals.subsidy)}, SMEs paid ${yuan(subsidySpend.totals.smePaid)}`,
  );
  return lines;
}

// ------------------------------------------------------------------ admin

/** Registers an SME and returns its first API key's token (shown only once). */
export async function onboardSme(admin: Request, name: string, city: string): Promise<string> {
  const { createOrganization: organization } = await admin(CreateOrganizationDocument, {
    input: { name, kind: "SME", city },
  });
  const { createApiKey: key } = await admin(CreateApiKeyDocument, { organizationId: organization.id });
  return key.token;
}
