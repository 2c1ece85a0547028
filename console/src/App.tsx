// The shell: sign-in, the language switch, and the views of the signed-in role. A role sees only
// the views of what it may do (the API's `me.role`); the view is named in the URL's fragment.
import { useEffect, useMemo, useState, type FormEvent, type ReactNode } from "react";
import { ApiError, gql, session } from "./api.js";
import { ViewerDocument, type Role, type ViewerQuery } from "./graphql/generated.js";
import { initialLang, saveLang, texts, TextsContext, useTexts, type Lang } from "./i18n.js";
import type { MessageKey } from "./messages.js";
import { ErrorBox, Field, useAction } from "./ui.js";
import { FinanceDashboard } from "./views/FinanceDashboard.js";
import { FinanceSpend } from "./views/FinanceSpend.js";
import { FinanceApplications } from "./views/FinanceApplications.js";
import { FinanceStatements } from "./views/FinanceStatements.js";
import { AuditLog } from "./views/AuditLog.js";
import { SmeOffers } from "./views/SmeOffers.js";
import { SmeRent } from "./views/SmeRent.js";
import { SmeOrders } from "./views/SmeOrders.js";
import { SmeVouchers } from "./views/SmeVouchers.js";
import { OperatorOffers } from "./views/OperatorOffers.js";
import { OperatorUtilization } from "./views/OperatorUtilization.js";
import { OperatorImport } from "./views/OperatorImport.js";
import { AdminOrganizations } from "./views/AdminOrganizations.js";
import { AdminDataCenters } from "./views/AdminDataCenters.js";

export type Viewer = ViewerQuery["me"];

interface View {
  path: string;
  label: MessageKey;
  render(viewer: Viewer, go: (path: string) => void): ReactNode;
}

/** The views of each role, the first one its home. */
const VIEWS: Record<Role, View[]> = {
  CITY_FINANCE: [
    { path: "dashboard", label: "nav.dashboard", render: (v) => <FinanceDashboard viewer={v} /> },
    { path: "spend", label: "nav.spend", render: (v) => <FinanceSpend viewer={v} /> },
    { path: "applications", label: "nav.applications", render: (v) => <FinanceApplications viewer={v} /> },
    { path: "statements", label: "nav.statements", render: (v) => <FinanceStatements viewer={v} /> },
    { path: "audit", label: "nav.audit", render: () => <AuditLog /> },
  ],
  SME: [
    { path: "offers", label: "nav.offers", render: (_v, go) => <SmeOffers go={go} /> },
    { path: "rent", label: "nav.rent", render: () => <SmeRent /> },
    { path: "orders", label: "nav.orders", render: () => <SmeOrders /> },
    { path: "vouchers", label: "nav.vouchers", render: () => <SmeVouchers /> },
  ],
  DATA_CENTER: [
    { path: "my-offers", label: "nav.myOffers", render: (v) => <OperatorOffers viewer={v} /> },
    { path: "import", label: "nav.import", render: (v) => <OperatorImport viewer={v} /> },
    { path: "utilization", label: "nav.utilization", render: (v) => <OperatorUtilization viewer={v} /> },
  ],
  ADMIN: [
    { path: "organizations", label: "nav.organizations", render: () => <AdminOrganizations /> },
    { path: "data-centers", label: "nav.dataCenters", render: () => <AdminDataCenters /> },
    { path: "audit", label: "nav.audit", render: () => <AuditLog /> },
  ],
};

