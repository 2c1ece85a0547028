// Searching the market: every filter of `offers` and its sorts, a page at a time; an offer leads
// to the bid form with its model, hub and price filled in.
import { useState, type FormEvent } from "react";
import { gql } from "../api.js";
import { HUBS, useCatalog } from "../catalog.js";
import { chinaInputToIso, parseYuan, fenToInput } from "../format.js";
import { OffersDocument, type OfferFilter, type OfferRowFragment, type OfferSort } from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { ErrorBox, Field, Loading, TableBox, useAction, useLoad } from "../ui.js";

interface Form {
  gpuModel: string;
  hub: string;
  province: string;
  dataCenterId: string;
  maxPrice: string;
  minGpuCount: string;
  availableFrom: string;
  availableUntil: string;
  sort: OfferSort;
}

const EMPTY: Form = {
  gpuModel: "",
  hub: "",
  province: "",
  dataCenterId: "",
  maxPrice: "",
  minGpuCount: "",
  availableFrom: "",
  availableUntil: "",
  sort: "PRICE_ASC",
};

/** The form as the API's filter; a message key when a field cannot be read. */
function toFilter(form: Form): OfferFilter | "offers.badPrice" | "offers.badCount" {
  const filter: OfferFilter = {};
  if (form.gpuModel) filter.gpuModel = form.gpuModel;
  if (form.hub) filter.hub = form.hub;
  if (form.province.trim()) filter.province = form.province.trim();
  if (form.dataCenterId) filter.dataCenterId = form.dataCenterId;
  if (form.maxPrice.trim()) {
    const fen = parseYuan(form.maxPrice);
    if (fen === null) return "offers.badPrice";
    filter.maxPricePerGpuHour = fenToInput(fen);
  }
  if (form.minGpuCount.trim()) {
    const count = Number(form.minGpuCount);
    if (!Number.isInteger(count) || count < 1) return "offers.badCount";
    filter.minGpuCount = count;
  }
  if (form.availableFrom) filter.availableFrom = chinaInputToIso(form.availableFrom);
  if (form.availableUntil) filter.availableUntil = chinaInputToIso(form.availableUntil);
  return filter;
}

