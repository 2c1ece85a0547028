// Every resolver of the API; each domain adds its own here.
import type { NonEmptyArray } from "type-graphql";
import { AccountsResolver } from "../accounts/accounts.resolver.js";
import { BidsResolver, ReservationsResolver } from "../bids/bids.resolver.js";
import { CheckoutResolver } from "../checkout/checkout.resolver.js";
import { MaintenanceResolver } from "../maintenance/maintenance.resolver.js";
import { DataCentersResolver, OffersResolver } from "../offers/offers.resolver.js";
import {
  SubsidyProgramFieldsResolver,
  SubsidyProgramsResolver,
  VoucherApplicationsResolver,
  VouchersResolver,
} from "../vouchers/vouchers.resolver.js";
import { LedgerResolver } from "../ledger/ledger.resolver.js";
import { CityStatementResolver, ReportsResolver, StatementLineResolver } from "../reports/reports.resolver.js";
import { AuditResolver } from "../audit/audit.resolver.js";
import { DeliveryResolver } from "../delivery/delivery.resolver.js";
import { EventSubscriptionsResolver, EventsResolver } from "../events/events.resolver.js";
import { WebhookDeliveriesResolver, WebhookEndpointsResolver } from "../webhooks/webhooks.resolver.js";
import { NodeResolver } from "./node.resolver.js";

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
export const resolvers: NonEmptyArray<Function> = [
  AccountsResolver,
  OffersResolver,
  DataCentersResolver,
  MaintenanceResolver,
  BidsResolver,
  ReservationsResolver,
  SubsidyProgramsResolver,
  SubsidyProgramFieldsResolver,
  VoucherApplicationsResolver,
  VouchersResolver,
  LedgerResolver,
  ReportsResolver,
  StatementLineResolver,
  CityStatementResolver,
  CheckoutResolver,
  DeliveryResolver,
  AuditResolver,
  EventsResolver,
  EventSubscriptionsResolver,
  WebhookEndpointsResolver,
  WebhookDeliveriesResolver,
  NodeResolver,
];
