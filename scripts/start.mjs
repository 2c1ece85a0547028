// `npm start`: build when the sources (src/, and console/ for the web console) are newer than
// dist/ and can be built here, then run the server.
import { ensureBuilt } from "./dist.mjs";

ensureBuilt([
  ["dist/main.js", "src"],
  ["dist/console/index.html", "console"],
]);
await import("../dist/main.js");
