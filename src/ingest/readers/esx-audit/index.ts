/**
 * ESXi 8.0.3+ audit records (format `esx-audit`). Evidence is `inferred`: no public sample of an
 * `api.call` on a guest manager exists; the shape is Broadcom's "ESX Audit Log Event Reference":
 *
 * - facility 13 (PRI 104-111), RFC 3164 (`<110>TS HOST APP[PID]: [eventID@6876 …]`) or RFC 5424
 *   (`<110>1 TS HOST APP PROCID - [eventID@6876 …]`; locally stored records have HOSTNAME `-`);
 * - one SD element `[eventID@6876 name="value" …]`, `"`, `\` and `]` backslash-escaped, parameter
 *   order not fixed, no text after it.
 *
 * Read here: `api.call` on a `vim.vm.guest.*` object → `audit.api-call` (user = subject, method =
 * object, outcome = result); `vim.connect` → `connect` (or `login-failed` when result=failure);
 * `vim.disconnect` → `disconnect`; `vim.access.denied` → `login-failed`, plus an `audit.api-call`
 * with outcome failure when the denied object is a guest manager. Other audit events are skipped.
 */
import { lookupMethod } from "../../../model/catalog.js";
import type { Observation, SessionKind, SessionRecord } from "../../../model/record.js";
import { facilityOf, parseEnvelope } from "../../syslog/envelope.js";
import { param, parseStructuredData, type SdElement } from "../../syslog/structured-data.js";
import {
  defineReader,
  type Envelope,
  type LineParser,
  type LineReader,
  type ReaderContext,
} from "../../types.js";
import { excerpt } from "../excerpt.js";
import { shareOfLines } from "../sniff.js";

const GUEST = "vim.vm.guest.";

/** `api.call@6876`, `vim.connect@6876`: a dotted lowercase event id with VMware's PEN. */
function auditId(id: string): string | undefined {
  const at = id.lastIndexOf("@");
  if (at <= 0 || id.slice(at + 1) !== "6876") return undefined;
  const name = id.slice(0, at);
  return /^[a-z][a-zA-Z0-9_-]*(?:\.[a-zA-Z0-9_-]+)+$/.test(name) ? name : undefined;
}

/** The audit element of a line: from the RFC 5424 SD, or the RFC 3164 message. */
export function auditElement(env: Envelope): { event: string; el: SdElement } | undefined {
  const candidates = [env.structuredData, env.body];
  for (const text of candidates) {
    if (text === undefined || text.charCodeAt(0) !== 91) continue;
    for (const el of parseStructuredData(text)) {
      const event = auditId(el.id);
      if (event !== undefined) return { event, el };
    }
  }
  return undefined;
}

/** Whether an envelope carries an audit record (facility 13 or an audit SD element). */
export function isAuditEnvelope(env: Envelope): boolean {
  if (env.pri !== undefined && facilityOf(env.pri) === 13) return true;
  const text = env.structuredData ?? env.body;
  if (text.charCodeAt(0) !== 91) return false;
  const sp = text.indexOf(" ");
  const id = text.slice(1, sp < 0 ? Math.min(text.length, 64) : sp);
  return auditId(id) !== undefined;
}

/** `vim.vm.guest.ProcessManager.startProgram`, also with a `:moid` before the method. */
function splitObject(object: string): { type: string; method?: string } {
  const colon = object.indexOf(":");
  if (colon >= 0) {
    const dot = object.indexOf(".", colon);
    const type = object.slice(0, colon);
    return dot < 0 ? { type } : { type, method: object.slice(dot + 1) };
  }
  const dot = object.lastIndexOf(".");
  return dot < 0 ? { type: object } : { type: object.slice(0, dot), method: object.slice(dot + 1) };
}

function outcomeOf(result: string | undefined): Observation["outcome"] {
  if (result === "success") return "success";
  if (result === "failure") return "failure";
  return "unknown";
}

const dirOf = (path: string): string | undefined => {
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : undefined;
};

