// The web console at /console: its files and headers; every API error code as a sentence in both
// languages; and, where Debian's Chromium is installed, the README's rental story done by clicking
// in Chinese and in English (operator publishes, SME bids and checks out with a voucher, finance
// sees the spend, the budget forecast and the policy figures, approves an application, settles a
// statement and downloads its files; the operator imports offers from CSV, which matches an SME's
// open bid live over the WebSocket), the admin's pages, an accessibility scan (axe-core) of every
// page, phone-width layouts, polling when the WebSocket is refused, the first load's weight, the
// card payment through Stripe.js on a server with Stripe, and a screenshot of each main page in
// docs/screenshots/ when SCREENSHOTS=1.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, startServer, type TestServer } from "./support/harness.js";
import { FakeStripe } from "./support/fake-stripe.js";
import { CHECKOUT, market, NOW, reserve } from "./support/market.js";
import { ApiError } from "../console/src/api.js";
import { CODES, explain } from "../console/src/errors.js";
import { formatFen, type Lang } from "../console/src/format.js";
import { texts } from "../console/src/i18n.js";
import { MESSAGES, type MessageKey } from "../console/src/messages.js";

const CHROMIUM = "/usr/bin/chromium";
const SCREENSHOTS = new URL("../docs/screenshots/", import.meta.url);
const TOKENS = {
  sme: "gvm_demo_sme_shanghai",
  operator: "gvm_demo_operator_west",
  finance: "gvm_demo_finance_shanghai",
};
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let server: TestServer;

beforeAll(async () => {
  server = await startServer({ SEED: "demo" });
});
afterAll(() => server?.close());

describe("the console's files", () => {
  it("serves the page at /console with a strict Content-Security-Policy, revalidated on every load", async () => {
    for (const path of ["/console", "/console/", "/console/anything/else"]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/html/);
      expect(response.headers.get("cache-control")).toBe("no-cache");
      const csp = response.headers.get("content-security-policy")!;
      for (const directive of [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
      ])
        expect(csp).toContain(directive);
      // Without Stripe nothing comes from another host (the Stripe mode is tested further down).
      expect(csp).not.toContain("stripe.com");
      const html = await response.text();
      expect(html).toContain('<div id="root">');
      // Every script and stylesheet is this server's: no other host, no inline script.
      const references = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      for (const reference of references) expect(reference, reference).toMatch(/^(\/console\/assets\/|data:)/);
      expect(html).not.toMatch(/<script>(?!<\/script>)/);
    }
  });

  it("serves the hashed assets gzipped and cached for a year; unknown ones are 404", async () => {
    const html = await (await fetch(`${server.url}/console/`)).text();
    const assets = [...html.matchAll(/"(\/console\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.some((a) => a.endsWith(".js"))).toBe(true);
    for (const asset of assets) {
      const response = await fetch(`${server.url}${asset}`, { headers: { "accept-encoding": "gzip" } });
      expect(response.status, asset).toBe(200);
      expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(response.headers.get("x-content-type-options")).toBe("nosniff");
      await response.arrayBuffer();
    }
    for (const missing of [
      "/console/assets/nothing.js",
      "/console/assets/../../package.json",
      "/console/assets/a/b.js",
    ])
      expect((await fetch(`${server.url}${missing}`)).status, missing).toBe(404);
  });

  it("is linked from the landing page", async () => {
    expect(await (await fetch(`${server.url}/`)).text()).toContain('href="/console/"');
  });
});

describe("errors as people read them", () => {
  it("has a sentence in both languages for every code docs/api.md lists", () => {
    const documented = [
      ...readFileSync(new URL("../docs/api.md", import.meta.url), "utf8").matchAll(/^\| `([A-Z_]+)` \|/gm),
    ].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(10);
    for (const code of documented) {
      expect(CODES, code).toContain(code);
      const [zh, en] = MESSAGES[`error.${code}` as MessageKey];
      expect(zh, code).toMatch(/[\u4e00-\u9fff]/);
      expect(en, code).toMatch(/^[A-Z][^\u4e00-\u9fff]+$/);
    }
  });

  it("says what to do next about a rate limit, a lapsed hold and an exhausted budget", () => {
    const zh = texts("zh");
    const en = texts("en");
    const limited = new ApiError({
      message: "Rate limit",
      extensions: { code: "RATE_LIMITED", retryAfterSeconds: 42 },
    });
    expect(explain(limited, en).next).toBe("Try again in 42 seconds.");
    expect(explain(limited, zh).next).toBe("请在 42 秒后再试。");
    const lapsed = new ApiError({
      message: "The hold on this reservation has lapsed; place a new bid",
      extensions: { code: "CONFLICT" },
    });
    expect(explain(lapsed, en)).toEqual({
      title: MESSAGES["error.holdLapsed"][1],
      next: MESSAGES["error.next.holdLapsed"][1],
    });
    expect(explain(lapsed, zh).title).toBe("保留已过期，GPU 已释放。");
    const exhausted = new ApiError({
      message: "…",
      extensions: { code: "CONFLICT", reason: "PROGRAM_BUDGET_EXHAUSTED" },
    });
    expect(explain(exhausted, en).title).toBe("The program's budget is used up.");
    expect(explain(exhausted, en).next).toMatch(/without the voucher/);
    expect(explain(exhausted, zh).next).toMatch(/不使用算力券/);
    const field = new ApiError({ message: "…", extensions: { code: "BAD_USER_INPUT", field: "latestEnd" } });
    expect(explain(field, zh).next).toContain("最晚结束");
    const ineligible = new ApiError({ message: "…", extensions: { code: "NOT_ELIGIBLE", reason: "HUB_NOT_ELIGIBLE" } });
    expect(explain(ineligible, en).next).toBe("Data centers in this hub are not covered by the program.");
  });

  it("writes yuan and times as each language does, exactly", () => {
    expect(formatFen("123450", "zh")).toBe("¥1,234.50");
    expect(formatFen("123450", "en")).toBe("¥1,234.50");
    // Past 2^53 fen: no float on the way.
    expect(formatFen("900719925474099312", "en")).toBe("¥9,007,199,254,740,993.12");
    expect(formatFen("-5", "zh")).toBe("-¥0.05");
    expect(texts("zh").dateTime("2026-12-01T16:30:00.000Z")).toMatch(/2026年12月2日.*00:30/);
    expect(texts("en").dateTime("2026-12-01T16:30:00.000Z")).toMatch(/Dec 2, 2026.*00:30/);
  });
});

const hasChromium = existsSync(CHROMIUM);

/** One Chromium for every browser test of this file, launched when the first needs it. */
let launched: Promise<import("playwright-core").Browser> | undefined;
const chromiumBrowser = () =>
  (launched ??= import("playwright-core").then(({ chromium }) =>
    chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
      ],
    }),
  ));
