// Every resolver of the API; each domain adds its own here.
import type { NonEmptyArray } from "type-graphql";
import { AccountsResolver } from "../accounts/accounts.resolver.js";
import { MaintenanceResolver } from "../maintenance/maintenance.resolver.js";
import { DataCentersResolver, OffersResolver } from "../offers/offers.resolver.js";

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const resolvers: NonEmptyArray<Function> = [AccountsResolver, OffersResolver, DataCentersResolver, MaintenanceResolver];
