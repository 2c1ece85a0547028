// Per-client limits in fixed windows of a minute: a budget of cost points per client (its API key,
// or its IP when anonymous), mutation fields per API key and per IP, failed authentications per IP.
// They bound abuse; business invariants live in the database.
//
// Where they are counted: with REDIS_URL, in Redis, shared by every process (one atomic script
// checks every counter a request touches and spends on all of them, or on none); without it, in
// this process's memory (N processes then allow N times each limit). Windows follow the request's
// clock, so the test clock moves them too. Decision record 0010.
import type { ApolloServerPlugin } from "@apollo/server";
import type { DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode } from "graphql";
import type { Logger } from "../logger.js";
import type { Context } from "./context.js";
import { httpError, rateLimited } from "./errors.js";
import { costEstimator, MAX_COST, mutationFieldCount } from "./limits.js";

const WINDOW_MS = 60_000;

/** One counter of one limiter, and what a request would add to it. */
export interface Charge {
  /** The limiter: `points`, `mutations`, `authFailures`. */
  limiter: string;
  key: string;
  limit: number;
  amount: number;
}

export interface TakeResult {
  /** The index of the first charge that did not fit (nothing was spent then), or -1. */
  refused: number;
  /** Each counter's total after the spend (or as it stands, when refused or not spending). */
  totals: number[];
}

/** Where the counters live. */
export interface LimitStore {
  readonly shared: boolean;
  /**
   * In the window that starts at `window` (ms): when every charge fits its limit, spends them all
   * (if `spend`); else spends nothing and names the first that does not fit.
   */
  take(charges: Charge[], window: number, spend: boolean): Promise<TakeResult>;
  /** Reachable, for /readyz; always true in memory. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Counters in this process's memory; a limiter forgets its counts when its window moves. */
export class MemoryLimitStore implements LimitStore {
  readonly shared = false;
  private readonly windows = new Map<string, { window: number; spent: Map<string, number> }>();

  private counters(limiter: string, window: number): Map<string, number> {
    let state = this.windows.get(limiter);
    if (!state || state.window !== window) this.windows.set(limiter, (state = { window, spent: new Map() }));
    return state.spent;
  }

  async take(charges: Charge[], window: number, spend: boolean): Promise<TakeResult> {
    const totals = charges.map((c) => this.counters(c.limiter, window).get(c.key) ?? 0);
    const refused = charges.findIndex((c, i) => totals[i] + c.amount > c.limit);
    if (refused >= 0 || !spend) return { refused, totals };
    return {
      refused,
      totals: charges.map((c) => {
        const counters = this.counters(c.limiter, window);
        const total = (counters.get(c.key) ?? 0) + c.amount;
        counters.set(c.key, total);
        return total;
      }),
    };
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}

/**
 * KEYS: the counters; ARGV: spend (0/1), expiry in ms, then a limit and an amount per key.
 * Returns {refused (1-based, 0 = none), total per key}.
 */
const TAKE_SCRIPT = `
local totals = {}
for i = 1, #KEYS do totals[i] = tonumber(redis.call('GET', KEYS[i]) or '0') end
for i = 1, #KEYS do
  if totals[i] + tonumber(ARGV[2 + 2 * i]) > tonumber(ARGV[1 + 2 * i]) then
    return {i, unpack(totals)}
  end
end
if ARGV[1] == '1' then
  for i = 1, #KEYS do
    local amount = tonumber(ARGV[2 + 2 * i])
    if amount > 0 then
      totals[i] = redis.call('INCRBY', KEYS[i], amount)
      redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2]))
    end
  end
end
return {0, unpack(totals)}
`;

/** The commands the Redis store sends (a subset of @redis/client's client). */
export interface RedisLike {
  sendCommand(args: string[]): Promise<unknown>;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
}

/**
 * Counters in Redis, shared by every process. When Redis does not answer, the request is let
 * through (limits bound abuse; refusing everyone would be an outage of our own making), counted
 * in gvm_rate_limit_store_errors_total and logged at most once a minute.
 */
export class RedisLimitStore implements LimitStore {
  readonly shared = true;
  private sha: string | undefined;
  private lastWarning = 0;

