// Many offers from one CSV file through POST /imports/offers: a dry run that shows each row's
// result (every bad row with its column and problem, as the API reports them), then publishing
// the same file, all or nothing. The template's columns are those docs/api.md lists.
import { useState, type FormEvent } from "react";
import { importOffers, saveBlob, type ImportResult } from "../api.js";
import type { Viewer } from "../App.js";
import { useCatalog } from "../catalog.js";
import { useTexts } from "../i18n.js";
import { ErrorBox, Field, Notice, Status, TableBox, useAction } from "../ui.js";

const COLUMNS = [
  "dataCenterId",
  "gpuModel",
  "gpuCount",
  "pricePerGpuHour",
  "availableFrom",
  "availableUntil",
  "minHours",
  "hardware.gpuCount",
  "hardware.serialNumbers",
  "hardware.attestationReference",
];

/** A template with the documented columns and one example row in the operator's first data center. */
function template(dataCenterId: string): Blob {
  const start = new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000 + 86_400_000);
  const end = new Date(start.getTime() + 7 * 86_400_000);
  const iso = (d: Date) => d.toISOString().replace(".000Z", "Z");
  const example = [dataCenterId, "H800", "8", "18.50", iso(start), iso(end), "4", "", "", ""];
  // A byte order mark, so that Excel reads the file as UTF-8.
  return new Blob([`\ufeff${COLUMNS.join(",")}\r\n${example.join(",")}\r\n`], { type: "text/csv;charset=utf-8" });
}

export function OperatorImport({ viewer }: { viewer: Viewer }) {
  const texts = useTexts();
  const { t } = texts;
  const catalog = useCatalog();
  const mine = (catalog.data?.dataCenters ?? []).filter((d) => d.operator.id === viewer.organization?.id);
  const [file, setFile] = useState<File | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const action = useAction();

  const run = async (dryRun: boolean) => {
    if (!file) return;
    const answer = await action.run(() => importOffers(file, dryRun));
    if (answer) setResult(answer);
  };
  const check = (event: FormEvent) => {
    event.preventDefault();
    void run(true);
  };
  const checked = result?.dryRun && result.valid;
  return (
    <>
      <p>{t("import.intro")}</p>
      <div className="actions">
        <button
          type="button"
          disabled={mine.length === 0}
          onClick={() => saveBlob(template(mine[0].id), "offers-template.csv")}
        >
          {t("import.template")}
        </button>
      </div>
      <small className="muted">{t("import.templateHint")}</small>
      <form className="card" onSubmit={check}>
        <Field label={t("import.file")} hint={t("import.fileHint")}>
          {(id) => (
            <input
              id={id}
              type="file"
              accept=".csv,text/csv"
              onChange={(e) => {
                setFile(e.target.files?.[0] ?? null);
                setResult(null);
                action.clear();
              }}
            />
          )}
        </Field>
        <div className="actions">
          <button type="submit" disabled={!file || action.busy}>
            {t("import.check")}
          </button>
          {checked && (
            <button type="button" className="primary" disabled={action.busy} onClick={() => void run(false)}>
              {t("import.publish", { count: result.rows.length })}
            </button>
          )}
        </div>
        <ErrorBox error={action.error} />
      </form>
      {result && <ImportRows result={result} />}
    </>
  );
}

function ImportRows({ result }: { result: ImportResult }) {
  const texts = useTexts();
  const { t } = texts;
  const count = result.rows.length;
  return (
    <section aria-labelledby="import-rows">
      <h2 id="import-rows">{t("import.rows")}</h2>
      {!result.valid ? (
        <div className="error" role="alert">
          <strong>{t("import.invalid", { invalid: result.invalid, count })}</strong>
        </div>
      ) : result.dryRun ? (
        <Notice>{t("import.valid", { count })}</Notice>
      ) : (
        <Notice>{t("import.published", { count: result.published })}</Notice>
      )}
      <TableBox label={t("import.rows")}>
        <thead>
          <tr>
            <th scope="col" className="num">
              {t("import.row")}
            </th>
            <th scope="col">{t("common.status")}</th>
            <th scope="col">{t("import.column")}</th>
            <th scope="col">{t("import.problem")}</th>
          </tr>
        </thead>
        <tbody>
          {result.rows.map((row) =>
            row.errors.length === 0 ? (
              <tr key={row.row}>
                <th scope="row" className="num">
                  {row.row}
                </th>
                <td>
                  <Status prefix="import.rowStatus" code={row.status} />
                </td>
                <td colSpan={2}>{row.offerId ?? ""}</td>
              </tr>
            ) : (
              row.errors.map((error, index) => (
                <tr key={`${row.row}-${index}`} className="bad-row">
                  <th scope="row" className="num">
                    {row.row}
                  </th>
                  <td>
                    <Status prefix="import.rowStatus" code={row.status} />
                  </td>
                  <td>
                    <code>{error.field === "row" ? t("import.wholeRow") : error.field}</code>
                  </td>
                  <td>{error.message}</td>
                </tr>
              ))
            ),
          )}
        </tbody>
      </TableBox>
      <small className="muted">{t("import.apiNote")}</small>
    </section>
  );
}