afterAll(async () => {
  if (launched) await (await launched).close();
});

/** The next whole hour from now plus `hours`, as the API takes it (UTC, "Z"). */
const wholeHourFromNow = (hours: number) =>
  new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + hours * 3_600_000).toISOString().replace(".000Z", "Z");

/** The cells of a CSV file's row that starts with `first` (simple rows: no quoted commas). */
const csvRow = (text: string, first: string) =>
  text
    .replace(/^\ufeff/, "")
    .split(/\r?\n/)
    .find((line) => line.startsWith(first))
    ?.split(",");
if (!hasChromium)
  console.warn(`console browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);

describe.skipIf(!hasChromium)(
  hasChromium
    ? "the console in Chromium"
    : `the console in Chromium: skipped, no ${CHROMIUM} (apt-get install -y chromium)`,
  () => {
    type Browser = import("playwright-core").Browser;
    type Page = import("playwright-core").Page;
    let browser: Browser;
    const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
    /** Requests to any other origin, and console errors, over every page. */
    const elsewhere: string[] = [];
    const failures: string[] = [];
    const scanned: string[] = [];

    beforeAll(async () => {
      browser = await chromiumBrowser();
      mkdirSync(SCREENSHOTS, { recursive: true });
    });

    const L = (lang: Lang, key: MessageKey) => MESSAGES[key][lang === "zh" ? 0 : 1];
    const yuan = (lang: Lang, fen: string) => formatFen(fen, lang);

    /** A page in its own context (its own session storage), in `lang`, China's time zone. */
    async function open(lang: Lang, viewport = DESKTOP, options: { now?: string } = {}): Promise<Page> {
      const context = await browser.newContext({
        viewport,
        locale: lang === "zh" ? "zh-CN" : "en-US",
        timezoneId: "Asia/Shanghai",
      });
      await context.addInitScript((chosen) => localStorage.setItem("gvm.lang", chosen), lang);
      if (options.now) {
        // The server's test clock (ENABLE_TEST_CLOCK), for settling a month that has ended.
        await context.route("**/graphql", (route) =>
          route.continue({ headers: { ...route.request().headers(), "x-now": options.now! } }),
        );
      }
      const page = await context.newPage();
      page.on("request", (r) => {
        const url = r.url();
        if (!/^(data|blob):/.test(url) && new URL(url).origin !== server.url) elsewhere.push(url);
      });
      page.on("pageerror", (e) => failures.push(`page: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") failures.push(`console: ${m.text()}`);
      });
      return page;
    }

    async function signIn(page: Page, lang: Lang, token: string, view: string): Promise<void> {
      await page.goto(`${server.url}/console/#/${view}`);
      await page.getByLabel(L(lang, "signIn.key")).fill(token);
      await page.getByRole("button", { name: L(lang, "signIn.submit") }).click();
      await page.getByRole("navigation").waitFor();
    }

    async function goTo(page: Page, lang: Lang, label: MessageKey): Promise<void> {
      await page
        .getByRole("navigation")
        .getByRole("link", { name: L(lang, label) })
        .click();
      await page.getByRole("heading", { level: 1, name: L(lang, label) }).waitFor();
    }

    /** No serious or critical accessibility violation (axe-core, injected past the page's CSP). */
    async function scan(page: Page, name: string): Promise<void> {
      await page.evaluate(axeSource);
      const violations = await page.evaluate(async () => {
        const result = await (window as any).axe.run(document, { resultTypes: ["violations"] });
        return result.violations
          .filter((v: any) => v.impact === "serious" || v.impact === "critical")
          .map((v: any) => `${v.id}: ${v.help} (${v.nodes.map((n: any) => n.target.join(" ")).join(", ")})`);
      });
      expect(violations, name).toEqual([]);
      scanned.push(name);
    }

    /** A screenshot into docs/screenshots/, and the page's width checked against the viewport. */
    async function shoot(page: Page, name: string): Promise<void> {
      // What sticks out past the screen's right edge (outside boxes that scroll sideways), if anything.
      const overflow = await page.evaluate(() =>
        [...document.querySelectorAll("body *")]
          .filter(
            (e) => !e.parentElement?.closest(".table-box") && e.getBoundingClientRect().right > window.innerWidth + 1,
          )
          .map((e) => `${e.tagName.toLowerCase()}.${e.className}`)
          .slice(-5),
      );
      expect(overflow, `${name} is wider than the screen`).toEqual([]);
      expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(
        0,
      );
      // Written only on request (SCREENSHOTS=1), so a test run leaves the working tree as it was.
      if (process.env.SCREENSHOTS === "1")
        await page.screenshot({ path: new URL(`${name}.png`, SCREENSHOTS).pathname.replace(/%20/g, " ") });
    }

    const settledMonths: string[] = [];

    for (const lang of ["zh", "en"] as const) {
      it(
        `runs the rental story by clicking, in ${lang === "zh" ? "Chinese" : "English"}`,
        { timeout: 240_000 },
        async () => {
          // 1. The operator publishes an offer in Ningxia, cheaper than any other (than the last run's too).
          const priceFen = lang === "zh" ? 150n : 140n;
          const grossFen = 8n * 24n * priceFen;
          // The Shanghai program pays 30 % of the gross.
          const subsidyFen = (grossFen * 3000n) / 10000n;
          const operator = await open(lang);
          await signIn(operator, lang, TOKENS.operator, "my-offers");
          await operator.getByRole("heading", { level: 1, name: L(lang, "nav.myOffers") }).waitFor();
          const publish = operator
            .locator("form")
            .filter({ has: operator.getByRole("button", { name: L(lang, "operator.publishButton"), exact: true }) });
          await publish
            .getByLabel(L(lang, "common.dataCenter"))
            .selectOption({ label: "Zhongwei Desert Cloud DC-1 (Ningxia Zhongwei)" });
          await publish.getByLabel(L(lang, "common.gpuModel")).selectOption("H800");
          await publish.getByLabel(L(lang, "common.gpus")).fill("16");
          await publish.getByLabel(L(lang, "common.pricePerGpuHour")).fill(lang === "zh" ? "1.50" : "1.40");
          await publish.getByRole("button", { name: L(lang, "operator.publishButton"), exact: true }).click();
          const published = await publish.getByRole("status").innerText();
          const offerId = /offer_\d+/.exec(published)?.[0];
          expect(offerId, published).toBeDefined();
          await operator.getByText(offerId!, { exact: true }).first().waitFor();
          await scan(operator, `${lang} operator offers`);
          await shoot(operator, `${lang}-operator-offers`);

          // 2. The SME finds it, bids with a live estimate of the voucher's share, and checks out.
          const sme = await open(lang);
          await signIn(sme, lang, TOKENS.sme, "offers");
          const filters = sme.getByRole("form", { name: L(lang, "offers.filters") });
          await filters.getByLabel(L(lang, "common.gpuModel")).selectOption("H800");
          await filters.getByLabel(L(lang, "common.hub")).selectOption("Ningxia Zhongwei");
          await filters.getByLabel(L(lang, "offers.sort")).selectOption("PRICE_ASC");
          await filters.getByRole("button", { name: L(lang, "offers.search") }).click();
          const firstRow = sme
            .getByRole("region", { name: L(lang, "offers.results") })
            .locator("tbody tr")
            .first();
          await expect.poll(() => firstRow.innerText(), { timeout: 15_000 }).toContain(yuan(lang, String(priceFen)));
          expect(await firstRow.innerText()).toContain("Zhongwei Desert Cloud DC-1");
          await scan(sme, `${lang} sme offers`);
          await shoot(sme, `${lang}-sme-offers`);
          await firstRow.getByRole("button").click();

          await sme.getByRole("heading", { level: 1, name: L(lang, "nav.rent") }).waitFor();
          await sme.getByLabel(L(lang, "common.gpus")).fill("8");
          await sme.getByLabel(L(lang, "rent.hours")).fill("24");
          await expect
            .poll(() => sme.getByTestId("estimate-subsidy").innerText(), { timeout: 10_000 })
            .toBe(yuan(lang, String(subsidyFen)));
          await sme.getByRole("button", { name: L(lang, "rent.place") }).click();
          const active = sme.getByTestId("active-bid");
          await active.getByText(L(lang, "bidStatus.MATCHED")).first().waitFor({ timeout: 15_000 });
          await active.getByRole("timer").waitFor();
          expect(await active.innerText()).toContain("Zhongwei Desert Cloud DC-1");
          await expect
            .poll(() => active.getByTestId("quote-subsidy").innerText(), { timeout: 10_000 })
            .toBe(yuan(lang, String(subsidyFen)));
          await scan(sme, `${lang} sme rent`);
          await shoot(sme, `${lang}-sme-rent`);
          await active.getByRole("button", { name: L(lang, "rent.checkout") }).click();
          const result = await active.getByTestId("order-result").innerText({ timeout: 15_000 });
          expect(result).toContain(yuan(lang, String(grossFen - subsidyFen)));
          const orderId = /order_\d+/.exec(result)![0];

          await goTo(sme, lang, "nav.orders");
          const orderRow = sme.locator("tr", { hasText: orderId });
          expect(await orderRow.innerText()).toContain(L(lang, "orderStatus.PAID"));
          await scan(sme, `${lang} sme orders`);

          // The SME applies for another voucher of the Shanghai program.
          await goTo(sme, lang, "nav.vouchers");
          expect(await sme.locator("table", { hasText: "Shanghai Compute Voucher" }).first().innerText()).toContain(
            L(lang, "voucherStatus.ACTIVE"),
          );
          const purpose = `Console ${lang}: fine-tuning a speech model`;
          await sme.getByLabel(L(lang, "vouchers.amount")).fill("5000");
          await sme.getByLabel(L(lang, "applications.purpose")).fill(purpose);
          await sme.getByRole("button", { name: L(lang, "vouchers.submit") }).click();
          await sme.getByText(L(lang, "vouchers.applied")).waitFor();
          await scan(sme, `${lang} sme vouchers`);
          await shoot(sme, `${lang}-sme-vouchers`);

          // The operator sees the reservation on its offer.
          await operator.reload();
          const card = operator.locator("li.card", { hasText: offerId! });
          await card.getByRole("button", { name: L(lang, "operator.showReservations") }).click();
          await card.getByText(L(lang, "reservationStatus.CONFIRMED")).first().waitFor();

          // The SME bids for GPUs nobody offers at that price: the bid waits (OPEN), followed live
          // over the WebSocket (the bidUpdated subscription), not by polling.
          const importModel = lang === "zh" ? "H20" : "L40S";
          const importPrice = lang === "zh" ? "0.60" : "0.50";
          await goTo(sme, lang, "nav.rent");
          await sme.getByLabel(L(lang, "common.gpuModel")).selectOption(importModel);
          await sme.getByLabel(L(lang, "common.gpus")).fill("8");
          await sme.getByLabel(L(lang, "rent.hours")).fill("24");
          await sme.getByLabel(L(lang, "rent.maxPrice")).fill("0.90");
          await sme.getByRole("checkbox", { name: "Inner Mongolia Horinger" }).check();
          await sme.getByRole("button", { name: L(lang, "rent.place") }).click();
          const waiting = sme.getByTestId("active-bid");
          await waiting.getByText(L(lang, "bidStatus.OPEN")).first().waitFor();
          await waiting.getByText(L(lang, "live.live")).waitFor({ timeout: 10_000 });

          // The operator imports offers from a CSV file: the template, a dry run that names the bad
          // row and its column, then the corrected file published, whose offer matches the bid.
          const { dataCenters } = await server.ok("{ dataCenters { id name } }");
          const horinger = dataCenters.find((d: any) => d.name === "Horinger Grassland AI Center").id;
          await goTo(operator, lang, "nav.import");
          const templateDownload = operator.waitForEvent("download");
          await operator.getByRole("button", { name: L(lang, "import.template") }).click();
          const template = await templateDownload;
          expect(template.url()).toMatch(/^blob:/);
          expect(readFileSync((await template.path())!, "utf8")).toContain(
            "dataCenterId,gpuModel,gpuCount,pricePerGpuHour,availableFrom,availableUntil,minHours",
          );
          const header = "dataCenterId,gpuModel,gpuCount,pricePerGpuHour,availableFrom,availableUntil,minHours";
          const offerWindow = `${wholeHourFromNow(1)},${wholeHourFromNow(24 * 9)}`;
          const good = `${horinger},${importModel},8,${importPrice},${offerWindow},1`;
          const csv = (...rows: string[]) => ({
            name: "offers.csv",
            mimeType: "text/csv",
            buffer: Buffer.from(`${[header, ...rows].join("\n")}\n`),
          });
          const fileInput = operator.getByLabel(L(lang, "import.file"));
          await fileInput.setInputFiles(csv(good, `${horinger},${importModel},8,abc,${offerWindow},1`));
          await operator.getByRole("button", { name: L(lang, "import.check") }).click();
          expect(await operator.getByRole("alert").innerText()).toBe(
            L(lang, "import.invalid").replace("{invalid}", "1").replace("{count}", "2"),
          );
          const badRows = await operator.locator("tr.bad-row").allInnerTexts();
          expect(badRows).toHaveLength(1);
          expect(badRows[0]).toMatch(/^3\s.*pricePerGpuHour/s);
          await scan(operator, `${lang} operator import`);
          await shoot(operator, `${lang}-operator-import`);
          await fileInput.setInputFiles(csv(good));
          await operator.getByRole("button", { name: L(lang, "import.check") }).click();
          await operator.getByText(L(lang, "import.valid").replace("{count}", "1")).waitFor();
          let polls = 0;
          sme.on("request", (r) => {
            if (r.method() === "POST" && r.postData()?.includes("query Bid(")) polls++;
          });
          await operator.getByRole("button", { name: L(lang, "import.publish").replace("{count}", "1") }).click();
          await operator.getByText(L(lang, "import.published").replace("{count}", "1")).waitFor();
          expect(await operator.locator("tbody tr").allInnerTexts()).toEqual([
            expect.stringMatching(new RegExp(`^2\\s+${L(lang, "import.rowStatus.PUBLISHED")}\\s+offer_\\d+$`)),
          ]);

          // The SME's bid turns MATCHED without a reload, the hold's countdown running.
          await waiting.getByText(L(lang, "bidStatus.MATCHED")).first().waitFor({ timeout: 15_000 });
          await waiting.getByRole("timer").waitFor();
          expect(await waiting.innerText()).toContain("Horinger Grassland AI Center");
          expect(polls, "the bid was polled instead of followed live").toBe(0);

          // 3. Finance sees the spend on the dashboard, with the API's figures.
          const finance = await open(lang);
          await signIn(finance, lang, TOKENS.finance, "dashboard");
          const { subsidyPrograms } = await server.ok(
            '{ subsidyPrograms(city: "Shanghai") { budgetStatus { spent { fen } available { fen } } } }',
            {},
            { token: TOKENS.finance },
          );
          const status = subsidyPrograms[0].budgetStatus;
          expect(BigInt(status.spent.fen)).toBeGreaterThanOrEqual(subsidyFen);
          const spent = finance.locator(".figure-spent dd");
          await expect.poll(() => spent.innerText()).toBe(yuan(lang, status.spent.fen));
          expect(await finance.locator(".figure-available dd").innerText()).toBe(yuan(lang, status.available.fen));
          await finance.locator(".chart svg").first().waitFor();
          // Beside the burn-down, the date the API forecasts the budget to run out.
          const { subsidyPrograms: forecasts } = await server.ok(
            '{ subsidyPrograms(city: "Shanghai") { forecast { exhaustsAt } } }',
            {},
            { token: TOKENS.finance },
          );
          // The demo budget outlasts a thousand years at this pace: no date (a small program's below).
          expect(forecasts[0].forecast.exhaustsAt).toBeNull();
          await expect.poll(() => finance.getByTestId("forecast-date").innerText()).toBe(L(lang, "forecast.beyond"));
          // The policy's figures of the year: western and domestic shares, each hub's utilization.
          const chinaYear = new Date(Date.now() + 8 * 3_600_000).getUTCFullYear();
          const { policyReport } = await server.ok(
            `{ policyReport(city: "Shanghai", from: "${chinaYear}-01-01", to: "${chinaYear + 1}-01-01", granularity: MONTH) { westernShareBasisPoints domesticShareBasisPoints hubs { hub utilization } } }`,
            {},
            { token: TOKENS.finance },
          );
          expect(policyReport.westernShareBasisPoints).not.toBeNull();
          await expect
            .poll(() => finance.locator(".figure-western dd").innerText())
            .toContain(texts(lang).bp(policyReport.westernShareBasisPoints));
          expect(await finance.locator(".figure-domestic dd").innerText()).toContain(
            policyReport.domesticShareBasisPoints == null
              ? L(lang, "policy.none")
              : texts(lang).bp(policyReport.domesticShareBasisPoints),
          );
          const ningxiaUse = policyReport.hubs.find((h: any) => h.hub === "Ningxia Zhongwei").utilization;
          expect(
            await finance
              .getByRole("region", { name: L(lang, "policy.table") })
              .locator("tr", { hasText: "Ningxia Zhongwei" })
              .innerText(),
          ).toContain(texts(lang).share(ningxiaUse));
          await finance.locator(".chart svg").nth(1).waitFor();
          await scan(finance, `${lang} finance dashboard`);
          await shoot(finance, `${lang}-finance-dashboard`);

          await goTo(finance, lang, "nav.spend");
          const year = new Date().getUTCFullYear();
          const { subsidySpend } = await server.ok(
            `{ subsidySpend(city: "Shanghai", from: "${year}-01-01T00:00:00Z", to: "${year + 1}-01-01T00:00:00Z", groupBy: [HUB]) { rows { keys { label } subsidy { fen } } } }`,
            {},
            { token: TOKENS.finance },
          );
          const ningxia = subsidySpend.rows.find((r: any) => r.keys[0].label === "Ningxia Zhongwei");
          const hubRow = finance
            .getByRole("region", { name: L(lang, "spend.byKey").replace("{by}", L(lang, "dimension.HUB")) })
            .locator("tr", { hasText: "Ningxia Zhongwei" });
          await expect.poll(() => hubRow.innerText()).toContain(yuan(lang, ningxia.subsidy.fen));
          await finance.locator(".chart svg").first().waitFor();
          // The report as a CSV file: its TOTAL row's subsidy is the page's total.
          const { subsidySpend: spendTotals } = await server.ok(
            `{ subsidySpend(from: "${year}-01-01T00:00:00Z", to: "${year + 1}-01-01T00:00:00Z", groupBy: []) { totals { subsidy { amount } } } }`,
            {},
            { token: TOKENS.finance },
          );
          const spendDownload = finance.waitForEvent("download");
          await finance.getByRole("button", { name: L(lang, "files.csv") }).click();
          const spendFile = await spendDownload;
          expect(spendFile.url()).toMatch(/^blob:/);
          expect(spendFile.suggestedFilename()).toMatch(/\.csv$/);
          const spendTotal = csvRow(readFileSync((await spendFile.path())!, "utf8"), "TOTAL");
          // …, orders, GPU-hours, gross, subsidy, paid by SMEs
          expect(spendTotal?.at(-2)).toBe(spendTotals.totals.subsidy.amount);
          await scan(finance, `${lang} finance spend`);
          await shoot(finance, `${lang}-finance-spend`);

          // 4. Finance approves the application with an amount.
          await goTo(finance, lang, "nav.applications");
          const application = finance.locator("li.card", { hasText: purpose });
          await application.getByLabel(L(lang, "applications.grantAmount")).fill("4000");
          await scan(finance, `${lang} finance applications`);
          await shoot(finance, `${lang}-finance-applications`);
          await application.getByRole("button", { name: L(lang, "applications.approve") }).click();
          await application.getByText(L(lang, "applications.approved")).waitFor();
          const { myVouchers } = await server.ok("{ myVouchers { grantedAmount { fen } } }", {}, { token: TOKENS.sme });
          expect(myVouchers.map((v: any) => v.grantedAmount.fen)).toContain("400000");

          // 5. Finance settles a statement of a month that has ended (on the server's test clock).
          const now = new Date();
          const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + settledMonths.length, 1))
            .toISOString()
            .slice(0, 7);
          const later = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 2)).toISOString();
          const settling = await open(lang, DESKTOP, { now: later });
          await signIn(settling, lang, TOKENS.finance, "statements");
          await settling.getByLabel(L(lang, "statements.month")).fill(month);
          const statement = settling.getByRole("region", { name: L(lang, "statements.lines") });
          if (settledMonths.length === 0)
            await expect.poll(() => statement.innerText()).toContain("Zhongwei Desert Cloud DC-1");
          await scan(settling, `${lang} finance statements`);
          await shoot(settling, `${lang}-finance-statements`);
          await settling.getByRole("button", { name: L(lang, "statements.settle") }).click();
          const dialog = settling.getByRole("dialog");
          await dialog.waitFor();
          await scan(settling, `${lang} finance statements, confirmation`);
          await dialog.getByRole("button", { name: L(lang, "statements.settle") }).click();
          await settling
            .getByRole("status")
            .filter({ hasText: L(lang, "statements.settledNotice").split("{month}")[1].trim() || "" })
            .first()
            .waitFor();
          await settling.getByText(L(lang, "statementStatus.SETTLED"), { exact: true }).first().waitFor();
          // Its files: fetched with the key in a header, saved from a blob: URL; the CSV's total is the statement's.
          const { subsidyPrograms: shanghai } = await server.ok(
            '{ subsidyPrograms(city: "Shanghai") { id } }',
            {},
            { token: TOKENS.finance },
          );
          const { cityStatement } = await server.ok(
            "query($p: ID!, $m: String!) { cityStatement(programId: $p, month: $m) { total { amount } } }",
            { p: shanghai[0].id, m: month },
            { token: TOKENS.finance, now: later },
          );
          const downloads: Record<string, import("playwright-core").Download> = {};
          for (const kind of ["csv", "xlsx", "pdf"] as const) {
            const next = settling.waitForEvent("download");
            await settling.getByRole("button", { name: L(lang, `files.${kind}`) }).click();
            downloads[kind] = await next;
            expect(downloads[kind].url()).toMatch(/^blob:/);
            expect(downloads[kind].suggestedFilename()).toMatch(new RegExp(`${month}\\.${kind}$`));
          }
          const statementTotal = csvRow(readFileSync((await downloads.csv.path())!, "utf8"), "TOTAL");
          expect(statementTotal?.at(-1)).toBe(cityStatement.total.amount);
          expect(settling.url()).not.toContain("gvm_");
          settledMonths.push(month);

          await goTo(finance, lang, "nav.audit");
          await finance
            .getByRole("cell", { name: L(lang, "audit.DECIDE_VOUCHER_APPLICATION") })
            .first()
            .waitFor();
          await scan(finance, `${lang} finance audit`);

          // Each role sees only its own views.
          const navOf = async (page: Page) => page.getByRole("navigation").getByRole("link").allInnerTexts();
          expect(await navOf(finance)).toEqual(
            ["nav.dashboard", "nav.spend", "nav.applications", "nav.statements", "nav.audit"].map((k) =>
              L(lang, k as MessageKey),
            ),
          );
          expect(await navOf(sme)).toEqual(
            ["nav.offers", "nav.rent", "nav.orders", "nav.vouchers"].map((k) => L(lang, k as MessageKey)),
          );
          expect(await navOf(operator)).toEqual(
            ["nav.myOffers", "nav.import", "nav.utilization"].map((k) => L(lang, k as MessageKey)),
          );

          await goTo(operator, lang, "nav.utilization");
          await operator.locator(".chart svg").first().waitFor();
          expect(await operator.getByRole("region", { name: L(lang, "utilization.table") }).innerText()).toContain(
            "Zhongwei Desert Cloud DC-1",
          );
          await scan(operator, `${lang} operator utilization`);
          await shoot(operator, `${lang}-operator-utilization`);

          for (const page of [operator, sme, finance, settling]) await page.context().close();
        },
      );

      it(
        `lets the admin register an organization and issue its key once, in ${lang === "zh" ? "Chinese" : "English"}`,
        { timeout: 120_000 },
        async () => {
          const admin = await open(lang);
          await signIn(admin, lang, ADMIN, "organizations");
          const name = `Zhiyuan Speech ${lang}`;
          await admin.getByLabel(L(lang, "admin.name")).fill(name);
          await admin.getByLabel(L(lang, "admin.kind")).selectOption("SME");
          await admin.getByLabel(L(lang, "common.city")).fill("Beijing");
          await admin.getByRole("button", { name: L(lang, "admin.create"), exact: true }).click();
          const row = admin.locator("tr", { hasText: name });
          await row.getByRole("button", { name: L(lang, "admin.issueKey") }).click();
          const token = await row.getByTestId("new-token").innerText();
          expect(token).toMatch(/^gvm_/);
          await scan(admin, `${lang} admin organizations`);
          await shoot(admin, `${lang}-admin-organizations`);
          await goTo(admin, lang, "nav.dataCenters");
          await admin.getByText("Zhongwei Desert Cloud DC-1").first().waitFor();
          await scan(admin, `${lang} admin data centers`);
          await goTo(admin, lang, "nav.audit");
          await admin
            .getByRole("cell", { name: L(lang, "audit.CREATE_API_KEY") })
            .first()
            .waitFor();

          // The new key signs in as an SME: its views, and none of the others.
          const newcomer = await open(lang);
          await signIn(newcomer, lang, token, "");
          expect(await newcomer.getByRole("navigation").getByRole("link").allInnerTexts()).toEqual(
            ["nav.offers", "nav.rent", "nav.orders", "nav.vouchers"].map((k) => L(lang, k as MessageKey)),
          );
          expect(await newcomer.getByRole("banner").innerText()).toContain(name);
          // The key is in this tab's session storage, not in the URL.
          expect(newcomer.url()).not.toContain(token);
          expect(await newcomer.evaluate(() => sessionStorage.getItem("gvm.apiKey"))).toBe(token);
          await newcomer.getByRole("button", { name: L(lang, "app.signOut") }).click();
          await newcomer.getByLabel(L(lang, "signIn.key")).waitFor();
          expect(await newcomer.evaluate(() => sessionStorage.getItem("gvm.apiKey"))).toBeNull();
          for (const page of [admin, newcomer]) await page.context().close();
        },
      );
    }

    it("refuses an unknown key with a sentence, and switches language in place", { timeout: 60_000 }, async () => {
      const page = await open("zh");
      await page.goto(`${server.url}/console/`);
      expect(await page.getByRole("heading", { level: 1 }).innerText()).toBe(L("zh", "signIn.title"));
      await scan(page, "zh sign-in");
      await shoot(page, "zh-sign-in");
      await page.getByLabel(L("zh", "signIn.key")).fill("gvm_not_a_key");
      await page.getByRole("button", { name: L("zh", "signIn.submit") }).click();
      expect(await page.getByRole("alert").innerText()).toBe(L("zh", "signIn.unknownKey"));
      failures.splice(0); // the 401 of the refused key is logged by Chromium as a failed resource
      await page.getByRole("button", { name: "English" }).click();
      expect(await page.getByRole("heading", { level: 1 }).innerText()).toBe(L("en", "signIn.title"));
      expect(await page.evaluate(() => document.documentElement.lang)).toBe("en");
      await page.context().close();
    });

    for (const lang of ["zh", "en"] as const) {
      it(`fits a phone's width, in ${lang === "zh" ? "Chinese" : "English"}`, { timeout: 120_000 }, async () => {
        const finance = await open(lang, PHONE);
        await signIn(finance, lang, TOKENS.finance, "dashboard");
        await finance.locator(".chart svg").first().waitFor();
        await finance.locator(".figure-spent dd").waitFor();
        await scan(finance, `${lang} phone finance dashboard`);
        await shoot(finance, `${lang}-phone-finance-dashboard`);
        const sme = await open(lang, PHONE);
        await signIn(sme, lang, TOKENS.sme, "rent");
        await sme.getByRole("button", { name: L(lang, "rent.place") }).waitFor();
        await scan(sme, `${lang} phone sme rent`);
        await shoot(sme, `${lang}-phone-sme-rent`);
        const operator = await open(lang, PHONE);
        await signIn(operator, lang, TOKENS.operator, "my-offers");
        await operator.locator("li.card").first().waitFor();
        await scan(operator, `${lang} phone operator offers`);
        await shoot(operator, `${lang}-phone-operator-offers`);
        await operator.evaluate(() => (location.hash = "#/import"));
        await operator.getByLabel(L(lang, "import.file")).waitFor();
        await scan(operator, `${lang} phone operator import`);
        await shoot(operator, `${lang}-phone-operator-import`);
        // A network that refuses the WebSocket: the bid is checked every few seconds instead.
        await sme.context().routeWebSocket(/\/graphql$/, (ws) => ws.close({ code: 1011, reason: "refused" }));
        await sme.getByLabel(L(lang, "rent.maxPrice")).fill("0.10");
        await sme.getByRole("button", { name: L(lang, "rent.place") }).click();
        const polled = sme.getByTestId("active-bid");
        await polled.getByText(L(lang, "live.polling")).waitFor({ timeout: 15_000 });
        await polled.getByText(L(lang, "bidStatus.OPEN")).first().waitFor();
        await scan(sme, `${lang} phone sme rent, polling`);
        for (const page of [finance, sme, operator]) await page.context().close();
      });
    }

    it(
      "shows when a small program's budget runs out, and a rental's delivery reported and disputed",
      { timeout: 90_000 },
      async () => {
        // The demo programs' budgets outlast any forecast; this one (¥1,000) commits ¥120 (a rental in
        // March, on the server's test clock), so at that pace it runs out in 220 days, before its end.
        const m = await market(server, { budget: "1000.00", voucherAmount: "500.00" });
        const reservationId = await reserve(server, m.sme);
        const { checkout } = await server.ok(
          CHECKOUT,
          { input: { reservationId, voucherId: m.voucherId, idempotencyKey: "console-forecast" } },
          { token: m.sme.token, now: NOW },
        );
        // The ledger records the checkout at the database's time: today, in the forecast's window.
        const { subsidyPrograms } = await server.ok(
          "{ subsidyPrograms { id name forecast { exhaustsAt runsOutBeforeEnd } } }",
          {},
          { token: m.finance.token },
        );
        const program = subsidyPrograms.find((p: any) => p.id === m.programId);
        expect(program.forecast.exhaustsAt).not.toBeNull();
        expect(program.forecast.runsOutBeforeEnd).toBe(true);
        const finance = await open("en");
        await signIn(finance, "en", m.finance.token, "dashboard");
        await finance.getByLabel(L("en", "finance.program")).selectOption(m.programId);
        await expect
          .poll(() => finance.getByTestId("forecast-date").innerText())
          .toBe(texts("en").date(program.forecast.exhaustsAt));
        await finance.getByText(L("en", "forecast.beforeEnd").split("{until}")[0]).waitFor();
        await scan(finance, "en finance dashboard, forecast");
        await finance.context().close();

        // The rental (10 March 2027, 00:00 to 10:00 UTC, 2 GPUs) has ended, on the server's test
        // clock and the browser's: the operator reports 18 of its 20 GPU-hours, the SME disputes it.
        const afterRental = "2027-03-10T12:00:00Z";
        const operator = await open("en", DESKTOP, { now: afterRental });
        await operator.clock.setFixedTime(new Date(afterRental));
        await signIn(operator, "en", m.operator.token, "my-offers");
        const card = operator.locator("li.card", { hasText: m.offerId });
        await card.getByRole("button", { name: L("en", "operator.showReservations") }).click();
        const report = card.getByRole("group", { name: new RegExp(`^Rental ${reservationId}:`) });
        await report.getByLabel(L("en", "delivery.delivered")).fill("18");
        await report.getByLabel(L("en", "delivery.outageFrom")).fill("2027-03-10T10:00"); // 02:00 UTC
        await report.getByLabel(L("en", "delivery.outageTo")).fill("2027-03-10T11:00");
        await report.getByLabel(L("en", "delivery.outageGpus")).fill("2");
        await report.getByRole("button", { name: L("en", "delivery.report") }).click();
        await report.getByText(L("en", "delivery.reported")).waitFor();
        expect(await report.innerText()).toContain("18 of 20 GPU-hours delivered");
        await scan(operator, "en operator delivery report");
        await operator.context().close();

        const sme = await open("en", DESKTOP, { now: afterRental });
        await sme.clock.setFixedTime(new Date(afterRental));
        await signIn(sme, "en", m.sme.token, "orders");
        const dispute = sme.getByRole("group", { name: new RegExp(`^Order ${checkout.id}:`) });
        await expect.poll(() => dispute.innerText()).toContain(L("en", "deliveryStatus.REPORTED"));
        await dispute.getByLabel(L("en", "delivery.reason")).fill("2 GPUs were down from 10:00 to 12:00");
        await dispute.getByRole("button", { name: L("en", "delivery.dispute") }).click();
        await dispute.getByText(L("en", "delivery.disputed")).waitFor();
        expect(await dispute.innerText()).toContain(L("en", "deliveryStatus.DISPUTED"));
        await scan(sme, "en sme delivery dispute");
        await sme.context().close();
      },
    );

    it("loads the finance dashboard with under 500 KB of JavaScript, gzipped", { timeout: 60_000 }, async () => {
      const context = await browser.newContext({ viewport: DESKTOP });
      await context.addInitScript((token) => sessionStorage.setItem("gvm.apiKey", token), TOKENS.finance);
      const page = await context.newPage();
      const loads: { url: string; type: string; bytes: number }[] = [];
      page.on("requestfinished", async (request) => {
        const sizes = await request.sizes();
        loads.push({ url: request.url(), type: request.resourceType(), bytes: sizes.responseBodySize });
      });
      await page.goto(`${server.url}/console/#/dashboard`);
      await page.locator(".chart svg").first().waitFor();
      await page.waitForLoadState("networkidle");
      await context.close();
      const script = loads.filter((l) => l.type === "script").reduce((sum, l) => sum + l.bytes, 0);
      const all = loads.reduce((sum, l) => sum + l.bytes, 0);
      console.log(
        `console first load (finance dashboard): ${(script / 1024).toFixed(1)} KB of JavaScript gzipped, ${(all / 1024).toFixed(1)} KB in all over ${loads.length} requests`,
      );
      expect(script).toBeGreaterThan(10_000);
      expect(script).toBeLessThan(500 * 1024);
    });

    it("asked nothing of another host and logged no error, on any page", () => {
      expect(elsewhere).toEqual([]);
      expect(failures).toEqual([]);
      expect(scanned.length).toBeGreaterThanOrEqual(20);
    });
  },
);

