// Two languages, Simplified Chinese and English: every label comes from messages.ts, every
// number, amount and time from format.ts with the chosen language. Cities, hubs, GPU models and
// organizations keep their proper names, as the API spells them.
import { createContext, useContext } from "react";
import { MESSAGES, type MessageKey } from "./messages.js";
import * as format from "./format.js";

export type { Lang } from "./format.js";
import type { Lang } from "./format.js";

const LANG_KEY = "gvm.lang";

export function initialLang(): Lang {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === "zh" || saved === "en") return saved;
  return navigator.language.toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function saveLang(lang: Lang): void {
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

export interface Texts {
  lang: Lang;
  /** A label; `{name}` in it is replaced by the value of `name`. */
  t(key: MessageKey, values?: Record<string, string | number>): string;
  /** A code of the API (a status, a role, a reason) as a label, or the code itself when none is known. */
  code(prefix: string, code: string): string;
  money(money: { fen: string } | null | undefined): string;
  fen(fen: bigint | string): string;
  number(value: number | bigint): string;
  share(value: number): string;
  bp(value: number): string;
  dateTime(iso: string | null | undefined): string;
  date(iso: string | null | undefined): string;
  month(month: string): string;
}

export function texts(lang: Lang): Texts {
  const index = lang === "zh" ? 0 : 1;
  const t = (key: MessageKey, values?: Record<string, string | number>) => {
    let text: string = MESSAGES[key][index];
    if (values) for (const [name, value] of Object.entries(values)) text = text.split(`{${name}}`).join(String(value));
    return text;
  };
  return {
    lang,
    t,
    code: (prefix, code) => {
      const key = `${prefix}.${code}` as MessageKey;
      return key in MESSAGES ? t(key) : code;
    },
    money: (money) => (money ? format.formatFen(money.fen, lang) : "—"),
    fen: (fen) => format.formatFen(fen, lang),
    number: (value) => format.formatNumber(value, lang),
    share: (value) => format.formatShare(value, lang),
    bp: (value) => format.formatBasisPoints(value, lang),
    dateTime: (iso) => format.formatDateTime(iso, lang),
    date: (iso) => format.formatDate(iso, lang),
    month: (month) => format.formatMonth(month, lang),
  };
}

export const TextsContext = createContext<Texts>(texts("zh"));

export const useTexts = () => useContext(TextsContext);
