// The font of PDF files: Noto Sans Simplified Chinese (GB2312 subset, SIL Open Font License) from
// the @embedpdf/fonts-sc package, so `npm ci` brings it and no system font is needed. pdfkit embeds
// only the glyphs a file uses.
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

let found: string | undefined;

/** The path of the regular-weight Chinese font. */
export function chineseFont(): string {
  if (found) return found;
  const root = dirname(createRequire(import.meta.url).resolve("@embedpdf/fonts-sc/package.json"));
  const dir = join(root, "fonts");
  const fonts = readdirSync(dir).filter((name) => /\.(otf|ttf)$/i.test(name));
  const regular = fonts.find((name) => /regular/i.test(name)) ?? fonts.sort()[0];
  if (!regular) throw new Error("No font in @embedpdf/fonts-sc");
  found = join(dir, regular);
  return found;
}
