// Builds dist/ once, for the tests that start the server as separate processes.
import { execFileSync } from "node:child_process";

export default function setup() {
  execFileSync(
    "npm",
    ["run", "-s", "build"], // package.json's build: one definition of how dist/ is made
    { stdio: "inherit" },
  );
}
