// Where webhooks may go: http and https URLs whose host is a public address. Loopback, link-local,
// private, shared, multicast and reserved ranges are refused (a webhook must not reach the server's
// own network), unless WEBHOOK_ALLOW_PRIVATE=1. Checked when an endpoint is created, and again on
// every attempt at the address actually connected to, so a name that later resolves elsewhere
// (DNS rebinding) is refused too.
import dns from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { badInput } from "../errors.js";

const blocked = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  blocked.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
  ["2001:db8::", 32],
  ["64:ff9b::", 96],
] as const)
  blocked.addSubnet(network, prefix, "ipv6");

/** Whether an IP address is one webhooks never go to (without WEBHOOK_ALLOW_PRIVATE). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family !== 6) return true;
  // An IPv4 address written as IPv6 (::ffff:127.0.0.1) is judged as the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1], "ipv4");
  return blocked.check(address, "ipv6");
}

const MAX_URL = 2048;

/** The URL of a new endpoint, checked; BAD_USER_INPUT (field "url") for any other. */
export async function requireWebhookUrl(raw: string, allowPrivate: boolean): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badInput("url", "url must be an absolute http or https URL");
  }
  if (raw.length > MAX_URL) throw badInput("url", `url must be at most ${MAX_URL} characters`);
  if (url.protocol !== "http:" && url.protocol !== "https:") throw badInput("url", "url must be an http or https URL");
  if (url.username || url.password) throw badInput("url", "url must not carry a user name or password");
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.promises.lookup(host, { all: true })).map((entry) => entry.address);
    } catch {
      throw badInput("url", "url's host name does not resolve");
    }
  }
  if (addresses.some(isPrivateAddress))
    throw badInput("url", "url must reach a public address: loopback, link-local and private networks are refused");
  return url;
}

export class AddressNotAllowed extends Error {
  readonly code = "EADDRNOTALLOWED";
  constructor() {
    super("the receiver's address is loopback, link-local or private");
  }
}

/** A DNS lookup for the HTTP client that drops addresses webhooks may not go to (none left: an error). */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, entries) => {
      if (error) return callback(error, "", 0);
      const allowed = (entries as dns.LookupAddress[]).filter(
        (entry) => allowPrivate || !isPrivateAddress(entry.address),
      );
      if (allowed.length === 0) return callback(new AddressNotAllowed(), "", 0);
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, allowed);
      callback(null, allowed[0].address, allowed[0].family);
    });
  };
}
