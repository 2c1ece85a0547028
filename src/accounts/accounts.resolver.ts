import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { organizations } from "../db/schema.js";
import type { Context } from "../graphql/context.js";
import { globalId, parseId } from "../graphql/ids.js";
import { actorOf, recordAudit } from "../audit/audit.service.js";
import {
  ApiKey,
  ApplicantCategory,
  CreateOrganizationInput,
  Organization,
  toOrganization,
  Viewer,
} from "./accounts.types.js";
import * as accounts from "./accounts.service.js";

@Resolver()
export class AccountsResolver {
  @Authorized()
  @Query(() => Viewer, {
    description:
      "Who is calling: the role and organization of the API key. Role: any signed-in caller. Errors: UNAUTHENTICATED",
  })
  async me(@Ctx() ctx: Context): Promise<Viewer> {
    const viewer = ctx.viewer!;
    const org =
      viewer.organizationId == null ? null : await ctx.loaders.byId(organizations).load(viewer.organizationId);
    return Object.assign(new Viewer(), { role: viewer.role, organization: org ? toOrganization(org) : null });
  }

  @Authorized("ADMIN")
  @Mutation(() => Organization, {
    description:
      "Registers an organization; give it an API key with createApiKey. Role: ADMIN. Errors: UNAUTHENTICATED, FORBIDDEN, " +
      "BAD_USER_INPUT (name, city missing for CITY_FINANCE, creditCode malformed), CONFLICT (creditCode already registered), RATE_LIMITED",
  })
  async createOrganization(
    @Arg("input", { description: "The organization's name, kind, city and credit code" })
    input: CreateOrganizationInput,
    @Ctx() ctx: Context,
  ): Promise<Organization> {
    const row = await ctx.db.transaction(async (tx) => {
      const org = await accounts.createOrganization(tx, input);
      await recordAudit(tx, actorOf(ctx), {
        action: "CREATE_ORGANIZATION",
        targetId: org.id,
        detail: `${org.kind} ${org.name}`,
      });
      return org;
    });
    return toOrganization(row);
  }

  @Authorized("ADMIN")
  @Mutation(() => Organization, {
    description:
      "Declares the applicant category of an organization of kind SME (a research institute, a university, a startup, or an " +
      "SME again); programs pay only the categories they list, judged at each application and checkout. Role: ADMIN. Errors: " +
      "UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (malformed id, or an organization that is not of kind SME), NOT_FOUND, RATE_LIMITED",
  })
  async setOrganizationCategory(
    @Arg("organizationId", () => ID, { description: 'The organization\'s opaque id, like "org_3"' })
    organizationId: string,
    @Arg("category", () => ApplicantCategory, { description: "The category, like RESEARCH_INSTITUTE" })
    category: ApplicantCategory,
    @Ctx() ctx: Context,
  ): Promise<Organization> {
    const orgId = parseId("organizationId", organizationId, "Organization");
    const row = await ctx.db.transaction(async (tx) => {
      const { row: org, before } = await accounts.setOrganizationCategory(tx, orgId, category);
      await recordAudit(tx, actorOf(ctx), {
        action: "SET_ORGANIZATION_CATEGORY",
        targetId: org.id,
        detail: `${before} -> ${category}`,
      });
      return org;
    });
    return toOrganization(row);
  }

  @Authorized("ADMIN")
  @Mutation(() => ApiKey, {
    description:
      "Issues an API key for an organization; its callers get the role of the organization's kind. The token is in this answer " +
      "only: just its SHA-256 hash is kept. Role: ADMIN. Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (malformed id), " +
      "NOT_FOUND (no such organization), RATE_LIMITED",
  })
  async createApiKey(
    @Arg("organizationId", () => ID, { description: 'The organization\'s opaque id, like "org_3"' })
    organizationId: string,
    @Ctx() ctx: Context,
  ): Promise<ApiKey> {
    const orgId = parseId("organizationId", organizationId, "Organization");
    const key = await ctx.db.transaction(async (tx) => {
      const created = await accounts.createApiKey(tx, orgId);
      // The key's id only: the token never reaches the audit trail.
      await recordAudit(tx, actorOf(ctx), {
        action: "CREATE_API_KEY",
        targetId: created.id,
        detail: `API key for organization ${globalId("Organization", orgId)}`,
      });
      return created;
    });
    return Object.assign(new ApiKey(), { id: globalId("ApiKey", key.id), token: key.token });
  }

  @Authorized("ADMIN")
  @Mutation(() => Boolean, {
    description:
      "Declares two organizations affiliated (both ways), so a voucher of one may not pay a rental from the other's data centers " +
      "(NOT_ELIGIBLE, reason AFFILIATED_WITH_DATA_CENTER). Declaring it again changes nothing. Always true. Role: ADMIN. Errors: " +
      "UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (malformed id, or the same organization twice), NOT_FOUND (either organization), RATE_LIMITED",
  })
  async declareAffiliation(
    @Arg("organizationId", () => ID, { description: 'One organization\'s opaque id, like "org_3"' })
    organizationId: string,
    @Arg("affiliatedId", () => ID, { description: 'The other organization\'s opaque id, like "org_8"' })
    affiliatedId: string,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    const orgId = parseId("organizationId", organizationId, "Organization");
    const otherId = parseId("affiliatedId", affiliatedId, "Organization");
    await ctx.db.transaction(async (tx) => {
      await accounts.declareAffiliation(tx, orgId, otherId);
      await recordAudit(tx, actorOf(ctx), {
        action: "DECLARE_AFFILIATION",
        targetId: orgId,
        detail: `affiliated with organization ${globalId("Organization", otherId)}`,
      });
    });
    return true;
  }
}
