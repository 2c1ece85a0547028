// A back end's webhook receiver for tests: records every request (headers and raw body) and answers
// as told, per path: 200 by default, or the statuses queued (a number), or no answer at all ("hang").
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export class Receiver {
  url = "";
  readonly received: ReceivedWebhook[] = [];
  private answers = new Map<string, (number | "hang")[]>();
  private hung: http.ServerResponse[] = [];
  private server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      this.received.push({ path: req.url ?? "/", headers: req.headers as Record<string, string>, body });
      const answer = this.answers.get(req.url ?? "/")?.shift() ?? 200;
      if (answer === "hang") this.hung.push(res);
      else res.writeHead(answer).end(answer < 300 ? "ok" : "no");
    });
  });

  static async start(): Promise<Receiver> {
    const receiver = new Receiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, "127.0.0.1", resolve));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}`;
    return receiver;
  }

  /** The next requests on a path are answered with these, in order (then 200 again). */
  answer(path: string, ...answers: (number | "hang")[]): void {
    if (!this.answers.has(path)) this.answers.set(path, []);
    this.answers.get(path)!.push(...answers);
  }

  /** What arrived on a path (each endpoint of a test gets its own). */
  on(path: string): ReceivedWebhook[] {
    return this.received.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
