/**
 * @module Reader for SIEM exports that keep each syslog message in a JSON field: the Microsoft
 * Sentinel `Syslog` table (`SyslogMessage`, `ProcessName`, `HostName`/`Computer`, `EventTime`/
 * `TimeGenerated`, `Facility`, `SeverityLevel`), Splunk exports (`_raw`, `host`, `_time`, records
 * optionally wrapped in `result`) and Elastic documents (`message` or `event.original`,
 * `host.name`, `@timestamp`, optionally wrapped in `_source`). Each record becomes an `Envelope`
 * built from those fields and its message goes to the syslog router, which hands it to the
 * reader of its program (hostd, vpxd, the vCenter event stream, ...) through `openRouter`.
 *
 * The fields read, in order of preference (names matched case-insensitively; `a.b` is a nested
 * object or a flat dotted key):
 * - message: `SyslogMessage`, `_raw`, `event.original`, `message`, `msg`
 * - program: `ProcessName`, `program`, `appname`, `app_name`, `process.name`, `log.syslog.appname`,
 *   `syslog.appname`, else the program an SC4S `sourcetype` names (`vmware:vclog:vpxd`)
 * - host: `HostName`, `Computer`, `hostname`, `host.name`, `host.hostname`, `host` (a string),
 *   `syslog.hostname`
 * - time: `EventTime`, `TimeGenerated`, `@timestamp`, `_time`, `timestamp` (ISO 8601, Sentinel's
 *   `11/13/2020, 2:06:58.000 PM`, epoch seconds or milliseconds)
 * - pid: `ProcessID`, `pid`, `process.pid`, `syslog.pid` (`null` ignored)
 * - PRI from `Facility` + `SeverityLevel` names, or `pri`
 * When the message itself still starts with a syslog header (Splunk's `_raw`), that header wins; an
 * SC4S `_raw` prefix `- - PROGRAM PID MSGID ` is taken apart too.
 */
import type { JsonElement } from "../../json-elements.js";
import { parseEnvelope } from "../../syslog/envelope.js";
import { epochTime, parseIsoTime, timeFromParts, type ParsedTime } from "../../time.js";
import {
  defineReader,
  type DocumentReader,
  type Envelope,
  type LineParser,
  type ReaderContext,
} from "../../types.js";
import { excerpt } from "../excerpt.js";
import { fieldsOf, jsonHead, jsonRecords, scalarOf } from "../json-records.js";
import { openRouter, type ReaderLookup } from "../syslog/index.js";

const MESSAGE = ["syslogmessage", "_raw", "event.original", "message", "msg"];
const PROGRAM = [
  "processname",
  "program",
  "appname",
  "app_name",
  "process.name",
  "log.syslog.appname",
  "syslog.appname",
];
const HOST = ["hostname", "computer", "host.name", "host.hostname", "host", "syslog.hostname"];
const TIME = ["eventtime", "timegenerated", "@timestamp", "_time", "timestamp"];
const PID = ["processid", "pid", "process.pid", "syslog.pid"];
const FACILITY = ["facility", "log.syslog.facility.name"];
const SEVERITY = ["severitylevel", "severity", "log.syslog.severity.name"];
/** Objects some exports wrap each record in. */
const WRAPPERS = ["result", "_source"];

const FACILITIES = new Map<string, number>(
  [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "clock",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
  ].map((name, i) => [name, i]),
);
const SEVERITIES = new Map<string, number>([
  ["emerg", 0],
  ["emergency", 0],
  ["alert", 1],
  ["crit", 2],
  ["critical", 2],
  ["err", 3],
  ["error", 3],
  ["warning", 4],
  ["warn", 4],
  ["notice", 5],
  ["info", 6],
  ["informational", 6],
  ["debug", 7],
]);

/** A field by lower-cased name: a flat key (`host.name`) or a path through nested objects. */
function pick(f: Map<string, unknown>, name: string): unknown {
  if (f.has(name)) return f.get(name);
  const dot = name.indexOf(".");
  if (dot < 0) return undefined;
  const inner = fieldsOf(f.get(name.slice(0, dot)));
  return inner ? pick(inner, name.slice(dot + 1)) : undefined;
}

