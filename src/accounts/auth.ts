// Who is calling: the admin token, or an API key of an organization.
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { apiKeys, organizations } from "../db/schema.js";
import type { Role, Viewer } from "../graphql/context.js";
import { hashToken, sameSecret } from "./tokens.js";

export const ROLE_OF_KIND: Record<string, Role> = {
  SME: "SME",
  DATA_CENTER_OPERATOR: "DATA_CENTER",
  CITY_FINANCE: "CITY_FINANCE",
};

const CACHE_MS = 10_000;
const CACHE_MAX = 10_000;

/** Resolves tokens to viewers, caching hits briefly so the hot path skips the key lookup. */
export class Authenticator {
  private cache = new Map<string, { viewer: Viewer | null; until: number }>();

  constructor(
    private db: Db,
    private adminToken: string,
  ) {}

  /** The viewer of a token when it is known without the database (null: known to be no key); undefined otherwise. */
  known(token: string): Viewer | null | undefined {
    if (sameSecret(token, this.adminToken)) return { role: "ADMIN", organizationId: null, city: null, apiKeyId: null };
    const cached = this.cache.get(hashToken(token));
    return cached && cached.until > Date.now() ? cached.viewer : undefined;
  }

  /** The viewer of a token; null when the token is unknown or revoked. */
  async viewerOf(token: string): Promise<Viewer | null> {
    const known = this.known(token);
    if (known !== undefined) return known;
    const hash = hashToken(token);
    const [row] = await this.db
      .select({ keyId: apiKeys.id, orgId: organizations.id, kind: organizations.kind, city: organizations.city })
      .from(apiKeys)
      .innerJoin(organizations, eq(organizations.id, apiKeys.organizationId))
      .where(and(eq(apiKeys.tokenHash, hash), isNull(apiKeys.revokedAt)))
      .limit(1);
    const viewer: Viewer | null = row
      ? { role: ROLE_OF_KIND[row.kind], organizationId: row.orgId, city: row.city, apiKeyId: row.keyId }
      : null;
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(hash, { viewer, until: Date.now() + CACHE_MS });
    return viewer;
  }
}
