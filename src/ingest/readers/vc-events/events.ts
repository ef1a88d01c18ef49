/**
 * What a vCenter event means for guestops, whichever way it arrived (the syslog event stream or a
 * JSON export): guest-operation events, guest-operation authentication failures, event-burst
 * records that hide guest operations, and session events.
 *
 * The texts of GuestOperation (as vCenter renders it), GuestOperationAuthFailure and the burst
 * events are not in any public sample ([I] in telemetry.md §5.1): they are matched leniently and
 * the records say `evidence: "inferred"`. Session texts are [V] (Elastic's vCenter sample).
 */
import { eventLabel, lookupMethod, METHODS } from "../../../model/catalog.js";
import type {
  Evidence,
  LoggingRecord,
  Observation,
  Provenance,
  SessionRecord,
  VmRef,
} from "../../../model/record.js";
import type { ReaderContext } from "../../types.js";
import { excerpt } from "../excerpt.js";
import { matchLoggingText } from "../vobd/messages.js";

/** One vCenter event, normalised from the stream columns or from a JSON object. */
export interface VcEvent {
  readonly key?: string;
  readonly chainId?: string;
  /** eventTypeId, class name or `vim.event.X` as the source gives it. */
  readonly type?: string;
  readonly user?: string;
  /** The event names a user but it could not be read (see `Observation.userUnreadable`). */
  readonly userUnreadable?: boolean;
  /** fullFormattedMessage / the stream's description column. */
  readonly desc?: string;
  readonly vmName?: string;
  readonly vmMoref?: string;
  /** The ESXi host the event names. */
  readonly host?: string;
  /** EventEx arguments, keys lower-cased. */
  readonly args?: ReadonlyMap<string, string>;
  readonly ipAddress?: string;
  readonly userAgent?: string;
  readonly callCount?: number;
  readonly loginTime?: string;
  readonly sessionId?: string;
}

/** Where and when, shared by every record one event yields. */
export interface EventContext {
  readonly time: string | undefined;
  readonly timeAssumed?: boolean;
  readonly vcenter?: string;
  readonly prov: Provenance;
}

// No lazy group before `\s*$` anywhere below: on a long run of spaces that is quadratic. Trailing
// white space and the final `.` are trimmed in code instead.
const GUEST_OP =
  /^Guest operation (?<op>.+?) performed on (?:Virtual machine|virtual machine|VM) (?<vm>.+)$/s;
const AUTH_FAILURE = /^Guest operations? authentication fail/i;
const VM_IN_TEXT = /\b(?:Virtual machine|virtual machine|VM) (?<vm>.+)$/s;

/** A VM name as the text ends it: trailing white space and one final `.` removed. */
const vmNameOf = (text: string | undefined): string | undefined => {
  const name = text?.trimEnd().replace(/\.$/, "");
  return name ? name : undefined;
};

export interface SessionText {
  readonly kind: "login" | "logout" | "login-failed";
  readonly user: string;
  readonly ip: string;
  readonly userAgent?: string;
  readonly apiInvocations?: number;
  readonly loginTime?: string;
  /** Where the match starts in the text. */
  readonly index: number;
}

const LOGGED_IN = " logged in as ";
const LOGGED_OUT = " logged out (login time: ";
const INVOCATIONS = ", number of API invocations: ";
const AGENT = ", user agent: ";
const CANNOT = "Cannot login ";

/** `User X@ip` ending at `end`: the nearest `User ` before it, split at the last `@`. */
function userAt(
  text: string,
  end: number,
): { user: string; ip: string; index: number } | undefined {
  const index = text.lastIndexOf("User ", end);
  if (index < 0 || (index > 0 && /\w/.test(text[index - 1] ?? ""))) return undefined;
  return splitUserIp(text.slice(index + 5, end), index);
}

function splitUserIp(
  who: string,
  index: number,
): { user: string; ip: string; index: number } | undefined {
  const at = who.lastIndexOf("@");
  const ip = who.slice(at + 1);
  if (at <= 0 || ip === "" || /\s/.test(ip)) return undefined;
  return { user: who.slice(0, at), ip, index };
}

/**
 * `User X@ip logged in as UA`, `User X@ip logged out (login time: T, number of API invocations:
 * N, user agent: UA)`, `Cannot login X@ip`, anywhere in `text`. The user is everything before the
 * last `@` (UPNs such as `administrator@vsphere.local@10.0.0.5` keep theirs). Found by plain
 * substring search, so a hostile line costs one pass.
 */
