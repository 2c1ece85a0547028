// The delivery worker of one process: claims the deliveries due (webhooks.queries.ts), posts each,
// signed, to its endpoint, and records the attempt. Woken by new events with deliveries (the
// stream's notifications) and every WEBHOOK_POLL_MS for retries. At least once: a delivery is
// marked DELIVERED only after a 2xx, so a process killed between the post and the record posts it
// again (same webhook-id) once the claim's lease ends.
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import type { Logger } from "../logger.js";
import type { AppServices } from "../services.js";
import { globalId } from "../graphql/ids.js";
import type { AttemptOutcome } from "./webhooks.queries.js";
import { guardedLookup, isPrivateAddress } from "./address.js";
import { signedHeaders } from "./signing.js";
import { claimDue, recordAttempt, type Claim } from "./webhooks.queries.js";
import type { EventRow } from "../events/events.queries.js";

/** Deliveries claimed per statement (and posted at once). */
const BATCH = 16;
/** The lease past the attempt's timeout. */
const LEASE_MARGIN_MS = 5_000;
/** What an attempt keeps of an error message. */
const MAX_ERROR = 200;

/** The body of an event's webhook: Standard Webhooks' { type, timestamp, data }. */
export function webhookBody(event: EventRow): string {
  return JSON.stringify({ type: event.type, timestamp: event.createdAt.toISOString(), data: event.payload });
}

/** One POST, within the timeout; 2xx is success, anything else (redirects too) a failure. */
export function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  allowPrivate: boolean,
): Promise<AttemptOutcome> {
  const started = Date.now();
  const done = (responseStatus: number | null, error: string | null): AttemptOutcome => ({
    succeeded: responseStatus != null && responseStatus >= 200 && responseStatus < 300,
    responseStatus,
    latencyMs: Date.now() - started,
    error: error?.slice(0, MAX_ERROR) ?? null,
  });
  return new Promise((resolve) => {
    const target = new URL(url);
    const host = target.hostname.replace(/^\[|\]$/g, "");
    // A literal address is not looked up: checked here instead.
    if (!allowPrivate && isIP(host) && isPrivateAddress(host)) {
      resolve(done(null, "the receiver's address is loopback, link-local or private"));
      return;
    }
    const client = target.protocol === "https:" ? https : http;
    const request = client.request(target, {
      method: "POST",
      headers: {
        ...headers,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "user-agent": "gpu-voucher-market-webhooks",
      },
      lookup: guardedLookup(allowPrivate),
      agent: false,
    });
    const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.on("response", (response) => {
      response.resume(); // the body is not read
      response.on("end", () => {
        clearTimeout(timer);
        resolve(done(response.statusCode ?? null, null));
      });
      response.on("error", (error) => {
        clearTimeout(timer);
        resolve(done(response.statusCode ?? null, error.message));
      });
    });
    request.on("error", (error) => {
      clearTimeout(timer);
      resolve(done(null, error.message));
    });
    request.end(body);
  });
}

export class DeliveryWorker {
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private app: AppServices,
    private logger: Logger,
  ) {}

  start(): void {
    const { webhookPollMs } = this.app.config;
    if (webhookPollMs > 0) {
      this.timer = setInterval(() => this.wake(), webhookPollMs);
      this.timer.unref();
    }
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running?.catch(() => {});
  }

  /** Looks for deliveries due now; a wake-up while it works looks again after. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .then(() => {})
      .catch((error: unknown) => this.logger.warn({ err: error }, "webhook delivery failed; will retry"))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Claims and posts until nothing is due. */
  async drain(): Promise<number> {
    const { webhookTimeoutMs } = this.app.config;
    let sent = 0;
    while (!this.stopped) {
      const claims = await claimDue(this.app.db, BATCH, webhookTimeoutMs + LEASE_MARGIN_MS);
      await Promise.all(claims.map((claim) => this.deliver(claim)));
      sent += claims.length;
      if (claims.length < BATCH) break;
    }
    return sent;
  }

  private async deliver(claim: Claim): Promise<void> {
    const { webhookTimeoutMs, webhookAllowPrivate, webhookRetrySchedule } = this.app.config;
    const body = webhookBody(claim.event);
    const id = globalId("Event", claim.event.id);
    const headers = signedHeaders(claim.secrets, id, Math.floor(Date.now() / 1000), body);
    const outcome = await post(claim.url, headers, body, webhookTimeoutMs, webhookAllowPrivate);
    await recordAttempt(this.app.db, claim, outcome, webhookRetrySchedule);
  }
}
