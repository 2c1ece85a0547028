-- The billing calendar (docs/domain.md, "Units and time"): statement months, report months and days,
-- and the annual cap's year are dates in the billing time zone. The zone is kept in billing_calendar
-- (the server sets it to BILLING_TIME_ZONE at start); what the triggers below write follows it.
CREATE FUNCTION "billing_zone"() RETURNS text LANGUAGE sql STABLE AS $$ SELECT time_zone FROM billing_calendar WHERE id $$;
--> statement-breakpoint
-- The day of an order's payment in the billing zone, written once when paid_at is: reports group by
-- it without converting a time zone per row.
CREATE FUNCTION "orders_paid_day"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.paid_day := (NEW.paid_at AT TIME ZONE billing_zone())::date;
	RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER "orders_paid_day_insert" BEFORE INSERT ON "orders" FOR EACH ROW
	WHEN (NEW.paid_at IS NOT NULL) EXECUTE FUNCTION "orders_paid_day"();
--> statement-breakpoint
CREATE TRIGGER "orders_paid_day_update" BEFORE UPDATE OF paid_at ON "orders" FOR EACH ROW
	EXECUTE FUNCTION "orders_paid_day"();
--> statement-breakpoint
-- spend_by_month now sums by the billing month of payment, from paid_day (set by the trigger above,
-- which runs first: BEFORE triggers precede AFTER ones).
CREATE OR REPLACE FUNCTION "spend_by_month_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = 'PAID' AND OLD.program_id IS NOT NULL AND OLD.paid_day IS NOT NULL THEN
		INSERT INTO spend_by_month AS s (program_id, month, data_center_id, hub, orders, gpu_hours, gross, subsidy, sme_paid)
		VALUES (OLD.program_id, date_trunc('month', OLD.paid_day)::date, OLD.data_center_id, OLD.hub,
			-1, -OLD.gpu_hours, -OLD.gross, -OLD.subsidy, -OLD.sme_share)
		ON CONFLICT (program_id, month, data_center_id, hub) DO UPDATE SET
			orders = s.orders + excluded.orders, gpu_hours = s.gpu_hours + excluded.gpu_hours, gross = s.gross + excluded.gross,
			subsidy = s.subsidy + excluded.subsidy, sme_paid = s.sme_paid + excluded.sme_paid;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.status = 'PAID' AND NEW.program_id IS NOT NULL AND NEW.paid_day IS NOT NULL THEN
		INSERT INTO spend_by_month AS s (program_id, month, data_center_id, hub, orders, gpu_hours, gross, subsidy, sme_paid)
		VALUES (NEW.program_id, date_trunc('month', NEW.paid_day)::date, NEW.data_center_id, NEW.hub,
			1, NEW.gpu_hours, NEW.gross, NEW.subsidy, NEW.sme_share)
		ON CONFLICT (program_id, month, data_center_id, hub) DO UPDATE SET
			orders = s.orders + excluded.orders, gpu_hours = s.gpu_hours + excluded.gpu_hours, gross = s.gross + excluded.gross,
			subsidy = s.subsidy + excluded.subsidy, sme_paid = s.sme_paid + excluded.sme_paid;
	END IF;
	RETURN NULL;
END $$;
--> statement-breakpoint
-- The billing days a span [from_at, until_at) covers, with its whole hours in each.
CREATE FUNCTION "billing_days"(from_at timestamptz, until_at timestamptz) RETURNS TABLE(day date, hours bigint)
LANGUAGE sql STABLE AS $$
	SELECT d::date, (extract(epoch FROM least(until_at, (d + interval '1 day') AT TIME ZONE z.tz)
		- greatest(from_at, d AT TIME ZONE z.tz)) / 3600)::bigint
	FROM (SELECT billing_zone() AS tz) z
	CROSS JOIN LATERAL generate_series((from_at AT TIME ZONE z.tz)::date::timestamp,
		((until_at - interval '1 microsecond') AT TIME ZONE z.tz)::date::timestamp, interval '1 day') d
	WHERE until_at > from_at
