// A program's budget at a glance: total, available, pending, spent, how available and spent
// moved over time (the burn-down, walked back from today's balances through the budget ledger),
// where the budget is heading (the API's forecast), and the policy's figures for the year
// (policyReport: western and domestic shares, each hub's utilization by month).
import { useMemo, useState } from "react";
import { gql } from "../api.js";
import type { Viewer } from "../App.js";
import { Chart, PALETTE, type ChartOption } from "../chart.js";
import {
  ForecastDocument,
  LedgerDocument,
  PolicyDocument,
  type ForecastQuery,
  type LedgerQuery,
  type PolicyQuery,
} from "../graphql/generated.js";
import { useTexts, type Texts } from "../i18n.js";
import { Loading, Status, TableBox, useLoad } from "../ui.js";
import { ProgramPicker, usePrograms, type Program } from "./programs.js";

type Entry = LedgerQuery["budgetLedger"]["edges"][number]["node"];

/** The ledger's newest entries, at most 500 (five pages): enough for the chart of a busy year's start. */
async function loadLedger(programId: string): Promise<{ entries: Entry[]; complete: boolean }> {
  const entries: Entry[] = [];
  let after: string | null = null;
  for (let page = 0; page < 5; page++) {
    const { budgetLedger }: LedgerQuery = await gql(LedgerDocument, { programId, first: 100, after });
    entries.push(...budgetLedger.edges.map((e) => e.node));
    if (!budgetLedger.pageInfo.hasNextPage) return { entries, complete: true };
    after = budgetLedger.pageInfo.endCursor ?? null;
  }
  return { entries, complete: false };
}

/** Points of available and spent (in fen) over time, from today's balances back through the entries. */
export function burnDown(program: Program, entries: Entry[]): { at: string; available: bigint; spent: bigint }[] {
  let available = BigInt(program.budgetStatus.available.fen);
  let spent = BigInt(program.budgetStatus.spent.fen);
  const points = [{ at: new Date().toISOString(), available, spent }];
  for (const entry of entries) {
    points.push({ at: entry.createdAt, available, spent });
    const amount = BigInt(entry.amount.fen);
    // Undo the entry: RESERVE took from available, VOID and REFUND gave back, POST and REFUND moved spent.
    if (entry.kind === "RESERVE") available += amount;
    if (entry.kind === "VOID" || entry.kind === "REFUND") available -= amount;
    if (entry.kind === "POST") spent -= amount;
    if (entry.kind === "REFUND") spent += amount;
  }
  points.push({ at: entries.length ? entries[entries.length - 1].createdAt : program.validFrom, available, spent });
  points.push({ at: program.createdAt, available, spent });
  return points.reverse();
}

function burnDownOption(texts: Texts, points: ReturnType<typeof burnDown>): ChartOption {
  const axisFen = (value: number) => texts.fen(BigInt(Math.round(value)));
  // Within two days, the axis names hours; beyond, days.
  const span = new Date(points[points.length - 1].at).getTime() - new Date(points[0].at).getTime();
  const axisTime = (value: number) => {
    const iso = new Date(value).toISOString();
    return span < 2 * 86_400_000 ? texts.dateTime(iso) : texts.date(iso);
  };
  return {
    color: PALETTE,
    grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
    legend: { top: 0 },
    tooltip: {
      trigger: "axis",
      valueFormatter: (value) => axisFen(Number(value)),
    },
    xAxis: {
      type: "time",
      axisLabel: { formatter: axisTime, hideOverlap: true },
    },
    // Available on the left from 0 to the budget; spent on the right, on its own scale.
    yAxis: [
      { type: "value", axisLabel: { formatter: axisFen } },
      { type: "value", axisLabel: { formatter: axisFen }, splitLine: { show: false } },
    ],
    series: [
      {
        name: texts.t("budget.available"),
        type: "line",
        step: "end",
        showSymbol: false,
        // Integer fen as chart values: exact up to 2^53 fen.
        data: points.map((p) => [p.at, Number(p.available)]),
      },
      {
        name: texts.t("budget.spent"),
        type: "line",
        yAxisIndex: 1,
        step: "end",
        showSymbol: false,
        data: points.map((p) => [p.at, Number(p.spent)]),
      },
    ],
  };
}

