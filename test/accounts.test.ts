import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { organization } from "./support/fixtures.js";
import { keyOf } from "./support/ids.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.close());

describe("accounts", () => {
  it("the admin creates an organization and an API key that then identifies it", async () => {
    const sme = await organization(server, "SME", "Lingxi AI", "Hangzhou");
    expect(sme.token).toMatch(/^gvm_[A-Za-z0-9_-]{43}$/);
    const { me } = await server.ok(`{ me { role organization { id name kind city } } }`, {}, { token: sme.token });
    expect(me).toEqual({ role: "SME", organization: { id: sme.id, name: "Lingxi AI", kind: "SME", city: "Hangzhou" } });
  });

  it("stores only the hash of a token", async () => {
    const sme = await organization(server, "SME", "Hash Check Ltd");
    const rows = await server.sql(`select token_hash from api_keys where organization_id = $1`, [keyOf(sme.id)]);
    expect(rows).toHaveLength(1);
    expect(rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].token_hash).not.toContain(sme.token);
  });

  it("the admin is ADMIN with no organization", async () => {
    const { me } = await server.ok(`{ me { role organization { id } } }`, {}, { token: ADMIN });
    expect(me).toEqual({ role: "ADMIN", organization: null });
  });

  it("refuses a missing or unknown token with UNAUTHENTICATED", async () => {
    const anonymous = await server.fails("UNAUTHENTICATED", `{ me { role } }`);
    expect(anonymous.message).toMatch(/API key/);
    const unknown = await server.gql(`{ me { role } }`, {}, { token: "gvm_not_a_real_token" });
    expect(unknown.status).toBe(401);
    expect(unknown.errors?.[0].extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("only the admin manages organizations and keys (FORBIDDEN otherwise)", async () => {
    const sme = await organization(server, "SME", "Curious SME");
    await server.fails(
      "FORBIDDEN",
      `mutation { createOrganization(input: { name: "X", kind: SME }) { id } }`,
      {},
      { token: sme.token },
    );
    await server.fails(
      "FORBIDDEN",
      `mutation($id: ID!) { createApiKey(organizationId: $id) { token } }`,
      { id: sme.id },
      { token: sme.token },
    );
    await server.fails("UNAUTHENTICATED", `mutation($id: ID!) { createApiKey(organizationId: $id) { token } }`, {
      id: sme.id,
    });
  });

  it("validates organization input and changes nothing on error", async () => {
    const [{ n: before }] = await server.sql(`select count(*)::int as n from organizations`);
    const noCity = await server.fails(
      "BAD_USER_INPUT",
      `mutation { createOrganization(input: { name: "Finance", kind: CITY_FINANCE }) { id } }`,
      {},
      { token: ADMIN },
    );
    expect(noCity.message).toMatch(/city/);
    const blank = await server.fails(
      "BAD_USER_INPUT",
      `mutation { createOrganization(input: { name: "  ", kind: SME }) { id } }`,
      {},
      { token: ADMIN },
    );
    expect(blank.message).toMatch(/name/);
    const badCode = await server.fails(
      "BAD_USER_INPUT",
      `mutation { createOrganization(input: { name: "A", kind: SME, creditCode: "123" }) { id } }`,
      {},
      { token: ADMIN },
    );
    expect(badCode.message).toMatch(/creditCode/);
    await server.fails(
      "NOT_FOUND",
      `mutation { createApiKey(organizationId: "org_999999") { token } }`,
      {},
      { token: ADMIN },
    );
    const wrongType = await server.fails(
      "BAD_USER_INPUT",
      `mutation { createApiKey(organizationId: "dc_1") { token } }`,
      {},
      { token: ADMIN },
    );
    expect(wrongType.extensions).toMatchObject({ field: "organizationId" });
    await server.fails(
      "BAD_USER_INPUT",
      `mutation { createApiKey(organizationId: "abc") { token } }`,
      {},
      { token: ADMIN },
    );
    await server.fails(
      "BAD_USER_INPUT",
      `mutation { createApiKey(organizationId: "7") { token } }`,
      {},
      { token: ADMIN },
    );
    const [{ n: after }] = await server.sql(`select count(*)::int as n from organizations`);
    expect(after).toBe(before);
  });

  it("a credit code is unique", async () => {
    const input = { name: "First", kind: "SME", creditCode: "91310115MA1K4ABC1X" };
    await server.ok(
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }`,
      { input },
      { token: ADMIN },
    );
    await server.fails(
      "CONFLICT",
      `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }`,
      { input: { ...input, name: "Second" } },
      { token: ADMIN },
    );
  });

  it("declares affiliations between existing organizations", async () => {
    const a = await organization(server, "SME", "Parent Co");
    const b = await organization(server, "DATA_CENTER_OPERATOR", "Child DC Co");
    const mutation = `mutation($a: ID!, $b: ID!) { declareAffiliation(organizationId: $a, affiliatedId: $b) }`;
    expect(await server.ok(mutation, { a: a.id, b: b.id }, { token: ADMIN })).toEqual({ declareAffiliation: true });
    expect(await server.ok(mutation, { a: b.id, b: a.id }, { token: ADMIN })).toEqual({ declareAffiliation: true });
    const rows = await server.sql(`select count(*)::int as n from affiliations where organization_id in ($1, $2)`, [
      keyOf(a.id),
      keyOf(b.id),
    ]);
    expect(rows[0].n).toBe(2);
    await server.fails("NOT_FOUND", mutation, { a: a.id, b: "org_987654" }, { token: ADMIN });
    await server.fails("BAD_USER_INPUT", mutation, { a: a.id, b: a.id }, { token: ADMIN });
  });

  it("answers health checks", async () => {
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ok" });
  });

  it("a malformed body is a client error with a code, not a 500", async () => {
    const response = await fetch(`${server.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(response.status).toBe(400);
    const body = await response.json();
    expect(body.errors[0].extensions.code).toBeDefined();
    expect(JSON.stringify(body)).not.toMatch(/at .*\.js/);
  });
});
