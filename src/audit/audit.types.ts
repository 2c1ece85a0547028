import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { Organization } from "../accounts/accounts.types.js";
import { connectionOf } from "../graphql/pagination.js";
import type { auditLog } from "../db/schema.js";
import { globalId, type IdType } from "../graphql/ids.js";
import { GlobalNode } from "../graphql/node.js";

/** What was done: one value per audited mutation, and the payments the server refused to settle an order with. */
export enum AuditAction {
  CREATE_ORGANIZATION = "CREATE_ORGANIZATION",
  CREATE_API_KEY = "CREATE_API_KEY",
  SET_ORGANIZATION_CATEGORY = "SET_ORGANIZATION_CATEGORY",
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
  DECLARE_OFFER_HARDWARE = "DECLARE_OFFER_HARDWARE",
  REPORT_DELIVERY = "REPORT_DELIVERY",
  DISPUTE_DELIVERY = "DISPUTE_DELIVERY",
  CORRECT_DELIVERY = "CORRECT_DELIVERY",
  CREATE_WEBHOOK_ENDPOINT = "CREATE_WEBHOOK_ENDPOINT",
  DISABLE_WEBHOOK_ENDPOINT = "DISABLE_WEBHOOK_ENDPOINT",
  ENABLE_WEBHOOK_ENDPOINT = "ENABLE_WEBHOOK_ENDPOINT",
  ROTATE_WEBHOOK_SECRET = "ROTATE_WEBHOOK_SECRET",
  REDELIVER_EVENT = "REDELIVER_EVENT",
  /** A payment reported for an order (by a webhook or the reconciler) that is not the order's own, or not for its amount in CNY: the order was left as it was. */
  PAYMENT_MISMATCH = "PAYMENT_MISMATCH",
}
registerEnumType(AuditAction, {
  name: "AuditAction",
  description: "What an audited action did: one value per audited mutation, named after it",
  valuesConfig: {
    CREATE_ORGANIZATION: { description: "createOrganization (admin); targetId: the organization" },
    CREATE_API_KEY: { description: "createApiKey (admin); targetId: the key, never its token" },
    SET_ORGANIZATION_CATEGORY: {
      description: "setOrganizationCategory (admin); targetId: the organization, detail: the old and new category",
    },
    DECLARE_AFFILIATION: { description: "declareAffiliation (admin); targetId: the first organization" },
    CREATE_DATA_CENTER: { description: "createDataCenter (admin); targetId: the data center" },
    PUBLISH_OFFER: { description: "publishOffer (data center); targetId: the offer" },
    UPDATE_OFFER: { description: "updateOffer (data center); targetId: the offer" },
    WITHDRAW_OFFER: { description: "withdrawOffer (data center); targetId: the offer" },
    PLACE_BID: { description: "placeBid (SME); targetId: the bid" },
    CANCEL_BID: { description: "cancelBid (SME); targetId: the bid" },
    CREATE_SUBSIDY_PROGRAM: { description: "createSubsidyProgram (city finance); targetId: the program" },
    SET_SUBSIDY_PROGRAM_STATUS: { description: "setSubsidyProgramStatus (city finance); targetId: the program" },
    DECIDE_VOUCHER_APPLICATION: { description: "decideVoucherApplication (city finance); targetId: the application" },
    CHECKOUT: { description: "checkout (SME); targetId: the order" },
    CANCEL_ORDER: { description: "cancelOrder (SME); targetId: the order" },
    SETTLE_CITY_STATEMENT: { description: "settleCityStatement (city finance); targetId: the program" },
    DECLARE_OFFER_HARDWARE: {
      description:
        "An operator's declaration of an offer's hardware (serial numbers or attestation reference, GPUs covered), with " +
        "publishOffer, publishOffers or declareOfferHardware (data center); targetId: the offer",
    },
    REPORT_DELIVERY: { description: "reportDelivery (data center); targetId: the reservation" },
    DISPUTE_DELIVERY: { description: "disputeDelivery (SME); targetId: the reservation" },
    CORRECT_DELIVERY: { description: "correctDelivery (admin), with the credit it made; targetId: the reservation" },
    CREATE_WEBHOOK_ENDPOINT: { description: "createWebhookEndpoint; targetId: the endpoint, never its secret" },
    DISABLE_WEBHOOK_ENDPOINT: { description: "disableWebhookEndpoint; targetId: the endpoint" },
    ENABLE_WEBHOOK_ENDPOINT: { description: "enableWebhookEndpoint; targetId: the endpoint" },
    ROTATE_WEBHOOK_SECRET: { description: "rotateWebhookSecret; targetId: the endpoint, never its secret" },
    REDELIVER_EVENT: { description: "redeliverEvent; targetId: the event" },
    PAYMENT_MISMATCH: {
      description:
        "A payment the provider reported that is not the order's own, or not for its amount in CNY (role SYSTEM); targetId: the order, left as it was",
    },
  },
});

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description: "One action, appended in the same transaction as the action itself",
})
export class AuditEntry {
  @Field(() => ID, { description: 'Opaque id, like "audit_88"' })
  id!: string;

