// One process's live view of the outbox: it LISTENs for the notification each event sends at commit
// (from any process on the database), reads the new final events once, in the outbox's order, and
// hands each to the subscriptions of its organization. It reads only for the organizations its
// subscriptions are for (every one when the admin subscribes): idle subscriptions of organizations
// where nothing happens cost no read, and with no subscription it reads nothing. A subscription may start after an event id it saw: the outbox is replayed from there,
// then it goes on live, with nothing missed or repeated (the position decides, see events.queries.ts).
import type { Database } from "../db/client.js";
import type { Logger } from "../logger.js";
import { readAll, readFor, readOwn, START, tail, type EventRow, type Position } from "./events.queries.js";

export const EVENTS_CHANNEL = "gvm_events";

/** Rows read per statement. */
const BATCH = 500;
/** How soon to look again while a notified event is not final yet (an older transaction still runs). */
const RETRY_MS = 50;
/**
 * How long a notification waits for others before the read: under load (hundreds of events a
 * second) one read serves many notifications instead of one read each.
 */
const GATHER_MS = 10;
/** A read now and then even without notifications: one lost while the listening connection was down. */
const SAFETY_POLL_MS = 5_000;

const after = (a: Position, b: Position) => {
  const ax = BigInt(a.xid);
  const bx = BigInt(b.xid);
  return ax > bx || (ax === bx && a.id > b.id);
};

/** What a subscription asks for: its organization's events (all of them for the admin), of some types. */
export interface Filter {
  /** null: every organization's (the admin). */
  organizationId: number | null;
  /** Catalogue names; empty: every type. */
  types: readonly string[];
  /** Only events about this object: its global id as the event's object, or as the payload's bidId. */
  about?: string;
}

function matches(filter: Filter, row: EventRow): boolean {
  if (filter.organizationId != null && row.organizationId !== filter.organizationId) return false;
  if (
    filter.about != null &&
    row.objectId !== filter.about &&
    (row.payload as { bidId?: unknown }).bidId !== filter.about
  )
    return false;
  return filter.types.length === 0 || filter.types.includes(row.type);
}

/** An async iterator fed by the stream, as graphql-js consumes a subscription. */
class Subscriber implements AsyncIterableIterator<EventRow> {
  private queue: EventRow[] = [];
  private waiting: ((result: IteratorResult<EventRow>) => void) | null = null;
  private done = false;
  /** Events arriving while the replay runs wait here. */
  private replaying = true;
  private held: EventRow[] = [];
  position: Position;

  constructor(
    readonly filter: Filter,
    from: Position,
    private onEnd: (subscriber: Subscriber) => void,
  ) {
    this.position = from;
  }

  /** Replays, or starts after, this position; events arriving meanwhile wait until `live()`. */
  startAfter(position: Position): void {
    this.position = position;
  }

  offer(row: EventRow): void {
    if (this.done || !matches(this.filter, row)) return;
    if (this.replaying) this.held.push(row);
    else this.push(row);
  }

