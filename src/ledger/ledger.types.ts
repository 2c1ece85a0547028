import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { Money } from "../graphql/money.type.js";
import { connectionOf } from "../graphql/pagination.js";
import { globalId } from "../graphql/ids.js";
import { GlobalNode } from "../graphql/node.js";
import type { LedgerEntryRow } from "./ledger.service.js";

export enum LedgerEntryKind {
  RESERVE = "RESERVE",
  POST = "POST",
  VOID = "VOID",
  REFUND = "REFUND",
}
registerEnumType(LedgerEntryKind, {
  name: "LedgerEntryKind",
  description:
    "Which balances of a program's budget an entry moved: RESERVE available->pending, POST pending->spent, VOID pending->available, REFUND spent->available",
  valuesConfig: {
    RESERVE: { description: "Checkout: available -> pending, and off the voucher's remaining" },
    POST: { description: "Payment succeeded: pending -> spent; the claim is billed in the month of payment" },
    VOID: {
      description:
        "Payment failed, hold lapsed or order cancelled before payment: pending -> available, and back on the voucher",
    },
    REFUND: {
      description:
        "Paid order refunded: spent -> available, and back on the voucher; a negative claim on the next open statement",
    },
  },
});

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description: "One append-only move of a program's budget",
})
export class LedgerEntry {
  @Field(() => ID, { description: 'Opaque id, like "ledger_301"' })
  id!: string;

  @Field(() => LedgerEntryKind, { description: "Which balances it moved between" })
  kind!: LedgerEntryKind;

  @Field(() => Money, { description: "Always positive; the kind says which balances it moved between" })
  amount!: Money;

  /** The order's row key; its field resolver loads the order. */
  orderId!: number;

  @Field(() => ID, { description: 'Opaque id of the voucher that pays the subsidy, like "voucher_1"' })
  voucherId!: string;

  @Field({ description: "When the move was made (UTC)" })
  createdAt!: Date;
}

export function toLedgerEntry(row: LedgerEntryRow): LedgerEntry {
  return Object.assign(new LedgerEntry(), {
    id: globalId("LedgerEntry", row.id),
    kind: row.kind as LedgerEntryKind,
    amount: Money.of(row.amount),
    orderId: row.orderId,
    voucherId: globalId("Voucher", row.voucherId),
    createdAt: row.createdAt,
  });
}

export const LedgerEntryConnection = connectionOf("LedgerEntry", LedgerEntry);
