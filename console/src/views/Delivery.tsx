// What a data center delivered of an ended rental: reported by its operator (GPU-hours delivered,
// and the outage behind any missing ones), disputed by the SME before the deadline. The credit for
// undelivered GPU-hours is the API's business once the delivery is final.
import { useState, type FormEvent } from "react";
import { gql } from "../api.js";
import { chinaInputToIso, isoToChinaInput } from "../format.js";
import {
  DeliveryDocument,
  DisputeDeliveryDocument,
  ReportDeliveryDocument,
  type DeliveryRowFragment,
} from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { ErrorBox, Field, Loading, Notice, Status, useAction, useLoad } from "../ui.js";

export interface Rental {
  id: string;
  gpuCount: number;
  startsAt: string;
  endsAt: string;
}

/** Whether the rental has ended (by this browser's clock; the API decides in the end). */
export const ended = (rental: { endsAt: string }) => new Date(rental.endsAt).getTime() <= Date.now();

function useDelivery(reservationId: string) {
  const loaded = useLoad(() => gql(DeliveryDocument, { reservationId }).then((d) => d.delivery), [reservationId]);
  const [changed, setChanged] = useState<DeliveryRowFragment | null>(null);
  return { loaded, delivery: changed ?? loaded.data ?? null, setChanged };
}

function Summary({ delivery }: { delivery: DeliveryRowFragment }) {
  const texts = useTexts();
  const { t } = texts;
  return (
    <p>
      <Status prefix="deliveryStatus" code={delivery.status} />{" "}
      {t("delivery.figures", {
        delivered: texts.number(delivery.deliveredGpuHours),
        booked: texts.number(delivery.bookedGpuHours),
      })}
      {delivery.status !== "FINAL" &&
        ` · ${t("delivery.deadline", { deadline: texts.dateTime(delivery.reportDeadline) })}`}
    </p>
  );
}

/** The operator's report of one ended rental. */
export function ReportDelivery({ rental }: { rental: Rental }) {
  const texts = useTexts();
  const { t } = texts;
  const { loaded, delivery, setChanged } = useDelivery(rental.id);
  const booked = delivery?.bookedGpuHours ?? 0;
  const [delivered, setDelivered] = useState<string>("");
  const [outage, setOutage] = useState({ from: isoToChinaInput(rental.startsAt), to: "", gpus: "1" });
  const action = useAction();
  const count = delivered === "" ? booked : Number(delivered);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const outages =
      count < booked
        ? [{ from: chinaInputToIso(outage.from), to: chinaInputToIso(outage.to), gpus: Number(outage.gpus) }]
        : [];
    const result = await action.run(() =>
      gql(ReportDeliveryDocument, { reservationId: rental.id, input: { deliveredGpuHours: count, outages } }),
    );
    if (result) setChanged(result.reportDelivery);
  };
  const label = t("delivery.rental", {
    id: rental.id,
    period: `${texts.dateTime(rental.startsAt)} – ${texts.dateTime(rental.endsAt)}`,
  });
  return (
    <div className="card delivery" role="group" aria-label={label}>
      <h3>{label}</h3>
      <Loading loaded={loaded} />
      {delivery && <Summary delivery={delivery} />}
      {delivery?.status === "AWAITING_REPORT" && (
        <form onSubmit={submit}>
          <div className="grid">
            <Field label={t("delivery.delivered")} hint={t("delivery.bookedHint", { booked: texts.number(booked) })}>
              {(id) => (
                <input
                  id={id}
                  type="number"
                  min={0}
                  max={booked}
                  required
                  value={delivered === "" ? String(booked) : delivered}
                  onChange={(e) => setDelivered(e.target.value)}
                />
              )}
            </Field>
          </div>
          {count < booked && (
            <fieldset>
              <legend>{t("delivery.outage", { missing: texts.number(booked - count) })}</legend>
              <div className="grid">
                <Field label={t("delivery.outageFrom")} hint={t("common.wholeHour")}>
                  {(id) => (
                    <input
                      id={id}
                      type="datetime-local"
                      step={3600}
                      required
                      value={outage.from}
                      onChange={(e) => setOutage({ ...outage, from: e.target.value })}
                    />
                  )}
                </Field>
                <Field label={t("delivery.outageTo")} hint={t("common.wholeHour")}>
                  {(id) => (
                    <input
                      id={id}
                      type="datetime-local"
                      step={3600}
                      required
                      value={outage.to}
                      onChange={(e) => setOutage({ ...outage, to: e.target.value })}
                    />
                  )}
                </Field>
                <Field label={t("delivery.outageGpus")}>
                  {(id) => (
                    <input
                      id={id}
                      type="number"
                      min={1}
                      max={rental.gpuCount}
                      required
                      value={outage.gpus}
                      onChange={(e) => setOutage({ ...outage, gpus: e.target.value })}
                    />
                  )}
                </Field>
              </div>
            </fieldset>
          )}
          <button type="submit" className="primary" disabled={action.busy}>
            {t("delivery.report")}
          </button>
        </form>
      )}
      {delivery?.status === "REPORTED" && delivery.reportedAt && <Notice>{t("delivery.reported")}</Notice>}
      <ErrorBox error={action.error} />
    </div>
  );
}

/** The SME's dispute of one ended rental's delivery, before the deadline. */
export function DisputeDelivery({ rental, orderId }: { rental: Rental; orderId: string }) {
  const texts = useTexts();
  const { t } = texts;
  const { loaded, delivery, setChanged } = useDelivery(rental.id);
  const [reason, setReason] = useState("");
  const action = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await action.run(() =>
      gql(DisputeDeliveryDocument, { reservationId: rental.id, reason: reason.trim() }),
    );
    if (result) setChanged(result.disputeDelivery);
  };
  const label = t("delivery.order", {
    id: orderId,
    period: `${texts.dateTime(rental.startsAt)} – ${texts.dateTime(rental.endsAt)}`,
  });
  const open = delivery && (delivery.status === "AWAITING_REPORT" || delivery.status === "REPORTED");
  return (
    <div className="card delivery" role="group" aria-label={label}>
      <h3>{label}</h3>
      <Loading loaded={loaded} />
      {delivery && <Summary delivery={delivery} />}
      {open && (
        <form onSubmit={submit}>
          <Field label={t("delivery.reason")} hint={t("delivery.reasonHint")}>
            {(id) => (
              <textarea
                id={id}
                required
                maxLength={1000}
                rows={2}
                value={reason}
                onChange={(e) => setReason(e.target.value)}
              />
            )}
          </Field>
          <button type="submit" disabled={action.busy || reason.trim() === ""}>
            {t("delivery.dispute")}
          </button>
        </form>
      )}
      {delivery?.status === "DISPUTED" && <Notice>{t("delivery.disputed")}</Notice>}
      <ErrorBox error={action.error} />
    </div>
  );
}
