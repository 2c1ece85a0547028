// dist/ for `npm start` and `npm run db:migrate`: built from src/ when the sources are newer and the
// build tool is installed; an artifact installed with `npm ci --omit=dev` runs the dist/ it ships.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function canBuild() {
  try {
    createRequire(import.meta.url).resolve("@swc/cli/package.json");
    return existsSync("src");
  } catch {
    return false; // a production install: no dev dependencies
  }
}

/**
 * Makes sure each built file exists and is not older than its sources ([built, sources dir]), when
 * the sources and the build tool are here; else runs what dist/ holds.
 */
export function ensureBuilt(outputs) {
  const stale = outputs.some(
    ([built, sources]) => !existsSync(built) || (existsSync(sources) && newest(sources) > statSync(built).mtimeMs),
  );
  if (!stale) return;
  if (!canBuild()) {
    const missing = outputs.filter(([built]) => !existsSync(built)).map(([built]) => built);
    if (missing.length === 0) {
      // The artifact's dist/ is what runs; next to newer sources, say so.
      if (existsSync("src")) console.warn("dist/ is older than src/ and cannot be rebuilt here (no dev dependencies)");
      return;
    }
    console.error(
      `${missing.join(", ")} missing and cannot be built here (the build needs the dev dependencies): ` +
        "run `npm ci && npm run build` first, or install an artifact made by `npm run artifact` (README: In production)",
    );
    process.exit(1);
  }
  console.log("building dist/ ...");
  execFileSync("npm", ["run", "-s", "build"], { stdio: "inherit" }); // package.json's build: one definition
}
