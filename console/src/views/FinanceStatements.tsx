// A program's monthly statement: the subsidy claimed per data center, its files (CSV, XLSX, PDF),
// and settling it once the month has ended, after a confirmation.
import { useState } from "react";
import { ApiError, gql } from "../api.js";
import type { Viewer } from "../App.js";
import { utcMonth } from "../format.js";
import { SettleDocument, StatementDocument } from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { Confirm, ErrorBox, Field, Loading, Notice, Status, TableBox, useAction, useLoad } from "../ui.js";
import { ProgramPicker, usePrograms } from "./programs.js";
import { Downloads } from "./Downloads.js";

export function FinanceStatements({ viewer }: { viewer: Viewer }) {
  const texts = useTexts();
  const { t } = texts;
  const programs = usePrograms(viewer);
  const [chosen, setChosen] = useState("");
  const [month, setMonth] = useState(utcMonth(new Date()));
  const [confirming, setConfirming] = useState(false);
  const [settled, setSettled] = useState(false);
  const action = useAction();
  const program = (programs.data ?? []).find((p) => p.id === chosen) ?? programs.data?.[0];
  const valid = /^\d{4}-\d{2}$/.test(month);
  const statement = useLoad(
    () =>
      program && valid
        ? gql(StatementDocument, { programId: program.id, month }).then((d) => d.cityStatement)
        : Promise.resolve(null),
    [program?.id, month],
  );
  if (!programs.data) return <Loading loaded={programs} />;
  const settle = async () => {
    setConfirming(false);
    const result = await action.run(() => gql(SettleDocument, { programId: program!.id, month }));
    if (result) {
      setSettled(true);
      statement.reload();
    }
  };
  const notEnded =
    action.error instanceof ApiError && action.error.code === "BAD_USER_INPUT" && action.error.field === "month";
  const s = statement.data;
  return (
    <>
      <div className="toolbar">
        <ProgramPicker
          programs={programs.data}
          value={program?.id ?? ""}
          onChange={(id) => (setChosen(id), setSettled(false))}
        />
        <Field label={t("statements.month")} hint={t("statements.monthHint")}>
          {(id) => (
            <input
              id={id}
              type="month"
              value={month}
              onChange={(e) => {
                setMonth(e.target.value);
                setSettled(false);
                action.clear();
              }}
            />
          )}
        </Field>
      </div>
      <Loading loaded={statement} />
      {s && program && (
        <section aria-labelledby="statement-title">
          <h2 id="statement-title">
            {t("statements.title", { program: program.name, month: texts.month(s.month) })}{" "}
            <Status prefix="statementStatus" code={s.status} />
          </h2>
          <dl className="figures">
            <div className="figure">
              <dt>{t("statements.total")}</dt>
              <dd>{texts.money(s.total)}</dd>
            </div>
            <div className="figure">
              <dt>{t("statements.settledAt")}</dt>
              <dd>{texts.dateTime(s.settledAt)}</dd>
            </div>
          </dl>
          <Downloads
            title={t("files.title")}
            files={[
              { label: "files.csv", path: s.files.csv, name: `statement-${program.id}-${s.month}.csv` },
              { label: "files.xlsx", path: s.files.xlsx, name: `statement-${program.id}-${s.month}.xlsx` },
              { label: "files.pdf", path: s.files.pdf, name: `statement-${program.id}-${s.month}.pdf` },
            ]}
          />
          <TableBox label={t("statements.lines")}>
            <caption>{t("statements.lines")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("common.dataCenter")}</th>
                <th scope="col">{t("common.hub")}</th>
                <th scope="col" className="num">
                  {t("spend.orders")}
                </th>
                <th scope="col" className="num">
                  {t("spend.subsidy")}
                </th>
              </tr>
            </thead>
            <tbody>
              {s.lines.map((line) => (
                <tr key={line.dataCenter.id}>
                  <th scope="row">{line.dataCenter.name}</th>
                  <td>{line.dataCenter.hub}</td>
                  <td className="num">{texts.number(line.orders)}</td>
                  <td className="num">{texts.money(line.subsidy)}</td>
                </tr>
              ))}
              {s.lines.length === 0 && (
                <tr>
                  <td colSpan={4}>{t("statements.empty")}</td>
                </tr>
              )}
            </tbody>
          </TableBox>
          {s.status === "OPEN" && (
            <div className="actions">
              <button type="button" className="primary" disabled={action.busy} onClick={() => setConfirming(true)}>
                {t("statements.settle")}
              </button>
            </div>
          )}
          {settled && <Notice>{t("statements.settledNotice", { month: texts.month(s.month) })}</Notice>}
          {notEnded ? (
            <div className="error" role="alert">
              <strong>{t("statements.notEnded")}</strong>
              <p>{t("statements.notEndedNext")}</p>
            </div>
          ) : (
            <ErrorBox error={action.error} />
          )}
          <Confirm
            open={confirming}
            title={t("statements.confirmTitle")}
            body={
              <p>
                {t("statements.confirmBody", {
                  month: texts.month(s.month),
                  total: texts.money(s.total),
                  program: program.name,
                })}
              </p>
            }
            confirmLabel={t("statements.settle")}
            onConfirm={settle}
            onCancel={() => setConfirming(false)}
          />
        </section>
      )}
    </>
  );
}
