// A whole market with two tenants of every kind, built through the API: for the authorization
// matrix and the fuzz test. The "A" side owns the objects that the "B" side must never see.
import { ADMIN, type CallOptions, type TestServer } from "./harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./fixtures.js";

export const WORLD_NOW = "2027-03-01T08:00:00Z";

/** An id of the type with `prefix` that names nothing: answers must not tell it from another tenant's. */
export const ghostId = (prefix: string) => `${prefix}_987654321`;

export interface World {
  now: string;
  smeA: Actor;
  smeB: Actor;
  opA: Actor;
  opB: Actor;
  finA: Actor;
  finB: Actor;
  /** Organizations nothing depends on, for the admin's mutations. */
  spareSme: Actor;
  spareOp: Actor;
  dcA: string;
  dcB: string;
  /** Has reservations of SME A. */
  offerA: string;
  /** Never reserved: can be withdrawn. */
  offerA2: string;
  offerB: string;
  /** Shanghai, run by finA. */
  programA: string;
  /** Beijing, run by finB. */
  programB: string;
  voucherA: string;
  voucherB: string;
  /** PENDING applications. */
  applicationA: string;
  applicationB: string;
  /** MATCHED, its reservation HELD. */
  bidA: string;
  reservationA: string;
  /** A second HELD reservation of SME A, left for a checkout. */
  reservationA2: string;
  /** OPEN (priced below every offer). */
  openBidA: string;
  /** PAID with voucherA. */
  orderA: string;
  /** orderA's reservation, CONFIRMED (for its delivery, once the rental has ended). */
  paidReservationA: string;
  /** PAID, left for a cancel. */
  orderA2: string;
  bidB: string;
  reservationB: string;
  orderB: string;
}

const at = (now: string): CallOptions => ({ now });

async function program(server: TestServer, finance: Actor, name: string, now: string): Promise<string> {
  const { createSubsidyProgram } = await server.ok(
    `mutation($input: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $input) { id } }`,
    {
      input: {
        name,
        budget: "1000000.00",
        rateBasisPoints: 3000,
        perOrderCap: "5000.00",
        perSmeAnnualCap: "50000.00",
        validFrom: "2027-01-01T00:00:00Z",
        validUntil: "2027-12-31T00:00:00Z",
      },
    },
    { token: finance.token, ...at(now) },
  );
  return createSubsidyProgram.id;
}

async function apply(server: TestServer, sme: Actor, programId: string, amount: string, now: string): Promise<string> {
  const { applyForVoucher } = await server.ok(
    `mutation($input: ApplyForVoucherInput!) { applyForVoucher(input: $input) { id } }`,
    { input: { programId, requestedAmount: amount, purpose: "Fine-tuning a language model" } },
    { token: sme.token, ...at(now) },
  );
  return applyForVoucher.id;
}

async function approve(server: TestServer, finance: Actor, applicationId: string, now: string): Promise<string> {
  const { decideVoucherApplication } = await server.ok(
    `mutation($id: ID!) { decideVoucherApplication(id: $id, approve: true) { voucher { id } } }`,
    { id: applicationId },
    { token: finance.token, ...at(now) },
  );
  return decideVoucherApplication.voucher.id;
}

async function bid(server: TestServer, sme: Actor, hub: string, maxPrice: string, now: string) {
  const { placeBid } = await server.ok(
    `mutation($input: PlaceBidInput!) { placeBid(input: $input) { id status reservation { id } } }`,
    {
      input: {
        gpuModel: "H800",
        gpuCount: 2,
        hours: 10,
        earliestStart: "2027-03-10T00:00:00Z",
        latestEnd: "2027-03-20T00:00:00Z",
        maxPricePerGpuHour: maxPrice,
        hubs: [hub],
      },
    },
    { token: sme.token, ...at(now) },
  );
  return {
    bidId: placeBid.id as string,
    status: placeBid.status as string,
    reservationId: placeBid.reservation?.id as string | undefined,
  };
}

async function matched(server: TestServer, sme: Actor, hub: string, now: string) {
  const placed = await bid(server, sme, hub, "50.00", now);
  if (placed.status !== "MATCHED" || !placed.reservationId)
    throw new Error(`bid not matched: ${JSON.stringify(placed)}`);
  return { bidId: placed.bidId, reservationId: placed.reservationId };
}

let keys = 0;

async function paidOrder(
  server: TestServer,
  sme: Actor,
  reservationId: string,
  voucherId: string | null,
  now: string,
): Promise<string> {
  const { checkout } = await server.ok(
    `mutation($input: CheckoutInput!) { checkout(input: $input) { id status } }`,
    { input: { reservationId, voucherId, idempotencyKey: `world-${++keys}` } },
    { token: sme.token, ...at(now) },
  );
  if (checkout.status !== "PAID") throw new Error(`order not paid: ${JSON.stringify(checkout)}`);
  return checkout.id;
}

