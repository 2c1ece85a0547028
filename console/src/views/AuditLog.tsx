// Who did what: the audit trail, newest first (a finance office sees its own city's entries).
import { useState } from "react";
import { gql } from "../api.js";
import { AuditDocument, type AuditAction, type AuditQuery } from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { ErrorBox, Field, Loading, TableBox, useAction, useLoad } from "../ui.js";

type Entry = AuditQuery["auditLog"]["edges"][number]["node"];

const ACTIONS: AuditAction[] = [
  "CANCEL_BID",
  "CANCEL_ORDER",
  "CHECKOUT",
  "CREATE_API_KEY",
  "CREATE_DATA_CENTER",
  "CREATE_ORGANIZATION",
  "CREATE_SUBSIDY_PROGRAM",
  "DECIDE_VOUCHER_APPLICATION",
  "DECLARE_AFFILIATION",
  "PAYMENT_MISMATCH",
  "PLACE_BID",
  "PUBLISH_OFFER",
  "SETTLE_CITY_STATEMENT",
  "SET_SUBSIDY_PROGRAM_STATUS",
  "UPDATE_OFFER",
  "WITHDRAW_OFFER",
];

export function AuditLog() {
  const texts = useTexts();
  const { t } = texts;
  const [action, setAction] = useState<AuditAction | "">("");
  const [more, setMore] = useState<{ entries: Entry[]; after: string | null; hasNext: boolean } | null>(null);
  const paging = useAction();
  const first = useLoad(async () => {
    setMore(null);
    return (await gql(AuditDocument, { first: 50, after: null, action: action || null })).auditLog;
  }, [action]);
  const entries = [...(first.data?.edges.map((e) => e.node) ?? []), ...(more?.entries ?? [])];
  const hasNext = more ? more.hasNext : first.data?.pageInfo.hasNextPage;
  const loadMore = async () => {
    const after = more ? more.after : (first.data?.pageInfo.endCursor ?? null);
    const page = await paging.run(() => gql(AuditDocument, { first: 50, after, action: action || null }));
    if (page)
      setMore({
        entries: [...(more?.entries ?? []), ...page.auditLog.edges.map((e) => e.node)],
        after: page.auditLog.pageInfo.endCursor ?? null,
        hasNext: page.auditLog.pageInfo.hasNextPage,
      });
  };
  return (
    <>
      <div className="toolbar">
        <Field label={t("audit.action")}>
          {(id) => (
            <select id={id} value={action} onChange={(e) => setAction(e.target.value as AuditAction | "")}>
              <option value="">{t("common.all")}</option>
              {ACTIONS.map((a) => (
                <option key={a} value={a}>
                  {texts.code("audit", a)}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Loading loaded={first} />
      {first.data && (
        <>
          <p className="muted">{t("audit.count", { count: texts.number(first.data.totalCount) })}</p>
          <TableBox label={t("nav.audit")}>
            <thead>
              <tr>
                <th scope="col">{t("common.time")}</th>
                <th scope="col">{t("audit.action")}</th>
                <th scope="col">{t("audit.who")}</th>
                <th scope="col">{t("audit.target")}</th>
                <th scope="col">{t("audit.detail")}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id}>
                  <td>{texts.dateTime(entry.createdAt)}</td>
                  <td>{texts.code("audit", entry.action)}</td>
                  <td>
                    {entry.organization?.name ?? "—"}{" "}
                    <small className="muted">({texts.code("role", entry.role)})</small>
                  </td>
                  <td>
                    <code>{entry.targetId ?? "—"}</code>
                  </td>
                  <td className="detail">{entry.detail ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </TableBox>
          {hasNext && (
            <button type="button" disabled={paging.busy} onClick={loadMore}>
              {t("common.more")}
            </button>
          )}
          <ErrorBox error={paging.error} />
        </>
      )}
    </>
  );
}
