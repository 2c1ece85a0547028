// Demo data for an empty database (skipped with SEED=none): organizations of every role with
// well-known demo tokens, ten data centers over the national hubs, a few hundred offers over
// the next 60 days, and the cities' subsidy programs of docs/domain.md. Deterministic for a given start hour.
import { count } from "drizzle-orm";
import type { Executor } from "./client.js";
import {
  apiKeys,
  dataCenters,
  gpuModels,
  offers,
  organizations,
  subsidyPrograms,
  voucherApplications,
  vouchers,
} from "./schema.js";
import { hashToken } from "../accounts/tokens.js";
import { addHours, ceilHour } from "../time.js";

export const DEMO_TOKENS = {
  SME: "gvm_demo_sme_shanghai",
  SME_2: "gvm_demo_sme_hangzhou",
  DATA_CENTER: "gvm_demo_operator_west",
  DATA_CENTER_2: "gvm_demo_operator_east",
  CITY_FINANCE: "gvm_demo_finance_shanghai",
  CITY_FINANCE_2: "gvm_demo_finance_hangzhou",
  INSTITUTE: "gvm_demo_institute_chengdu",
  CITY_FINANCE_CHENGDU: "gvm_demo_finance_chengdu",
} as const;

const CNY = (yuan: number) => BigInt(yuan) * 100n;

/** A small deterministic generator (mulberry32), so the demo data is the same on every machine. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DATA_CENTERS = [
  { name: "Zhongwei Desert Cloud DC-1", hub: "Ningxia Zhongwei", province: "Ningxia", operator: 0, west: true },
  { name: "Qingyang East-West Compute Center", hub: "Gansu Qingyang", province: "Gansu", operator: 0, west: true },
  {
    name: "Horinger Grassland AI Center",
    hub: "Inner Mongolia Horinger",
    province: "Inner Mongolia",
    operator: 0,
    west: true,
  },
  { name: "Gui'an Mountain Data Center", hub: "Guizhou Gui'an", province: "Guizhou", operator: 1, west: true },
  { name: "Chongqing Liangjiang Compute", hub: "Chongqing", province: "Chongqing", operator: 1, west: true },
  { name: "Tianfu Intelligent Compute Center", hub: "Chengdu Tianfu", province: "Sichuan", operator: 1, west: true },
  { name: "Zhangjiakou Huailai Data Center", hub: "Zhangjiakou", province: "Hebei", operator: 1, west: false },
  { name: "Wuhu Yangtze Compute Park", hub: "Wuhu", province: "Anhui", operator: 1, west: false },
  { name: "Qingpu Yangtze Delta Data Center", hub: "Yangtze Delta", province: "Shanghai", operator: 1, west: false },
  { name: "Shaoguan Huawan Data Center", hub: "Shaoguan", province: "Guangdong", operator: 1, west: false },
];

/** Plausible price ranges in yuan per GPU-hour, by model. */
const PRICE_RANGE: Record<string, [number, number]> = {
  H800: [26, 40],
  H100: [28, 40],
  A800: [15, 25],
  H20: [10, 18],
  L40S: [8, 14],
  "RTX 4090": [6, 9],
  "Ascend 910B": [12, 20],
  "Hygon DCU K100": [8, 14],
  "Cambricon MLU370-X8": [6, 10],
};

export async function isEmpty(db: Executor): Promise<boolean> {
  const [{ n }] = await db.select({ n: count() }).from(organizations);
  return Number(n) === 0;
}

