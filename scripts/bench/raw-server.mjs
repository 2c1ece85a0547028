// The baseline: the same work as the offers search and the spend report, as raw SQL through
// `postgres` behind a bare node:http handler, answering the same JSON as the GraphQL server.
// The ratio GraphQL / raw is the overhead of our stack over the database.
// Env: DATABASE_URL, PORT, DB_POOL_SIZE.
import { createHash } from "node:crypto";
import http from "node:http";
import postgres from "postgres";

const sql = postgres(process.env.DATABASE_URL, {
  max: Number(process.env.DB_POOL_SIZE || 10),
  onnotice: () => {},
  connection: { application_name: "bench-raw-baseline" },
});
const models = new Map((await sql`select id, name from gpu_models`).map((m) => [m.name, Number(m.id)]));
const hubs = new Set((await sql`select name from hubs`).map((h) => h.name));

const yuan = (fen) => {
  const value = BigInt(fen);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  return `${negative ? "-" : ""}${abs / 100n}.${String(abs % 100n).padStart(2, "0")}`;
};
const cursorOf = (values) => Buffer.from(JSON.stringify(values)).toString("base64url");

async function offers({ gpuModel, hub, availableFrom, availableUntil, first = 20 }) {
  const modelId = models.get(gpuModel);
  if (modelId == null || !hubs.has(hub))
    return { errors: [{ message: "bad filter", extensions: { code: "BAD_USER_INPUT" } }] };
  const from = new Date(availableFrom).toISOString();
  const until = new Date(availableUntil).toISOString();
  const where = sql`o.status = 'ACTIVE' and o.gpu_model_id = ${modelId} and dc.hub = ${hub}
    and o.available_from <= ${from} and o.available_until > ${from} and o.available_until >= ${until} and o.available_from < ${until}`;
  const [rows, [{ total }]] = await Promise.all([
    sql`select o.id, o.gpu_count, o.price_per_gpu_hour, o.available_from, o.available_until, o.min_hours,
               dc.name as dc_name, dc.hub, op.name as operator_name
        from offers o join data_centers dc on dc.id = o.data_center_id join organizations op on op.id = dc.operator_id
        where ${where} order by o.price_per_gpu_hour, o.id limit ${first + 1}`,
    sql`select count(*)::int as total from offers o join data_centers dc on dc.id = o.data_center_id where ${where}`,
  ]);
  const shown = rows.slice(0, first);
  const edges = shown.map((r) => ({
    cursor: cursorOf([String(r.price_per_gpu_hour), Number(r.id)]),
    node: {
      id: `offer_${r.id}`,
      gpuCount: r.gpu_count,
      pricePerGpuHour: { amount: yuan(r.price_per_gpu_hour) },
      availableFrom: r.available_from.toISOString(),
      availableUntil: r.available_until.toISOString(),
      minHours: r.min_hours,
      dataCenter: { name: r.dc_name, hub: r.hub, operator: { name: r.operator_name } },
      gpuModel: { name: gpuModel },
    },
  }));
  return {
    data: {
      offers: {
        totalCount: total,
        pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
        edges,
      },
    },
  };
}

// The same brief cache of token -> viewer as the server's authenticator.
const viewers = new Map();
async function viewerOf(authorization) {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (!token) return null;
  const hash = createHash("sha256").update(token).digest("hex");
  const cached = viewers.get(hash);
  if (cached && cached.until > Date.now()) return cached.viewer;
  const [row] =
    await sql`select o.kind, o.city from api_keys k join organizations o on o.id = k.organization_id where k.token_hash = ${hash} and k.revoked_at is null`;
  const viewer = row ?? null;
  viewers.set(hash, { viewer, until: Date.now() + 10_000 });
  return viewer;
}

