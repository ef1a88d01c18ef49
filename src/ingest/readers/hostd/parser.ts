/**
 * The stateful hostd line parser: folds multi-line records, joins `Solo.Vmomi` call dumps per
 * thread, and emits canonical records.
 *
 * Folding. A continuation line (`--> …`, or an ESXi 8 `[+]` line) belongs to:
 * - in a local file, the physical line just before it (hostd writes a multi-line message in one
 *   go); a gap in line numbers means the owner was dropped by the prefilter, i.e. irrelevant;
 * - in syslog-wrapped input, the open record of the same (host, thread/pid), so interleaved dumps
 *   from many hosts and threads in one receiver file fold correctly; without a thread id, the last
 *   record of that host.
 * A continuation block with no owner is counted: an `orphan_part` issue when its text is about
 * guest operations (evidence lost with its head), a skip otherwise.
 *
 * Cost. Most lines handed over are continuation lines, so `line` reads them from their first bytes
 * (`fastContinuation`): a local `-->` line needs only its line number; a syslog-wrapped one only
 * its header's host, pid and time (`scanHeader` offsets, the time read from its digits), not an
 * `Envelope` or a `HostdLine`. Every other line is read in full, as before.
 *
 * Call dumps. At verbose level hostd writes, per thread, for a call that faults:
 * `Activation … Invoke done [method] on [vim.vm.guest.X:moid]`, `Arg <name>:` + dump (one per
 * argument), `Throw <fault>`, `Result:` + dump. Consecutive `Arg` records of a thread become one
 * `hostd.args` observation when any of them is a guest type (or the call is a guest call); a
 * `Throw` on a guest thread and its `Result:` dump become one `hostd.fault` observation. Other
 * calls' dumps are skipped.
 */
import { lookupMethod } from "../../../model/catalog.js";
import type {
  Evidence,
  Observation,
  ObservationKind,
  Provenance,
  SessionKind,
  SessionRecord,
  VmRef,
} from "../../../model/record.js";
import {
  envelopeFromScan,
  headerTimeMs,
  newHeaderScan,
  scanHeader,
  type HeaderScan,
} from "../../syslog/envelope.js";
import type { Envelope, LineParser, ReaderContext } from "../../types.js";
import { isoTimeMs } from "../../time.js";
import { excerpt } from "../excerpt.js";
import { parseDump } from "./dump.js";
import { isHostdProgram, readHostdLineFrom, type HostdLine } from "./line.js";
import {
  GUEST_STATE,
  dirOf,
  parseActivation,
  parseArgHead,
  parseAuth,
  parseEventMessage,
  parseGuestFilePath,
  parseNewRequest,
  parsePassword,
  parseStateTransition,
  parseThrow,
  isResultHead,
  vmxFromSub,
  type Request,
} from "./messages.js";

interface Phys {
  readonly lineNo: number;
  readonly raw: string;
}

type PendingKind = "arg" | "result" | "other" | "orphan";

/** A multi-line record being folded (one class: every pending record has the same shape). */
class Pending {
  readonly kind: PendingKind;
  readonly key: string;
  readonly threadKey: string;
  readonly head: HostdLine | undefined;
  readonly argName: string | undefined;
  readonly lines: Phys[];
  readonly texts: string[] = [];
  lastLineNo: number;
  reported = false;
  overflow = false;
  /** Bracket depth of the dump so far (outside quotes), to close it at its natural end. */
  depth = 0;
  inQuote = false;
  /** The head's time in epoch ms, once `headMs` has read it (NaN: not read yet). */
  headTime = NaN;
  headTimeRead = false;

  constructor(
    kind: PendingKind,
    key: string,
    threadKey: string,
    head: HostdLine | undefined,
    argName: string | undefined,
    lines: Phys[],
    lastLineNo: number,
  ) {
    this.kind = kind;
    this.key = key;
    this.threadKey = threadKey;
    this.head = head;
    this.argName = argName;
    this.lines = lines;
    this.lastLineNo = lastLineNo;
  }
}

/** Updates a dump's bracket depth and quote state with one more line of it: `t` from `from`. */
function scanDepth(p: Pending, t: string, from: number): void {
  let depth = p.depth;
  let q = p.inQuote;
  for (let i = from; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (q) {
      if (c === 92) i++;
      else if (c === 34) q = false;
    } else if (c === 34) q = true;
    else if (c === 123 || c === 91) depth++;
    else if (c === 125 || c === 93) depth--;
  }
  p.depth = depth;
  p.inQuote = q;
}

