import { GraphQLJSONObject } from "graphql-scalars";
import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { globalId } from "../graphql/ids.js";
import { GlobalNode } from "../graphql/node.js";
import { EVENT_KINDS, KIND_BY_NAME } from "./catalogue.js";
import type { EventRow } from "./events.queries.js";

/** EventType's values: the catalogue's keys, each to itself (BID_MATCHED = "BID_MATCHED"). */
export const EventType = Object.fromEntries(EVENT_KINDS.map((kind) => [kind.key, kind.key])) as Record<string, string>;

const AUDIENCE = { SME: "the SME", DATA_CENTER: "the data center operator", CITY_FINANCE: "the city's finance team" };

registerEnumType(EventType, {
  name: "EventType",
  description:
    "The kinds of event (docs/events.md): each goes to one organization, named by its role. Webhooks carry the dotted name (bid.matched) as type",
  valuesConfig: Object.fromEntries(
    EVENT_KINDS.map((kind) => [
      kind.key,
      {
        description: `${kind.name}, to ${AUDIENCE[kind.audience]}: ${kind.description}. Payload: ${kind.payload.join(", ")}`,
      },
    ]),
  ),
});

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description:
    "Something that happened to one of the organization's objects, recorded in the transaction of the change: a change and its event commit together or not at all",
})
export class Event {
  @Field(() => ID, {
    description: 'Opaque id, like "event_88"; the same in webhooks (webhook-id). Resume after it with after:',
  })
  id!: string;

  @Field(() => EventType, { description: "What happened" })
  type!: string;

  @Field({ description: 'The type\'s name as webhooks carry it, like "bid.matched"' })
  name!: string;

  @Field(() => ID, {
    description: 'The global id of the object the event is about, like "bid_45", "reservation_12" or "order_7"',
  })
  objectId!: string;

  @Field(() => GraphQLJSONObject, {
    description:
      "What the event says, as of its commit (EventType lists each type's fields): ids are global ids, money is { amount fen currency }, times RFC 3339 in UTC. Read the object again for its state now",
  })
  payload!: Record<string, unknown>;

  @Field({ description: "When the change was committed (UTC, the database's clock)" })
  createdAt!: Date;

  rowId!: number;
  organizationId!: number;
}

export function toEvent(row: EventRow): Event {
  return Object.assign(new Event(), {
    id: globalId("Event", row.id),
    type: KIND_BY_NAME.get(row.type)?.key ?? row.type,
    name: row.type,
    objectId: row.objectId,
    payload: row.payload as Record<string, unknown>,
    createdAt: row.createdAt,
    rowId: row.id,
    organizationId: row.organizationId,
  });
}
