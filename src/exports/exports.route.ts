// GET /exports/...: a month's statement as CSV, XLSX or PDF, and the spend report as CSV or XLSX.
// The same API keys and rules as the GraphQL fields they mirror (cityStatement, subsidySpend): a
// finance team its own city's programs, the admin every city. Errors answer JSON like GraphQL's,
// `{ "errors": [{ "message", "extensions": { "code" } }] }`, with the HTTP status of the code
// (app.ts wires the sign-in, the limit and the answers of errors, as for /graphql).
import express from "express";
import type http from "node:http";
import type { Context, Viewer } from "../graphql/context.js";
import type { AppServices } from "../services.js";
import { badInput, forbidden } from "../errors.js";
import { parseId, parseOptionalId } from "../graphql/ids.js";
import { DateTimeScalar } from "../graphql/scalars.js";
import * as reports from "../reports/reports.service.js";
import { statementDocument } from "./exports.service.js";
import { statementCsv, statementPdf, statementXlsx } from "./statement-files.js";
import { spendCsv, spendXlsx } from "./spend-files.js";

/** Who is calling, as /graphql reads it (app.ts): the viewer on the request's clock. */
export type Caller = Pick<Context, "viewer" | "now" | "requestId" | "ip">;

/** What app.ts gives the routes: the signed-in caller (within its limit), and how an error is answered. */
export interface ExportsWiring {
  /** The caller with a valid key, or throws UNAUTHENTICATED (or RATE_LIMITED past the exports' limit). */
  caller(req: http.IncomingMessage): Promise<Caller & { viewer: Viewer }>;
  fail(res: express.Response, error: unknown): void;
}

const TYPES = {
  csv: "text/csv; charset=utf-8",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
  pdf: "application/pdf",
} as const;
type Format = keyof typeof TYPES;

function send(res: express.Response, format: Format, filename: string, body: Buffer): void {
  res.setHeader("content-type", TYPES[format]);
  res.setHeader("content-disposition", `attachment; filename="${filename}"`);
  res.setHeader("cache-control", "no-store");
  res.send(body);
}

function dateParam(field: string, value: unknown): Date {
  try {
    return DateTimeScalar.parseValue(value) as Date;
  } catch {
    throw badInput(field, `${field} must be an RFC 3339 date-time, like 2026-12-01T00:00:00Z`);
  }
}

/** The named query parameters, each given once at most (a repeated one is BAD_USER_INPUT). */
function queryParams<K extends string>(query: unknown, names: K[]): Partial<Record<K, string>> {
  const given = query as Record<string, unknown>;
  const params: Partial<Record<K, string>> = {};
  for (const name of names) {
    const value = given[name];
    if (value === undefined) continue;
    if (typeof value !== "string") throw badInput(name, `${name} may be given once, as text`);
    params[name] = value;
  }
  return params;
}

const SPEND_DIMENSIONS = new Set<reports.Dimension>([
  "MONTH",
  "DAY",
  "PROGRAM",
  "DATA_CENTER",
  "HUB",
  "GPU_MODEL",
  "SME",
]);

export function exportsRouter(app: AppServices, wiring: ExportsWiring): express.Router {
  const router = express.Router();

  /** The caller, once it is a finance team or the admin. */
  async function financeCaller(req: express.Request) {
    const caller = await wiring.caller(req);
    if (caller.viewer.role !== "CITY_FINANCE" && caller.viewer.role !== "ADMIN")
      throw forbidden("Exports are for city finance teams and the admin");
    return caller;
  }

  router.get("/statements/:programId/:file", async (req, res) => {
    try {
      const match = /^(.+)\.(csv|xlsx|pdf)$/.exec(req.params.file);
      if (!match)
        throw badInput("file", 'The file must be a month and a format, like "2026-11.csv", ".xlsx" or ".pdf"');
      const [, month, format] = match as unknown as [string, string, Format];
      const { viewer } = await financeCaller(req);
      const doc = await statementDocument(
        app.db,
        viewer,
        parseId("programId", req.params.programId, "SubsidyProgram"),
        month,
      );
      const body =
        format === "csv" ? statementCsv(doc) : format === "xlsx" ? await statementXlsx(doc) : await statementPdf(doc);
      send(res, format, `statement-${req.params.programId}-${month}.${format}`, body);
    } catch (error) {
      wiring.fail(res, error);
    }
  });

  router.get("/spend.:format", async (req, res) => {
    try {
      const format = req.params.format;
      if (format !== "csv" && format !== "xlsx") throw badInput("format", "The spend report exports as .csv or .xlsx");
      const { viewer } = await financeCaller(req);
      const q = queryParams(req.query, ["from", "to", "groupBy", "city", "programId"]);
      const groupBy = (q.groupBy ?? "")
        .split(",")
        .map((d) => d.trim())
        .filter(Boolean) as reports.Dimension[];
      if (groupBy.some((d) => !SPEND_DIMENSIONS.has(d)))
        throw badInput("groupBy", `groupBy lists dimensions, comma-separated, of ${[...SPEND_DIMENSIONS].join(", ")}`);
      const from = dateParam("from", q.from);
      const to = dateParam("to", q.to);
      const report = await reports.subsidySpend(app.db, viewer, {
        programId: parseOptionalId("programId", q.programId, "SubsidyProgram"),
        programAsked: q.programId != null,
        city: q.city ?? null,
        from,
        to,
        groupBy,
      });
      const doc = {
        dimensions: [...new Set(groupBy)],
        rows: report.rows,
        totals: report.totals,
        title: `subsidySpend ${q.city ?? viewer.city ?? "all cities"}${q.programId ? ` ${q.programId}` : ""}, ${from.toISOString()} .. ${to.toISOString()}`,
      };
      const body = format === "csv" ? spendCsv(doc) : await spendXlsx(doc);
      send(res, format, `spend-${from.toISOString().slice(0, 10)}-${to.toISOString().slice(0, 10)}.${format}`, body);
    } catch (error) {
      wiring.fail(res, error);
    }
  });
  return router;
}
