// Standard Webhooks (standardwebhooks.com): each request carries webhook-id (the event id, the same
// on every retry), webhook-timestamp (Unix seconds) and webhook-signature, "v1," and the base64
// HMAC-SHA256 of "<id>.<timestamp>.<body>" under the secret's key (the base64 after "whsec_").
// Several signatures, space-separated, while a rotated secret is still honoured.
import { createHmac, randomBytes } from "node:crypto";

export function newSecret(): string {
  return `whsec_${randomBytes(32).toString("base64")}`;
}

export function signature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret, "base64");
  return `v1,${createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")}`;
}

/** The three headers of one attempt, signed with every secret given (the current one first). */
export function signedHeaders(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): Record<string, string> {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": secrets.map((secret) => signature(secret, id, timestamp, body)).join(" "),
  };
}
