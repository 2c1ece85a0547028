import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { Organization } from "../accounts/accounts.types.js";
import { connectionOf } from "../graphql/pagination.js";
import { Node } from "../graphql/node.js";

/** What was done; one value per audited mutation. */
export enum AuditAction {
  CREATE_ORGANIZATION = "CREATE_ORGANIZATION",
  CREATE_API_KEY = "CREATE_API_KEY",
  DECLARE_AFFILIATION = "DECLARE_AFFILIATION",
  CREATE_DATA_CENTER = "CREATE_DATA_CENTER",
  PUBLISH_OFFER = "PUBLISH_OFFER",
  UPDATE_OFFER = "UPDATE_OFFER",
  WITHDRAW_OFFER = "WITHDRAW_OFFER",
  PLACE_BID = "PLACE_BID",
  CANCEL_BID = "CANCEL_BID",
  CREATE_SUBSIDY_PROGRAM = "CREATE_SUBSIDY_PROGRAM",
  SET_SUBSIDY_PROGRAM_STATUS = "SET_SUBSIDY_PROGRAM_STATUS",
  DECIDE_VOUCHER_APPLICATION = "DECIDE_VOUCHER_APPLICATION",
  CHECKOUT = "CHECKOUT",
  CANCEL_ORDER = "CANCEL_ORDER",
  SETTLE_CITY_STATEMENT = "SETTLE_CITY_STATEMENT",
}
registerEnumType(AuditAction, { name: "AuditAction" });

@ObjectType({ implements: Node, simpleResolvers: true, description: "One action, appended in the same transaction as the action itself" })
export class AuditEntry {
  @Field(() => ID)
  id!: string;

  @Field(() => AuditAction)
  action!: AuditAction;

  @Field({ description: "The role that acted: ADMIN, SME, DATA_CENTER or CITY_FINANCE" })
  role!: string;

  @Field(() => Organization, { nullable: true, description: "null for the platform admin" })
  organization!: Organization | null;

  @Field(() => ID, { nullable: true, description: "The API key used; null for the platform admin" })
  apiKeyId!: string | null;

  @Field(() => ID, { nullable: true, description: "The object acted on (offer, bid, program, application, order, organization, ...)" })
  targetId!: string | null;

  @Field(() => String, { nullable: true, description: "A short description; never a secret" })
  detail!: string | null;

  @Field(() => ID, { nullable: true, description: "The subsidy program acted on, when there is one" })
  programId!: string | null;

  @Field(() => String, { nullable: true, description: "That program's city" })
  city!: string | null;

  @Field(() => String, { nullable: true, description: "The x-request-id of the request that acted" })
  requestId!: string | null;

  @Field()
  createdAt!: Date;

  organizationId!: number | null;
}

export const AuditEntryConnection = connectionOf("AuditEntry", AuditEntry);
