// A small market through the API: an operator with a data center and an offer, an SME, a city
// finance team with a program, and an approved voucher. Used by the checkout suites.
import { ADMIN, type TestServer } from "./harness.js";
import { dataCenter, organization, publishOffer, type Actor } from "./fixtures.js";

export const NOW = "2027-03-01T08:00:00Z";

export interface Market {
  operator: Actor;
  sme: Actor;
  otherSme: Actor;
  finance: Actor;
  dataCenterId: string;
  offerId: string;
  programId: string;
  voucherId: string;
}

export interface MarketOptions {
  gpuCount?: number;
  price?: string;
  budget?: string;
  voucherAmount?: string;
  rateBasisPoints?: number;
  perOrderCap?: string | null;
  smes?: number;
}

export async function market(server: TestServer, options: MarketOptions = {}): Promise<Market> {
  const operator = await organization(server, "DATA_CENTER_OPERATOR", "Western Cloud");
  const sme = await organization(server, "SME", "Mofang Vision", "Shanghai");
  const otherSme = await organization(server, "SME", "Tuling Robotics", "Shenzhen");
  const finance = await organization(server, "CITY_FINANCE", "Shanghai Finance", "Shanghai");
  const dataCenterId = await dataCenter(server, operator, "Ningxia Zhongwei", "Zhongwei DC-1", "Ningxia");
  const offerId = await publishOffer(
    server,
    operator,
    {
      dataCenterId,
      gpuModel: "H800",
      gpuCount: options.gpuCount ?? 8,
      pricePerGpuHour: options.price ?? "20.00",
      availableFrom: "2027-03-10T00:00:00Z",
      availableUntil: "2027-03-20T00:00:00Z",
    },
    NOW,
  );
  const { createSubsidyProgram } = await server.ok(
    `mutation($input: CreateSubsidyProgramInput!) { createSubsidyProgram(input: $input) { id } }`,
    {
      input: {
        name: "Shanghai Compute Voucher",
        budget: options.budget ?? "1000000.00",
        rateBasisPoints: options.rateBasisPoints ?? 3000,
        perOrderCap: options.perOrderCap === undefined ? null : options.perOrderCap,
        validFrom: "2027-01-01T00:00:00Z",
        validUntil: "2027-12-31T00:00:00Z",
      },
    },
    { token: finance.token, now: NOW },
  );
  const voucherId = await grantVoucher(
    server,
    sme,
    finance,
    createSubsidyProgram.id,
    options.voucherAmount ?? "10000.00",
  );
  return { operator, sme, otherSme, finance, dataCenterId, offerId, programId: createSubsidyProgram.id, voucherId };
}

export async function grantVoucher(
  server: TestServer,
  sme: Actor,
  finance: Actor,
  programId: string,
  amount: string,
): Promise<string> {
  const { applyForVoucher } = await server.ok(
    `mutation($input: ApplyForVoucherInput!) { applyForVoucher(input: $input) { id } }`,
    { input: { programId, requestedAmount: amount, purpose: "Training a speech model" } },
    { token: sme.token, now: NOW },
  );
  const { decideVoucherApplication } = await server.ok(
    `mutation($id: ID!) { decideVoucherApplication(id: $id, approve: true) { voucher { id } } }`,
    { id: applyForVoucher.id },
    { token: finance.token, now: NOW },
  );
  return decideVoucherApplication.voucher.id;
}

/** Places a bid that the market's offer can serve; returns the HELD reservation's id. */
export async function reserve(server: TestServer, sme: Actor, gpuCount = 2, hours = 10, now = NOW): Promise<string> {
  const { placeBid } = await server.ok(
    `mutation($input: PlaceBidInput!) { placeBid(input: $input) { status reservation { id status } } }`,
    {
      input: {
        gpuModel: "H800",
        gpuCount,
        hours,
        earliestStart: "2027-03-10T00:00:00Z",
        latestEnd: "2027-03-20T00:00:00Z",
        maxPricePerGpuHour: "50.00",
      },
    },
    { token: sme.token, now },
  );
  if (placeBid.status !== "MATCHED") throw new Error(`bid not matched: ${JSON.stringify(placeBid)}`);
  return placeBid.reservation.id;
}

export const ORDER_FIELDS = `id status gross { amount fen } subsidy { amount fen } smeShare { amount fen }
  payment { provider providerRef status clientSecret } reservation { id status } voucher { id remaining { amount } }`;

export const CHECKOUT = `mutation($input: CheckoutInput!) { checkout(input: $input) { ${ORDER_FIELDS} } }`;

export async function budget(server: TestServer, finance: Actor, programId: string) {
  const { subsidyPrograms } = await server.ok(
    `{ subsidyPrograms { id budgetStatus { total { fen } available { fen } pending { fen } spent { fen } } } }`,
    {},
    { token: finance.token, now: NOW },
  );
  const program = subsidyPrograms.find((p: { id: string }) => p.id === programId);
  const { total, available, pending, spent } = program.budgetStatus;
  return { total: total.fen, available: available.fen, pending: pending.fen, spent: spent.fen };
}

export { ADMIN };
