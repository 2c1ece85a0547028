// A GraphQL-over-WebSocket client as a screen would use it (the graphql-ws library's createClient
// on `ws`), collecting what each subscription receives.
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

export interface Received<T = any> {
  /** Every `data` received, in order. */
  data: T[];
  /** Errors the server answered the subscription with. */
  errors: any[];
  /** Waits until `count` results have arrived (or fails after `timeoutMs`); returns them all. */
  until(count: number, timeoutMs?: number): Promise<T[]>;
  /** Completes the subscription. */
  stop(): void;
}

export interface SubscriptionClient {
  client: Client;
  subscribe<T = any>(query: string, variables?: Record<string, unknown>): Received<T>;
  /** Resolves with the close event's code once the server closed the connection. */
  closed: Promise<number>;
  close(): Promise<void>;
}

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, "ws")}/graphql`;
}

export function subscriptionClient(httpUrl: string, token?: string): SubscriptionClient {
  let onClosed: (code: number) => void = () => {};
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    lazy: false,
    retryAttempts: 0,
    onNonLazyError: () => {},
    on: { closed: (event) => onClosed((event as { code: number }).code) },
  });
  return {
    client,
    closed,
    subscribe<T>(query: string, variables: Record<string, unknown> = {}): Received<T> {
      const data: T[] = [];
      const errors: any[] = [];
      let wake = () => {};
      const stop = client.subscribe<T>(
        { query, variables },
        {
          next: (result) => {
            if (result.errors) errors.push(...result.errors);
            if (result.data) data.push(result.data as T);
            wake();
          },
          error: (error) => {
            errors.push(error);
            wake();
          },
          complete: () => wake(),
        },
      );
      return {
        data,
        errors,
        stop,
        async until(count, timeoutMs = 10_000) {
          const deadline = Date.now() + timeoutMs;
          while (data.length < count) {
            if (errors.length) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
            if (Date.now() > deadline)
              throw new Error(`expected ${count} results within ${timeoutMs} ms, got ${JSON.stringify(data)}`);
            await new Promise<void>((resolve) => {
              wake = resolve;
              setTimeout(resolve, 50);
            });
          }
          return data;
        },
      };
    },
    close: () => client.dispose() as Promise<void>,
  };
}

/** Waits until `check` holds (polling), or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
