// Global ids in tests: the row key behind an id the API answered, for SQL checks.
export { globalId } from "../../src/graphql/ids.js";

/** The row key of a global id like "offer_12" (a number or digits pass through). */
export function keyOf(id: string | number): number {
  const key = Number(String(id).replace(/^[a-z]+_/, ""));
  if (!Number.isSafeInteger(key)) throw new Error(`not an id: ${id}`);
  return key;
}