$$;
--> statement-breakpoint
-- capacity_by_day and its monthly sums capacity_by_month: an offer counts while it is not
-- WITHDRAWN, a reservation while it is CONFIRMED. A data center's days are locked before its months.
-- Each trigger writes the old and new figures in one statement, in day order, so two writers on
-- one data center lock its days in the same order.
CREATE FUNCTION "capacity_offers_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO capacity_by_day AS c (data_center_id, day, hub, offered_gpu_hours, reserved_gpu_hours)
	SELECT m.dc, m.day, d.hub, sum(m.gpu_hours), 0
	FROM (
		SELECT OLD.data_center_id AS dc, s.day, -OLD.gpu_count * s.hours AS gpu_hours
		FROM billing_days(OLD.available_from, OLD.available_until) s
		WHERE TG_OP <> 'INSERT' AND OLD.status <> 'WITHDRAWN'
		UNION ALL
		SELECT NEW.data_center_id, s.day, NEW.gpu_count * s.hours
		FROM billing_days(NEW.available_from, NEW.available_until) s
		WHERE TG_OP <> 'DELETE' AND NEW.status <> 'WITHDRAWN'
	) m JOIN data_centers d ON d.id = m.dc
	GROUP BY m.dc, m.day, d.hub
	ORDER BY m.dc, m.day
	ON CONFLICT (data_center_id, day) DO UPDATE SET offered_gpu_hours = c.offered_gpu_hours + excluded.offered_gpu_hours;
	INSERT INTO capacity_by_month AS c (data_center_id, month, hub, offered_gpu_hours, reserved_gpu_hours)
	SELECT m.dc, m.month, d.hub, sum(m.gpu_hours), 0
	FROM (
		SELECT OLD.data_center_id AS dc, (s.day - extract(day FROM s.day)::int + 1) AS month, -OLD.gpu_count * s.hours AS gpu_hours
		FROM billing_days(OLD.available_from, OLD.available_until) s
		WHERE TG_OP <> 'INSERT' AND OLD.status <> 'WITHDRAWN'
		UNION ALL
		SELECT NEW.data_center_id, (s.day - extract(day FROM s.day)::int + 1), NEW.gpu_count * s.hours
		FROM billing_days(NEW.available_from, NEW.available_until) s
		WHERE TG_OP <> 'DELETE' AND NEW.status <> 'WITHDRAWN'
	) m JOIN data_centers d ON d.id = m.dc
	GROUP BY m.dc, m.month, d.hub
	ORDER BY m.dc, m.month
	ON CONFLICT (data_center_id, month) DO UPDATE SET offered_gpu_hours = c.offered_gpu_hours + excluded.offered_gpu_hours;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "offers_capacity_insert" AFTER INSERT ON "offers" FOR EACH ROW
	WHEN (NEW.status <> 'WITHDRAWN') EXECUTE FUNCTION "capacity_offers_apply"();
--> statement-breakpoint
CREATE TRIGGER "offers_capacity_update" AFTER UPDATE ON "offers" FOR EACH ROW
	WHEN ((OLD.status = 'WITHDRAWN', OLD.data_center_id, OLD.available_from, OLD.available_until, OLD.gpu_count)
		IS DISTINCT FROM (NEW.status = 'WITHDRAWN', NEW.data_center_id, NEW.available_from, NEW.available_until, NEW.gpu_count))
	EXECUTE FUNCTION "capacity_offers_apply"();
--> statement-breakpoint
CREATE TRIGGER "offers_capacity_delete" AFTER DELETE ON "offers" FOR EACH ROW
	WHEN (OLD.status <> 'WITHDRAWN') EXECUTE FUNCTION "capacity_offers_apply"();
--> statement-breakpoint
CREATE FUNCTION "capacity_reservations_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO capacity_by_day AS c (data_center_id, day, hub, offered_gpu_hours, reserved_gpu_hours)
	SELECT m.dc, m.day, d.hub, 0, sum(m.gpu_hours)
	FROM (
		SELECT o.data_center_id AS dc, s.day, -OLD.gpu_count * s.hours AS gpu_hours
		FROM offers o CROSS JOIN LATERAL billing_days(OLD.starts_at, OLD.ends_at) s
		WHERE TG_OP <> 'INSERT' AND OLD.status = 'CONFIRMED' AND o.id = OLD.offer_id
		UNION ALL
		SELECT o.data_center_id, s.day, NEW.gpu_count * s.hours
		FROM offers o CROSS JOIN LATERAL billing_days(NEW.starts_at, NEW.ends_at) s
		WHERE TG_OP <> 'DELETE' AND NEW.status = 'CONFIRMED' AND o.id = NEW.offer_id
	) m JOIN data_centers d ON d.id = m.dc
	GROUP BY m.dc, m.day, d.hub
	ORDER BY m.dc, m.day
	ON CONFLICT (data_center_id, day) DO UPDATE SET reserved_gpu_hours = c.reserved_gpu_hours + excluded.reserved_gpu_hours;
	INSERT INTO capacity_by_month AS c (data_center_id, month, hub, offered_gpu_hours, reserved_gpu_hours)
	SELECT m.dc, m.month, d.hub, 0, sum(m.gpu_hours)
	FROM (
		SELECT o.data_center_id AS dc, (s.day - extract(day FROM s.day)::int + 1) AS month, -OLD.gpu_count * s.hours AS gpu_hours
		FROM offers o CROSS JOIN LATERAL billing_days(OLD.starts_at, OLD.ends_at) s
		WHERE TG_OP <> 'INSERT' AND OLD.status = 'CONFIRMED' AND o.id = OLD.offer_id
		UNION ALL
		SELECT o.data_center_id, (s.day - extract(day FROM s.day)::int + 1), NEW.gpu_count * s.hours
		FROM offers o CROSS JOIN LATERAL billing_days(NEW.starts_at, NEW.ends_at) s
		WHERE TG_OP <> 'DELETE' AND NEW.status = 'CONFIRMED' AND o.id = NEW.offer_id
	) m JOIN data_centers d ON d.id = m.dc
	GROUP BY m.dc, m.month, d.hub
	ORDER BY m.dc, m.month
	ON CONFLICT (data_center_id, month) DO UPDATE SET reserved_gpu_hours = c.reserved_gpu_hours + excluded.reserved_gpu_hours;
	RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER "reservations_capacity_insert" AFTER INSERT ON "reservations" FOR EACH ROW
	WHEN (NEW.status = 'CONFIRMED') EXECUTE FUNCTION "capacity_reservations_apply"();