function firstString(f: Map<string, unknown>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = scalarOf(pick(f, name));
    if (v !== undefined && v.trim() !== "" && v !== "null") return v;
  }
  return undefined;
}

// Sentinel portal exports: `11/13/2020, 2:06:58.000 PM` (UTC unless the portal was set to local).
const US_TIME =
  /^(?<mo>\d{1,2})\/(?<d>\d{1,2})\/(?<y>\d{4}),?\s+(?<h>\d{1,2}):(?<mi>\d{2})(?::(?<s>\d{2})(?:\.(?<f>\d{1,9}))?)?\s*(?<ap>[AaPp][Mm])?$/;

/** A SIEM time field as UTC ISO. */
export function siemTime(value: unknown, assumeTz: string): ParsedTime | undefined {
  if (typeof value === "number") return epochTime(value);
  const s = scalarOf(value)?.trim();
  if (!s) return undefined;
  if (/^\d{9,10}(?:\.\d+)?$/.test(s)) return epochTime(Number(s) * 1000);
  if (/^\d{12,13}$/.test(s)) return epochTime(Number(s));
  const g = US_TIME.exec(s)?.groups;
  if (g) {
    let hour = Number(g["h"]);
    const ap = g["ap"]?.toUpperCase();
    if (ap && (hour < 1 || hour > 12)) return undefined;
    if (ap === "PM" && hour !== 12) hour += 12;
    if (ap === "AM" && hour === 12) hour = 0;
    return timeFromParts(
      {
        year: Number(g["y"]),
        month: Number(g["mo"]),
        day: Number(g["d"]),
        hour,
        minute: Number(g["mi"]),
        second: Number(g["s"] ?? 0),
        millisecond: Number(((g["f"] ?? "") + "000").slice(0, 3)),
      },
      undefined,
      assumeTz,
    );
  }
  return parseIsoTime(s, assumeTz);
}

function priOf(f: Map<string, unknown>): number | undefined {
  const pri = firstString(f, ["pri"]);
  if (pri !== undefined && /^\d{1,3}$/.test(pri) && Number(pri) <= 191) return Number(pri);
  const fac = FACILITIES.get(firstString(f, FACILITY)?.toLowerCase() ?? "");
  const sev = SEVERITIES.get(firstString(f, SEVERITY)?.toLowerCase() ?? "");
  return fac === undefined || sev === undefined ? undefined : fac * 8 + sev;
}

/** The envelope a SIEM record's fields describe, around `message`. */
export function envelopeOf(
  f: Map<string, unknown>,
  message: string,
  ctx: ReaderContext,
  line?: number,
): Envelope {
  const own = parseEnvelope(message, ctx.options);
  const sc4s = own ? undefined : SC4S_PREFIX.exec(message)?.groups;
  const time = timeOf(f, ctx, line);
  const program =
    firstString(f, PROGRAM) ??
    sc4s?.["prog"] ??
    programOfSourcetype(firstString(f, ["sourcetype"]));
  const host = firstString(f, HOST);
  const pid = firstString(f, PID) ?? (sc4s?.["pid"] !== "-" ? sc4s?.["pid"] : undefined);
  const pri = priOf(f);
  const fromFields: Envelope = {
    ...(pri !== undefined ? { pri } : {}),
    ...(time ? { time: time.time } : {}),
    ...(time?.assumed ? { timeAssumed: true } : {}),
    ...(host ? { host } : {}),
    ...(program ? { program } : {}),
    ...(pid ? { pid } : {}),
    body: sc4s?.["rest"] ?? message,
  };
  if (!own) return fromFields;
  // The message still has its syslog header: what it says beats what the SIEM re-parsed.
  return { ...fromFields, ...own };
}

/**
 * Splunk SC4S stores vSphere lines as `- - PROGRAM PID MSGID <sd+message>` (template
 * `t_5424_hdr_sdata_compact`, time and host kept as Splunk fields) [I: from its configuration].
 */
