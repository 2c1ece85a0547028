import { describe, expect, it } from "vitest";
import {
  checkEligibility,
  computeSubsidy,
  type EligibilityInput,
  type IneligibleReason,
  type SubsidyInput,
  type SubsidyLimit,
} from "../src/vouchers/subsidy.js";

// 8 GPUs x 10 hours x 20.00 yuan = 1600.00 yuan gross; 30 % = 480.00 yuan.
const base: SubsidyInput = {
  gpuCount: 8,
  hours: 10,
  pricePerGpuHour: 2000n,
  domestic: false,
  program: {
    rateBasisPoints: 3000,
    domesticRateBasisPoints: null,
    perOrderCap: null,
    perSmeAnnualCap: null,
    maxSubsidizedPricePerGpuHour: null,
  },
  voucherRemaining: 10_000_000n,
  smeCommittedThisYear: 0n,
  programAvailable: 1_000_000_000n,
};

function with_(
  change: Partial<Omit<SubsidyInput, "program">> & { program?: Partial<SubsidyInput["program"]> },
): SubsidyInput {
  return { ...base, ...change, program: { ...base.program, ...change.program } };
}

const cases: { name: string; input: SubsidyInput; gross: bigint; subsidy: bigint; limitedBy: SubsidyLimit }[] = [
  { name: "the rate alone", input: base, gross: 160_000n, subsidy: 48_000n, limitedBy: "RATE" },
  {
    name: "a rate of 0",
    input: with_({ program: { rateBasisPoints: 0 } }),
    gross: 160_000n,
    subsidy: 0n,
    limitedBy: "RATE",
  },
  {
    name: "a rate of 100 %",
    input: with_({ program: { rateBasisPoints: 10_000 } }),
    gross: 160_000n,
    subsidy: 160_000n,
    limitedBy: "RATE",
  },
  {
    name: "the domestic rate for a domestic model",
    input: with_({ domestic: true, program: { domesticRateBasisPoints: 5000 } }),
    gross: 160_000n,
    subsidy: 80_000n,
    limitedBy: "RATE",
  },
  {
    name: "the domestic rate may also be lower",
    input: with_({ domestic: true, program: { domesticRateBasisPoints: 1000 } }),
    gross: 160_000n,
    subsidy: 16_000n,
    limitedBy: "RATE",
  },
  {
    name: "the normal rate for a domestic model when no domestic rate is set",
    input: with_({ domestic: true }),
    gross: 160_000n,
    subsidy: 48_000n,
    limitedBy: "RATE",
  },
  {
    name: "the normal rate for a foreign model even when a domestic rate is set",
    input: with_({ program: { domesticRateBasisPoints: 5000 } }),
    gross: 160_000n,
    subsidy: 48_000n,
    limitedBy: "RATE",
  },
  {
    name: "the price ceiling limits the base, not the gross",
    input: with_({ program: { maxSubsidizedPricePerGpuHour: 1500n } }),
    gross: 160_000n,
    subsidy: 36_000n,
    limitedBy: "RATE",
  },
  {
    name: "a ceiling above the price changes nothing",
    input: with_({ program: { maxSubsidizedPricePerGpuHour: 5000n } }),
    gross: 160_000n,
    subsidy: 48_000n,
    limitedBy: "RATE",
  },
  {
    name: "a ceiling equal to the price changes nothing",
    input: with_({ program: { maxSubsidizedPricePerGpuHour: 2000n } }),
    gross: 160_000n,
    subsidy: 48_000n,
    limitedBy: "RATE",
  },
  {
    name: "ceiling and domestic rate together",
    input: with_({ domestic: true, program: { maxSubsidizedPricePerGpuHour: 1000n, domesticRateBasisPoints: 8000 } }),
    gross: 160_000n,
    subsidy: 64_000n,
    limitedBy: "RATE",
  },
  {
    name: "the per-order cap",
    input: with_({ program: { perOrderCap: 30_000n } }),
    gross: 160_000n,
    subsidy: 30_000n,
    limitedBy: "PER_ORDER_CAP",
  },
  {
    name: "a per-order cap above the rate's figure",
    input: with_({ program: { perOrderCap: 50_000n } }),
    gross: 160_000n,
    subsidy: 48_000n,
    limitedBy: "RATE",
  },
  {
    name: "the voucher's remaining balance",
    input: with_({ voucherRemaining: 12_345n }),
    gross: 160_000n,
    subsidy: 12_345n,
    limitedBy: "VOUCHER_REMAINING",
  },
  {
    name: "an empty voucher pays nothing",
    input: with_({ voucherRemaining: 0n }),
    gross: 160_000n,
    subsidy: 0n,
    limitedBy: "VOUCHER_REMAINING",
  },
  {
    name: "what is left of the per-SME annual cap",
    input: with_({ program: { perSmeAnnualCap: 100_000n }, smeCommittedThisYear: 90_000n }),
    gross: 160_000n,
    subsidy: 10_000n,
    limitedBy: "PER_SME_ANNUAL_CAP",
  },
  {
    name: "an annual cap used up",
    input: with_({ program: { perSmeAnnualCap: 100_000n }, smeCommittedThisYear: 100_000n }),
    gross: 160_000n,
    subsidy: 0n,
    limitedBy: "PER_SME_ANNUAL_CAP",
  },
  {
    name: "never negative, even when the committed sum is above the cap",
    input: with_({ program: { perSmeAnnualCap: 100_000n }, smeCommittedThisYear: 120_000n }),
    gross: 160_000n,
    subsidy: 0n,
    limitedBy: "PER_SME_ANNUAL_CAP",
  },
  {
    name: "an annual cap with room to spare",
    input: with_({ program: { perSmeAnnualCap: 100_000n }, smeCommittedThisYear: 10_000n }),
    gross: 160_000n,
    subsidy: 48_000n,
    limitedBy: "RATE",
  },
  {
    name: "the program's available budget",
    input: with_({ programAvailable: 777n }),
    gross: 160_000n,
    subsidy: 777n,
    limitedBy: "PROGRAM_AVAILABLE",
  },
  {
    name: "an exhausted program pays nothing",
    input: with_({ programAvailable: 0n }),
    gross: 160_000n,
    subsidy: 0n,
    limitedBy: "PROGRAM_AVAILABLE",
  },
  {
    name: "the smallest of all limits wins",
    input: with_({
      program: { perOrderCap: 40_000n, perSmeAnnualCap: 100_000n },
      smeCommittedThisYear: 65_000n,
      voucherRemaining: 36_000n,
      programAvailable: 50_000n,
    }),
    gross: 160_000n,
    subsidy: 35_000n,
    limitedBy: "PER_SME_ANNUAL_CAP",
  },
  {
    name: "floor rounding: 333 fen at 33.33 % is 110.9889 fen",
    input: with_({ gpuCount: 1, hours: 1, pricePerGpuHour: 333n, program: { rateBasisPoints: 3333 } }),
    gross: 333n,
    subsidy: 110n,
    limitedBy: "RATE",
  },
  {
    name: "floor rounding: 1 fen at 99.99 % is 0 fen",
    input: with_({ gpuCount: 1, hours: 1, pricePerGpuHour: 1n, program: { rateBasisPoints: 9999 } }),
    gross: 1n,
    subsidy: 0n,
    limitedBy: "RATE",
  },
  {
    name: "floor rounding applies to the ceiling-limited base",
    input: with_({
      gpuCount: 3,
      hours: 7,
      pricePerGpuHour: 999n,
      program: { rateBasisPoints: 1234, maxSubsidizedPricePerGpuHour: 777n },
    }),
    gross: 20_979n,
    subsidy: 2013n, // 3*7*777 = 16317; 16317*1234/10000 = 2013.5178
    limitedBy: "RATE",
  },
  {
    name: "exact with amounts far beyond 2^53 fen",
    input: with_({
      gpuCount: 1_000_000,
      hours: 8784,
      pricePerGpuHour: 10_000_000n,
      program: { rateBasisPoints: 3333 },
      programAvailable: 10n ** 18n,
      voucherRemaining: 10n ** 18n,
    }),
    gross: 87_840_000_000_000_000n,
    subsidy: 29_277_072_000_000_000n,
    limitedBy: "RATE",
  },
];

