// The web console's build: `npm run build` runs it after the server's, writing dist/console, which
// the server serves at /console (src/web/console.ts). Every file it needs is bundled: nothing is
// loaded from another host at run time.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/console/",
  // React's automatic JSX runtime, compiled by Vite's own transform (no plugin needed).
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    // The page weight is reported by the tests; this is only a guard against a mistaken import.
    chunkSizeWarningLimit: 1500,
    reportCompressedSize: false,
    // No inline data: URLs for scripts (the page's CSP allows scripts from this origin only).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  logLevel: "warn",
});
