-- Events written in the transaction of the change (docs/events.md, decision 0012). Every change the
-- catalogue names is a row change, so triggers record it: no code path can forget one, a rolled-back
-- change leaves no event, and the hot paths (placeBid, checkout) send no extra statement. Each new
-- event also gets its webhook deliveries (same transaction) and a NOTIFY, sent at commit, that wakes
-- the subscription streams and the delivery workers of every process.

-- Money as the API's Money type: {"amount": "1234.50", "fen": "123450", "currency": "CNY"}.
CREATE FUNCTION "gvm_money"(fen bigint) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object(
		'amount', CASE WHEN fen < 0 THEN '-' ELSE '' END || (abs(fen) / 100)::text || '.' || lpad((abs(fen) % 100)::text, 2, '0'),
		'fen', fen::text,
		'currency', 'CNY')
$$;
--> statement-breakpoint
-- Times as the API answers them: RFC 3339 in UTC with milliseconds.
CREATE FUNCTION "gvm_time"(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
--> statement-breakpoint
CREATE FUNCTION "gvm_record_event"(kind text, org bigint, object text, body jsonb) RETURNS void LANGUAGE sql AS $$
	INSERT INTO events (type, organization_id, object_id, payload) VALUES (kind, org, object, body)
$$;
--> statement-breakpoint
-- A new event: its deliveries to the organization's enabled endpoints that take its type, and a
-- notification (payload: the event id, then ":w" when deliveries were made).
CREATE FUNCTION "events_fan_out"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	made integer;
BEGIN
	INSERT INTO webhook_deliveries (endpoint_id, event_id)
	SELECT e.id, NEW.id FROM webhook_endpoints e
	WHERE e.organization_id = NEW.organization_id AND e.enabled
		AND (cardinality(e.types) = 0 OR NEW.type = ANY (e.types));
	GET DIAGNOSTICS made = ROW_COUNT;
	PERFORM pg_notify('gvm_events', NEW.id::text || CASE WHEN made > 0 THEN ':w' ELSE '' END);
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "events_fan_out" AFTER INSERT ON "events" FOR EACH ROW EXECUTE FUNCTION "events_fan_out"();
--> statement-breakpoint
-- Reservations: bid.matched to the SME and reservation.created to the operator when one is made;
-- reservation.confirmed, reservation.expired and reservation.released as its status moves.
CREATE FUNCTION "reservations_events"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	operator bigint;
	base jsonb;
	object text := 'reservation_' || NEW.id;
BEGIN
	SELECT dc.operator_id INTO operator FROM offers o JOIN data_centers dc ON dc.id = o.data_center_id WHERE o.id = NEW.offer_id;
	base := jsonb_build_object(
		'reservationId', object,
		'offerId', 'offer_' || NEW.offer_id,
		'gpuCount', NEW.gpu_count,
		'startsAt', gvm_time(NEW.starts_at),
		'endsAt', gvm_time(NEW.ends_at),
		'status', NEW.status,
		'total', gvm_money(NEW.price_per_gpu_hour * NEW.gpu_count * (extract(epoch FROM NEW.ends_at - NEW.starts_at) / 3600)::bigint));
	IF TG_OP = 'INSERT' THEN
		PERFORM gvm_record_event('bid.matched', NEW.sme_id, 'bid_' || NEW.bid_id,
			base || jsonb_build_object('bidId', 'bid_' || NEW.bid_id, 'holdExpiresAt', gvm_time(NEW.hold_expires_at)));
		PERFORM gvm_record_event('reservation.created', operator, object,
			base || jsonb_build_object('holdExpiresAt', gvm_time(NEW.hold_expires_at)));
	ELSIF NEW.status = 'CONFIRMED' THEN
		PERFORM gvm_record_event('reservation.confirmed', operator, object, base);
	ELSIF NEW.status IN ('EXPIRED', 'CANCELLED') THEN
		IF NEW.status = 'EXPIRED' THEN
			PERFORM gvm_record_event('reservation.expired', NEW.sme_id, object,
				base || jsonb_build_object('bidId', 'bid_' || NEW.bid_id, 'holdExpiresAt', gvm_time(NEW.hold_expires_at)));
		END IF;
		PERFORM gvm_record_event('reservation.released', operator, object, base);
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "reservations_events_insert" AFTER INSERT ON "reservations" FOR EACH ROW EXECUTE FUNCTION "reservations_events"();
--> statement-breakpoint
CREATE TRIGGER "reservations_events_update" AFTER UPDATE OF "status" ON "reservations" FOR EACH ROW
	WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION "reservations_events"();
--> statement-breakpoint
-- Orders: order.paid, order.payment_failed, order.cancelled, order.refunded to the SME.
CREATE FUNCTION "orders_events"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	kind text := CASE NEW.status WHEN 'PAID' THEN 'order.paid' WHEN 'FAILED' THEN 'order.payment_failed'
		WHEN 'CANCELLED' THEN 'order.cancelled' WHEN 'REFUNDED' THEN 'order.refunded' END;
BEGIN
	IF kind IS NOT NULL THEN
		PERFORM gvm_record_event(kind, NEW.sme_id, 'order_' || NEW.id, jsonb_build_object(
			'orderId', 'order_' || NEW.id,
			'reservationId', 'reservation_' || NEW.reservation_id,
			'status', NEW.status,
			'gross', gvm_money(NEW.gross),
			'subsidy', gvm_money(NEW.subsidy),
			'smeShare', gvm_money(NEW.sme_share),
			'voucherId', CASE WHEN NEW.voucher_id IS NULL THEN NULL ELSE 'voucher_' || NEW.voucher_id END,
			'paidAt', CASE WHEN NEW.paid_at IS NULL THEN NULL ELSE gvm_time(NEW.paid_at) END));
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "orders_events_insert" AFTER INSERT ON "orders" FOR EACH ROW
	WHEN (NEW.status <> 'PENDING_PAYMENT') EXECUTE FUNCTION "orders_events"();
--> statement-breakpoint
CREATE TRIGGER "orders_events_update" AFTER UPDATE OF "status" ON "orders" FOR EACH ROW
	WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION "orders_events"();
--> statement-breakpoint
-- Voucher applications: voucher_application.submitted to the program's finance team.
CREATE FUNCTION "applications_submitted_event"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM gvm_record_event('voucher_application.submitted', p.finance_org_id, 'application_' || NEW.id, jsonb_build_object(
		'applicationId', 'application_' || NEW.id,
		'programId', 'program_' || NEW.program_id,
		'smeId', 'org_' || NEW.sme_id,
		'requestedAmount', gvm_money(NEW.requested_amount),
		'purpose', NEW.purpose))
	FROM subsidy_programs p WHERE p.id = NEW.program_id;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "applications_submitted_event" AFTER INSERT ON "voucher_applications" FOR EACH ROW
	EXECUTE FUNCTION "applications_submitted_event"();
--> statement-breakpoint
-- voucher_application.decided to the SME, at commit (deferred), when the voucher of an approval exists.
CREATE FUNCTION "applications_decided_event"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	granted record;
BEGIN
	SELECT v.id, v.granted_amount, v.valid_until INTO granted FROM vouchers v WHERE v.application_id = NEW.id;
	PERFORM gvm_record_event('voucher_application.decided', NEW.sme_id, 'application_' || NEW.id, jsonb_build_object(
		'applicationId', 'application_' || NEW.id,
		'programId', 'program_' || NEW.program_id,
		'status', NEW.status,
		'decisionReason', NEW.decision_reason,
		'voucherId', CASE WHEN granted.id IS NULL THEN NULL ELSE 'voucher_' || granted.id END,
		'grantedAmount', CASE WHEN granted.id IS NULL THEN NULL ELSE gvm_money(granted.granted_amount) END,
		'validUntil', CASE WHEN granted.id IS NULL THEN NULL ELSE gvm_time(granted.valid_until) END));
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER "applications_decided_event" AFTER UPDATE OF "status" ON "voucher_applications"
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
	WHEN (OLD.status = 'PENDING' AND NEW.status <> 'PENDING') EXECUTE FUNCTION "applications_decided_event"();
--> statement-breakpoint
-- program.budget_threshold to the finance team when 80 %, 95 % or 100 % of the budget is committed
-- (pending + spent), each once: budget_alert_percent, written in the same row, remembers.
CREATE FUNCTION "programs_budget_threshold"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	committed numeric := NEW.budget_total - NEW.available;
	reached integer;
	threshold integer;
BEGIN
	IF NEW.budget_total <= 0 THEN
		RETURN NEW;
	END IF;
	reached := CASE WHEN committed >= NEW.budget_total THEN 100
		WHEN committed * 100 >= NEW.budget_total * 95 THEN 95
		WHEN committed * 100 >= NEW.budget_total * 80 THEN 80 ELSE 0 END;
	IF reached > NEW.budget_alert_percent THEN
		FOREACH threshold IN ARRAY ARRAY[80, 95, 100] LOOP
			IF threshold > NEW.budget_alert_percent AND threshold <= reached THEN
				PERFORM gvm_record_event('program.budget_threshold', NEW.finance_org_id, 'program_' || NEW.id, jsonb_build_object(
					'programId', 'program_' || NEW.id,
					'thresholdPercent', threshold,
					'total', gvm_money(NEW.budget_total),
					'available', gvm_money(NEW.available),
					'pending', gvm_money(NEW.pending),
					'spent', gvm_money(NEW.spent)));
			END IF;
		END LOOP;
		NEW.budget_alert_percent := reached;
	END IF;
	RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "programs_budget_threshold" BEFORE UPDATE OF "available", "pending", "spent", "budget_total" ON "subsidy_programs"
	FOR EACH ROW EXECUTE FUNCTION "programs_budget_threshold"();