  @Field(() => AuditAction, { description: "What was done" })
  action!: AuditAction;

  @Field({
    description:
      "The role that acted: ADMIN, SME, DATA_CENTER or CITY_FINANCE; SYSTEM for what the server found on its own (PAYMENT_MISMATCH)",
  })
  role!: string;

  @Field(() => Organization, {
    nullable: true,
    description: "The organization that acted; null for the platform admin",
  })
  organization!: Organization | null;

  @Field(() => ID, {
    nullable: true,
    description: 'Opaque id of the API key used, like "key_9"; null for the platform admin',
  })
  apiKeyId!: string | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "Opaque id of the object acted on (offer, bid, program, application, order, organization, ...; the action says which); null when none",
  })
  targetId!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'A short readable account of the change, like "ACTIVE H800 x32 at 18.50/GPU-h until 2027-01-11T00:00:00.000Z"; never a secret',
  })
  detail!: string | null;

  @Field(() => ID, {
    nullable: true,
    description: 'Opaque id of the subsidy program acted on, like "program_1"; null when the action concerns none',
  })
  programId!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The city of that program; a finance team reads the entries of its own city",
  })
  city!: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The X-Request-Id of the request that acted, to find it in the server's logs",
  })
  requestId!: string | null;

  @Field({ description: "When it was done (UTC), in the same transaction as the action" })
  createdAt!: Date;

  organizationId!: number | null;
}

/** The type of the object each action acts on, which its target's id names. */
const TARGET_TYPE: Record<AuditAction, IdType> = {
  CREATE_ORGANIZATION: "Organization",
  SET_ORGANIZATION_CATEGORY: "Organization",
  CREATE_API_KEY: "ApiKey",
  DECLARE_AFFILIATION: "Organization",
  CREATE_DATA_CENTER: "DataCenter",
  PUBLISH_OFFER: "Offer",
  UPDATE_OFFER: "Offer",
  WITHDRAW_OFFER: "Offer",
  PLACE_BID: "Bid",
  CANCEL_BID: "Bid",
  CREATE_SUBSIDY_PROGRAM: "SubsidyProgram",
  SET_SUBSIDY_PROGRAM_STATUS: "SubsidyProgram",
  DECIDE_VOUCHER_APPLICATION: "VoucherApplication",
  CHECKOUT: "Order",
  CANCEL_ORDER: "Order",
  SETTLE_CITY_STATEMENT: "SubsidyProgram",
  DECLARE_OFFER_HARDWARE: "Offer",
  REPORT_DELIVERY: "Reservation",
  DISPUTE_DELIVERY: "Reservation",
  CORRECT_DELIVERY: "Reservation",
  CREATE_WEBHOOK_ENDPOINT: "WebhookEndpoint",
  DISABLE_WEBHOOK_ENDPOINT: "WebhookEndpoint",
  ENABLE_WEBHOOK_ENDPOINT: "WebhookEndpoint",
  ROTATE_WEBHOOK_SECRET: "WebhookEndpoint",
  REDELIVER_EVENT: "Event",
  PAYMENT_MISMATCH: "Order",
};

export function toAuditEntry(row: typeof auditLog.$inferSelect): AuditEntry {
  const action = row.action as AuditAction;
  return Object.assign(new AuditEntry(), {
    id: globalId("AuditEntry", row.id),
    action,
    role: row.role,
    organization: null,
    organizationId: row.organizationId,
    apiKeyId: row.apiKeyId == null ? null : globalId("ApiKey", row.apiKeyId),
    targetId: row.targetId == null ? null : globalId(TARGET_TYPE[action], row.targetId),
    detail: row.detail,
    programId: row.programId == null ? null : globalId("SubsidyProgram", row.programId),
    city: row.city,
    requestId: row.requestId,
    createdAt: row.createdAt,
  });
}

export const AuditEntryConnection = connectionOf("AuditEntry", AuditEntry);
