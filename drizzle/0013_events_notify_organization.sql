-- The notification of a new event names its organization too (payload: the event id, the
-- organization's id, then ":w" when deliveries were made), so a process's stream reads the outbox
-- only for events one of its subscriptions can receive: idle subscriptions of organizations where
-- nothing happens cost no read (docs/decisions/0012).
CREATE OR REPLACE FUNCTION "events_fan_out"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	made integer;
BEGIN
	INSERT INTO webhook_deliveries (endpoint_id, event_id)
	SELECT e.id, NEW.id FROM webhook_endpoints e
	WHERE e.organization_id = NEW.organization_id AND e.enabled
		AND (cardinality(e.types) = 0 OR NEW.type = ANY (e.types));
	GET DIAGNOSTICS made = ROW_COUNT;
	PERFORM pg_notify('gvm_events', NEW.id::text || ':' || NEW.organization_id::text || CASE WHEN made > 0 THEN ':w' ELSE '' END);
	RETURN NULL;
END
$$;
