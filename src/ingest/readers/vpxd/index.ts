/**
 * @module Reader for vCenter `vpxd.log` (and ESXi `vpxa.log`, which writes the same LRO lines):
 * `[VpxLRO] -- BEGIN lro-N -- <moid> -- vim.vm.guest.<Mgr>.<method> -- <session>(<session2>)`
 * becomes a `vpxd.lro` observation, its `FINISH lro-N` a `vpxd.lro-end`, a failed call's
 * `ERROR lro-N -- <moid> -- vim.vm.guest.<Mgr>.<method>: <fault>:` with its `-->` dump (`Result:`
 * the fault, `Args:` then `Arg vm:` / `Arg auth:` / `Arg spec:` ...) one `vpxd.lro-error`
 * observation (outcome failure, the fault, the VM moref, guest program, arguments, path and guest
 * user; never the password, which vpxd writes as `(not shown)`), and lines that name a
 * user (`User X@ip logged in as UA`, `[Auth]: User X`) become session records (telemetry.md §5.3).
 * A session record carries the session key of the latest LRO of its opID (the login LRO
 * `vim.SessionManager.login -- <session>` for a login line), so attribution can tie the guest
 * LROs of that session to the account.
 *
 * Header shapes: 6.x/7.0 `<ts> info vpxd[7F...] [Originator@6876 sub=vpxLro opID=...]`,
 * 8.0U3/9 `<ts> INFO vpxd 20973 [Originator@4413 sub="vpxLro" opID="..."]`, 5.x
 * `<ts> [7F03... verbose 'Default' opID=...]`, ESXi 8 `<ts> In(166) Vpxa[pid]: [...]`, and any of
 * them inside a syslog envelope. The header is read leniently: the LRO text is found wherever it
 * is, and a line whose timestamp is missing or redacted (`#######`) is still read.
 */
import { lookupMethod } from "../../../model/catalog.js";
import type { Observation, SessionRecord } from "../../../model/record.js";
import { parseEnvelope } from "../../syslog/envelope.js";
import { parseIsoTime } from "../../time.js";
import { defineReader, type Envelope, type LineParser, type ReaderContext } from "../../types.js";
import { parseDump } from "../hostd/dump.js";
import { excerpt } from "../excerpt.js";
import { shareOfLines } from "../sniff.js";
import { matchSessionText } from "../vc-events/index.js";

/**
 * Local line: timestamp, then a level word and the program (`info vpxd[7F..]`, `INFO vpxd 20973`),
 * or ESXi 8 `In(166) Vpxa[pid]:`, or the 5.x bracket (`[7F03... verbose 'Default' opID=...]`).
 */
const LOCAL =
  /^(?<ts>\d{4}-\d{2}-\d{2}T\S+)\s+(?:(?:verbose|trivia|info|warning|warn|error|panic|debug|critical|fatal)\s+(?<proc>[A-Za-z][\w-]*)(?:\[(?<pid>[0-9A-Fa-f]+)\]|\s+(?<pid2>\d+))|[A-Z][a-z]\(\d+\)(?:\[\+\])?\s+(?<proc8>[A-Za-z][\w-]*)\[(?<pid8>\d+)\]:|(?=\[))\s*(?<rest>.*)$/i;
const LRO =
  /\[VpxLRO\] -- (?<phase>BEGIN|FINISH) (?<lro>\S+)(?: -- (?<moid>\S+) -- (?<method>\S+)(?: -- (?<session>[^\s(]+)(?:\((?<session2>[^\s)]*)\))?)?)?/;
/**
 * `[VpxLRO] -- ERROR lro-N -- <moid> -- <method>: <fault>:` (also `--   ERROR`, 5.x without the
 * moid, `: :<fault>`). Every field before the method is a space-free token followed by ` -- `.
 */
const LRO_ERROR =
  /\[VpxLRO\] --\s+ERROR (?<lro>\S+) (?:-- (?:\S+ -- )*)?(?<method>vim\.[\w.]+):\s*:?(?<fault>[A-Za-z][\w.]*)?/;
/** A section head inside an ERROR dump: `Result:`, `Args:`, `Arg spec:`. */
const DUMP_SECTION = /^\s*(?:(?<result>Result)|(?<args>Args)|Arg (?<arg>[^\s:]+)):\s*$/;
/** Argument names that hold a guest path (`guestFilePath`, `filePath`, `directoryPath`). */
const PATH_ARG = /path$/i;
const OPID = /\bopI[Dd]=(?:"(?<q>[^"]*)"|(?<u>[^\s\]"]+))/;
// `[Auth]: User X` ([I]): applied once, at the first `[Auth]`, with no lazy group before `$`.
const AUTH = /^\[Auth\]:?\s+User\s+(?<user>\S.*)$/;

