// The subsidy spend of a period, by month and by hub, data center or GPU model: a stacked bar
// chart and tables with the figures of `subsidySpend`, exactly as the API sums them, and the
// same report as CSV and XLSX files (/exports/spend...).
import { useMemo, useState } from "react";
import { gql } from "../api.js";
import type { Viewer } from "../App.js";
import { Chart, PALETTE, type ChartOption } from "../chart.js";
import {
  SpendDocument,
  type SpendDimension,
  type SpendFiguresFragment,
  type SpendQuery,
} from "../graphql/generated.js";
import { useTexts, type Texts } from "../i18n.js";
import { Field, Loading, TableBox, useLoad } from "../ui.js";
import { ProgramPicker, usePrograms } from "./programs.js";
import { Downloads } from "./Downloads.js";

const DIMENSIONS: SpendDimension[] = ["HUB", "DATA_CENTER", "GPU_MODEL"];

/** "2026-03" → the first instant of that UTC month; with `next`, of the month after. */
function monthStart(month: string, next = false): string {
  const [y, m] = month.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1 + (next ? 1 : 0), 1)).toISOString();
}

/** Every month of the period, like ["2026-01", ..., "2026-12"]. */
function monthsOf(from: string, to: string): string[] {
  const months: string[] = [];
  for (
    let at = new Date(monthStart(from));
    at.toISOString().slice(0, 7) <= to && months.length < 240;
    at.setUTCMonth(at.getUTCMonth() + 1)
  )
    months.push(at.toISOString().slice(0, 7));
  return months;
}

function chartOption(texts: Texts, data: SpendQuery, months: string[]): ChartOption {
  const labels = [...new Set(data.byMonthAndKey.rows.map((r) => r.keys[1].label))];
  const axisFen = (value: number) => texts.fen(BigInt(Math.round(value)));
  return {
    color: PALETTE,
    grid: { left: 8, right: 16, top: 56, bottom: 8, containLabel: true },
    legend: { top: 0, type: "scroll" },
    tooltip: { trigger: "axis", valueFormatter: (value) => axisFen(Number(value)) },
    xAxis: { type: "category", data: months.map((m) => texts.month(m)) },
    yAxis: { type: "value", axisLabel: { formatter: axisFen } },
    series: labels.map((label) => ({
      name: label,
      type: "bar",
      stack: "subsidy",
      barMaxWidth: 48,
      // Integer fen as chart values, exact; the labels turn them into yuan.
      data: months.map((month) =>
        Number(
          data.byMonthAndKey.rows.find((r) => r.keys[0].value === month && r.keys[1].label === label)?.subsidy.fen ?? 0,
        ),
      ),
    })),
  };
}

function FiguresTable({
  caption,
  first,
  rows,
  totals,
}: {
  caption: string;
  first: string;
  rows: SpendFiguresFragment[];
  totals?: SpendFiguresFragment;
}) {
  const texts = useTexts();
  const { t } = texts;
  const name = (row: SpendFiguresFragment) =>
    row.keys.map((k) => (k.dimension === "MONTH" ? texts.month(k.value) : k.label)).join(" · ");
  return (
    <TableBox label={caption}>
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">{first}</th>
          <th scope="col" className="num">
            {t("spend.orders")}
          </th>
          <th scope="col" className="num">
            {t("spend.gpuHours")}
          </th>
          <th scope="col" className="num">
            {t("spend.gross")}
          </th>
          <th scope="col" className="num">
            {t("spend.subsidy")}
          </th>
          <th scope="col" className="num">
            {t("spend.smePaid")}
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.keys.map((k) => k.value).join("/")}>
            <th scope="row">{name(row)}</th>
            <td className="num">{texts.number(row.orders)}</td>
            <td className="num">{texts.number(row.gpuHours)}</td>
            <td className="num">{texts.money(row.gross)}</td>
            <td className="num">{texts.money(row.subsidy)}</td>
            <td className="num">{texts.money(row.smePaid)}</td>
          </tr>
        ))}
        {rows.length === 0 && (
          <tr>
            <td colSpan={6}>{t("spend.none")}</td>
          </tr>
        )}
      </tbody>
      {totals && (
        <tfoot>
          <tr>
            <th scope="row">{t("spend.total")}</th>
            <td className="num">{texts.number(totals.orders)}</td>
            <td className="num">{texts.number(totals.gpuHours)}</td>
            <td className="num">{texts.money(totals.gross)}</td>
            <td className="num">{texts.money(totals.subsidy)}</td>
            <td className="num">{texts.money(totals.smePaid)}</td>
          </tr>
        </tfoot>
      )}
    </TableBox>
  );
}

