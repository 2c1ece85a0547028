import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { KIND_BY_NAME } from "../events/catalogue.js";
import { Event, EventType } from "../events/events.types.js";
import { globalId } from "../graphql/ids.js";
import { GlobalNode } from "../graphql/node.js";
import { connectionOf } from "../graphql/pagination.js";
import type { AttemptRow, DeliveryRow, EndpointRow } from "./webhooks.service.js";

export enum WebhookEndpointStatus {
  ACTIVE = "ACTIVE",
  FAILING = "FAILING",
  DISABLED = "DISABLED",
}
registerEnumType(WebhookEndpointStatus, {
  name: "WebhookEndpointStatus",
  description: "Whether an endpoint receives events",
  valuesConfig: {
    ACTIVE: { description: "Events are delivered" },
    FAILING: {
      description:
        "A delivery used up its retries (about 28 hours) without a 2xx answer; events are still sent, and the next success makes it ACTIVE again",
    },
    DISABLED: { description: "Disabled by the client: no deliveries; enableWebhookEndpoint sends what waits" },
  },
});

export enum WebhookDeliveryStatus {
  PENDING = "PENDING",
  DELIVERED = "DELIVERED",
  FAILED = "FAILED",
}
registerEnumType(WebhookDeliveryStatus, {
  name: "WebhookDeliveryStatus",
  description: "Where one event's delivery to one endpoint stands",
  valuesConfig: {
    PENDING: { description: "Not answered with a 2xx yet: an attempt is due at nextAttemptAt" },
    DELIVERED: { description: "The endpoint answered an attempt with a 2xx" },
    FAILED: { description: "Every retry failed; redeliverEvent sends it again" },
  },
});

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description:
    "An HTTPS (or HTTP) URL of the organization's back end that receives its events, signed per the Standard Webhooks specification (docs/events.md)",
})
export class WebhookEndpoint {
  @Field(() => ID, { description: 'Opaque id, like "webhook_3"' })
  id!: string;

  @Field({ description: "Where events are POSTed" })
  url!: string;

  @Field(() => [EventType], { description: "The types sent; empty: every type the organization receives" })
  types!: string[];

  @Field(() => String, { nullable: true, description: "The client's note about it" })
  description!: string | null;

  @Field(() => WebhookEndpointStatus, { description: "Whether it receives events" })
  status!: WebhookEndpointStatus;

  @Field(() => Date, {
    nullable: true,
    description: "Since when it is FAILING (a delivery used up its retries); null otherwise",
  })
  failingSince!: Date | null;

  @Field(() => Date, {
    nullable: true,
    description:
      "Until when the secret before the last rotation is still signed with (a second webhook-signature); null when none",
  })
  previousSecretValidUntil!: Date | null;

  @Field({ description: "When it was registered (UTC)" })
  createdAt!: Date;

  rowId!: number;
}

export function toWebhookEndpoint(row: EndpointRow, now: Date): WebhookEndpoint {
  const status = !row.enabled
    ? WebhookEndpointStatus.DISABLED
    : row.failingSince
      ? WebhookEndpointStatus.FAILING
      : WebhookEndpointStatus.ACTIVE;
  return Object.assign(new WebhookEndpoint(), {
    id: globalId("WebhookEndpoint", row.id),
    url: row.url,
    types: row.types.map((name) => KIND_BY_NAME.get(name)?.key ?? name),
    description: row.description,
    status,
    failingSince: row.failingSince,
    previousSecretValidUntil: row.previousSecretUntil && row.previousSecretUntil > now ? row.previousSecretUntil : null,
    createdAt: row.createdAt,
    rowId: row.id,
  });
}

@ObjectType({
  simpleResolvers: true,
  description: "An endpoint with its signing secret: answered only by createWebhookEndpoint and rotateWebhookSecret",
})
export class WebhookEndpointWithSecret {
  @Field(() => WebhookEndpoint, { description: "The endpoint" })
  endpoint!: WebhookEndpoint;

  @Field({
    description:
      'The signing secret, "whsec_" and a base64 key: shown this once (store it with the receiver); verify webhook-signature with it',
  })
  secret!: string;
}

@InputType({ description: "The input of createWebhookEndpoint" })
export class CreateWebhookEndpointInput {
  @Field({
    description:
      "Where to POST events: an http or https URL reaching a public address (loopback, link-local and private addresses are refused unless the server sets WEBHOOK_ALLOW_PRIVATE=1); BAD_USER_INPUT otherwise",
  })
  url!: string;

  @Field(() => [EventType], {
    nullable: true,
    description: "Only these types; omit or empty for every type the organization receives",
  })
  types?: string[] | null;

  @Field(() => String, { nullable: true, description: "A note for the client, at most 200 characters" })
  description?: string | null;
}

@ObjectType({ simpleResolvers: true, description: "One HTTP attempt of a delivery" })
export class WebhookAttempt {
  @Field(() => Int, { description: "Its number within the delivery, from 1 (a redelivery starts at 1 again)" })
  attempt!: number;

  @Field({ description: "Whether the endpoint answered with a 2xx" })
  succeeded!: boolean;

  @Field(() => Int, {
    nullable: true,
    description: "The HTTP status answered; null when none came (refused, timed out, address not allowed)",
  })
  responseStatus!: number | null;

  @Field(() => Int, { description: "Milliseconds from sending to the answer (or to giving up)" })
  latencyMs!: number;

  @Field(() => String, { nullable: true, description: "Why no answer came, when none did" })
  error!: string | null;

  @Field({ description: "When the attempt ended (UTC)" })
  at!: Date;
}

export function toWebhookAttempt(row: AttemptRow): WebhookAttempt {
  return Object.assign(new WebhookAttempt(), { ...row, at: row.createdAt });
}

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description: "One event's delivery to one endpoint, with each attempt",
})
export class WebhookDelivery {
  @Field(() => ID, { description: 'Opaque id, like "delivery_41"' })
  id!: string;

  @Field(() => Event, { description: "The event delivered (webhook-id is its id)" })
  event!: Event;

  @Field(() => WebhookDeliveryStatus, { description: "Where the delivery stands" })
  status!: WebhookDeliveryStatus;

  @Field(() => Date, {
    nullable: true,
    description: "When the next attempt is due (UTC) while PENDING; null otherwise",
  })
  nextAttemptAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "When a 2xx came (UTC); null until then" })
  deliveredAt!: Date | null;

  @Field(() => [WebhookAttempt], { description: "Every attempt, oldest first" })
  attempts!: WebhookAttempt[];

  rowId!: number;
  eventId!: number;
}

export function toWebhookDelivery(row: DeliveryRow, attempts: AttemptRow[]): WebhookDelivery {
  return Object.assign(new WebhookDelivery(), {
    id: globalId("WebhookDelivery", row.id),
    status: row.status as WebhookDeliveryStatus,
    nextAttemptAt: row.status === "PENDING" ? row.nextAttemptAt : null,
    deliveredAt: row.deliveredAt,
    attempts: attempts.map(toWebhookAttempt),
    rowId: row.id,
    eventId: row.eventId,
  });
}

export const WebhookDeliveryConnection = connectionOf("WebhookDelivery", WebhookDelivery);
