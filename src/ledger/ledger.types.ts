import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { connectionOf } from "../graphql/pagination.js";
import { Node } from "../graphql/node.js";

export enum LedgerEntryKind {
  RESERVE = "RESERVE",
  POST = "POST",
  VOID = "VOID",
  REFUND = "REFUND",
}
registerEnumType(LedgerEntryKind, {
  name: "LedgerEntryKind",
  description: "RESERVE available->pending, POST pending->spent, VOID pending->available, REFUND spent->available",
});

@ObjectType({ implements: Node, simpleResolvers: true, description: "One append-only move of a program's budget" })
export class LedgerEntry {
  @Field(() => ID)
  id!: string;

  @Field(() => LedgerEntryKind)
  kind!: LedgerEntryKind;

  @Field(() => Money, { description: "Always positive; the kind says which balances it moved between" })
  amount!: Money;

  /** The order's row key; its field resolver loads the order. */
  orderId!: number;

  @Field(() => ID)
  voucherId!: string;

  @Field()
  createdAt!: Date;
}

export const LedgerEntryConnection = connectionOf("LedgerEntry", LedgerEntry);
