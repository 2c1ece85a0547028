// Status machines: which status a row may move to from which, and on what. Each machine is one
// table of moves declared next to its domain (checkout/order-states.ts, bids/bid-states.ts,
// bids/reservation-states.ts). The code that moves a row asks its machine, the conditional updates
// that guard a move under concurrency take their "from" statuses from it, and
// test/state-machines.test.ts walks every pair of statuses of each machine.
import { sql, type Column, type SQL } from "drizzle-orm";

export interface Move<S extends string, E extends string> {
  from: S;
  to: S;
  /** What makes the move: a mutation, or what the payment provider or the clock tells. */
  on: E;
}

export interface StateMachine<S extends string, E extends string> {
  name: string;
  /** Every status, in the order of the database's enum. */
  states: readonly S[];
  /** The statuses a row is created in. */
  initial: readonly S[];
  moves: readonly Move<S, E>[];
}

/** Whether some move takes a row from `from` to `to`. */
export function canMove<S extends string, E extends string>(
  machine: StateMachine<S, E>,
  from: S,
  to: NoInfer<S>,
): boolean {
  return machine.moves.some((move) => move.from === from && move.to === to);
}

/** The status `event` moves a row in `from` to, or null where the event does not apply. */
export function moveOn<S extends string, E extends string>(
  machine: StateMachine<S, E>,
  from: S,
  event: NoInfer<E>,
): S | null {
  return machine.moves.find((move) => move.from === from && move.on === event)?.to ?? null;
}

/** The statuses a move starts from: the moves on `on`, into `to`, or both (in the enum's order). */
export function fromStates<S extends string, E extends string>(
  machine: StateMachine<S, E>,
  which: { on?: NoInfer<E>; to?: NoInfer<S> },
): S[] {
  const starts = machine.moves
    .filter((move) => (which.on == null || move.on === which.on) && (which.to == null || move.to === which.to))
    .map((move) => move.from);
  return machine.states.filter((state) => starts.includes(state));
}

/**
 * SQL: `column` (a drizzle column, so a rename fails tsc) is one of `states`, written in as
 * literals: the predicate of a partial index (`where status = 'OPEN'`) matches a literal, not a parameter.
 */
export function statusIn(column: Column, states: readonly string[]): SQL {
  if (states.length === 0 || !states.every((state) => /^[A-Z_]+$/.test(state)))
    throw new Error(`not a list of statuses: ${states.join(", ")}`);
  const literals = states.map((state) => `'${state}'`);
  return literals.length === 1
    ? sql`${column} = ${sql.raw(literals[0])}`
    : sql`${column} in (${sql.raw(literals.join(", "))})`;
}
