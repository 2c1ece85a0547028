// The finance office's programs, loaded once per view, and the picker that chooses one.
import { gql } from "../api.js";
import type { Viewer } from "../App.js";
import { ProgramsDocument, type ProgramsQuery } from "../graphql/generated.js";
import { useTexts } from "../i18n.js";
import { Field, useLoad } from "../ui.js";

export type Program = ProgramsQuery["subsidyPrograms"][number];

/** The programs of the viewer's city (every city's for the admin). */
export const usePrograms = (viewer: Viewer) =>
  useLoad(
    () => gql(ProgramsDocument, { city: viewer.organization?.city ?? null }).then((d) => d.subsidyPrograms),
    [viewer.organization?.city],
  );

export function ProgramPicker({
  programs,
  value,
  onChange,
  allowAll,
}: {
  programs: Program[];
  value: string;
  onChange(id: string): void;
  allowAll?: boolean;
}) {
  const { t } = useTexts();
  return (
    <Field label={t("finance.program")}>
      {(id) => (
        <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
          {allowAll && <option value="">{t("finance.allPrograms")}</option>}
          {programs.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
