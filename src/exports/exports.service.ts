// What a file shows, read with the rules of the GraphQL field it mirrors: the statement and its
// claim lines (cityStatement's), with the names a filed document prints.
import { inArray } from "drizzle-orm";
import type { Executor } from "../db/client.js";
import { dataCenters, organizations } from "../db/schema.js";
import type { Viewer } from "../graphql/context.js";
import * as reports from "../reports/reports.service.js";
import { statementClaimLines } from "./exports.queries.js";
import type { StatementDocument } from "./statement-files.js";

export async function statementDocument(
  db: Executor,
  viewer: Viewer,
  programId: number | null,
  month: string,
): Promise<StatementDocument> {
  const statement = await reports.cityStatement(db, viewer, programId, month);
  const centerIds = statement.lines.map((line) => line.dataCenterId);
  const [claims, centers, [settler]] = await Promise.all([
    statementClaimLines(db, statement.program.id, month),
    centerIds.length
      ? db
          .select({ id: dataCenters.id, name: dataCenters.name, hub: dataCenters.hub })
          .from(dataCenters)
          .where(inArray(dataCenters.id, centerIds))
      : [],
    statement.settledBy == null
      ? []
      : db
          .select({ name: organizations.name })
          .from(organizations)
          .where(inArray(organizations.id, [statement.settledBy])),
  ]);
  return {
    statement,
    claims,
    dataCenters: new Map(centers.map((dc) => [dc.id, { name: dc.name, hub: dc.hub }])),
    settledBy: settler?.name ?? null,
  };
}
