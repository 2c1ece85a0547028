CREATE TABLE "spend_by_month" (
	"program_id" bigint NOT NULL,
	"month" date NOT NULL,
	"data_center_id" bigint NOT NULL,
	"hub" text NOT NULL,
	"orders" integer NOT NULL,
	"gpu_hours" bigint NOT NULL,
	"gross" bigint NOT NULL,
	"subsidy" bigint NOT NULL,
	"sme_paid" bigint NOT NULL,
	CONSTRAINT "spend_by_month_program_id_month_data_center_id_hub_pk" PRIMARY KEY("program_id","month","data_center_id","hub")
);
--> statement-breakpoint
CREATE INDEX "spend_by_month_report_idx" ON "spend_by_month" USING btree ("program_id","month","data_center_id","hub","orders","gpu_hours","gross","subsidy","sme_paid");
--> statement-breakpoint
-- An exact sum that stays a bigint (an overflow is an error): sum(bigint) would return
-- numeric, much slower to add up and to read for reports of thousands of groups.
CREATE AGGREGATE "sum_bigint"(bigint) (SFUNC = int8pl, STYPE = bigint, INITCOND = '0', COMBINEFUNC = int8pl, PARALLEL = SAFE);
--> statement-breakpoint
-- Kept by triggers on orders: an order counts while it is PAID, under its program, payment month and
-- data center. The WHEN clauses let every other write of an order skip the function.
CREATE FUNCTION "spend_by_month_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'PAID' AND OLD.program_id IS NOT NULL AND OLD.paid_at IS NOT NULL THEN
		INSERT INTO spend_by_month AS s (program_id, month, data_center_id, hub, orders, gpu_hours, gross, subsidy, sme_paid)
		VALUES (OLD.program_id, date_trunc('month', OLD.paid_at AT TIME ZONE 'UTC')::date, OLD.data_center_id, OLD.hub,
			-1, -OLD.gpu_hours, -OLD.gross, -OLD.subsidy, -OLD.sme_share)
		ON CONFLICT (program_id, month, data_center_id, hub) DO UPDATE SET
			orders = s.orders + excluded.orders, gpu_hours = s.gpu_hours + excluded.gpu_hours, gross = s.gross + excluded.gross,
			subsidy = s.subsidy + excluded.subsidy, sme_paid = s.sme_paid + excluded.sme_paid;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'PAID' AND NEW.program_id IS NOT NULL AND NEW.paid_at IS NOT NULL THEN
		INSERT INTO spend_by_month AS s (program_id, month, data_center_id, hub, orders, gpu_hours, gross, subsidy, sme_paid)
		VALUES (NEW.program_id, date_trunc('month', NEW.paid_at AT TIME ZONE 'UTC')::date, NEW.data_center_id, NEW.hub,
			1, NEW.gpu_hours, NEW.gross, NEW.subsidy, NEW.sme_share)
		ON CONFLICT (program_id, month, data_center_id, hub) DO UPDATE SET
			orders = s.orders + excluded.orders, gpu_hours = s.gpu_hours + excluded.gpu_hours, gross = s.gross + excluded.gross,
			subsidy = s.subsidy + excluded.subsidy, sme_paid = s.sme_paid + excluded.sme_paid;
	END IF;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "orders_spend_by_month_insert" AFTER INSERT ON "orders" FOR EACH ROW
	WHEN (NEW.status = 'PAID') EXECUTE FUNCTION "spend_by_month_apply"();
--> statement-breakpoint
CREATE TRIGGER "orders_spend_by_month_update" AFTER UPDATE ON "orders" FOR EACH ROW
	WHEN ((OLD.status = 'PAID' OR NEW.status = 'PAID') AND (OLD.status, OLD.program_id, OLD.paid_at, OLD.data_center_id, OLD.hub, OLD.gpu_hours, OLD.gross, OLD.subsidy, OLD.sme_share)
		IS DISTINCT FROM (NEW.status, NEW.program_id, NEW.paid_at, NEW.data_center_id, NEW.hub, NEW.gpu_hours, NEW.gross, NEW.subsidy, NEW.sme_share))
	EXECUTE FUNCTION "spend_by_month_apply"();
--> statement-breakpoint
CREATE TRIGGER "orders_spend_by_month_delete" AFTER DELETE ON "orders" FOR EACH ROW
	WHEN (OLD.status = 'PAID') EXECUTE FUNCTION "spend_by_month_apply"();
--> statement-breakpoint
INSERT INTO "spend_by_month" (program_id, month, data_center_id, hub, orders, gpu_hours, gross, subsidy, sme_paid)
SELECT program_id, date_trunc('month', paid_at AT TIME ZONE 'UTC')::date, data_center_id, hub,
	count(*), sum(gpu_hours), sum(gross), sum(subsidy), sum(sme_share)
FROM "orders" WHERE status = 'PAID' AND program_id IS NOT NULL AND paid_at IS NOT NULL
GROUP BY 1, 2, 3, 4;
