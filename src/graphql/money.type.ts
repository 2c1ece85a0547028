import { Field, ObjectType } from "type-graphql";
import { formatYuan } from "../money.js";

@ObjectType({ simpleResolvers: true, description: "An amount of money; fen is exact, amount is yuan with two decimals" })
export class Money {
  @Field({ description: 'Yuan with two decimals, like "1234.50"' })
  amount!: string;

  @Field({ description: 'Integer fen (1 CNY = 100 fen), like "123450"' })
  fen!: string;

  @Field()
  currency!: string;

  static of(fen: bigint): Money {
    return { amount: formatYuan(fen), fen: fen.toString(), currency: "CNY" };
  }
}

export const moneyOrNull = (fen: bigint | null | undefined): Money | null => (fen == null ? null : Money.of(fen));
