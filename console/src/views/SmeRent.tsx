// Renting: the bid form with a live estimate of the voucher's share, the bid's status followed
// live (the bidUpdated subscription, or polling when the WebSocket cannot connect) with the hold's countdown,
// the exact quote and checkout with a voucher, and the SME's bids.
import { lazy, Suspense, useEffect, useMemo, useState, type FormEvent } from "react";
import { gql } from "../api.js";
import { follow, type LiveMode } from "../live.js";
import { HUBS, hashParams, useCatalog } from "../catalog.js";
import { chinaInputToIso, fenToInput, formatCountdown, hoursFromNow, isoToChinaInput, parseYuan } from "../format.js";
import {
  BidDocument,
  BidUpdatedDocument,
  BidsDocument,
  CancelBidDocument,
  CheckoutDocument,
  OrderDocument,
  OrderUpdatedDocument,
  PaymentConfigurationDocument,
  PlaceBidDocument,
  QuoteDocument,
  VouchersDocument,
  type BidRowFragment,
  type OrderRowFragment,
  type VouchersQuery,
} from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { Confirm, ErrorBox, Field, Loading, Notice, Status, TableBox, useAction, useLoad } from "../ui.js";

type Voucher = VouchersQuery["myVouchers"][number];

const POLL_MS = 3000;

/** What the voucher would pay at the bid's maximum price: the program's rule, in fen, with BigInt. */
export function estimateSubsidy(
  voucher: Voucher,
  domestic: boolean,
  gpuCount: number,
  hours: number,
  priceFen: bigint,
): { gross: bigint; subsidy: bigint } {
  const program = voucher.program;
  const ceiling = program.maxSubsidizedPricePerGpuHour ? BigInt(program.maxSubsidizedPricePerGpuHour.fen) : null;
  const unit = ceiling !== null && ceiling < priceFen ? ceiling : priceFen;
  const units = BigInt(gpuCount) * BigInt(hours);
  const rate = BigInt(
    domestic && program.domesticRateBasisPoints != null ? program.domesticRateBasisPoints : program.rateBasisPoints,
  );
  let subsidy = (units * unit * rate) / 10000n;
  const remaining = BigInt(voucher.remaining.fen);
  if (subsidy > remaining) subsidy = remaining;
  if (program.perOrderCap && subsidy > BigInt(program.perOrderCap.fen)) subsidy = BigInt(program.perOrderCap.fen);
  return { gross: units * priceFen, subsidy };
}

export function SmeRent() {
  const { t } = useTexts();
  const vouchers = useLoad(
    () => gql(VouchersDocument).then((d) => d.myVouchers.filter((v) => v.status === "ACTIVE")),
    [],
  );
  const bids = useLoad(() => gql(BidsDocument, { first: 20 }).then((d) => d.myBids), []);
  const [activeId, setActiveId] = useState<string | null>(null);
  return (
    <div className="two">
      <section aria-labelledby="bid-form">
        <h2 id="bid-form">{t("rent.newBid")}</h2>
        <BidForm
          vouchers={vouchers.data ?? []}
          onPlaced={(bid) => {
            setActiveId(bid.id);
            bids.reload();
          }}
        />
      </section>
      <section aria-labelledby="bid-status">
        <h2 id="bid-status">{t("rent.yourBid")}</h2>
        {activeId ? (
          <ActiveBid key={activeId} id={activeId} vouchers={vouchers.data ?? []} onChanged={bids.reload} />
        ) : (
          <p className="muted">{t("rent.noActive")}</p>
        )}
      </section>
      <section aria-labelledby="bid-list" className="wide">
        <h2 id="bid-list">{t("rent.myBids")}</h2>
        <Loading loaded={bids} />
        {bids.data && <BidTable bids={bids.data.edges.map((e) => e.node)} onOpen={setActiveId} />}
      </section>
    </div>
  );
}

