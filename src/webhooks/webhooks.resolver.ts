// Outbound webhooks: an organization's endpoints and their deliveries. Thin: the rules are in
// webhooks.service.ts, the sending in worker.ts.
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { actorOf, recordAudit } from "../audit/audit.service.js";
import { events } from "../db/schema.js";
import { Event, toEvent } from "../events/events.types.js";
import type { Context } from "../graphql/context.js";
import { orgIdOf } from "../graphql/context.js";
import { parseId } from "../graphql/ids.js";
import { AFTER_DESCRIPTION, FIRST_DESCRIPTION, pageSize } from "../graphql/pagination.js";
import {
  CreateWebhookEndpointInput,
  toWebhookDelivery,
  toWebhookEndpoint,
  WebhookDelivery,
  WebhookDeliveryConnection,
  WebhookEndpoint,
  WebhookEndpointWithSecret,
} from "./webhooks.types.js";
import * as service from "./webhooks.service.js";

const ROLES = "Roles: SME, DATA_CENTER, CITY_FINANCE (their organization's endpoints)";
const ENDPOINT_ID = 'The endpoint\'s opaque id, like "webhook_3"';

@Resolver(() => WebhookEndpoint)
export class WebhookEndpointsResolver {
  @Authorized("SME", "DATA_CENTER", "CITY_FINANCE")
  @Mutation(() => WebhookEndpointWithSecret, {
    description:
      "Registers a URL that receives the organization's events, signed per the Standard Webhooks specification; the signing " +
      `secret is answered this once. At most 20 per organization. ${ROLES}. Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT ` +
      "(url: not http/https, not resolving, or a loopback, link-local or private address; description; more than 20), RATE_LIMITED",
  })
  async createWebhookEndpoint(
    @Arg("input", { description: "Where to send and which types" }) input: CreateWebhookEndpointInput,
    @Ctx() ctx: Context,
  ): Promise<WebhookEndpointWithSecret> {
    const { endpoint, secret } = await service.createEndpoint(
      ctx.db,
      orgIdOf(ctx),
      input,
      ctx.app.config.webhookAllowPrivate,
    );
    await recordAudit(ctx.db, actorOf(ctx), {
      action: "CREATE_WEBHOOK_ENDPOINT",
      targetId: endpoint.id,
      detail: endpoint.types.length ? endpoint.types.join(",") : "all types",
    });
    return Object.assign(new WebhookEndpointWithSecret(), { endpoint: toWebhookEndpoint(endpoint, ctx.now), secret });
  }

  @Authorized("SME", "DATA_CENTER", "CITY_FINANCE")
  @Query(() => [WebhookEndpoint], {
    description: `The organization's webhook endpoints, oldest first (never their secrets). ${ROLES}. Errors: UNAUTHENTICATED, FORBIDDEN`,
  })
  async webhookEndpoints(@Ctx() ctx: Context): Promise<WebhookEndpoint[]> {
    return (await service.listEndpoints(ctx.db, orgIdOf(ctx))).map((row) => toWebhookEndpoint(row, ctx.now));
  }

  @Authorized("SME", "DATA_CENTER", "CITY_FINANCE")
  @Mutation(() => WebhookEndpoint, {
    description:
      "Stops deliveries to an endpoint: no new ones are made, pending ones wait until it is enabled again. " +
      `${ROLES}. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (another organization's), BAD_USER_INPUT (id), RATE_LIMITED`,
  })
  async disableWebhookEndpoint(
    @Arg("id", () => ID, { description: ENDPOINT_ID }) id: string,
    @Ctx() ctx: Context,
  ): Promise<WebhookEndpoint> {
    return this.setEnabled(ctx, id, false);
  }

  @Authorized("SME", "DATA_CENTER", "CITY_FINANCE")
  @Mutation(() => WebhookEndpoint, {
    description:
      "Enables an endpoint again (also one that is FAILING): what waits is sent, and later events too. " +
      `${ROLES}. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (another organization's), BAD_USER_INPUT (id), RATE_LIMITED`,
  })
  async enableWebhookEndpoint(
    @Arg("id", () => ID, { description: ENDPOINT_ID }) id: string,
    @Ctx() ctx: Context,
  ): Promise<WebhookEndpoint> {
    return this.setEnabled(ctx, id, true);
  }