/** Open guest LROs remembered to recognise their FINISH line. */
const MAX_OPEN = 10_000;
/** Session keys of recent LROs by opID, to give a session line of the same opID its session. */
const MAX_SESSIONS = 10_000;

interface Unwrapped {
  readonly text: string;
  readonly ts: string | undefined;
  readonly process: string | undefined;
  readonly thread: string | undefined;
  readonly envelope: Envelope | undefined;
}

function unwrap(text: string, envelope: Envelope | undefined, ctx: ReaderContext): Unwrapped {
  if (!envelope) {
    const local = LOCAL.exec(text)?.groups;
    if (!local) {
      const env = parseEnvelope(text, ctx.options);
      if (env) return unwrap(env.body, env, ctx);
    }
    return {
      text,
      ts: local?.["ts"] ?? firstToken(text),
      process: local?.["proc"] ?? local?.["proc8"],
      thread: local?.["pid"] ?? local?.["pid2"] ?? local?.["pid8"],
      envelope: undefined,
    };
  }
  // The body of a syslog line may still carry the local header (6.x/7.0 RFC 3164 forwarding).
  const local = LOCAL.exec(text)?.groups;
  return {
    text,
    ts: local?.["ts"],
    process: local?.["proc"] ?? local?.["proc8"] ?? envelope.program,
    thread: local?.["pid"] ?? local?.["pid2"] ?? local?.["pid8"] ?? envelope.pid,
    envelope,
  };
}

/** The first token when it is where a timestamp belongs (so `#######` is seen as redacted). */
const firstToken = (text: string): string | undefined => {
  const t = /^(\S+)\s/.exec(text)?.[1];
  return t && !t.startsWith("[") ? t : undefined;
};

/**
 * Where the message starts: after the `[Originator@... ]` / `[ops@... ]` block (values may hold
 * `]`, so the block ends at a `]` followed by white space), or after the 5.x bracket header.
 */
