import { Kind, parse, type FieldNode, type FragmentDefinitionNode, type OperationDefinitionNode } from "graphql";
import { describe, expect, it } from "vitest";
import { fieldsAsked, type Asked } from "../src/graphql/selection.js";

/** The resolve info of the document's first root field, as far as fieldsAsked reads it. */
function infoOf(text: string) {
  const document = parse(text);
  const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION) as OperationDefinitionNode;
  const fragments = Object.fromEntries(
    document.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
      .map((d) => [d.name.value, d]),
  );
  return { fieldNodes: [operation.selectionSet.selections[0] as FieldNode], fragments };
}

/** The tree as plain objects, names sorted: { field: { below } }. */
const plain = (asked: Asked): Record<string, unknown> =>
  Object.fromEntries([...asked].sort(([a], [b]) => a.localeCompare(b)).map(([name, below]) => [name, plain(below)]));

describe("fieldsAsked", () => {
  it("merges aliases, repeats, inline fragments and fragment spreads into one tree of field names", () => {
    const info = infoOf(`{ offers { edges { node { id place: dataCenter { name } ... on Offer { dataCenter { hub } }
        ...Owner ...Owner } } } }
      fragment Owner on Offer { dataCenter { operator { ...Name } } }
      fragment Name on Organization { name }`);
    expect(plain(fieldsAsked(info, ["edges", "node"]))).toEqual({
      id: {},
      dataCenter: { name: {}, hub: {}, operator: { name: {} } },
    });
    expect(plain(fieldsAsked(info))).toEqual({
      edges: { node: { id: {}, dataCenter: { name: {}, hub: {}, operator: { name: {} } } } },
    });
  });

  it("is empty below a path not asked, and counts fields under @skip as asked", () => {
    const info = infoOf(`query($no: Boolean!) { offers { totalCount edges { cursor node { id @skip(if: $no) } } } }`);
    expect(plain(fieldsAsked(info, ["pageInfo"]))).toEqual({});
    expect(plain(fieldsAsked(info, ["edges", "node"]))).toEqual({ id: {} });
  });

  it("gives the same answer again for the same document, as a compiled query asks it", () => {
    const info = infoOf(`{ offers { edges { node { id } } } }`);
    expect(fieldsAsked(info)).toBe(fieldsAsked({ ...info }));
  });
});
