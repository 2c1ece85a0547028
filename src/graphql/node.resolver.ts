// node(id:) and nodes(ids:): any object by its global id, seen as its own query shows it. Whatever
// the caller may not see is null, exactly like an id that names nothing. Rows come through the
// request's loaders: nodes(ids:) reads each table once, however many ids it asks for.
import { Arg, Ctx, ID, Query, Resolver } from "type-graphql";
import {
  auditLog,
  bids,
  dataCenters,
  events,
  ledgerEntries,
  offers,
  orders,
  organizations,
  reservations,
  subsidyPrograms,
  voucherApplications,
  vouchers,
  webhookDeliveries,
  webhookEndpoints,
} from "../db/schema.js";
import { toEvent } from "../events/events.types.js";
import { toWebhookDelivery, toWebhookEndpoint } from "../webhooks/webhooks.types.js";
import { attemptsOf } from "../webhooks/webhooks.service.js";
import { toOrganization } from "../accounts/accounts.types.js";
import { toAuditEntry } from "../audit/audit.types.js";
import { toBid, toReservation } from "../bids/bids.types.js";
import { seesReservation } from "../bids/reservations.service.js";
import { toOrder } from "../checkout/checkout.types.js";
import { toLedgerEntry } from "../ledger/ledger.types.js";
import { toDataCenter, toGpuModel, toOffer } from "../offers/offers.types.js";
import { toStatement } from "../reports/reports.types.js";
import { cityStatement } from "../reports/reports.service.js";
import { toApplication, toSubsidyProgram, toVoucher } from "../vouchers/vouchers.types.js";
import { inScope } from "../vouchers/programs.service.js";
import type { Context } from "./context.js";
import { BadInput, badInput, Forbidden, NotFound } from "../errors.js";
import { decodeId, decodeStatementId, type IdType } from "./ids.js";
import { GlobalNode } from "./node.js";

/** At most this many ids in one nodes(ids:) call, like a page. */
export const MAX_NODES = 100;

type Fetch = (ctx: Context, key: number) => Promise<GlobalNode | null>;

/** Each type's lookup, with the authorization of the type's own query. */
const FETCH: Record<Exclude<IdType, "ApiKey" | "CityStatement">, Fetch> = {
  GpuModel: async (ctx, key) => {
    const model = ctx.app.catalog.all().find((row) => row.id === key);
    return model ? toGpuModel(model) : null;
  },
  DataCenter: async (ctx, key) => {
    const row = await ctx.loaders.byId(dataCenters).load(key);
    return row ? toDataCenter(row) : null;
  },
  Offer: async (ctx, key) => {
    const row = await ctx.loaders.byId(offers).load(key);
    return row ? toOffer(row, ctx.app.catalog) : null;
  },
  // An organization is seen by itself and the admin; an operator also by anyone, as offers show it.
  Organization: async (ctx, key) => {
    const row = await ctx.loaders.byId(organizations).load(key);
    const viewer = ctx.viewer;
    const visible =
      row && (viewer?.role === "ADMIN" || viewer?.organizationId === key || row.kind === "DATA_CENTER_OPERATOR");
    return visible ? toOrganization(row) : null;
  },
  Bid: async (ctx, key) => {
    if (ctx.viewer?.role !== "SME") return null;
    const row = await ctx.loaders.byId(bids).load(key);
    return row && row.smeId === ctx.viewer.organizationId ? toBid(row) : null;
  },
  Reservation: async (ctx, key) => {
    const viewer = ctx.viewer;
    if (viewer?.role !== "SME" && viewer?.role !== "DATA_CENTER") return null;
    const row = await ctx.loaders.byId(reservations).load(key);
    const offer = row ? await ctx.loaders.byId(offers).load(row.offerId) : null;
    const dc = offer ? await ctx.loaders.byId(dataCenters).load(offer.dataCenterId) : null;
    return row && dc && seesReservation(viewer, row, dc.operatorId) ? toReservation(row) : null;
  },
  Order: async (ctx, key) => {
    if (ctx.viewer?.role !== "SME") return null;
    const row = await ctx.loaders.byId(orders).load(key);
    return row && row.smeId === ctx.viewer.organizationId ? toOrder(row) : null;
  },
  // Programs are read by anyone signed in, as subsidyPrograms lists them.
  SubsidyProgram: async (ctx, key) => {
    const row = ctx.viewer ? await ctx.loaders.byId(subsidyPrograms).load(key) : null;
    return row ? toSubsidyProgram(row) : null;
  },
  BudgetStatus: async (ctx, key) => {
    const row = ctx.viewer ? await ctx.loaders.byId(subsidyPrograms).load(key) : null;
    return row ? toSubsidyProgram(row).budgetStatus : null;
  },
  Voucher: async (ctx, key) => {
    if (ctx.viewer?.role !== "SME") return null;
    const row = await ctx.loaders.byId(vouchers).load(key);
    return row && row.smeId === ctx.viewer.organizationId ? toVoucher(row, ctx.now) : null;
  },
  // The applying SME, and the finance team of the program's city (or the admin).
  VoucherApplication: async (ctx, key) => {
    const viewer = ctx.viewer;
    if (!viewer) return null;
    const row = await ctx.loaders.byId(voucherApplications).load(key);
    if (!row) return null;
    if (viewer.role === "SME") return row.smeId === viewer.organizationId ? toApplication(row) : null;
    const program = await ctx.loaders.byId(subsidyPrograms).load(row.programId);
    return program && inScope(viewer, program.city) ? toApplication(row) : null;
  },
  LedgerEntry: async (ctx, key) => {
    const viewer = ctx.viewer;
    if (!viewer) return null;
    const row = await ctx.loaders.byId(ledgerEntries).load(key);
    const program = row ? await ctx.loaders.byId(subsidyPrograms).load(row.programId) : null;
    return row && program && inScope(viewer, program.city) ? toLedgerEntry(row) : null;
  },
  // The admin sees every entry; a finance team those on its own city's programs, as auditLog shows.
  AuditEntry: async (ctx, key) => {
    const viewer = ctx.viewer;
    if (viewer?.role !== "ADMIN" && viewer?.role !== "CITY_FINANCE") return null;
    const row = await ctx.loaders.byId(auditLog).load(key);
    return row && (viewer.role === "ADMIN" || (viewer.city != null && row.city === viewer.city))
      ? toAuditEntry(row)
      : null;
  },
  // Events, endpoints and deliveries: the organization's own; events also the admin, as events() shows them.
  Event: async (ctx, key) => {
    const viewer = ctx.viewer;
    if (!viewer) return null;
    const row = await ctx.loaders.byId(events).load(key);
    return row && (viewer.role === "ADMIN" || row.organizationId === viewer.organizationId)
      ? toEvent({ ...row, xid: String(row.xid) })
      : null;
  },
  WebhookEndpoint: async (ctx, key) => {
    const viewer = ctx.viewer;
    if (!viewer || viewer.role === "ADMIN") return null;
    const row = await ctx.loaders.byId(webhookEndpoints).load(key);
    return row && row.organizationId === viewer.organizationId ? toWebhookEndpoint(row, ctx.now) : null;
  },
  WebhookDelivery: async (ctx, key) => {
    const viewer = ctx.viewer;
    if (!viewer || viewer.role === "ADMIN") return null;
    const row = await ctx.loaders.byId(webhookDeliveries).load(key);
    const endpoint = row ? await ctx.loaders.byId(webhookEndpoints).load(row.endpointId) : null;
    if (!row || endpoint?.organizationId !== viewer.organizationId) return null;
    return toWebhookDelivery(row, (await attemptsOf(ctx.db, [row.id])).get(row.id) ?? []);
  },
};

