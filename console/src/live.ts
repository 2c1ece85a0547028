// Live updates over the API's WebSocket (graphql-ws protocol on /graphql, the key in
// connectionParams), with polling when the socket cannot connect (a proxy that refuses
// WebSockets, a network that drops them). The graphql-ws client is loaded only by views that
// follow something live, so the first page does not carry it.
import { session, type ApiErrorEntry, ApiError } from "./api.js";
import type { TypedDocumentString } from "./graphql/generated.js";

export type LiveMode = "connecting" | "live" | "polling";

export interface Follow<Result> {
  /** Each answer of the subscription, or of a poll. */
  onData(data: Result): void;
  /** How the view is being kept up to date now. */
  onMode(mode: LiveMode): void;
  onError(error: unknown): void;
  /** One fetch of the current state: run at once, after the socket connects (what happened before), and each poll. */
  poll(): Promise<void>;
  pollMs: number;
}

/** Follows one subscription; falls back to `poll` every `pollMs` when the socket fails. Returns the stop. */
export function follow<Result, Variables>(
  document: TypedDocumentString<Result, Variables>,
  variables: Variables,
  handlers: Follow<Result>,
): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let dispose: (() => void) | undefined;
  const polling = () => {
    if (stopped) return;
    handlers.onMode("polling");
    const tick = async () => {
      await handlers.poll().catch(handlers.onError);
      if (!stopped) timer = setTimeout(tick, handlers.pollMs);
    };
    timer = setTimeout(tick, handlers.pollMs);
  };
  handlers.onMode("connecting");
  handlers.poll().catch(handlers.onError);
  import("graphql-ws").then(
    ({ createClient }) => {
      if (stopped) return;
      const client = createClient({
        url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`,
        connectionParams: () => ({ authorization: `Bearer ${session.token ?? ""}` }),
        // One quick retry, then polling: a socket that cannot connect will not connect soon.
        retryAttempts: 1,
        retryWait: () => new Promise((resolve) => setTimeout(resolve, 500)),
        on: {
          connected: () => {
            if (stopped) return;
            handlers.onMode("live");
            // What changed before the subscription started.
            handlers.poll().catch(handlers.onError);
          },
        },
      });
      const unsubscribe = client.subscribe<Result>(
        { query: document.toString(), variables: variables as Record<string, unknown> },
        {
          next: (answer) => {
            if (answer.errors?.length) handlers.onError(new ApiError(answer.errors[0] as ApiErrorEntry));
            else if (answer.data) handlers.onData(answer.data);
          },
          error: () => {
            void client.dispose();
            polling();
          },
          complete: () => undefined,
        },
      );
      dispose = () => {
        unsubscribe();
        void client.dispose();
      };
    },
    () => polling(),
  );
  return () => {
    stopped = true;
    clearTimeout(timer);
    dispose?.();
  };
}
