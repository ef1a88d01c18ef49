/**
 * @module Reader for vCenter events exported as JSON:
 * - `govc events -json` records `{"object","type","createdTime","category","message","key"}` (one
 *   indented object per event, or NDJSON with `GOVC_INDENT=false`; `type` and `key` only with `-l`);
 * - full event objects as the vSphere JSON API, pyVmomi or Go's encoder write them (camelCase:
 *   `key`, `chainId`, `createdTime`, `userName`, `vm{name, vm{type, value}}`,
 *   `fullFormattedMessage`, `eventTypeId`, `arguments[{key, value}]`, `objectId`, ...);
 * - PowerCLI `Get-VIEvent | ConvertTo-Json` (PascalCase, `/Date(ms)/` dates, objects nested deeper
 *   than the default depth 2 printed as their type name, e.g. `"VMware.Vim.VmEventArgument"`).
 * Field names are matched case-insensitively. A record that does not parse is a `bad_json` issue
 * and reading goes on.
 */
import type { JsonElement } from "../../json-elements.js";
import { epochTime, parseIsoTime, type ParsedTime } from "../../time.js";
import { defineReader, type ReaderContext } from "../../types.js";
import { excerpt } from "../excerpt.js";
import { fieldsOf, jsonHead, jsonRecords, scalarOf } from "../json-records.js";
import { interpretEvent, type VcEvent } from "../vc-events/index.js";

/** ConvertTo-Json's stand-in for an object nested too deep: its .NET type name. */
const isTypeName = (s: string): boolean => /^VMware\.Vim\.[\w.]+$/.test(s);

/** `vm-42` from `{type, value}`, `VirtualMachine-vm-42` (PowerCLI), `vim.VirtualMachine:vm-42`. */
export function morefOf(value: unknown): string | undefined {
  const f = fieldsOf(value);
  if (f) return scalarOf(f.get("value"));
  const s = scalarOf(value);
  if (s === undefined || isTypeName(s)) return undefined;
  const m = /^(?:vim\.)?VirtualMachine[-:](?<id>.+)$/.exec(s);
  if (m?.groups?.["id"]) return m.groups["id"];
  return /^vm-\d+$/.test(s) ? s : undefined;
}

/** `createdTime` as ISO (`2024-...Z`, `+02:00`, 7 fraction digits), `/Date(ms)/` or epoch ms. */
export function eventTime(value: unknown, assumeTz: string): ParsedTime | undefined {
  if (typeof value === "number") return epochTime(value);
  const s = scalarOf(value)?.trim();
  if (!s) return undefined;
  const ms = /^\/Date\((?<ms>-?\d+)(?:[+-]\d{4})?\)\/$/.exec(s)?.groups?.["ms"];
  if (ms !== undefined) return epochTime(Number(ms));
  return parseIsoTime(s, assumeTz);
}

function argumentsOf(value: unknown): Map<string, string> | undefined {
  if (!Array.isArray(value)) return undefined;
  const args = new Map<string, string>();
  for (const item of value) {
    const f = fieldsOf(item); // depth-truncated items are type-name strings: nothing to read
    if (!f) continue;
    const key = scalarOf(f.get("key"));
    const v = scalarOf(f.get("value"));
    if (key !== undefined && v !== undefined && !args.has(key.toLowerCase())) {
      args.set(key.toLowerCase(), v);
    }
  }
  return args.size ? args : undefined;
}

const str = (v: unknown): string | undefined => {
  const s = scalarOf(v);
  return s === undefined || isTypeName(s) ? undefined : s;
};

