// The national-scale market, generated from a seed and loaded with COPY: data centers over the ten
// hubs, offers, SMEs with vouchers, programs, and two years of PAID orders with every row the schema
// and the ledger of docs/domain.md require (bid, reservation, order, RESERVE + POST entries, claim line,
// statements, balances). Rows are written straight into COPY streams, one connection per table.
import { createHash } from "node:crypto";
import { once } from "node:events";
import { prng } from "./prng.mjs";

// openBids: the standing book, bids that wait for cheaper capacity than any offer's (see below).
export const SIZES = {
  full: {
    dataCenters: 1000,
    operators: 250,
    offers: 200_000,
    smes: 50_000,
    programs: 20,
    orders: 1_000_000,
    openBids: 100_000,
  },
  quick: { dataCenters: 100, operators: 25, offers: 5_000, smes: 1_000, programs: 20, orders: 20_000, openBids: 1_000 },
  // The points of `--curve` between quick and full (quick and full are its ends).
  c100k: {
    dataCenters: 250,
    operators: 60,
    offers: 25_000,
    smes: 5_000,
    programs: 20,
    orders: 100_000,
    openBids: 10_000,
  },
  c300k: {
    dataCenters: 500,
    operators: 125,
    offers: 60_000,
    smes: 15_000,
    programs: 20,
    orders: 300_000,
    openBids: 30_000,
  },
};

/** The columns of a bid as the history and the standing book write it. */
const BID_COLUMNS = [
  "id",
  "sme_id",
  "gpu_model_id",
  "gpu_count",
  "hours",
  "earliest_start",
  "latest_end",
  "max_price_per_gpu_hour",
  "hubs",
  "status",
  "created_at",
  "updated_at",
];

/** SMEs (by index) that get API keys and large vouchers in uncapped programs: the load's clients. */
export const BENCH_SMES = 64;
export const CITIES = ["Shanghai", "Beijing", "Shenzhen", "Chengdu", "Jinan", "Zhengzhou", "Hangzhou"];
const CITY_RATES = [3000, 2000, 5000, 3000, 500, 2000, 2000];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Budget left available in every program after the history: room for the load. */
const PROGRAM_HEADROOM = 100_000_000_000; // 1 billion CNY in fen

export const smeToken = (index) => `gvm_bench_sme_${index}`;
export const financeToken = (city) => `gvm_bench_finance_${city.toLowerCase()}`;
const hash = (token) => createHash("sha256").update(token).digest("hex");

// Price per GPU-hour around which each model's offers spread (fen).
const BASE_PRICE = {
  H800: 2600,
  A800: 1800,
  H20: 1200,
  H100: 3000,
  L40S: 700,
  "RTX 4090": 300,
  "Ascend 910B": 1500,
  "Hygon DCU K100": 900,
  "Cambricon MLU370-X8": 600,
};
const MODEL_WEIGHT = {
  H800: 20,
  A800: 14,
  H20: 12,
  H100: 8,
  L40S: 8,
  "RTX 4090": 10,
  "Ascend 910B": 16,
  "Hygon DCU K100": 6,
  "Cambricon MLU370-X8": 6,
};

