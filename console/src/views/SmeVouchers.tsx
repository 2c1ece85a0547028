// The SME's vouchers with their remaining balance, its applications, and a new application to a
// program that is taking them.
import { useState, type FormEvent } from "react";
import { gql } from "../api.js";
import { fenToInput, parseYuan } from "../format.js";
import { ApplyDocument, ProgramsDocument, VouchersDocument } from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { ErrorBox, Field, Loading, Notice, Status, TableBox, useAction, useLoad } from "../ui.js";

export function SmeVouchers() {
  const texts = useTexts();
  const { t } = texts;
  const mine = useLoad(() => gql(VouchersDocument), []);
  const programs = useLoad(
    () => gql(ProgramsDocument, { city: null }).then((d) => d.subsidyPrograms.filter((p) => p.status === "ACTIVE")),
    [],
  );
  const [form, setForm] = useState({ programId: "", amount: "", purpose: "" });
  const [problem, setProblem] = useState("");
  const [done, setDone] = useState("");
  const action = useAction();
  const programId = form.programId || programs.data?.[0]?.id || "";
  const apply = async (event: FormEvent) => {
    event.preventDefault();
    const fen = parseYuan(form.amount);
    if (fen === null || fen <= 0n) return setProblem(t("applications.badAmount"));
    setProblem("");
    const result = await action.run(() =>
      gql(ApplyDocument, { input: { programId, requestedAmount: fenToInput(fen), purpose: form.purpose.trim() } }),
    );
    if (result) {
      setDone(t("vouchers.applied"));
      setForm({ programId, amount: "", purpose: "" });
      mine.reload();
    }
  };
  return (
    <>
      <section aria-labelledby="my-vouchers">
        <h2 id="my-vouchers">{t("vouchers.mine")}</h2>
        <Loading loaded={mine} />
        {mine.data && mine.data.myVouchers.length === 0 && <p>{t("vouchers.none")}</p>}
        {mine.data && mine.data.myVouchers.length > 0 && (
          <TableBox label={t("vouchers.mine")}>
            <thead>
              <tr>
                <th scope="col">{t("finance.program")}</th>
                <th scope="col">{t("common.city")}</th>
                <th scope="col">{t("common.status")}</th>
                <th scope="col" className="num">
                  {t("vouchers.granted")}
                </th>
                <th scope="col" className="num">
                  {t("vouchers.remaining")}
                </th>
                <th scope="col">{t("vouchers.validUntil")}</th>
              </tr>
            </thead>
            <tbody>
              {mine.data.myVouchers.map((v) => (
                <tr key={v.id}>
                  <td>{v.program.name}</td>
                  <td>{v.program.city}</td>
                  <td>
                    <Status prefix="voucherStatus" code={v.status} />
                  </td>
                  <td className="num">{texts.money(v.grantedAmount)}</td>
                  <td className="num">
                    <strong>{texts.money(v.remaining)}</strong>
                  </td>
                  <td>{texts.date(v.validUntil)}</td>
                </tr>
              ))}
            </tbody>
          </TableBox>
        )}
      </section>
      <section aria-labelledby="my-applications">
        <h2 id="my-applications">{t("vouchers.applications")}</h2>
        {mine.data && mine.data.myVoucherApplications.length === 0 && <p>{t("applications.none")}</p>}
        {mine.data && mine.data.myVoucherApplications.length > 0 && (
          <TableBox label={t("vouchers.applications")}>
            <thead>
              <tr>
                <th scope="col">{t("finance.program")}</th>
                <th scope="col">{t("applications.submitted")}</th>
                <th scope="col" className="num">
                  {t("applications.requested")}
                </th>
                <th scope="col">{t("common.status")}</th>
                <th scope="col">{t("applications.reason")}</th>
              </tr>
            </thead>
            <tbody>
              {mine.data.myVoucherApplications.map((a) => (
                <tr key={a.id}>
                  <td>{a.program.name}</td>
                  <td>{texts.dateTime(a.createdAt)}</td>
                  <td className="num">{texts.money(a.requestedAmount)}</td>
                  <td>
                    <Status prefix="applicationStatus" code={a.status} />
                  </td>
                  <td>{a.decisionReason ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </TableBox>
        )}
      </section>
      <section aria-labelledby="apply">
        <h2 id="apply">{t("vouchers.apply")}</h2>
        <form className="card" onSubmit={apply}>
          <Field label={t("finance.program")}>
            {(id) => (
              <select
                id={id}
                value={programId}
                onChange={(e) => setForm({ ...form, programId: e.target.value })}
                required
              >
                {programs.data?.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name} ({p.city}, {texts.bp(p.rateBasisPoints)})
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t("vouchers.amount")} hint={t("common.yuanHint")}>
            {(id) => (
              <input
                id={id}
                inputMode="decimal"
                required
                value={form.amount}
                onChange={(e) => setForm({ ...form, amount: e.target.value })}
              />
            )}
          </Field>
          <Field label={t("applications.purpose")}>
            {(id) => (
              <textarea
                id={id}
                required
                maxLength={2000}
                rows={3}
                value={form.purpose}
                onChange={(e) => setForm({ ...form, purpose: e.target.value })}
              />
            )}
          </Field>
          <button type="submit" className="primary" disabled={action.busy || !programId}>
            {t("vouchers.submit")}
          </button>
          {problem && (
            <p className="error" role="alert">
              {problem}
            </p>
          )}
          {done && <Notice>{done}</Notice>}
          <ErrorBox error={action.error} />
        </form>
      </section>
    </>
  );
}
