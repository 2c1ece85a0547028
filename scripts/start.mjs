// `npm start`: build when the sources are newer than dist/ (and can be built here), then run the server.
import { ensureBuilt } from "./dist.mjs";

ensureBuilt("dist/main.js");
await import("../dist/main.js");
