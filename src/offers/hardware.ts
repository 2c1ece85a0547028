// An operator's declaration of an offer's hardware, checked: pure, no database.
import { createHash } from "node:crypto";
import { badInput } from "../errors.js";
import { requireGpuCount } from "./offers.service.js";

export interface HardwareDeclaration {
  serialNumbers?: string[] | null;
  attestationReference?: string | null;
  gpuCount: number;
}

export interface CheckedHardware {
  serialNumbers: string[];
  reference: string | null;
  gpuCount: number;
}

const SERIAL = /^[\x21-\x7e]{1,100}$/;
const MAX_REFERENCE = 500;

/**
 * Serial numbers (1 to 100 printable ASCII characters each, no spaces, no repeats, one per GPU
 * covered) or an attestation reference (1 to 500 characters, like a certificate or audit report
 * number), or both; `gpuCount` GPUs covered. BAD_USER_INPUT names the field under `field`.
 */
export function checkHardware(field: string, input: HardwareDeclaration): CheckedHardware {
  const gpuCount = requireGpuCount(`${field}.gpuCount`, input.gpuCount);
  const serialNumbers = (input.serialNumbers ?? []).map((serial) => serial.trim());
  serialNumbers.forEach((serial, i) => {
    if (!SERIAL.test(serial))
      throw badInput(
        `${field}.serialNumbers[${i}]`,
        "a serial number has 1 to 100 printable characters without spaces",
      );
  });
  if (new Set(serialNumbers).size !== serialNumbers.length)
    throw badInput(`${field}.serialNumbers`, "serial numbers may not repeat");
  if (serialNumbers.length > 0 && serialNumbers.length !== gpuCount)
    throw badInput(`${field}.serialNumbers`, `give one serial number per GPU covered (${gpuCount})`);
  const reference = input.attestationReference?.trim() || null;
  if (reference != null && (reference.length > MAX_REFERENCE || reference.includes("\u0000")))
    throw badInput(`${field}.attestationReference`, `an attestation reference has 1 to ${MAX_REFERENCE} characters`);
  if (serialNumbers.length === 0 && reference == null)
    throw badInput(field, "declare serialNumbers or an attestationReference");
  return { serialNumbers, reference, gpuCount };
}

/**
 * What the audit trail says of a declaration: the GPUs covered, the reference, and the serial
 * numbers' SHA-256 (of the list joined by newlines) so that the declaration stored with the offer
 * can be checked against the trail however long it is, then as many serial numbers as fit.
 */
export function hardwareDetail(hardware: CheckedHardware): string {
  const reference = hardware.reference ? ` reference ${hardware.reference};` : "";
  if (hardware.serialNumbers.length === 0) return `${hardware.gpuCount} GPUs:${reference}`;
  const digest = createHash("sha256").update(hardware.serialNumbers.join("\n")).digest("hex").slice(0, 16);
  return `${hardware.gpuCount} GPUs:${reference} ${hardware.serialNumbers.length} serials sha256:${digest} ${hardware.serialNumbers.join(",")}`;
}
