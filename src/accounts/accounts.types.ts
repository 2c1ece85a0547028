import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { globalId } from "../graphql/ids.js";
import { GlobalNode } from "../graphql/node.js";
import type { OrganizationRow } from "./accounts.service.js";

export enum OrgKind {
  SME = "SME",
  DATA_CENTER_OPERATOR = "DATA_CENTER_OPERATOR",
  CITY_FINANCE = "CITY_FINANCE",
}
registerEnumType(OrgKind, {
  name: "OrgKind",
  description: "What an organization is; it decides the role of its API keys",
  valuesConfig: {
    SME: { description: "A small or medium enterprise renting GPUs; its keys act as the SME role" },
    DATA_CENTER_OPERATOR: {
      description: "Operates data centers and publishes their offers; its keys act as the DATA_CENTER role",
    },
    CITY_FINANCE: {
      description: "A city's finance team running subsidy programs; its keys act as the CITY_FINANCE role",
    },
  },
});

export enum ApplicantCategory {
  SME = "SME",
  RESEARCH_INSTITUTE = "RESEARCH_INSTITUTE",
  UNIVERSITY = "UNIVERSITY",
  STARTUP = "STARTUP",
}
registerEnumType(ApplicantCategory, {
  name: "ApplicantCategory",
  description:
    "What kind of applicant an organization of kind SME is, declared by the admin; a program pays only the categories it lists",
  valuesConfig: {
    SME: { description: "A small or medium enterprise (the default)" },
    RESEARCH_INSTITUTE: { description: "A research institute, like those Chengdu's research program pays for" },
    UNIVERSITY: { description: "A university or its laboratory" },
    STARTUP: { description: "A young company registered as a startup" },
  },
});

export enum ViewerRole {
  ADMIN = "ADMIN",
  SME = "SME",
  DATA_CENTER = "DATA_CENTER",
  CITY_FINANCE = "CITY_FINANCE",
}
registerEnumType(ViewerRole, {
  name: "Role",
  description: "What a caller may do, given by its API key",
  valuesConfig: {
    ADMIN: { description: "The platform admin (the ADMIN_TOKEN); belongs to no organization" },
    SME: { description: "An API key of an SME organization: searches, bids, vouchers, checkout" },
    DATA_CENTER: { description: "An API key of a data center operator: its offers and their reservations" },
    CITY_FINANCE: {
      description: "An API key of a city's finance team: its city's programs, applications, reports and statements",
    },
  },
});

@ObjectType({
  implements: GlobalNode,
  simpleResolvers: true,
  description:
    "A company or public body using the marketplace: an SME, a data center operator or a city's finance team",
})
export class Organization {
  @Field(() => ID, { description: 'Opaque id, like "org_3"' })
  id!: string;

  @Field({ description: 'The registered name, like "Zhiyuan Speech Ltd"' })
  name!: string;

  @Field(() => OrgKind, { description: "What the organization is; also the role of its API keys" })
  kind!: OrgKind;

  @Field(() => String, {
    nullable: true,
    description: 'The city of a finance team, like "Shanghai" (and of an SME, when known); null when not given',
  })
  city!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'The 18-character unified social credit code (统一社会信用代码), like "91310000MA1FL8XQ30"; null when not given',
  })
  creditCode!: string | null;

  @Field(() => ApplicantCategory, {
    nullable: true,
    description:
      "The applicant category of an organization of kind SME (SME unless the admin declared another); null for the other kinds",
  })
  category!: ApplicantCategory | null;
}

export function toOrganization(row: Omit<OrganizationRow, "createdAt">): Organization {
  return Object.assign(new Organization(), row, {
    id: globalId("Organization", row.id),
    category: row.kind === "SME" ? (row.category as ApplicantCategory) : null,
  });
}

@ObjectType({ simpleResolvers: true, description: "The caller, as its API key identifies it" })
export class Viewer {
  @Field(() => ViewerRole, {
    description: "What the caller may do; each operation's description names the roles it allows",
  })
  role!: ViewerRole;

  @Field(() => Organization, {
    nullable: true,
    description: "The organization the API key belongs to; null for the platform admin",
  })
  organization!: Organization | null;
}

@ObjectType({ simpleResolvers: true, description: "An API key; the token is shown only in the answer that creates it" })
export class ApiKey {
  @Field(() => ID, { description: 'Opaque id of the key, like "key_9"; the audit log names keys by it' })
  id!: string;

  @Field({
    description: 'The bearer token, like "gvm_4kY…" (Authorization: Bearer <token>); shown only here, never again',
  })
  token!: string;
}

@InputType({ description: "The input of createOrganization: a new organization" })
export class CreateOrganizationInput {
  @Field({ description: 'The registered name, 1 to 200 characters, like "Zhiyuan Speech Ltd"' })
  name!: string;

  @Field(() => OrgKind, { description: "What the organization is; its API keys get the matching role" })
  kind!: OrgKind;

  @Field(() => String, {
    nullable: true,
    description:
      'The city, up to 100 characters, like "Beijing"; required for CITY_FINANCE, whose programs are of this city',
  })
  city?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'An 18-character unified social credit code, like "91110108MA01C2XK3P" (stored upper-cased); a malformed one is BAD_USER_INPUT, one already registered CONFLICT',
  })
  creditCode?: string | null;

  @Field(() => ApplicantCategory, {
    nullable: true,
    description:
      "The applicant category of an organization of kind SME, SME when omitted; given for another kind it is BAD_USER_INPUT",
  })
  category?: ApplicantCategory | null;
}
