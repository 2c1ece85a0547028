import { badInput } from "./errors.js";

/** IDs are decimal strings of positive 53-bit integers. */
export function parseId(field: string, value: string): number {
  if (!/^[1-9]\d{0,15}$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw badInput(field, `${field} is not a valid id`);
  }
  return Number(value);
}

/** Like parseId, but an id that cannot exist is simply not found (for lookups by id). */
export function idOrNull(value: string): number | null {
  return /^[1-9]\d{0,15}$/.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : null;
}