export function SmeOffers({ go }: { go(path: string): void }) {
  const texts = useTexts();
  const { t } = texts;
  const catalog = useCatalog();
  const [form, setForm] = useState<Form>(EMPTY);
  const [query, setQuery] = useState<{ filter: OfferFilter; sort: OfferSort }>({ filter: {}, sort: "PRICE_ASC" });
  const [problem, setProblem] = useState("");
  const [extra, setExtra] = useState<{ offers: OfferRowFragment[]; after: string | null; hasNext: boolean } | null>(
    null,
  );
  const paging = useAction();
  const results = useLoad(async () => {
    setExtra(null);
    return (await gql(OffersDocument, { filter: query.filter, sort: query.sort, first: 20, after: null })).offers;
  }, [query]);
  const set = (name: keyof Form) => (e: { target: { value: string } }) => setForm({ ...form, [name]: e.target.value });
  const search = (event: FormEvent) => {
    event.preventDefault();
    const filter = toFilter(form);
    if (typeof filter === "string") return setProblem(t(filter));
    setProblem("");
    setQuery({ filter, sort: form.sort });
  };
  const offers = [...(results.data?.edges.map((e) => e.node) ?? []), ...(extra?.offers ?? [])];
  const hasNext = extra ? extra.hasNext : results.data?.pageInfo.hasNextPage;
  const loadMore = async () => {
    const after = extra ? extra.after : (results.data?.pageInfo.endCursor ?? null);
    const page = await paging.run(() =>
      gql(OffersDocument, { filter: query.filter, sort: query.sort, first: 20, after }),
    );
    if (page)
      setExtra({
        offers: [...(extra?.offers ?? []), ...page.offers.edges.map((e) => e.node)],
        after: page.offers.pageInfo.endCursor ?? null,
        hasNext: page.offers.pageInfo.hasNextPage,
      });
  };
  const bidOn = (offer: OfferRowFragment) =>
    go(
      `rent?${new URLSearchParams({ model: offer.gpuModel.name, hub: offer.dataCenter.hub, price: offer.pricePerGpuHour.amount, from: offer.availableFrom })}`,
    );
  return (
    <>
      <form className="filters card" onSubmit={search} aria-label={t("offers.filters")}>
        <Field label={t("common.gpuModel")}>
          {(id) => (
            <select id={id} value={form.gpuModel} onChange={set("gpuModel")}>
              <option value="">{t("common.any")}</option>
              {catalog.data?.gpuModels.map((m) => (
                <option key={m.id} value={m.name}>
                  {m.name} ({m.vendor}, {m.memoryGb} GB)
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("common.hub")}>
          {(id) => (
            <select id={id} value={form.hub} onChange={set("hub")}>
              <option value="">{t("common.any")}</option>
              {HUBS.map((h) => (
                <option key={h} value={h}>
                  {h}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("common.province")}>
          {(id) => <input id={id} value={form.province} onChange={set("province")} />}
        </Field>
        <Field label={t("common.dataCenter")}>
          {(id) => (
            <select id={id} value={form.dataCenterId} onChange={set("dataCenterId")}>
              <option value="">{t("common.any")}</option>
              {catalog.data?.dataCenters.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={t("offers.maxPrice")} hint={t("common.yuanHint")}>
          {(id) => <input id={id} inputMode="decimal" value={form.maxPrice} onChange={set("maxPrice")} />}
        </Field>
        <Field label={t("offers.minGpus")}>
          {(id) => <input id={id} type="number" min={1} value={form.minGpuCount} onChange={set("minGpuCount")} />}
        </Field>
        <Field label={t("offers.availableFrom")}>
          {(id) => (
            <input
              id={id}
              type="datetime-local"
              step={3600}
              value={form.availableFrom}
              onChange={set("availableFrom")}
            />
          )}
        </Field>
        <Field label={t("offers.availableUntil")}>
          {(id) => (
            <input
              id={id}
              type="datetime-local"
              step={3600}
              value={form.availableUntil}
              onChange={set("availableUntil")}
            />
          )}
        </Field>
        <Field label={t("offers.sort")}>
          {(id) => (
            <select id={id} value={form.sort} onChange={set("sort")}>
              {(["PRICE_ASC", "PRICE_DESC", "NEWEST"] as const).map((s) => (
                <option key={s} value={s}>
                  {texts.code("sort", s)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <div className="actions">
          <button type="submit" className="primary">
            {t("offers.search")}
          </button>
          <button type="button" onClick={() => (setForm(EMPTY), setQuery({ filter: {}, sort: "PRICE_ASC" }))}>
            {t("offers.reset")}
          </button>
        </div>
        {problem && (
          <p className="error" role="alert">
            {problem}
          </p>
        )}
      </form>
      <Loading loaded={results} />
      {results.data && (
        <>
          <p className="muted" role="status">
            {t("offers.count", { count: texts.number(results.data.totalCount) })}
          </p>
          <TableBox label={t("offers.results")}>
            <thead>
              <tr>
                <th scope="col">{t("common.gpuModel")}</th>
                <th scope="col" className="num">
                  {t("common.gpus")}
                </th>
                <th scope="col" className="num">
                  {t("common.pricePerGpuHour")}
                </th>
                <th scope="col">{t("common.dataCenter")}</th>
                <th scope="col">{t("common.hub")}</th>
                <th scope="col">{t("common.window")}</th>
                <th scope="col" className="num">
                  {t("offers.minHours")}
                </th>
                <th scope="col">
                  <span className="sr-only">{t("common.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {offers.map((o) => (
                <tr key={o.id}>
                  <td>{o.gpuModel.name}</td>
                  <td className="num">{texts.number(o.gpuCount)}</td>
                  <td className="num">{texts.money(o.pricePerGpuHour)}</td>
                  <td>{o.dataCenter.name}</td>
                  <td>{o.dataCenter.hub}</td>
                  <td>
                    {texts.dateTime(o.availableFrom)} – {texts.dateTime(o.availableUntil)}
                  </td>
                  <td className="num">{texts.number(o.minHours)}</td>
                  <td>
                    <button
                      type="button"
                      onClick={() => bidOn(o)}
                      aria-label={t("offers.bidOnLabel", { model: o.gpuModel.name, dc: o.dataCenter.name })}
                    >
                      {t("offers.bidOn")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </TableBox>
          {hasNext && (
            <button type="button" disabled={paging.busy} onClick={loadMore}>
              {t("common.more")}
            </button>
          )}
          <ErrorBox error={paging.error} />
        </>
      )}
    </>
  );
}