export function createAuditParser(ctx: ReaderContext): LineParser {
  function base(
    type: "observation" | "session",
    kind: string,
    env: Envelope,
    lineNo: number,
    raw: string,
  ): Record<string, unknown> {
    const o: Record<string, unknown> = { type, kind, time: env.time };
    if (env.time === undefined) {
      ctx.issue(
        "missing_time",
        "audit record without a timestamp: kept without a time",
        lineNo,
        excerpt(raw),
      );
    } else if (env.timeAssumed) {
      o.timeAssumed = true;
      ctx.issue(
        "assumed_time",
        "timestamp without year or zone: year inferred, zone from --assume-tz",
        lineNo,
        excerpt(raw),
      );
    }
    const host = env.host ?? ctx.source.hostHint;
    if (host !== undefined) o.host = host;
    return o;
  }

  const prov = (lineNo: number, raw: string) => ({
    source: ctx.source,
    line: lineNo,
    lineCount: 1,
    raw,
  });

  function set(o: Record<string, unknown>, k: string, v: unknown): void {
    if (v !== undefined && v !== "") o[k] = v;
  }

  function apiCall(
    env: Envelope,
    lineNo: number,
    raw: string,
    method: string,
    user: string | undefined,
    outcome: Observation["outcome"],
    el: SdElement,
    vmx?: string,
  ): void {
    const info = lookupMethod(method);
    if (info === undefined) {
      ctx.issue(
        "unknown_method",
        `guest-operation method not in the catalog: ${method}`,
        lineNo,
        excerpt(raw),
      );
    }
    const o = base("observation", "audit.api-call", env, lineNo, raw);
    if (vmx !== undefined && vmx !== "") {
      const dir = dirOf(vmx);
      o.vm = dir === undefined ? { vmx } : { vmx, dir };
    }
    o.method = method;
    set(o, "api", info?.api);
    set(o, "opId", param(el, "opID") ?? param(el, "opId"));
    set(o, "user", user);
    o.outcome = outcome;
    if (outcome === "failure") set(o, "fault", param(el, "reason"));
    set(o, "process", env.program);
    o.evidence = "inferred";
    o.prov = prov(lineNo, raw);
    ctx.emit(o as unknown as Observation);
  }

  function session(
    env: Envelope,
    lineNo: number,
    raw: string,
    kind: SessionKind,
    el: SdElement,
  ): void {
    const o = base("session", kind, env, lineNo, raw);
    set(o, "user", param(el, "subject"));
    set(o, "sourceIp", param(el, "ip"));
    set(o, "session", param(el, "uniqueID"));
    set(o, "opId", param(el, "opID") ?? param(el, "opId"));
    set(o, "process", env.program);
    o.evidence = "inferred";
    o.prov = prov(lineNo, raw);
    ctx.emit(o as unknown as SessionRecord);
  }

  return {
    line(text: string, lineNo: number, envelope?: Envelope): void {
      const env = envelope ?? parseEnvelope(text, ctx.options) ?? { body: text };
      const raw = envelope?.line ?? text;
      const found = auditElement(env);
      if (found === undefined) {
        if (text.trim() === "") ctx.skip(lineNo, "blank");
        else
          ctx.issue(
            "unparsed_line",
            "no ESXi audit record ([eventID@6876 …]) in this line",
            lineNo,
            excerpt(raw),
          );
        return;
      }
      const { event, el } = found;
      if (el.truncated) {
        ctx.issue(
          "truncated_record",
          "audit record cut short: read as far as it goes",
          lineNo,
          excerpt(raw),
        );
      }
      const result = param(el, "result");
      switch (event) {
        case "api.call": {
          const object = param(el, "object") ?? "";
          if (!object.startsWith(GUEST)) {
            ctx.skip(lineNo, "non-guest-call");
            return;
          }
          const { type, method } = splitObject(object);
          apiCall(
            env,
            lineNo,
            raw,
            method === undefined ? type : `${type}.${method}`,
            param(el, "subject"),
            outcomeOf(result),
            el,
          );
          return;
        }
        case "vim.connect":
          session(env, lineNo, raw, result === "failure" ? "login-failed" : "connect", el);
          return;
        case "vim.disconnect":
          session(env, lineNo, raw, "disconnect", el);
          return;
        case "vim.access.denied": {
          session(env, lineNo, raw, "login-failed", el);
          const object = param(el, "object") ?? "";
          if (object.startsWith(GUEST)) {
            const { type } = splitObject(object);
            const apiName = param(el, "apiName");
            apiCall(
              env,
              lineNo,
              raw,
              apiName === undefined ? type : `${type}.${apiName}`,
              param(el, "subject"),
              "failure",
              el,
              param(el, "path"),
            );
          }
          return;
        }
        default:
          ctx.skip(lineNo, "other-event");
      }
    },
    end(): void {},
  };
}

/**
 * Markers: a guest `api.call` always names `vim.vm.guest.` in its object, so the (very many)
 * api.call records on other objects never get decoded.
 */
export const AUDIT_MARKERS: readonly string[] = [
  "vim.vm.guest.",
  "vim.connect@",
  "vim.disconnect@",
  "vim.access.denied@",
];

export function sniffAudit(head: readonly string[]): number {
  const f = shareOfLines(head, (text) => {
    const env = parseEnvelope(text, { assumeTz: "UTC" });
    return env !== undefined && auditElement(env) !== undefined;
  });
  return f >= 0.5 ? 0.8 + 0.15 * f : 0.5 * f;
}

export const esxAuditReader: LineReader = defineReader({
  name: "esx-audit",
  title: "ESXi 8.0.3+ audit records (api.call, vim.connect, vim.disconnect, vim.access.denied)",
  shape: "lines",
  markers: AUDIT_MARKERS,
  sniff: sniffAudit,
  open: createAuditParser,
});