describe("computeSubsidy", () => {
  it.each(cases)("$name", ({ input, gross, subsidy, limitedBy }) => {
    const split = computeSubsidy(input);
    expect(split.gross).toBe(gross);
    expect(split.subsidy).toBe(subsidy);
    expect(split.smeShare).toBe(gross - subsidy);
    expect(split.subsidy + split.smeShare).toBe(split.gross);
    expect(split.limitedBy).toBe(limitedBy);
  });

  it("random inputs: never above any limit, never negative, always subsidy + smeShare = gross", () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const maybe = (value: bigint) => (rnd(2) === 0 ? null : value);
    for (let i = 0; i < 5000; i++) {
      const input: SubsidyInput = {
        gpuCount: 1 + rnd(64),
        hours: 1 + rnd(200),
        pricePerGpuHour: BigInt(1 + rnd(10_000)),
        domestic: rnd(2) === 0,
        program: {
          rateBasisPoints: rnd(10_001),
          domesticRateBasisPoints: rnd(2) === 0 ? null : rnd(10_001),
          perOrderCap: maybe(BigInt(1 + rnd(1_000_000))),
          perSmeAnnualCap: maybe(BigInt(1 + rnd(2_000_000))),
          maxSubsidizedPricePerGpuHour: maybe(BigInt(1 + rnd(10_000))),
        },
        voucherRemaining: BigInt(rnd(1_000_000)),
        smeCommittedThisYear: BigInt(rnd(2_000_000)),
        programAvailable: BigInt(rnd(5_000_000)),
      };
      const { gross, subsidy, smeShare } = computeSubsidy(input);
      const rate =
        input.domestic && input.program.domesticRateBasisPoints != null
          ? input.program.domesticRateBasisPoints
          : input.program.rateBasisPoints;
      expect(subsidy >= 0n).toBe(true);
      expect(subsidy + smeShare).toBe(gross);
      expect(subsidy * 10_000n <= gross * BigInt(rate)).toBe(true);
      expect(subsidy <= input.voucherRemaining && subsidy <= input.programAvailable).toBe(true);
      if (input.program.perOrderCap != null) expect(subsidy <= input.program.perOrderCap).toBe(true);
      if (input.program.perSmeAnnualCap != null) {
        expect(subsidy === 0n || input.smeCommittedThisYear + subsidy <= input.program.perSmeAnnualCap).toBe(true);
      }
    }
  });
});

