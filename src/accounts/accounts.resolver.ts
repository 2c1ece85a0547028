import { Arg, Authorized, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import { organizations } from "../db/schema.js";
import type { Context } from "../graphql/context.js";
import { globalId, parseId } from "../graphql/ids.js";
import { actorOf, recordAudit } from "../audit/audit.service.js";
import { ApiKey, CreateOrganizationInput, Organization, Viewer } from "./accounts.types.js";
import * as accounts from "./accounts.service.js";

export function toOrganization(row: Omit<accounts.OrganizationRow, "createdAt">): Organization {
  return Object.assign(new Organization(), row, { id: globalId("Organization", row.id) });
}

@Resolver()
export class AccountsResolver {
  @Authorized()
  @Query(() => Viewer, { description: "Who is calling" })
  async me(@Ctx() ctx: Context): Promise<Viewer> {
    const viewer = ctx.viewer!;
    const org = viewer.organizationId == null ? null : await ctx.loaders.byId(organizations).load(viewer.organizationId);
    return Object.assign(new Viewer(), { role: viewer.role, organization: org ? toOrganization(org) : null });
  }

  @Authorized("ADMIN")
  @Mutation(() => Organization)
  async createOrganization(@Arg("input") input: CreateOrganizationInput, @Ctx() ctx: Context): Promise<Organization> {
    const row = await ctx.db.transaction(async (tx) => {
      const org = await accounts.createOrganization(tx, input);
      await recordAudit(tx, actorOf(ctx), { action: "CREATE_ORGANIZATION", targetId: org.id, detail: `${org.kind} ${org.name}` });
      return org;
    });
    return toOrganization(row);
  }

  @Authorized("ADMIN")
  @Mutation(() => ApiKey, { description: "The token is shown once; only its hash is kept" })
  async createApiKey(@Arg("organizationId", () => ID) organizationId: string, @Ctx() ctx: Context): Promise<ApiKey> {
    const orgId = parseId("organizationId", organizationId, "Organization");
    const key = await ctx.db.transaction(async (tx) => {
      const created = await accounts.createApiKey(tx, orgId);
      // The key's id only: the token never reaches the audit trail.
      await recordAudit(tx, actorOf(ctx), { action: "CREATE_API_KEY", targetId: created.id, detail: `API key for organization ${globalId("Organization", orgId)}` });
      return created;
    });
    return Object.assign(new ApiKey(), { id: globalId("ApiKey", key.id), token: key.token });
  }

  @Authorized("ADMIN")
  @Mutation(() => Boolean, { description: "Affiliated organizations may not subsidize each other's rentals" })
  async declareAffiliation(
    @Arg("organizationId", () => ID) organizationId: string,
    @Arg("affiliatedId", () => ID) affiliatedId: string,
    @Ctx() ctx: Context,
  ): Promise<boolean> {
    const orgId = parseId("organizationId", organizationId, "Organization");
    const otherId = parseId("affiliatedId", affiliatedId, "Organization");
    await ctx.db.transaction(async (tx) => {
      await accounts.declareAffiliation(tx, orgId, otherId);
      await recordAudit(tx, actorOf(ctx), { action: "DECLARE_AFFILIATION", targetId: orgId, detail: `affiliated with organization ${globalId("Organization", otherId)}` });
    });
    return true;
  }
}
