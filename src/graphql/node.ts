// The Relay Node interface: every object a client fetches by id implements it.
import { Field, ID, InterfaceType } from "type-graphql";

@InterfaceType({
  description:
    "An object with a global id, unique across all types (like offer_123 or bid_45). Fetch any of them again with node(id:) or nodes(ids:).",
})
export abstract class Node {
  @Field(() => ID, { description: "Opaque global id, like offer_123; unique across types" })
  id!: string;
}
