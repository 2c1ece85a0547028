// 100 checkouts at once on two server processes sharing one PostgreSQL, against a program that can
// pay only some of them: the budget is never overspent, every split adds up, the ledger balances.
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, freshPostgresDatabase, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import { grantVoucher, NOW } from "./support/market.js";
import { brokenLedgerInvariants } from "./support/ledger-invariants.js";
import { assertCapacityInvariants } from "./support/invariants.js";
import { startProcess, type ServerProcess } from "./support/processes.js";

const SMES = 20;
const PER_SME = 5;
const CHECKOUT = `mutation($input: CheckoutInput!) { checkout(input: $input) { id status gross { fen } subsidy { fen } smeShare { fen } } }`;

describe.runIf(!!process.env.DATABASE_URL)("checkouts on two server processes sharing one PostgreSQL", () => {
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let servers: ServerProcess[] = [];
  let sql: postgres.Sql;
  let smes: { actor: Actor; voucherId: string }[] = [];
  let programId: string;
  const run = async (text: string, params: unknown[] = []) => (await sql.unsafe(text, params as never[])) as unknown as any[];

  beforeAll(async () => {
    database = await freshPostgresDatabase();
    const env = { DATABASE_URL: database.url, ADMIN_TOKEN: ADMIN, SEED: "none", ENABLE_TEST_CLOCK: "1", RATE_LIMIT_PER_MINUTE: "0", QUERY_POINTS_PER_MINUTE: "0", MAINTENANCE_INTERVAL_MS: "0" };
    servers = await Promise.all([startProcess(env), startProcess(env)]);
    sql = postgres(database.url, { max: 2, onnotice: () => {} });
    const api = servers[0] as unknown as TestServer;

    const operator = await organization(api, "DATA_CENTER_OPERATOR", "Race Cloud");
    const dc = await dataCenter(api, operator, "Gansu Qingyang", "Qingyang DC", "Gansu");
    await publishOffer(api, operator, { dataCenterId: dc, gpuModel: "H800", gpuCount: SMES * PER_SME, pricePerGpuHour: "20.00", availableFrom: "2027-03-10T00:00:00Z", availableUntil: "2027-03-11T00:00:00Z" }, NOW);
    const finance = await organization(api, "CITY_FINANCE", "Race City Finance", "Race City");
    // Each order: 1 GPU x 2 h x 20.00 = 40.00 gross, 50 % = 20.00 subsidy; the budget pays 30 of 100.
    const { createSubsidyProgram } = await api.ok(
      `mutation($input: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $input) { id } }`,
      { input: { name: "Small budget", budget: "600.00", rateBasisPoints: 5000, validFrom: "2027-01-01T00:00:00Z", validUntil: "2027-12-31T00:00:00Z" } },
      { token: finance.token, now: NOW },
    );
    programId = createSubsidyProgram.id;
    for (let i = 0; i < SMES; i++) {
      const actor = await organization(api, "SME", `Racer ${i}`, "Race City");
      smes.push({ actor, voucherId: await grantVoucher(api, actor, finance, programId, "100.00") });
    }
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await sql?.end();
    await database?.drop();
  });

  it("never overspends the program, a voucher or a split, and the ledger balances", async () => {
    // Every SME holds PER_SME reservations.
    const bids = smes.flatMap((sme, i) =>
      Array.from({ length: PER_SME }, (_, j) =>
        servers[(i + j) % 2].ok(
          `mutation($input: PlaceBidInput!) { placeBid(input: $input) { status reservation { id } } }`,
          { input: { gpuModel: "H800", gpuCount: 1, hours: 2, earliestStart: "2027-03-10T00:00:00Z", latestEnd: "2027-03-10T02:00:00Z", maxPricePerGpuHour: "20.00" } },
          { token: sme.actor.token, now: NOW },
        ).then((r) => ({ sme, reservationId: r.placeBid.reservation.id as string, key: `race-${i}-${j}` })),
      ),
    );
    const held = await Promise.all(bids);
    expect(held).toHaveLength(SMES * PER_SME);

    // All checkouts at once, half on each process; a few are sent twice with the same key.
    const requests = held.flatMap((h, n) => {
      const send = (server: ServerProcess) =>
        server.gql(CHECKOUT, { input: { reservationId: h.reservationId, voucherId: h.sme.voucherId, idempotencyKey: h.key } }, { token: h.sme.actor.token, now: NOW });
      return n % 10 === 0 ? [send(servers[0]), send(servers[1])] : [send(servers[n % 2])];
    });
    const results = await Promise.all(requests);
    const failures = results.filter((r) => r.errors?.length);
    expect(failures).toEqual([]);
    const orders = new Map(results.map((r) => [r.data.checkout.id, r.data.checkout]));
    expect(orders.size).toBe(SMES * PER_SME);

    let subsidies = 0n;
    for (const order of orders.values()) {
      expect(order.status).toBe("PAID");
      expect(BigInt(order.subsidy.fen) + BigInt(order.smeShare.fen)).toBe(BigInt(order.gross.fen));
      subsidies += BigInt(order.subsidy.fen);
    }
    // Demand (100 x 20.00) is above the budget (600.00): exactly the budget is spent, never more.
    expect(subsidies).toBe(60_000n);
    const [program] = await run(`select available::text, pending::text, spent::text from subsidy_programs where id = $1`, [Number(programId)]);
    expect(program).toEqual({ available: "0", pending: "0", spent: "60000" });
    expect(await brokenLedgerInvariants(run)).toEqual([]);
    await assertCapacityInvariants(run);
  });
});