  private async setEnabled(ctx: Context, id: string, enabled: boolean): Promise<WebhookEndpoint> {
    const row = await service.setEnabled(ctx.db, orgIdOf(ctx), parseId("id", id, "WebhookEndpoint"), enabled);
    await recordAudit(ctx.db, actorOf(ctx), {
      action: enabled ? "ENABLE_WEBHOOK_ENDPOINT" : "DISABLE_WEBHOOK_ENDPOINT",
      targetId: row.id,
    });
    if (enabled) ctx.app.webhooks.wake();
    return toWebhookEndpoint(row, ctx.now);
  }

  @Authorized("SME", "DATA_CENTER", "CITY_FINANCE")
  @Mutation(() => WebhookEndpointWithSecret, {
    description:
      "A new signing secret, answered this once. For 24 hours each request carries two signatures, with the new secret and " +
      `the old one, so the receiver can switch without losing events. ${ROLES}. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND, ` +
      "BAD_USER_INPUT (id), RATE_LIMITED",
  })
  async rotateWebhookSecret(
    @Arg("id", () => ID, { description: ENDPOINT_ID }) id: string,
    @Ctx() ctx: Context,
  ): Promise<WebhookEndpointWithSecret> {
    const { endpoint, secret } = await service.rotateSecret(
      ctx.db,
      orgIdOf(ctx),
      parseId("id", id, "WebhookEndpoint"),
      ctx.now,
    );
    await recordAudit(ctx.db, actorOf(ctx), { action: "ROTATE_WEBHOOK_SECRET", targetId: endpoint.id });
    return Object.assign(new WebhookEndpointWithSecret(), { endpoint: toWebhookEndpoint(endpoint, ctx.now), secret });
  }

  @Authorized("SME", "DATA_CENTER", "CITY_FINANCE")
  @Mutation(() => [WebhookDelivery], {
    description:
      "Sends one of the organization's events again, now, to each of its enabled endpoints that take its type (with the same " +
      `webhook-id); answers those deliveries. ${ROLES}. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (another organization's ` +
      "event, or one pruned), BAD_USER_INPUT (id), RATE_LIMITED",
  })
  async redeliverEvent(
    @Arg("id", () => ID, { description: 'The event\'s opaque id, like "event_88"' }) id: string,
    @Ctx() ctx: Context,
  ): Promise<WebhookDelivery[]> {
    const eventId = parseId("id", id, "Event");
    const rows = await service.redeliver(ctx.db, orgIdOf(ctx), eventId);
    await recordAudit(ctx.db, actorOf(ctx), { action: "REDELIVER_EVENT", targetId: eventId });
    ctx.app.webhooks.wake();
    const attempts = await service.attemptsOf(
      ctx.db,
      rows.map((r) => r.id),
    );
    return rows.map((row) => toWebhookDelivery(row, attempts.get(row.id) ?? []));
  }

  @Authorized("SME", "DATA_CENTER", "CITY_FINANCE")
  @Query(() => WebhookDeliveryConnection, {
    description:
      "An endpoint's deliveries, newest first, each with its attempts (status, response code, latency). " +
      `${ROLES}. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (another organization's endpoint), BAD_USER_INPUT (endpointId, first, after)`,
  })
  async webhookDeliveries(
    @Arg("endpointId", () => ID, { description: ENDPOINT_ID }) endpointId: string,
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string,
  ) {
    const page = await service.deliveriesOf(
      ctx.db,
      orgIdOf(ctx),
      parseId("endpointId", endpointId, "WebhookEndpoint"),
      pageSize(first),
      after,
    );
    const attempts = await service.attemptsOf(
      ctx.db,
      page.edges.map((edge) => edge.node.id),
    );
    return {
      ...page,
      edges: page.edges.map((edge) => ({
        cursor: edge.cursor,
        node: toWebhookDelivery(edge.node, attempts.get(edge.node.id) ?? []),
      })),
    };
  }
}

@Resolver(() => WebhookDelivery)
export class WebhookDeliveriesResolver {
  @FieldResolver(() => Event)
  async event(@Root() delivery: WebhookDelivery, @Ctx() ctx: Context): Promise<Event> {
    const row = await ctx.loaders.byId(events).load(delivery.eventId);
    return toEvent({ ...row!, xid: String(row!.xid) });
  }
}
