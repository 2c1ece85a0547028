// The repository stands alone: no tracked file points outside it, and every relative link of the
// documentation (README.md and docs/**/*.md) leads to a file or folder of the repository.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));

// Built from parts, so that this file does not hold the very string it looks for.
const OUTSIDE = ["..", "shared"].join("/");

/** Every file git tracks, outside node_modules. */
function trackedFiles(): string[] {
  const listed = execFileSync("git", ["ls-files", "-z"], { cwd: root, encoding: "utf8" });
  return listed.split("\0").filter((file) => file !== "" && !file.split("/").includes("node_modules"));
}

/** README.md and every Markdown file under docs/, as paths relative to the root. */
function documentation(): string[] {
  const found = ["README.md"];
  const walk = (dir: string) => {
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const relative = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) walk(relative);
      else if (entry.name.endsWith(".md")) found.push(relative);
    }
  };
  walk("docs");
  return found;
}

/** The targets of the Markdown links `[text](target)` outside code, as written. */
function linkTargets(markdown: string): string[] {
  const prose = markdown
    .replace(/^[ \t]*(```|~~~)[^\n]*\n[\s\S]*?^[ \t]*\1[^\n]*$/gm, "") // fenced code blocks, also indented in lists
    .replace(/`[^`\n]*`/g, ""); // code spans (a link's text in backticks leaves its target behind)
  const targets: string[] = [];
  for (const match of prose.matchAll(/\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+"[^"]*")?\s*\)/g)) {
    targets.push(match[1].replace(/^<|>$/g, ""));
  }
  return targets;
}

/** The file a relative link leads to, or null for links that are not files: web pages, mail, anchors. */
function fileOf(document: string, target: string): string | null {
  if (target === "" || target.startsWith("#") || /^[a-z][a-z0-9+.-]*:/i.test(target)) return null;
  const withoutAnchor = decodeURI(target.replace(/[?#].*$/, ""));
  return path.resolve(root, path.dirname(document), withoutAnchor);
}

describe("the repository stands alone", () => {
  it(`no tracked file contains "${OUTSIDE}"`, () => {
    const offenders = trackedFiles().filter((file) => {
      const full = path.join(root, file);
      return existsSync(full) && readFileSync(full).includes(OUTSIDE);
    });
    expect(offenders).toEqual([]);
  });

  it("every relative link in README.md and docs/ leads to a file or folder inside the repository", () => {
    const documents = documentation();
    expect(documents).toContain("docs/domain.md");
    const broken: string[] = [];
    let checked = 0;
    for (const document of documents) {
      for (const target of linkTargets(readFileSync(path.join(root, document), "utf8"))) {
        const file = fileOf(document, target);
        if (file == null) continue;
        checked++;
        const inside = file === path.resolve(root) || file.startsWith(path.resolve(root) + path.sep);
        if (!inside || !existsSync(file)) broken.push(`${document}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });

  it("reads links as Markdown does", () => {
    const sample = [
      'See [the rules](docs/domain.md#matching) and [`api.md`](api.md "API"), [site](https://example.com), [top](#top).',
      "  ```ts",
      "  const x = a[0](b);",
      "  ```",
      "Inline `f[0](x)` is code; [angle](<docs/a b.md>).",
    ].join("\n");
    expect(linkTargets(sample)).toEqual([
      "docs/domain.md#matching",
      "api.md",
      "https://example.com",
      "#top",
      "docs/a b.md",
    ]);
  });
});
