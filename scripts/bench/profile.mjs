// CPU profiles per scenario, taken over the inspector of a server started with --inspect, and what
// they are made of: self time by category (GraphQL execution, validation, our code, the driver,
// JSON, ...) and the functions with the most self time. Written as .cpuprofile (Chrome DevTools).
import { writeFileSync } from "node:fs";
import WebSocket from "ws";

/** The inspector's WebSocket address a process printed (`node --inspect=127.0.0.1:0`). */
export const inspectorUrl = (output) => /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1] ?? null;

/** A session on a process's inspector: start() and stop() -> the profile. */
export async function inspector(url) {
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => {
    socket.once("open", resolve);
    socket.once("error", reject);
  });
  let id = 0;
  const waiting = new Map();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data));
    if (message.id != null && waiting.has(message.id)) {
      waiting.get(message.id)(message);
      waiting.delete(message.id);
    }
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const n = ++id;
      waiting.set(n, (message) => (message.error ? reject(new Error(message.error.message)) : resolve(message.result)));
      socket.send(JSON.stringify({ id: n, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 500 });
  return {
    start: () => send("Profiler.start"),
    stop: async () => (await send("Profiler.stop")).profile,
    close: () => socket.close(),
  };
}

// First match wins: the URL (or, for natives, the function's name) tells where the time went.
const CATEGORIES = [
  ["idle", (f) => f.functionName === "(idle)"],
  ["garbage collection", (f) => f.functionName === "(garbage collector)"],
  ["JSON", (f) => !f.url && /^(parse|stringify|JSONParse|JSONStringify)$/.test(f.functionName)],
  ["GraphQL validation", (f) => /node_modules\/graphql\/validation\//.test(f.url)],
  ["GraphQL parse", (f) => /node_modules\/graphql\/language\//.test(f.url)],
  ["GraphQL execution (graphql-js, graphql-jit)", (f) => /node_modules\/(graphql|graphql-jit)\//.test(f.url)],
  ["Apollo server", (f) => /node_modules\/@apollo\//.test(f.url)],
  ["type-graphql", (f) => /node_modules\/type-graphql\//.test(f.url)],
  ["drizzle-orm", (f) => /node_modules\/drizzle-orm\//.test(f.url)],
  ["postgres driver", (f) => /node_modules\/postgres\//.test(f.url)],
  [
    "HTTP and sockets (node:http, node:net, express)",
    (f) =>
      /^node:(_http|http|net|stream|internal\/(http|streams|net|stream))/.test(f.url) ||
      /node_modules\/(express|router|body-parser|raw-body)\//.test(f.url),
  ],
  ["pino logging", (f) => /node_modules\/(pino|sonic-boom)/.test(f.url)],
  ["our code: graphql/ (context, executor, http)", (f) => /\/dist\/graphql\//.test(f.url)],
  ["our code: db/ (statements, client)", (f) => /\/dist\/db\//.test(f.url)],
  ["our code: services and rules", (f) => /\/dist\//.test(f.url)],
  ["bench raw server", (f) => /scripts\/bench\/raw-server\.mjs/.test(f.url)],
  ["other node_modules", (f) => /node_modules\//.test(f.url)],
  ["node internals", (f) => /^node:/.test(f.url)],
  ["native, unattributed ((program), microtasks)", () => true],
];

const SOCKET_WRITE = /^(writeBuffer|writev|writeUtf8String|writeLatin1String|writeAsciiString)$/;
/** Natives that are themselves a category; any other native's time goes to its nearest JavaScript caller's. */
const OWN_CATEGORY = /^\((idle|garbage collector|program|root)\)$|^(parse|stringify|JSONParse|JSONStringify)$/;

/** Self time by category and by function, in ms, from a .cpuprofile; idle left out of the shares. */
export function summarize(profile) {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  /** The frame whose category a node's self time counts under (writev, say, under the socket code that called it). */
  /** A socket write (a system call, costly in a virtual machine) by who writes: the driver or the HTTP answer. */
  const socketCategory = (nodeId) => {
    for (let id = nodeId; parentOf.has(id); id = parentOf.get(id)) {
      const url = byNode.get(id).callFrame.url;
      if (/node_modules\/postgres\//.test(url)) return "socket writes to PostgreSQL";
    }
    return "socket writes to HTTP clients";
  };
  const categoryFrame = (nodeId) => {
    let id = nodeId;
    for (let frame = byNode.get(id).callFrame; ; frame = byNode.get(id).callFrame) {
      if (frame.url || OWN_CATEGORY.test(frame.functionName) || !parentOf.has(id)) return frame;
      id = parentOf.get(id);
    }
  };
  const selfMs = new Map();
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    selfMs.set(profile.samples[i], (selfMs.get(profile.samples[i]) ?? 0) + ms);
  }
  const categories = new Map();
  const functions = new Map();
  let busy = 0;
  for (const [nodeId, ms] of selfMs) {
    const frame = byNode.get(nodeId).callFrame;
    const category = SOCKET_WRITE.test(frame.functionName)
      ? socketCategory(nodeId)
      : CATEGORIES.find(([, test]) => test(categoryFrame(nodeId)))[0];
    categories.set(category, (categories.get(category) ?? 0) + ms);
    if (category === "idle") continue;
    busy += ms;
    const where = frame.url
      ? `${frame.url.replace(/^.*\/(node_modules|dist|scripts)\//, "$1/")}:${frame.lineNumber + 1}`
      : "native";
    const key = `${frame.functionName || "(anonymous)"} ${where}`;
    functions.set(key, (functions.get(key) ?? 0) + ms);
  }
  const share = (ms) => Number(((ms / Math.max(busy, 1e-9)) * 100).toFixed(1));
  return {
    busyMs: Math.round(busy),
    categories: [...categories]
      .filter(([name]) => name !== "idle")
      .sort((a, b) => b[1] - a[1])
      .map(([name, ms]) => ({ name, ms: Math.round(ms), percent: share(ms) })),
    topFunctions: [...functions]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([name, ms]) => ({ name, ms: Math.round(ms), percent: share(ms) })),
  };
}

/** Profiles `run` on the process's inspector, writes DIR/<name>.cpuprofile, returns run's result and the summary. */
export async function profiled(session, dir, name, run) {
  await session.start();
  const result = await run();
  const profile = await session.stop();
  writeFileSync(`${dir}/${name}.cpuprofile`, JSON.stringify(profile));
  return { result, summary: summarize(profile) };
}

/** The categories of two profiles side by side: CPU ms per request in each, and the difference. */
export function gapLines(viaGraphql, viaRaw, requests) {
  const per = (summary, name, n) => (summary.categories.find((c) => c.name === name)?.ms ?? 0) / Math.max(1, n);
  const names = [...new Set([...viaGraphql.summary.categories, ...viaRaw.summary.categories].map((c) => c.name))];
  const rows = names
    .map((name) => {
      const g = per(viaGraphql.summary, name, requests.graphql);
      const r = per(viaRaw.summary, name, requests.raw);
      return { name, graphql: g, raw: r, gap: g - r };
    })
    .sort((a, b) => b.gap - a.gap);
  return rows;
}