/** A refusal of the statement's own query (another city's, a month it does not take) reads as null. */
async function statementNode(ctx: Context, programId: number, month: string): Promise<GlobalNode | null> {
  if (ctx.viewer?.role !== "CITY_FINANCE" && ctx.viewer?.role !== "ADMIN") return null;
  try {
    return toStatement(await cityStatement(ctx.db, ctx.viewer, programId, month));
  } catch (error) {
    if (error instanceof NotFound || error instanceof Forbidden || error instanceof BadInput) return null;
    throw error;
  }
}

async function fetchNode(ctx: Context, id: string): Promise<GlobalNode | null> {
  const statement = decodeStatementId(id);
  if (statement) return statementNode(ctx, statement.programId, statement.month);
  const decoded = decodeId(id);
  if (!decoded || decoded.type === "ApiKey" || decoded.type === "CityStatement") return null;
  return FETCH[decoded.type](ctx, decoded.key);
}

@Resolver()
export class NodeResolver {
  @Query(() => GlobalNode, {
    nullable: true,
    description:
      "Any object by its global id (like offer_123), with the same rules as its own query: null for an id that names nothing and for an object the caller may not see. Anyone may call it; most types need an API key.",
  })
  node(
    @Arg("id", () => ID, { description: "A global id, like bid_45" }) id: string,
    @Ctx() ctx: Context,
  ): Promise<GlobalNode | null> {
    return fetchNode(ctx, id);
  }

  @Query(() => [GlobalNode], {
    nullable: "items",
    description: `Objects by their global ids, in the order asked, null where node(id:) would be null. At most ${MAX_NODES} ids; more is BAD_USER_INPUT.`,
  })
  async nodes(
    @Arg("ids", () => [ID], { description: 'Global ids, like ["offer_1", "bid_2"]' }) ids: string[],
    @Ctx() ctx: Context,
  ): Promise<(GlobalNode | null)[]> {
    if (ids.length > MAX_NODES) throw badInput("ids", `At most ${MAX_NODES} ids`);
    return Promise.all(ids.map((id) => fetchNode(ctx, id)));
  }
}
