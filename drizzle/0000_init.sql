CREATE TYPE "public"."application_status" AS ENUM('PENDING', 'APPROVED', 'REJECTED');--> statement-breakpoint
CREATE TYPE "public"."bid_status" AS ENUM('OPEN', 'MATCHED', 'CANCELLED', 'EXPIRED');--> statement-breakpoint
CREATE TYPE "public"."ledger_entry_kind" AS ENUM('RESERVE', 'POST', 'VOID', 'REFUND');--> statement-breakpoint
CREATE TYPE "public"."offer_status" AS ENUM('ACTIVE', 'PAUSED', 'WITHDRAWN');--> statement-breakpoint
CREATE TYPE "public"."order_status" AS ENUM('PENDING_PAYMENT', 'PAID', 'FAILED', 'CANCELLED', 'REFUNDED');--> statement-breakpoint
CREATE TYPE "public"."org_kind" AS ENUM('SME', 'DATA_CENTER_OPERATOR', 'CITY_FINANCE');--> statement-breakpoint
CREATE TYPE "public"."program_status" AS ENUM('ACTIVE', 'SUSPENDED', 'CLOSED');--> statement-breakpoint
CREATE TYPE "public"."reservation_status" AS ENUM('HELD', 'CONFIRMED', 'EXPIRED', 'CANCELLED');--> statement-breakpoint
CREATE TYPE "public"."statement_status" AS ENUM('OPEN', 'SETTLED');--> statement-breakpoint
CREATE TYPE "public"."voucher_status" AS ENUM('ACTIVE', 'REVOKED');--> statement-breakpoint
CREATE TABLE "affiliations" (
	"organization_id" bigint NOT NULL,
	"affiliated_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "affiliations_organization_id_affiliated_id_pk" PRIMARY KEY("organization_id","affiliated_id")
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"organization_id" bigint NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"organization_id" bigint,
	"api_key_id" bigint,
	"role" text NOT NULL,
	"action" text NOT NULL,
	"target_id" text,
	"detail" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bids" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"sme_id" bigint NOT NULL,
	"gpu_model_id" bigint NOT NULL,
	"gpu_count" integer NOT NULL,
	"hours" integer NOT NULL,
	"earliest_start" timestamp with time zone NOT NULL,
	"latest_end" timestamp with time zone NOT NULL,
	"max_price_per_gpu_hour" bigint NOT NULL,
	"hubs" text[],
	"status" "bid_status" DEFAULT 'OPEN' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "bids_gpu_count_positive" CHECK ("bids"."gpu_count" > 0),
	CONSTRAINT "bids_hours_positive" CHECK ("bids"."hours" > 0)
);
--> statement-breakpoint
CREATE TABLE "city_statements" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"program_id" bigint NOT NULL,
	"month" text NOT NULL,
	"status" "statement_status" DEFAULT 'OPEN' NOT NULL,
	"settled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "claim_lines" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"statement_id" bigint NOT NULL,
	"program_id" bigint NOT NULL,
	"order_id" bigint NOT NULL,
	"data_center_id" bigint NOT NULL,
	"amount" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "data_centers" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"hub" text NOT NULL,
	"province" text NOT NULL,
	"operator_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "gpu_models" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"vendor" text NOT NULL,
	"memory_gb" integer NOT NULL,
	"domestic" boolean NOT NULL,
	CONSTRAINT "gpu_models_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "hubs" (
	"name" text PRIMARY KEY NOT NULL,
	"province" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "ledger_entries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"program_id" bigint NOT NULL,
	"voucher_id" bigint NOT NULL,
	"order_id" bigint NOT NULL,
	"kind" "ledger_entry_kind" NOT NULL,
	"amount" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ledger_amount_positive" CHECK ("ledger_entries"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "offers" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"data_center_id" bigint NOT NULL,
	"gpu_model_id" bigint NOT NULL,
	"gpu_count" integer NOT NULL,
	"price_per_gpu_hour" bigint NOT NULL,
	"available_from" timestamp with time zone NOT NULL,
	"available_until" timestamp with time zone NOT NULL,
	"min_hours" integer NOT NULL,
	"status" "offer_status" DEFAULT 'ACTIVE' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "offers_gpu_count_positive" CHECK ("offers"."gpu_count" > 0),
	CONSTRAINT "offers_price_positive" CHECK ("offers"."price_per_gpu_hour" > 0),
	CONSTRAINT "offers_window_ordered" CHECK ("offers"."available_until" > "offers"."available_from"),
	CONSTRAINT "offers_min_hours_positive" CHECK ("offers"."min_hours" > 0)
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"reservation_id" bigint NOT NULL,
	"sme_id" bigint NOT NULL,
	"voucher_id" bigint,
	"program_id" bigint,
	"offer_id" bigint NOT NULL,
	"data_center_id" bigint NOT NULL,
	"hub" text NOT NULL,
	"gpu_model_id" bigint NOT NULL,
	"gpu_hours" bigint NOT NULL,
	"gross" bigint NOT NULL,
	"subsidy" bigint NOT NULL,
	"sme_share" bigint NOT NULL,
	"subsidy_year" integer NOT NULL,
	"status" "order_status" DEFAULT 'PENDING_PAYMENT' NOT NULL,
	"idempotency_key" text NOT NULL,
	"request_fingerprint" text NOT NULL,
	"payment_provider" text NOT NULL,
	"payment_ref" text,
	"payment_status" text DEFAULT 'PENDING' NOT NULL,
	"client_secret" text,
	"paid_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "orders_split_exact" CHECK ("orders"."subsidy" + "orders"."sme_share" = "orders"."gross"),
	CONSTRAINT "orders_amounts_nonnegative" CHECK ("orders"."subsidy" >= 0 and "orders"."sme_share" >= 0)
);
--> statement-breakpoint
CREATE TABLE "organizations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" "org_kind" NOT NULL,
	"city" text,
	"credit_code" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reservations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"bid_id" bigint NOT NULL,
	"offer_id" bigint NOT NULL,
	"sme_id" bigint NOT NULL,
	"gpu_count" integer NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"price_per_gpu_hour" bigint NOT NULL,
	"status" "reservation_status" DEFAULT 'HELD' NOT NULL,
	"hold_expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reservations_window_ordered" CHECK ("reservations"."ends_at" > "reservations"."starts_at")
);
--> statement-breakpoint
CREATE TABLE "sme_annual_subsidy" (
	"program_id" bigint NOT NULL,
	"sme_id" bigint NOT NULL,
	"year" integer NOT NULL,
	"committed" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "sme_annual_subsidy_program_id_sme_id_year_pk" PRIMARY KEY("program_id","sme_id","year"),
	CONSTRAINT "sme_annual_subsidy_nonnegative" CHECK ("sme_annual_subsidy"."committed" >= 0)
);
--> statement-breakpoint
CREATE TABLE "subsidy_programs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"city" text NOT NULL,
	"name" text NOT NULL,
	"finance_org_id" bigint NOT NULL,
	"budget_total" bigint NOT NULL,
	"available" bigint NOT NULL,
	"pending" bigint DEFAULT 0 NOT NULL,
	"spent" bigint DEFAULT 0 NOT NULL,
	"rate_basis_points" integer NOT NULL,
	"domestic_rate_basis_points" integer,
	"per_order_cap" bigint,
	"per_sme_annual_cap" bigint,
	"max_subsidized_price_per_gpu_hour" bigint,
	"eligible_hubs" text[] DEFAULT '{}'::text[] NOT NULL,
	"valid_from" timestamp with time zone NOT NULL,
	"valid_until" timestamp with time zone NOT NULL,
	"status" "program_status" DEFAULT 'ACTIVE' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "programs_balances_nonnegative" CHECK ("subsidy_programs"."available" >= 0 and "subsidy_programs"."pending" >= 0 and "subsidy_programs"."spent" >= 0),
	CONSTRAINT "programs_balances_sum" CHECK ("subsidy_programs"."budget_total" = "subsidy_programs"."available" + "subsidy_programs"."pending" + "subsidy_programs"."spent"),
	CONSTRAINT "programs_rate_range" CHECK ("subsidy_programs"."rate_basis_points" between 0 and 10000),
	CONSTRAINT "programs_domestic_rate_range" CHECK ("subsidy_programs"."domestic_rate_basis_points" is null or "subsidy_programs"."domestic_rate_basis_points" between 0 and 10000),
	CONSTRAINT "programs_validity_ordered" CHECK ("subsidy_programs"."valid_until" > "subsidy_programs"."valid_from")
);
--> statement-breakpoint
CREATE TABLE "voucher_applications" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"program_id" bigint NOT NULL,
	"sme_id" bigint NOT NULL,
	"requested_amount" bigint NOT NULL,
	"purpose" text NOT NULL,
	"status" "application_status" DEFAULT 'PENDING' NOT NULL,
	"decision_reason" text,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "applications_requested_positive" CHECK ("voucher_applications"."requested_amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "vouchers" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"program_id" bigint NOT NULL,
	"sme_id" bigint NOT NULL,
	"application_id" bigint NOT NULL,
	"granted_amount" bigint NOT NULL,
	"remaining" bigint NOT NULL,
	"valid_until" timestamp with time zone NOT NULL,
	"status" "voucher_status" DEFAULT 'ACTIVE' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vouchers_remaining_range" CHECK ("vouchers"."remaining" >= 0 and "vouchers"."remaining" <= "vouchers"."granted_amount")
);
--> statement-breakpoint
CREATE TABLE "webhook_events" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "affiliations" ADD CONSTRAINT "affiliations_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "affiliations" ADD CONSTRAINT "affiliations_affiliated_id_organizations_id_fk" FOREIGN KEY ("affiliated_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bids" ADD CONSTRAINT "bids_sme_id_organizations_id_fk" FOREIGN KEY ("sme_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bids" ADD CONSTRAINT "bids_gpu_model_id_gpu_models_id_fk" FOREIGN KEY ("gpu_model_id") REFERENCES "public"."gpu_models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "city_statements" ADD CONSTRAINT "city_statements_program_id_subsidy_programs_id_fk" FOREIGN KEY ("program_id") REFERENCES "public"."subsidy_programs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claim_lines" ADD CONSTRAINT "claim_lines_statement_id_city_statements_id_fk" FOREIGN KEY ("statement_id") REFERENCES "public"."city_statements"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claim_lines" ADD CONSTRAINT "claim_lines_program_id_subsidy_programs_id_fk" FOREIGN KEY ("program_id") REFERENCES "public"."subsidy_programs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claim_lines" ADD CONSTRAINT "claim_lines_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "claim_lines" ADD CONSTRAINT "claim_lines_data_center_id_data_centers_id_fk" FOREIGN KEY ("data_center_id") REFERENCES "public"."data_centers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_centers" ADD CONSTRAINT "data_centers_hub_hubs_name_fk" FOREIGN KEY ("hub") REFERENCES "public"."hubs"("name") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_centers" ADD CONSTRAINT "data_centers_operator_id_organizations_id_fk" FOREIGN KEY ("operator_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_program_id_subsidy_programs_id_fk" FOREIGN KEY ("program_id") REFERENCES "public"."subsidy_programs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_voucher_id_vouchers_id_fk" FOREIGN KEY ("voucher_id") REFERENCES "public"."vouchers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_data_center_id_data_centers_id_fk" FOREIGN KEY ("data_center_id") REFERENCES "public"."data_centers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offers" ADD CONSTRAINT "offers_gpu_model_id_gpu_models_id_fk" FOREIGN KEY ("gpu_model_id") REFERENCES "public"."gpu_models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_reservation_id_reservations_id_fk" FOREIGN KEY ("reservation_id") REFERENCES "public"."reservations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_sme_id_organizations_id_fk" FOREIGN KEY ("sme_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_voucher_id_vouchers_id_fk" FOREIGN KEY ("voucher_id") REFERENCES "public"."vouchers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_program_id_subsidy_programs_id_fk" FOREIGN KEY ("program_id") REFERENCES "public"."subsidy_programs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_offer_id_offers_id_fk" FOREIGN KEY ("offer_id") REFERENCES "public"."offers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_data_center_id_data_centers_id_fk" FOREIGN KEY ("data_center_id") REFERENCES "public"."data_centers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_gpu_model_id_gpu_models_id_fk" FOREIGN KEY ("gpu_model_id") REFERENCES "public"."gpu_models"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_bid_id_bids_id_fk" FOREIGN KEY ("bid_id") REFERENCES "public"."bids"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_offer_id_offers_id_fk" FOREIGN KEY ("offer_id") REFERENCES "public"."offers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_sme_id_organizations_id_fk" FOREIGN KEY ("sme_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sme_annual_subsidy" ADD CONSTRAINT "sme_annual_subsidy_program_id_subsidy_programs_id_fk" FOREIGN KEY ("program_id") REFERENCES "public"."subsidy_programs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sme_annual_subsidy" ADD CONSTRAINT "sme_annual_subsidy_sme_id_organizations_id_fk" FOREIGN KEY ("sme_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "subsidy_programs" ADD CONSTRAINT "subsidy_programs_finance_org_id_organizations_id_fk" FOREIGN KEY ("finance_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "voucher_applications" ADD CONSTRAINT "voucher_applications_program_id_subsidy_programs_id_fk" FOREIGN KEY ("program_id") REFERENCES "public"."subsidy_programs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "voucher_applications" ADD CONSTRAINT "voucher_applications_sme_id_organizations_id_fk" FOREIGN KEY ("sme_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vouchers" ADD CONSTRAINT "vouchers_program_id_subsidy_programs_id_fk" FOREIGN KEY ("program_id") REFERENCES "public"."subsidy_programs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vouchers" ADD CONSTRAINT "vouchers_sme_id_organizations_id_fk" FOREIGN KEY ("sme_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vouchers" ADD CONSTRAINT "vouchers_application_id_voucher_applications_id_fk" FOREIGN KEY ("application_id") REFERENCES "public"."voucher_applications"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_token_hash_uq" ON "api_keys" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "api_keys_org_idx" ON "api_keys" USING btree ("organization_id");--> statement-breakpoint
CREATE INDEX "audit_log_org_idx" ON "audit_log" USING btree ("organization_id","id");--> statement-breakpoint
CREATE INDEX "audit_log_action_idx" ON "audit_log" USING btree ("action","id");--> statement-breakpoint
CREATE INDEX "bids_sme_idx" ON "bids" USING btree ("sme_id","id");--> statement-breakpoint
CREATE INDEX "bids_open_priority_idx" ON "bids" USING btree ("gpu_model_id","max_price_per_gpu_hour" DESC NULLS LAST,"created_at","id") WHERE "bids"."status" = 'OPEN';--> statement-breakpoint
CREATE UNIQUE INDEX "city_statements_program_month_uq" ON "city_statements" USING btree ("program_id","month");--> statement-breakpoint
CREATE UNIQUE INDEX "claim_lines_order_sign_uq" ON "claim_lines" USING btree ("order_id",sign("amount"));--> statement-breakpoint
CREATE INDEX "claim_lines_statement_idx" ON "claim_lines" USING btree ("statement_id","data_center_id");--> statement-breakpoint
CREATE INDEX "data_centers_hub_idx" ON "data_centers" USING btree ("hub");--> statement-breakpoint
CREATE INDEX "data_centers_operator_idx" ON "data_centers" USING btree ("operator_id");--> statement-breakpoint
CREATE UNIQUE INDEX "ledger_order_kind_uq" ON "ledger_entries" USING btree ("order_id","kind");--> statement-breakpoint
CREATE INDEX "ledger_program_idx" ON "ledger_entries" USING btree ("program_id","id");--> statement-breakpoint
CREATE INDEX "offers_search_idx" ON "offers" USING btree ("gpu_model_id","status","price_per_gpu_hour","id");--> statement-breakpoint
CREATE INDEX "offers_status_price_idx" ON "offers" USING btree ("status","price_per_gpu_hour","id");--> statement-breakpoint
CREATE INDEX "offers_data_center_idx" ON "offers" USING btree ("data_center_id","available_from");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_idempotency_uq" ON "orders" USING btree ("sme_id","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_live_reservation_uq" ON "orders" USING btree ("reservation_id") WHERE "orders"."status" in ('PENDING_PAYMENT', 'PAID');--> statement-breakpoint
CREATE INDEX "orders_sme_idx" ON "orders" USING btree ("sme_id","id");--> statement-breakpoint
CREATE INDEX "orders_pending_idx" ON "orders" USING btree ("updated_at") WHERE "orders"."status" = 'PENDING_PAYMENT';--> statement-breakpoint
CREATE INDEX "orders_paid_program_idx" ON "orders" USING btree ("program_id","paid_at") WHERE "orders"."status" = 'PAID';--> statement-breakpoint
CREATE UNIQUE INDEX "orders_payment_ref_uq" ON "orders" USING btree ("payment_ref");--> statement-breakpoint
CREATE UNIQUE INDEX "organizations_credit_code_uq" ON "organizations" USING btree ("credit_code");--> statement-breakpoint
CREATE UNIQUE INDEX "reservations_bid_uq" ON "reservations" USING btree ("bid_id");--> statement-breakpoint
CREATE INDEX "reservations_offer_live_idx" ON "reservations" USING btree ("offer_id","starts_at","ends_at") WHERE "reservations"."status" in ('HELD', 'CONFIRMED');--> statement-breakpoint
CREATE INDEX "reservations_held_expiry_idx" ON "reservations" USING btree ("hold_expires_at") WHERE "reservations"."status" = 'HELD';--> statement-breakpoint
CREATE INDEX "reservations_sme_idx" ON "reservations" USING btree ("sme_id");--> statement-breakpoint
CREATE INDEX "programs_city_idx" ON "subsidy_programs" USING btree ("city");--> statement-breakpoint
CREATE INDEX "applications_program_idx" ON "voucher_applications" USING btree ("program_id","status");--> statement-breakpoint
CREATE INDEX "applications_sme_idx" ON "voucher_applications" USING btree ("sme_id");--> statement-breakpoint
CREATE UNIQUE INDEX "vouchers_application_uq" ON "vouchers" USING btree ("application_id");--> statement-breakpoint
CREATE INDEX "vouchers_sme_idx" ON "vouchers" USING btree ("sme_id");