  constructor(
    private readonly redis: RedisLike,
    private readonly logger: Logger,
    private readonly onError: () => void = () => {},
    private readonly prefix = "gvm",
  ) {}

  private async script(keys: string[], args: string[]): Promise<number[]> {
    const tail = [String(keys.length), ...keys, ...args];
    if (this.sha) {
      try {
        return (await this.redis.sendCommand(["EVALSHA", this.sha, ...tail])) as number[];
      } catch (error) {
        if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
      }
    }
    this.sha = String(await this.redis.sendCommand(["SCRIPT", "LOAD", TAKE_SCRIPT]));
    return (await this.redis.sendCommand(["EVALSHA", this.sha, ...tail])) as number[];
  }

  async take(charges: Charge[], window: number, spend: boolean): Promise<TakeResult> {
    if (charges.length === 0) return { refused: -1, totals: [] };
    const keys = charges.map((c) => `${this.prefix}:limits:${c.limiter}:${window}:${c.key}`);
    // A counter outlives its window a little, whatever the clock of the request that made it.
    const args = [spend ? "1" : "0", String(2 * WINDOW_MS)];
    for (const c of charges) args.push(String(c.limit), String(c.amount));
    try {
      const [refused, ...totals] = (await this.script(keys, args)).map(Number);
      return { refused: refused - 1, totals };
    } catch (error) {
      this.onError();
      if (Date.now() - this.lastWarning > WINDOW_MS) {
        this.lastWarning = Date.now();
        this.logger.warn({ err: error }, "rate limits: Redis did not answer; requests pass unlimited meanwhile");
      }
      return { refused: -1, totals: charges.map(() => 0) };
    }
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.sendCommand(["PING"])) === "PONG";
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await (this.redis.close?.() ?? this.redis.quit?.())?.catch(() => {});
  }
}

const windowOf = (nowMs: number) => Math.floor(nowMs / WINDOW_MS) * WINDOW_MS;
/** Seconds until the window of `nowMs` ends (at least 1). */
const secondsLeft = (nowMs: number) => Math.max(1, Math.ceil((windowOf(nowMs) + WINDOW_MS - nowMs) / 1000));

/** Failed authentications per IP: checked before a token is looked up, counted after it failed. */
export class AuthFailureLimit {
  constructor(
    private readonly store: LimitStore,
    readonly limit: number,
  ) {}

  private charge(ip: string, amount: number): Charge[] {
    return this.limit > 0 ? [{ limiter: "authFailures", key: `ip:${ip}`, limit: this.limit, amount }] : [];
  }

  /** The seconds this IP must wait before a token of its is looked up again; null when it may try. */
  async wait(ip: string, nowMs: number): Promise<number | null> {
    const { refused } = await this.store.take(this.charge(ip, 1), windowOf(nowMs), false);
    return refused >= 0 ? secondsLeft(nowMs) : null;
  }