/** One JSON object as a vCenter event; undefined when it has none of an event's fields. */
export function eventOf(f: Map<string, unknown>): VcEvent | undefined {
  const full = str(f.get("fullformattedmessage"));
  let desc = full ?? str(f.get("message"));
  let objectRef: string | undefined;
  if (full === undefined && desc !== undefined && f.has("category")) {
    // govc appends ` (<objectId>)` to the message of an EventEx.
    const m = /^(?<text>.*) \((?<obj>[^()\s]+)\)$/s.exec(desc);
    if (m?.groups) {
      desc = m.groups["text"];
      objectRef = m.groups["obj"];
    }
  }
  const vmField = f.get("vm");
  const vm = fieldsOf(vmField);
  const host = fieldsOf(f.get("host"));
  const objectId = str(f.get("objectid"));
  const objectType = str(f.get("objecttype"));
  const govcObject = str(f.get("object"));
  const vmMoref =
    (vm ? morefOf(vm.get("vm")) : undefined) ??
    (objectId && (objectType === "VirtualMachine" || /^vm-\d+$/.test(objectId))
      ? objectId
      : undefined) ??
    (objectRef && /^vm-\d+$/.test(objectRef) ? objectRef : undefined) ??
    morefOf(govcObject);
  const type =
    str(f.get("eventtypeid")) ??
    str(f.get("type")) ??
    str(f.get("_typename")) ??
    str(f.get("_vimtype"));
  const key = str(f.get("key"));
  const chainId = str(f.get("chainid"));
  const user = str(f.get("username"));
  const callCount = scalarOf(f.get("callcount"));
  const loginTime = str(f.get("logintime"));
  const vmName = vm ? str(vm.get("name")) : undefined;
  const hostName = host ? str(host.get("name")) : undefined;
  const args = argumentsOf(f.get("arguments"));
  const ipAddress = str(f.get("ipaddress"));
  const userAgent = str(f.get("useragent"));
  const sessionId = str(f.get("sessionid"));
  const ev: VcEvent = {
    ...(key !== undefined ? { key } : {}),
    ...(chainId !== undefined ? { chainId } : {}),
    ...(type !== undefined ? { type } : {}),
    ...(user !== undefined ? { user } : {}),
    ...(desc !== undefined ? { desc } : {}),
    ...(vmName ? { vmName } : {}),
    ...(vmMoref ? { vmMoref } : {}),
    ...(hostName ? { host: hostName } : {}),
    ...(args ? { args } : {}),
    ...(ipAddress ? { ipAddress } : {}),
    ...(userAgent ? { userAgent } : {}),
    ...(callCount !== undefined && /^\d+$/.test(callCount) ? { callCount: Number(callCount) } : {}),
    ...(loginTime !== undefined ? { loginTime } : {}),
    ...(sessionId ? { sessionId } : {}),
  };
  const eventish =
    desc !== undefined || type !== undefined || f.has("createdtime") || f.has("chainid");
  return eventish ? ev : undefined;
}

/** Arrays some exports wrap the events in. */
const WRAPPERS = ["returnval", "value", "events", "items"];

function readValue(value: unknown, el: JsonElement, ctx: ReaderContext, depth: number): void {
  if (Array.isArray(value)) {
    if (depth >= 2) {
      ctx.issue("bad_json", "JSON nested too deep for an event list", el.line, excerpt(el.text));
      return;
    }
    for (const item of value) readValue(item, el, ctx, depth + 1);
    return;
  }
  const f = fieldsOf(value);
  if (!f) {
    ctx.issue("bad_json", "JSON record is not an object", el.line, excerpt(el.text));
    return;
  }
  const ev = eventOf(f);
  if (!ev) {
    const wrapped = WRAPPERS.map((w) => f.get(w)).find((v) => Array.isArray(v));
    if (wrapped !== undefined && depth < 2) {
      readValue(wrapped, el, ctx, depth + 1);
      return;
    }
    ctx.issue("unparsed_line", "JSON object is not a vCenter event", el.line, excerpt(el.text));
    return;
  }
  const created = f.get("createdtime");
  let time = eventTime(created, ctx.options.assumeTz);
  if (!time) {
    const s = created === undefined ? "" : (scalarOf(created) ?? "");
    ctx.issue(
      s.trim() ? "bad_time" : "missing_time",
      `vCenter event${ev.key ? ` ${ev.key}` : ""}: createdTime ${s.trim() ? "not understood" : "missing"}`,
      el.line,
      excerpt(s),
    );
    time = undefined;
  }
  const understood = interpretEvent(
    ev,
    {
      time: time?.time,
      ...(time?.assumed ? { timeAssumed: true } : {}),
      // An export names no vCenter; the input's host hint (`vc01-events.json`) is the best guess.
      ...(ctx.source.hostHint ? { vcenter: ctx.source.hostHint } : {}),
      prov: { source: ctx.source, line: el.line, lineCount: el.lineCount, raw: el.text },
    },
    ctx,
    undefined,
  );
  if (!understood) ctx.skip(el.line, "other-event");
}

async function readEvents(bytes: AsyncIterable<Buffer>, ctx: ReaderContext): Promise<void> {
  for await (const { el, value } of jsonRecords(bytes, ctx)) readValue(value, el, ctx, 0);
}

const STRONG = /"(?:eventTypeId|EventTypeId|fullFormattedMessage|FullFormattedMessage)"\s*:/;
const TYPENAME = /"(?:_typeName|_vimtype)"\s*:\s*"(?:vim\.event\.)?(?:EventEx|\w+Event)"/;
const GOVC = /"createdTime"\s*:/;
const WEAK = /"(?:chainId|ChainId|CreatedTime|UserName|userName)"\s*:/;

export const vcEventsJsonReader = defineReader({
  name: "vc-events-json",
  title:
    "vCenter events as JSON (govc events -json, EventEx objects, Get-VIEvent | ConvertTo-Json)",
  shape: "document",
  sniff: (head) => {
    const text = jsonHead(head);
    if (text === undefined) return 0;
    if (STRONG.test(text) || TYPENAME.test(text)) return 0.9;
    if (/"(?:chainId|ChainId)"\s*:/.test(text) && /"(?:createdTime|CreatedTime)"\s*:/.test(text)) {
      return 0.85;
    }
    if (GOVC.test(text) && /"category"\s*:/.test(text)) return 0.85;
    if (WEAK.test(text)) return 0.5;
    return 0;
  },
  read: readEvents,
});
