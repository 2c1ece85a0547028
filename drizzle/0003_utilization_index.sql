DROP INDEX "offers_data_center_idx";--> statement-breakpoint
CREATE INDEX "offers_data_center_idx" ON "offers" USING btree ("data_center_id","available_until");