ALTER TABLE "audit_log" ADD COLUMN "program_id" bigint;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "city" text;--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN "request_id" text;--> statement-breakpoint
CREATE INDEX "audit_log_city_idx" ON "audit_log" USING btree ("city","id");