const SC4S_PREFIX = /^- - (?<prog>[^\s[\]:]+) (?<pid>\S+) (?<msgid>\S+) (?<rest>.*)$/s;

/** Splunk SC4S sourcetypes name the program: `vmware:esxlog:hostd`, `vmware:vclog:vpxd`. */
function programOfSourcetype(sourcetype: string | undefined): string | undefined {
  return sourcetype === undefined
    ? undefined
    : /^vmware:(?:esx|vc)log:(?<p>[\w.-]+)$/.exec(sourcetype)?.groups?.["p"];
}

/** The first time field present, parsed; a present but unreadable one is reported. */
function timeOf(
  f: Map<string, unknown>,
  ctx: ReaderContext,
  line: number | undefined,
): ParsedTime | undefined {
  for (const name of TIME) {
    const v = pick(f, name);
    const s = typeof v === "number" ? String(v) : scalarOf(v);
    if (s === undefined || s.trim() === "" || s === "null") continue;
    const t = siemTime(v, ctx.options.assumeTz);
    if (!t) ctx.issue("bad_time", `SIEM time field ${name} not understood`, line, s.slice(0, 80));
    return t;
  }
  return undefined;
}

/** How a router is opened: the syslog router's parser, fed `(body, lineNo, envelope)`. */
export type OpenRouter = (ctx: ReaderContext) => LineParser;

function recordOf(value: unknown): Map<string, unknown> | undefined {
  let f = fieldsOf(value);
  for (let i = 0; f && i < 2; i++) {
    if (firstString(f, MESSAGE) !== undefined) return f;
    const inner = WRAPPERS.map((w) => fieldsOf(f?.get(w))).find((x) => x !== undefined);
    if (!inner) return f;
    f = inner;
  }
  return f;
}

/** A SIEM JSON reader that hands messages to `openRouter`'s parser. */
export function createSiemJsonReader(openRouter: OpenRouter): DocumentReader {
  const read = async (bytes: AsyncIterable<Buffer>, ctx: ReaderContext): Promise<void> => {
    const router = openRouter(ctx);
    const onRecord = (el: JsonElement, value: unknown): void => {
      const items = Array.isArray(value) ? value : [value];
      for (const item of items) {
        const f = recordOf(item);
        if (!f) {
          ctx.issue("bad_json", "JSON record is not an object", el.line, excerpt(el.text));
          continue;
        }
        const message = firstString(f, MESSAGE);
        if (message === undefined) {
          ctx.issue(
            "unparsed_line",
            "SIEM record without a message field",
            el.line,
            excerpt(el.text),
          );
          continue;
        }
        const envelope = envelopeOf(f, message, ctx, el.line);
        // One record may hold a multi-line message (hostd `-->` dumps): each line goes on its own.
        const lines = envelope.body.split(/\r?\n/);
        for (const [i, body] of lines.entries()) {
          if (body === "" && i > 0) continue;
          router.line(body, el.line, lines.length === 1 ? envelope : { ...envelope, body });
        }
      }
    };
    try {
      for await (const { el, value } of jsonRecords(bytes, ctx)) onRecord(el, value);
    } finally {
      router.end();
    }
  };

  return defineReader({
    name: "siem-json",
    title: "SIEM JSON exports (Sentinel Syslog table, Splunk _raw, Elastic message)",
    shape: "document",
    sniff: (head) => {
      const text = jsonHead(head);
      if (text === undefined) return 0;
      if (/"SyslogMessage"\s*:/.test(text)) return 0.95;
      if (/"_raw"\s*:/.test(text)) return 0.8;
      if (
        /"(?:message|event\.original)"\s*:/.test(text) &&
        /"(?:@timestamp|_time)"\s*:/.test(text)
      ) {
        return 0.5;
      }
      return 0;
    },
    read,
  });
}

/**
 * The SIEM JSON reader over the syslog router, which finds the program readers through `lookup`
 * (the registry passes its `readerByName`; it is only called once a file is read).
 */
export const createSiemJsonReaderFor = (lookup: ReaderLookup): DocumentReader =>
  createSiemJsonReader((ctx) => openRouter(ctx, lookup));
