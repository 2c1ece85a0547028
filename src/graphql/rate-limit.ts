// Per-client limits, counted per process in fixed windows of a minute: a budget of cost points
// per client (its API key, or its IP when anonymous), mutation fields per API key and per IP.
// They bound abuse; business invariants live in the database.
import type { ApolloServerPlugin } from "@apollo/server";
import type { GraphQLSchema } from "graphql";
import type { Context } from "./context.js";
import { httpError, rateLimited } from "./errors.js";
import { costEstimator, MAX_COST, mutationFieldCount } from "./limits.js";

const WINDOW_MS = 60_000;

/** Amounts spent per key in the current minute, against one limit per key; a limit of 0 is off. */
export class FixedWindowLimiter {
  private windowStart = 0;
  private spent = new Map<string, number>();

  constructor(readonly limit: number) {}

  get enabled(): boolean {
    return this.limit > 0;
  }

  private roll(nowMs: number): void {
    const window = Math.floor(nowMs / WINDOW_MS) * WINDOW_MS;
    if (window !== this.windowStart) {
      this.windowStart = window;
      this.spent.clear();
    }
  }

  /** What a key has left this minute (Infinity when the limit is off). */
  remaining(key: string, nowMs: number): number {
    if (!this.enabled) return Number.POSITIVE_INFINITY;
    this.roll(nowMs);
    return Math.max(0, this.limit - (this.spent.get(key) ?? 0));
  }

  /** The seconds to wait when spending `amount` would take a key past the limit; null when it fits. */
  wait(keys: string[], amount: number, nowMs: number): number | null {
    if (!this.enabled || keys.every((key) => this.remaining(key, nowMs) >= amount)) return null;
    return Math.max(1, Math.ceil((this.windowStart + WINDOW_MS - nowMs) / 1000));
  }

  spend(keys: string[], amount: number, nowMs: number): void {
    if (!this.enabled || amount <= 0) return;
    this.roll(nowMs);
    for (const key of keys) this.spent.set(key, (this.spent.get(key) ?? 0) + amount);
  }
}

export interface RequestLimits {
  /** Cost points per client per minute; 0 = off. */
  pointsPerMinute: number;
  /** Mutation fields per API key and per IP per minute; 0 = off. */
  mutationsPerMinute: number;
}

const clientOf = (context: Context) => {
  const viewer = context.viewer;
  if (!viewer) return `ip:${context.ip}`;
  return viewer.apiKeyId == null ? "admin" : `key:${viewer.apiKeyId}`;
};

/**
 * Once an operation is parsed and valid: its cost is estimated (over MAX_COST it is refused), the
 * client's budget must hold it and, for a mutation, the allowance must hold every field it runs;
 * only then is either spent, so a refused request spends nothing. Each operation of a batch is
 * judged on its own. Every answer says what the operation cost and what is left:
 * `extensions.cost { requested, remaining }` (remaining is null when the budget is off).
 */
export function requestLimits(
  schema: GraphQLSchema,
  limits: RequestLimits,
  /** Shared with other routes that change things (the CSV import of offers). */
  mutations: FixedWindowLimiter = new FixedWindowLimiter(limits.mutationsPerMinute),
): ApolloServerPlugin<Context> {
  const points = new FixedWindowLimiter(limits.pointsPerMinute);
  const costOf = costEstimator(schema);
  return {
    async requestDidStart({ contextValue }) {
      const client = clientOf(contextValue);
      let requested = 0;
      return {
        async didResolveOperation({ request, document, operation }) {
          if (!operation) return; // no such operation: execution reports it
          requested = costOf(document, operation, request.variables);
          if (requested > MAX_COST) {
            throw httpError(
              "BAD_USER_INPUT",
              `The query costs ${requested}; at most ${MAX_COST} is allowed (ask for fewer items)`,
              400,
              { cost: requested },
            );
          }
          const now = contextValue.now.getTime(); // the request's clock (tests may set it)
          const fields =
            operation.operation === "mutation" ? mutationFieldCount(document, operation, request.variables ?? {}) : 0;
          const senders = [`ip:${contextValue.ip}`, ...(contextValue.viewer ? [client] : [])];
          const overBudget = points.wait([client], requested, now);
          if (overBudget != null) {
            const left = points.remaining(client, now);
            throw rateLimited(
              `The query costs ${requested} points and ${left} are left this minute; retry in ${overBudget} s`,
              overBudget,
            );
          }
          const tooManyChanges = mutations.wait(senders, fields, now);
          if (tooManyChanges != null) {
            throw rateLimited(
              `Too many changes (${fields} in this request, a bulk mutation counting one per 100 items); retry in ${tooManyChanges} s`,
              tooManyChanges,
            );
          }
          points.spend([client], requested, now);
          mutations.spend(senders, fields, now);
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== "single") return;
          const remaining = points.enabled ? points.remaining(client, contextValue.now.getTime()) : null;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, cost: { requested, remaining } };
        },
      };
    },
  };
}