  push(row: EventRow): void {
    if (!after({ xid: row.xid, id: row.id }, this.position)) return; // replayed already
    this.position = { xid: row.xid, id: row.id };
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: row, done: false });
    } else this.queue.push(row);
  }

  live(): void {
    this.replaying = false;
    for (const row of this.held.splice(0)) this.push(row);
  }

  next(): Promise<IteratorResult<EventRow>> {
    if (this.queue.length) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<EventRow>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<EventRow>> {
    this.end();
    return Promise.reject(error);
  }

  end(): void {
    if (this.done) return;
    this.done = true;
    this.queue = [];
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
    this.onEnd(this);
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

export class EventStream {
  private subscribers = new Set<Subscriber>();
  /** Subscriptions per organization; null: the admin's, which take every organization's events. */
  private audience = new Map<number | null, number>();
  /** Where the stream has read to; null while it has no subscription. */
  private position: Position | null = null;
  private reading: Promise<void> | null = null;
  private again = false;
  /**
   * Ids notified but not read yet, with when: while any is left, the stream looks again shortly. A
   * notification that comes after its event was read is known by `recent`; one whose event is never
   * read here (pruned, or older than the stream's start) is forgotten after a minute.
   */
  private notified = new Map<number, number>();
  private recent = new Set<number>();
  private retryTimer: NodeJS.Timeout | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private stopListening: (() => Promise<void>) | null = null;
  private stopped = false;
  /** Called for each notification of an event that has webhook deliveries (the delivery worker's wake-up). */
  onDeliveries: () => void = () => {};

  constructor(
    private database: Database,
    private logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.stopListening = await this.database.listen(
      EVENTS_CHANNEL,
      (payload) => this.onNotify(payload),
      () => this.wake(),
    );
    this.pollTimer = setInterval(() => this.wake(), SAFETY_POLL_MS);
    this.pollTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const subscriber of [...this.subscribers]) subscriber.end();
    await this.reading?.catch(() => {});
    await this.stopListening?.().catch(() => {});
  }

  /** How many subscriptions this process serves. */
  get size(): number {
    return this.subscribers.size;
  }

  /**
   * The events of the filter from now on, or after `from` (replayed from the outbox first). The
   * iterator ends when its consumer returns it or the stream stops.
   */
  async subscribe(filter: Filter, from: Position | null): Promise<AsyncIterableIterator<EventRow>> {
    if (this.stopped) throw new Error("the event stream is stopped");
    const subscriber = new Subscriber(filter, from ?? START, (s) => this.remove(s));
    this.subscribers.add(subscriber);
    this.audience.set(filter.organizationId, (this.audience.get(filter.organizationId) ?? 0) + 1);
    try {
      // A read under way may have left this organization out: once it is over, every read includes it,
      // and what it skipped is older than the tail below or is in the replay.
      await this.reading?.catch(() => {});
      if (from == null || this.position == null) {
        const now = await tail(this.database.db);
        // The first subscription: the stream starts after the last final event (what came before is not read).
        if (this.position == null) {
          this.notified.clear();
          this.position = now;
        }
        if (from == null) {
          subscriber.startAfter(now);
          subscriber.live();
          return subscriber;
        }
      }
      for (let position = from; ;) {
        const rows =
          filter.organizationId == null
            ? await readAll(this.database.db, position, BATCH)
            : await readOwn(this.database.db, filter.organizationId, position, filter.types, BATCH);
        for (const row of rows) if (matches(filter, row)) subscriber.push(row);
        if (rows.length < BATCH) break;
        position = { xid: rows.at(-1)!.xid, id: rows.at(-1)!.id };
      }
    } catch (error) {
      subscriber.end();
      throw error;
    }
    subscriber.live();
    return subscriber;
  }

  private remove(subscriber: Subscriber): void {
    if (!this.subscribers.delete(subscriber)) return;
    const organization = subscriber.filter.organizationId;
    const left = (this.audience.get(organization) ?? 1) - 1;
    if (left > 0) this.audience.set(organization, left);
    else this.audience.delete(organization);
    // With no subscription left the stream stops reading; the next one starts it again from then.
    if (this.subscribers.size === 0) this.position = null;
  }

  /** Whether a subscription of this process may receive an event of this organization. */
  private wants(organizationId: number): boolean {
    return this.audience.has(null) || this.audience.has(organizationId);
  }

  /** A notification's payload: `<event id>:<organization id>`, then `:w` when webhook deliveries were made. */
  private onNotify(payload: string): void {
    const [id, organization, deliveries] = payload.split(":");
    if (deliveries === "w" || organization === "w") this.onDeliveries(); // "<id>:w" from before migration 0013
    if (this.subscribers.size === 0) return;
    const organizationId = Number(organization);
    if (Number.isSafeInteger(organizationId) && !this.wants(organizationId)) return;
    if (!this.recent.has(Number(id))) this.notified.set(Number(id), Date.now());
    this.scheduleRetry(GATHER_MS);
  }

  /** Reads what is new, once at a time; a wake-up during a read reads again after it. */
  private wake(): void {
    if (this.stopped || this.subscribers.size === 0) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readNew()
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, "reading new events failed; will retry");
        this.scheduleRetry(1_000);
      })
      .finally(() => {
        this.reading = null;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async readNew(): Promise<void> {
    if (this.audience.has(null)) await this.readEvery();
    else await this.readWanted();
    const forgotten = Date.now() - 60_000;
    for (const [id, at] of this.notified) if (at < forgotten) this.notified.delete(id);
    if (this.notified.size) this.scheduleRetry(RETRY_MS);
  }

  /** Every organization's new events (an admin subscribes). */
  private async readEvery(): Promise<void> {
    for (;;) {
      if (this.position == null) return;
      const rows = await readAll(this.database.db, this.position, BATCH);
      this.fanOut(rows);
      if (rows.length < BATCH) return;
    }
  }

  /**
   * The new events of the organizations subscribed to, up to the last final event (the horizon): the
   * stream then moves to the horizon, past every other organization's events without reading them.
   */
  private async readWanted(): Promise<void> {
    if (this.position == null) return;
    const horizon = await tail(this.database.db);
    for (;;) {
      if (this.position == null) return;
      const organizations = [...this.audience.keys()].filter((id): id is number => id != null);
      if (organizations.length === 0) return;
      const rows = await readFor(this.database.db, organizations, this.position, horizon, BATCH);
      this.fanOut(rows);
      if (rows.length === BATCH) continue;
      if (this.position != null && after(horizon, this.position)) this.position = horizon;
      return;
    }
  }

  private fanOut(rows: readonly EventRow[]): void {
    if (this.recent.size > 10_000) this.recent.clear();
    for (const row of rows) {
      this.notified.delete(row.id);
      this.recent.add(row.id);
      for (const subscriber of this.subscribers) subscriber.offer(row);
    }
    if (rows.length && this.position != null) this.position = { xid: rows.at(-1)!.xid, id: rows.at(-1)!.id };
  }

  private scheduleRetry(ms: number): void {
    if (this.retryTimer || this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.wake();
    }, ms);
    this.retryTimer.unref();
  }
}
