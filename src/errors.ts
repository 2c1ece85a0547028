// The refusals of the domain: what a service throws when it will not do what was asked, in the
// domain's own terms. They know nothing of GraphQL or HTTP: the GraphQL layer gives each class its
// code and extensions, in one place (formatError in graphql/errors.ts; the codes are in
// docs/api.md). Anything else a service throws is a bug or an outage. Messages are shown to
// clients as they are, so they never repeat input values.

/** A refusal the client can act on. */
export abstract class DomainError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Nothing the caller may see has this id: unknown, or another organization's (the two look the same). */
export class NotFound extends DomainError {
  constructor(readonly what: string) {
    super(`${what} not found`);
  }
}

/** The caller may not do this, whatever the input (a finance team naming another city). */
export class Forbidden extends DomainError {}

/** One bad field of a bulk input: its path, like `inputs[3].pricePerGpuHour`, and what is wrong. */
export interface InputProblem {
  field: string;
  message: string;
}

/**
 * Malformed or out-of-range input; `field` names it, like "latestEnd" or "filter.hub". A bulk
 * input refused as a whole lists every bad item in `problems` (`field` is the first of them).
 */
export class BadInput extends DomainError {
  constructor(
    readonly field: string,
    message: string,
    readonly problems?: readonly InputProblem[],
  ) {
    super(message);
  }
}

/**
 * A clash with the state of things: the object's status does not allow the move, a guard of the
 * ledger refused (`reason`, like PROGRAM_BUDGET_EXHAUSTED), an idempotency key came back with
 * other input.
 */
export class Conflict extends DomainError {
  constructor(
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** The voucher may not pay for this rental, or the program takes no applications; `reason` says why. */
export class NotEligible extends DomainError {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The payment provider refused or could not be reached. `retryable`: the same request (same
 * idempotency key) may still succeed. `orderId`: the checkout's order, already committed.
 */
export class PaymentFailed extends DomainError {
  readonly retryable: boolean;
  readonly orderId: number | null;

  constructor(message: string, options: { retryable: boolean; orderId?: number }) {
    super(message);
    this.retryable = options.retryable;
    this.orderId = options.orderId ?? null;
  }
}

/**
 * A checkout's order is committed, but starting its payment failed (`cause`): the client is told
 * the order, and that the same request carries on with it.
 */
export class PaymentNotStarted extends DomainError {
  constructor(
    readonly orderId: number,
    cause: unknown,
  ) {
    super(
      "The order was created, but its payment could not be started; retry the checkout with the same idempotencyKey",
      { cause },
    );
  }
}

export const notFound = (what: string) => new NotFound(what);
export const forbidden = (message = "You are not allowed to do this") => new Forbidden(message);
export const badInput = (field: string, message: string) => new BadInput(field, message);
/** A bulk input with bad items (at least one): nothing of it is written. */
export const badInputs = (problems: readonly InputProblem[], what: string) =>
  new BadInput(
    problems[0].field,
    `${problems.length} of the ${what} ${problems.length === 1 ? "is" : "are"} not valid; nothing was written (extensions.problems lists each)`,
    problems,
  );
export const conflict = (message: string, reason?: string) => new Conflict(message, reason);
export const notEligible = (reason: string, message: string) => new NotEligible(reason, message);

/** The PostgreSQL error code (SQLSTATE) of an error or of one it wraps. */
export function pgCode(error: unknown): string | undefined {
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 4; depth++) {
    if (typeof current.code === "string" && /^[0-9A-Z]{5}$/.test(current.code)) return current.code;
    current = current.cause as typeof current;
  }
  return undefined;
}
