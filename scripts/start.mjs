// `npm start`: build when the sources (src/, and console/ for the web console) are newer than dist/,
// then run the server.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const entry = "dist/main.js";
const consolePage = "dist/console/index.html";
if (
  !existsSync(entry) ||
  !existsSync(consolePage) ||
  newest("src") > statSync(entry).mtimeMs ||
  newest("console") > statSync(consolePage).mtimeMs
) {
  console.log("building dist/ ...");
  execFileSync(
    "npm",
    ["run", "-s", "build"], // package.json's build: one definition of how dist/ is made
    {
      stdio: "inherit",
    },
  );
}
await import("../dist/main.js");
