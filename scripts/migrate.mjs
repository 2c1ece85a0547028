// `npm run db:migrate`: build when needed (as `npm start` does), then apply the pending migrations.
import { ensureBuilt } from "./dist.mjs";

ensureBuilt([["dist/db/migrate-main.js", "src"]]);
await import("../dist/db/migrate-main.js");