function BidForm({ vouchers, onPlaced }: { vouchers: Voucher[]; onPlaced(bid: BidRowFragment): void }) {
  const texts = useTexts();
  const { t } = texts;
  const catalog = useCatalog();
  const params = useMemo(hashParams, []);
  const startFrom = params.get("from");
  const [form, setForm] = useState({
    gpuModel: params.get("model") ?? "H800",
    gpuCount: "8",
    hours: "24",
    earliestStart:
      startFrom && new Date(startFrom).getTime() > Date.now() ? isoToChinaInput(startFrom) : hoursFromNow(24),
    latestEnd: "",
    maxPrice: params.get("price") ?? "30.00",
    voucherId: "",
  });
  const [hubs, setHubs] = useState<string[]>(params.get("hub") ? [params.get("hub")!] : []);
  const action = useAction();
  const latestEnd =
    form.latestEnd ||
    (form.earliestStart
      ? isoToChinaInput(
          new Date(new Date(chinaInputToIso(form.earliestStart)).getTime() + 7 * 86_400_000).toISOString(),
        )
      : "");
  const set = (name: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [name]: e.target.value });

  const gpuCount = Number(form.gpuCount);
  const hours = Number(form.hours);
  const price = parseYuan(form.maxPrice);
  const model = catalog.data?.gpuModels.find((m) => m.name === form.gpuModel);
  const voucher = vouchers.find((v) => v.id === form.voucherId) ?? vouchers[0];
  const readable = Number.isInteger(gpuCount) && gpuCount > 0 && Number.isInteger(hours) && hours > 0 && price !== null;
  const estimate =
    readable && voucher && model ? estimateSubsidy(voucher, model.domestic, gpuCount, hours, price!) : null;
  const hubsOutside =
    voucher &&
    voucher.program.eligibleHubs.length > 0 &&
    (hubs.length === 0 || hubs.some((h) => !voucher.program.eligibleHubs.includes(h)));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!readable) return;
    const bid = await action.run(() =>
      gql(PlaceBidDocument, {
        input: {
          gpuModel: form.gpuModel,
          gpuCount,
          hours,
          earliestStart: chinaInputToIso(form.earliestStart),
          latestEnd: chinaInputToIso(latestEnd),
          maxPricePerGpuHour: fenToInput(price!),
          hubs,
        },
      }),
    );
    if (bid) onPlaced(bid.placeBid);
  };
  return (
    <form className="card" onSubmit={submit}>
      <div className="grid">
        <Field label={t("common.gpuModel")}>
          {(id) => (
            <select id={id} value={form.gpuModel} onChange={set("gpuModel")} required>
              {catalog.data?.gpuModels.map((m) => (
                <option key={m.id} value={m.name}>
                  {m.name}
                </option>
              )) ?? <option value={form.gpuModel}>{form.gpuModel}</option>}
            </select>
          )}
        </Field>
        <Field label={t("common.gpus")}>
          {(id) => <input id={id} type="number" min={1} required value={form.gpuCount} onChange={set("gpuCount")} />}
        </Field>
        <Field label={t("rent.hours")}>
          {(id) => <input id={id} type="number" min={1} required value={form.hours} onChange={set("hours")} />}
        </Field>
        <Field label={t("rent.maxPrice")} hint={t("common.yuanHint")}>
          {(id) => <input id={id} inputMode="decimal" required value={form.maxPrice} onChange={set("maxPrice")} />}
        </Field>
        <Field label={t("rent.earliestStart")} hint={t("common.wholeHour")}>
          {(id) => (
            <input
              id={id}
              type="datetime-local"
              step={3600}
              required
              value={form.earliestStart}
              onChange={set("earliestStart")}
            />
          )}
        </Field>
        <Field label={t("rent.latestEnd")} hint={t("common.wholeHour")}>
          {(id) => (
            <input
              id={id}
              type="datetime-local"
              step={3600}
              required
              value={latestEnd}
              onChange={(e) => setForm({ ...form, latestEnd: e.target.value })}
            />
          )}
        </Field>
      </div>
      <fieldset className="hubs">
        <legend>{t("rent.hubs")}</legend>
        {HUBS.map((hub) => (
          <label key={hub}>
            <input
              type="checkbox"
              checked={hubs.includes(hub)}
              onChange={(e) => setHubs(e.target.checked ? [...hubs, hub] : hubs.filter((h) => h !== hub))}
            />{" "}
            {hub}
          </label>
        ))}
      </fieldset>
      {vouchers.length > 0 && (
        <Field label={t("rent.voucherForEstimate")}>
          {(id) => (
            <select id={id} value={voucher?.id} onChange={set("voucherId")}>
              {vouchers.map((v) => (
                <option key={v.id} value={v.id}>
                  {v.program.name} · {texts.money(v.remaining)}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      <div className="estimate" aria-live="polite">
        {estimate ? (
          <>
            <p>
              {t("rent.estimateGross")}: <strong>{texts.fen(estimate.gross)}</strong>
            </p>
            <p>
              {t("rent.estimateSubsidy")}: <strong data-testid="estimate-subsidy">{texts.fen(estimate.subsidy)}</strong>{" "}
              · {t("rent.estimateYours")}: <strong>{texts.fen(estimate.gross - estimate.subsidy)}</strong>
            </p>
            <small className="muted">{t("rent.estimateNote")}</small>
            {hubsOutside && (
              <p className="warn">{t("rent.hubsOutside", { hubs: voucher!.program.eligibleHubs.join(", ") })}</p>
            )}
          </>
        ) : (
          <small className="muted">{vouchers.length ? t("rent.estimateNeedsInput") : t("rent.noVoucher")}</small>
        )}
      </div>
      <button type="submit" className="primary" disabled={action.busy || !readable}>
        {t("rent.place")}
      </button>
      <ErrorBox error={action.error} />
    </form>
  );
}

/** The bid just placed or chosen: followed live until it is settled one way or another. */
function ActiveBid({ id, vouchers, onChanged }: { id: string; vouchers: Voucher[]; onChanged(): void }) {
  const texts = useTexts();
  const { t } = texts;
  const [bid, setBid] = useState<BidRowFragment | null>(null);
  const [error, setError] = useState<unknown>();
  const [order, setOrder] = useState<OrderRowFragment | null>(null);
  const [now, setNow] = useState(Date.now());
  const [mode, setMode] = useState<LiveMode>("connecting");
  const held = bid?.reservation?.status === "HELD";
  const live = !order && (bid?.status === "OPEN" || held || !bid);

  // Followed over the WebSocket while it can still change; polled when the socket cannot connect.
  useEffect(() => {
    if (!live) return;
    return follow(
      BidUpdatedDocument,
      { id },
      {
        onData: (data) => (setBid(data.bidUpdated), setError(undefined)),
        onMode: setMode,
        onError: setError,
        poll: async () => {
          const { bid: next } = await gql(BidDocument, { id });
          setBid(next);
          setError(undefined);
        },
        pollMs: POLL_MS,
      },
    );
  }, [id, live]);
  useEffect(() => {
    if (!held) return;
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, [held]);

  if (!bid) return error ? <ErrorBox error={error} /> : <p className="muted">{t("common.loading")}</p>;
  const reservation = bid.reservation;
  const secondsLeft = reservation ? (new Date(reservation.holdExpiresAt).getTime() - now) / 1000 : 0;
  return (
    <div className="card" data-testid="active-bid">
      <p>
        <strong>
          {bid.gpuModel.name} × {bid.gpuCount} · {t("rent.hoursCount", { hours: bid.hours })}
        </strong>{" "}
        <Status prefix="bidStatus" code={bid.status} />
      </p>
      {bid.status === "OPEN" && <p role="status">{t("rent.waiting")}</p>}
      {live && (
        <p className="muted live" data-testid="live-mode">
          {t(`live.${mode}`)}
        </p>
      )}
      {reservation && (
        <dl className="pairs">
          <dt>{t("common.dataCenter")}</dt>
          <dd>
            {reservation.offer.dataCenter.name} ({reservation.offer.dataCenter.hub})
          </dd>
          <dt>{t("rent.period")}</dt>
          <dd>
            {texts.dateTime(reservation.startsAt)} – {texts.dateTime(reservation.endsAt)}
          </dd>
          <dt>{t("common.pricePerGpuHour")}</dt>
          <dd>{texts.money(reservation.pricePerGpuHour)}</dd>
          <dt>{t("rent.total")}</dt>
          <dd>{texts.money(reservation.total)}</dd>
          <dt>{t("rent.reservation")}</dt>
          <dd>
            <Status prefix="reservationStatus" code={reservation.status} />
          </dd>
        </dl>
      )}
      {held && !order && secondsLeft > 0 && (
        <p className="countdown" role="timer" aria-live="off">
          {t("rent.holdLeft")}: <strong>{formatCountdown(secondsLeft)}</strong>
        </p>
      )}
      {held && !order && secondsLeft <= 0 && (
        <div className="error" role="alert">
          <strong>{t("error.holdLapsed")}</strong>
          <p>{t("error.next.holdLapsed")}</p>
        </div>
      )}
      {held && !order && secondsLeft > 0 && reservation && (
        <CheckoutPanel
          reservationId={reservation.id}
          vouchers={vouchers}
          onOrdered={(o) => (setOrder(o), onChanged())}
          onCancelled={onChanged}
          bidId={bid.id}
        />
      )}
      {order && <OrderResult order={order} />}
      <ErrorBox error={error} />
    </div>
  );
}

function CheckoutPanel({
  reservationId,
  bidId,
  vouchers,
  onOrdered,
  onCancelled,
}: {
  reservationId: string;
  bidId: string;
  vouchers: Voucher[];
  onOrdered(order: OrderRowFragment): void;
  onCancelled(): void;
}) {
  const texts = useTexts();
  const { t } = texts;
  const [voucherId, setVoucherId] = useState(vouchers[0]?.id ?? "");
  const quote = useLoad(
    () => gql(QuoteDocument, { reservationId, voucherId: voucherId || null }).then((d) => d.quote),
    [reservationId, voucherId],
  );
  const action = useAction();
  const [confirmCancel, setConfirmCancel] = useState(false);
  const checkout = async () => {
    const result = await action.run(() =>
      gql(CheckoutDocument, {
        // One key per reservation and voucher: a retry after a lost answer returns the same order.
        input: {
          reservationId,
          voucherId: voucherId || null,
          idempotencyKey: `console-${reservationId}-${voucherId || "none"}`,
        },
      }),
    );
    if (result) onOrdered(result.checkout);
  };
  const cancel = async () => {
    setConfirmCancel(false);
    if (await action.run(() => gql(CancelBidDocument, { id: bidId }))) onCancelled();
  };
  return (
    <div className="checkout">
      <Field label={t("rent.payWith")}>
        {(id) => (
          <select id={id} value={voucherId} onChange={(e) => setVoucherId(e.target.value)}>
            {vouchers.map((v) => (
              <option key={v.id} value={v.id}>
                {v.program.name} · {t("vouchers.remaining")} {texts.money(v.remaining)}
              </option>
            ))}
            <option value="">{t("rent.noVoucherOption")}</option>
          </select>
        )}
      </Field>
      {quote.error ? (
        <ErrorBox error={quote.error} />
      ) : (
        quote.data && (
          <dl className="pairs quote" aria-live="polite">
            <dt>{t("rent.gross")}</dt>
            <dd>{texts.money(quote.data.gross)}</dd>
            <dt>{t("rent.subsidy")}</dt>
            <dd data-testid="quote-subsidy">{texts.money(quote.data.subsidy)}</dd>
            <dt>{t("rent.smeShare")}</dt>
            <dd>
              <strong>{texts.money(quote.data.smeShare)}</strong>
            </dd>
          </dl>
        )
      )}
      <div className="actions">
        <button type="button" className="primary" disabled={action.busy || Boolean(quote.error)} onClick={checkout}>
          {t("rent.checkout")}
        </button>
        <button type="button" onClick={() => setConfirmCancel(true)} disabled={action.busy}>
          {t("rent.cancelBid")}
        </button>
      </div>
      <ErrorBox error={action.error} />
      <Confirm
        open={confirmCancel}
        title={t("rent.cancelBid")}
        body={<p>{t("rent.cancelBidBody")}</p>}
        confirmLabel={t("rent.cancelBid")}
        onConfirm={cancel}
        onCancel={() => setConfirmCancel(false)}
      />
    </div>
  );
}

// The card form and Stripe.js: loaded only when a payment waits on a server with Stripe.
const StripePay = lazy(() => import("./StripePay.js").then((m) => ({ default: m.StripePay })));

/** The order checkout made: paid at once (simulated payments), or waiting for the card payment (Stripe). */
export function OrderResult({ order: made }: { order: OrderRowFragment }) {
  const texts = useTexts();
  const { t } = texts;
  const [order, setOrder] = useState(made);
  const pending = order.status === "PENDING_PAYMENT";
  const payments = useLoad(
    () => (pending ? gql(PaymentConfigurationDocument).then((d) => d.paymentConfiguration) : Promise.resolve(null)),
    [pending],
  );
  // A pending payment is followed until Stripe's webhook settles it.
  useEffect(() => {
    if (!pending) return;
    return follow(
      OrderUpdatedDocument,
      { id: order.id },
      {
        onData: (data) => setOrder(data.orderUpdated),
        onMode: () => undefined,
        onError: () => undefined,
        poll: async () => {
          const { order: next } = await gql(OrderDocument, { id: order.id });
          if (next) setOrder(next);
        },
        pollMs: POLL_MS,
      },
    );
  }, [order.id, pending]);
  const publishableKey = payments.data?.provider === "stripe" ? payments.data.publishableKey : null;
  return (
    <div className="order-result" data-testid="order-result">
      {order.status === "PAID" ? (
        <Notice>
          {t("rent.paid", { id: order.id, share: texts.money(order.smeShare), subsidy: texts.money(order.subsidy) })}
        </Notice>
      ) : pending && publishableKey && order.payment.clientSecret ? (
        <>
          <p>{t("stripe.intro", { id: order.id, share: texts.money(order.smeShare) })}</p>
          <Suspense fallback={<p className="muted">{t("common.loading")}</p>}>
            <StripePay
              publishableKey={publishableKey}
              clientSecret={order.payment.clientSecret}
              amount={texts.money(order.smeShare)}
              onSent={() => undefined}
            />
          </Suspense>
        </>
      ) : pending ? (
        <Notice>
          {t("rent.pendingPayment", {
            id: order.id,
            share: texts.money(order.smeShare),
            provider: order.payment.provider,
          })}
        </Notice>
      ) : (
        <p>
          <Status prefix="orderStatus" code={order.status} />
        </p>
      )}
    </div>
  );
}

function BidTable({ bids, onOpen }: { bids: BidRowFragment[]; onOpen(id: string): void }) {
  const texts = useTexts();
  const { t } = texts;
  if (bids.length === 0) return <p>{t("rent.noBids")}</p>;
  return (
    <TableBox label={t("rent.myBids")}>
      <thead>
        <tr>
          <th scope="col">{t("rent.placed")}</th>
          <th scope="col">{t("common.gpuModel")}</th>
          <th scope="col" className="num">
            {t("common.gpus")}
          </th>
          <th scope="col" className="num">
            {t("rent.hours")}
          </th>
          <th scope="col" className="num">
            {t("rent.maxPrice")}
          </th>
          <th scope="col">{t("common.status")}</th>
          <th scope="col">{t("common.dataCenter")}</th>
          <th scope="col">
            <span className="sr-only">{t("common.actions")}</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {bids.map((b) => (
          <tr key={b.id}>
            <td>{texts.dateTime(b.createdAt)}</td>
            <td>{b.gpuModel.name}</td>
            <td className="num">{texts.number(b.gpuCount)}</td>
            <td className="num">{texts.number(b.hours)}</td>
            <td className="num">{texts.money(b.maxPricePerGpuHour)}</td>
            <td>
              <Status prefix="bidStatus" code={b.status} />
              {b.reservation && (
                <>
                  {" · "}
                  <Status prefix="reservationStatus" code={b.reservation.status} />
                </>
              )}
            </td>
            <td>{b.reservation?.offer.dataCenter.name ?? "—"}</td>
            <td>
              <button type="button" onClick={() => onOpen(b.id)}>
                {t("rent.open")}
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </TableBox>
  );
}
