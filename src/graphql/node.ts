// The Relay Node interface: every object a client fetches by id implements it.
import { Field, ID, InterfaceType } from "type-graphql";

// Named GlobalNode here: TypeScript's DOM types declare a global `Node`, which a forgotten import
// would silently stand for.
@InterfaceType("Node", {
  description:
    "An object with a global id, unique across all types (like offer_123 or bid_45). Fetch any of them again with node(id:) or nodes(ids:).",
})
export abstract class GlobalNode {
  @Field(() => ID, { description: "Opaque global id, like offer_123; unique across types" })
  id!: string;
}
