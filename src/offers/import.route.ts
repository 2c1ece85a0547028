// POST /imports/offers: an operator uploads offers as CSV (UTF-8, a header row of
// PublishOfferInput's field names, hardware.* for the declaration) with its API key, and gets a
// report per row. All or nothing, like publishOffers: with one bad row nothing is written.
// `?dryRun=true` checks everything (the data centers too) and writes nothing.
import type { Request, RequestHandler, Response } from "express";
import type { Authenticator } from "../accounts/auth.js";
import { bearerToken } from "../accounts/tokens.js";
import { recordAuditMany, type AuditActor, type AuditEvent } from "../audit/audit.service.js";
import { BadInput } from "../errors.js";
import { bulkWeight } from "../graphql/limits.js";
import type { CountLimit } from "../graphql/rate-limit.js";
import { decodeId, globalId } from "../graphql/ids.js";
import type { Logger } from "../logger.js";
import type { AppServices } from "../services.js";
import { formatYuan } from "../money.js";
import { parseCsv } from "./csv.js";
import { hardwareDetail } from "./hardware.js";
import { checkOffers, MAX_BULK_OFFERS, publishOffers, type PublishOffer } from "./offers.service.js";

/** The columns a file may have: the input's fields, the declaration's as hardware.*. */
export const IMPORT_COLUMNS = [
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
] as const;
const REQUIRED = ["dataCenterId", "gpuModel", "gpuCount", "pricePerGpuHour", "availableFrom", "availableUntil"];

/** Bytes of a file: 1,000 offers with serial numbers fit well within it. */
export const MAX_IMPORT_BYTES = 4 * 1024 * 1024;

interface RowReport {
  /** The row in the file, the header being row 1. */
  row: number;
  status: "VALID" | "PUBLISHED" | "INVALID";
  offerId: string | null;
  errors: { field: string; message: string }[];
}

function fail(res: Response, status: number, code: string, message: string, headers: Record<string, string> = {}) {
  res
    .status(status)
    .set(headers)
    .json({ errors: [{ message, extensions: { code } }] });
}

const INTEGER = /^\d{1,9}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** One row as publishOffers' input; the fields that cannot even be read, as errors. */
function inputOf(cells: Record<string, string>): { input: PublishOffer; errors: { field: string; message: string }[] } {
  const errors: { field: string; message: string }[] = [];
  const integer = (field: string, fallback?: number): number => {
    const value = (cells[field] ?? "").trim();
    if (value === "" && fallback !== undefined) return fallback;
    if (!INTEGER.test(value)) errors.push({ field, message: `${field} must be a whole number` });
    return Number(value);
  };
  const time = (field: string): Date => {
    const value = (cells[field] ?? "").trim();
    const at = new Date(value);
    if (!DATE_TIME.test(value) || Number.isNaN(at.getTime()))
      errors.push({ field, message: `${field} must be an ISO-8601 time like 2027-01-04T00:00:00Z` });
    return at;
  };
  const dc = decodeId((cells.dataCenterId ?? "").trim());
  if (!dc || dc.type !== "DataCenter")
    errors.push({ field: "dataCenterId", message: 'dataCenterId must be a data center id like "dc_2"' });
  const declared = ["hardware.gpuCount", "hardware.serialNumbers", "hardware.attestationReference"].some(
    (column) => (cells[column] ?? "").trim() !== "",
  );
  const input: PublishOffer = {
    dataCenterId: dc?.key ?? 0,
    gpuModel: (cells.gpuModel ?? "").trim(),
    gpuCount: integer("gpuCount"),
    pricePerGpuHour: (cells.pricePerGpuHour ?? "").trim(),
    availableFrom: time("availableFrom"),
    availableUntil: time("availableUntil"),
    minHours: integer("minHours", 1),
    hardware: declared
      ? {
          gpuCount: integer("hardware.gpuCount"),
          // Serial numbers in one cell, separated by semicolons or spaces.
          serialNumbers: (cells["hardware.serialNumbers"] ?? "").split(/[;\s]+/).filter((s) => s !== ""),
          attestationReference: (cells["hardware.attestationReference"] ?? "").trim() || null,
        }
      : null,
  };
  return { input, errors };
}

/** The caller: an operator's API key, or the answer that refuses it. */
async function operatorOf(req: Request, res: Response, auth: Authenticator) {
  const token = bearerToken(req.headers.authorization);
  const viewer = token ? await auth.viewerOf(token) : null;
  if (!viewer) {
    fail(res, 401, "UNAUTHENTICATED", "A valid API key is required: Authorization: Bearer <token>");
    return null;
  }
  if (viewer.role !== "DATA_CENTER" || viewer.organizationId == null) {
    fail(res, 403, "FORBIDDEN", "Only a data center operator's key imports offers");
    return null;
  }
  return viewer;
}

