// 100 checkouts at once on two server processes sharing one PostgreSQL, against a program that can
// pay only some of them: the budget is never overspent, every split adds up, the ledger balances.
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, freshPostgresDatabase, type GqlResult, type TestServer } from "./support/harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./support/fixtures.js";
import { grantVoucher, NOW } from "./support/market.js";
import { brokenLedgerInvariants } from "./support/ledger-invariants.js";
import { assertCapacityInvariants } from "./support/invariants.js";
import { startProcess, type ServerProcess } from "./support/processes.js";
import { keyOf } from "./support/ids.js";

const SMES = 20;
const PER_SME = 5;
const CHECKOUT = `mutation($input: CheckoutInput!) { checkout(input: $input) { id status gross { fen } subsidy { fen } smeShare { fen } } }`;

describe.runIf(!!process.env.DATABASE_URL)("checkouts on two server processes sharing one PostgreSQL", () => {
  let database: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let servers: ServerProcess[] = [];
  let sql: postgres.Sql;
  const smes: { actor: Actor; voucherId: string }[] = [];
  let programId: string;
  const run = async (text: string, params: unknown[] = []) =>
    (await sql.unsafe(text, params as never[])) as unknown as any[];

  beforeAll(async () => {
    database = await freshPostgresDatabase();
    const env = {
      DATABASE_URL: database.url,
      ADMIN_TOKEN: ADMIN,
      SEED: "none",
      ENABLE_TEST_CLOCK: "1",
      RATE_LIMIT_PER_MINUTE: "0",
      QUERY_POINTS_PER_MINUTE: "0",
      MAINTENANCE_INTERVAL_MS: "0",
    };
    servers = await Promise.all([startProcess(env), startProcess(env)]);
    sql = postgres(database.url, { max: 2, onnotice: () => {} });
    const api = servers[0] as unknown as TestServer;

    const operator = await organization(api, "DATA_CENTER_OPERATOR", "Race Cloud");
    const dc = await dataCenter(api, operator, "Gansu Qingyang", "Qingyang DC", "Gansu");
    await publishOffer(
      api,
      operator,
      {
        dataCenterId: dc,
        gpuModel: "H800",
        gpuCount: SMES * PER_SME,
        pricePerGpuHour: "20.00",
        availableFrom: "2027-03-10T00:00:00Z",
        availableUntil: "2027-03-11T00:00:00Z",
      },
      NOW,
    );
    const finance = await organization(api, "CITY_FINANCE", "Race City Finance", "Race City");
    // Each order: 1 GPU x 2 h x 20.00 = 40.00 gross, 50 % = 20.00 subsidy; the budget pays 30 of 100.
    const { createSubsidyProgram } = await api.ok(
      `mutation($input: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $input) { id } }`,
      {
        input: {
          name: "Small budget",
          budget: "600.00",
          rateBasisPoints: 5000,
          validFrom: "2027-01-01T00:00:00Z",
          validUntil: "2027-12-31T00:00:00Z",
        },
      },
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
        servers[(i + j) % 2]
          .ok(
            `mutation($input: PlaceBidInput!) { placeBid(input: $input) { status reservation { id } } }`,
            {
              input: {
                gpuModel: "H800",
                gpuCount: 1,
                hours: 2,
                earliestStart: "2027-03-10T00:00:00Z",
                latestEnd: "2027-03-10T02:00:00Z",
                maxPricePerGpuHour: "20.00",
              },
            },
            { token: sme.actor.token, now: NOW },
          )
          .then((r) => ({ sme, reservationId: r.placeBid.reservation.id as string, key: `race-${i}-${j}` })),
      ),
    );
    const held = await Promise.all(bids);
    expect(held).toHaveLength(SMES * PER_SME);

    // All checkouts at once, half on each process; a few are sent twice with the same key.
    const requests = held.flatMap((h, n) => {
      const send = (server: ServerProcess) =>
        server.gql(
          CHECKOUT,
          { input: { reservationId: h.reservationId, voucherId: h.sme.voucherId, idempotencyKey: h.key } },
          { token: h.sme.actor.token, now: NOW },
        );
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
    const [program] = await run(
      `select available::text, pending::text, spent::text from subsidy_programs where id = $1`,
      [keyOf(programId)],
    );
    expect(program).toEqual({ available: "0", pending: "0", spent: "60000" });
    expect(await brokenLedgerInvariants(run)).toEqual([]);
    await assertCapacityInvariants(run);
  });

  it("one idempotency key for two reservations at once: one order per key, answered to its clients; the other input CONFLICT", async () => {
    const api = servers[0] as unknown as TestServer;
    const operator = await organization(api, "DATA_CENTER_OPERATOR", "Key Race Cloud");
    const dc = await dataCenter(api, operator, "Ningxia Zhongwei", "Zhongwei Key DC", "Ningxia");
    await publishOffer(
      api,
      operator,
      {
        dataCenterId: dc,
        gpuModel: "A800",
        gpuCount: 200,
        pricePerGpuHour: "10.00",
        availableFrom: "2027-03-12T00:00:00Z",
        availableUntil: "2027-03-13T00:00:00Z",
      },
      NOW,
    );
    const finance = await organization(api, "CITY_FINANCE", "Key Race Finance", "Key City");
    const { createSubsidyProgram } = await api.ok(
      `mutation($input: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $input) { id } }`,
      {
        input: {
          name: "Key race budget",
          budget: "100000.00",
          rateBasisPoints: 3000,
          validFrom: "2027-01-01T00:00:00Z",
          validUntil: "2027-12-31T00:00:00Z",
        },
      },
      { token: finance.token, now: NOW },
    );
    const racers = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        const actor = await organization(api, "SME", `Key racer ${i}`, "Key City");
        return { actor, voucherId: await grantVoucher(api, actor, finance, createSubsidyProgram.id, "1000.00") };
      }),
    );
    // Rounds of checkouts, each small enough that no process runs out of connections: in a round,
    // each SME sends one key with two different reservations, one to each process, and a second
    // copy of one of them. All of a round's requests are sent at once.
    const ROUNDS = 12;
    const reservationsOf = await Promise.all(
      racers.map((sme) =>
        Promise.all(
          Array.from({ length: ROUNDS * 2 }, (_, j) =>
            servers[j % 2]
              .ok(
                `mutation($input: PlaceBidInput!) { placeBid(input: $input) { reservation { id } } }`,
                {
                  input: {
                    gpuModel: "A800",
                    gpuCount: 1,
                    hours: 2,
                    earliestStart: "2027-03-12T00:00:00Z",
                    latestEnd: "2027-03-12T02:00:00Z",
                    maxPricePerGpuHour: "10.00",
                  },
                },
                { token: sme.actor.token, now: NOW },
              )
              .then((r) => r.placeBid.reservation.id as string),
          ),
        ),
      ),
    );
    type Sent = { key: string; reservationId: string; answer: GqlResult<any> };
    const answers: Sent[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const sends = racers.flatMap((sme, i) => {
        const key = `shared-${round}-${i}`;
        const [first, second] = [reservationsOf[i][round * 2], reservationsOf[i][round * 2 + 1]];
        const send = (server: ServerProcess, reservationId: string) =>
          server
            .gql(
              CHECKOUT,
              { input: { reservationId, voucherId: sme.voucherId, idempotencyKey: key } },
              { token: sme.actor.token, now: NOW },
            )
            .then((answer) => answers.push({ key, reservationId, answer }));
        return [
          send(servers[i % 2], first),
          send(servers[(i + 1) % 2], second),
          send(servers[(i + round) % 2], round % 2 ? first : second),
        ];
      });
      await Promise.all(sends);
    }

    // Every error is the CONFLICT of a key already used for the other reservation: no deadlock, no "retry".
    const unexpected = answers.filter(
      (a) =>
        a.answer.errors &&
        !(
          a.answer.errors.length === 1 &&
          a.answer.errors[0].extensions?.code === "CONFLICT" &&
          /idempotencyKey was already used/.test(a.answer.errors[0].message)
        ),
    );
    expect(unexpected.map((a) => a.answer.errors)).toEqual([]);

    // One order per key, for one of its two reservations, and every client that sent that input got it.
    const orders = await run(
      `select 'order_' || id as id, 'reservation_' || reservation_id as reservation_id, idempotency_key as key from orders where idempotency_key like 'shared-%'`,
    );
    expect(orders).toHaveLength(racers.length * ROUNDS);
    expect(new Set(orders.map((o) => o.key)).size).toBe(orders.length);
    for (const order of orders) {
      const senders = answers.filter((a) => a.key === order.key && a.reservationId === order.reservation_id);
      expect(senders.length).toBeGreaterThan(0);
      for (const sender of senders)
        expect([sender.answer.errors, sender.answer.data?.checkout?.id]).toEqual([undefined, order.id]);
    }
    // A CONFLICT went only to the other input of a key: its reservation has no order.
    const ordered = new Set(orders.map((o) => o.reservation_id));
    for (const a of answers.filter((a) => a.answer.errors)) expect(ordered.has(a.reservationId)).toBe(false);
    expect(await brokenLedgerInvariants(run)).toEqual([]);
    await assertCapacityInvariants(run);
  });
});
