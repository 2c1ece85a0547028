// A program's budget at a glance: total, available, pending, spent, and how available and spent
// moved over time (the burn-down), walked back from today's balances through the budget ledger.
import { useMemo, useState } from "react";
import { gql } from "../api.js";
import type { Viewer } from "../App.js";
import { Chart, PALETTE, type ChartOption } from "../chart.js";
import { LedgerDocument, type LedgerQuery } from "../graphql/generated.js";
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
      </section>
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