function messageStart(text: string): number {
  let from = text.search(/\[(?:Originator|ops)@\d+/);
  if (from < 0) {
    const bracket = /^\S+\s+\[(?=[0-9A-Fa-f]+ )/.exec(text);
    if (!bracket) return 0;
    from = bracket[0].length - 1;
  }
  const close = /\](?=\s|$)/g;
  close.lastIndex = from;
  const m = close.exec(text);
  return m ? m.index + 1 : 0;
}

function opIdOf(prefix: string, envelope: Envelope | undefined): string | undefined {
  const g = OPID.exec(prefix)?.groups ?? OPID.exec(envelope?.structuredData ?? "")?.groups;
  return g?.["q"] ?? g?.["u"];
}

interface Begun {
  readonly method: string;
  readonly api: string;
  readonly opId?: string;
  readonly session?: string;
}

/** An ERROR line whose `-->` dump is still being read. */
interface PendingError {
  readonly u: Unwrapped;
  readonly match: RegExpExecArray;
  readonly line: number;
  readonly raws: string[];
  readonly texts: string[];
  last: number;
}

/** The continuation text of a `-->` line (after the marker), or undefined for any other line. */
function continuation(text: string): string | undefined {
  let body = text;
  if (!/^\s*-->/.test(body)) {
    const rest = LOCAL.exec(text)?.groups?.["rest"];
    if (rest === undefined || !rest.startsWith("-->")) return undefined;
    body = rest;
  }
  const at = body.indexOf("-->");
  return body.slice(at + (body.charCodeAt(at + 3) === 32 ? 4 : 3));
}

/** What an ERROR dump says: the fault, the VM, and what the call asked the guest to do. */
function readErrorDump(texts: readonly string[]): {
  fault?: string;
  moref?: string;
  guest: {
    path?: string;
    program?: string;
    arguments?: string;
    workingDirectory?: string;
    username?: string;
  };
} {
  const out: ReturnType<typeof readErrorDump> = { guest: {} };
  const sections: { name: string; lines: string[] }[] = [];
  for (const t of texts) {
    const g = DUMP_SECTION.exec(t)?.groups;
    if (g)
      sections.push({
        name: g["result"] ? "Result" : g["args"] ? "Args" : `Arg ${g["arg"]}`,
        lines: [],
      });
    else sections[sections.length - 1]?.lines.push(t);
  }
  for (const { name, lines } of sections) {
    if (lines.length === 0) continue;
    const dump = parseDump(lines.join("\n"));
    if (name === "Result") {
      if (dump.type) out.fault = dump.type;
      continue;
    }
    const arg = name.startsWith("Arg ") ? name.slice(4) : undefined;
    if (arg === undefined) continue;
    const type = dump.type ?? "";
    if (type.endsWith("ProgramSpec")) {
      const program = dump.fields.get("programPath");
      const args = dump.fields.get("arguments");
      const wd = dump.fields.get("workingDirectory");
      if (program !== undefined) out.guest.program = program;
      if (args !== undefined) out.guest.arguments = args;
      if (wd !== undefined) out.guest.workingDirectory = wd;
    } else if (type.startsWith("vim.vm.guest.") && type.endsWith("Authentication")) {
      const user = dump.fields.get("username"); // never the password: vpxd writes `(not shown)`
      if (user) out.guest.username = user;
    } else if (arg === "vm" && dump.scalar !== undefined) {
      const m = /VirtualMachine:([^'"\s]+)/.exec(dump.scalar);
      if (m?.[1]) out.moref = m[1];
    } else if (PATH_ARG.test(arg) && dump.scalar !== undefined) {
      out.guest.path ??= dump.scalar;
    }
  }
  return out;
}

function openVpxd(ctx: ReaderContext): LineParser {
  const open = new Map<string, Begun>();
  /** Guest LROs that finished: a failed one's ERROR line comes after its FINISH. */
  const finished = new Map<string, Begun>();
  let pending: PendingError | undefined;
  /**
   * The session key of the latest LRO of each opID (any method: `vim.SessionManager.login` too).
   * A login line or an `[Auth]` line runs under the opID of its LRO, so it names that session's
   * account: the session record carries the key.
   */
  const sessionOfOpId = new Map<string, string>();
  const rememberSession = (opId: string | undefined, session: string | undefined): void => {
    if (!opId || !session) return;
    sessionOfOpId.delete(opId);
    if (sessionOfOpId.size >= MAX_SESSIONS) {
      const oldest = sessionOfOpId.keys().next().value;
      if (oldest !== undefined) sessionOfOpId.delete(oldest);
    }
    sessionOfOpId.set(opId, session);
  };

  const timeOf = (u: Unwrapped, lineNo: number, raw: string) => {
    if (u.ts !== undefined) {
      const t = parseIsoTime(u.ts, ctx.options.assumeTz);
      if (t) return t;
    }
    if (u.envelope?.time)
      return { time: u.envelope.time, assumed: u.envelope.timeAssumed ?? false };
    if (u.ts !== undefined && /\d/.test(u.ts)) {
      ctx.issue(
        "bad_time",
        `vpxd timestamp not understood: ${u.ts.slice(0, 40)}`,
        lineNo,
        excerpt(raw),
      );
    } else {
      ctx.issue(
        "missing_time",
        "vpxd line without a usable timestamp (missing or redacted)",
        lineNo,
        excerpt(raw),
      );
    }
    return undefined;
  };

  const base = (u: Unwrapped) => {
    const vcenter = u.envelope?.host ?? ctx.source.hostHint;
    return {
      ...(vcenter ? { vcenter } : {}),
      ...(u.thread ? { thread: u.thread } : {}),
      process: u.process ?? "vpxd",
    };
  };

  const lro = (u: Unwrapped, m: RegExpExecArray, lineNo: number, raw: string): void => {
    const g = m.groups ?? {};
    const id = g["lro"] ?? "";
    const opId = opIdOf(u.text.slice(0, m.index), u.envelope);
    if (g["phase"] === "BEGIN") {
      const method = g["method"];
      if (method === undefined) {
        ctx.issue("unparsed_line", "VpxLRO BEGIN line without a method", lineNo, excerpt(raw));
        return;
      }
      rememberSession(opId, g["session"]);
      if (!method.startsWith("vim.vm.guest.")) {
        ctx.skip(lineNo, "lro-other-method");
        return;
      }
      const api = lookupMethod(method)?.api;
      if (!api)
        ctx.issue("unknown_method", `unknown guest operation ${method}`, lineNo, excerpt(raw));
      const session = g["session"];
      if (open.size >= MAX_OPEN) {
        const oldest = open.keys().next().value;
        if (oldest !== undefined) open.delete(oldest);
      }
      open.set(id, {
        method,
        api: api ?? "",
        ...(opId ? { opId } : {}),
        ...(session ? { session } : {}),
      });
      const time = timeOf(u, lineNo, raw);
      const record: Observation = {
        type: "observation",
        kind: "vpxd.lro",
        time: time?.time,
        ...(time?.assumed ? { timeAssumed: true } : {}),
        ...base(u),
        method,
        ...(api ? { api } : {}),
        ...(opId ? { opId } : {}),
        ...(session ? { session } : {}),
        eventKey: id,
        evidence: "verbatim",
        prov: { source: ctx.source, line: lineNo, lineCount: 1, raw },
      };
      ctx.emit(record);
      return;
    }
    const begun = open.get(id);
    if (!begun) {
      // the FINISH of an LRO that is not a guest operation (or began earlier)
      ctx.skip(lineNo, "lro-finish-other");
      return;
    }
    open.delete(id);
    if (finished.size >= MAX_OPEN) {
      const oldest = finished.keys().next().value;
      if (oldest !== undefined) finished.delete(oldest);
    }
    finished.set(id, begun);
    const time = timeOf(u, lineNo, raw);
    const op = opId ?? begun.opId;
    const record: Observation = {
      type: "observation",
      kind: "vpxd.lro-end",
      time: time?.time,
      ...(time?.assumed ? { timeAssumed: true } : {}),
      ...base(u),
      method: begun.method,
      ...(begun.api ? { api: begun.api } : {}),
      ...(op ? { opId: op } : {}),
      ...(begun.session ? { session: begun.session } : {}),
      eventKey: id,
      evidence: "verbatim",
      prov: { source: ctx.source, line: lineNo, lineCount: 1, raw },
    };
    ctx.emit(record);
  };

  const session = (u: Unwrapped, lineNo: number, raw: string): boolean => {
    const start = messageStart(u.text);
    const msg = u.text.slice(start);
    const said = matchSessionText(msg);
    const authAt = said ? -1 : msg.indexOf("[Auth]");
    const auth = authAt < 0 ? undefined : AUTH.exec(msg.slice(authAt))?.groups?.["user"]?.trimEnd();
    if (!said && !auth) return false;
    const opId = opIdOf(u.text.slice(0, start), u.envelope);
    const sessionKey = opId === undefined ? undefined : sessionOfOpId.get(opId);
    const time = timeOf(u, lineNo, raw);
    const vcenter = u.envelope?.host ?? ctx.source.hostHint;
    const user = said?.user ?? auth;
    const record: SessionRecord = {
      type: "session",
      kind: said?.kind ?? "auth",
      time: time?.time,
      ...(time?.assumed ? { timeAssumed: true } : {}),
      ...(vcenter ? { vcenter } : {}),
      ...(user ? { user } : {}),
      ...(said?.ip ? { sourceIp: said.ip } : {}),
      ...(said?.userAgent ? { userAgent: said.userAgent } : {}),
      ...(sessionKey ? { session: sessionKey } : {}),
      ...(opId ? { opId } : {}),
      ...(said?.apiInvocations !== undefined ? { apiInvocations: said.apiInvocations } : {}),
      ...(said?.loginTime ? { loginTime: said.loginTime } : {}),
      process: u.process ?? "vpxd",
      evidence: "inferred",
      prov: { source: ctx.source, line: lineNo, lineCount: 1, raw },
    };
    ctx.emit(record);
    return true;
  };

  /** The ERROR line and its dump as one record (a failed guest call); other ERRORs are skipped. */
  const flushError = (): void => {
    const p = pending;
    if (!p) return;
    pending = undefined;
    const g = p.match.groups ?? {};
    const method = g["method"] ?? "";
    const raw = p.raws.join("\n");
    if (!method.startsWith("vim.vm.guest.")) {
      for (let l = p.line; l <= p.last; l++) ctx.skip(l, "lro-error-other-method");
      return;
    }
    const id = g["lro"] ?? "";
    const begun = open.get(id) ?? finished.get(id);
    finished.delete(id);
    const api = lookupMethod(method)?.api;
    if (!api)
      ctx.issue("unknown_method", `unknown guest operation ${method}`, p.line, excerpt(raw));
    const opId = opIdOf(p.u.text.slice(0, p.match.index), p.u.envelope) ?? begun?.opId;
    const dump = readErrorDump(p.texts);
    const fault = g["fault"] ?? dump.fault;
    const guest = Object.keys(dump.guest).length > 0 ? dump.guest : undefined;
    const time = timeOf(p.u, p.line, raw);
    const record: Observation = {
      type: "observation",
      kind: "vpxd.lro-error",
      time: time?.time,
      ...(time?.assumed ? { timeAssumed: true } : {}),
      ...base(p.u),
      ...(dump.moref ? { vm: { moref: dump.moref } } : {}),
      method,
      ...(api ? { api } : {}),
      ...(opId ? { opId } : {}),
      ...(begun?.session ? { session: begun.session } : {}),
      outcome: "failure",
      ...(fault ? { fault } : {}),
      ...(guest ? { guest } : {}),
      eventKey: id,
      evidence: "inferred",
      prov: { source: ctx.source, line: p.line, lineCount: p.last - p.line + 1, raw },
    };
    ctx.emit(record);
  };

  const line = (text: string, lineNo: number, envelope?: Envelope): void => {
    // A routed line keeps its whole physical line (header included) as provenance.
    const raw = envelope?.line ?? text;
    if (pending) {
      const more = lineNo === pending.last + 1 ? continuation(text) : undefined;
      if (more !== undefined) {
        pending.raws.push(raw);
        pending.texts.push(more);
        pending.last = lineNo;
        return;
      }
      flushError();
    }
    const u = unwrap(text, envelope, ctx);
    const m = LRO.exec(u.text);
    if (m) {
      lro(u, m, lineNo, raw);
      return;
    }
    const error = u.text.includes("ERROR") ? LRO_ERROR.exec(u.text) : null;
    if (error) {
      pending = { u, match: error, line: lineNo, raws: [raw], texts: [], last: lineNo };
      return;
    }
    if (continuation(text) !== undefined) {
      ctx.skip(lineNo, "dump-continuation"); // the dump of a message that is not read
      return;
    }
    if (u.text.includes("[VpxLRO]")) {
      ctx.skip(lineNo, "lro-other"); // other VpxLRO chatter (progress)
      return;
    }
    if (session(u, lineNo, raw)) return;
    ctx.skip(lineNo, "no-session-text");
  };

  return {
    line,
    end: () => {
      flushError();
      open.clear();
      finished.clear();
      sessionOfOpId.clear();
    },
  };
}

/** How a log line starts: a timestamp, a redacted one (`#######`), a syslog PRI or RFC 3164 date. */
const SNIFF_START = /^(?:\d|#{4,}\s|<\d{1,3}>|[A-Z][a-z]{2} [ \d]\d )/;

export const vpxdReader = defineReader({
  name: "vpxd",
  title: "vCenter vpxd.log (and ESXi vpxa.log): guest-operation LROs, session lines",
  shape: "lines",
  markers: ["[VpxLRO]", "logged in as", "logged out", "Cannot login", "[Auth]", "-->"],
  /**
   * A hit is a line that starts like a log line (a timestamp, a redacted one, a syslog priority
   * or date) and carries vpxd's header or an LRO: prose quoting vpxd lines does not count.
   */
  sniff: (head) => {
    const f = shareOfLines(
      head,
      (l) =>
        SNIFF_START.test(l) &&
        (/\b[Vv]px[ad](?:\[[0-9A-Fa-f]+\]:?| \d+) \[(?:Originator|ops)@\d+/.test(l) ||
          l.includes("[VpxLRO] -- ")),
    );
    if (f === 0) return 0;
    return f >= 0.5 ? 0.85 : 0.35 + 0.4 * f;
  },
  open: openVpxd,
});
