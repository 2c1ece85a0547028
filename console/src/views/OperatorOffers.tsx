// The operator's offers: a table with filters, publish, change price / GPU count / end, pause
// and resume, withdraw (after a confirmation), and each offer's reservations.
import { useState, type FormEvent } from "react";
import { gql } from "../api.js";
import type { Viewer } from "../App.js";
import { useCatalog } from "../catalog.js";
import { ReportDelivery, ended } from "./Delivery.js";
import { chinaInputToIso, fenToInput, hoursFromNow, isoToChinaInput, parseYuan } from "../format.js";
import {
  MyOffersDocument,
  PublishDocument,
  ReservationsDocument,
  UpdateOfferDocument,
  WithdrawDocument,
  type MyOffersQuery,
  type OfferStatus,
  type UpdateOfferInput,
} from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { Confirm, ErrorBox, Field, Loading, Notice, Status, TableBox, useAction, useLoad } from "../ui.js";

type Offer = MyOffersQuery["myOffers"]["edges"][number]["node"];

/** All the operator's offers, newest first (pages of 100 until the end, at most 1,000). */
async function loadOffers(): Promise<{ offers: Offer[]; total: number }> {
  const offers: Offer[] = [];
  let after: string | null = null;
  for (let page = 0; page < 10; page++) {
    const { myOffers }: MyOffersQuery = await gql(MyOffersDocument, { first: 100, after });
    offers.push(...myOffers.edges.map((e) => e.node));
    if (!myOffers.pageInfo.hasNextPage) return { offers, total: myOffers.totalCount };
    after = myOffers.pageInfo.endCursor ?? null;
  }
  return { offers, total: offers.length };
}

