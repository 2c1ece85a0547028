// The subsidy rules of docs/domain.md as pure functions: plain data in, a decision out (no database).

export const BASIS_POINTS = 10_000n;

export interface ProgramRules {
  rateBasisPoints: number;
  domesticRateBasisPoints: number | null;
  perOrderCap: bigint | null;
  perSmeAnnualCap: bigint | null;
  maxSubsidizedPricePerGpuHour: bigint | null;
}

export interface SubsidyInput {
  gpuCount: number;
  hours: number;
  /** Fen per GPU-hour. */
  pricePerGpuHour: bigint;
  domestic: boolean;
  program: ProgramRules;
  voucherRemaining: bigint;
  /** The SME's pending + spent subsidy in this program this calendar year (billing time zone). */
  smeCommittedThisYear: bigint;
  programAvailable: bigint;
}

/** Which rule set the subsidy; "RATE" when the rate alone did. */
export type SubsidyLimit = "RATE" | "VOUCHER_REMAINING" | "PER_ORDER_CAP" | "PER_SME_ANNUAL_CAP" | "PROGRAM_AVAILABLE";

export interface SubsidySplit {
  gross: bigint;
  base: bigint;
  rateBasisPoints: number;
  subsidy: bigint;
  smeShare: bigint;
  limitedBy: SubsidyLimit;
}

export const grossOf = (gpuCount: number, hours: number, pricePerGpuHour: bigint): bigint =>
  BigInt(gpuCount) * BigInt(hours) * pricePerGpuHour;

/** Splits gross into subsidy + smeShare, to the fen. */
export function computeSubsidy(input: SubsidyInput): SubsidySplit {
  const { program } = input;
  const gross = grossOf(input.gpuCount, input.hours, input.pricePerGpuHour);
  // The price ceiling stops a seller from raising prices to capture the subsidy.
  const ceiling = program.maxSubsidizedPricePerGpuHour;
  const subsidizedPrice = ceiling != null && ceiling < input.pricePerGpuHour ? ceiling : input.pricePerGpuHour;
  const base = grossOf(input.gpuCount, input.hours, subsidizedPrice);
  const rate =
    input.domestic && program.domesticRateBasisPoints != null
      ? program.domesticRateBasisPoints
      : program.rateBasisPoints;

  // BigInt division truncates toward zero, which is floor for the non-negative values here.
  let subsidy = (base * BigInt(rate)) / BASIS_POINTS;
  let limitedBy: SubsidyLimit = "RATE";
  const limits: [SubsidyLimit, bigint | null][] = [
    ["VOUCHER_REMAINING", input.voucherRemaining],
    ["PER_ORDER_CAP", program.perOrderCap],
    [
      "PER_SME_ANNUAL_CAP",
      program.perSmeAnnualCap == null ? null : program.perSmeAnnualCap - input.smeCommittedThisYear,
    ],
    ["PROGRAM_AVAILABLE", input.programAvailable],
  ];
  for (const [name, limit] of limits) {
    if (limit != null && limit < subsidy) {
      subsidy = limit;
      limitedBy = name;
    }
  }
  if (subsidy < 0n) subsidy = 0n;
  return { gross, base, rateBasisPoints: rate, subsidy, smeShare: gross - subsidy, limitedBy };
}

// ------------------------------------------------------------------ eligibility

export type IneligibleReason =
  | "VOUCHER_NOT_OWNED"
  | "VOUCHER_NOT_ACTIVE"
  | "VOUCHER_EXPIRED"
  | "PROGRAM_NOT_ACTIVE"
  | "PROGRAM_OUTSIDE_VALIDITY"
  | "CATEGORY"
  | "HUB_NOT_ELIGIBLE"
  | "UNATTESTED_HARDWARE"
  | "AFFILIATED_WITH_DATA_CENTER";

export const INELIGIBLE_MESSAGES: Record<IneligibleReason, string> = {
  VOUCHER_NOT_OWNED: "This voucher does not belong to you",
  VOUCHER_NOT_ACTIVE: "This voucher is not active",
  VOUCHER_EXPIRED: "This voucher has expired",
  PROGRAM_NOT_ACTIVE: "The voucher's subsidy program is not active",
  PROGRAM_OUTSIDE_VALIDITY: "The voucher's subsidy program is not valid at this time",
  CATEGORY: "The subsidy program does not accept applicants of your category",
  HUB_NOT_ELIGIBLE: "The data center's hub is not eligible in this program",
  UNATTESTED_HARDWARE:
    "This program subsidizes only offers whose operator declared the hardware of all their GPUs; this offer's is not declared",
  AFFILIATED_WITH_DATA_CENTER: "A voucher cannot pay a data center of the same or an affiliated organization",
};

export interface EligibilityInput {
  smeId: number;
  /** null when no voucher with that id exists: refused like someone else's, so ids are never confirmed. */
  voucher: { smeId: number; status: string; validUntil: Date } | null;
  program: {
    status: string;
    validFrom: Date;
    validUntil: Date;
    eligibleHubs: readonly string[];
    requiresHardwareAttestation?: boolean;
    eligibleCategories: readonly string[];
  };
  /** The SME's applicant category (null for an organization that is not an SME). */
  category: string | null;
  hub: string;
  /** The offer's operator declared the hardware of all its GPUs. */
  attested?: boolean;
  /** The SME and the data center's operator are the same or declared affiliated organizations. */
  affiliated: boolean;
  now: Date;
}

/** The first reason the voucher may not pay for this rental, or null when it may. */
export function checkEligibility(input: EligibilityInput): IneligibleReason | null {
  const { voucher, program, now } = input;
  if (!voucher || voucher.smeId !== input.smeId) return "VOUCHER_NOT_OWNED";
  if (voucher.status !== "ACTIVE") return "VOUCHER_NOT_ACTIVE";
  if (now.getTime() >= voucher.validUntil.getTime()) return "VOUCHER_EXPIRED";
  if (program.status !== "ACTIVE") return "PROGRAM_NOT_ACTIVE";
  if (now.getTime() < program.validFrom.getTime() || now.getTime() >= program.validUntil.getTime())
    return "PROGRAM_OUTSIDE_VALIDITY";
  if (!acceptsCategory(program, input.category)) return "CATEGORY";
  if (program.eligibleHubs.length > 0 && !program.eligibleHubs.includes(input.hub)) return "HUB_NOT_ELIGIBLE";
  if (program.requiresHardwareAttestation && !input.attested) return "UNATTESTED_HARDWARE";
  if (input.affiliated) return "AFFILIATED_WITH_DATA_CENTER";
  return null;
}

/** Whether a program pays for an applicant of this category (programs list the ones they accept). */
export function acceptsCategory(program: { eligibleCategories: readonly string[] }, category: string | null): boolean {
  return category != null && program.eligibleCategories.includes(category);
}
