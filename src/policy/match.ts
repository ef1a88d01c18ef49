/**
 * Name globs and address blocks for the policy: small, dependency-free, and safe on hostile text
 * (no regex built from input, no recursion that input can blow up).
 */
import { isIP } from "node:net";
import { globMatch } from "../shared/glob.js";
import type { Cidr } from "./types.js";

export { globMatch, hasGlob } from "../shared/glob.js";

const parseIpv4 = (text: string): bigint | undefined => {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
};

const parseIpv6 = (input: string): bigint | undefined => {
  let text = input;
  const zone = text.indexOf("%");
  if (zone >= 0) text = text.slice(0, zone);
  if (isIP(text) !== 6) return undefined;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two groups.
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = parseIpv4(tail);
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 1 && fill !== 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill("0"), ...rest];
  if (groups.length !== 8) return undefined;
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(parseInt(g || "0", 16));
  return value;
};

/** An IP address as (family, value); IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is read as IPv4. */
export function parseIp(text: string): { family: 4 | 6; value: bigint } | undefined {
  const trimmed = text.trim().replace(/^\[|\]$/g, "");
  const v4 = parseIpv4(trimmed);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseIpv6(trimmed);
  if (v6 === undefined) return undefined;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

/** `10.0.0.0/8`, `fe80::/10`, or a single address (`/32`, `/128`). Undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const bits = ip.family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
    // A mapped address written as IPv6 keeps its IPv6 prefix length.
    if (ip.family === 4 && addr.includes(":")) prefix -= 96;
    if (prefix < 0 || prefix > bits) return undefined;
  }
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { text, family: ip.family, network: ip.value & mask, prefix };
}

export function cidrContains(cidr: Cidr, ip: string): boolean {
  const parsed = parseIp(ip);
  if (!parsed || parsed.family !== cidr.family) return false;
  const bits = cidr.family === 4 ? 32 : 128;
  const mask =
    cidr.prefix === 0 ? 0n : ((1n << BigInt(cidr.prefix)) - 1n) << BigInt(bits - cidr.prefix);
  return (parsed.value & mask) === cidr.network;
}

/** Loopback blocks, always expected sources of `vpxuser`. */
export const LOOPBACK: readonly Cidr[] = [parseCidr("127.0.0.0/8"), parseCidr("::1/128")].filter(
  (c): c is Cidr => c !== undefined,
);

/**
 * A host matches a pattern when: the pattern is a CIDR/IP containing the host's address; or the
 * glob matches the host name; or the pattern has no dot and matches the host's short name.
 */
export function hostMatches(pattern: string, host: string): boolean {
  if (parseIp(host)) {
    const cidr = parseCidr(pattern);
    if (cidr) return cidrContains(cidr, host);
  }
  if (globMatch(pattern, host)) return true;
  if (!pattern.includes(".")) {
    const dot = host.indexOf(".");
    if (dot > 0 && !parseIp(host)) return globMatch(pattern, host.slice(0, dot));
  }
  return false;
}

/** The name a VM reference matches by: its display name, else the .vmx file name without `.vmx`. */
export function vmNames(vm: { name?: string; vmx?: string } | string | undefined): string[] {
  if (vm === undefined) return [];
  if (typeof vm === "string") return vm ? [vm] : [];
  const names: string[] = [];
  if (vm.name) names.push(vm.name);
  if (vm.vmx) {
    const base = vm.vmx.split(/[\\/]/).pop() ?? "";
    const stem = base.replace(/\.vmx$/i, "");
    if (stem && !names.includes(stem)) names.push(stem);
  }
  return names;
}