const currentPath = () => location.hash.replace(/^#\/?/, "").split("?")[0];

export function App() {
  const [lang, setLang] = useState<Lang>(initialLang);
  const current = useMemo(() => texts(lang), [lang]);
  const [viewer, setViewer] = useState<Viewer | null>(null);
  const [checking, setChecking] = useState(Boolean(session.token));
  const [path, setPath] = useState(currentPath);

  useEffect(() => saveLang(lang), [lang]);
  useEffect(() => {
    const onHash = () => setPath(currentPath());
    addEventListener("hashchange", onHash);
    return () => removeEventListener("hashchange", onHash);
  }, []);
  // A key kept in this tab's session: check it once more (it may have been revoked).
  useEffect(() => {
    if (!session.token) return;
    gql(ViewerDocument)
      .then(
        (data) => setViewer(data.me),
        () => (session.token = null),
      )
      .finally(() => setChecking(false));
  }, []);

  const views = viewer ? VIEWS[viewer.role] : [];
  const view = views.find((v) => v.path === path) ?? views[0];
  const go = (next: string) => {
    location.hash = `#/${next}`;
  };
  useEffect(() => {
    document.title = `${view ? `${current.t(view.label)} · ` : ""}${current.t("app.title")}`;
  }, [view, current]);

  const signOut = () => {
    session.token = null;
    setViewer(null);
    location.hash = "";
  };

  return (
    <TextsContext.Provider value={current}>
      <a className="skip" href="#main">
        {current.t("app.skip")}
      </a>
      <header className="top">
        <div className="brand">
          <span aria-hidden="true" className="logo">
            算
          </span>
          <span>{current.t("app.title")}</span>
        </div>
        {viewer && (
          <nav aria-label={current.t("nav.label")}>
            <ul>
              {views.map((v) => (
                <li key={v.path}>
                  <a href={`#/${v.path}`} aria-current={v === view ? "page" : undefined}>
                    {current.t(v.label)}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        )}
        <div className="who">
          {viewer && (
            <span className="org">
              {viewer.organization?.name ?? current.t("role.ADMIN")}
              <small> · {current.t(`role.${viewer.role}` as MessageKey)}</small>
            </span>
          )}
          <button
            type="button"
            className="lang"
            lang={lang === "zh" ? "en" : "zh-CN"}
            onClick={() => setLang(lang === "zh" ? "en" : "zh")}
          >
            {lang === "zh" ? "English" : "中文"}
          </button>
          {viewer && (
            <button type="button" onClick={signOut}>
              {current.t("app.signOut")}
            </button>
          )}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {checking ? (
          <p className="muted">{current.t("common.loading")}</p>
        ) : viewer && view ? (
          <>
            <h1>{current.t(view.label)}</h1>
            {view.render(viewer, go)}
          </>
        ) : (
          <SignIn onSignedIn={setViewer} />
        )}
      </main>
      <footer className="foot">
        <span>{current.t("app.timesNote")}</span>
        <a href="/graphql">{current.t("app.explorer")}</a>
      </footer>
    </TextsContext.Provider>
  );
}

function SignIn({ onSignedIn }: { onSignedIn(viewer: Viewer): void }) {
  const { t } = useTexts();
  const [key, setKey] = useState("");
  const action = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const token = key.trim();
    if (!token) return;
    session.token = token;
    const data = await action.run(() => gql(ViewerDocument));
    if (data) onSignedIn(data.me);
    else session.token = null;
  };
  return (
    <section className="signin">
      <h1>{t("signIn.title")}</h1>
      <p>{t("signIn.intro")}</p>
      <form onSubmit={submit} className="card">
        <Field label={t("signIn.key")} hint={t("signIn.hint")}>
          {(id) => (
            <input
              id={id}
              name="apiKey"
              type="password"
              autoComplete="off"
              spellCheck={false}
              value={key}
              onChange={(e) => setKey(e.target.value)}
              required
            />
          )}
        </Field>
        <button type="submit" className="primary" disabled={action.busy}>
          {t("signIn.submit")}
        </button>
        {action.error instanceof ApiError && action.error.code === "UNAUTHENTICATED" ? (
          <div className="error" role="alert">
            <strong>{t("signIn.unknownKey")}</strong>
          </div>
        ) : (
          <ErrorBox error={action.error} />
        )}
      </form>
      <ul className="roles">
        <li>
          <strong>{t("role.SME")}</strong> — {t("signIn.sme")}
        </li>
        <li>
          <strong>{t("role.DATA_CENTER")}</strong> — {t("signIn.operator")}
        </li>
        <li>
          <strong>{t("role.CITY_FINANCE")}</strong> — {t("signIn.finance")}
        </li>
      </ul>
    </section>
  );
}
