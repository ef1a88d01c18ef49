/**
 * ESXi hostd.log reader (format `hostd`): every version's local line and the same lines inside a
 * syslog envelope. See `line.ts` for the grammar, `parser.ts` for folding and records.
 */
import { defineReader, type LineReader } from "../../types.js";
import { readHostdLine } from "./line.js";
import { createHostdParser } from "./parser.js";

/**
 * Substrings without which a hostd line cannot matter (the input layer drops other lines before
 * decoding them). Chosen as the smallest set that still catches:
 * - `Guest` — `Guest operation` events, `Guest File Path is`, `Guestsvc.GuestFileHandler`;
 * - `vm.guest` — `target='vim.vm.guest.*'` requests, `Invoke done [...] on [vim.vm.guest.*]` (not
 *   `guest`, whose cheapest fingerprint `gu` is in every `reconfigure` call: 5x the false alarms);
 * - `GUEST` — `State Transition (… -> VM_STATE_GUEST_OPERATION)`;
 * - `] Arg`, `] Throw `, `] Result:` — the `Solo.Vmomi` call-dump heads (`…] Arg spec:`, `…] Args:`),
 *   right after the block in every version; not `Vmomi`, which at debug level is on every call's
 *   `Activation finished` line (9 % of lines in the benchmark file);
 * - `-->` — every continuation line of a multi-line dump (`Arg spec:` / `Result:` bodies);
 * - `logged` — `User X@ip logged in as …` / `logged out`;
 * - `password for user` — `Accepted password for user` / `Rejected password for user`;
 * - `[Auth]` — `[Auth]: User X`; `Cannot login` — failed-login events.
 */
export const HOSTD_MARKERS: readonly string[] = [
  "Guest",
  "vm.guest",
  "GUEST",
  "] Arg",
  "] Throw ",
  "] Result:",
  "-->",
  "logged",
  "password for user",
  "[Auth]",
  "Cannot login",
];

/**
 * Detection score. Local hostd lines (6.x-9.x) score high; pre-6.0 bracket lines, which vpxd
 * shares, score 0.5; a syslog file that carries only hostd lines scores 0.7 (the `syslog` router
 * outranks it when programs or hosts are mixed).
 */
export function sniffHostd(head: readonly string[]): number {
  let local = 0;
  let legacy = 0;
  let wrapped = 0;
  let other = 0;
  const hosts = new Set<string>();
  for (const text of head) {
    if (text.trim() === "") continue;
    const r = readHostdLine(text, { assumeTz: "UTC" });
    if (r.type === "hostd") {
      if (r.line.kind === "continuation") continue;
      if (r.line.legacy) legacy++;
      else if (r.line.host !== undefined) {
        wrapped++;
        hosts.add(r.line.host);
      } else local++;
    } else other++;
  }
  const total = local + legacy + wrapped + other;
  if (total === 0) return 0;
  if ((local + legacy) / total >= 0.5) {
    return legacy > local ? 0.5 : 0.8 + 0.19 * (local / total);
  }
  if (wrapped / total >= 0.5) return other === 0 && hosts.size <= 1 ? 0.7 : 0.45;
  return 0.4 * ((local + legacy + wrapped) / total);
}

export const hostdReader: LineReader = defineReader({
  name: "hostd",
  title: "ESXi hostd.log (local file, every version, or forwarded over syslog)",
  shape: "lines",
  markers: HOSTD_MARKERS,
  sniff: sniffHostd,
  open: createHostdParser,
});

export { createHostdParser } from "./parser.js";