  async failed(ip: string, nowMs: number): Promise<void> {
    // Counted whatever the limit: the check above refuses once it is reached.
    await this.store.take(
      this.charge(ip, 1).map((c) => ({ ...c, limit: Number.MAX_SAFE_INTEGER })),
      windowOf(nowMs),
      true,
    );
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

/** What an operation costs, what the client has spent this minute as last seen, and why it is refused if it is. */
export interface Admission {
  requested: number;
  /** Points spent this minute as last seen; undefined when the budget is off or was not read. */
  spent?: number;
  /** BAD_USER_INPUT over MAX_COST, RATE_LIMITED: nothing was spent. */
  refusal?: GraphQLError;
}

/**
 * Once an operation is parsed and valid: its cost is estimated (over MAX_COST it is refused), the
 * client's budget must hold it and, for a mutation, the allowance must hold every field it runs;
 * only then is either spent, so a refused request spends nothing. Each operation of a batch is
 * judged on its own. Every answer says what the operation cost and what is left:
 * `extensions.cost { requested, remaining }` (remaining is null when the budget is off). Used by
 * Apollo's pipeline (requestLimits) and by the short path of known queries (known-queries.ts).
 */
export class RequestJudge {
  private readonly costOf: ReturnType<typeof costEstimator>;

  constructor(
    schema: GraphQLSchema,
    private readonly limits: RequestLimits,
    private readonly store: LimitStore,
  ) {
    this.costOf = costEstimator(schema);
  }

  private budget(client: string, amount: number): Charge[] {
    const limit = this.limits.pointsPerMinute;
    return limit > 0 ? [{ limiter: "points", key: client, limit, amount }] : [];
  }

  /** Charges the operation, or says why it is refused, having spent nothing. */
  async admit(
    context: Context,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Record<string, unknown> | undefined,
  ): Promise<Admission> {
    const { limits } = this;
    const requested = this.costOf(document, operation, variables);
    if (requested > MAX_COST) {
      const refusal = httpError(
        "BAD_USER_INPUT",
        `The query costs ${requested}; at most ${MAX_COST} is allowed (ask for fewer items)`,
        400,
        { cost: requested },
      );
      return { requested, refusal };
    }
    const now = context.now.getTime(); // the request's clock (tests may set it)
    const fields = operation.operation === "mutation" ? mutationFieldCount(document, operation, variables ?? {}) : 0;
    const client = clientOf(context);
    const senders = [`ip:${context.ip}`, ...(context.viewer ? [client] : [])];
    const points = this.budget(client, requested);
    const changes: Charge[] =
      limits.mutationsPerMinute > 0 && fields > 0
        ? senders.map((key) => ({ limiter: "mutations", key, limit: limits.mutationsPerMinute, amount: fields }))
        : [];
    const { refused, totals } = await this.store.take([...points, ...changes], windowOf(now), true);
    const spent = points.length ? totals[0] : undefined;
    if (refused >= 0 && refused < points.length) {
      const left = Math.max(0, limits.pointsPerMinute - (spent ?? 0));
      const refusal = rateLimited(
        `The query costs ${requested} points and ${left} are left this minute; retry in ${secondsLeft(now)} s`,
        secondsLeft(now),
      );
      return { requested, spent, refusal };
    }
    if (refused >= 0) {
      const refusal = rateLimited(
        `Too many changes (${fields} in this request, a bulk mutation counting one per 100 items); retry in ${secondsLeft(now)} s`,
        secondsLeft(now),
      );
      return { requested, spent, refusal };
    }
    return { requested, spent };
  }

  /** The answer's `extensions.cost`; the budget is read when the operation was not charged (refused before). */
  async cost(
    context: Context,
    admission: Admission | undefined,
  ): Promise<{ requested: number; remaining: number | null }> {
    const requested = admission?.requested ?? 0;
    if (this.limits.pointsPerMinute <= 0) return { requested, remaining: null };
    let spent = admission?.spent;
    if (spent === undefined) {
      const seen = await this.store.take(this.budget(clientOf(context), 0), windowOf(context.now.getTime()), false);
      spent = seen.totals[0] ?? 0;
    }
    return { requested, remaining: Math.max(0, this.limits.pointsPerMinute - spent) };
  }
}

/** The judge in Apollo's pipeline: once the operation is resolved, and on the answer. */
export function requestLimits(judge: RequestJudge): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue }) {
      let admission: Admission | undefined;
      return {
        async didResolveOperation({ request, document, operation }) {
          if (!operation) return; // no such operation: execution reports it
          admission = await judge.admit(contextValue, document, operation, request.variables);
          if (admission.refusal) throw admission.refusal;
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== "single") return;
          const result = response.body.singleResult;
          result.extensions = { ...result.extensions, cost: await judge.cost(contextValue, admission) };
        },
      };
    },
  };
}

/**
 * A per-minute count outside GraphQL's own plugin: file exports per API key (`exports`), and the
 * CSV import's changes counted with GraphQL's mutations per key and IP (`mutations`).
 */
export class CountLimit {
  constructor(
    private readonly store: LimitStore,
    private readonly limiter: "exports" | "mutations",
    readonly limit: number,
  ) {}

  /** Spends `amount` for each sender; the seconds to wait when that does not fit (nothing spent), else null. */
  async take(senders: string[], amount: number, nowMs: number): Promise<number | null> {
    if (this.limit <= 0 || amount <= 0) return null;
    const charges: Charge[] = senders.map((key) => ({ limiter: this.limiter, key, limit: this.limit, amount }));
    const { refused } = await this.store.take(charges, windowOf(nowMs), true);
    return refused >= 0 ? secondsLeft(nowMs) : null;
  }
}
