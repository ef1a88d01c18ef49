/**
 * Syslog header parsing (RFC 3164 with/without PRI, RFC 5424, receiver prefixes).
 * PLACEHOLDER: replaced by the full implementation; the signature is the contract.
 */
import type { Envelope, ReadOptions } from "../types.js";

/** The envelope of a syslog-wrapped line, or undefined when the line has no syslog header. */
export function parseEnvelope(_line: string, _options: ReadOptions): Envelope | undefined {
  return undefined;
}