interface ArgsAcc {
  readonly head: HostdLine;
  readonly lines: Phys[];
  guest: boolean;
  incomplete: boolean;
  program?: string;
  arguments?: string;
  workingDirectory?: string;
  username?: string;
  path?: string;
  moref?: string;
  api?: string;
}

interface FaultAcc {
  readonly head: HostdLine;
  readonly lines: Phys[];
  readonly fault: string;
  incomplete: boolean;
}

interface CallCtx {
  guest: boolean;
  method?: string | undefined;
  api?: string | undefined;
  timeMs?: number;
  lastLineNo: number;
  args?: ArgsAcc | undefined;
  fault?: FaultAcc | undefined;
}

const LOCAL = "\u0000local";
/** The thread key of a local continuation line (no host, no thread). */
const LOCAL_THREAD = "\u0000?";
/** Pending records and call contexts older than this many lines are closed. */
const STALE_LINES = 5000;
const SWEEP_EVERY = 2048;
/** A call context older than this (by log time) no longer explains a new dump. */
const CALL_WINDOW_MS = 30_000;
/** Dumps longer than this keep only their first lines (the rest is counted as skipped). */
const MAX_DUMP_LINES = 400;
const MAX_OPEN = 20_000;

/**
 * A guest-operations type in a dump (`vim.vm.guest.NamePasswordAuthentication`): an orphan
 * continuation block with it is lost evidence. (`guest` alone is too common: property dumps of
 * `vim.vm.GuestInfo`.)
 */
const RELEVANT = "vim.vm.guest.";
/** A continuation line this much later than its open record's head belongs to another record. */
const CONTINUATION_WINDOW_MS = 5000;

/** Index of the first character at or after `i` that is not a space or tab. */
function skipBlanks(s: string, i: number): number {
  while (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 9) i++;
  return i;
}

/** `s.slice(start, end) === v`, without the slice. */
const sameText = (s: string, start: number, end: number, v: string | undefined): boolean =>
  v !== undefined && v.length === end - start && s.startsWith(v, start);

/** `Hostd` / `hostd` as the header's program tag (any other program's line is foreign). */
const isHostdTag = (s: string, h: HeaderScan): boolean =>
  h.programEnd - h.programStart === 5 &&
  (s.startsWith("Hostd", h.programStart) || s.startsWith("hostd", h.programStart));

const PATH_ARG = /path$/i;

