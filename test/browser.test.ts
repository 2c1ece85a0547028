// Browser clients: CORS on both /graphql routes, Apollo's CSRF rule, the explorer served with
// every asset from this server, the landing page; and, where Debian's Chromium is installed, a
// real browser calling the API from a page on another origin and opening the explorer.
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import { corsPolicy, parseCorsOrigins } from "../src/web/cors.js";
import { prefersHtml } from "../src/web/browser.js";

const CHROMIUM = "/usr/bin/chromium";
const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
const OFFERS = "{ offers(first: 5) { totalCount edges { node { id gpuCount dataCenter { hub } } } } }";

/** Test pages on other origins: each port serves whatever `page` holds. */
interface PageServer {
  origin: string;
  page: string;
  close(): Promise<void>;
}

async function pageServer(): Promise<PageServer> {
  const state = { page: "" };
  const server = http.createServer((req, res) => {
    if (req.url !== "/" && !req.url?.startsWith("/?")) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(state.page);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    get page() {
      return state.page;
    },
    set page(html: string) {
      state.page = html;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let server: TestServer;
let allowedPages: PageServer;
let otherPages: PageServer;
let sme: Actor;
let offerId: string;

beforeAll(async () => {
  allowedPages = await pageServer();
  otherPages = await pageServer();
  server = await startServer({ CORS_ORIGINS: `${allowedPages.origin}, https://app.example.com` });
  sme = await organization(server, "SME", "Lingxi AI", "Hangzhou");
  const operator = await organization(server, "DATA_CENTER_OPERATOR", "Western Cloud");
  const ningxia = await dataCenter(server, operator, "Ningxia Zhongwei", "Zhongwei DC", "Ningxia");
  const start = Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 24 * 3_600_000;
  offerId = await publishOffer(server, operator, {
    dataCenterId: ningxia,
    availableFrom: new Date(start).toISOString(),
    availableUntil: new Date(start + 7 * 24 * 3_600_000).toISOString(),
  });
});

afterAll(async () => {
  await server?.close();
  await allowedPages?.close();
  await otherPages?.close();
});

async function request(path: string, init: RequestInit = {}) {
  const response = await fetch(`${server.url}${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text };
}

describe("CORS_ORIGINS", () => {
  it("takes origins and *, written as browsers send them, and refuses anything else", () => {
    expect(parseCorsOrigins(undefined)).toEqual([]);
    expect(
      parseCorsOrigins(" https://App.Example.com/ , http://localhost:5173,*, https://app.example.com:443"),
    ).toEqual(["https://app.example.com", "http://localhost:5173", "*"]);
    for (const bad of [
      "app.example.com",
      "https://app.example.com/path",
      "ftp://files.example.com",
      "https://app.example.com?x=1",
      "null",
      "https://user@app.example.com",
    ]) {
      expect(() => parseCorsOrigins(bad), bad).toThrow(/CORS_ORIGINS/);
    }
  });

  it("allows the listed origins, any with *, and local pages only in development", () => {
    const listed = corsPolicy(["https://app.example.com"], false);
    expect(listed.allowOrigin("https://app.example.com")).toBe("https://app.example.com");
    expect(listed.allowOrigin("https://evil.example.com")).toBeNull();
    expect(listed.allowOrigin("http://localhost:5173")).toBeNull();
    expect(listed.allowOrigin(undefined)).toBeNull();

    const development = corsPolicy([], true);
    for (const local of ["http://localhost:5173", "http://127.0.0.1:8080", "http://localhost"])
      expect(development.allowOrigin(local)).toBe(local);
    for (const other of ["https://localhost:5173", "http://localhost.evil.com", "http://192.168.1.5:5173", "null"])
      expect(development.allowOrigin(other)).toBeNull();
    expect(corsPolicy([], false).allowOrigin("http://localhost:5173")).toBeNull();

    expect(corsPolicy(["*"], false).allowOrigin("https://anyone.example.org")).toBe("*");
  });
});

describe("CORS on /graphql", () => {
  const preflight = (origin: string, method = "POST", headers = "authorization, content-type", path = "/graphql") =>
    request(path, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": method, "access-control-request-headers": headers },
    });

  it("answers a preflight from an allowed origin with 204, the methods, the headers and a max-age", async () => {
    const answer = await preflight(allowedPages.origin);
    expect(answer.status).toBe(204);
    expect(answer.headers.get("access-control-allow-origin")).toBe(allowedPages.origin);
    const methods = answer.headers.get("access-control-allow-methods")!.split(/,\s*/);
    expect(methods).toEqual(expect.arrayContaining(["GET", "POST"]));
    const allowed = answer.headers.get("access-control-allow-headers")!.toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(
      expect.arrayContaining([
        "authorization",
        "content-type",
        "apollo-require-preflight",
        "x-apollo-operation-name",
        "x-request-id",
      ]),
    );
    expect(Number(answer.headers.get("access-control-max-age"))).toBeGreaterThan(0);
    expect(answer.headers.get("vary")).toMatch(/origin/i);
    // Bearer tokens, never cookies.
    expect(answer.headers.get("access-control-allow-credentials")).toBeNull();
    // The second listed origin, and a preflight of a GET with a query string.
    const second = await preflight(
      "https://app.example.com",
      "GET",
      "apollo-require-preflight",
      "/graphql?query=%7B__typename%7D",
    );
    expect([second.status, second.headers.get("access-control-allow-origin")]).toEqual([
      204,
      "https://app.example.com",
    ]);
  });

  it("refuses a preflight from another origin cleanly: 403 and no CORS header", async () => {
    for (const origin of [otherPages.origin, "https://evil.example.com", "null"]) {
      const answer = await preflight(origin);
      expect(answer.status, origin).toBe(403);
      expect(JSON.parse(answer.text).errors[0].extensions.code).toBe("FORBIDDEN");
      for (const header of [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
      ]) {
        expect(answer.headers.get(header), `${origin} ${header}`).toBeNull();
      }
    }
    // An OPTIONS that is no preflight is no server error either.
    const bare = await request("/graphql", { method: "OPTIONS" });
    expect(bare.status).toBeLessThan(500);
  });

  // The lean route (plain JSON POST), and Express (gzip, GET) for the rest.
  const routes: [string, (origin?: string) => Promise<Awaited<ReturnType<typeof request>>>][] = [
    [
      "a plain JSON POST",
      (origin) =>
        request("/graphql", {
          method: "POST",
          headers: { "content-type": "application/json", ...(origin ? { origin } : {}) },
          body: JSON.stringify({ query: OFFERS }),
        }),
    ],
    [
      "a gzipped POST",
      (origin) =>
        request("/graphql", {
          method: "POST",
          headers: { "content-type": "application/json", "content-encoding": "gzip", ...(origin ? { origin } : {}) },
          body: gzipSync(JSON.stringify({ query: OFFERS })),
        }),
    ],
    [
      "a GET",
      (origin) =>
        request(`/graphql?query=${encodeURIComponent(OFFERS)}`, {
          headers: { "apollo-require-preflight": "true", ...(origin ? { origin } : {}) },
        }),
    ],
  ];

  for (const [name, send] of routes) {
    it(`lets an allowed origin read the answer to ${name}; another origin gets no CORS header`, async () => {
      const allowed = await send(allowedPages.origin);
      expect(allowed.status).toBe(200);
      expect(JSON.parse(allowed.text).data.offers.totalCount).toBe(1);
      expect(allowed.headers.get("access-control-allow-origin")).toBe(allowedPages.origin);
      expect(allowed.headers.get("access-control-expose-headers")).toMatch(/x-request-id/i);
      expect(allowed.headers.get("access-control-allow-credentials")).toBeNull();
      expect(allowed.headers.get("vary")).toMatch(/origin/i);

      const other = await send(otherPages.origin);
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      expect(other.headers.get("access-control-expose-headers")).toBeNull();
      expect(other.headers.get("vary")).toMatch(/origin/i);

      const sameOrigin = await send();
      expect(sameOrigin.status).toBe(200);
      expect(sameOrigin.headers.get("access-control-allow-origin")).toBeNull();
    });
  }

  it("keeps Apollo's CSRF rule: a simple request is refused unless it carries a preflight header or a JSON content type", async () => {
    const query = `/graphql?query=${encodeURIComponent("{ gpuModels { name } }")}`;
    const simpleGet = await request(query, { headers: { origin: allowedPages.origin } });
    expect(simpleGet.status).toBe(400);
    expect(simpleGet.text).toMatch(/Cross-Site Request Forgery/);
    const textPost = await request("/graphql", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ query: "{ gpuModels { name } }" }),
    });
    expect(textPost.status).toBe(400);
    expect(textPost.text).toMatch(/Cross-Site Request Forgery/);

    const passing: Record<string, string>[] = [
      { "apollo-require-preflight": "true" },
      { "x-apollo-operation-name": "Models" },
      { "content-type": "application/json" },
    ];
    for (const headers of passing) {
      const passed = await request(query, { headers });
      expect(passed.status, JSON.stringify(headers)).toBe(200);
      expect(JSON.parse(passed.text).data.gpuModels.length).toBeGreaterThan(0);
    }
  });
});

/** Every URL a page or file refers to that a browser would load (as far as a reading can tell). */
function references(text: string, type: string, base: URL): URL[] {
  const found: string[] = [];
  // Another host's URL of any kind; here, a path to a file (with an extension, not "./" + a variable).
  const pathLike = (s: string) => /^https?:\/\/[^\s"'<>`]+$/.test(s) || /^\.{0,2}\/[^\s"'<>`]*\.\w+$/.test(s);
  const jsImports = (code: string) => {
    for (const m of code.matchAll(
      /\bimport\s*\(\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']|\bfrom\s*["']([^"']+)["']|new URL\(\s*["']([^"']+)["']/g,
    )) {
      const specifier = m[1] ?? m[2] ?? m[3] ?? m[4];
      if (pathLike(specifier)) found.push(specifier);
    }
    // Webpack's chunks: `x.e(1234)` loads 1234.js next to the script.
    for (const m of code.matchAll(/\b[\w$]\.e\((\d+)\)/g)) found.push(`./${m[1]}.js`);
    // and the chunks' stylesheets: `miniCssF=e=>e+".ruru.css"` for the chunks in `{2370:1}[t]`.
    const cssSuffix = /miniCssF=\w+=>\w+\+"([^"]+)"/.exec(code)?.[1];
    const cssChunks = /\.f\.miniCss=[^{]*\{[^{]*?\{([\d:,]+)\}\[\w+\]/.exec(code)?.[1];
    if (cssSuffix && cssChunks) for (const id of cssChunks.split(",")) found.push(`./${id.split(":")[0]}${cssSuffix}`);
  };
  if (type.startsWith("text/html")) {
    for (const m of text.matchAll(/<(?:script|link|img|iframe|source)\b[^>]*?\s(?:src|href)="([^"]+)"/g))
      found.push(m[1]);
    // The explorer's inline scripts name its workers by file, in its asset folder.
    const assets = /"staticPath":\s*"([^"]+)"/.exec(text)?.[1];
    for (const script of text.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)) {
      jsImports(script[1]);
      if (assets) for (const m of script[1].matchAll(/["']([\w-]+\.js)["']/g)) found.push(`${assets}${m[1]}`);
    }
  } else if (type.startsWith("text/css")) {
    for (const m of text.matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)|@import\s+["']([^"']+)["']/g))
      found.push(m[1] ?? m[2]);
  } else if (type.includes("javascript")) {
    jsImports(text);
  }
  return found.filter((ref) => !/^(data|blob):/.test(ref) && !ref.startsWith("#")).map((ref) => new URL(ref, base));
}

describe("the explorer at GET /graphql", () => {
  it("is served to a browser, with an example per role and the API key's place explained", async () => {
    const page = await request("/graphql", { headers: { accept: BROWSER_ACCEPT } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toMatch(/connect-src 'self'/);
    expect(page.text).toContain('id="ruru-root"');
    for (const operation of [
      "offers(",
      "me {",
      "myBids(",
      "placeBid(",
      "myOffers(",
      "publishOffer(",
      "subsidyPrograms(",
      "subsidySpend(",
      "cityStatement(",
      "createOrganization(",
    ]) {
      expect(page.text, operation).toContain(operation);
    }
    expect(page.text).toContain("Authorization");
    expect(page.text).toMatch(/API 密钥/);
  });

  it("references only files of this server, and every one loads", async () => {
    const start = new URL(`${server.url}/graphql`);
    const queue = [start];
    const seen = new Map<string, number>();
    const offOrigin: string[] = [];
    while (queue.length > 0) {
      const url = queue.shift()!;
      if (seen.has(url.href)) continue;
      if (url.origin !== start.origin) {
        offOrigin.push(url.href);
        seen.set(url.href, 0);
        continue;
      }
      const response = await fetch(url, { headers: { accept: url === start ? BROWSER_ACCEPT : "*/*" } });
      seen.set(url.href, response.status);
      const type = response.headers.get("content-type") ?? "";
      if (response.status !== 200 || !/html|css|javascript/.test(type)) {
        await response.arrayBuffer();
        continue;
      }
      queue.push(...references(await response.text(), type, url));
    }
    expect(offOrigin).toEqual([]);
    const failed = [...seen].filter(([, status]) => status !== 200);
    expect(failed).toEqual([]);
    const files = [...seen.keys()].map((href) => new URL(href).pathname);
    expect(files).toEqual(
      expect.arrayContaining([
        "/assets/ruru/ruru.js",
        "/assets/ruru/ruru.css",
        "/assets/ruru/editorWorker.js",
        "/assets/ruru/graphqlWorker.js",
        "/assets/ruru/jsonWorker.js",
      ]),
    );
    expect(files.some((file) => file.endsWith(".ttf"))).toBe(true);
    expect(files.length).toBeGreaterThan(20);
  });

  it("leaves JSON and query-string GETs to GraphQL", async () => {
    const json = await request(`/graphql?query=${encodeURIComponent("{ gpuModels { name } }")}`, {
      headers: { accept: BROWSER_ACCEPT, "apollo-require-preflight": "true" },
    });
    expect(json.status).toBe(200);
    expect(json.headers.get("content-type")).toMatch(/json/);
    expect(JSON.parse(json.text).data.gpuModels.length).toBeGreaterThan(0);
    // No query string, but asking for JSON: Apollo's answer (no operation), not the page.
    const empty = await request("/graphql", {
      headers: { accept: "application/json", "apollo-require-preflight": "true" },
    });
    expect(empty.status).toBe(400);
    expect(empty.headers.get("content-type")).toMatch(/json/);
    expect(JSON.parse(empty.text).errors[0].extensions.code).toBe("BAD_REQUEST");
  });

  it("is chosen as Apollo negotiates the Accept header", () => {
    expect(prefersHtml(BROWSER_ACCEPT)).toBe(true);
    expect(prefersHtml("text/html")).toBe(true);
    expect(prefersHtml(undefined)).toBe(false);
    expect(prefersHtml("*/*")).toBe(false);
    expect(prefersHtml("application/json")).toBe(false);
    expect(prefersHtml("application/graphql-response+json, application/json;q=0.9, text/html;q=0.8")).toBe(false);
    expect(prefersHtml("text/html;q=0, */*")).toBe(false);
    expect(prefersHtml("application/json;q=0.5, text/*")).toBe(true);
  });
});

describe("the landing page and its links", () => {
  it("says what this is in Chinese and English and links the explorer, health, schema and docs", async () => {
    const page = await request("/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.text).toMatch(/算力券/);
    expect(page.text).toMatch(/GPU voucher market/);
    const links = [...page.text.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]);
    expect(links).toEqual(expect.arrayContaining(["/graphql", "/healthz", "/schema.graphql", "/docs/README.md"]));
    for (const link of links) {
      expect(new URL(link, server.url).origin, link).toBe(server.url);
      const target = await request(link, { headers: { accept: BROWSER_ACCEPT } });
      expect(target.status, link).toBe(200);
    }
    // Nothing loaded from elsewhere: no scripts, styles or images but inline ones.
    expect(page.text).not.toMatch(/<script|<link rel="stylesheet"|<img|@import|url\(/);
  });

  it("serves the schema file and the README as text", async () => {
    const schema = await request("/schema.graphql");
    expect(schema.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(schema.text).toBe(readFileSync(new URL("../schema/schema.graphql", import.meta.url), "utf8"));
    const readme = await request("/docs/README.md");
    expect(readme.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(readme.text).toBe(readFileSync(new URL("../README.md", import.meta.url), "utf8"));
    for (const missing of [
      "/docs/nothing-here.md",
      "/docs/..%2Fpackage.json",
      "/docs/../package.json",
      "/assets/ruru/nothing.js",
    ]) {
      expect((await request(missing)).status, missing).toBe(404);
    }
  });
});

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);

describe.skipIf(!hasChromium)(
  hasChromium
    ? "in Chromium (Debian's, driven by playwright-core)"
    : `in Chromium: skipped, no ${CHROMIUM} (apt-get install -y chromium)`,
  () => {
    let browser: import("playwright-core").Browser;

    beforeAll(async () => {
      const { chromium } = await import("playwright-core");
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--no-first-run",
          "--disable-sync",
        ],
      });
    });
    afterAll(() => browser?.close());

    /** A page that calls the API with fetch() and shows what it got. */
    const callingPage = (api: string, token: string) => `<!DOCTYPE html>
<html><body><pre id="out">pending</pre>
<script type="module">
const api = ${JSON.stringify(api)};
async function post(query, token) {
  const response = await fetch(api + "/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: "Bearer " + token } : {}) },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, requestId: response.headers.get("x-request-id"), body: await response.json() };
}
async function get(query) {
  const response = await fetch(api + "/graphql?query=" + encodeURIComponent(query), { headers: { "apollo-require-preflight": "true" } });
  return { status: response.status, body: await response.json() };
}
const out = {};
try {
  out.offers = await post(${JSON.stringify(OFFERS)});
  out.me = await post("{ me { role organization { id name } } }", ${JSON.stringify(token)});
  out.viaGet = await get("{ gpuModels { name } }");
} catch (error) {
  out.error = String(error);
}
document.getElementById("out").textContent = JSON.stringify(out);
</script></body></html>`;

    async function resultOf(origin: string) {
      const page = await browser.newPage();
      try {
        await page.goto(`${origin}/`);
        await page.waitForFunction(() => document.getElementById("out")?.textContent !== "pending", undefined, {
          timeout: 20_000,
        });
        return JSON.parse((await page.textContent("#out"))!);
      } finally {
        await page.close();
      }
    }

    it("lets a page on an allowed origin query offers anonymously and `me` with an API key", async () => {
      allowedPages.page = callingPage(server.url, sme.token);
      const out = await resultOf(allowedPages.origin);
      expect(out.error).toBeUndefined();
      expect(out.offers.status).toBe(200);
      expect(out.offers.body.data.offers.edges.map((e: any) => e.node.id)).toEqual([offerId]);
      // The request id is readable: exposed to the page.
      expect(out.offers.requestId).toMatch(/./);
      expect(out.me.body.data.me).toEqual({ role: "SME", organization: { id: sme.id, name: "Lingxi AI" } });
      expect(out.viaGet.body.data.gpuModels.length).toBeGreaterThan(0);
    });

    it("keeps a page on another origin from reading the API", async () => {
      otherPages.page = callingPage(server.url, sme.token);
      const out = await resultOf(otherPages.origin);
      expect(out.error).toMatch(/TypeError|Failed to fetch/);
      expect(out.offers).toBeUndefined();
    });

    it("opens the explorer and runs an example, with no request to another host", async () => {
      const page = await browser.newPage();
      const requested: string[] = [];
      const failures: string[] = [];
      page.on("request", (r) => requested.push(r.url()));
      page.on("requestfailed", (r) => failures.push(`${r.url()} ${r.failure()?.errorText}`));
      page.on("response", (r) => {
        if (r.status() >= 400) failures.push(`${r.url()} ${r.status()}`);
      });
      page.on("console", (m) => {
        if (m.type() === "error") failures.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => failures.push(`page: ${e.message}`));
      try {
        await page.goto(`${server.url}/graphql`);
        // The editor shows the examples; the Headers tab waits for the API key.
        await page.locator(".graphiql-query-editor .view-lines").first().waitFor({ timeout: 30_000 });
        await expect
          .poll(() => page.locator(".graphiql-query-editor").innerText(), { timeout: 10_000 })
          .toMatch(/AnyoneSearchOffers/);
        await page.locator(".graphiql-editor-tool").getByText("Bearer").first().waitFor({ timeout: 10_000 });

        await page.locator(".graphiql-execute-button").click();
        await page.getByRole("menuitem", { name: "AnyoneSearchOffers" }).click();
        await page.locator(".result-window").getByText("totalCount").waitFor({ timeout: 20_000 });
        expect(await page.locator(".result-window").innerText()).toMatch(new RegExp(`"id":\\s*"${offerId}"`));
      } finally {
        await page.close();
      }
      expect(requested.length).toBeGreaterThan(5);
      const elsewhere = requested.filter((url) => !/^(data|blob):/.test(url) && new URL(url).origin !== server.url);
      expect(elsewhere).toEqual([]);
      expect(failures).toEqual([]);
    });

    it("shows the landing page with no request elsewhere", async () => {
      const page = await browser.newPage();
      const requested: string[] = [];
      page.on("request", (r) => requested.push(r.url()));
      try {
        await page.goto(`${server.url}/`);
        await expect(page.locator("h1").innerText()).resolves.toMatch(/算力券市场/);
        await page.getByRole("link", { name: /Explorer/ }).click();
        await page.locator(".graphiql-query-editor .view-lines").first().waitFor({ timeout: 30_000 });
      } finally {
        await page.close();
      }
      expect(requested.filter((url) => !/^(data|blob):/.test(url) && new URL(url).origin !== server.url)).toEqual([]);
    });
  },
);
