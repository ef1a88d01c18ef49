/**
 * The grammar of one physical hostd line, every version (telemetry.md §3.1):
 *
 * | version | shape |
 * |---|---|
 * | pre-5.0 | `[2011-04-01 15:14:34.203 F5A5AB90 info 'vm:/…/X.vmx' opID=…] msg` |
 * | 5.x | `2014-01-17T04:55:50.347Z [7F03ECE76700 verbose 'Default' opID=… user=…] msg` |
 * | 6.x/7.0 | `2016-11-04T19:14:11.716Z info hostd[7BD44B70] [Originator@6876 sub=… opID=… user=…] msg` |
 * | 8.x | `2024-06-04T21:58:00.975Z In(166) Hostd[1050232]: [Originator@6876 sub=…] msg` (an envelope) |
 * | 9.x [I] | `… INFO hostd 20973 [Originator@4413 sub="…" opID="…"] msg`, `[ops@4413 …]` |
 *
 * and the same lines inside a syslog envelope (`<166>TS host Hostd: info hostd[tid] […] msg`,
 * `<166>TS host Hostd[pid]: […] msg`, RFC 5424 with the block as header SD). Continuation lines of
 * a multi-line message start with `-->` (locally without any header; over syslog or in ESXi 8
 * files after the header, there with the `[+]` marker).
 */
import { parseEnvelope } from "../../syslog/envelope.js";
import {
  elementEnd,
  parseElement,
  parseStructuredData,
  readParams,
} from "../../syslog/structured-data.js";
import { scanIsoTime } from "../../time.js";
import type { Envelope, ReadOptions } from "../../types.js";

/** The Originator block (or the pre-6.0 bracket) fields guestops uses. */
export interface Block {
  sub?: string;
  opId?: string;
  sid?: string;
  user?: string;
  item?: string;
  req?: string;
}

