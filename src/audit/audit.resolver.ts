import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from "type-graphql";
import { organizations } from "../db/schema.js";
import type { Context } from "../graphql/context.js";
import { requireViewer } from "../graphql/context.js";
import { parseOptionalId } from "../graphql/ids.js";
import { AFTER_DESCRIPTION, FIRST_DESCRIPTION, pageSize } from "../graphql/pagination.js";
import { Organization, toOrganization } from "../accounts/accounts.types.js";
import { AuditAction, AuditEntry, AuditEntryConnection, toAuditEntry } from "./audit.types.js";
import { auditEntries } from "./audit.service.js";

@Resolver(() => AuditEntry)
export class AuditResolver {
  @Authorized("ADMIN", "CITY_FINANCE")
  @Query(() => AuditEntryConnection, {
    description:
      "Audited actions, newest first: the admin sees all, a finance team the entries on its own city's programs. Role: ADMIN, " +
      "CITY_FINANCE. Errors: UNAUTHENTICATED, FORBIDDEN, BAD_USER_INPUT (first, after, malformed organizationId)",
  })
  async auditLog(
    @Ctx() ctx: Context,
    @Arg("first", () => Int, { nullable: true, description: FIRST_DESCRIPTION }) first?: number,
    @Arg("after", () => String, { nullable: true, description: AFTER_DESCRIPTION }) after?: string,
    @Arg("action", () => AuditAction, { nullable: true, description: "Only entries of this action; omit for all" })
    action?: AuditAction | null,
    @Arg("organizationId", () => ID, {
      nullable: true,
      description: 'Only entries of the organization that acted, an opaque id like "org_3"; omit for all',
    })
    organizationId?: string | null,
  ) {
    const limit = pageSize(first);
    const filter = { action, organizationId: parseOptionalId("organizationId", organizationId, "Organization") };
    const page = await auditEntries(ctx.db, requireViewer(ctx), filter, limit, after);
    return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: toAuditEntry(e.node) })) };
  }

  @FieldResolver(() => Organization, {
    nullable: true,
    description: "The organization that acted; null for the platform admin",
  })
  async organization(@Root() entry: AuditEntry, @Ctx() ctx: Context): Promise<Organization | null> {
    if (entry.organizationId == null) return null;
    const row = await ctx.loaders.byId(organizations).load(entry.organizationId);
    return row ? toOrganization(row) : null;
  }
}
