// `npm run bench -- --compare REV [--quick] [--rounds N]`: this revision's server against REV's on
// one loaded database. REV is checked out into a temporary git worktree (its node_modules linked
// when its package-lock.json is this one's, else `npm ci`), built there, and scripts/bench.mjs is run
// again with --other-dist: it loads the database, starts both servers and runs each scenario in
// rounds, this one then the other (A B A B ...), and prints per scenario the ratios this / other
// with their spread over the rounds. The worktree is removed at the end, whatever happens.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const git = (...argv) => execFileSync("git", argv, { encoding: "utf8" }).trim();

export async function prepareOther(args) {
  const rev = args.compare;
  const commit = git("rev-parse", "--verify", `${rev}^{commit}`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-compare-"));
  console.log(
    `compare: this working tree (${git("rev-parse", "--short", "HEAD")}) against ${rev} (${commit.slice(0, 9)}) in ${dir}`,
  );
  try {
    git("worktree", "add", "--detach", dir, commit);
    const sameLock =
      existsSync("node_modules") &&
      existsSync(path.join(dir, "package-lock.json")) &&
      readFileSync(path.join(dir, "package-lock.json"), "utf8") === readFileSync("package-lock.json", "utf8");
    if (sameLock) {
      console.log(`  same package-lock.json: node_modules linked`);
      symlinkSync(path.resolve("node_modules"), path.join(dir, "node_modules"), "dir");
      for (const sub of ["console"]) {
        const own = path.resolve(sub, "node_modules");
        if (existsSync(own) && existsSync(path.join(dir, sub)))
          symlinkSync(own, path.join(dir, sub, "node_modules"), "dir");
      }
    } else {
      console.log(`  package-lock.json differs: npm ci in the worktree`);
      execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: dir, stdio: "inherit" });
    }
    console.log(`  building ${rev}`);
    execFileSync("npm", ["run", "-s", "build"], { cwd: dir, stdio: "inherit" });
    const argv = process.argv.slice(2).concat(["--other-dist", dir]);
    const run = spawnSync(process.execPath, [process.argv[1], ...argv], { stdio: "inherit" });
    return run.status ?? 1;
  } finally {
    // The links first: the worktree's removal must not reach into this tree's node_modules.
    for (const link of ["node_modules", "console/node_modules"]) {
      const at = path.join(dir, link);
      if (existsSync(at) && lstatSync(at).isSymbolicLink()) unlinkSync(at);
    }
    try {
      git("worktree", "remove", "--force", dir);
    } catch {
      rmSync(dir, { recursive: true, force: true });
      git("worktree", "prune");
    }
    console.log(`compare: worktree ${dir} removed`);
  }
}

const quantile = (sorted, q) => {
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (at - low);
};
const spread = (values) => {
  const sorted = values.filter((v) => v != null && Number.isFinite(v)).sort((a, b) => a - b);
  if (!sorted.length) return null;
  return {
    median: Number(quantile(sorted, 0.5).toFixed(2)),
    min: Number(sorted[0].toFixed(2)),
    max: Number(sorted.at(-1).toFixed(2)),
    iqr: [Number(quantile(sorted, 0.25).toFixed(2)), Number(quantile(sorted, 0.75).toFixed(2))],
  };
};

/**
 * Each scenario in `rounds` rounds, this server then the other; `load(proc, round)` runs one timed
 * load on a process and returns runLoad's figures with CPU per request. Ratios are this / other:
 * throughput above 1 and CPU per request below 1 mean this revision does better.
 */
export async function runCompare({ scenarios, rounds, mine, other, log }) {
  const result = {};
  for (const { name, load } of scenarios) {
    log(`\n${name}: ${rounds} rounds, this and ${other.label} in turns, each first in every other round`);
    const perRound = [];
    for (let round = 1; round <= rounds; round++) {
      // Who goes first alternates (A B, B A, ...): a load that follows another finds the database
      // warmer, or busier with what the first left to clean up.
      const first = round % 2 === 1 ? mine : other;
      const firstRun = await load(first, round);
      const secondRun = await load(first === mine ? other : mine, round);
      const [a, b] = first === mine ? [firstRun, secondRun] : [secondRun, firstRun];
      // A scenario one side cannot serve (a field the other revision lacks, a changed input) is
      // not compared: ratios over failed requests would measure the errors.
      if (a.errors || b.errors) {
        const failed = [a.errors && `${a.errors} on this`, b.errors && `${b.errors} on ${other.label}`].filter(Boolean);
        log(`  round ${round}: errors (${failed.join(", ")}): not compared`);
        result[name] = { notCompared: `errors in round ${round}: ${failed.join(", ")}` };
        break;
      }
      const cpu = (r) => (r.nodeCpuMsPerRequest == null ? null : r.nodeCpuMsPerRequest + r.postgresCpuMsPerRequest);
      const row = {
        round,
        thisRequestsPerSecond: a.requestsPerSecond,
        otherRequestsPerSecond: b.requestsPerSecond,
        thisCpuMs: cpu(a),
        otherCpuMs: cpu(b),
        thisP50Ms: a.latencyP50Ms,
        otherP50Ms: b.latencyP50Ms,
        errors: a.errors + b.errors,
        throughput: b.requestsPerSecond ? a.requestsPerSecond / b.requestsPerSecond : null,
        cpu: cpu(a) != null && cpu(b) ? cpu(a) / cpu(b) : null,
      };
      perRound.push(row);
      log(
        `  round ${round}: this ${a.requestsPerSecond} req/s, ${row.thisCpuMs?.toFixed(2)} ms CPU, p50 ${a.latencyP50Ms} ms | ` +
          `other ${b.requestsPerSecond} req/s, ${row.otherCpuMs?.toFixed(2)} ms CPU, p50 ${b.latencyP50Ms} ms | ` +
          `throughput x${row.throughput?.toFixed(2)}, CPU x${row.cpu?.toFixed(2)}${row.errors ? `, ${row.errors} errors` : ""}`,
      );
    }
    if (result[name]) continue;
    result[name] = {
      rounds: perRound,
      throughput: spread(perRound.map((r) => r.throughput)),
      cpu: spread(perRound.map((r) => r.cpu)),
    };
  }
  log(`\ncompare summary: this / ${other.label}, median (min-max; IQR) over the rounds`);
  log(`  throughput above 1 and CPU per request below 1: this revision does better`);
  for (const [name, r] of Object.entries(result))
    log(
      r.notCompared
        ? `  ${name.padEnd(16)} not compared: ${r.notCompared}`
        : `  ${name.padEnd(16)} throughput ${r.throughput.median} (${r.throughput.min}-${r.throughput.max}; ${r.throughput.iqr.join("-")})` +
            `   CPU per request ${r.cpu?.median} (${r.cpu?.min}-${r.cpu?.max}; ${r.cpu?.iqr.join("-")})`,
    );
  return result;
}
