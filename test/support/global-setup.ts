// Builds dist/ once, for the tests that start the server as separate processes.
import { execFileSync } from "node:child_process";

export default function setup() {
  execFileSync(
    process.execPath,
    [
      "node_modules/@swc/cli/bin/swc.js",
      "src",
      "-d",
      "dist",
      "--strip-leading-paths",
      "--config-file",
      ".swcrc",
      "--quiet",
    ],
    { stdio: "inherit" },
  );
}
