// Utilization of the operator's data centers over a chosen period, a point per day (per week
// for periods past two months): reserved GPU-hours over offered GPU-hours, as the API reports it.
import { useMemo, useState } from "react";
import { gql } from "../api.js";
import type { Viewer } from "../App.js";
import { Chart, PALETTE, type ChartOption } from "../chart.js";
import { UtilizationDocument, type UtilizationQuery } from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { Field, Loading, TableBox, useLoad } from "../ui.js";

const DAY = 86_400_000;

/** Midnight China time of a yyyy-mm-dd, as an instant. */
const chinaMidnight = (day: string) => new Date(`${day}T00:00:00+08:00`).getTime();
const chinaDay = (time: number) => new Date(time + 8 * 3_600_000).toISOString().slice(0, 10);

interface Series {
  buckets: { from: string; to: string }[];
  dataCenters: { id: string; name: string; hub: string; values: number[]; whole: number }[];
}

async function loadSeries(viewer: Viewer, from: string, to: string): Promise<Series> {
  const start = chinaMidnight(from);
  const end = chinaMidnight(to) + DAY;
  const step = end - start > 62 * DAY ? 7 * DAY : DAY;
  const buckets: Series["buckets"] = [];
  for (let at = start; at < end && buckets.length < 60; at += step)
    buckets.push({ from: new Date(at).toISOString(), to: new Date(Math.min(at + step, end)).toISOString() });
  const mine = (d: { operator: { id: string } }) => d.operator.id === viewer.organization?.id;
  // One request per bucket, a few at a time; and the whole period for the table.
  const results: UtilizationQuery[] = [];
  for (let i = 0; i < buckets.length; i += 6) {
    const page = await Promise.all(buckets.slice(i, i + 6).map((b) => gql(UtilizationDocument, b)));
    results.push(...page);
  }
  const whole = await gql(UtilizationDocument, {
    from: new Date(start).toISOString(),
    to: new Date(end).toISOString(),
  });
  const dataCenters = whole.dataCenters.filter(mine).map((d) => ({
    id: d.id,
    name: d.name,
    hub: d.hub,
    whole: d.utilization,
    values: results.map((r) => r.dataCenters.find((x) => x.id === d.id)?.utilization ?? 0),
  }));
  return { buckets, dataCenters };
}

export function OperatorUtilization({ viewer }: { viewer: Viewer }) {
  const texts = useTexts();
  const { t } = texts;
  const today = chinaDay(Date.now());
  const [from, setFrom] = useState(today);
  const [to, setTo] = useState(chinaDay(Date.now() + 13 * DAY));
  const valid = /^\d{4}-\d{2}-\d{2}$/.test(from) && /^\d{4}-\d{2}-\d{2}$/.test(to) && from <= to;
  const series = useLoad(() => (valid ? loadSeries(viewer, from, to) : Promise.resolve(undefined)), [from, to, valid]);
  const option = useMemo<ChartOption | null>(() => {
    if (!series.data) return null;
    return {
      color: PALETTE,
      grid: { left: 8, right: 16, top: 56, bottom: 8, containLabel: true },
      legend: { top: 0, type: "scroll" },
      tooltip: { trigger: "axis", valueFormatter: (value) => texts.share(Number(value)) },
      xAxis: { type: "category", data: series.data.buckets.map((b) => texts.date(b.from)) },
      yAxis: { type: "value", min: 0, max: 1, axisLabel: { formatter: (v: number) => texts.share(v) } },
      series: series.data.dataCenters.map((d) => ({ name: d.name, type: "line", data: d.values, showSymbol: false })),
    };
  }, [series.data, texts]);
  return (
    <>
      <div className="toolbar">
        <Field label={t("utilization.from")}>
          {(id) => <input id={id} type="date" value={from} onChange={(e) => setFrom(e.target.value)} />}
        </Field>
        <Field label={t("utilization.to")}>
          {(id) => <input id={id} type="date" value={to} onChange={(e) => setTo(e.target.value)} />}
        </Field>
      </div>
      {!valid && <p className="error">{t("spend.badPeriod")}</p>}
      <p className="muted">{t("utilization.note")}</p>
      <Loading loaded={series} />
      {series.data && option && (
        <>
          <Chart option={option} label={t("utilization.chart")} />
          <TableBox label={t("utilization.table")}>
            <caption>{t("utilization.table")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("common.dataCenter")}</th>
                <th scope="col">{t("common.hub")}</th>
                <th scope="col" className="num">
                  {t("utilization.whole")}
                </th>
              </tr>
            </thead>
            <tbody>
              {series.data.dataCenters.map((d) => (
                <tr key={d.id}>
                  <th scope="row">{d.name}</th>
                  <td>{d.hub}</td>
                  <td className="num">{texts.share(d.whole)}</td>
                </tr>
              ))}
            </tbody>
          </TableBox>
        </>
      )}
    </>
  );
}