export function offersImportRoute(
  services: AppServices,
  auth: Authenticator,
  mutations: CountLimit,
  logger: Logger,
): RequestHandler {
  return async (req, res) => {
    try {
      const header = services.config.testClock ? req.headers["x-now"] : undefined;
      const now = typeof header === "string" ? new Date(header) : new Date();
      if (Number.isNaN(now.getTime())) return fail(res, 400, "BAD_USER_INPUT", "X-Now must be an ISO-8601 time");
      const viewer = await operatorOf(req, res, auth);
      if (!viewer) return;
      const dryRun = req.query.dryRun === "true" || req.query.dryRun === "1";

      let text: string;
      try {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(body);
      } catch {
        return fail(res, 400, "BAD_USER_INPUT", "The file must be UTF-8 text");
      }
      let records: string[][];
      try {
        records = parseCsv(text);
      } catch (error) {
        return fail(res, 400, "BAD_USER_INPUT", `The file is not valid CSV: ${(error as Error).message}`);
      }
      const [columns, ...rows] = records;
      const names = (columns ?? []).map((name) => name.trim());
      const unknown = names.filter((name) => !(IMPORT_COLUMNS as readonly string[]).includes(name));
      const missing = REQUIRED.filter((name) => !names.includes(name));
      if (!columns || unknown.length || missing.length || new Set(names).size !== names.length) {
        return fail(
          res,
          400,
          "BAD_USER_INPUT",
          `The header row must name the columns, each once, from: ${IMPORT_COLUMNS.join(", ")}` +
            (missing.length ? `; missing: ${missing.join(", ")}` : "") +
            (unknown.length ? `; unknown: ${unknown.length} column(s)` : ""),
        );
      }
      if (rows.length === 0 || rows.length > MAX_BULK_OFFERS)
        return fail(res, 400, "BAD_USER_INPUT", `The file must have 1 to ${MAX_BULK_OFFERS} rows of offers`);

      // Counted like publishOffers: one mutation per 100 offers, a dry run too.
      const senders = [`ip:${req.socket.remoteAddress ?? "unknown"}`, `key:${viewer.apiKeyId}`];
      const weight = bulkWeight(rows.length);
      const wait = await mutations.take(senders, weight, now.getTime());
      if (wait != null)
        return fail(res, 429, "RATE_LIMITED", `Too many changes (${weight} for this file); retry in ${wait} s`, {
          "retry-after": String(wait),
        });

      const parsed = rows.map((cells, i) => {
        if (cells.length !== names.length)
          return {
            input: null,
            errors: [
              { field: "row", message: `row ${i + 2} has ${cells.length} fields; the header has ${names.length}` },
            ],
          };
        return inputOf(Object.fromEntries(names.map((name, c) => [name, cells[c]])));
      });
      const reports: RowReport[] = parsed.map((p, i) => ({
        row: i + 2,
        status: p.errors.length ? "INVALID" : "VALID",
        offerId: null,
        errors: p.errors,
      }));
      const readable = parsed.flatMap((p, i) => (p.errors.length ? [] : [{ index: i, input: p.input! }]));
      const operatorId = viewer.organizationId!;
      const inputs = readable.map((r) => r.input);
      const check = (db: typeof services.db) =>
        inputs.length
          ? checkOffers(db, services.catalog, operatorId, inputs, now, (i) => `#${i}`)
          : Promise.resolve([]);
      try {
        await check(services.db);
      } catch (error) {
        if (!(error instanceof BadInput)) throw error;
        for (const problem of error.problems ?? [{ field: `#0.${error.field}`, message: error.message }]) {
          const match = /^#(\d+)\.(.*)$/.exec(problem.field);
          if (!match) continue;
          const report = reports[readable[Number(match[1])].index];
          report.status = "INVALID";
          report.errors.push({ field: match[2], message: problem.message });
        }
      }
      const invalid = reports.filter((r) => r.status === "INVALID").length;
      if (invalid > 0 || dryRun) {
        return res
          .status(invalid > 0 ? 422 : 200)
          .json({ dryRun, valid: invalid === 0, published: 0, invalid, rows: reports });
      }

      const actor: AuditActor = {
        organizationId: operatorId,
        apiKeyId: viewer.apiKeyId,
        role: viewer.role,
        requestId: String(req.headers["x-request-id"] ?? "").slice(0, 64) || "import",
        now,
      };
      const published = await services.db.transaction(async (tx) => {
        const done = await publishOffers(tx, services.catalog, operatorId, inputs, now);
        const events: AuditEvent[] = done.flatMap(({ offer, hardware }) => [
          {
            action: "PUBLISH_OFFER" as const,
            targetId: offer.id,
            detail: `${offer.status} ${services.catalog.model(offer.gpuModelId).name} x${offer.gpuCount} at ${formatYuan(offer.pricePerGpuHour)}/GPU-h until ${offer.availableUntil.toISOString()} (CSV import)`,
          },
          ...(hardware
            ? [{ action: "DECLARE_OFFER_HARDWARE" as const, targetId: offer.id, detail: hardwareDetail(hardware) }]
            : []),
        ]);
        await recordAuditMany(tx, actor, events);
        return done.map((d) => d.offer);
      });
      published.forEach((offer, i) => {
        const report = reports[readable[i].index];
        report.status = "PUBLISHED";
        report.offerId = globalId("Offer", offer.id);
      });
      await services
        .afterCapacityFreed(
          { app: services, now },
          [...new Set(published.map((o) => o.gpuModelId))],
          published.map((o) => o.id),
        )
        .catch((error: unknown) => logger.warn({ err: error }, "re-matching after an import failed"));
      return res.status(200).json({ dryRun, valid: true, published: published.length, invalid: 0, rows: reports });
    } catch (error) {
      if (error instanceof BadInput) return fail(res, 400, "BAD_USER_INPUT", error.message);
      logger.error({ err: error }, "offer import failed");
      if (!res.headersSent) fail(res, 500, "INTERNAL_SERVER_ERROR", "Internal error");
    }
  };
}