export async function buildWorld(server: TestServer, now = WORLD_NOW): Promise<World> {
  const smeA = await organization(server, "SME", "Mofang Vision", "Shanghai");
  const smeB = await organization(server, "SME", "Tuling Robotics", "Shenzhen");
  const opA = await organization(server, "DATA_CENTER_OPERATOR", "Western Cloud");
  const opB = await organization(server, "DATA_CENTER_OPERATOR", "Longdong Compute");
  const finA = await organization(server, "CITY_FINANCE", "Shanghai Finance", "Shanghai");
  const finB = await organization(server, "CITY_FINANCE", "Beijing Finance", "Beijing");
  const spareSme = await organization(server, "SME", "Spare SME", "Hangzhou");
  const spareOp = await organization(server, "DATA_CENTER_OPERATOR", "Spare Operator");

  const dcA = await dataCenter(server, opA, "Ningxia Zhongwei", "Zhongwei DC-1", "Ningxia");
  const dcB = await dataCenter(server, opB, "Gansu Qingyang", "Qingyang DC-1", "Gansu");
  const window = { availableFrom: "2027-03-10T00:00:00Z", availableUntil: "2027-03-20T00:00:00Z" };
  const offerA = await publishOffer(
    server,
    opA,
    { dataCenterId: dcA, gpuCount: 16, pricePerGpuHour: "20.00", ...window },
    now,
  );
  const offerA2 = await publishOffer(
    server,
    opA,
    { dataCenterId: dcA, gpuModel: "A800", gpuCount: 4, pricePerGpuHour: "15.00", ...window },
    now,
  );
  const offerB = await publishOffer(
    server,
    opB,
    { dataCenterId: dcB, gpuCount: 16, pricePerGpuHour: "18.00", ...window },
    now,
  );

  const programA = await program(server, finA, "Shanghai Compute Voucher", now);
  const programB = await program(server, finB, "Beijing Compute Voucher", now);
  const voucherA = await approve(server, finA, await apply(server, smeA, programA, "20000.00", now), now);
  const voucherB = await approve(server, finB, await apply(server, smeB, programB, "20000.00", now), now);
  const applicationA = await apply(server, smeA, programA, "1000.00", now);
  const applicationB = await apply(server, smeB, programB, "1000.00", now);

  const a = await matched(server, smeA, "Ningxia Zhongwei", now);
  const a2 = await matched(server, smeA, "Ningxia Zhongwei", now);
  const forOrder = await matched(server, smeA, "Ningxia Zhongwei", now);
  const forCancel = await matched(server, smeA, "Ningxia Zhongwei", now);
  const orderA = await paidOrder(server, smeA, forOrder.reservationId, voucherA, now);
  const orderA2 = await paidOrder(server, smeA, forCancel.reservationId, null, now);
  const open = await bid(server, smeA, "Ningxia Zhongwei", "1.00", now);
  if (open.status !== "OPEN") throw new Error("the low bid should stay open");

  const b = await matched(server, smeB, "Gansu Qingyang", now);
  const forOrderB = await matched(server, smeB, "Gansu Qingyang", now);
  const orderB = await paidOrder(server, smeB, forOrderB.reservationId, voucherB, now);

  return {
    now,
    smeA,
    smeB,
    opA,
    opB,
    finA,
    finB,
    spareSme,
    spareOp,
    dcA,
    dcB,
    offerA,
    offerA2,
    offerB,
    programA,
    programB,
    voucherA,
    voucherB,
    applicationA,
    applicationB,
    bidA: a.bidId,
    reservationA: a.reservationId,
    reservationA2: a2.reservationId,
    openBidA: open.bidId,
    orderA,
    paidReservationA: forOrder.reservationId,
    orderA2,
    bidB: b.bidId,
    reservationB: b.reservationId,
    orderB,
  };
}

/**
 * The whole database in a few lines: per table, its row count and a hash of every row; plus the
 * money the ledger rules guard. Equal snapshots mean nothing changed.
 */
export async function snapshot(server: TestServer): Promise<Record<string, string>> {
  const tables = await server.sql<{ name: string }>(
    `select table_name as name from information_schema.tables
     where table_schema = current_schema() and table_type = 'BASE TABLE' order by table_name`,
  );
  const result: Record<string, string> = {};
  for (const { name } of tables) {
    const [row] = await server.sql<{ n: number; h: string | null }>(
      `select count(*)::int as n, md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as h from "${name}" t`,
    );
    result[name] = `${row.n} rows, ${row.h}`;
  }
  const [money] = await server.sql(
    `select (select coalesce(sum(available), 0)::text || '/' || coalesce(sum(pending), 0)::text || '/' || coalesce(sum(spent), 0)::text
             from subsidy_programs) as programs,
            (select coalesce(sum(remaining), 0)::text from vouchers) as vouchers`,
  );
  result["money: program available/pending/spent"] = money.programs;
  result["money: voucher remaining"] = money.vouchers;
  return result;
}

export { ADMIN };