const now = new Date("2026-11-15T10:00:00Z");
const eligible: EligibilityInput = {
  smeId: 7,
  voucher: { smeId: 7, status: "ACTIVE", validUntil: new Date("2026-12-31T00:00:00Z") },
  program: {
    status: "ACTIVE",
    validFrom: new Date("2026-01-01T00:00:00Z"),
    validUntil: new Date("2027-01-01T00:00:00Z"),
    eligibleHubs: ["Ningxia Zhongwei", "Gansu Qingyang"],
    eligibleCategories: ["SME", "STARTUP"],
  },
  category: "SME",
  hub: "Ningxia Zhongwei",
  affiliated: false,
  now,
};

const refusals: { name: string; input: EligibilityInput; reason: IneligibleReason | null }[] = [
  { name: "eligible", input: eligible, reason: null },
  {
    name: "eligible in any hub when the program lists none",
    input: { ...eligible, hub: "Wuhu", program: { ...eligible.program, eligibleHubs: [] } },
    reason: null,
  },
  {
    name: "someone else's voucher",
    input: { ...eligible, voucher: { ...eligible.voucher!, smeId: 8 } },
    reason: "VOUCHER_NOT_OWNED",
  },
  { name: "a voucher that does not exist", input: { ...eligible, voucher: null }, reason: "VOUCHER_NOT_OWNED" },
  {
    name: "a revoked voucher",
    input: { ...eligible, voucher: { ...eligible.voucher!, status: "REVOKED" } },
    reason: "VOUCHER_NOT_ACTIVE",
  },
  {
    name: "an expired voucher",
    input: { ...eligible, voucher: { ...eligible.voucher!, validUntil: new Date("2026-11-01T00:00:00Z") } },
    reason: "VOUCHER_EXPIRED",
  },
  {
    name: "a voucher expiring right now",
    input: { ...eligible, voucher: { ...eligible.voucher!, validUntil: now } },
    reason: "VOUCHER_EXPIRED",
  },
  {
    name: "a suspended program",
    input: { ...eligible, program: { ...eligible.program, status: "SUSPENDED" } },
    reason: "PROGRAM_NOT_ACTIVE",
  },
  {
    name: "a closed program",
    input: { ...eligible, program: { ...eligible.program, status: "CLOSED" } },
    reason: "PROGRAM_NOT_ACTIVE",
  },
  {
    name: "a program not yet started",
    input: { ...eligible, program: { ...eligible.program, validFrom: new Date("2026-12-01T00:00:00Z") } },
    reason: "PROGRAM_OUTSIDE_VALIDITY",
  },
  {
    name: "a program already over",
    input: { ...eligible, program: { ...eligible.program, validUntil: new Date("2026-11-15T09:00:00Z") } },
    reason: "PROGRAM_OUTSIDE_VALIDITY",
  },
  { name: "a startup where startups are paid", input: { ...eligible, category: "STARTUP" }, reason: null },
  {
    name: "a research institute in a program for SMEs and startups",
    input: { ...eligible, category: "RESEARCH_INSTITUTE" },
    reason: "CATEGORY",
  },
  {
    name: "a category refused before the hub",
    input: { ...eligible, category: "UNIVERSITY", hub: "Wuhu" },
    reason: "CATEGORY",
  },
  { name: "a hub the program does not list", input: { ...eligible, hub: "Wuhu" }, reason: "HUB_NOT_ELIGIBLE" },
  {
    name: "the SME and the operator are affiliated (or the same)",
    input: { ...eligible, affiliated: true },
    reason: "AFFILIATED_WITH_DATA_CENTER",
  },
];

describe("checkEligibility", () => {
  it.each(refusals)("$name", ({ input, reason }) => {
    expect(checkEligibility(input)).toBe(reason);
  });
});