--> statement-breakpoint
CREATE TRIGGER "reservations_capacity_update" AFTER UPDATE ON "reservations" FOR EACH ROW
	WHEN ((OLD.status = 'CONFIRMED' OR NEW.status = 'CONFIRMED')
		AND (OLD.status, OLD.offer_id, OLD.starts_at, OLD.ends_at, OLD.gpu_count)
			IS DISTINCT FROM (NEW.status, NEW.offer_id, NEW.starts_at, NEW.ends_at, NEW.gpu_count))
	EXECUTE FUNCTION "capacity_reservations_apply"();
--> statement-breakpoint
CREATE TRIGGER "reservations_capacity_delete" AFTER DELETE ON "reservations" FOR EACH ROW
	WHEN (OLD.status = 'CONFIRMED') EXECUTE FUNCTION "capacity_reservations_apply"();
--> statement-breakpoint
-- Moves the database to a billing zone: the days of payments, the monthly spend and the daily
-- capacity are counted again in it. Claim lines stay on the statements they were billed to, and
-- the annual counters keep their years: what was billed is never rewritten.
CREATE FUNCTION "billing_recalendar"(zone text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO billing_calendar (id, time_zone) VALUES (true, zone)
	ON CONFLICT (id) DO UPDATE SET time_zone = excluded.time_zone;
	UPDATE orders SET paid_day = (paid_at AT TIME ZONE zone)::date
	WHERE paid_at IS NOT NULL AND paid_day IS DISTINCT FROM (paid_at AT TIME ZONE zone)::date;
	DELETE FROM spend_by_month;
	INSERT INTO spend_by_month (program_id, month, data_center_id, hub, orders, gpu_hours, gross, subsidy, sme_paid)
	SELECT program_id, date_trunc('month', paid_day)::date, data_center_id, hub,
		count(*), sum(gpu_hours), sum(gross), sum(subsidy), sum(sme_share)
	FROM orders WHERE status = 'PAID' AND program_id IS NOT NULL AND paid_day IS NOT NULL
	GROUP BY 1, 2, 3, 4;
	DELETE FROM capacity_by_day;
	INSERT INTO capacity_by_day (data_center_id, day, hub, offered_gpu_hours, reserved_gpu_hours)
	SELECT m.dc, m.day, d.hub, sum(m.offered), sum(m.reserved)
	FROM (
		SELECT o.data_center_id AS dc, s.day, o.gpu_count * s.hours AS offered, 0 AS reserved
		FROM offers o CROSS JOIN LATERAL billing_days(o.available_from, o.available_until) s
		WHERE o.status <> 'WITHDRAWN'
		UNION ALL
		SELECT o.data_center_id, s.day, 0, r.gpu_count * s.hours
		FROM reservations r JOIN offers o ON o.id = r.offer_id CROSS JOIN LATERAL billing_days(r.starts_at, r.ends_at) s
		WHERE r.status = 'CONFIRMED'
	) m JOIN data_centers d ON d.id = m.dc
	GROUP BY m.dc, m.day, d.hub;
	DELETE FROM capacity_by_month;
	INSERT INTO capacity_by_month (data_center_id, month, hub, offered_gpu_hours, reserved_gpu_hours)
	SELECT data_center_id, day - extract(day FROM day)::int + 1, hub, sum(offered_gpu_hours), sum(reserved_gpu_hours)
	FROM capacity_by_day GROUP BY 1, 2, 3;
END $$;
--> statement-breakpoint
-- Existing data: the days of past payments and the sums are counted in Asia/Shanghai from now on.
-- Claim lines already billed keep their statement (a payment at 2026-11-30T16:30Z stays on
-- November's, though its billing day is 1 December).
SELECT billing_recalendar('Asia/Shanghai');
