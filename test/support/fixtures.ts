// Organizations, keys and data centers created through the API as the admin would.
import { ADMIN, type TestServer } from "./harness.js";

export interface Actor {
  id: string;
  token: string;
}

export async function organization(
  server: TestServer,
  kind: "SME" | "DATA_CENTER_OPERATOR" | "CITY_FINANCE",
  name: string,
  city?: string,
): Promise<Actor> {
  const { createOrganization } = await server.ok(
    `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id } }`,
    { input: { name, kind, city } },
    { token: ADMIN },
  );
  const { createApiKey } = await server.ok(
    `mutation($id: ID!) { createApiKey(organizationId: $id) { token } }`,
    { id: createOrganization.id },
    { token: ADMIN },
  );
  return { id: createOrganization.id, token: createApiKey.token };
}

export async function dataCenter(
  server: TestServer,
  operator: Actor,
  hub: string,
  name = `${hub} DC`,
  province = "Ningxia",
): Promise<string> {
  const { createDataCenter } = await server.ok(
    `mutation($input: CreateDataCenterInput!) { createDataCenter(input: $input) { id } }`,
    { input: { name, hub, province, operatorId: operator.id } },
    { token: ADMIN },
  );
  return createDataCenter.id;
}

export interface OfferInput {
  dataCenterId: string;
  gpuModel?: string;
  gpuCount?: number;
  pricePerGpuHour?: string;
  availableFrom: string;
  availableUntil: string;
  minHours?: number;
}

export async function publishOffer(
  server: TestServer,
  operator: Actor,
  input: OfferInput,
  now?: string,
): Promise<string> {
  const { publishOffer } = await server.ok(
    `mutation($input: PublishOfferInput!) { publishOffer(input: $input) { id } }`,
    { input: { gpuModel: "H800", gpuCount: 8, pricePerGpuHour: "20.00", minHours: 1, ...input } },
    { token: operator.token, now },
  );
  return publishOffer.id;
}
