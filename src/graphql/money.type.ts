import { Field, ObjectType } from "type-graphql";
import { formatYuan } from "../money.js";

@ObjectType({
  simpleResolvers: true,
  description:
    "An amount of money in Chinese yuan (CNY), like " +
    '{ amount: "1234.50", fen: "123450", currency: "CNY" }. `fen` is exact: compute with it (as a BigInt or a ' +
    "decimal type, never a float); `amount` is for display. Money in inputs is a String in yuan with at most " +
    'two decimals, like "12.50" or "9.8"; anything else is BAD_USER_INPUT.',
})
export class Money {
  @Field({
    description:
      'Yuan as a decimal string with exactly two decimals, like "1234.50"; a minus sign for a negative amount ' +
      "(only net figures, such as a statement line after refunds, can be negative)",
  })
  amount!: string;

  @Field({ description: 'The same amount in integer fen (1 CNY = 100 fen) as a string, exact, like "123450"' })
  fen!: string;

  @Field({ description: 'ISO 4217 currency code; always "CNY"' })
  currency!: string;

  static of(fen: bigint): Money {
    return { amount: formatYuan(fen), fen: fen.toString(), currency: "CNY" };
  }
}

export const moneyOrNull = (fen: bigint | null | undefined): Money | null => (fen == null ? null : Money.of(fen));
