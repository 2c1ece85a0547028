// Which fields a request asks for below a resolver's field, so that its statement reads only the
// columns they show. A compiled query hands every call the same nodes of its document, so the
// answer is worked out once per place in a document and kept with that node.
import { Kind, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode } from "graphql";

/** The fields asked, by name (aliases and repeats merged), each with the fields asked below it. */
export type Asked = ReadonlyMap<string, Asked>;

const NOTHING: Asked = new Map();

/** Each resolver field's tree, by the first node of the field in its document. */
const asked = new WeakMap<FieldNode, Asked>();

/**
 * The fields asked below the resolver's field, then below `path` (like ["edges", "node"]); empty
 * when that path is not asked. Fragments count whatever their type condition and directives: a
 * field that @skip leaves out only means a column read in vain.
 */
export function fieldsAsked(
  info: { fieldNodes: readonly FieldNode[]; fragments: Record<string, FragmentDefinitionNode> },
  path: readonly string[] = [],
): Asked {
  const first = info.fieldNodes[0];
  let tree = asked.get(first);
  if (!tree) {
    tree = treeOf(
      info.fieldNodes.map((node) => node.selectionSet),
      info.fragments,
    );
    asked.set(first, tree);
  }
  for (const name of path) tree = tree.get(name) ?? NOTHING;
  return tree;
}

/** The fields of these selection sets (one field's, merged), each with the tree of what is asked below it. */
function treeOf(
  sets: readonly (SelectionSetNode | undefined)[],
  fragments: Record<string, FragmentDefinitionNode>,
): Asked {
  const below = new Map<string, (SelectionSetNode | undefined)[]>();
  const spread = new Set<string>();
  const collect = (set: SelectionSetNode | undefined): void => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        below.set(name, [...(below.get(name) ?? []), selection.selectionSet]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collect(selection.selectionSet);
      } else if (!spread.has(selection.name.value)) {
        // Validation forbids cycles; this only keeps a fragment spread twice from being walked twice.
        spread.add(selection.name.value);
        collect(fragments[selection.name.value]?.selectionSet);
      }
    }
  };
  sets.forEach(collect);
  const tree = new Map<string, Asked>();
  for (const [name, sets] of below) tree.set(name, sets.some(Boolean) ? treeOf(sets, fragments) : NOTHING);
  return tree;
}
