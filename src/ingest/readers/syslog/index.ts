/**
 * The syslog receiver-file router (format `syslog`): a file where an rsyslog/syslog-ng receiver
 * stored what many ESXi hosts and vCenters sent. Each line's envelope is parsed once, then the
 * line goes to a parser of the right reader, one instance per (reader, host):
 *
 * - audit records (facility 13, or an `[eventID@6876 …]` element) → `esx-audit`;
 * - program `Hostd`/`hostd` → `hostd`;
 * - program `vpxd`: `Event [` bodies → `vc-events`, the rest → `vpxd`;
 * - programs `vobd` and `vmsyslogd` → `vobd` (remote-logging failures, lost messages);
 * - any other program → skipped (counted).
 *
 * The router finds readers through a lookup the registry hands it (`createSyslogReader(lookup)`),
 * called when a file is opened: this module never imports the registry, so there is no import
 * cycle whichever module loads first. A missing reader is tolerated: its lines are skipped and one
 * issue says how many.
 *
 * `openRouter(ctx, lookup)` is also what the SIEM JSON reader feeds with envelopes built from JSON
 * fields (through the registered `syslog` reader's `open`).
 */
import type { FormatName } from "../../../model/record.js";
import { parseEnvelope } from "../../syslog/envelope.js";
import {
  defineReader,
  type Envelope,
  type LineParser,
  type LineReader,
  type Reader,
  type ReaderContext,
} from "../../types.js";
import { esxAuditReader, isAuditEnvelope } from "../esx-audit/index.js";
import { excerpt } from "../excerpt.js";
import { hostdReader } from "../hostd/index.js";
import { vobdReader } from "../vobd/index.js";

/** Formats the router dispatches to. */
export const ROUTED: readonly FormatName[] = ["hostd", "esx-audit", "vpxd", "vc-events", "vobd"];

/** Parser instances beyond this many (reader, host) pairs share one per reader. */
const MAX_INSTANCES = 4096;

/** Which reader a line belongs to, by its envelope; undefined for programs guestops ignores. */
export function routeOf(env: Envelope): FormatName | undefined {
  if (isAuditEnvelope(env)) return "esx-audit";
  const program = env.program?.toLowerCase();
  if (program === "hostd") return "hostd";
  if (program === "vpxd") return env.body.includes("Event [") ? "vc-events" : "vpxd";
  if (program === "vobd" || program === "vmsyslogd") return "vobd";
  return undefined;
}

/** How the router finds a reader by name: the registry's `readerByName`. */
export type ReaderLookup = (name: FormatName) => Reader | undefined;

/** Without a registry: the host-side readers of this package only (no vCenter readers). */
const HOST_ONLY: ReaderLookup = (name) =>
  name === "hostd"
    ? hostdReader
    : name === "esx-audit"
      ? esxAuditReader
      : name === "vobd"
        ? vobdReader
        : undefined;

const asLines = (r: Reader | undefined): LineReader | undefined =>
  r?.shape === "lines" ? r : undefined;

/**
 * Opens a router for one input: `line(text, lineNo, envelope?)` with or without an envelope.
 * `lookup` is normally the registry's `readerByName`; without it only hostd and audit lines are
 * read (vCenter lines are then counted as skipped for want of a reader).
 */
export function openRouter(ctx: ReaderContext, lookup: ReaderLookup = HOST_ONLY): LineParser {
  const readers = new Map<FormatName, LineReader | undefined>(
    ROUTED.map((name) => [name, asLines(lookup(name))]),
  );
  const instances = new Map<string, LineParser>();
  const missing = new Map<FormatName, number>();
  /** The last hostd envelope per input: headerless `-->` lines continue it. */
  let lastHostd: Envelope | undefined;
  let lastHostdKey: string | undefined;

  function parserFor(name: FormatName, host: string | undefined): LineParser | undefined {
    const reader = readers.get(name);
    if (reader === undefined) return undefined;
    let key = `${name}\u0000${host ?? ""}`;
    let p = instances.get(key);
    if (p === undefined) {
      if (instances.size >= MAX_INSTANCES) key = `${name}\u0000\u0000shared`;
      p = instances.get(key);
      if (p === undefined) {
        p = reader.open(ctx);
        instances.set(key, p);
      }
    }
    return p;
  }

  function dispatch(name: FormatName, text: string, lineNo: number, env: Envelope): void {
    const p = parserFor(name, env.host);
    if (p === undefined) {
      missing.set(name, (missing.get(name) ?? 0) + 1);
      ctx.skip(lineNo, "no-reader-for-program");
      return;
    }
    p.line(text, lineNo, env);
  }

  return {
    line(text: string, lineNo: number, envelope?: Envelope): void {
      const env = envelope ?? parseEnvelope(text, ctx.options);
      if (env === undefined) {
        const t = text.trimStart();
        if (t.startsWith("-->") && lastHostd !== undefined && lastHostdKey !== undefined) {
          // A receiver that stored a multi-line message as is: the lines after the first have no
          // header and continue the last hostd record of this file.
          const cont: Envelope = { ...lastHostd, body: t, line: text, continued: true };
          dispatch("hostd", t, lineNo, cont);
          return;
        }
        if (text.trim() !== "" && /guest/i.test(text)) {
          ctx.issue(
            "unparsed_line",
            "line without a syslog header in a syslog receiver file",
            lineNo,
            excerpt(text),
          );
        } else ctx.skip(lineNo, "no-syslog-header");
        return;
      }
      const name = routeOf(env);
      if (name === undefined) {
        ctx.skip(lineNo, "other-program");
        return;
      }
      if (name === "hostd") {
        lastHostd = env;
        lastHostdKey = env.host ?? "";
      }
      dispatch(name, env.body, lineNo, env);
    },
    end(): void {
      for (const p of instances.values()) p.end();
      for (const [name, n] of missing) {
        ctx.issue(
          "unknown_format",
          `${n} line(s) for the ${name} reader skipped: that reader is not available`,
        );
      }
    },
  };
}

/** Union of the routed readers' markers (resolved when read: the registry fills in later). */
function routedMarkers(lookup: ReaderLookup): readonly string[] {
  const out = new Set<string>();
  for (const name of ROUTED) for (const m of asLines(lookup(name))?.markers ?? []) out.add(m);
  return [...out];
}

/**
 * Detection score: syslog headers with host names on most lines, and more than one program or
 * host (a single-program file is better read by that program's reader).
 */
export function sniffSyslog(head: readonly string[]): number {
  let total = 0;
  let withHost = 0;
  const programs = new Set<string>();
  const hosts = new Set<string>();
  for (const text of head) {
    if (text.trim() === "") continue;
    total++;
    const env = parseEnvelope(text, { assumeTz: "UTC" });
    if (env?.host === undefined) continue;
    withHost++;
    hosts.add(env.host);
    if (env.program !== undefined) programs.add(env.program.toLowerCase());
  }
  if (total === 0 || withHost / total < 0.6) return 0;
  return programs.size > 1 || hosts.size > 1 ? 0.85 : 0.5;
}

/**
 * The `syslog` reader, routing through `lookup` (the registry passes
 * `(name) => readerByName(name)`; the lookup is only called once files are read).
 */
export function createSyslogReader(lookup: ReaderLookup = HOST_ONLY): LineReader {
  return defineReader({
    name: "syslog",
    title: "syslog receiver file mixing ESXi and vCenter hosts (each line routed by program)",
    shape: "lines",
    get markers(): readonly string[] {
      return routedMarkers(lookup);
    },
    sniff: sniffSyslog,
    open: (ctx: ReaderContext) => openRouter(ctx, lookup),
  });
}