export async function seedDemo(db: Executor, now: Date): Promise<void> {
  const rnd = random(20261129);
  const start = ceilHour(now);
  const year = now.getUTCFullYear();

  const orgs = await db
    .insert(organizations)
    .values([
      { name: "Western Cloud Compute Co.", kind: "DATA_CENTER_OPERATOR", city: "Yinchuan" },
      { name: "Eastern Hub Data Services Ltd.", kind: "DATA_CENTER_OPERATOR", city: "Guiyang" },
      { name: "Shanghai Mofang Vision Technology", kind: "SME", city: "Shanghai", creditCode: "91310115MA1K4ABC1X" },
      { name: "Hangzhou Lingxi AI Ltd.", kind: "SME", city: "Hangzhou", creditCode: "91330106MA2H7DEF2Y" },
      { name: "Shanghai Municipal Finance Bureau", kind: "CITY_FINANCE", city: "Shanghai" },
      { name: "Hangzhou Finance Bureau", kind: "CITY_FINANCE", city: "Hangzhou" },
      { name: "Beijing Finance Bureau", kind: "CITY_FINANCE", city: "Beijing" },
      { name: "Shenzhen Finance Bureau", kind: "CITY_FINANCE", city: "Shenzhen" },
      { name: "Chengdu Finance Bureau", kind: "CITY_FINANCE", city: "Chengdu" },
      { name: "Shandong Finance Department", kind: "CITY_FINANCE", city: "Shandong" },
      { name: "Henan Finance Department", kind: "CITY_FINANCE", city: "Henan" },
      // Chengdu's research program pays research institutes only.
      {
        name: "Chengdu Institute of Intelligent Computing",
        kind: "SME",
        city: "Chengdu",
        category: "RESEARCH_INSTITUTE",
        creditCode: "12510100MB0X5GH43Y",
      },
    ])
    .returning();
  const org = (name: string) => orgs.find((o) => o.name === name)!.id;
  const operators = [org("Western Cloud Compute Co."), org("Eastern Hub Data Services Ltd.")];
  const smeShanghai = org("Shanghai Mofang Vision Technology");
  const smeHangzhou = org("Hangzhou Lingxi AI Ltd.");

  await db.insert(apiKeys).values(
    (
      [
        [DEMO_TOKENS.SME, smeShanghai],
        [DEMO_TOKENS.SME_2, smeHangzhou],
        [DEMO_TOKENS.DATA_CENTER, operators[0]],
        [DEMO_TOKENS.DATA_CENTER_2, operators[1]],
        [DEMO_TOKENS.CITY_FINANCE, org("Shanghai Municipal Finance Bureau")],
        [DEMO_TOKENS.CITY_FINANCE_2, org("Hangzhou Finance Bureau")],
        [DEMO_TOKENS.INSTITUTE, org("Chengdu Institute of Intelligent Computing")],
        [DEMO_TOKENS.CITY_FINANCE_CHENGDU, org("Chengdu Finance Bureau")],
      ] as const
    ).map(([token, organizationId]) => ({ organizationId, tokenHash: hashToken(token) })),
  );

  const dcs = await db
    .insert(dataCenters)
    .values(
      DATA_CENTERS.map((d) => ({ name: d.name, hub: d.hub, province: d.province, operatorId: operators[d.operator] })),
    )
    .returning();

  const models = await db.select().from(gpuModels);
  const offerRows: (typeof offers.$inferInsert)[] = [];
  dcs.forEach((dc, i) => {
    const west = DATA_CENTERS[i].west;
    for (let n = 0; n < 30; n++) {
      const model = models[Math.floor(rnd() * models.length)];
      const [low, high] = PRICE_RANGE[model.name] ?? [10, 30];
      const yuan = (low + rnd() * (high - low)) * (west ? 0.85 : 1);
      const from = addHours(start, Math.floor(rnd() * 50 * 24));
      const hours = 24 * (1 + Math.floor(rnd() * 10));
      offerRows.push({
        dataCenterId: dc.id,
        gpuModelId: model.id,
        gpuCount: [8, 16, 32, 64, 128][Math.floor(rnd() * 5)],
        pricePerGpuHour: BigInt(Math.round(yuan * 10)) * 10n, // whole jiao
        availableFrom: from,
        availableUntil: addHours(from, hours),
        minHours: [1, 4, 8, 24][Math.floor(rnd() * 4)],
        createdAt: now,
        updatedAt: now,
      });
    }
  });
  await db.insert(offers).values(offerRows);

  const validFrom = new Date(Date.UTC(year, 0, 1));
  const validUntil = new Date(Date.UTC(year + 1, 11, 31, 23));
  const program = (
    city: string,
    finance: string,
    p: Partial<typeof subsidyPrograms.$inferInsert> & { name: string; budgetTotal: bigint; rateBasisPoints: number },
  ) => ({
    city,
    financeOrgId: org(finance),
    available: p.budgetTotal,
    validFrom,
    validUntil,
    ...p,
  });
  const programs = await db
    .insert(subsidyPrograms)
    .values([
      program("Shanghai", "Shanghai Municipal Finance Bureau", {
        name: "Shanghai Compute Voucher",
        budgetTotal: CNY(600_000_000),
        rateBasisPoints: 3000,
        perOrderCap: CNY(1_000_000),
        maxSubsidizedPricePerGpuHour: CNY(40),
      }),
      program("Beijing", "Beijing Finance Bureau", {
        name: "Beijing Compute Voucher",
        budgetTotal: CNY(200_000_000),
        rateBasisPoints: 2000,
        perSmeAnnualCap: CNY(2_000_000),
      }),
      program("Shenzhen", "Shenzhen Finance Bureau", {
        name: "Shenzhen Training Compute Subsidy",
        budgetTotal: CNY(500_000_000),
        rateBasisPoints: 5000,
        perSmeAnnualCap: CNY(10_000_000),
      }),
      program("Chengdu", "Chengdu Finance Bureau", {
        name: "Chengdu Research Compute Voucher",
        budgetTotal: CNY(100_000_000),
        rateBasisPoints: 3000,
        perSmeAnnualCap: CNY(3_000_000),
        eligibleCategories: ["RESEARCH_INSTITUTE"],
      }),
      program("Shandong", "Shandong Finance Department", {
        name: "Shandong Compute Voucher",
        budgetTotal: CNY(30_000_000),
        rateBasisPoints: 500,
        perSmeAnnualCap: CNY(5_000_000),
      }),
      program("Henan", "Henan Finance Department", {
        name: "Henan Compute Voucher",
        budgetTotal: CNY(50_000_000),
        rateBasisPoints: 2000,
        perSmeAnnualCap: CNY(1_000_000),
      }),
      program("Hangzhou", "Hangzhou Finance Bureau", {
        name: "Hangzhou Compute Voucher",
        budgetTotal: CNY(250_000_000),
        rateBasisPoints: 2000,
        domesticRateBasisPoints: 3000,
        perSmeAnnualCap: CNY(8_000_000),
      }),
    ])
    .returning();
  const programIn = (city: string) => programs.find((p) => p.city === city)!;

  // One approved voucher per demo SME, so the checkout can be tried at once.
  for (const [sme, city, amount] of [
    [smeShanghai, "Shanghai", CNY(100_000)],
    [smeHangzhou, "Hangzhou", CNY(50_000)],
  ] as const) {
    const prog = programIn(city);
    const [application] = await db
      .insert(voucherApplications)
      .values({
        programId: prog.id,
        smeId: sme,
        requestedAmount: amount,
        purpose: "Fine-tuning a vision-language model",
        status: "APPROVED",
        decisionReason: "Demo voucher",
        decidedAt: now,
      })
      .returning();
    await db.insert(vouchers).values({
      programId: prog.id,
      smeId: sme,
      applicationId: application.id,
      grantedAmount: amount,
      remaining: amount,
      validUntil: prog.validUntil,
    });
  }
}
