// The SME's orders: the split of each, and cancel (before payment) or refund (after) until the
// rental starts, after a confirmation.
import { useState } from "react";
import { gql } from "../api.js";
import { DisputeDelivery, ended } from "./Delivery.js";
import { CancelOrderDocument, OrdersDocument, type OrderRowFragment } from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { Confirm, ErrorBox, Loading, Notice, Status, TableBox, useAction, useLoad } from "../ui.js";

export function SmeOrders() {
  const texts = useTexts();
  const { t } = texts;
  const orders = useLoad(() => gql(OrdersDocument, { first: 50 }).then((d) => d.myOrders), []);
  const [cancelling, setCancelling] = useState<OrderRowFragment | null>(null);
  const [done, setDone] = useState("");
  const action = useAction();
  const cancel = async () => {
    const order = cancelling!;
    setCancelling(null);
    const result = await action.run(() => gql(CancelOrderDocument, { id: order.id }));
    if (result) {
      setDone(t(result.cancelOrder.status === "REFUNDED" ? "orders.refunded" : "orders.cancelled", { id: order.id }));
      orders.reload();
    }
  };
  const cancellable = (o: OrderRowFragment) =>
    (o.status === "PAID" || o.status === "PENDING_PAYMENT") && new Date(o.reservation.startsAt).getTime() > Date.now();
  // Paid rentals that have ended: their delivery, and a dispute while it is open.
  const endedOrders = (orders.data?.edges.map((e) => e.node) ?? []).filter(
    (o) => o.status === "PAID" && ended(o.reservation),
  );
  return (
    <>
      <Loading loaded={orders} />
      {done && <Notice>{done}</Notice>}
      <ErrorBox error={action.error} />
      {orders.data && orders.data.totalCount === 0 && <p>{t("orders.none")}</p>}
      {orders.data && orders.data.totalCount > 0 && (
        <TableBox label={t("nav.orders")}>
          <thead>
            <tr>
              <th scope="col">{t("orders.order")}</th>
              <th scope="col">{t("common.status")}</th>
              <th scope="col">{t("common.gpuModel")}</th>
              <th scope="col">{t("common.dataCenter")}</th>
              <th scope="col">{t("rent.period")}</th>
              <th scope="col" className="num">
                {t("rent.gross")}
              </th>
              <th scope="col" className="num">
                {t("rent.subsidy")}
              </th>
              <th scope="col" className="num">
                {t("rent.smeShare")}
              </th>
              <th scope="col">
                <span className="sr-only">{t("common.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {orders.data.edges.map(({ node: o }) => (
              <tr key={o.id}>
                <td>
                  <code>{o.id}</code>
                  <br />
                  <small className="muted">{texts.dateTime(o.paidAt ?? o.createdAt)}</small>
                </td>
                <td>
                  <Status prefix="orderStatus" code={o.status} />
                </td>
                <td>
                  {o.reservation.offer.gpuModel.name} × {o.reservation.gpuCount}
                </td>
                <td>
                  {o.reservation.offer.dataCenter.name}
                  <br />
                  <small className="muted">{o.reservation.offer.dataCenter.hub}</small>
                </td>
                <td>
                  {texts.dateTime(o.reservation.startsAt)} – {texts.dateTime(o.reservation.endsAt)}
                </td>
                <td className="num">{texts.money(o.gross)}</td>
                <td className="num">{texts.money(o.subsidy)}</td>
                <td className="num">{texts.money(o.smeShare)}</td>
                <td>
                  {cancellable(o) && (
                    <button type="button" className="danger" onClick={() => setCancelling(o)}>
                      {t(o.status === "PAID" ? "orders.refund" : "orders.cancel")}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </TableBox>
      )}
      {endedOrders.length > 0 && (
        <section aria-labelledby="deliveries">
          <h2 id="deliveries">{t("delivery.title")}</h2>
          {endedOrders.map((o) => (
            <DisputeDelivery key={o.id} orderId={o.id} rental={o.reservation} />
          ))}
        </section>
      )}
      <Confirm
        open={cancelling !== null}
        title={t(cancelling?.status === "PAID" ? "orders.refund" : "orders.cancel")}
        body={
          cancelling && (
            <p>
              {t(cancelling.status === "PAID" ? "orders.refundBody" : "orders.cancelBody", {
                id: cancelling.id,
                share: texts.money(cancelling.smeShare),
                subsidy: texts.money(cancelling.subsidy),
              })}
            </p>
          )
        }
        confirmLabel={t(cancelling?.status === "PAID" ? "orders.refund" : "orders.cancel")}
        onConfirm={cancel}
        onCancel={() => setCancelling(null)}
      />
    </>
  );
}
