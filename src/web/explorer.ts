// GET /graphql from a browser: a GraphQL IDE (Ruru, a GraphiQL build) served entirely from this
// server. Its scripts, styles, fonts and editor workers come from the `ruru` package's prebuilt
// files under /assets/ruru/; the page talks to nothing but this origin (its Content-Security-Policy
// says so to the browser too) and sends no telemetry.
import type { IncomingMessage, ServerResponse } from "node:http";
import { ruruHTML, type RuruClientConfig } from "ruru/server";
import { getStaticFile } from "ruru/static";

export const EXPLORER_ASSETS = "/assets/ruru/";

/** Only this origin: scripts, styles, workers, fonts and the API; inline scripts are the page's own. */
const EXPLORER_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const EXAMPLES = `# GPU voucher market: GraphQL explorer · 算力券市场 GraphQL 调试台
#
# One example operation per role. The ▶ button runs one; with several in the editor, it asks which.
# 每个角色一个示例操作。点击 ▶ 运行；编辑器中有多个操作时会让你选择。
#
# API key: open "Headers" below and paste your key after "Bearer ", like
#   { "Authorization": "Bearer gvm_..." }
# Without a key you are anonymous: gpuModels, offers, offer and dataCenters answer anyone.
# API 密钥：打开下方的 “Headers”，在 "Bearer " 之后粘贴密钥。没有密钥时为匿名访问，
# 只能查询 gpuModels、offers、offer 和 dataCenters。
#
# The example values (ids, dates, city) are in "Variables" below. 示例参数在下方 “Variables” 中。

# Anyone, no key · 任何人（无需密钥）：搜索 GPU 报价
query AnyoneSearchOffers {
  offers(filter: { gpuModel: "H800", hub: "Ningxia Zhongwei" }, sort: PRICE_ASC, first: 5) {
    totalCount
    edges {
      node {
        id
        gpuCount
        pricePerGpuHour { amount currency }
        availableFrom
        availableUntil
        dataCenter { name hub }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}

# SME key · 中小企业密钥：我是谁、我的出价
query SmeMeAndMyBids {
  me { role organization { id name city } }
  myBids(first: 5) {
    totalCount
    edges { node { id status gpuModel { name } gpuCount hours reservation { id status total { amount } holdExpiresAt } } }
  }
}

# SME key · 中小企业密钥：出价（可匹配时立即匹配，预留保持 HOLD_MINUTES 分钟）
mutation SmePlaceBid($from: DateTime!, $until: DateTime!) {
  placeBid(input: { gpuModel: "H800", gpuCount: 8, hours: 24, earliestStart: $from, latestEnd: $until, maxPricePerGpuHour: "30.00", hubs: ["Ningxia Zhongwei", "Gansu Qingyang"] }) {
    id
    status
    reservation { id startsAt endsAt total { amount } holdExpiresAt offer { dataCenter { name } } }
  }
}

# Data center key · 数据中心密钥：我的报价
query DataCenterMyOffers {
  myOffers(first: 10) {
    totalCount
    edges { node { id status gpuModel { name } gpuCount pricePerGpuHour { amount } availableFrom availableUntil dataCenter { id name } } }
  }
}

# Data center key · 数据中心密钥：发布报价（dataCenterId：自己的数据中心，见 myOffers 或 dataCenters）
mutation DataCenterPublishOffer($dataCenterId: ID!, $from: DateTime!, $until: DateTime!) {
  publishOffer(input: { dataCenterId: $dataCenterId, gpuModel: "H800", gpuCount: 32, pricePerGpuHour: "18.50", availableFrom: $from, availableUntil: $until, minHours: 4 }) {
    id
    status
    pricePerGpuHour { amount fen }
  }
}

# City finance key · 城市财政密钥：补贴计划、预算与支出
query CityFinanceProgramsAndSpend($city: String!, $yearStart: DateTime!, $yearEnd: DateTime!) {
  subsidyPrograms(city: $city) {
    id
    name
    budgetStatus { total { amount } available { amount } pending { amount } spent { amount } }
  }
  subsidySpend(city: $city, from: $yearStart, to: $yearEnd, groupBy: [MONTH, DATA_CENTER]) {
    rows { keys { dimension label } orders gpuHours subsidy { amount } smePaid { amount } }
    totals { orders subsidy { amount } }
  }
}

# City finance key · 城市财政密钥：月度结算单
query CityFinanceStatement($programId: ID!, $month: String!) {
  cityStatement(programId: $programId, month: $month) {
    month
    status
    total { amount }
    lines { dataCenter { name } orders subsidy { amount } }
  }
}

# Admin token · 平台管理员：新建机构，再为它创建 API 密钥（密钥只显示一次）
mutation AdminCreateOrganization {
  createOrganization(input: { name: "Zhiyuan Speech Ltd", kind: SME, city: "Beijing" }) { id name kind }
}

mutation AdminCreateApiKey($organizationId: ID!) {
  createApiKey(organizationId: $organizationId) { id token }
}
`;

