CREATE TYPE "public"."delivery_status" AS ENUM('REPORTED', 'DISPUTED', 'FINAL');--> statement-breakpoint
CREATE TABLE "deliveries" (
	"reservation_id" bigint PRIMARY KEY NOT NULL,
	"order_id" bigint NOT NULL,
	"booked_gpu_hours" bigint NOT NULL,
	"delivered_gpu_hours" bigint NOT NULL,
	"outages" text DEFAULT '[]' NOT NULL,
	"status" "delivery_status" NOT NULL,
	"assumed" boolean DEFAULT false NOT NULL,
	"reported_by" bigint,
	"reported_at" timestamp with time zone,
	"dispute_reason" text,
	"disputed_at" timestamp with time zone,
	"corrected_at" timestamp with time zone,
	"final_at" timestamp with time zone,
	"subsidy_credit" bigint DEFAULT 0 NOT NULL,
	"sme_share_credit" bigint DEFAULT 0 NOT NULL,
	"refund_status" text,
	"refund_ref" text,
	CONSTRAINT "deliveries_hours_range" CHECK ("deliveries"."delivered_gpu_hours" >= 0 and "deliveries"."delivered_gpu_hours" <= "deliveries"."booked_gpu_hours"),
	CONSTRAINT "deliveries_credits_nonnegative" CHECK ("deliveries"."subsidy_credit" >= 0 and "deliveries"."sme_share_credit" >= 0)
);
--> statement-breakpoint
CREATE TABLE "offer_attestations" (
	"offer_id" bigint PRIMARY KEY NOT NULL,
	"serial_numbers" text[] DEFAULT '{}'::text[] NOT NULL,
	"reference" text,
	"gpu_count" integer NOT NULL,
	"declared_by" bigint NOT NULL,
	"declared_at" timestamp with time zone NOT NULL,
	CONSTRAINT "offer_attestations_gpu_count_positive" CHECK ("offer_attestations"."gpu_count" > 0),
	CONSTRAINT "offer_attestations_something_declared" CHECK ("offer_attestations"."reference" is not null or cardinality("offer_attestations"."serial_numbers") > 0)
);
--> statement-breakpoint
ALTER TABLE "claim_lines" ADD COLUMN "credit" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "payment_action" text;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "subsidy_credited" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "sme_share_credited" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "subsidy_programs" ADD COLUMN "requires_hardware_attestation" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_reservation_id_reservations_id_fk" FOREIGN KEY ("reservation_id") REFERENCES "public"."reservations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_reported_by_organizations_id_fk" FOREIGN KEY ("reported_by") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offer_attestations" ADD CONSTRAINT "offer_attestations_offer_id_offers_id_fk" FOREIGN KEY ("offer_id") REFERENCES "public"."offers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "offer_attestations" ADD CONSTRAINT "offer_attestations_declared_by_organizations_id_fk" FOREIGN KEY ("declared_by") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "deliveries_order_idx" ON "deliveries" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX "deliveries_open_idx" ON "deliveries" USING btree ("status") WHERE "deliveries"."status" <> 'FINAL' or "deliveries"."refund_status" = 'pending';--> statement-breakpoint
CREATE INDEX "reservations_confirmed_end_idx" ON "reservations" USING btree ("ends_at") WHERE "reservations"."status" = 'CONFIRMED';--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_credits_range" CHECK ("orders"."subsidy_credited" between 0 and "orders"."subsidy" and "orders"."sme_share_credited" between 0 and "orders"."sme_share");