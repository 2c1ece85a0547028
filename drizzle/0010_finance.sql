CREATE TYPE "public"."org_category" AS ENUM('SME', 'RESEARCH_INSTITUTE', 'UNIVERSITY', 'STARTUP');--> statement-breakpoint
CREATE TABLE "billing_calendar" (
	"id" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"time_zone" text NOT NULL,
	CONSTRAINT "billing_calendar_one_row" CHECK ("billing_calendar"."id")
);
--> statement-breakpoint
CREATE TABLE "capacity_by_day" (
	"data_center_id" bigint NOT NULL,
	"day" date NOT NULL,
	"hub" text NOT NULL,
	"offered_gpu_hours" bigint NOT NULL,
	"reserved_gpu_hours" bigint NOT NULL,
	CONSTRAINT "capacity_by_day_data_center_id_day_pk" PRIMARY KEY("data_center_id","day")
);
--> statement-breakpoint
CREATE TABLE "capacity_by_month" (
	"data_center_id" bigint NOT NULL,
	"month" date NOT NULL,
	"hub" text NOT NULL,
	"offered_gpu_hours" bigint NOT NULL,
	"reserved_gpu_hours" bigint NOT NULL,
	CONSTRAINT "capacity_by_month_data_center_id_month_pk" PRIMARY KEY("data_center_id","month")
);
--> statement-breakpoint
DROP INDEX "orders_paid_spend_idx";--> statement-breakpoint
ALTER TABLE "city_statements" ADD COLUMN "settled_by" bigint;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "paid_day" date;--> statement-breakpoint
ALTER TABLE "organizations" ADD COLUMN "category" "org_category" DEFAULT 'SME' NOT NULL;--> statement-breakpoint
ALTER TABLE "subsidy_programs" ADD COLUMN "eligible_categories" "org_category"[] DEFAULT '{SME}'::org_category[] NOT NULL;--> statement-breakpoint
CREATE INDEX "capacity_by_day_report_idx" ON "capacity_by_day" USING btree ("day","hub","offered_gpu_hours","reserved_gpu_hours");--> statement-breakpoint
CREATE INDEX "capacity_by_month_report_idx" ON "capacity_by_month" USING btree ("month","hub","offered_gpu_hours","reserved_gpu_hours");--> statement-breakpoint
ALTER TABLE "city_statements" ADD CONSTRAINT "city_statements_settled_by_organizations_id_fk" FOREIGN KEY ("settled_by") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ledger_program_time_idx" ON "ledger_entries" USING btree ("program_id","created_at","kind","amount");--> statement-breakpoint
CREATE INDEX "orders_paid_policy_idx" ON "orders" USING btree ("program_id","paid_day","sme_id","gpu_model_id","hub","gpu_hours","subsidy") WHERE "orders"."status" = 'PAID';--> statement-breakpoint
CREATE INDEX "orders_paid_spend_idx" ON "orders" USING btree ("program_id","paid_at","data_center_id","gpu_hours","gross","subsidy","sme_share","paid_day") WHERE "orders"."status" = 'PAID';--> statement-breakpoint
ALTER TABLE "subsidy_programs" ADD CONSTRAINT "programs_categories_nonempty" CHECK (cardinality("subsidy_programs"."eligible_categories") > 0);