export function OperatorOffers({ viewer }: { viewer: Viewer }) {
  const texts = useTexts();
  const { t } = texts;
  const catalog = useCatalog();
  const offers = useLoad(loadOffers, []);
  const [status, setStatus] = useState<OfferStatus | "">("");
  const [dataCenter, setDataCenter] = useState("");
  const [model, setModel] = useState("");
  const [open, setOpen] = useState<string | null>(null);
  const mine = (catalog.data?.dataCenters ?? []).filter((d) => d.operator.id === viewer.organization?.id);
  const shown = (offers.data?.offers ?? []).filter(
    (o) =>
      (!status || o.status === status) &&
      (!dataCenter || o.dataCenter.id === dataCenter) &&
      (!model || o.gpuModel.name === model),
  );
  return (
    <>
      <section aria-labelledby="publish">
        <h2 id="publish">{t("operator.publish")}</h2>
        <PublishForm
          dataCenters={mine}
          models={catalog.data?.gpuModels.map((m) => m.name) ?? []}
          onPublished={offers.reload}
        />
      </section>
      <section aria-labelledby="offers">
        <h2 id="offers">{t("operator.offers")}</h2>
        <div className="toolbar">
          <Field label={t("common.status")}>
            {(id) => (
              <select id={id} value={status} onChange={(e) => setStatus(e.target.value as OfferStatus | "")}>
                <option value="">{t("common.all")}</option>
                {(["ACTIVE", "PAUSED", "WITHDRAWN"] as const).map((s) => (
                  <option key={s} value={s}>
                    {texts.code("offerStatus", s)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t("common.dataCenter")}>
            {(id) => (
              <select id={id} value={dataCenter} onChange={(e) => setDataCenter(e.target.value)}>
                <option value="">{t("common.all")}</option>
                {mine.map((d) => (
                  <option key={d.id} value={d.id}>
                    {d.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label={t("common.gpuModel")}>
            {(id) => (
              <select id={id} value={model} onChange={(e) => setModel(e.target.value)}>
                <option value="">{t("common.all")}</option>
                {catalog.data?.gpuModels.map((m) => (
                  <option key={m.id} value={m.name}>
                    {m.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <Loading loaded={offers} />
        {offers.data && (
          <p className="muted" role="status">
            {t("operator.count", { shown: texts.number(shown.length), total: texts.number(offers.data.total) })}
          </p>
        )}
        <ul className="cards offers">
          {shown.map((o) => (
            <OfferCard
              key={o.id}
              offer={o}
              open={open === o.id}
              onToggle={() => setOpen(open === o.id ? null : o.id)}
              onChanged={offers.reload}
            />
          ))}
        </ul>
      </section>
    </>
  );
}

function PublishForm({
  dataCenters,
  models,
  onPublished,
}: {
  dataCenters: { id: string; name: string; hub: string }[];
  models: string[];
  onPublished(): void;
}) {
  const { t } = useTexts();
  const [form, setForm] = useState({
    dataCenterId: "",
    gpuModel: "H800",
    gpuCount: "32",
    price: "18.50",
    from: hoursFromNow(24),
    until: hoursFromNow(24 + 7 * 24),
    minHours: "4",
  });
  const [problem, setProblem] = useState("");
  const [done, setDone] = useState("");
  const action = useAction();
  const set = (name: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm({ ...form, [name]: e.target.value });
  const dataCenterId = form.dataCenterId || dataCenters[0]?.id || "";
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const price = parseYuan(form.price);
    if (price === null || price <= 0n) return setProblem(t("offers.badPrice"));
    setProblem("");
    setDone("");
    const result = await action.run(() =>
      gql(PublishDocument, {
        input: {
          dataCenterId,
          gpuModel: form.gpuModel,
          gpuCount: Number(form.gpuCount),
          pricePerGpuHour: fenToInput(price),
          availableFrom: chinaInputToIso(form.from),
          availableUntil: chinaInputToIso(form.until),
          minHours: Number(form.minHours),
        },
      }),
    );
    if (result) {
      setDone(t("operator.published", { id: result.publishOffer.id }));
      onPublished();
    }
  };
  return (
    <form className="card" onSubmit={submit}>
      <div className="grid">
        <Field label={t("common.dataCenter")}>
          {(id) => (
            <select id={id} value={dataCenterId} onChange={set("dataCenterId")} required>
              {dataCenters.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({d.hub})
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("common.gpuModel")}>
          {(id) => (
            <select id={id} value={form.gpuModel} onChange={set("gpuModel")}>
              {models.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("common.gpus")}>
          {(id) => <input id={id} type="number" min={1} required value={form.gpuCount} onChange={set("gpuCount")} />}
        </Field>
        <Field label={t("common.pricePerGpuHour")} hint={t("common.yuanHint")}>
          {(id) => <input id={id} inputMode="decimal" required value={form.price} onChange={set("price")} />}
        </Field>
        <Field label={t("operator.from")} hint={t("common.wholeHour")}>
          {(id) => (
            <input id={id} type="datetime-local" step={3600} required value={form.from} onChange={set("from")} />
          )}
        </Field>
        <Field label={t("operator.until")} hint={t("common.wholeHour")}>
          {(id) => (
            <input id={id} type="datetime-local" step={3600} required value={form.until} onChange={set("until")} />
          )}
        </Field>
        <Field label={t("offers.minHours")}>
          {(id) => <input id={id} type="number" min={1} required value={form.minHours} onChange={set("minHours")} />}
        </Field>
      </div>
      <button type="submit" className="primary" disabled={action.busy || !dataCenterId}>
        {t("operator.publishButton")}
      </button>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      {done && <Notice>{done}</Notice>}
      <ErrorBox error={action.error} />
    </form>
  );
}

function OfferCard({
  offer,
  open,
  onToggle,
  onChanged,
}: {
  offer: Offer;
  open: boolean;
  onToggle(): void;
  onChanged(): void;
}) {
  const texts = useTexts();
  const { t } = texts;
  const [edit, setEdit] = useState({
    price: offer.pricePerGpuHour.amount,
    count: String(offer.gpuCount),
    until: isoToChinaInput(offer.availableUntil),
  });
  const [confirmWithdraw, setConfirmWithdraw] = useState(false);
  const [done, setDone] = useState("");
  const action = useAction();
  const update = async (input: UpdateOfferInput, message: string) => {
    setDone("");
    if (await action.run(() => gql(UpdateOfferDocument, { id: offer.id, input }))) {
      setDone(message);
      onChanged();
    }
  };
  const save = (event: FormEvent) => {
    event.preventDefault();
    const input: UpdateOfferInput = {};
    const price = parseYuan(edit.price);
    if (price === null) return setDone(t("offers.badPrice"));
    if (price !== BigInt(offer.pricePerGpuHour.fen)) input.pricePerGpuHour = fenToInput(price);
    if (Number(edit.count) !== offer.gpuCount) input.gpuCount = Number(edit.count);
    const until = chinaInputToIso(edit.until);
    if (new Date(until).getTime() !== new Date(offer.availableUntil).getTime()) input.availableUntil = until;
    update(input, t("operator.saved"));
  };
  const withdraw = async () => {
    setConfirmWithdraw(false);
    if (await action.run(() => gql(WithdrawDocument, { id: offer.id }))) onChanged();
  };
  const headingId = `offer-${offer.id}`;
  const changeable = offer.status !== "WITHDRAWN";
  return (
    <li className="card" aria-labelledby={headingId}>
      <h3 id={headingId}>
        {offer.gpuModel.name} × {texts.number(offer.gpuCount)} · {texts.money(offer.pricePerGpuHour)}/
        {t("common.gpuHour")} <Status prefix="offerStatus" code={offer.status} />
      </h3>
      <p className="muted">
        {offer.dataCenter.name} ({offer.dataCenter.hub}) · {texts.dateTime(offer.availableFrom)} –{" "}
        {texts.dateTime(offer.availableUntil)} · <code>{offer.id}</code>
      </p>
      {changeable && (
        <form className="grid edit" onSubmit={save} aria-label={t("operator.editLabel", { id: offer.id })}>
          <Field label={t("common.pricePerGpuHour")}>
            {(id) => (
              <input
                id={id}
                inputMode="decimal"
                value={edit.price}
                onChange={(e) => setEdit({ ...edit, price: e.target.value })}
              />
            )}
          </Field>
          <Field label={t("common.gpus")}>
            {(id) => (
              <input
                id={id}
                type="number"
                min={1}
                value={edit.count}
                onChange={(e) => setEdit({ ...edit, count: e.target.value })}
              />
            )}
          </Field>
          <Field label={t("operator.until")}>
            {(id) => (
              <input
                id={id}
                type="datetime-local"
                step={3600}
                value={edit.until}
                onChange={(e) => setEdit({ ...edit, until: e.target.value })}
              />
            )}
          </Field>
          <div className="actions">
            <button type="submit" disabled={action.busy}>
              {t("operator.save")}
            </button>
            {offer.status === "ACTIVE" ? (
              <button
                type="button"
                disabled={action.busy}
                onClick={() => update({ status: "PAUSED" }, t("operator.pausedNotice"))}
              >
                {t("operator.pause")}
              </button>
            ) : (
              <button
                type="button"
                disabled={action.busy}
                onClick={() => update({ status: "ACTIVE" }, t("operator.resumedNotice"))}
              >
                {t("operator.resume")}
              </button>
            )}
            <button type="button" className="danger" disabled={action.busy} onClick={() => setConfirmWithdraw(true)}>
              {t("operator.withdraw")}
            </button>
          </div>
        </form>
      )}
      <button type="button" className="link" aria-expanded={open} onClick={onToggle}>
        {t(open ? "operator.hideReservations" : "operator.showReservations")}
      </button>
      {open && <OfferReservations offerId={offer.id} />}
      {done && <Notice>{done}</Notice>}
      <ErrorBox error={action.error} />
      <Confirm
        open={confirmWithdraw}
        title={t("operator.withdraw")}
        body={<p>{t("operator.withdrawBody", { id: offer.id })}</p>}
        confirmLabel={t("operator.withdraw")}
        onConfirm={withdraw}
        onCancel={() => setConfirmWithdraw(false)}
      />
    </li>
  );
}

function OfferReservations({ offerId }: { offerId: string }) {
  const texts = useTexts();
  const { t } = texts;
  const reservations = useLoad(
    () => gql(ReservationsDocument, { offerId, first: 50 }).then((d) => d.offerReservations),
    [offerId],
  );
  if (!reservations.data) return <Loading loaded={reservations} />;
  if (reservations.data.totalCount === 0) return <p>{t("operator.noReservations")}</p>;
  const table = (
    <TableBox label={t("operator.reservations")}>
      <thead>
        <tr>
          <th scope="col">{t("rent.reservation")}</th>
          <th scope="col">{t("common.status")}</th>
          <th scope="col" className="num">
            {t("common.gpus")}
          </th>
          <th scope="col">{t("rent.period")}</th>
          <th scope="col" className="num">
            {t("rent.total")}
          </th>
        </tr>
      </thead>
      <tbody>
        {reservations.data.edges.map(({ node: r }) => (
          <tr key={r.id}>
            <td>
              <code>{r.id}</code>
            </td>
            <td>
              <Status prefix="reservationStatus" code={r.status} />
            </td>
            <td className="num">{texts.number(r.gpuCount)}</td>
            <td>
              {texts.dateTime(r.startsAt)} – {texts.dateTime(r.endsAt)}
            </td>
            <td className="num">{texts.money(r.total)}</td>
          </tr>
        ))}
      </tbody>
    </TableBox>
  );
  // Confirmed rentals that have ended: what was delivered, reported once before the deadline.
  const endedRentals = reservations.data.edges.map((e) => e.node).filter((r) => r.status === "CONFIRMED" && ended(r));
  return (
    <>
      {table}
      {endedRentals.map((r) => (
        <ReportDelivery key={r.id} rental={r} />
      ))}
    </>
  );
}
