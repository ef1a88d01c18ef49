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
import type { Envelope, LineParser, ReaderContext } from "../../types.js";
import { excerpt } from "../excerpt.js";
import { parseDump } from "./dump.js";
import { readHostdLine, type HostdLine } from "./line.js";
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

interface Pending {
  readonly kind: PendingKind;
  readonly key: string;
  readonly head?: HostdLine;
  readonly threadKey: string;
  readonly argName?: string;
  readonly lines: Phys[];
  readonly texts: string[];
  lastLineNo: number;
  reported?: boolean;
  overflow?: boolean;
  /** Bracket depth of the dump so far (outside quotes), to close it at its natural end. */
  depth?: number;
  inQuote?: boolean;
}

/** Updates a dump's bracket depth and quote state with one more line of it. */
function scanDepth(p: Pending, t: string): void {
  let depth = p.depth ?? 0;
  let q = p.inQuote ?? false;
  for (let i = 0; i < t.length; i++) {
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
const RELEVANT = /vim\.vm\.guest\./;
/** A continuation line this much later than its open record's head belongs to another record. */
const CONTINUATION_WINDOW_MS = 5000;

/** Strips `-->` and the one space hostd writes after it. */
const contText = (msg: string): string => (msg.charCodeAt(0) === 32 ? msg.slice(1) : msg);

const PATH_ARG = /path$/i;

export function createHostdParser(ctx: ReaderContext): LineParser {
  const pending = new Map<string, Pending>();
  const calls = new Map<string, CallCtx>();
  const lastKeyByHost = new Map<string, string>();
  let sinceSweep = 0;

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
    for (const [k, v] of Object.entries(init)) if (v !== undefined) o[k] = v;
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
    for (const [k, v] of Object.entries(init)) if (v !== undefined) o[k] = v;
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
    if (head.time === undefined) return undefined;
    const t = Date.parse(head.time);
    return Number.isNaN(t) ? undefined : t;
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
    for (const l of lines) ctx.skip(l.lineNo);
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
    acc.lines.push(...p.lines);
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
      call.fault.lines.push(...p.lines);
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
      ctx.skip(phys.lineNo);
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
      open({ kind: "other", key, threadKey, lines: [], texts: [], lastLineNo: lineNo });
      return;
    }
    const base = { key, threadKey, head: line, lastLineNo: lineNo, texts: [] as string[] };
    const argName = parseArgHead(msg);
    if (argName !== undefined) {
      flushFault(threadKey);
      open({ ...base, kind: "arg", argName, lines: [phys] });
    } else if (isResultHead(msg)) {
      flushArgs(threadKey);
      open({ ...base, kind: "result", lines: [phys] });
    } else {
      const thrown = parseThrow(msg);
      flushArgs(threadKey);
      if (thrown !== undefined) {
        flushFault(threadKey);
        const call = calls.get(threadKey);
        if (call?.guest) {
          call.lastLineNo = lineNo;
          call.fault = { head: line, lines: [phys], fault: thrown, incomplete: false };
        } else ctx.skip(lineNo);
      } else {
        flushFault(threadKey);
        single(line, phys, threadKey);
      }
      open({ ...base, kind: "other", lines: [] });
    }
    for (const part of extra) {
      const p = pending.get(key);
      if (p !== undefined)
        appendText(p, part.trimStart().startsWith("-->") ? part.trimStart().slice(3) : part);
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
      ctx.skip(lineNo);
      return;
    }
    const st = parseStateTransition(msg);
    if (st !== undefined) {
      if (st.to !== GUEST_STATE) {
        ctx.skip(lineNo);
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
    ctx.skip(lineNo);
  }

  // ---- continuation lines ---------------------------------------------------------------------

  function appendText(p: Pending, msg: string, phys?: Phys): void {
    const t = contText(msg);
    if (phys !== undefined) p.lastLineNo = phys.lineNo;
    switch (p.kind) {
      case "arg":
      case "result":
        if (p.lines.length >= MAX_DUMP_LINES) {
          p.overflow = true;
          if (phys !== undefined) ctx.skip(phys.lineNo);
          return;
        }
        if (phys !== undefined) p.lines.push(phys);
        p.texts.push(t);
        scanDepth(p, t);
        // A dump ends when its brackets close (or at once for a scalar): close it now, so that
        // the lines of a later dump whose head the prefilter dropped are not folded into it.
        if ((p.depth ?? 0) <= 0 && !p.inQuote) finish(p);
        return;
      case "other":
        if (phys !== undefined) ctx.skip(phys.lineNo);
        return;
      case "orphan":
        if (!p.reported && RELEVANT.test(t)) {
          p.reported = true;
          ctx.issue(
            "orphan_part",
            "continuation lines of a multi-line hostd record whose first line is missing",
            phys?.lineNo,
            excerpt(phys?.raw ?? t),
          );
        } else if (phys !== undefined) ctx.skip(phys.lineNo);
        return;
    }
  }

  function continuation(line: HostdLine, key: string, threadKey: string, phys: Phys): void {
    let p: Pending | undefined;
    if (!line.wrapped) {
      p = pending.get(LOCAL);
      // Locally a dump's lines are contiguous and all carry "-->" (a marker): a gap means the
      // owner line was filtered out as irrelevant.
      if (p !== undefined && phys.lineNo > p.lastLineNo + 1) {
        finish(p);
        p = undefined;
      }
    } else {
      p = pending.get(key);
      if (p === undefined && line.thread === undefined) {
        const k = lastKeyByHost.get(line.host ?? "");
        if (k !== undefined) p = pending.get(k);
      }
      const t0 = p?.head === undefined ? undefined : timeMs(p.head);
      const t1 = timeMs(line);
      if (p !== undefined && t0 !== undefined && t1 !== undefined) {
        if (Math.abs(t1 - t0) > CONTINUATION_WINDOW_MS) {
          finish(p);
          p = undefined;
        }
      }
    }
    if (p === undefined) {
      p = { kind: "orphan", key, threadKey, lines: [], texts: [], lastLineNo: phys.lineNo };
      open(p);
    }
    appendText(p, line.msg, phys);
  }

  // ---- LineParser -----------------------------------------------------------------------------

  return {
    line(text: string, lineNo: number, envelope?: Envelope): void {
      if (++sinceSweep >= SWEEP_EVERY) {
        sinceSweep = 0;
        sweep(lineNo);
      }
      const raw = envelope?.line ?? text;
      const phys: Phys = { lineNo, raw };
      const res = readHostdLine(text, ctx.options, envelope);
      if (res.type === "foreign") {
        ctx.skip(lineNo);
        return;
      }
      if (res.type === "unparsed") {
        if (text.trim() === "") ctx.skip(lineNo);
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
      const key = line.wrapped ? `${hostKey}\u0000${line.thread ?? ""}` : LOCAL;
      const threadKey = `${hostKey}\u0000${line.thread ?? "?"}`;
      if (line.kind === "continuation") {
        continuation(line, key, threadKey, phys);
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
