// Relay connections with opaque keyset cursors.
import { ClassType, Field, Int, ObjectType } from "type-graphql";
import { badInput } from "../errors.js";

@ObjectType({ simpleResolvers: true, description: "Where a page of a connection stands in its list" })
export class PageInfo {
  @Field({ description: "Whether more edges follow this page: ask again with after = endCursor" })
  hasNextPage!: boolean;

  @Field({
    description:
      "Whether edges come before this page: true when it was asked for after a cursor. Lists are read forward only (first/after); to start over, ask without after",
  })
  hasPreviousPage!: boolean;

  @Field(() => String, { nullable: true, description: "The cursor of the page's first edge; null for an empty page" })
  startCursor!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The cursor of the page's last edge, to pass as after; null for an empty page",
  })
  endCursor!: string | null;
}

export interface Page<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
  totalCount: number;
}

/** Declares `<Name>Edge` and `<Name>Connection` for a node type. */
export function connectionOf<T extends object>(name: string, node: ClassType<T>) {
  @ObjectType(`${name}Edge`, {
    simpleResolvers: true,
    description: `An edge of a ${name}Connection: one ${name} and its cursor`,
  })
  class Edge {
    @Field({ description: "Opaque cursor of this edge: pass it as after to continue right after it" })
    cursor!: string;

    @Field(() => node, { description: `The ${name} itself` })
    node!: T;
  }

  @ObjectType(`${name}Connection`, {
    simpleResolvers: true,
    description: `A page of ${name} items (a Relay connection): ask for first (at most 100) and pass pageInfo.endCursor as after for the next page`,
  })
  class Connection {
    @Field(() => [Edge], { description: "The items of this page, in the list's order" })
    edges!: Edge[];

    @Field(() => PageInfo, { description: "Whether more follow, and the cursor to ask for them" })
    pageInfo!: PageInfo;

    @Field(() => Int, { description: "How many items the whole list has, over all pages" })
    totalCount!: number;
  }
  return Connection;
}

export const MAX_PAGE = 100;
export const DEFAULT_PAGE = 20;

/** The `first` argument of every connection field. */
export const FIRST_DESCRIPTION = `How many edges to return, 0 to ${MAX_PAGE} (default ${DEFAULT_PAGE}); anything else is BAD_USER_INPUT`;
/** The `after` argument of every connection field. */
export const AFTER_DESCRIPTION =
  "Returns the edges after this cursor: the endCursor or an edge's cursor of this same list, asked with the same " +
  "arguments; omit it for the first page. Cursors stay valid while the list changes; one that cannot be read is BAD_USER_INPUT";

export function pageSize(first: number | null | undefined): number {
  if (first == null) return DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 0 || first > MAX_PAGE) {
    throw badInput("first", `first must be between 0 and ${MAX_PAGE}`);
  }
  return first;
}

export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString("base64url");
}

/** A cursor key: an integer id ("number"), or a bigint such as a price in fen, as its decimal digits ("digits"). */
export type CursorKey = "number" | "digits";

const fitsKey = (value: unknown, key: CursorKey) =>
  key === "number" ? Number.isSafeInteger(value) : typeof value === "string" && /^\d{1,18}$/.test(value);

/** The key values of a cursor; each must be what the connection expects (a forged one never reaches SQL). */
export function decodeCursor(
  cursor: string | null | undefined,
  shape: readonly CursorKey[],
): (string | number)[] | null {
  if (cursor == null) return null;
  try {
    const values = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(values) && values.length === shape.length && values.every((v, i) => fitsKey(v, shape[i]))) {
      return values;
    }
  } catch {
    // fall through to the error below
  }
  throw badInput("after", "after is not a cursor of this list");
}

/**
 * Builds a page from rows fetched with `limit + 1` (the extra row tells whether more follow). A page
 * asked for after a cursor has items before it: the one the cursor names, at least.
 */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  totalCount: number,
  cursorOf: (row: R) => string,
  nodeOf: (row: R) => T,
  afterCursor: boolean,
): Page<T> {
  const hasNextPage = rows.length > limit;
  const shown = rows.slice(0, limit);
  const edges = shown.map((row) => ({ cursor: cursorOf(row), node: nodeOf(row) }));
  return {
    edges,
    pageInfo: Object.assign(new PageInfo(), {
      hasNextPage,
      hasPreviousPage: afterCursor,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    }),
    totalCount,
  };
}
