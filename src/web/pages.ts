// The small pages and files a person opens in a browser: the landing page at /, the schema at
// /schema.graphql and the documentation under /docs/. Nothing on them comes from another host.
import { readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";

const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Files of the project, found from this module both in src/ (tests) and in dist/ (npm start). */
const projectFile = (path: string) => new URL(`../../${path}`, import.meta.url);

const LANDING = `<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<meta name="referrer" content="no-referrer" />
<link rel="icon" href="data:," />
<title>算力券市场 · GPU voucher market</title>
<style>
  body { margin: 0; font: 16px/1.6 system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; color: #1d2733; background: #f5f7fa; }
  main { max-width: 46rem; margin: 0 auto; padding: 2rem 1.25rem 3rem; }
  h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
  h1 small { display: block; font-size: 1rem; font-weight: 500; color: #51606f; }
  p { margin: .5rem 0; }
  .en { color: #51606f; }
  ul.links { list-style: none; padding: 0; margin: 1.5rem 0; display: grid; gap: .75rem; }
  ul.links a { display: block; padding: .75rem 1rem; background: #fff; border: 1px solid #d5dde6; border-radius: 6px; color: #0b3d5c; text-decoration: none; }
  ul.links a:hover, ul.links a:focus { border-color: #0b3d5c; }
  ul.links b { font-size: 1.05rem; }
  ul.links span { display: block; color: #51606f; font-size: .9rem; }
  code { background: #e8edf2; padding: 0 .3rem; border-radius: 3px; }
</style>
</head>
<body>
<main>
<h1>算力券市场 <small lang="en">GPU voucher market</small></h1>
<p>补贴 GPU 租赁的 GraphQL 接口：国家算力枢纽的数据中心发布 GPU 报价，中小企业出价并自动匹配到价格最低、利用率最低的算力，结算时由城市算力券支付部分租金；城市财政部门管理补贴计划、审批算力券、查看支出并按月结算。</p>
<p class="en" lang="en">A GraphQL API for subsidized GPU rental: data centers in the national computing hubs publish GPU offers, SMEs bid and are matched to the cheapest, least-used capacity, and a city's compute voucher pays part of the rent at checkout; city finance offices run their subsidy programs, approve vouchers, watch the spend and settle monthly statements.</p>
<p>调用接口：<code>POST /graphql</code>，请求头 <code>Authorization: Bearer &lt;API 密钥&gt;</code>；密钥由平台管理员为每个机构发放。搜索报价无需密钥。</p>
<p class="en" lang="en">Call <code>POST /graphql</code> with <code>Authorization: Bearer &lt;API key&gt;</code>; the platform admin issues each organization its keys. Searching offers needs no key.</p>
<ul class="links">
  <li><a href="/console/"><b>控制台 · Console</b><span>中小企业、数据中心与城市财政的网页控制台，中文与英文</span><span lang="en">The web console for SMEs, data centers and city finance offices, in Chinese and English</span></a></li>
  <li><a href="/graphql"><b>GraphQL 调试台 · Explorer</b><span>在浏览器中试用接口，附各角色示例（中小企业、数据中心、城市财政、管理员）</span><span lang="en">Try the API in the browser, with examples for every role (SME, data center, city finance, admin)</span></a></li>
  <li><a href="/schema.graphql"><b>接口定义 · Schema</b><span>GraphQL SDL 文本</span><span lang="en">The GraphQL schema as SDL text</span></a></li>
  <li><a href="/docs/README.md"><b>文档 · Documentation</b><span>运行、配置、示例</span><span lang="en">Running it, configuration, examples</span></a></li>
  <li><a href="/healthz"><b>运行状态 · Health</b><span>服务与数据库是否可用</span><span lang="en">Whether the server and its database are up</span></a></li>
</ul>
</main>
</body>
</html>
`;

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string | Buffer,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": type,
    "content-length": Buffer.byteLength(body),
    "x-content-type-options": "nosniff",
    ...extra,
  });
  res.end(body);
}

export function sendLanding(res: ServerResponse): void {
  send(res, 200, "text/html; charset=utf-8", LANDING, {
    "content-security-policy": PAGE_CSP,
    "referrer-policy": "no-referrer",
  });
}

export function sendNotFound(res: ServerResponse): void {
  send(res, 404, "text/plain; charset=utf-8", "Not found\n");
}

/** A project file as plain text (shown by the browser, not downloaded); 404 when it is absent. */
async function sendText(res: ServerResponse, path: string): Promise<void> {
  let body: Buffer;
  try {
    body = await readFile(projectFile(path));
  } catch {
    return sendNotFound(res);
  }
  send(res, 200, "text/plain; charset=utf-8", body, {
    "cache-control": "no-cache",
    "content-security-policy": "default-src 'none'",
  });
}

/** The emitted SDL, schema/schema.graphql (a test keeps it equal to the running schema). */
export function sendSchema(res: ServerResponse): Promise<void> {
  return sendText(res, "schema/schema.graphql");
}

/** /docs/README.md is the README; any other /docs/NAME.md is docs/NAME.md. */
export function sendDoc(res: ServerResponse, name: string): Promise<void> {
  if (name === "README.md") return sendText(res, "README.md");
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*\.md$/.test(name)) {
    sendNotFound(res);
    return Promise.resolve();
  }
  return sendText(res, `docs/${name}`);
}