export interface HostdLine {
  readonly kind: "head" | "continuation";
  /** ISO UTC, when the line (or its envelope) carried a usable time. */
  readonly time?: string;
  readonly timeAssumed?: boolean;
  /** The line had a timestamp field but it was redacted or invalid. */
  readonly timeBad?: boolean;
  readonly host?: string;
  /** hostd thread or process id as written (hex tid before 7.0, decimal after). */
  readonly thread?: string;
  readonly block: Block;
  /** The message after the block (head), or the text after `-->` (continuation). */
  readonly msg: string;
  /** The block was cut short (no closing `]`): a truncated line. */
  readonly truncated?: boolean;
  /** Came through a syslog envelope (folding is keyed by host and thread, not by position). */
  readonly wrapped: boolean;
  /** A pre-6.0 bracket form (`[TID level 'logger' …]`), whose shape vpxd shares. */
  readonly legacy?: boolean;
  /** A shape not seen in public hostd samples: quoted `@4413` blocks, RFC 5424 SD, 9.x local. */
  readonly inferred?: boolean;
  /** The sender shortened the message (`msgModified` in the RFC 5424 SD: over `maxMsgLen`). */
  readonly shortened?: boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** A fresh line object; optional fields are only set when known (no spreads: hot path). */
function make(
  kind: HostdLine["kind"],
  block: Block,
  msg: string,
  p: Prefix,
  host: string | undefined,
  thread: string | undefined,
  wrapped: boolean,
): Mutable<HostdLine> {
  const out: Mutable<HostdLine> = { kind, block, msg, wrapped };
  if (p.time !== undefined) out.time = p.time;
  if (p.timeAssumed) out.timeAssumed = true;
  if (p.timeBad) out.timeBad = true;
  if (host !== undefined) out.host = host;
  if (thread !== undefined) out.thread = thread;
  return out;
}

/** Result of reading a line: a hostd line, a line of another program, or not understood. */
export type LineResult =
  | { readonly type: "hostd"; readonly line: HostdLine }
  | { readonly type: "foreign"; readonly program: string }
  | { readonly type: "unparsed" };

const isSpace = (c: number): boolean => c === 32 || c === 9;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

function skipSpaces(s: string, i: number): number {
  while (isSpace(s.charCodeAt(i))) i++;
  return i;
}

function tokenEnd(s: string, i: number): number {
  const j = s.indexOf(" ", i);
  return j < 0 ? s.length : j;
}

/** `Originator@6876`, `ops@4413`, `Originator@4413`: an SD-ID with an enterprise number. */
function isSdStart(s: string, i: number): boolean {
  if (s.charCodeAt(i) !== 91) return false;
  const sp = s.indexOf(" ", i);
  const end = sp < 0 ? Math.min(s.length, i + 40) : Math.min(sp, i + 40);
  const at = s.indexOf("@", i);
  return at > i + 1 && at < end && isDigit(s.charCodeAt(at + 1));
}

function setField(b: Block, name: string, value: string): void {
  // Only known names are kept (no attacker-chosen keys).
  switch (name) {
    case "sub":
      b.sub = value;
      break;
    case "opID":
    case "opId":
      b.opId = value;
      break;
    case "sid":
      b.sid = value;
      break;
    case "user":
      b.user = value;
      break;
    case "item":
      b.item = value;
      break;
    case "req":
      b.req = value;
      break;
    default:
      break;
  }
}

/** Fields of one parsed SD element; only known names are kept (no attacker-chosen keys). */
function blockFrom(params: readonly (readonly [string, string])[]): Block {
  const b: Block = {};
  for (const [k, v] of params) setField(b, k, v);
  return b;
}

/** The block of the SD element `s.slice(start, end)` (as `parseElement` reads it). */
function blockAt(s: string, start: number, end: number, truncated: boolean): Block {
  const b: Block = {};
  readParams(s, start, end, truncated, b, setField);
  return b;
}

/** First `]` followed by white space or the end, at or after `from`; -1 if none. */
function closingBracket(s: string, from: number): number {
  let i = s.indexOf("]", from);
  while (i >= 0) {
    if (i + 1 >= s.length || isSpace(s.charCodeAt(i + 1))) return i + 1;
    i = s.indexOf("]", i + 1);
  }
  return -1;
}

interface BlockParse {
  readonly block: Block;
  readonly msg: string;
  readonly truncated: boolean;
  /** The block is a Broadcom-era one (`@4413`) or quotes its values. */
  readonly inferred?: boolean;
}

/** `s.slice(i, lim)` includes `needle` (without the slice; at most `lim - i` steps). */
function includesBefore(s: string, needle: string, i: number, lim: number): boolean {
  const c = needle.charCodeAt(0);
  for (let k = i; k + needle.length <= lim; k++) {
    if (s.charCodeAt(k) === c && s.startsWith(needle, k)) return true;
  }
  return false;
}

const inferredSd = (s: string, i: number, end: number): boolean => {
  const lim = Math.min(end, i + 64);
  return includesBefore(s, "@4413", i, lim) || includesBefore(s, '="', i, lim);
};

/**
 * The `[Originator@… …]` block at `i` and the message after it. A VM path in `sub` may hold
 * `] ` itself: when `sub=Vmsvc.vm:` does not reach `.vmx`, the block is extended to the `]` after
 * the next `.vmx`.
 */
export function parseOriginator(s: string, i: number): BlockParse {
  let end = elementEnd(s, i);
  if (end < 0) {
    return {
      block: blockAt(s, i, s.length, true),
      msg: "",
      truncated: true,
      ...(inferredSd(s, i, s.length) ? { inferred: true } : {}),
    };
  }
  let block = blockAt(s, i, end, false);
  if (block.sub?.startsWith("Vmsvc.vm:") && !block.sub.includes(".vmx")) {
    const vmx = s.indexOf(".vmx", end - 1);
    const e2 = vmx < 0 ? -1 : closingBracket(s, vmx + 4);
    if (e2 > 0) {
      end = e2;
      block = blockAt(s, i, end, false);
    }
  }
  return {
    block,
    msg: s.slice(skipSpaces(s, end)),
    truncated: false,
    ...(inferredSd(s, i, end) ? { inferred: true } : {}),
  };
}

/**
 * The pre-6.0 bracket after `[` (and after the date/time for pre-5.0): `TID LEVEL 'LOGGER' k=v…]`.
 * `i` points at TID.
 */
function parseOldBracket(s: string, i: number): (BlockParse & { thread: string }) | undefined {
  const tidEnd = tokenEnd(s, i);
  const thread = s.slice(i, tidEnd);
  let j = skipSpaces(s, tidEnd);
  const levelEnd = tokenEnd(s, j);
  j = skipSpaces(s, levelEnd);
  if (s.charCodeAt(j) !== 39 /* ' */) return undefined;
  // The logger runs to a quote followed by a space or `]`.
  let q = s.indexOf("'", j + 1);
  while (
    q >= 0 &&
    !(q + 1 >= s.length || s.charCodeAt(q + 1) === 32 || s.charCodeAt(q + 1) === 93)
  ) {
    q = s.indexOf("'", q + 1);
  }
  if (q < 0) {
    return { block: { sub: s.slice(j + 1) }, msg: "", truncated: true, thread };
  }
  const logger = s.slice(j + 1, q);
  const end = closingBracket(s, q + 1);
  const paramsEnd = end < 0 ? s.length : end - 1;
  const synthetic = `[x ${s.slice(q + 1, paramsEnd)}]`;
  const block = blockFrom(parseElement(synthetic, 0, synthetic.length).params);
  block.sub = logger;
  return {
    block,
    msg: end < 0 ? "" : s.slice(skipSpaces(s, end)),
    truncated: end < 0,
    thread,
  };
}

interface Prefix {
  time?: string;
  timeAssumed?: boolean;
  timeBad?: boolean;
}

/** `hostd[TID]`, `Hostd[TID]:`, `-[TID]`: the thread; else undefined. */
function nameWithThread(tok: string): string | undefined {
  const b = tok.indexOf("[");
  if (b < 0) return undefined;
  const name = tok.slice(0, b);
  if (name !== "hostd" && name !== "Hostd" && name !== "-") return undefined;
  let close = tok.length - 1;
  if (tok.charCodeAt(close) === 58) close--;
  if (tok.charCodeAt(close) !== 93 || close <= b + 1) return undefined;
  return tok.slice(b + 1, close);
}

const LEVEL_WORDS = new Set([
  "verbose",
  "trivia",
  "info",
  "warning",
  "error",
  "panic",
  "debug",
  "VERBOSE",
  "TRIVIA",
  "INFO",
  "WARNING",
  "WARN",
  "ERROR",
  "PANIC",
  "DEBUG",
]);

/** `In(166)`, `Db(167)[+]`: an ESXi 8 severity token; returns whether it has the `+` marker. */
function severityCode(tok: string): { continued: boolean } | undefined {
  if (tok.length < 5 || tok.charCodeAt(2) !== 40) return undefined;
  const close = tok.indexOf(")");
  if (close < 4) return undefined;
  for (let k = 3; k < close; k++) if (!isDigit(tok.charCodeAt(k))) return undefined;
  const rest = tok.slice(close + 1);
  if (rest === "") return { continued: false };
  if (rest === "[+]" || rest === "+") return { continued: true };
  return undefined;
}

/**
 * The part after the time (or in an envelope body): `LEVEL NAME[TID] [block] msg`, `LEVEL hostd
 * PID [block] msg` (9.x), `[TID LEVEL 'LOGGER' …] msg` (5.x), `[block] msg` (8.x body) or
 * `--> text`.
 */
function parseAfterTime(
  s: string,
  i: number,
  p: Prefix,
  host: string | undefined,
  thread: string | undefined,
  wrapped: boolean,
  allowBare: boolean,
): Mutable<HostdLine> | undefined {
  i = skipSpaces(s, i);
  if (s.startsWith("-->", i)) {
    return make("continuation", {}, s.slice(i + 3), p, host, thread, wrapped);
  }
  if (s.charCodeAt(i) === 91) {
    if (isSdStart(s, i)) {
      const b = parseOriginator(s, i);
      const out = make("head", b.block, b.msg, p, host, thread, wrapped);
      if (b.truncated) out.truncated = true;
      if (b.inferred) out.inferred = true;
      return out;
    }
    const old = parseOldBracket(s, i + 1);
    if (old === undefined) return undefined;
    const out = make("head", old.block, old.msg, p, host, old.thread, wrapped);
    if (old.truncated) out.truncated = true;
    out.legacy = true;
    return out;
  }
  // LEVEL NAME[TID] or LEVEL hostd PID
  const levelEnd = tokenEnd(s, i);
  const level = s.slice(i, levelEnd);
  const sev = severityCode(level);
  if (!LEVEL_WORDS.has(level) && sev === undefined) {
    if (!allowBare) return undefined;
    // A wrapped message without level or block (`Hostd[pid]: some text`).
    return make("head", {}, s.slice(i), p, host, thread, wrapped);
  }
  let j = skipSpaces(s, levelEnd);
  const nameEnd = tokenEnd(s, j);
  const nameTok = s.slice(j, nameEnd);
  let tid = nameWithThread(nameTok);
  const bracketed = tid !== undefined;
  j = nameEnd;
  if (tid === undefined) {
    if (nameTok !== "hostd" && nameTok !== "Hostd") return undefined;
    const pidStart = skipSpaces(s, j);
    const pidEnd = tokenEnd(s, pidStart);
    const pid = s.slice(pidStart, pidEnd);
    if (pid.length === 0 || !/^\d+$/.test(pid)) return undefined;
    tid = pid;
    j = pidEnd;
  }
  const rest = parseAfterTime(s, j, p, host, tid, wrapped, true);
  if (rest === undefined) return undefined;
  if (!bracketed) rest.inferred = true; // 9.x `INFO hostd PID`
  // An ESXi 8 `[+]` severity makes the line a continuation even without `-->`.
  if (sev?.continued && rest.kind === "head") rest.kind = "continuation";
  return rest;
}

/** A timestamp or a redaction (`#######`) at the start; undefined when neither. */
function leadingTime(s: string, options: ReadOptions): { p: Prefix; end: number } | undefined {
  const t = scanIsoTime(s, 0, options);
  if (t !== undefined) {
    if (t.end < s.length && !isSpace(s.charCodeAt(t.end))) return undefined;
    const p: Prefix = {};
    if (t.time !== undefined) p.time = t.time;
    else p.timeBad = true;
    if (t.assumed) p.timeAssumed = true;
    return { p, end: t.end };
  }
  const e = tokenEnd(s, 0);
  const tok = s.slice(0, e);
  if (tok.length > 0 && /^[#*X?]+$/.test(tok)) return { p: { timeBad: true }, end: e };
  return undefined;
}

/** A line of a local hostd.log (no syslog header), or of an envelope body holding one. */
function parseLocal(
  s: string,
  options: ReadOptions,
  host: string | undefined,
  wrapped: boolean,
): Mutable<HostdLine> | undefined {
  const i = skipSpaces(s, 0);
  if (s.startsWith("-->", i)) {
    return make("continuation", {}, s.slice(i + 3), {}, host, undefined, wrapped);
  }
  // pre-5.0: "[2011-04-01 15:14:34.203 F5A5AB90 info 'vm:…' opID=…] msg"
  if (s.charCodeAt(i) === 91 && isDigit(s.charCodeAt(i + 1))) {
    const t = scanIsoTime(s, i + 1, options, true);
    if (t === undefined || !isSpace(s.charCodeAt(t.end))) return undefined;
    const old = parseOldBracket(s, skipSpaces(s, t.end));
    if (old === undefined) return undefined;
    const p: Prefix = {};
    if (t.time !== undefined) p.time = t.time;
    else p.timeBad = true;
    if (t.assumed) p.timeAssumed = true;
    const out = make("head", old.block, old.msg, p, host, old.thread, wrapped);
    if (old.truncated) out.truncated = true;
    out.legacy = true;
    return out;
  }
  const c = s.charCodeAt(i);
  // Only a digit (a time) or a redaction can start a local line: skip the rest fast.
  if (!isDigit(c) && c !== 35 /* # */ && c !== 42 /* * */ && c !== 88 /* X */ && c !== 63) {
    return undefined;
  }
  const lt = leadingTime(s, options);
  if (lt === undefined) return undefined;
  return parseAfterTime(s, lt.end, lt.p, host, undefined, wrapped, false);
}

export const isHostdProgram = (p: string | undefined): boolean => p === "Hostd" || p === "hostd";

function isEmpty(b: Block): boolean {
  for (const k in b) if (Object.hasOwn(b, k)) return false;
  return true;
}

/**
 * Reads one physical line. `envelope`, when a router already unwrapped the line, gives host, time
 * and program; otherwise the line is unwrapped here (`parseEnvelope`) or read as a local line.
 */
export function readHostdLine(text: string, options: ReadOptions, envelope?: Envelope): LineResult {
  return readHostdLineFrom(text, options, envelope ?? parseEnvelope(text, options));
}

/** `readHostdLine` once the envelope is known: `env` undefined means the line has none. */
export function readHostdLineFrom(
  text: string,
  options: ReadOptions,
  env: Envelope | undefined,
): LineResult {
  if (env === undefined) {
    const local = parseLocal(text, options, undefined, false);
    return local === undefined ? { type: "unparsed" } : { type: "hostd", line: local };
  }
  if (env.program !== undefined && !isHostdProgram(env.program)) {
    return { type: "foreign", program: env.program };
  }
  const body = env.body;
  const prefix: Prefix = {};
  if (env.time !== undefined) prefix.time = env.time;
  if (env.timeAssumed) prefix.timeAssumed = true;
  // A receiver that wrapped a whole local line: the inner time is the original one.
  const line =
    parseLocal(body, options, env.host, true) ??
    parseAfterTime(body, 0, prefix, env.host, env.pid, true, true);
  if (line === undefined) return { type: "unparsed" };
  if (line.time === undefined && !line.timeBad && prefix.time !== undefined) {
    line.time = prefix.time;
    if (prefix.timeAssumed) line.timeAssumed = true;
  }
  if (line.thread === undefined && env.pid !== undefined) line.thread = env.pid;
  if (env.continued && line.kind === "head") {
    line.kind = "continuation";
    line.msg = body;
  }
  // RFC 5424: the block is the header's structured data.
  if (env.structuredData !== undefined && line.kind === "head" && isEmpty(line.block)) {
    const els = parseStructuredData(env.structuredData);
    const el = els.find((e) => e.id.startsWith("Originator@") || e.id.startsWith("ops@")) ?? els[0];
    if (el !== undefined) {
      line.block = blockFrom(el.params);
      line.inferred = true;
      if (el.truncated) line.truncated = true;
    }
  }
  if (env.structuredData?.includes('msgModified="true"')) line.shortened = true;
  return { type: "hostd", line };
}
