/**
 * hostd message grammars (the text after the Originator block), telemetry.md §3.2. Hand-written
 * scanners with `indexOf`/`startsWith`: no backtracking on attacker-controlled text.
 */

export interface GuestEvent {
  readonly key: string;
  /** `Start Program`, as written. */
  readonly label?: string;
  readonly vm?: string;
  /** The message lacked its final `.` (cut short). */
  readonly truncated: boolean;
  /** Not the `performed on Virtual machine` template ([I] variant). */
  readonly variant: boolean;
  readonly failed: boolean;
}

export interface SessionEvent {
  readonly kind: "login" | "logout" | "login-failed";
  readonly key: string;
  readonly user?: string;
  readonly ip?: string;
  readonly userAgent?: string;
  readonly loginTime?: string;
  readonly apiInvocations?: number;
}

export type EventMessage =
  | { readonly type: "guest"; readonly event: GuestEvent }
  | { readonly type: "session"; readonly event: SessionEvent }
  | { readonly type: "other" };

/** `Event <n> : <text>` → key and text. */
function eventHead(msg: string): { key: string; text: string } | undefined {
  if (!msg.startsWith("Event ")) return undefined;
  let i = 6;
  while (i < msg.length && msg.charCodeAt(i) >= 48 && msg.charCodeAt(i) <= 57) i++;
  if (i === 6 || !msg.startsWith(" : ", i)) return undefined;
  return { key: msg.slice(6, i), text: msg.slice(i + 3) };
}

/** `user@ip` split at the last `@`. */
function userAtIp(s: string): { user?: string; ip?: string } {
  const at = s.lastIndexOf("@");
  if (at <= 0) return s ? { user: s } : {};
  const ip = s.slice(at + 1);
  return ip ? { user: s.slice(0, at), ip } : { user: s.slice(0, at) };
}

const GUEST_OP = "Guest operation ";
const PERFORMED = " performed on Virtual machine ";

export function parseEventMessage(msg: string): EventMessage | undefined {
  const h = eventHead(msg);
  if (h === undefined) return undefined;
  const { key, text } = h;
  if (text.startsWith(GUEST_OP)) {
    const rest = text.slice(GUEST_OP.length);
    const p = rest.indexOf(PERFORMED);
    if (p > 0) {
      let vm = rest.slice(p + PERFORMED.length);
      const truncated = !vm.endsWith(".");
      if (!truncated) vm = vm.slice(0, -1);
      return {
        type: "guest",
        event: {
          key,
          label: rest.slice(0, p),
          ...(vm ? { vm } : {}),
          truncated,
          variant: false,
          failed: false,
        },
      };
    }
    // Another rendering (the AuthFailure text is not public): keep what can be read.
    const on = rest.lastIndexOf(" Virtual machine ");
    let vm = on >= 0 ? rest.slice(on + 17) : undefined;
    if (vm?.endsWith(".")) vm = vm.slice(0, -1);
    return {
      type: "guest",
      event: {
        key,
        ...(vm ? { vm } : {}),
        truncated: false,
        variant: true,
        failed: /fail|denied|invalid/i.test(rest),
      },
    };
  }
  if (text.startsWith("User ")) {
    const li = text.indexOf(" logged in");
    if (li > 5) {
      const ua = text.slice(li + 10);
      const userAgent = ua.startsWith(" as ") ? ua.slice(4) : undefined;
      return {
        type: "session",
        event: {
          kind: "login",
          key,
          ...userAtIp(text.slice(5, li)),
          ...(userAgent ? { userAgent } : {}),
        },
      };
    }
    const lo = text.indexOf(" logged out");
    if (lo > 5) {
      return {
        type: "session",
        event: {
          kind: "logout",
          key,
          ...userAtIp(text.slice(5, lo)),
          ...logoutDetails(text.slice(lo)),
        },
      };
    }
  }
  if (text.startsWith("Cannot login ")) {
    const who = text.slice(13).split(" ", 1)[0] ?? "";
    return { type: "session", event: { kind: "login-failed", key, ...userAtIp(who) } };
  }
  return { type: "other" };
}

/** `(login time: T, number of API invocations: N, user agent: UA)` */
function logoutDetails(s: string): {
  loginTime?: string;
  apiInvocations?: number;
  userAgent?: string;
} {
  const out: { loginTime?: string; apiInvocations?: number; userAgent?: string } = {};
  const lt = s.indexOf("login time: ");
  const api = s.indexOf(", number of API invocations: ");
  const ua = s.indexOf(", user agent: ");
  if (lt >= 0) {
    const end = api > lt ? api : ua > lt ? ua : s.length;
    out.loginTime = s.slice(lt + 12, end);
  }
  if (api >= 0) {
    const digits = /^\d+/.exec(s.slice(api + 29));
    if (digits) out.apiInvocations = Number(digits[0]);
  }
  if (ua >= 0) {
    let v = s.slice(ua + 14);
    if (v.endsWith(")")) v = v.slice(0, -1);
    if (v) out.userAgent = v;
  }
  return out;
}

export interface StateTransition {
  readonly from: string;
  readonly to: string;
  readonly truncated: boolean;
}