export function FinanceSpend({ viewer }: { viewer: Viewer }) {
  const texts = useTexts();
  const { t } = texts;
  const programs = usePrograms(viewer);
  const year = new Date().getUTCFullYear();
  const [programId, setProgramId] = useState("");
  const [from, setFrom] = useState(`${year}-01`);
  const [to, setTo] = useState(`${year}-12`);
  const [dimension, setDimension] = useState<SpendDimension>("HUB");
  const valid = /^\d{4}-\d{2}$/.test(from) && /^\d{4}-\d{2}$/.test(to) && from <= to;
  const spend = useLoad(
    () =>
      valid
        ? gql(SpendDocument, {
            programId: programId || null,
            from: monthStart(from),
            to: monthStart(to, true),
            dimension,
          })
        : Promise.resolve(undefined),
    [programId, from, to, dimension, valid],
  );
  const option = useMemo(
    () => (spend.data && valid ? chartOption(texts, spend.data, monthsOf(from, to)) : null),
    [spend.data, texts, from, to, valid],
  );
  const dimensionLabel = texts.code("dimension", dimension);
  // The same report as files: by month and the chosen dimension, over the same period.
  const query = new URLSearchParams({
    from: monthStart(from),
    to: monthStart(to, true),
    groupBy: `MONTH,${dimension}`,
    ...(programId ? { programId } : {}),
  }).toString();
  return (
    <>
      <form className="toolbar" onSubmit={(e) => e.preventDefault()}>
        <ProgramPicker programs={programs.data ?? []} value={programId} onChange={setProgramId} allowAll />
        <Field label={t("spend.from")}>
          {(id) => <input id={id} type="month" value={from} onChange={(e) => setFrom(e.target.value)} />}
        </Field>
        <Field label={t("spend.to")}>
          {(id) => <input id={id} type="month" value={to} onChange={(e) => setTo(e.target.value)} />}
        </Field>
        <Field label={t("spend.by")}>
          {(id) => (
            <select id={id} value={dimension} onChange={(e) => setDimension(e.target.value as SpendDimension)}>
              {DIMENSIONS.map((d) => (
                <option key={d} value={d}>
                  {texts.code("dimension", d)}
                </option>
              ))}
            </select>
          )}
        </Field>
      </form>
      {!valid && <p className="error">{t("spend.badPeriod")}</p>}
      {valid && (
        <Downloads
          title={t("files.title")}
          note={t("files.spendNote")}
          files={[
            { label: "files.csv", path: `/exports/spend.csv?${query}`, name: `spend-${from}-${to}.csv` },
            { label: "files.xlsx", path: `/exports/spend.xlsx?${query}`, name: `spend-${from}-${to}.xlsx` },
          ]}
        />
      )}
      <p className="muted">{t("spend.note")}</p>
      <Loading loaded={spend} />
      {spend.data && (
        <>
          <dl className="figures">
            <div className="figure">
              <dt>{t("spend.subsidy")}</dt>
              <dd>{texts.money(spend.data.byMonth.totals.subsidy)}</dd>
            </div>
            <div className="figure">
              <dt>{t("spend.smePaid")}</dt>
              <dd>{texts.money(spend.data.byMonth.totals.smePaid)}</dd>
            </div>
            <div className="figure">
              <dt>{t("spend.orders")}</dt>
              <dd>{texts.number(spend.data.byMonth.totals.orders)}</dd>
            </div>
            <div className="figure">
              <dt>{t("spend.gpuHours")}</dt>
              <dd>{texts.number(spend.data.byMonth.totals.gpuHours)}</dd>
            </div>
          </dl>
          <section aria-labelledby="spend-chart">
            <h2 id="spend-chart">{t("spend.chartTitle", { by: dimensionLabel })}</h2>
            {option && <Chart option={option} label={t("spend.chartTitle", { by: dimensionLabel })} />}
          </section>
          <FiguresTable
            caption={t("spend.byKey", { by: dimensionLabel })}
            first={dimensionLabel}
            rows={spend.data.byKey.rows}
            totals={spend.data.byMonth.totals}
          />
          <FiguresTable
            caption={t("spend.byMonth")}
            first={t("spend.month")}
            rows={spend.data.byMonth.rows}
            totals={spend.data.byMonth.totals}
          />
        </>
      )}
    </>
  );
}
