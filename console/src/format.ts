// Numbers, money and times as each language writes them. Money comes as integer fen in a decimal
// string and is shown through BigInt and Intl's exact decimal strings: never through a float.
/** The console's two languages: Simplified Chinese and English. */
export type Lang = "zh" | "en";

/** China time: every time the console shows or takes is in it (the API speaks UTC). */
export const CHINA = "Asia/Shanghai";

const locale = (lang: Lang) => (lang === "zh" ? "zh-CN" : "en-US");

/** "123450" → "1234.50"; "-5" → "-0.05". */
export function fenToDecimal(fen: string): string {
  const value = BigInt(fen);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const yuan = abs / 100n;
  const cents = (abs % 100n).toString().padStart(2, "0");
  return `${negative ? "-" : ""}${yuan}.${cents}`;
}

/** A yuan amount as the user types it ("1,234.5" or "1234.50") → fen, or null when it is not one. */
export function parseYuan(text: string): bigint | null {
  const clean = text.trim().replace(/[,，\s¥]/g, "");
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(clean);
  if (!m) return null;
  return BigInt(m[1]) * 100n + BigInt((m[2] ?? "").padEnd(2, "0"));
}

/** Fen → the decimal string the API takes as input ("1234.50"). */
export const fenToInput = (fen: bigint) => fenToDecimal(fen.toString());

/**
 * A decimal string as Intl.NumberFormat takes it: exactly, digit for digit (ES2023). Older
 * TypeScript libs (the server's, which the tests share) type the argument as a number only.
 */
type Exact = Parameters<Intl.NumberFormat["format"]>[0];
const exact = (decimal: string) => decimal as unknown as Exact;

const moneyFormats = new Map<Lang, Intl.NumberFormat>();

/** ¥1,234.50 in both languages (narrow symbol: "CN¥" is what en-US would write otherwise). */
export function formatFen(fen: string | bigint, lang: Lang): string {
  let format = moneyFormats.get(lang);
  if (!format) {
    format = new Intl.NumberFormat(locale(lang), {
      style: "currency",
      currency: "CNY",
      currencyDisplay: "narrowSymbol",
    });
    moneyFormats.set(lang, format);
  }
  return format.format(exact(fenToDecimal(fen.toString())));
}

export const formatNumber = (value: number | bigint, lang: Lang) => new Intl.NumberFormat(locale(lang)).format(value);

/** A share from 0 to 1 (utilization) as a percentage with one decimal. */
export const formatShare = (share: number, lang: Lang) =>
  new Intl.NumberFormat(locale(lang), { style: "percent", maximumFractionDigits: 1 }).format(share);

/** Basis points (3000) → "30%", exactly. */
export const formatBasisPoints = (bp: number, lang: Lang) =>
  `${new Intl.NumberFormat(locale(lang), { maximumFractionDigits: 2 }).format(exact(`${Math.trunc(bp / 100)}.${String(bp % 100).padStart(2, "0")}`))}%`;

export function formatDateTime(iso: string | null | undefined, lang: Lang): string {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(locale(lang), {
    timeZone: CHINA,
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).format(new Date(iso));
}

export function formatDate(iso: string | null | undefined, lang: Lang): string {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(locale(lang), {
    timeZone: CHINA,
    year: "numeric",
    month: "short",
    day: "numeric",
  }).format(new Date(iso));
}

/** "2026-11" → "2026年11月" / "Nov 2026" (a UTC month of the statements and the spend report). */
export function formatMonth(month: string, lang: Lang): string {
  const [y, m] = month.split("-").map(Number);
  return new Intl.DateTimeFormat(locale(lang), { timeZone: "UTC", year: "numeric", month: "short" }).format(
    new Date(Date.UTC(y, m - 1, 1)),
  );
}

/** Seconds left → "14:05". */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A `datetime-local` value read as China time → the API's UTC instant. */
export function chinaInputToIso(value: string): string {
  return new Date(`${value.length === 16 ? `${value}:00` : value}+08:00`).toISOString();
}

/** A UTC instant → a `datetime-local` value in China time. */
export function isoToChinaInput(iso: string): string {
  const shifted = new Date(new Date(iso).getTime() + 8 * 3_600_000);
  return shifted.toISOString().slice(0, 16);
}

/** The start of the next whole hour from now plus `hours`, as a datetime-local value in China time. */
export function hoursFromNow(hours: number): string {
  const next = Math.ceil(Date.now() / 3_600_000) * 3_600_000 + hours * 3_600_000;
  return isoToChinaInput(new Date(next).toISOString());
}

/** The UTC month of an instant, like "2026-11". */
export const utcMonth = (date: Date) => date.toISOString().slice(0, 7);