export function matchSessionText(text: string): SessionText | undefined {
  const out = text.indexOf(LOGGED_OUT);
  if (out >= 0) {
    const who = userAt(text, out);
    const calls = text.indexOf(INVOCATIONS, out);
    const agent = calls < 0 ? -1 : text.indexOf(AGENT, calls);
    const close = text.lastIndexOf(")");
    if (who && calls >= 0 && agent >= 0 && close > agent) {
      const n = text.slice(calls + INVOCATIONS.length, agent);
      const ua = text.slice(agent + AGENT.length, close);
      const loginTime = text.slice(out + LOGGED_OUT.length, calls);
      if (/^\d+$/.test(n)) {
        return {
          kind: "logout",
          user: who.user,
          ip: who.ip,
          ...(ua ? { userAgent: ua } : {}),
          apiInvocations: Number(n),
          ...(loginTime ? { loginTime } : {}),
          index: who.index,
        };
      }
    }
  }
  const login = text.indexOf(LOGGED_IN);
  if (login >= 0) {
    const who = userAt(text, login);
    const ua = text.slice(login + LOGGED_IN.length).trim();
    if (who) {
      return {
        kind: "login",
        user: who.user,
        ip: who.ip,
        ...(ua ? { userAgent: ua } : {}),
        index: who.index,
      };
    }
  }
  const cannot = text.indexOf(CANNOT);
  if (cannot >= 0 && (cannot === 0 || !/\w/.test(text[cannot - 1] ?? ""))) {
    const who = splitUserIp(text.slice(cannot + CANNOT.length).trimEnd(), cannot);
    if (who) return { kind: "login-failed", user: who.user, ip: who.ip, index: cannot };
  }
  return undefined;
}

// Longest label first, so `Initiate File Transfer From Guest` wins over shorter ones it contains.
const LABELS = METHODS.map((m) => eventLabel(m)).sort((a, b) => b.length - a.length);

/** The guest-operation label a free text names, if any (for texts whose wording is unknown). */
function labelIn(text: string): string | undefined {
  return LABELS.find((label) => text.includes(label));
}

/** The last word of a type name: `vim.event.UserLoginSessionEvent` → `UserLoginSessionEvent`. */
const typeTail = (type: string | undefined): string =>
  type === undefined ? "" : type.slice(type.lastIndexOf(".") + 1);

const GUEST_TYPE = "com.vmware.vc.guestOperations.GuestOperation";
const AUTH_TYPE = "com.vmware.vc.guestOperations.GuestOperationAuthFailure";
const BURST_TYPE = /EventBurst(?<phase>Started|Compressed|Ended)Event$/;
const BURST_TEXT = /\bburst\b/i;
const GUEST_IN_TEXT = /guestOperations|Guest operation/i;
const AUTH_IN_TEXT = /GuestOperationAuthFailure|authentication fail/i;

/** Operation name from EventEx arguments ([I]: the key is likely `operationName`). */
function operationArg(args: ReadonlyMap<string, string> | undefined): string | undefined {
  if (!args) return undefined;
  const exact = args.get("operationname") ?? args.get("operation") ?? args.get("opname");
  if (exact) return exact;
  for (const [k, v] of args) if (k.includes("operation") && v) return v;
  return undefined;
}

