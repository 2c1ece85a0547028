// One timed load with autocannon: fixed connections and duration. A response is an error when it is
// not 2xx or when its body carries GraphQL `errors`; every body is checked.
import autocannon from "autocannon";

/**
 * `connections[i]` describes connection i: { headers, next(): body string | null }. `next` is
 * called for every request the connection sends; `onBody(connection, status, body)` sees every response.
 */
export async function runLoad({ url, connections, duration, onBody = () => {} }) {
  let assigned = 0;
  let failed = 0;
  let responses = 0;
  const sampleErrors = new Map();
  const result = await autocannon({
    url,
    method: "POST",
    connections: connections.length,
    duration,
    timeout: 30,
    headers: { "content-type": "application/json" },
    // Each client gets its own connection spec (token, body source) before its first request.
    setupClient: (client) => {
      const index = assigned++;
      client.setHeaders({
        "content-type": "application/json",
        "x-bench-connection": String(index),
        ...connections[index].headers,
      });
    },
    requests: [
      {
        method: "POST",
        setupRequest: (request, context) => {
          const index = request.headers["x-bench-connection"];
          if (index === undefined) return { ...request, body: "{}" }; // built once before setupClient; never sent
          context.connection = Number(index);
          return { ...request, body: connections[context.connection].next() };
        },
        onResponse: (status, body, context) => {
          responses++;
          const bad = status < 200 || status >= 300 || body.includes('"errors"');
          if (bad) {
            failed++;
            const key = `${status} ${body.slice(0, 300)}`;
            if (sampleErrors.size < 5 || sampleErrors.has(key)) sampleErrors.set(key, (sampleErrors.get(key) ?? 0) + 1);
          }
          onBody(context.connection, status, body);
        },
      },
    ],
  });
  const seconds = result.duration;
  return {
    connections: connections.length,
    durationSeconds: Number(seconds.toFixed(2)),
    requests: result.requests.total,
    requestsPerSecond: Number((result.requests.total / seconds).toFixed(1)),
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    errors: failed + result.errors + result.timeouts,
    non2xx: result.non2xx,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    responses,
    sampleErrors: [...sampleErrors].map(([text, count]) => `${count}x ${text}`),
  };
}
