// Buttons that download files of /exports/... : fetched with the API key in the Authorization
// header (never in the URL), then handed to the browser as a Blob with the server's file name.
import { useState } from "react";
import { download } from "../api.js";
import { useTexts } from "../i18n.js";
import type { MessageKey } from "../messages.js";
import { ErrorBox, useAction } from "../ui.js";

export interface FileLink {
  label: MessageKey;
  path: string;
  /** The name to save under when the server sends none. */
  name: string;
}

export function Downloads({ title, files, note }: { title: string; files: FileLink[]; note?: string }) {
  const { t } = useTexts();
  const action = useAction();
  const [saved, setSaved] = useState<string | null>(null);
  const get = async (file: FileLink) => {
    setSaved(null);
    const result = await action.run(() => download(file.path, file.name));
    if (result) setSaved(result.name);
  };
  return (
    <div className="downloads" role="group" aria-label={title}>
      <div className="actions">
        {files.map((file) => (
          <button key={file.label} type="button" disabled={action.busy} onClick={() => get(file)}>
            {t(file.label)}
          </button>
        ))}
      </div>
      {note && <small className="muted">{note}</small>}
      <p className="muted" aria-live="polite">
        {saved ? t("files.saved", { name: saved }) : ""}
      </p>
      <ErrorBox error={action.error} />
    </div>
  );
}