export function FinanceDashboard({ viewer }: { viewer: Viewer }) {
  const texts = useTexts();
  const { t } = texts;
  const programs = usePrograms(viewer);
  const [chosen, setChosen] = useState("");
  const list = programs.data ?? [];
  const program = list.find((p) => p.id === chosen) ?? list[0];
  const ledger = useLoad(() => (program ? loadLedger(program.id) : Promise.resolve(null)), [program?.id]);
  const forecast = useLoad(
    () =>
      program
        ? gql(ForecastDocument, { city: program.city }).then(
            (d) => d.subsidyPrograms.find((p) => p.id === program.id) ?? null,
          )
        : Promise.resolve(null),
    [program?.id],
  );
  const option = useMemo(
    () => (program && ledger.data ? burnDownOption(texts, burnDown(program, ledger.data.entries)) : null),
    [program, ledger.data, texts],
  );

  if (!programs.data) return <Loading loaded={programs} />;
  if (!program) return <p>{t("finance.noPrograms")}</p>;
  const status = program.budgetStatus;
  const figures = [
    ["budget.total", status.total],
    ["budget.available", status.available],
    ["budget.pending", status.pending],
    ["budget.spent", status.spent],
  ] as const;
  return (
    <>
      <div className="toolbar">
        <ProgramPicker programs={list} value={program.id} onChange={setChosen} />
      </div>
      <section aria-labelledby="program-name">
        <h2 id="program-name">
          {program.name} <Status prefix="programStatus" code={program.status} />
        </h2>
        <p className="muted">
          {t("finance.programLine", {
            city: program.city,
            rate: texts.bp(program.rateBasisPoints),
            from: texts.date(program.validFrom),
            until: texts.date(program.validUntil),
          })}
          {program.domesticRateBasisPoints != null &&
            ` · ${t("finance.domesticRate", { rate: texts.bp(program.domesticRateBasisPoints) })}`}
          {program.eligibleHubs.length > 0 && ` · ${t("finance.hubs")}: ${program.eligibleHubs.join(", ")}`}
        </p>
        <dl className="figures">
          {figures.map(([key, money]) => (
            <div key={key} className={`figure figure-${key.slice(7)}`}>
              <dt>{t(key)}</dt>
              <dd>{texts.money(money)}</dd>
            </div>
          ))}
        </dl>
      </section>
      <section aria-labelledby="burn-down">
        <h2 id="burn-down">{t("finance.burnDown")}</h2>
        <Loading loaded={ledger} />
        {option && <Chart option={option} label={t("finance.burnDownLabel", { name: program.name })} />}
        {ledger.data && !ledger.data.complete && <p className="muted">{t("finance.ledgerPartial")}</p>}
        <Loading loaded={forecast} />
        {forecast.data?.forecast && (
          <ForecastFigures forecast={forecast.data.forecast} until={forecast.data.validUntil} />
        )}
      </section>
      <PolicyFigures city={viewer.organization?.city ?? null} />
      <section aria-labelledby="ledger">
        <h2 id="ledger">{t("finance.ledger")}</h2>
        {ledger.data && (
          <TableBox label={t("finance.ledger")}>
            <thead>
              <tr>
                <th scope="col">{t("common.time")}</th>
                <th scope="col">{t("finance.entryKind")}</th>
                <th scope="col" className="num">
                  {t("common.amount")}
                </th>
              </tr>
            </thead>
            <tbody>
              {ledger.data.entries.slice(0, 20).map((entry: Entry) => (
                <tr key={entry.id}>
                  <td>{texts.dateTime(entry.createdAt)}</td>
                  <td>{texts.code("ledgerKind", entry.kind)}</td>
                  <td className="num">{texts.money(entry.amount)}</td>
                </tr>
              ))}
              {ledger.data.entries.length === 0 && (
                <tr>
                  <td colSpan={3}>{t("finance.noEntries")}</td>
                </tr>
              )}
            </tbody>
          </TableBox>
        )}
      </section>
    </>
  );
}

type Forecast = NonNullable<ForecastQuery["subsidyPrograms"][number]["forecast"]>;

/** The API's forecast beside the burn-down: when the available budget runs out at the last 30 days' pace. */
function ForecastFigures({ forecast, until }: { forecast: Forecast; until: string }) {
  const texts = useTexts();
  const { t } = texts;
  return (
    <div className="forecast" aria-labelledby="forecast-title" role="group">
      <h3 id="forecast-title">{t("forecast.title")}</h3>
      <dl className="figures">
        <div className="figure figure-exhausts">
          <dt>{t("forecast.exhaustsAt")}</dt>
          <dd data-testid="forecast-date">
            {forecast.exhaustsAt
              ? texts.date(forecast.exhaustsAt)
              : t(BigInt(forecast.committedLast30Days.fen) > 0n ? "forecast.beyond" : "forecast.idle")}
          </dd>
        </div>
        <div className="figure">
          <dt>{t("forecast.monthsLeft")}</dt>
          <dd>{forecast.monthsLeft == null ? "—" : texts.number(forecast.monthsLeft)}</dd>
        </div>
        <div className="figure">
          <dt>{t("forecast.perDay")}</dt>
          <dd>{texts.money(forecast.committedPerDay)}</dd>
        </div>
        <div className="figure">
          <dt>{t("forecast.last30")}</dt>
          <dd>{texts.money(forecast.committedLast30Days)}</dd>
        </div>
      </dl>
      {forecast.runsOutBeforeEnd && <p className="warn">{t("forecast.beforeEnd", { until: texts.date(until) })}</p>}
      {forecast.thresholdsCrossed.length > 0 && (
        <p className="warn">
          {t("forecast.thresholds", { list: forecast.thresholdsCrossed.map((p) => `${p}%`).join(", ") })}
        </p>
      )}
      <p className="muted">{t("forecast.note")}</p>
    </div>
  );
}

