// Events: the catch-up query and the subscriptions (over WebSocket, events/ws.ts). Each subscription
// reads the stream of its process (ctx.app.events), filtered to the caller's organization.
import { Arg, Authorized, Ctx, ID, Int, Query, Resolver, Root, Subscription } from "type-graphql";
import { Bid, toBid } from "../bids/bids.types.js";
import { ownBid } from "../bids/bids.service.js";
import { Order, toOrder } from "../checkout/checkout.types.js";
import { ownOrder } from "../checkout/checkout.service.js";
import type { Context } from "../graphql/context.js";
import { orgIdOf } from "../graphql/context.js";
import { parseId } from "../graphql/ids.js";
import { FIRST_DESCRIPTION } from "../graphql/pagination.js";
import { Loaders } from "../graphql/loaders.js";
import type { EventRow } from "./events.queries.js";
import { Event, EventType, toEvent } from "./events.types.js";
import * as service from "./events.service.js";

const AFTER =
  'The id of the last event the client saw, like "event_88": the events after it, in order; omit it for events from now on (subscriptions) or from the oldest kept (the query)';
const TYPES = "Only events of these types; omit for every type the caller receives";
const ROLES = "Roles: SME, DATA_CENTER, CITY_FINANCE (their organization's events), ADMIN (every organization's)";

/**
 * A subscription answers each event with what the object is now: fresh loaders and clock per event,
 * since the subscription's context lives as long as it does.
 */
function refresh(ctx: Context): void {
  ctx.loaders = new Loaders(ctx.db);
  ctx.now = new Date();
}

@Resolver(() => Event)
export class EventsResolver {
  @Authorized()
  @Query(() => [Event], {
    description:
      "The caller's events after an event id, oldest first: to catch up after a disconnect, or to poll. Kept EVENT_RETENTION_DAYS " +
      `days (30). ${ROLES}. Errors: UNAUTHENTICATED, BAD_USER_INPUT (after: not an event of the caller's; first)`,
  })
  async events(
    @Ctx() ctx: Context,
    @Arg("after", () => ID, { nullable: true, description: AFTER }) after?: string | null,
    @Arg("first", () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number | null,
    @Arg("types", () => [EventType], { nullable: true, description: TYPES }) types?: string[] | null,
  ): Promise<Event[]> {
    return (await service.eventsAfter(ctx, ctx.viewer!, after, first, types)).map(toEvent);
  }
}

@Resolver()
export class EventSubscriptionsResolver {
  @Authorized()
  @Subscription(() => Event, {
    name: "events",
    description:
      "The caller's events as they commit, on any server process: over WebSocket (graphql-ws protocol) on /graphql, with the API key " +
      `in connectionParams. With after:, the events missed since then come first, then the live ones, none twice. ${ROLES}. ` +
      "Errors: UNAUTHENTICATED, BAD_USER_INPUT (after), RATE_LIMITED (subscriptions per connection)",
    subscribe: ({ args, context }) =>
      service.subscribe(context as Context, service.filterFor((context as Context).viewer!, args.types), args.after),
  })
  eventsLive(
    @Root() row: EventRow,
    @Arg("types", () => [EventType], { nullable: true, description: TYPES }) _types?: string[] | null,
    @Arg("after", () => ID, { nullable: true, description: AFTER }) _after?: string | null,
  ): Event {
    return toEvent(row);
  }

  @Authorized("SME")
  @Subscription(() => Bid, {
    description:
      "One of the caller's bids, each time an event is about it (bid.matched, reservation.hold_expiring, reservation.expired): " +
      "the bid as it is then, with its reservation. Role: SME. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (another SME's bid), BAD_USER_INPUT",
    subscribe: ({ args, context }) => {
      const ctx = context as Context;
      const key = parseId("id", args.id as string, "Bid");
      return service.subscribe(ctx, service.filterFor(ctx.viewer!, null, args.id as string), args.after, async () => {
        return (await ownBid(ctx.db, orgIdOf(ctx), key)) != null;
      });
    },
  })
  async bidUpdated(
    @Root() row: EventRow,
    @Ctx() ctx: Context,
    @Arg("id", () => ID, { description: 'The bid\'s opaque id, like "bid_45"' }) id: string,
    @Arg("after", () => ID, { nullable: true, description: AFTER }) _after?: string | null,
  ): Promise<Bid> {
    refresh(ctx);
    void row;
    return toBid((await ownBid(ctx.db, orgIdOf(ctx), parseId("id", id, "Bid")))!);
  }

  @Authorized("SME")
  @Subscription(() => Order, {
    description:
      "One of the caller's orders, each time it is paid, fails, is cancelled or refunded (the order.* events): the order as it is then. " +
      "Role: SME. Errors: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND (another SME's order), BAD_USER_INPUT",
    subscribe: ({ args, context }) => {
      const ctx = context as Context;
      const key = parseId("id", args.id as string, "Order");
      return service.subscribe(ctx, service.filterFor(ctx.viewer!, null, args.id as string), args.after, async () => {
        return (await ownOrder(ctx.db, orgIdOf(ctx), key)) != null;
      });
    },
  })
  async orderUpdated(
    @Root() row: EventRow,
    @Ctx() ctx: Context,
    @Arg("id", () => ID, { description: 'The order\'s opaque id, like "order_7"' }) id: string,
    @Arg("after", () => ID, { nullable: true, description: AFTER }) _after?: string | null,
  ): Promise<Order> {
    refresh(ctx);
    void row;
    return toOrder((await ownOrder(ctx.db, orgIdOf(ctx), parseId("id", id, "Order")))!);
  }
}
