// Global ids: every object's id names its type, `offer_123`, `bid_45`, so ids are unique across
// types (a client cache keyed by id never merges a bid with an order) and read plainly in logs and
// support tickets. Clients treat them as opaque strings; the number is the row's key.
import { badInput } from "../errors.js";

/** The prefix of each type's ids. */
export const ID_PREFIX = {
  ApiKey: "key",
  AuditEntry: "audit",
  BudgetStatus: "budget",
  Bid: "bid",
  CityStatement: "statement",
  DataCenter: "dc",
  Event: "event",
  GpuModel: "gpu",
  LedgerEntry: "ledger",
  Offer: "offer",
  Order: "order",
  Organization: "org",
  Reservation: "reservation",
  SubsidyProgram: "program",
  Voucher: "voucher",
  VoucherApplication: "application",
  WebhookDelivery: "delivery",
  WebhookEndpoint: "webhook",
} as const;

export type IdType = keyof typeof ID_PREFIX;

const TYPE_OF_PREFIX = new Map(Object.entries(ID_PREFIX).map(([type, prefix]) => [prefix, type as IdType]));
const GLOBAL_ID = /^([a-z]+)_([1-9]\d{0,15})$/;

/** The id a client sees for row `key` of `type`. */
export function globalId(type: IdType, key: number | bigint | string): string {
  return `${ID_PREFIX[type]}_${key}`;
}

/** The type and row key an id names; null when it names none. */
export function decodeId(value: string): { type: IdType; key: number } | null {
  const match = GLOBAL_ID.exec(value);
  const type = match ? TYPE_OF_PREFIX.get(match[1] as (typeof ID_PREFIX)[IdType]) : undefined;
  const key = match ? Number(match[2]) : NaN;
  return type && Number.isSafeInteger(key) ? { type, key } : null;
}

/** The row key of an id that must name a `type`; anything else is BAD_USER_INPUT naming the field. */
export function parseId(field: string, value: string, type: IdType): number {
  const decoded = decodeId(value);
  if (decoded?.type !== type) {
    throw badInput(field, `${field} is not an id of type ${type}, like ${ID_PREFIX[type]}_123`);
  }
  return decoded.key;
}

/** Like parseId for an optional argument: null stays null. */
export function parseOptionalId(field: string, value: string | null | undefined, type: IdType): number | null {
  return value == null ? null : parseId(field, value, type);
}

/** A monthly statement is a program's month: `statement_12_2026-11`. */
export function statementId(programId: number, month: string): string {
  return `${ID_PREFIX.CityStatement}_${programId}_${month}`;
}

export function decodeStatementId(value: string): { programId: number; month: string } | null {
  const match = /^statement_([1-9]\d{0,15})_(\d{4}-\d{2})$/.exec(value);
  return match && Number.isSafeInteger(Number(match[1])) ? { programId: Number(match[1]), month: match[2] } : null;
}