async function spend({ city, from, to }, authorization) {
  const viewer = await viewerOf(authorization);
  if (!viewer || viewer.kind !== "CITY_FINANCE" || viewer.city !== city)
    return { errors: [{ message: "forbidden", extensions: { code: "FORBIDDEN" } }] };
  // The same sources as the server: whole months of the billing time zone (Asia/Shanghai, UTC+8
  // all year) from the monthly sums, the ends from the orders.
  const CHINA = 8 * 3_600_000;
  const monthStart = (at, add = 0) => {
    const china = new Date(at.getTime() + CHINA);
    return new Date(Date.UTC(china.getUTCFullYear(), china.getUTCMonth() + add, 1) - CHINA);
  };
  const monthDate = (at) => new Date(at.getTime() + CHINA).toISOString().slice(0, 10);
  const start = new Date(from);
  const end = new Date(to);
  const firstMonth = monthStart(start).getTime() === start.getTime() ? start : monthStart(start, 1);
  const lastMonth = monthStart(end);
  const whole = firstMonth < lastMonth;
  const periods = whole
    ? [
        [start, firstMonth],
        [lastMonth, end],
      ].filter(([a, b]) => a < b)
    : [[start, end]];
  const fromOrders = (a, b) => sql`
    select o.paid_day - extract(day from o.paid_day)::int + 1 as k0, o.data_center_id as k1, 1 as orders, o.gpu_hours, o.gross, o.subsidy, o.sme_share as sme_paid
    from orders o join subsidy_programs p on p.id = o.program_id
    where o.status = 'PAID' and o.program_id is not null and o.paid_at >= ${a.toISOString()} and o.paid_at < ${b.toISOString()} and p.city = ${city}`;
  const fromMonths = sql`
    select s.month as k0, s.data_center_id as k1, s.orders, s.gpu_hours, s.gross, s.subsidy, s.sme_paid
    from spend_by_month s join subsidy_programs p on p.id = s.program_id
    where s.month >= ${monthDate(firstMonth)}::date and s.month < ${monthDate(lastMonth)}::date and p.city = ${city}`;
  const parts = [...periods.map(([a, b]) => fromOrders(a, b)), ...(whole ? [fromMonths] : [])];
  const union = parts.reduce((all, part) => sql`${all} union all ${part}`);
  // As the server sends it: summed in bigint with the totals as a grouping set (last), sorted narrow.
  const rows = await sql`
    select to_char(x.k0, 'YYYY-MM') as k0v, 'dc_' || x.k1 as k1v, x.k1l, x.orders, x.gpu_hours::text, x.gross::text, x.subsidy::text, x.sme_paid::text
    from (
      select g.*, dc.name as k1l
      from (
        select u.k0, u.k1, coalesce(sum(u.orders), 0)::int as orders, sum_bigint(u.gpu_hours) as gpu_hours, sum_bigint(u.gross) as gross,
               sum_bigint(u.subsidy) as subsidy, sum_bigint(u.sme_paid) as sme_paid
        from (${union}) u
        group by grouping sets ((u.k0, u.k1), ()) having sum(u.orders) > 0 or grouping(u.k0, u.k1) <> 0
      ) g
      left join data_centers dc on dc.id = g.k1
      order by g.k0, g.k1
    ) x
    order by x.k0, x.k1`;
  const total = rows.pop();
  const figures = (r) => ({
    orders: r.orders,
    gpuHours: Number(r.gpu_hours),
    gross: { amount: yuan(r.gross) },
    subsidy: { amount: yuan(r.subsidy) },
    smePaid: { amount: yuan(r.sme_paid) },
  });
  return {
    data: {
      subsidySpend: {
        rows: rows.map((r) => ({
          keys: [
            { dimension: "MONTH", value: r.k0v, label: r.k0v },
            { dimension: "DATA_CENTER", value: r.k1v, label: r.k1l },
          ],
          ...figures(r),
        })),
        totals: figures(total),
      },
    },
  };
}

const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", async () => {
    try {
      const input = body ? JSON.parse(body) : {};
      const result =
        req.url === "/offers"
          ? await offers(input)
          : req.url === "/spend"
            ? await spend(input, req.headers.authorization)
            : null;
      if (!result) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(result));
    } catch (error) {
      res
        .writeHead(500, { "content-type": "application/json" })
        .end(JSON.stringify({ errors: [{ message: String(error) }] }));
    }
  });
});
server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on("SIGTERM", () => server.close(() => sql.end({ timeout: 2 }).then(() => process.exit(0))));