const iso = (ms) => new Date(ms).toISOString();
const nul = (v) => (v == null ? "\\N" : String(v));
const pgArray = (list) => `{${list.map((s) => `"${s.replace(/["\\]/g, "\\$&")}"`).join(",")}}`;
// The bench runs in the default billing time zone, Asia/Shanghai: UTC+8 all year.
const CHINA = 8 * 3_600_000;
const dayOf = (ms) => iso(ms + CHINA).slice(0, 10);
const monthOf = (ms) => dayOf(ms).slice(0, 7);
function nextMonth(month) {
  const [y, m] = month.split("-").map(Number);
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, "0")}`;
}

/** A COPY ... FROM STDIN stream with buffering and backpressure. */
async function copyStream(sql, table, columns) {
  const stream = await sql.unsafe(`copy ${table} (${columns.join(", ")}) from stdin`).writable();
  let chunk = [];
  let size = 0;
  let rows = 0;
  const flush = async () => {
    if (!chunk.length) return;
    const text = chunk.join("");
    chunk = [];
    size = 0;
    if (!stream.write(text)) await once(stream, "drain");
  };
  return {
    table,
    get rows() {
      return rows;
    },
    async row(values) {
      const line = values.join("\t") + "\n";
      chunk.push(line);
      size += line.length;
      rows++;
      if (size > 1 << 16) await flush();
    },
    async end() {
      await flush();
      const done = once(stream, "finish");
      stream.end();
      await done;
    },
  };
}

/** Secondary indexes of the big tables: dropped for the load, rebuilt after (much faster than row by row). */
const BULK_TABLES = [
  "offers",
  "bids",
  "reservations",
  "orders",
  "ledger_entries",
  "claim_lines",
  "organizations",
  "vouchers",
  "voucher_applications",
  "api_keys",
  "data_centers",
];

async function dropSecondaryIndexes(sql) {
  const indexes = await sql`
    select i.indexname, i.indexdef from pg_indexes i
    where i.schemaname = 'public' and i.tablename = any(${BULK_TABLES})
      and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`;
  for (const { indexname } of indexes) await sql.unsafe(`drop index ${indexname}`);
  return indexes.map((i) => i.indexdef);
}

/**
 * Generates and loads the market into an empty, migrated database. `anchor` is the start of the
 * current UTC day: history is the two years before it, current offers run around and after it.
 */
export async function generate(sql, { size, seed = 20261101, anchor, log = () => {} }) {
  const S = SIZES[size];
  const random = prng(seed);
  const models = await sql`select id, name, domestic from gpu_models order by id`;
  const hubs = await sql`select name, province from hubs order by name`;
  const modelWeights = models.map((m) => MODEL_WEIGHT[m.name] ?? 5);
  const created = iso(anchor - 900 * DAY);

  // The caller's connections run with session_replication_role = replica: foreign keys are not
  // checked row by row (every reference here is generated consistent, and the checks run after).
  const indexDefs = await dropSecondaryIndexes(sql);

  // ---------------------------------------------------------------- organizations and keys
  const orgs = await copyStream(sql, "organizations", ["id", "name", "kind", "city", "credit_code", "created_at"]);
  const keys = await copyStream(sql, "api_keys", ["id", "organization_id", "token_hash", "created_at"]);
  let orgId = 0;
  let keyId = 0;
  const financeOrg = {};
  for (const city of CITIES) {
    financeOrg[city] = ++orgId;
    await orgs.row([
      orgId,
      `${city} Finance Bureau`,
      "CITY_FINANCE",
      city,
      `FIN${String(orgId).padStart(15, "0")}`,
      created,
    ]);
    await keys.row([++keyId, orgId, hash(financeToken(city)), created]);
  }
  const operatorIds = [];
  for (let i = 0; i < S.operators; i++) {
    operatorIds.push(++orgId);
    await orgs.row([
      orgId,
      `Operator ${i + 1}`,
      "DATA_CENTER_OPERATOR",
      "\\N",
      `OPR${String(orgId).padStart(15, "0")}`,
      created,
    ]);
  }
  const smeIds = [];
  for (let i = 0; i < S.smes; i++) {
    smeIds.push(++orgId);
    await orgs.row([
      orgId,
      `SME ${i + 1}`,
      "SME",
      CITIES[i % CITIES.length],
      `SME${String(orgId).padStart(15, "0")}`,
      created,
    ]);
    if (i < BENCH_SMES) await keys.row([++keyId, orgId, hash(smeToken(i)), created]);
  }
  await orgs.end();
  await keys.end();

  // ---------------------------------------------------------------- data centers
  const dcs = await copyStream(sql, "data_centers", ["id", "name", "hub", "province", "operator_id", "created_at"]);
  const dcHub = [0];
  for (let i = 0; i < S.dataCenters; i++) {
    const hub = hubs[i % hubs.length];
    dcHub.push(hub.name);
    await dcs.row([
      i + 1,
      `DC ${hub.name} ${Math.floor(i / hubs.length) + 1}`,
      hub.name,
      hub.province,
      operatorIds[i % operatorIds.length],
      created,
    ]);
  }
  await dcs.end();

  // ---------------------------------------------------------------- programs (rows written at the end, with their balances)
  const programs = [];
  for (let p = 0; p < S.programs; p++) {
    const city = CITIES[p % CITIES.length];
    const rate = CITY_RATES[p % CITIES.length];
    programs.push({
      id: p + 1,
      city,
      name: `${city} compute voucher ${Math.floor(p / CITIES.length) + 1}`,
      rate,
      domesticRate: p % 2 === 0 ? Math.min(10_000, rate + 1000) : null,
      perOrderCap: p % 4 === 2 ? 5_000_000 : null,
      perSmeAnnualCap: p % 3 === 1 ? 200_000_000 : null,
      maxPrice: p % 6 === 5 ? 2000 : null,
      eligibleHubs: p % 5 === 4 ? hubs.filter((_, i) => (i + p) % 3 === 0).map((h) => h.name) : [],
      spent: 0,
    });
  }
  // Vouchers of the load's SMEs are in programs without an annual cap or a hub list.
  const open = programs.filter((p) => p.perSmeAnnualCap == null && p.eligibleHubs.length === 0);
  const validFrom = anchor - 800 * DAY;
  const validUntil = anchor + 730 * DAY;

  const vouchers = smeIds.map((smeId, i) => {
    const program = i < BENCH_SMES ? open[i % open.length] : programs[i % programs.length];
    const granted = i < BENCH_SMES ? 50_000_000_000 : random.int(2_000, 10_000) * 10_000;
    return { id: i + 1, smeId, program, granted, remaining: granted };
  });
  const annual = new Map(); // program:sme:year -> committed

  // ---------------------------------------------------------------- offers
  const offerRows = await copyStream(sql, "offers", [
    "id",
    "data_center_id",
    "gpu_model_id",
    "gpu_count",
    "price_per_gpu_hour",
    "available_from",
    "available_until",
    "min_hours",
    "status",
    "created_at",
    "updated_at",
  ]);
  const historical = Math.round(S.offers * 0.75);
  const history = []; // the historical offers, which carry the orders
  for (let j = 0; j < S.offers; j++) {
    const dcId = random.int(1, S.dataCenters);
    const model = models[random.weighted(modelWeights)];
    const gpuCount = random.pick([8, 8, 16, 16, 32, 64, 128]);
    const base = BASE_PRICE[model.name] ?? 1000;
    const price = Math.max(10, Math.round((base * (0.6 + random.next() * 0.8)) / 10) * 10);
    const minHours = random.pick([1, 1, 2, 4, 8, 24]);
    let from, until, status;
    if (j < historical) {
      from = anchor - 730 * DAY + random.int(0, 655 * 24) * HOUR;
      until = from + random.int(30 * 24, 60 * 24) * HOUR;
      status = "ACTIVE";
      history.push({ id: j + 1, dcId, model, gpuCount, price, minHours, from, until });
    } else {
      from = anchor + random.int(-14 * 24, 30 * 24) * HOUR;
      until = from + random.int(14 * 24, 180 * 24) * HOUR;
      const roll = random.next();
      status = roll < 0.95 ? "ACTIVE" : roll < 0.99 ? "PAUSED" : "WITHDRAWN";
    }
    const at = iso(Math.min(from, anchor) - random.int(1, 14 * 24) * HOUR);
    await offerRows.row([j + 1, dcId, model.id, gpuCount, price, iso(from), iso(until), minHours, status, at, at]);
  }
  await offerRows.end();
  log(`  offers: ${S.offers} (${historical} with history)`);

  // ---------------------------------------------------------------- statements (ids by program and month)
  const months = [];
  for (let m = monthOf(validFrom); m <= monthOf(anchor); m = nextMonth(m)) months.push(m);
  const lastSettled = monthOf(anchor - 40 * DAY);
  const statements = await copyStream(sql, "city_statements", [
    "id",
    "program_id",
    "month",
    "status",
    "settled_at",
    "created_at",
  ]);
  const statementId = (programId, month) => (programId - 1) * months.length + months.indexOf(month) + 1;
  for (const program of programs) {
    for (const month of months) {
      const settled = month <= lastSettled;
      const settledAt = settled ? iso(Date.parse(`${nextMonth(month)}-10T00:00:00Z`)) : "\\N";
      await statements.row([
        statementId(program.id, month),
        program.id,
        month,
        settled ? "SETTLED" : "OPEN",
        settledAt,
        iso(Date.parse(`${month}-01T00:00:00Z`)),
      ]);
    }
  }
  await statements.end();

  // ---------------------------------------------------------------- the history: bid, reservation, order, ledger, claim
  const [bids, reservations, orders, ledger, claims] = await Promise.all([
    copyStream(sql, "bids", BID_COLUMNS),
    copyStream(sql, "reservations", [
      "id",
      "bid_id",
      "offer_id",
      "sme_id",
      "gpu_count",
      "starts_at",
      "ends_at",
      "price_per_gpu_hour",
      "status",
      "hold_expires_at",
      "created_at",
      "updated_at",
    ]),
    copyStream(sql, "orders", [
      "id",
      "reservation_id",
      "sme_id",
      "voucher_id",
      "program_id",
      "offer_id",
      "data_center_id",
      "hub",
      "gpu_model_id",
      "gpu_hours",
      "gross",
      "subsidy",
      "sme_share",
      "subsidy_year",
      "status",
      "idempotency_key",
      "request_fingerprint",
      "payment_provider",
      "payment_ref",
      "payment_status",
      "client_secret",
      "paid_at",
      "paid_day",
      "created_at",
      "updated_at",
    ]),
    copyStream(sql, "ledger_entries", ["id", "program_id", "voucher_id", "order_id", "kind", "amount", "created_at"]),
    copyStream(sql, "claim_lines", [
      "id",
      "statement_id",
      "program_id",
      "order_id",
      "data_center_id",
      "amount",
      "created_at",
    ]),
  ]);
  let id = 0;
  let ledgerId = 0;
  let claimId = 0;
  const perOffer = Math.floor(S.orders / history.length);
  const extra = S.orders % history.length;
  for (let j = 0; j < history.length; j++) {
    const offer = history[j];
    const count = perOffer + (j < extra ? 1 : 0);
    if (count === 0) continue;
    // Reservations follow each other on an offer: never two in one hour, so never overbooked.
    const slot = Math.floor((offer.until - offer.from) / HOUR / count);
    const hub = dcHub[offer.dcId];
    for (let k = 0; k < count; k++) {
      id++;
      const hours = random.int(Math.max(offer.minHours, 2), Math.max(offer.minHours, Math.min(72, slot - 1)));
      const startsAt = offer.from + (k * slot + random.int(0, slot - hours)) * HOUR;
      const endsAt = startsAt + hours * HOUR;
      const gpus = random.pick([1, 2, 4, 8].filter((g) => g <= offer.gpuCount));
      const checkoutAt = startsAt - random.int(1, 72) * HOUR - random.int(0, 3_599_000);
      const bidAt = checkoutAt - random.int(1_000, 600_000);
      const paidAt = checkoutAt + random.int(200, 5_000);
      const smeIndex = random.int(0, S.smes - 1);
      const smeId = smeIds[smeIndex];
      const voucher = vouchers[smeIndex];
      const program = voucher.program;

      const bidMax = offer.price + Math.round((random.next() * offer.price) / 40) * 10;
      await bids.row([
        id,
        smeId,
        offer.model.id,
        gpus,
        hours,
        iso(startsAt - random.int(0, 24) * HOUR),
        iso(endsAt + random.int(0, 24) * HOUR),
        bidMax,
        "\\N",
        "MATCHED",
        iso(bidAt),
        iso(bidAt),
      ]);
      await reservations.row([
        id,
        id,
        offer.id,
        smeId,
        gpus,
        iso(startsAt),
        iso(endsAt),
        offer.price,
        "CONFIRMED",
        iso(checkoutAt + 60 * 60_000),
        iso(bidAt),
        iso(paidAt),
      ]);

      // The subsidy of docs/domain.md, with the voucher, program and annual counters as they stand.
      const gross = gpus * hours * offer.price;
      const eligible =
        (program.eligibleHubs.length === 0 || program.eligibleHubs.includes(hub)) && !random.chance(0.05);
      let subsidy = 0;
      const year = new Date(checkoutAt + CHINA).getUTCFullYear();
      const annualKey = `${program.id}:${smeId}:${year}`;
      if (eligible) {
        const price = program.maxPrice != null && program.maxPrice < offer.price ? program.maxPrice : offer.price;
        const rate = offer.model.domestic && program.domesticRate != null ? program.domesticRate : program.rate;
        subsidy = Math.floor((gpus * hours * price * rate) / 10_000);
        subsidy = Math.min(subsidy, voucher.remaining);
        if (program.perOrderCap != null) subsidy = Math.min(subsidy, program.perOrderCap);
        if (program.perSmeAnnualCap != null)
          subsidy = Math.min(subsidy, program.perSmeAnnualCap - (annual.get(annualKey) ?? 0));
        subsidy = Math.max(0, subsidy);
      }
      const voucherId = eligible ? voucher.id : null;
      await orders.row([
        id,
        id,
        smeId,
        nul(voucherId),
        eligible ? program.id : "\\N",
        offer.id,
        offer.dcId,
        hub,
        offer.model.id,
        gpus * hours,
        gross,
        subsidy,
        gross - subsidy,
        year,
        "PAID",
        `hist-${id}`,
        `reservation:${id};voucher:${voucherId ?? "none"}`,
        "simulated",
        `sim_${id}`,
        "succeeded",
        "\\N",
        iso(paidAt),
        dayOf(paidAt),
        iso(checkoutAt),
        iso(paidAt),
      ]);
      if (subsidy > 0) {
        voucher.remaining -= subsidy;
        annual.set(annualKey, (annual.get(annualKey) ?? 0) + subsidy);
        program.spent += subsidy;
        await ledger.row([++ledgerId, program.id, voucher.id, id, "RESERVE", subsidy, iso(checkoutAt)]);
        await ledger.row([++ledgerId, program.id, voucher.id, id, "POST", subsidy, iso(paidAt)]);
        await claims.row([
          ++claimId,
          statementId(program.id, monthOf(paidAt)),
          program.id,
          id,
          offer.dcId,
          subsidy,
          iso(paidAt),
        ]);
      }
    }
    if (j % 20_000 === 19_999) log(`  history: ${id} orders`);
  }
  await Promise.all([bids.end(), reservations.end(), orders.end(), ledger.end(), claims.end()]);
  log(`  history: ${id} orders, ${ledgerId} ledger entries, ${claimId} claim lines`);

  // ---------------------------------------------------------------- the standing book: open bids
  // Bids of SMEs that wait for cheaper capacity: 20-50 % of their model's base price, below every
  // offer (60-140 %) and every offer the bench publishes, over the next ten days. They never match
  // here; each publication still looks for open bids its capacity could serve.
  let bidId = id;
  const openBids = await copyStream(sql, "bids", BID_COLUMNS);
  for (let j = 0; j < S.openBids; j++) {
    const model = models[random.weighted(modelWeights)];
    const base = BASE_PRICE[model.name] ?? 1000;
    const hours = random.int(2, 24);
    const earliest = anchor + random.int(0, 10 * 24) * HOUR;
    const placedAt = iso(anchor - random.int(1, 30 * 24) * HOUR);
    await openBids.row([
      ++bidId,
      smeIds[random.int(0, S.smes - 1)],
      model.id,
      random.int(1, 8),
      hours,
      iso(earliest),
      iso(earliest + (hours + random.int(0, 48)) * HOUR),
      Math.max(10, Math.round((base * (0.2 + random.next() * 0.3)) / 10) * 10),
      "\\N",
      "OPEN",
      placedAt,
      placedAt,
    ]);
  }
  await openBids.end();
  log(`  open bids: ${S.openBids}`);

  // ---------------------------------------------------------------- programs, applications, vouchers, annual counters
  const programRows = await copyStream(sql, "subsidy_programs", [
    "id",
    "city",
    "name",
    "finance_org_id",
    "budget_total",
    "available",
    "pending",
    "spent",
    "rate_basis_points",
    "domestic_rate_basis_points",
    "per_order_cap",
    "per_sme_annual_cap",
    "max_subsidized_price_per_gpu_hour",
    "eligible_hubs",
    "valid_from",
    "valid_until",
    "status",
    "created_at",
  ]);
  for (const p of programs) {
    await programRows.row([
      p.id,
      p.city,
      p.name,
      financeOrg[p.city],
      p.spent + PROGRAM_HEADROOM,
      PROGRAM_HEADROOM,
      0,
      p.spent,
      p.rate,
      nul(p.domesticRate),
      nul(p.perOrderCap),
      nul(p.perSmeAnnualCap),
      nul(p.maxPrice),
      pgArray(p.eligibleHubs),
      iso(validFrom),
      iso(validUntil),
      "ACTIVE",
      iso(validFrom),
    ]);
  }
  await programRows.end();
  const applications = await copyStream(sql, "voucher_applications", [
    "id",
    "program_id",
    "sme_id",
    "requested_amount",
    "purpose",
    "status",
    "decision_reason",
    "decided_at",
    "created_at",
  ]);
  const voucherRows = await copyStream(sql, "vouchers", [
    "id",
    "program_id",
    "sme_id",
    "application_id",
    "granted_amount",
    "remaining",
    "valid_until",
    "status",
    "created_at",
  ]);
  for (const v of vouchers) {
    await applications.row([
      v.id,
      v.program.id,
      v.smeId,
      v.granted,
      "model training",
      "APPROVED",
      "\\N",
      iso(validFrom + DAY),
      iso(validFrom),
    ]);
    await voucherRows.row([
      v.id,
      v.program.id,
      v.smeId,
      v.id,
      v.granted,
      v.remaining,
      iso(validUntil),
      "ACTIVE",
      iso(validFrom + DAY),
    ]);
  }
  await applications.end();
  await voucherRows.end();
  const annualRows = await copyStream(sql, "sme_annual_subsidy", ["program_id", "sme_id", "year", "committed"]);
  for (const [key, committed] of annual) await annualRows.row([...key.split(":"), committed]);
  await annualRows.end();

  // The spend report's monthly sums and the policy report's daily capacity: the load runs without
  // triggers, so they are summed here once, by the function migration 0009 runs on an existing database.
  await sql`select billing_recalendar(billing_zone())`;

  // ---------------------------------------------------------------- indexes, sequences, statistics
  log(`  rebuilding ${indexDefs.length} indexes`);
  for (const def of indexDefs) await sql.unsafe(def);
  for (const [table, value] of [
    ["organizations", orgId],
    ["api_keys", keyId],
    ["data_centers", S.dataCenters],
    ["offers", S.offers],
    ["bids", bidId],
    ["reservations", id],
    ["orders", id],
    ["ledger_entries", ledgerId],
    ["claim_lines", claimId],
    ["city_statements", programs.length * months.length],
    ["subsidy_programs", programs.length],
    ["voucher_applications", vouchers.length],
    ["vouchers", vouchers.length],
  ]) {
    await sql.unsafe(`select setval(pg_get_serial_sequence('${table}', 'id'), ${Math.max(1, value)})`);
  }

  return {
    anchor,
    seed,
    size,
    counts: {
      ...S,
      orders: id,
      ledgerEntries: ledgerId,
      claimLines: claimId,
      statements: programs.length * months.length,
      vouchers: vouchers.length,
    },
    models: Object.fromEntries(models.map((m) => [m.name, Number(m.id)])),
    hubs: hubs.map((h) => h.name),
    cities: CITIES,
    programs: programs.map((p) => ({ id: p.id, city: p.city })),
    benchSmes: vouchers
      .slice(0, BENCH_SMES)
      .map((v, i) => ({ index: i, token: smeToken(i), smeId: v.smeId, voucherId: v.id, programId: v.program.id })),
  };
}
