// The platform admin: organizations (registered here, and those the audit trail shows), an API
// key for any of them (its token shown once), and affiliations between two organizations.
import { useState, type FormEvent } from "react";
import { gql } from "../api.js";
import {
  AuditDocument,
  CreateApiKeyDocument,
  CreateOrganizationDocument,
  DeclareAffiliationDocument,
  OrganizationsDocument,
  type OrgKind,
} from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { ErrorBox, Field, Loading, Notice, TableBox, useAction, useLoad } from "../ui.js";

export interface Org {
  id: string;
  name: string;
  kind: OrgKind;
  city?: string | null;
  creditCode?: string | null;
}

/** Organizations registered through the API, newest first: the audit trail's CREATE_ORGANIZATION targets. */
export async function loadOrganizations(): Promise<Org[]> {
  const { auditLog } = await gql(AuditDocument, { first: 100, after: null, action: "CREATE_ORGANIZATION" });
  const ids = [...new Set(auditLog.edges.map((e) => e.node.targetId).filter((id): id is string => Boolean(id)))];
  if (ids.length === 0) return [];
  const { nodes } = await gql(OrganizationsDocument, { ids });
  return nodes.flatMap((n) => (n && "kind" in n && n.kind ? [n as Org] : []));
}

export function AdminOrganizations() {
  const texts = useTexts();
  const { t } = texts;
  const organizations = useLoad(loadOrganizations, []);
  const [form, setForm] = useState({ name: "", kind: "SME" as OrgKind, city: "", creditCode: "" });
  const [tokens, setTokens] = useState<Record<string, string>>({});
  const create = useAction();
  const keys = useAction();
  const [created, setCreated] = useState("");
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await create.run(() =>
      gql(CreateOrganizationDocument, {
        input: {
          name: form.name.trim(),
          kind: form.kind,
          city: form.city.trim() || null,
          creditCode: form.creditCode.trim() || null,
        },
      }),
    );
    if (result) {
      setCreated(t("admin.created", { name: result.createOrganization.name, id: result.createOrganization.id }));
      setForm({ name: "", kind: form.kind, city: "", creditCode: "" });
      organizations.reload();
    }
  };
  const issue = async (org: Org) => {
    const result = await keys.run(() => gql(CreateApiKeyDocument, { organizationId: org.id }));
    if (result) setTokens({ ...tokens, [org.id]: result.createApiKey.token });
  };
  return (
    <>
      <section aria-labelledby="new-org">
        <h2 id="new-org">{t("admin.newOrg")}</h2>
        <form className="card" onSubmit={submit}>
          <div className="grid">
            <Field label={t("admin.name")}>
              {(id) => (
                <input
                  id={id}
                  required
                  maxLength={200}
                  value={form.name}
                  onChange={(e) => setForm({ ...form, name: e.target.value })}
                />
              )}
            </Field>
            <Field label={t("admin.kind")}>
              {(id) => (
                <select
                  id={id}
                  value={form.kind}
                  onChange={(e) => setForm({ ...form, kind: e.target.value as OrgKind })}
                >
                  {(["SME", "DATA_CENTER_OPERATOR", "CITY_FINANCE"] as const).map((k) => (
                    <option key={k} value={k}>
                      {texts.code("orgKind", k)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label={t("common.city")} hint={t("admin.cityHint")}>
              {(id) => <input id={id} value={form.city} onChange={(e) => setForm({ ...form, city: e.target.value })} />}
            </Field>
            <Field label={t("admin.creditCode")} hint={t("admin.creditCodeHint")}>
              {(id) => (
                <input
                  id={id}
                  maxLength={18}
                  value={form.creditCode}
                  onChange={(e) => setForm({ ...form, creditCode: e.target.value })}
                />
              )}
            </Field>
          </div>
          <button type="submit" className="primary" disabled={create.busy}>
            {t("admin.create")}
          </button>
          {created && <Notice>{created}</Notice>}
          <ErrorBox error={create.error} />
        </form>
      </section>
      <section aria-labelledby="orgs">
        <h2 id="orgs">{t("admin.organizations")}</h2>
        <p className="muted">{t("admin.orgsNote")}</p>
        <Loading loaded={organizations} />
        <ErrorBox error={keys.error} />
        {organizations.data && (
          <TableBox label={t("admin.organizations")}>
            <thead>
              <tr>
                <th scope="col">{t("admin.name")}</th>
                <th scope="col">{t("admin.kind")}</th>
                <th scope="col">{t("common.city")}</th>
                <th scope="col">{t("admin.id")}</th>
                <th scope="col">{t("admin.apiKey")}</th>
              </tr>
            </thead>
            <tbody>
              {organizations.data.map((org) => (
                <tr key={org.id}>
                  <th scope="row">{org.name}</th>
                  <td>{texts.code("orgKind", org.kind)}</td>
                  <td>{org.city ?? "—"}</td>
                  <td>
                    <code>{org.id}</code>
                  </td>
                  <td>
                    {tokens[org.id] ? (
                      <div className="token" role="status">
                        <code data-testid="new-token">{tokens[org.id]}</code>
                        <small>{t("admin.tokenOnce")}</small>
                      </div>
                    ) : (
                      <button type="button" disabled={keys.busy} onClick={() => issue(org)}>
                        {t("admin.issueKey")}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
              {organizations.data.length === 0 && (
                <tr>
                  <td colSpan={5}>{t("admin.noOrgs")}</td>
                </tr>
              )}
            </tbody>
          </TableBox>
        )}
      </section>
      <Affiliation organizations={organizations.data ?? []} />
    </>
  );
}

function Affiliation({ organizations }: { organizations: Org[] }) {
  const { t } = useTexts();
  const [a, setA] = useState("");
  const [b, setB] = useState("");
  const [done, setDone] = useState("");
  const action = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (await action.run(() => gql(DeclareAffiliationDocument, { organizationId: a.trim(), affiliatedId: b.trim() })))
      setDone(t("admin.affiliated", { a: a.trim(), b: b.trim() }));
  };
  return (
    <section aria-labelledby="affiliation">
      <h2 id="affiliation">{t("admin.affiliation")}</h2>
      <p className="muted">{t("admin.affiliationNote")}</p>
      <form className="card" onSubmit={submit}>
        <datalist id="org-ids">
          {organizations.map((o) => (
            <option key={o.id} value={o.id}>
              {o.name}
            </option>
          ))}
        </datalist>
        <div className="grid">
          <Field label={t("admin.orgA")} hint={t("admin.idHint")}>
            {(id) => <input id={id} list="org-ids" required value={a} onChange={(e) => setA(e.target.value)} />}
          </Field>
          <Field label={t("admin.orgB")} hint={t("admin.idHint")}>
            {(id) => <input id={id} list="org-ids" required value={b} onChange={(e) => setB(e.target.value)} />}
          </Field>
        </div>
        <button type="submit" className="primary" disabled={action.busy}>
          {t("admin.declare")}
        </button>
        {done && <Notice>{done}</Notice>}
        <ErrorBox error={action.error} />
      </form>
    </section>
  );
}
