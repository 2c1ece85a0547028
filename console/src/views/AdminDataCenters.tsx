// The platform admin: every data center, and registering a new one for an operator.
import { useState, type FormEvent } from "react";
import { gql } from "../api.js";
import { HUBS, useCatalog } from "../catalog.js";
import { CreateDataCenterDocument } from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { ErrorBox, Field, Loading, Notice, TableBox, useAction } from "../ui.js";

export function AdminDataCenters() {
  const { t } = useTexts();
  const catalog = useCatalog();
  const [form, setForm] = useState({ name: "", hub: HUBS[9] as string, province: "", operatorId: "" });
  const [done, setDone] = useState("");
  const action = useAction();
  const operators = [...new Map((catalog.data?.dataCenters ?? []).map((d) => [d.operator.id, d.operator])).values()];
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await action.run(() =>
      gql(CreateDataCenterDocument, {
        input: {
          name: form.name.trim(),
          hub: form.hub,
          province: form.province.trim(),
          operatorId: form.operatorId.trim(),
        },
      }),
    );
    if (result) {
      setDone(t("admin.dcCreated", { name: result.createDataCenter.name, id: result.createDataCenter.id }));
      catalog.reload();
    }
  };
  return (
    <>
      <section aria-labelledby="new-dc">
        <h2 id="new-dc">{t("admin.newDc")}</h2>
        <form className="card" onSubmit={submit}>
          <datalist id="operator-ids">
            {operators.map((o) => (
              <option key={o.id} value={o.id}>
                {o.name}
              </option>
            ))}
          </datalist>
          <div className="grid">
            <Field label={t("admin.name")}>
              {(id) => (
                <input
                  id={id}
                  required
                  maxLength={200}
                  value={form.name}
                  onChange={(e) => setForm({ ...form, name: e.target.value })}
                />
              )}
            </Field>
            <Field label={t("common.hub")}>
              {(id) => (
                <select id={id} value={form.hub} onChange={(e) => setForm({ ...form, hub: e.target.value })}>
                  {HUBS.map((h) => (
                    <option key={h} value={h}>
                      {h}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label={t("common.province")}>
              {(id) => (
                <input
                  id={id}
                  required
                  maxLength={100}
                  value={form.province}
                  onChange={(e) => setForm({ ...form, province: e.target.value })}
                />
              )}
            </Field>
            <Field label={t("admin.operator")} hint={t("admin.idHint")}>
              {(id) => (
                <input
                  id={id}
                  list="operator-ids"
                  required
                  value={form.operatorId}
                  onChange={(e) => setForm({ ...form, operatorId: e.target.value })}
                />
              )}
            </Field>
          </div>
          <button type="submit" className="primary" disabled={action.busy}>
            {t("admin.createDc")}
          </button>
          {done && <Notice>{done}</Notice>}
          <ErrorBox error={action.error} />
        </form>
      </section>
      <section aria-labelledby="dcs">
        <h2 id="dcs">{t("nav.dataCenters")}</h2>
        <Loading loaded={catalog} />
        {catalog.data && (
          <TableBox label={t("nav.dataCenters")}>
            <thead>
              <tr>
                <th scope="col">{t("admin.name")}</th>
                <th scope="col">{t("common.hub")}</th>
                <th scope="col">{t("common.province")}</th>
                <th scope="col">{t("admin.operator")}</th>
                <th scope="col">{t("admin.id")}</th>
              </tr>
            </thead>
            <tbody>
              {catalog.data.dataCenters.map((d) => (
                <tr key={d.id}>
                  <th scope="row">{d.name}</th>
                  <td>{d.hub}</td>
                  <td>{d.province}</td>
                  <td>
                    {d.operator.name} <code>{d.operator.id}</code>
                  </td>
                  <td>
                    <code>{d.id}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </TableBox>
        )}
      </section>
    </>
  );
}