function burstCount(ev: VcEvent): number | undefined {
  const arg = ev.args?.get("count");
  if (arg !== undefined && /^\d+$/.test(arg.trim())) return Number(arg.trim());
  const text = ev.desc ?? "";
  const m =
    /\bcount\b\D{0,3}(\d+)/i.exec(text) ??
    /(\d+)\s+(?:identical\s+|similar\s+|more\s+|additional\s+)?(?:events|operations|occurrences)\b/i.exec(
      text,
    );
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function burstPhase(ev: VcEvent): string | undefined {
  const byType = BURST_TYPE.exec(ev.type ?? "")?.groups?.["phase"];
  if (byType) return byType.toLowerCase();
  const text = ev.desc ?? "";
  if (/\bcompress/i.test(text)) return "compressed";
  if (/\bstart/i.test(text)) return "started";
  if (/\bend(?:ed|s)?\b/i.test(text)) return "ended";
  return undefined;
}

/**
 * Emit what one vCenter event means. Returns false when the event carries nothing guestops
 * reads (the caller counts it as skipped).
 */
export function interpretEvent(
  ev: VcEvent,
  at: EventContext,
  ctx: ReaderContext,
  process: string | undefined,
): boolean {
  const desc = ev.desc?.trim() ?? "";
  const tail = typeTail(ev.type);
  const base = {
    time: at.time,
    ...(at.timeAssumed ? { timeAssumed: true } : {}),
    ...(at.vcenter ? { vcenter: at.vcenter } : {}),
    ...(ev.key ? { eventKey: ev.key } : {}),
    ...(process ? { process } : {}),
    prov: at.prov,
  };
  const user = ev.user?.trim() || undefined;
  const unreadable = !user && ev.userUnreadable === true ? { userUnreadable: true } : {};

  // Sessions.
  const sessionType =
    tail === "UserLoginSessionEvent"
      ? "login"
      : tail === "UserLogoutSessionEvent"
        ? "logout"
        : tail === "BadUsernameSessionEvent"
          ? "login-failed"
          : undefined;
  // Anchored: an alarm text may quote another event's login text.
  const found = matchSessionText(desc);
  const said = found?.index === 0 ? found : undefined;
  if (said || sessionType) {
    const kind = said?.kind ?? sessionType ?? "login";
    const ip = ev.ipAddress ?? said?.ip;
    const ua = ev.userAgent ?? said?.userAgent;
    const calls = ev.callCount ?? said?.apiInvocations;
    const loginTime = ev.loginTime ?? said?.loginTime;
    const evidence: Evidence = said && kind !== "login-failed" ? "verbatim" : "inferred";
    const who = user ?? said?.user;
    const record: SessionRecord = {
      type: "session",
      kind,
      ...base,
      ...(who ? { user: who } : {}),
      ...(ip ? { sourceIp: ip } : {}),
      ...(ua ? { userAgent: ua } : {}),
      ...(ev.sessionId ? { session: ev.sessionId } : {}),
      ...(calls !== undefined ? { apiInvocations: calls } : {}),
      ...(loginTime ? { loginTime } : {}),
      evidence,
    };
    ctx.emit(record);
    return true;
  }

  // ESXi's own forwarding failures, as vCenter relays them (an alarm quoting one is not another)
  const logging = desc.startsWith("Alarm ")
    ? undefined
    : matchLoggingText(desc, ev.type ?? ev.args?.get("eventtypeid"));
  if (logging) {
    const host = ev.host ?? logging.host;
    const record: LoggingRecord = {
      type: "logging",
      kind: logging.kind,
      ...base,
      ...(host ? { host } : {}),
      ...(logging.target !== undefined ? { target: logging.target } : {}),
      ...(logging.count !== undefined ? { count: logging.count } : {}),
      evidence: logging.evidence,
    };
    ctx.emit(record);
    return true;
  }

  const isBurst =
    BURST_TYPE.test(ev.type ?? "") ||
    (BURST_TEXT.test(desc) && !desc.startsWith("Guest operation"));
  if (isBurst) {
    const burstOf = ev.args?.get("eventtype") ?? desc;
    if (!GUEST_IN_TEXT.test(burstOf)) return false;
    const count = burstCount(ev);
    const phase = burstPhase(ev);
    const burstUser = ev.args?.get("username")?.trim() || user;
    const objectId = ev.args?.get("objectid");
    const moref = ev.vmMoref ?? (objectId && /^vm-\d+$/.test(objectId) ? objectId : undefined);
    const vm = vmRef(ev.vmName, moref);
    const record: Observation = {
      type: "observation",
      kind: "vc.burst",
      ...base,
      ...(ev.host ? { host: ev.host } : {}),
      ...(vm ? { vm } : {}),
      ...(burstUser ? { user: burstUser } : unreadable),
      ...(AUTH_IN_TEXT.test(burstOf) ? { outcome: "failure" as const } : {}),
      ...(ev.chainId ? { chainId: ev.chainId } : {}),
      ...(count !== undefined ? { count } : {}),
      ...(phase ? { detail: phase } : {}),
      evidence: "inferred",
    };
    ctx.emit(record);
    return true;
  }

  const isAuth = ev.type === AUTH_TYPE || AUTH_FAILURE.test(desc);
  const guest = isAuth ? undefined : GUEST_OP.exec(desc)?.groups;
  if (isAuth || guest || ev.type === GUEST_TYPE) {
    const label = operationArg(ev.args) ?? guest?.["op"] ?? (isAuth ? labelIn(desc) : undefined);
    const vmName =
      ev.vmName ??
      vmNameOf(guest?.["vm"]) ??
      (isAuth ? vmNameOf(VM_IN_TEXT.exec(desc)?.groups?.["vm"]) : undefined);
    const api = label === undefined ? undefined : lookupMethod(label)?.api;
    if (label !== undefined && !api) {
      ctx.issue(
        "unknown_method",
        `unknown guest operation ${label.slice(0, 80)}`,
        at.prov.line,
        excerpt(desc),
      );
    }
    if (!isAuth && label === undefined) {
      ctx.issue(
        "unparsed_line",
        "guest-operation event whose operation could not be read",
        at.prov.line,
        excerpt(desc),
      );
    }
    const vm = vmRef(vmName, ev.vmMoref);
    const record: Observation = {
      type: "observation",
      kind: isAuth ? "vc.auth-failure" : "vc.event",
      ...base,
      ...(ev.host ? { host: ev.host } : {}),
      ...(vm ? { vm } : {}),
      ...(label !== undefined ? { method: label } : {}),
      ...(api ? { api } : {}),
      ...(user ? { user } : unreadable),
      ...(isAuth ? { outcome: "failure" as const } : {}),
      ...(ev.chainId ? { chainId: ev.chainId } : {}),
      evidence: "inferred",
    };
    ctx.emit(record);
    return true;
  }

  if (desc.startsWith("Guest operation") || /guestOperations/.test(ev.type ?? "")) {
    ctx.issue(
      "unparsed_line",
      "guest-operation event text not understood",
      at.prov.line,
      excerpt(desc),
    );
    return true;
  }
  return false;
}

function vmRef(name: string | undefined, moref: string | undefined): VmRef | undefined {
  if (!name && !moref) return undefined;
  return { ...(name ? { name } : {}), ...(moref ? { moref } : {}) };
}