export function createHostdParser(ctx: ReaderContext): LineParser {
  const pending = new Map<string, Pending>();
  const calls = new Map<string, CallCtx>();
  const lastKeyByHost = new Map<string, string>();
  let sinceSweep = 0;
  const header = newHeaderScan();

  // ---- emission -------------------------------------------------------------------------------

  const prov = (lines: readonly Phys[]): Provenance => ({
    source: ctx.source,
    line: lines[0]?.lineNo ?? 0,
    lineCount: lines.length,
    raw: lines.map((l) => l.raw).join("\n"),
  });

  function checkTime(head: HostdLine, lineNo: number, raw: string): void {
    if (head.time === undefined) {
      ctx.issue(
        head.timeBad ? "bad_time" : "missing_time",
        head.timeBad
          ? "hostd record with a redacted or invalid timestamp: kept without a time"
          : "hostd record without a timestamp: kept without a time",
        lineNo,
        excerpt(raw),
      );
    } else if (head.timeAssumed) {
      ctx.issue(
        "assumed_time",
        "timestamp without year or zone: year inferred, zone from --assume-tz",
        lineNo,
        excerpt(raw),
      );
    }
  }

  const hostOf = (head: HostdLine): string | undefined => head.host ?? ctx.source.hostHint;

  interface ObsInit {
    vm?: VmRef | undefined;
    method?: string | undefined;
    api?: string | undefined;
    opId?: string | undefined;
    session?: string | undefined;
    user?: string | undefined;
    outcome?: Observation["outcome"] | undefined;
    fault?: string | undefined;
    guest?: Observation["guest"] | undefined;
    eventKey?: string | undefined;
  }

  function observation(
    kind: ObservationKind,
    head: HostdLine,
    lines: readonly Phys[],
    init: ObsInit,
    evidence: Evidence,
  ): void {
    const first = lines[0];
    checkTime(head, first?.lineNo ?? 0, first?.raw ?? "");
    const o: Record<string, unknown> = { type: "observation", kind, time: head.time };
    if (head.timeAssumed && head.time !== undefined) o.timeAssumed = true;
    const host = hostOf(head);
    if (host !== undefined) o.host = host;
    // In the order of ObsInit (every call site writes its fields in that order).
    if (init.vm !== undefined) o.vm = init.vm;
    if (init.method !== undefined) o.method = init.method;
    if (init.api !== undefined) o.api = init.api;
    if (init.opId !== undefined) o.opId = init.opId;
    if (init.session !== undefined) o.session = init.session;
    if (init.user !== undefined) o.user = init.user;
    if (init.outcome !== undefined) o.outcome = init.outcome;
    if (init.fault !== undefined) o.fault = init.fault;
    if (init.guest !== undefined) o.guest = init.guest;
    if (init.eventKey !== undefined) o.eventKey = init.eventKey;
    if (head.thread !== undefined) o.thread = head.thread;
    o.process = "hostd";
    o.evidence = head.inferred ? "inferred" : evidence;
    o.prov = prov(lines);
    ctx.emit(o as unknown as Observation);
  }

  interface SessionInit {
    user?: string | undefined;
    sourceIp?: string | undefined;
    userAgent?: string | undefined;
    session?: string | undefined;
    opId?: string | undefined;
    apiInvocations?: number | undefined;
    loginTime?: string | undefined;
    eventKey?: string | undefined;
  }

  function session(
    kind: SessionKind,
    head: HostdLine,
    phys: Phys,
    init: SessionInit,
    evidence: Evidence,
  ): void {
    checkTime(head, phys.lineNo, phys.raw);
    const o: Record<string, unknown> = { type: "session", kind, time: head.time };
    if (head.timeAssumed && head.time !== undefined) o.timeAssumed = true;
    const host = hostOf(head);
    if (host !== undefined) o.host = host;
    // In the order of SessionInit (every call site writes its fields in that order).
    if (init.user !== undefined) o.user = init.user;
    if (init.sourceIp !== undefined) o.sourceIp = init.sourceIp;
    if (init.userAgent !== undefined) o.userAgent = init.userAgent;
    if (init.session !== undefined) o.session = init.session;
    if (init.opId !== undefined) o.opId = init.opId;
    if (init.apiInvocations !== undefined) o.apiInvocations = init.apiInvocations;
    if (init.loginTime !== undefined) o.loginTime = init.loginTime;
    if (init.eventKey !== undefined) o.eventKey = init.eventKey;
    o.process = "hostd";
    o.evidence = head.inferred ? "inferred" : evidence;
    o.prov = prov([phys]);
    ctx.emit(o as unknown as SessionRecord);
  }

  function apiOf(spelling: string | undefined, lineNo: number, raw: string): string | undefined {
    if (spelling === undefined) return undefined;
    const info = lookupMethod(spelling);
    if (info === undefined) {
      ctx.issue(
        "unknown_method",
        `guest-operation method not in the catalog: ${spelling}`,
        lineNo,
        excerpt(raw),
      );
      return undefined;
    }
    return info.api;
  }

  // ---- call contexts (per host + thread) ------------------------------------------------------

  function timeMs(head: HostdLine): number | undefined {
    return msOf(head.time);
  }

  function msOf(time: string | undefined): number | undefined {
    if (time === undefined) return undefined;
    const t = isoTimeMs(time);
    return Number.isNaN(t) ? undefined : t;
  }

  // The folding key of the last (host, thread) seen: consecutive lines mostly share it.
  let lastHost: string | undefined;
  let lastThread: string | undefined;
  let lastKey = "\u0000";

  /** `host NUL thread`: the key of a wrapped line's open record. */
  function keyOf(host: string | undefined, thread: string | undefined): string {
    if (host !== lastHost || thread !== lastThread) {
      lastHost = host;
      lastThread = thread;
      lastKey = `${host ?? ""}\u0000${thread ?? ""}`;
    }
    return lastKey;
  }

  /** The time of a pending record's head (read once per record). */
  function headMs(p: Pending): number | undefined {
    if (!p.headTimeRead) {
      p.headTimeRead = true;
      const t = p.head === undefined ? undefined : timeMs(p.head);
      if (t !== undefined) p.headTime = t;
    }
    return Number.isNaN(p.headTime) ? undefined : p.headTime;
  }

  function callFor(threadKey: string, head: HostdLine, lineNo: number): CallCtx {
    let call = calls.get(threadKey);
    const t = timeMs(head);
    if (
      call !== undefined &&
      t !== undefined &&
      call.timeMs !== undefined &&
      t - call.timeMs > CALL_WINDOW_MS
    ) {
      closeCall(threadKey);
      call = undefined;
    }
    if (call === undefined) {
      call = { guest: false, lastLineNo: lineNo, ...(t !== undefined ? { timeMs: t } : {}) };
      calls.set(threadKey, call);
    }
    call.lastLineNo = lineNo;
    return call;
  }

  function skipLines(lines: readonly Phys[]): void {
    for (const l of lines) ctx.skip(l.lineNo, "non-guest-call");
  }

  /** A multi-line record read only in part, reported at its first line. */
  function truncated(lines: readonly Phys[], message: string): void {
    const first = lines[0];
    ctx.issue("truncated_record", message, first?.lineNo, excerpt(first?.raw ?? ""));
  }

  function flushArgs(threadKey: string): void {
    const call = calls.get(threadKey);
    const acc = call?.args;
    if (call === undefined || acc === undefined) return;
    call.args = undefined;
    const guest = acc.guest || call.guest;
    const useful =
      acc.program !== undefined ||
      acc.arguments !== undefined ||
      acc.workingDirectory !== undefined ||
      acc.username !== undefined ||
      acc.path !== undefined ||
      acc.moref !== undefined;
    if (!guest || !useful) {
      skipLines(acc.lines);
      return;
    }
    call.guest = true;
    if (acc.incomplete) {
      truncated(acc.lines, "hostd argument dump without its end: read as far as it goes");
    }
    const g: Record<string, string> = {};
    if (acc.program !== undefined) g.program = acc.program;
    if (acc.arguments !== undefined) g.arguments = acc.arguments;
    if (acc.workingDirectory !== undefined) g.workingDirectory = acc.workingDirectory;
    if (acc.username !== undefined) g.username = acc.username;
    if (acc.path !== undefined) g.path = acc.path;
    const b = acc.head.block;
    observation(
      "hostd.args",
      acc.head,
      acc.lines,
      {
        vm: acc.moref !== undefined ? { moref: acc.moref } : undefined,
        method: call.method,
        api: call.api ?? acc.api,
        opId: b.opId,
        session: b.sid,
        user: b.user,
        guest: Object.keys(g).length > 0 ? g : undefined,
      },
      "verbatim",
    );
  }

  function flushFault(threadKey: string): void {
    const call = calls.get(threadKey);
    const f = call?.fault;
    if (call === undefined || f === undefined) return;
    call.fault = undefined;
    if (f.incomplete) {
      truncated(f.lines, "hostd fault dump without its end: read as far as it goes");
    }
    const b = f.head.block;
    observation(
      "hostd.fault",
      f.head,
      f.lines,
      {
        method: call.method,
        api: call.api,
        opId: b.opId,
        session: b.sid,
        user: b.user,
        outcome: "failure",
        fault: f.fault,
      },
      "verbatim",
    );
  }

  function closeCall(threadKey: string): void {
    flushArgs(threadKey);
    flushFault(threadKey);
    calls.delete(threadKey);
  }

  // ---- pending multi-line records -------------------------------------------------------------

  function finish(p: Pending): void {
    if (pending.get(p.key) === p) pending.delete(p.key);
    if (p.overflow) {
      truncated(p.lines, `hostd dump longer than ${MAX_DUMP_LINES} lines: the rest was skipped`);
    }
    if (p.kind === "arg") mergeArg(p);
    else if (p.kind === "result") mergeResult(p);
  }

  function mergeArg(p: Pending): void {
    const head = p.head;
    if (head === undefined) return;
    const call = callFor(p.threadKey, head, p.lastLineNo);
    const acc: ArgsAcc = call.args ?? { head, lines: [], guest: false, incomplete: false };
    call.args = acc;
    for (const l of p.lines) acc.lines.push(l);
    if (p.texts.length === 0) return;
    const dump = parseDump(p.texts.join("\n"));
    if (!dump.complete) acc.incomplete = true;
    const type = dump.type;
    if (type?.startsWith("vim.vm.guest.")) acc.guest = true;
    if (type?.endsWith("ProgramSpec")) {
      acc.api = "StartProgramInGuest"; // ProgramSpec is startProgram's argument only
      const program = dump.fields.get("programPath");
      const args = dump.fields.get("arguments");
      const wd = dump.fields.get("workingDirectory");
      if (program !== undefined) acc.program = program;
      if (args !== undefined) acc.arguments = args;
      if (wd !== undefined) acc.workingDirectory = wd;
    } else if (type?.startsWith("vim.vm.guest.") && type.endsWith("Authentication")) {
      // Never the password (hostd writes `(not shown)`, and it is not read here anyway).
      const user = dump.fields.get("username");
      if (user) acc.username = user;
    } else if (p.argName === "vm" && dump.scalar !== undefined) {
      const m = /VirtualMachine:([^'"\s]+)/.exec(dump.scalar);
      if (m?.[1]) acc.moref = m[1];
    } else if (p.argName !== undefined && PATH_ARG.test(p.argName) && dump.scalar !== undefined) {
      acc.path ??= dump.scalar;
    }
  }

  function mergeResult(p: Pending): void {
    const head = p.head;
    if (head === undefined) return;
    const call = calls.get(p.threadKey);
    if (call?.fault === undefined && call?.guest !== true) {
      // neither a guest call's fault nor a guest call: its dump is not read
      skipLines(p.lines);
      return;
    }
    const dump = p.texts.length > 0 ? parseDump(p.texts.join("\n")) : undefined;
    if (call?.fault !== undefined) {
      for (const l of p.lines) call.fault.lines.push(l);
      if (dump !== undefined && !dump.complete) call.fault.incomplete = true;
      flushFault(p.threadKey);
      return;
    }
    const type = dump?.type;
    if (call?.guest && type !== undefined && /\.fault\./.test(type)) {
      call.fault = { head, lines: p.lines, fault: type, incomplete: dump?.complete === false };
      flushFault(p.threadKey);
      return;
    }
    skipLines(p.lines);
  }

  function open(p: Pending): void {
    const old = pending.get(p.key);
    if (old !== undefined) finish(old);
    pending.set(p.key, p);
    if (pending.size > MAX_OPEN) {
      for (const q of pending.values()) {
        finish(q);
        if (pending.size <= MAX_OPEN * 0.8) break;
      }
    }
  }

  function sweep(lineNo: number): void {
    for (const p of [...pending.values()]) if (p.lastLineNo < lineNo - STALE_LINES) finish(p);
    for (const [k, c] of [...calls]) if (c.lastLineNo < lineNo - STALE_LINES) closeCall(k);
    if (calls.size > MAX_OPEN)
      for (const k of [...calls.keys()].slice(0, calls.size - MAX_OPEN)) closeCall(k);
  }

  // ---- heads ----------------------------------------------------------------------------------

  function startCall(threadKey: string, head: HostdLine, lineNo: number, req: Request): CallCtx {
    closeCall(threadKey);
    const call = callFor(threadKey, head, lineNo);
    call.guest = req.type.startsWith("vim.vm.guest.");
    if (req.method !== undefined) call.method = `${req.type}.${req.method}`;
    return call;
  }

  function request(
    head: HostdLine,
    phys: Phys,
    threadKey: string,
    req: Request,
    evidence: Evidence,
  ): void {
    const call = startCall(threadKey, head, phys.lineNo, req);
    if (!call.guest) {
      ctx.skip(phys.lineNo, "non-guest-call");
      return;
    }
    call.api = apiOf(call.method, phys.lineNo, phys.raw);
    const b = head.block;
    observation(
      "hostd.request",
      head,
      [phys],
      {
        vm:
          req.moid !== undefined && !req.type.startsWith("vim.vm.guest.")
            ? { moref: req.moid }
            : undefined,
        method: call.method,
        api: call.api,
        opId: b.opId,
        session: req.session ?? b.sid,
        user: b.user,
      },
      evidence,
    );
  }

  function head(line: HostdLine, key: string, threadKey: string, phys: Phys): void {
    const lineNo = phys.lineNo;
    // The record this line's key had open is complete: merge it before reading this one.
    const prev = pending.get(key);
    if (prev !== undefined) finish(prev);
    let msg = line.msg;
    let extra: string[] = [];
    // rsyslog writes embedded newlines as "#012": a whole dump on one physical line.
    if (msg.includes("#012")) {
      const parts = msg.split("#012");
      msg = parts[0] ?? "";
      extra = parts.slice(1);
      line = { ...line, msg };
    }
    if (line.shortened) {
      ctx.issue(
        "truncated_record",
        "message shortened by the sender (msgModified: over the syslog maximum message length)",
        lineNo,
        excerpt(phys.raw),
      );
    }
    if (line.truncated && msg === "") {
      ctx.issue(
        "truncated_record",
        "hostd line cut short inside its [Originator] block",
        lineNo,
        excerpt(phys.raw),
      );
      open(new Pending("other", key, threadKey, undefined, undefined, [], lineNo));
      return;
    }
    const argName = parseArgHead(msg);
    if (argName !== undefined) {
      flushFault(threadKey);
      open(new Pending("arg", key, threadKey, line, argName, [phys], lineNo));
    } else if (isResultHead(msg)) {
      flushArgs(threadKey);
      open(new Pending("result", key, threadKey, line, undefined, [phys], lineNo));
    } else {
      const thrown = parseThrow(msg);
      flushArgs(threadKey);
      if (thrown !== undefined) {
        flushFault(threadKey);
        const call = calls.get(threadKey);
        if (call?.guest) {
          call.lastLineNo = lineNo;
          call.fault = { head: line, lines: [phys], fault: thrown, incomplete: false };
        } else ctx.skip(lineNo, "non-guest-throw");
      } else {
        flushFault(threadKey);
        single(line, phys, threadKey);
      }
      open(new Pending("other", key, threadKey, line, undefined, [], lineNo));
    }
    for (const part of extra) {
      const p = pending.get(key);
      if (p !== undefined) {
        const msg = part.trimStart().startsWith("-->") ? part.trimStart().slice(3) : part;
        appendText(p, msg, 0, undefined, "");
      }
    }
  }

  /** One-line messages: events, state, file path, requests, sessions. */
  function single(line: HostdLine, phys: Phys, threadKey: string): void {
    const msg = line.msg;
    const b = line.block;
    const lineNo = phys.lineNo;
    const ev = parseEventMessage(msg);
    if (ev !== undefined) {
      if (ev.type === "guest") {
        const e = ev.event;
        if (e.truncated) {
          ctx.issue(
            "truncated_record",
            "guest-operation event cut short: VM name may be incomplete",
            lineNo,
            excerpt(phys.raw),
          );
        }
        observation(
          "hostd.event",
          line,
          [phys],
          {
            vm: e.vm !== undefined ? { name: e.vm } : undefined,
            method: e.label,
            api: apiOf(e.label, lineNo, phys.raw),
            opId: b.opId,
            session: b.sid,
            user: b.user,
            outcome: e.failed ? "failure" : undefined,
            eventKey: e.key,
          },
          e.variant ? "inferred" : "verbatim",
        );
        return;
      }
      if (ev.type === "session") {
        const e = ev.event;
        session(
          e.kind,
          line,
          phys,
          {
            user: e.user,
            sourceIp: e.ip,
            userAgent: e.userAgent,
            session: b.sid,
            opId: b.opId,
            apiInvocations: e.apiInvocations,
            loginTime: e.loginTime,
            eventKey: e.key,
          },
          e.kind === "login" ? "verbatim" : "inferred",
        );
        return;
      }
      ctx.skip(lineNo, "other-event");
      return;
    }
    const st = parseStateTransition(msg);
    if (st !== undefined) {
      if (st.to !== GUEST_STATE) {
        ctx.skip(lineNo, "other-state");
        return;
      }
      if (st.truncated) {
        ctx.issue("truncated_record", "state transition cut short", lineNo, excerpt(phys.raw));
      }
      const vmx = vmxFromSub(b.sub);
      const dir = vmx === undefined ? undefined : dirOf(vmx);
      observation(
        "hostd.state",
        line,
        [phys],
        {
          vm: vmx !== undefined ? { vmx, ...(dir !== undefined ? { dir } : {}) } : undefined,
          opId: b.opId,
          session: b.sid,
          user: b.user,
        },
        "verbatim",
      );
      return;
    }
    const path = parseGuestFilePath(msg);
    if (path !== undefined) {
      observation(
        "hostd.file-path",
        line,
        [phys],
        { opId: b.opId, session: b.sid, user: b.user, guest: { path } },
        "verbatim",
      );
      return;
    }
    const req = parseNewRequest(msg);
    if (req !== undefined) {
      request(line, phys, threadKey, req, "inferred");
      return;
    }
    const act = parseActivation(msg);
    if (act !== undefined) {
      request(line, phys, threadKey, act, "inferred");
      return;
    }
    const pw = parsePassword(msg);
    if (pw !== undefined) {
      session(
        pw.accepted ? "password-accepted" : "login-failed",
        line,
        phys,
        { user: pw.user, sourceIp: pw.ip, session: pw.session ?? b.sid, opId: b.opId },
        pw.accepted ? "verbatim" : "inferred",
      );
      return;
    }
    const auth = parseAuth(msg);
    if (auth !== undefined) {
      session("auth", line, phys, { user: auth, session: b.sid, opId: b.opId }, "verbatim");
      return;
    }
    if (msg.startsWith("Event ") && msg.includes("Guest operation")) {
      ctx.issue(
        "unparsed_line",
        "guest-operation event line not understood",
        lineNo,
        excerpt(phys.raw),
      );
      return;
    }
    ctx.skip(lineNo, "other-message");
  }

  // ---- continuation lines ---------------------------------------------------------------------

  /**
   * One more line of a multi-line record: its text is `s` from `from` (just after `-->`).
   * `lineNo` undefined: a part of an rsyslog `#012` line, already counted with its head.
   */
  function appendText(
    p: Pending,
    s: string,
    from: number,
    lineNo: number | undefined,
    raw: string,
  ): void {
    // hostd writes one space after `-->`: not part of the text.
    const ts = s.charCodeAt(from) === 32 ? from + 1 : from;
    if (lineNo !== undefined) p.lastLineNo = lineNo;
    switch (p.kind) {
      case "arg":
      case "result":
        if (p.lines.length >= MAX_DUMP_LINES) {
          p.overflow = true;
          if (lineNo !== undefined) ctx.skip(lineNo, "dump-overflow");
          return;
        }
        if (lineNo !== undefined) p.lines.push({ lineNo, raw });
        p.texts.push(s.slice(ts));
        scanDepth(p, s, ts);
        // A dump ends when its brackets close (or at once for a scalar): close it now, so that
        // the lines of a later dump whose head the prefilter dropped are not folded into it.
        if (p.depth <= 0 && !p.inQuote) finish(p);
        return;
      case "other":
        if (lineNo !== undefined) ctx.skip(lineNo, "dump-other");
        return;
      case "orphan":
        if (!p.reported && s.indexOf(RELEVANT, ts) >= 0) {
          p.reported = true;
          ctx.issue(
            "orphan_part",
            "continuation lines of a multi-line hostd record whose first line is missing",
            lineNo,
            excerpt(lineNo !== undefined ? raw : s.slice(ts)),
          );
        } else if (lineNo !== undefined) ctx.skip(lineNo, "continuation");
        return;
    }
  }

  /**
   * A continuation line of a local file: it continues the physical line just before it, else
   * (a gap: its owner was dropped by the prefilter) it starts an orphan block.
   */
  function localContinuation(s: string, from: number, lineNo: number, raw: string): void {
    let p = pending.get(LOCAL);
    if (p !== undefined && lineNo > p.lastLineNo + 1) {
      finish(p);
      p = undefined;
    }
    if (p === undefined) {
      p = new Pending("orphan", LOCAL, LOCAL_THREAD, undefined, undefined, [], lineNo);
      open(p);
    }
    appendText(p, s, from, lineNo, raw);
  }

  /**
   * A continuation line of syslog-wrapped input: it continues the open record of its (host,
   * thread), or without a thread the host's last record, unless that record's head is more than
   * `CONTINUATION_WINDOW_MS` away; else it starts an orphan block.
   */
  function wrappedContinuation(
    host: string | undefined,
    thread: string | undefined,
    t1: number,
    s: string,
    from: number,
    lineNo: number,
    raw: string,
  ): void {
    const hostKey = host ?? "";
    const key = keyOf(host, thread);
    let p = pending.get(key);
    if (p === undefined && thread === undefined) {
      const k = lastKeyByHost.get(hostKey);
      if (k !== undefined) p = pending.get(k);
    }
    if (p !== undefined && !Number.isNaN(t1)) {
      const t0 = headMs(p);
      if (t0 !== undefined && Math.abs(t1 - t0) > CONTINUATION_WINDOW_MS) {
        finish(p);
        p = undefined;
      }
    }
    if (p === undefined) {
      p = new Pending(
        "orphan",
        key,
        `${hostKey}\u0000${thread ?? "?"}`,
        undefined,
        undefined,
        [],
        lineNo,
      );
      open(p);
    }
    appendText(p, s, from, lineNo, raw);
  }

  /**
   * A continuation line read from its first bytes alone, without building a line object: a local
   * `-->` line, or a hostd syslog header (parsed or given) whose message starts with `-->`. False
   * for anything else (heads, other shapes), which `line` then reads in full.
   */
  function fastContinuation(text: string, lineNo: number, envelope: Envelope | undefined): boolean {
    if (envelope !== undefined) {
      if (envelope.program !== undefined && !isHostdProgram(envelope.program)) return false;
      const body = envelope.body;
      const b = skipBlanks(body, 0);
      if (!body.startsWith("-->", b)) return false;
      wrappedContinuation(
        envelope.host,
        envelope.pid,
        msOf(envelope.time) ?? NaN,
        body,
        b + 3,
        lineNo,
        envelope.line ?? text,
      );
      return true;
    }
    const i = skipBlanks(text, 0);
    if (text.charCodeAt(i) === 45 /* - */) {
      // No syslog header starts with `-` or a blank: a local line.
      if (!text.startsWith("-->", i)) return false;
      localContinuation(text, i + 3, lineNo, text);
      return true;
    }
    return false;
  }

  /** After `scanHeader` found a header: a hostd `-->` message is a continuation line. */
  function fastWrapped(text: string, lineNo: number, h: HeaderScan): boolean {
    if (!isHostdTag(text, h)) return false;
    const b = skipBlanks(text, h.bodyStart);
    if (!text.startsWith("-->", b)) return false;
    // Consecutive lines mostly share host and pid: reuse the last strings (and their key).
    let host = lastHost;
    if (h.hostStart < 0) host = undefined;
    else if (!sameText(text, h.hostStart, h.hostEnd, host))
      host = text.slice(h.hostStart, h.hostEnd);
    let pid = lastThread;
    if (h.pidStart < 0) pid = undefined;
    else if (!sameText(text, h.pidStart, h.pidEnd, pid)) pid = text.slice(h.pidStart, h.pidEnd);
    wrappedContinuation(host, pid, headerTimeMs(text, h), text, b + 3, lineNo, text);
    return true;
  }

  // ---- LineParser -----------------------------------------------------------------------------

  return {
    line(text: string, lineNo: number, envelope?: Envelope): void {
      if (++sinceSweep >= SWEEP_EVERY) {
        sinceSweep = 0;
        sweep(lineNo);
      }
      if (fastContinuation(text, lineNo, envelope)) return;
      let env = envelope;
      if (env === undefined) {
        const kind = scanHeader(text, ctx.options, header);
        if (kind === 1 && fastWrapped(text, lineNo, header)) return;
        if (kind !== 0) env = envelopeFromScan(text, ctx.options, header);
      }
      const raw = envelope?.line ?? text;
      const phys: Phys = { lineNo, raw };
      const res = readHostdLineFrom(text, ctx.options, env);
      if (res.type === "foreign") {
        ctx.skip(lineNo, "other-program");
        return;
      }
      if (res.type === "unparsed") {
        if (text.trim() === "") ctx.skip(lineNo, "blank");
        else
          ctx.issue(
            "unparsed_line",
            "line does not follow any hostd grammar",
            lineNo,
            excerpt(raw),
          );
        return;
      }
      const line = res.line;
      const hostKey = line.host ?? "";
      const key = line.wrapped ? keyOf(line.host, line.thread) : LOCAL;
      const threadKey = `${hostKey}\u0000${line.thread ?? "?"}`;
      if (line.kind === "continuation") {
        if (line.wrapped)
          wrappedContinuation(
            line.host,
            line.thread,
            msOf(line.time) ?? NaN,
            line.msg,
            0,
            lineNo,
            raw,
          );
        else localContinuation(line.msg, 0, lineNo, raw);
        return;
      }
      if (line.wrapped) lastKeyByHost.set(hostKey, key);
      head(line, key, threadKey, phys);
    },
    end(): void {
      for (const p of [...pending.values()]) finish(p);
      for (const k of [...calls.keys()]) closeCall(k);
    },
  };
}