/** `State Transition (VM_STATE_ON -> VM_STATE_GUEST_OPERATION)` */
export function parseStateTransition(msg: string): StateTransition | undefined {
  if (!msg.startsWith("State Transition (")) return undefined;
  const arrow = msg.indexOf(" -> ", 18);
  if (arrow < 0) return undefined;
  const close = msg.indexOf(")", arrow);
  return {
    from: msg.slice(18, arrow),
    to: msg.slice(arrow + 4, close < 0 ? msg.length : close),
    truncated: close < 0,
  };
}

export const GUEST_STATE = "VM_STATE_GUEST_OPERATION";

/** `Guest File Path is <path>` */
export function parseGuestFilePath(msg: string): string | undefined {
  return msg.startsWith("Guest File Path is ") ? msg.slice(19) : undefined;
}

export interface Request {
  /** Managed object type (`vim.vm.guest.ProcessManager`). */
  readonly type: string;
  readonly moid?: string;
  readonly method?: string;
  readonly session?: string;
}

/** The value of `name='…'` in a line (hostd writes these with single quotes). */
function quoted(msg: string, name: string): string | undefined {
  const k = msg.indexOf(`${name}='`);
  if (k < 0) return undefined;
  const start = k + name.length + 2;
  const end = msg.indexOf("'", start);
  return end < 0 ? msg.slice(start) : msg.slice(start, end);
}

function splitTarget(target: string): { type: string; moid?: string } {
  const colon = target.indexOf(":");
  return colon < 0
    ? { type: target }
    : { type: target.slice(0, colon), moid: target.slice(colon + 1) };
}

/** AdapterServer `New request: target='vim.vm.guest.X:moid', method='m', session='s'` [I for guest]. */
export function parseNewRequest(msg: string): Request | undefined {
  if (!msg.startsWith("New request: ")) return undefined;
  const target = quoted(msg, "target");
  if (target === undefined) return undefined;
  const method = quoted(msg, "method");
  const session = quoted(msg, "session");
  return {
    ...splitTarget(target),
    ...(method !== undefined ? { method } : {}),
    ...(session !== undefined ? { session } : {}),
  };
}

/** Solo.Vmomi `Activation [N5Vmomi10ActivationE:0x…] : Invoke done [method] on [type:moid]` [I]. */
export function parseActivation(msg: string): Request | undefined {
  const k = msg.indexOf("Invoke done [");
  if (k < 0 || !msg.startsWith("Activation ")) return undefined;
  const mEnd = msg.indexOf("]", k + 13);
  if (mEnd < 0) return undefined;
  const method = msg.slice(k + 13, mEnd);
  const on = msg.indexOf(" on [", mEnd);
  if (on < 0) return undefined;
  const tEnd = msg.indexOf("]", on + 5);
  const target = msg.slice(on + 5, tEnd < 0 ? msg.length : tEnd);
  return { ...splitTarget(target), method };
}

/** `Arg spec:` → `spec`; `Args:` → ""; undefined otherwise. */
export function parseArgHead(msg: string): string | undefined {
  if (msg === "Args:") return "";
  if (!msg.startsWith("Arg ") || !msg.endsWith(":")) return undefined;
  const name = msg.slice(4, -1);
  return /^[A-Za-z_][\w.]*$/.test(name) ? name : undefined;
}

/** `Throw vmodl.fault.SystemError` → the fault type. */
export function parseThrow(msg: string): string | undefined {
  if (!msg.startsWith("Throw ")) return undefined;
  const t = msg.slice(6).trim().split(" ", 1)[0] ?? "";
  return t || undefined;
}

export const isResultHead = (msg: string): boolean => msg === "Result:";

export interface PasswordLine {
  readonly accepted: boolean;
  readonly user: string;
  readonly ip?: string;
  readonly session?: string;
}

/** `Accepted password for user X from IP - session=S` / `Rejected password for user X from IP`. */
export function parsePassword(msg: string): PasswordLine | undefined {
  const accepted = msg.startsWith("Accepted password for user ");
  if (!accepted && !msg.startsWith("Rejected password for user ")) return undefined;
  const rest = msg.slice(27);
  const from = rest.lastIndexOf(" from ");
  if (from < 0) return { accepted, user: rest };
  const after = rest.slice(from + 6);
  const sp = after.indexOf(" ");
  const ip = sp < 0 ? after : after.slice(0, sp);
  const s = after.indexOf("session=");
  const session = s < 0 ? undefined : after.slice(s + 8).split(" ", 1)[0];
  return {
    accepted,
    user: rest.slice(0, from),
    ...(ip ? { ip } : {}),
    ...(session ? { session } : {}),
  };
}

/** `[Auth]: User X` */
export function parseAuth(msg: string): string | undefined {
  if (!msg.startsWith("[Auth]: User ")) return undefined;
  return msg.slice(13);
}

/** A VM's `.vmx` path from a `sub=Vmsvc.vm:<path>` / pre-5.0 `'vm:<path>'` logger. */
export function vmxFromSub(sub: string | undefined): string | undefined {
  if (sub === undefined) return undefined;
  const p = sub.startsWith("Vmsvc.vm:")
    ? sub.slice(9)
    : sub.startsWith("vm:")
      ? sub.slice(3)
      : undefined;
  return p !== undefined && p.endsWith(".vmx") ? p : undefined;
}

/** The directory of a datastore path (`/vmfs/volumes/ds/dir/x.vmx` → `/vmfs/volumes/ds/dir`). */
export function dirOf(path: string): string | undefined {
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : undefined;
}