const day = 24 * 3_600_000;
const utcMidnight = (time: number) => new Date(Math.floor(time / day) * day);

/** The examples' variables, dated from today: a week starting in a week, this year, this month. */
function exampleVariables(now: Date): string {
  const from = utcMidnight(now.getTime() + 7 * day);
  const year = now.getUTCFullYear();
  return JSON.stringify(
    {
      from: from.toISOString(),
      until: new Date(from.getTime() + 7 * day).toISOString(),
      dataCenterId: "dc_1",
      city: "Shanghai",
      yearStart: `${year}-01-01T00:00:00Z`,
      yearEnd: `${year + 1}-01-01T00:00:00Z`,
      programId: "program_1",
      month: now.toISOString().slice(0, 7),
      organizationId: "org_1",
    },
    null,
    2,
  );
}

const BAR = `<header class="gvm-bar">
<a href="/">GPU voucher market · 算力券市场</a>
<span>API key: open <b>Headers</b> below and paste it after <code>Bearer&nbsp;</code></span>
<span lang="zh">API 密钥：在下方 <b>Headers</b> 中 <code>Bearer&nbsp;</code> 之后粘贴</span>
<a href="/schema.graphql">schema.graphql</a>
</header>`;

const BAR_STYLE = `<style>
.gvm-bar { box-sizing: border-box; height: 2.25rem; display: flex; gap: 1.25rem; align-items: center; padding: 0 1rem;
  font: 13px/1.2 system-ui, sans-serif; background: #0b3d5c; color: #fff; white-space: nowrap; overflow: hidden; }
.gvm-bar a { color: #fff; font-weight: 600; }
.gvm-bar code { background: rgba(255,255,255,.15); padding: 0 .25rem; border-radius: 3px; }
#ruru-root { height: calc(100vh - 2.25rem); }
</style>`;

/**
 * The settings handed to the IDE (GraphiQL's props). Written out: ruru's own type picks them from
 * GraphiQL's props, which resolve only with React's type definitions installed.
 */
interface ExplorerSettings {
  initialQuery: string;
  defaultQuery: string;
  initialVariables: string;
  initialHeaders: string;
  isHeadersEditorEnabled: boolean;
  /** Opens the Headers tab, where the API key goes. */
  defaultEditorToolsVisibility: "headers";
  /** Grafast's SQL and plan views: nothing to show here. */
  debugTools: never[];
}

/** The explorer page; its examples are dated from `now`. */
export function explorerHtml(now: Date): string {
  const settings: ExplorerSettings = {
    initialQuery: EXAMPLES,
    defaultQuery: EXAMPLES,
    initialVariables: exampleVariables(now),
    initialHeaders: JSON.stringify({ Authorization: "Bearer " }, null, 2),
    isHeadersEditorEnabled: true,
    defaultEditorToolsVisibility: "headers",
    debugTools: [],
  };
  return ruruHTML({
    endpoint: "/graphql",
    staticPath: EXPLORER_ASSETS,
    clientConfig: settings as unknown as RuruClientConfig,
    htmlParts: {
      titleTag: "<title>GraphQL explorer · GPU voucher market · 算力券市场</title>",
      metaTags: (original) =>
        `${original}\n<meta name="viewport" content="width=device-width, initial-scale=1" />\n<meta name="referrer" content="no-referrer" />\n<link rel="icon" href="data:," />`,
      styleTags: (original) => `${original}\n${BAR_STYLE}`,
      bodyContent: (original) => `${BAR}\n${original}`,
    },
  });
}

export function sendExplorer(res: ServerResponse): void {
  const body = explorerHtml(new Date());
  res.writeHead(200, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-cache",
    "content-security-policy": EXPLORER_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
  });
  res.end(body);
}

/**
 * One of the explorer's files (path under EXPLORER_ASSETS), brotli-compressed when the browser
 * takes it; revalidated by ETag. False when there is no such file.
 */
export async function sendExplorerAsset(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
  const file = await getStaticFile({
    staticPath: EXPLORER_ASSETS,
    urlPath: path,
    acceptEncoding: req.headers["accept-encoding"],
  });
  if (!file) return false;
  const etag = file.headers.etag;
  const common = { etag, "cache-control": "no-cache", "x-content-type-options": "nosniff", vary: "Accept-Encoding" };
  if (etag && req.headers["if-none-match"] === etag) {
    res.writeHead(304, common);
    res.end();
    return true;
  }
  res.writeHead(200, { ...file.headers, ...common });
  res.end(file.content);
  return true;
}
