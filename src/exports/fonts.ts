// The font of PDF files: Noto Sans Simplified Chinese (GB2312 subset, SIL Open Font License) from
// the @embedpdf/fonts-sc package, so `npm ci` brings it and no system font is needed. pdfkit embeds
// only the glyphs a file uses.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

let found: Buffer | undefined;

/** The regular-weight Chinese font, read once (8 MB): pdfkit takes it from memory. */
export function chineseFont(): Buffer {
  if (found) return found;
  // The package exports only its index (dist/), beside which its fonts/ folder lies.
  const root = dirname(dirname(createRequire(import.meta.url).resolve("@embedpdf/fonts-sc")));
  const dir = join(root, "fonts");
  const fonts = readdirSync(dir).filter((name) => /\.(otf|ttf)$/i.test(name));
  const regular = fonts.find((name) => /regular/i.test(name)) ?? fonts.sort()[0];
  if (!regular) throw new Error("No font in @embedpdf/fonts-sc");
  found = readFileSync(join(dir, regular));
  return found;
}
