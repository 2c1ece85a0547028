// Mutations per API key and per client IP per minute. Counted per process: a fixed window that
// bounds abuse, not a business invariant (those live in the database).
import type { ApolloServerPlugin } from "@apollo/server";
import type { Context } from "./context.js";
import { httpError } from "./errors.js";

const WINDOW_MS = 60_000;

export class FixedWindowLimiter {
  private windowStart = 0;
  private counts = new Map<string, number>();

  constructor(private limit: number) {}

  /** Counts one hit for every key; returns the seconds to wait when any key is over the limit. */
  hit(keys: string[], nowMs: number): number | null {
    const window = Math.floor(nowMs / WINDOW_MS) * WINDOW_MS;
    if (window !== this.windowStart) {
      this.windowStart = window;
      this.counts.clear();
    }
    let over = false;
    for (const key of keys) {
      const count = (this.counts.get(key) ?? 0) + 1;
      this.counts.set(key, count);
      if (count > this.limit) over = true;
    }
    return over ? Math.ceil((window + WINDOW_MS - nowMs) / 1000) : null;
  }
}

export function rateLimit(limitPerMinute: number): ApolloServerPlugin<Context> {
  const limiter = new FixedWindowLimiter(limitPerMinute);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue, response }) {
          if (limitPerMinute <= 0 || operation?.operation !== "mutation") return;
          const viewer = contextValue.viewer;
          const keys = [`ip:${contextValue.ip}`];
          if (viewer) keys.push(viewer.apiKeyId == null ? "admin" : `key:${viewer.apiKeyId}`);
          const retryAfter = limiter.hit(keys, Date.now());
          if (retryAfter != null) {
            response.http.headers.set("retry-after", String(retryAfter));
            throw httpError("RATE_LIMITED", `Too many changes; retry in ${retryAfter} s`, 429, { retryAfterSeconds: retryAfter });
          }
        },
      };
    },
  };
}