describe("the console with Stripe configured", () => {
  const WEBHOOK_SECRET = "whsec_console";
  const PUBLISHABLE = "pk_test_console";
  let fake: FakeStripe;
  let stripeServer: TestServer;

  beforeAll(async () => {
    fake = await FakeStripe.start({ webhookSecret: WEBHOOK_SECRET });
    stripeServer = await startServer({
      SEED: "demo",
      STRIPE_SECRET_KEY: "sk_test_console",
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_BASE: fake.url,
      STRIPE_PUBLISHABLE_KEY: PUBLISHABLE,
    });
    fake.webhookUrl = `${stripeServer.url}/webhooks/stripe`;
  });
  afterAll(async () => {
    await stripeServer?.close();
    await fake?.close();
  });

  it("tells the console Stripe's publishable key, and only then lets the page load Stripe.js", async () => {
    const { paymentConfiguration } = await stripeServer.ok(
      "{ paymentConfiguration { provider publishableKey methods } }",
    );
    expect(paymentConfiguration).toEqual({ provider: "stripe", publishableKey: PUBLISHABLE, methods: ["CARD"] });
    const csp = (await fetch(`${stripeServer.url}/console/`)).headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self' https://js.stripe.com https://*.js.stripe.com;");
    expect(csp).toContain("connect-src 'self' https://api.stripe.com;");
    expect(csp).toContain("frame-src https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com;");
    expect(csp).toContain("default-src 'none'");
    // The server without Stripe: simulated, no key, and a policy naming no other host.
    const simulated = await server.ok("{ paymentConfiguration { provider publishableKey methods } }");
    expect(simulated.paymentConfiguration).toEqual({ provider: "simulated", publishableKey: null, methods: [] });
    const selfOnly = (await fetch(`${server.url}/console/`)).headers.get("content-security-policy")!;
    expect(selfOnly).toContain("script-src 'self';");
    expect(selfOnly).toContain("connect-src 'self';");
    expect(selfOnly).not.toMatch(/stripe|frame-src/);
  });

  // There is no internet here: Playwright answers https://js.stripe.com with a small stand-in for
  // Stripe.js (its card element and confirmCardPayment), so the test checks what the console hands
  // Stripe.js (the publishable key and the order's client secret) and that the page's policy lets
  // the script load; Stripe's own card form is not exercised.
  const STRIPE_JS_STAND_IN = `
    window.Stripe = function (key) {
      return {
        elements: function () {
          return { create: function () { return {
            mount: function (box) {
              var input = document.createElement("input");
              input.setAttribute("aria-label", "Card number");
              input.value = "4242 4242 4242 4242";
              box.appendChild(input);
            },
            on: function () {}, destroy: function () {}, unmount: function () {},
          }; } };
        },
        confirmCardPayment: function (secret, data) {
          window.stripeCalls = (window.stripeCalls || []).concat([{ key: key, secret: secret, card: Boolean(data.payment_method.card) }]);
          return Promise.resolve({ paymentIntent: { id: secret.split("_secret_")[0], status: "succeeded" } });
        },
      };
    };
    window.Stripe.version = "endive";`;

  it.skipIf(!hasChromium)(
    "pays the SME's share by card through Stripe.js, then shows the order paid",
    { timeout: 90_000 },
    async () => {
      // An offer cheaper than the seed's, so the bid below is matched to it.
      const { dataCenters } = await stripeServer.ok("{ dataCenters { id name } }");
      const ningxia = dataCenters.find((d: any) => d.name === "Zhongwei Desert Cloud DC-1").id;
      await stripeServer.ok(
        "mutation($input: PublishOfferInput!) { publishOffer(input: $input) { id } }",
        {
          input: {
            dataCenterId: ningxia,
            gpuModel: "H800",
            gpuCount: 16,
            pricePerGpuHour: "20.00",
            availableFrom: wholeHourFromNow(1),
            availableUntil: wholeHourFromNow(24 * 9),
            minHours: 1,
          },
        },
        { token: TOKENS.operator },
      );
      const browser = await chromiumBrowser();
      const context = await browser.newContext({ viewport: DESKTOP, locale: "en-US", timezoneId: "Asia/Shanghai" });
      await context.addInitScript(() => localStorage.setItem("gvm.lang", "en"));
      const stripeHosts: string[] = [];
      await context.route("https://js.stripe.com/**", (route) => {
        stripeHosts.push(route.request().url());
        return route.fulfill({ contentType: "text/javascript", body: STRIPE_JS_STAND_IN });
      });
      const failures: string[] = [];
      const page = await context.newPage();
      page.on("pageerror", (e) => failures.push(`page: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") failures.push(`console: ${m.text()}`);
      });
      const L = (key: MessageKey) => MESSAGES[key][1];
      await page.goto(`${stripeServer.url}/console/#/rent`);
      await page.getByLabel(L("signIn.key")).fill(TOKENS.sme);
      await page.getByRole("button", { name: L("signIn.submit") }).click();
      await page.getByRole("button", { name: L("rent.place") }).click();
      const active = page.getByTestId("active-bid");
      await active.getByRole("timer").waitFor({ timeout: 15_000 });
      // Stripe.js is loaded only now that a payment waits.
      expect(stripeHosts).toEqual([]);
      await active.getByRole("button", { name: L("rent.checkout") }).click();
      const result = active.getByTestId("order-result");
      const orderId = /order_\d+/.exec(await result.getByText(/order_\d+/).innerText())![0];
      const { order } = await stripeServer.ok(
        "query($id: ID!) { order(id: $id) { status smeShare { fen } payment { clientSecret } } }",
        { id: orderId },
        { token: TOKENS.sme },
      );
      expect(order.status).toBe("PENDING_PAYMENT");
      await result.getByLabel("Card number").waitFor();
      expect(stripeHosts.length).toBeGreaterThan(0);
      await scanWith(page, "en sme stripe card form");
      await result
        .getByRole("button", { name: L("stripe.pay").replace("{amount}", formatFen(order.smeShare.fen, "en")) })
        .click();
      await result.getByText(L("stripe.sent")).waitFor();
      expect(await page.evaluate(() => (window as any).stripeCalls)).toEqual([
        { key: PUBLISHABLE, secret: order.payment.clientSecret, card: true },
      ]);
      // Stripe confirms through its webhook: the order turns paid on the page without a reload.
      await fake.succeed(order.payment.clientSecret.split("_secret_")[0]);
      await result.getByText(L("rent.paid").split("{id}")[0] + orderId).waitFor({ timeout: 15_000 });
      expect(failures).toEqual([]);
      await context.close();
    },
  );
});

/** axe-core's serious and critical violations of a page (the Stripe page's own context). */
async function scanWith(page: import("playwright-core").Page, name: string): Promise<void> {
  await page.evaluate(readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8"));
  const violations = await page.evaluate(async () => {
    const result = await (window as any).axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v: any) => v.impact === "serious" || v.impact === "critical")
      .map((v: any) => `${v.id}: ${v.help}`);
  });
  expect(violations, name).toEqual([]);
}
