import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { Node } from "../graphql/node.js";

export enum OrgKind {
  SME = "SME",
  DATA_CENTER_OPERATOR = "DATA_CENTER_OPERATOR",
  CITY_FINANCE = "CITY_FINANCE",
}
registerEnumType(OrgKind, { name: "OrgKind" });

export enum ViewerRole {
  ADMIN = "ADMIN",
  SME = "SME",
  DATA_CENTER = "DATA_CENTER",
  CITY_FINANCE = "CITY_FINANCE",
}
registerEnumType(ViewerRole, { name: "Role" });

@ObjectType({ implements: Node, simpleResolvers: true })
export class Organization {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => OrgKind)
  kind!: OrgKind;

  @Field(() => String, { nullable: true, description: "The city of a finance team (and of an SME, when known)" })
  city!: string | null;

  @Field(() => String, { nullable: true, description: "Unified social credit code" })
  creditCode!: string | null;
}

@ObjectType({ simpleResolvers: true })
export class Viewer {
  @Field(() => ViewerRole)
  role!: ViewerRole;

  @Field(() => Organization, { nullable: true, description: "null for the platform admin" })
  organization!: Organization | null;
}

@ObjectType({ simpleResolvers: true, description: "An API key; the token is shown only in the answer that creates it" })
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field()
  token!: string;
}

@InputType()
export class CreateOrganizationInput {
  @Field()
  name!: string;

  @Field(() => OrgKind)
  kind!: OrgKind;

  @Field(() => String, { nullable: true })
  city?: string | null;

  @Field(() => String, { nullable: true })
  creditCode?: string | null;
}