type Report = PolicyQuery["policyReport"];

function policyOption(texts: Texts, report: Report): ChartOption {
  const hubs = report.hubs.filter((h) => h.offeredGpuHours > 0);
  const periods = hubs[0]?.periods.map((p) => p.start) ?? [];
  return {
    color: PALETTE,
    // The hubs' names wrap below the chart (a scrolling legend would reach past a phone's edge).
    grid: { left: 8, right: 16, top: 16, bottom: 96, containLabel: true },
    legend: { bottom: 0, type: "plain" },
    tooltip: {
      trigger: "axis",
      valueFormatter: (value) => (value == null ? "—" : texts.share(Number(value))),
    },
    xAxis: { type: "category", data: periods.map((start) => texts.month(start.slice(0, 7))) },
    yAxis: { type: "value", min: 0, axisLabel: { formatter: (value: number) => texts.share(value) } },
    series: hubs.map((hub) => ({
      name: hub.hub,
      type: "line",
      connectNulls: false,
      data: hub.periods.map((p) => p.utilization),
    })),
  };
}

/** The policy's own figures over the year (China time): shares, subsidy per GPU-hour, hubs' utilization. */
function PolicyFigures({ city }: { city: string | null }) {
  const texts = useTexts();
  const { t } = texts;
  // The year in China time (the report's days are the billing time zone's).
  const year = new Date(Date.now() + 8 * 3_600_000).getUTCFullYear();
  const report = useLoad(
    () =>
      gql(PolicyDocument, { city, from: `${year}-01-01`, to: `${year + 1}-01-01`, granularity: "MONTH" }).then(
        (d) => d.policyReport,
      ),
    [city, year],
  );
  const option = useMemo(() => (report.data ? policyOption(texts, report.data) : null), [report.data, texts]);
  const r = report.data;
  const hours = (value: number) => texts.number(value);
  const share = (bp: number | null | undefined, part: number) =>
    bp == null ? (
      t("policy.none")
    ) : (
      <>
        {texts.bp(bp)}
        <small>{t("policy.shareOf", { part: hours(part), hours: hours(r!.subsidizedGpuHours) })}</small>
      </>
    );
  return (
    <section aria-labelledby="policy-title">
      <h2 id="policy-title">{t("policy.title")}</h2>
      <Loading loaded={report} />
      {r && (
        <>
          <p className="muted">{t("policy.period", { from: r.from, to: r.to })}</p>
          <dl className="figures">
            <div className="figure figure-western">
              <dt>{t("policy.western")}</dt>
              <dd>{share(r.westernShareBasisPoints, r.westernGpuHours)}</dd>
            </div>
            <div className="figure figure-domestic">
              <dt>{t("policy.domestic")}</dt>
              <dd>{share(r.domesticShareBasisPoints, r.domesticGpuHours)}</dd>
            </div>
            <div className="figure">
              <dt>{t("policy.perGpuHour")}</dt>
              <dd>{texts.money(r.subsidyPerGpuHour)}</dd>
            </div>
            <div className="figure">
              <dt>{t("policy.smes")}</dt>
              <dd>{texts.number(r.smesServed)}</dd>
            </div>
          </dl>
          <h3 id="policy-chart">{t("policy.chartTitle")}</h3>
          {option && <Chart option={option} label={t("policy.chartLabel")} height={400} />}
          <TableBox label={t("policy.table")}>
            <caption>{t("policy.table")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("policy.hub")}</th>
                <th scope="col">{t("policy.region")}</th>
                <th scope="col" className="num">
                  {t("policy.offered")}
                </th>
                <th scope="col" className="num">
                  {t("policy.reserved")}
                </th>
                <th scope="col" className="num">
                  {t("policy.utilization")}
                </th>
              </tr>
            </thead>
            <tbody>
              {r.hubs.map((hub) => (
                <tr key={hub.hub}>
                  <th scope="row">{hub.hub}</th>
                  <td>{t(hub.western ? "policy.westernHub" : "policy.easternHub")}</td>
                  <td className="num">{hours(hub.offeredGpuHours)}</td>
                  <td className="num">{hours(hub.reservedGpuHours)}</td>
                  <td className="num">{hub.utilization == null ? "—" : texts.share(hub.utilization)}</td>
                </tr>
              ))}
            </tbody>
          </TableBox>
        </>
      )}
    </section>
  );
}
