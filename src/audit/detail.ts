// The short, human-readable detail of an audit entry. Pure: no database.

export const MAX_DETAIL = 200;

// Anything shaped like a credential is masked, whatever text it arrives in: API keys, Stripe
// secrets and client secrets, webhook secrets, bearer headers.
const SECRET_SHAPES = [
  /\bBearer\s+\S+/gi,
  /\b(?:gvm|admin|sk|rk|pk|whsec)_[A-Za-z0-9_-]{4,}/g,
  /\bpi_[A-Za-z0-9]+_secret_[A-Za-z0-9]+/g,
];

/** The detail as stored: credentials masked, whitespace collapsed, at most MAX_DETAIL characters. */
export function auditDetail(text: string): string {
  let detail = text.replace(/\s+/g, " ").trim();
  for (const shape of SECRET_SHAPES) detail = detail.replace(shape, "[redacted]");
  return detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL - 1)}…` : detail;
}
