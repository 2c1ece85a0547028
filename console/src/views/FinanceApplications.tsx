// Voucher applications of a program: approve with an amount, or reject with a reason.
import { useState } from "react";
import { gql } from "../api.js";
import type { Viewer } from "../App.js";
import { parseYuan, fenToInput } from "../format.js";
import {
  ApplicationsDocument,
  DecideDocument,
  type ApplicationStatus,
  type ApplicationsQuery,
} from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { ErrorBox, Field, Loading, Notice, Status, useAction, useLoad } from "../ui.js";
import { ProgramPicker, usePrograms } from "./programs.js";

type Application = ApplicationsQuery["voucherApplications"][number];

export function FinanceApplications({ viewer }: { viewer: Viewer }) {
  const { t, code } = useTexts();
  const programs = usePrograms(viewer);
  const [chosen, setChosen] = useState("");
  const [status, setStatus] = useState<ApplicationStatus | "">("PENDING");
  const program = (programs.data ?? []).find((p) => p.id === chosen) ?? programs.data?.[0];
  const applications = useLoad(
    () =>
      program
        ? gql(ApplicationsDocument, { programId: program.id, status: status || null }).then(
            (d) => d.voucherApplications,
          )
        : Promise.resolve([]),
    [program?.id, status],
  );
  if (!programs.data) return <Loading loaded={programs} />;
  return (
    <>
      <div className="toolbar">
        <ProgramPicker programs={programs.data} value={program?.id ?? ""} onChange={setChosen} />
        <Field label={t("common.status")}>
          {(id) => (
            <select id={id} value={status} onChange={(e) => setStatus(e.target.value as ApplicationStatus | "")}>
              <option value="">{t("common.all")}</option>
              {(["PENDING", "APPROVED", "REJECTED"] as const).map((s) => (
                <option key={s} value={s}>
                  {code("applicationStatus", s)}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <Loading loaded={applications} />
      {applications.data?.length === 0 && <p>{t("applications.none")}</p>}
      <ul className="cards">
        {applications.data?.map((a) => (
          <ApplicationCard key={a.id} application={a} />
        ))}
      </ul>
    </>
  );
}

/** An application; once decided here it stays in view with its new status until the list is read again. */
function ApplicationCard({ application: loaded }: { application: Application }) {
  const texts = useTexts();
  const [application, setApplication] = useState(loaded);
  const { t } = texts;
  const [amount, setAmount] = useState(application.requestedAmount.amount);
  const [reason, setReason] = useState("");
  const [done, setDone] = useState("");
  const action = useAction();
  const decide = async (approve: boolean) => {
    let grantedAmount: string | null = null;
    if (approve) {
      const fen = parseYuan(amount);
      if (fen === null || fen <= 0n) {
        setDone("");
        action.clear();
        return setDone(t("applications.badAmount"));
      }
      grantedAmount = fenToInput(fen);
    }
    const result = await action.run(() =>
      gql(DecideDocument, { id: application.id, approve, grantedAmount, reason: reason.trim() || null }),
    );
    if (result) {
      const decided = result.decideVoucherApplication;
      setApplication({
        ...application,
        status: decided.status,
        decisionReason: decided.decisionReason,
        voucher: decided.voucher,
      });
      setDone(t(approve ? "applications.approved" : "applications.rejected"));
    }
  };
  const headingId = `application-${application.id}`;
  return (
    <li className="card" aria-labelledby={headingId}>
      <h2 id={headingId}>
        {application.sme.name} <Status prefix="applicationStatus" code={application.status} />
      </h2>
      <dl className="pairs">
        <dt>{t("applications.requested")}</dt>
        <dd>{texts.money(application.requestedAmount)}</dd>
        <dt>{t("applications.purpose")}</dt>
        <dd>{application.purpose}</dd>
        <dt>{t("applications.submitted")}</dt>
        <dd>{texts.dateTime(application.createdAt)}</dd>
        {application.voucher && (
          <>
            <dt>{t("applications.granted")}</dt>
            <dd>{texts.money(application.voucher.grantedAmount)}</dd>
          </>
        )}
        {application.decisionReason && (
          <>
            <dt>{t("applications.reason")}</dt>
            <dd>{application.decisionReason}</dd>
          </>
        )}
      </dl>
      {application.status === "PENDING" && (
        <form className="decide" onSubmit={(e) => e.preventDefault()}>
          <Field label={t("applications.grantAmount")} hint={t("common.yuanHint")}>
            {(id) => <input id={id} inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />}
          </Field>
          <Field label={t("applications.reasonLabel")} hint={t("applications.reasonHint")}>
            {(id) => <input id={id} value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />}
          </Field>
          <div className="actions">
            <button type="button" className="primary" disabled={action.busy} onClick={() => decide(true)}>
              {t("applications.approve")}
            </button>
            <button
              type="button"
              className="danger"
              disabled={action.busy || !reason.trim()}
              onClick={() => decide(false)}
            >
              {t("applications.reject")}
            </button>
          </div>
        </form>
      )}
      {done && <Notice>{done}</Notice>}
      <ErrorBox error={action.error} />
    </li>
  );
}
