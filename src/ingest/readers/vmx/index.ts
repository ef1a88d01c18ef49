/**
 * @module Reader for the per-VM `vmware.log` (VMX): one `vmx.request` per `Receiving GuestOps.<Op>
 * request.` line and one `vmx.response` per `Completed GuestOps[.<Op>] request...` line
 * (telemetry.md §4), in both the ESXi 8 layout and the older `|`-separated one.
 *
 * vmware.log never names its VM or host on the guest-ops lines. The VM comes from the log's own
 * config dump when present (`DICT --- CONFIGURATION <vmx path>`, `DICT displayName = "..."`),
 * else from where the file sits (`.../vmfs/volumes/<ds>/<dir>/vmware.log`); the host from the log
 * header (`Hostname=...`), else from the input's host hint.
 */
import { lookupMethod } from "../../../model/catalog.js";
import type { InputSource, Observation, VmRef } from "../../../model/record.js";
import { parseIsoTime } from "../../time.js";
import { defineReader, type Envelope, type LineParser, type ReaderContext } from "../../types.js";
import { excerpt } from "../excerpt.js";
import { shareOfLines } from "../sniff.js";

// ESXi 7/8: `<ts> In(05) <thread> <opID|-> <msg>`. The thread never holds `[` or `:`, which keeps
// hostd (`Hostd[pid]:`) and vmkernel (`vmkernel:`) lines of the same era out.
const VMX8 =
  /^(?<ts>\d{4}-\d{2}-\d{2}T\S+)\s+(?<lvl>[A-Z][a-z])\((?<n>\d+)\)(?:\[\+\])?\s+(?<thread>[^\s[:]+)\s+(?<ctx>\S+)\s+(?<msg>.*)$/;
// ESXi 5-6.x and Workstation: `<ts>| <thread>| I125: <msg>` (level tag optional in old builds).
const VMX_OLD =
  /^(?<ts>[^|\s]+)\|\s*(?<thread>[^|\s]+)\|\s*(?:(?<lvl>[A-Z])(?<n>\d+):\s*)?(?<msg>.*)$/;
// Workstation without a year: `Aug 20 20:09:03.972: vmx| <msg>`.
const VMX_NOYEAR = /^(?<ts>[A-Z][a-z]{2} +\d{1,2} [\d:.]+):\s+(?<thread>[^|\s]+)\|\s*(?<msg>.*)$/;

const RX =
  /VigorTransportProcessClientPayload:\s*opID=(?<opid>\S+)\s+seq=(?<seq>\d+):\s*Receiving (?<svc>\w+)\.(?<op>[\w.]+) request\b/;
const TX =
  /VigorTransport_ServerSendResponse:?\s*opID=(?<opid>\S+)\s+seq=(?<seq>\d+):\s*Completed (?<svc>\w+)(?:\.(?<op>[\w.]+))? request(?<withmsg> with messages)?(?: in (?<us>\d+) US)?/;
const DICT_SECTION = /\bDICT --- (?<rest>.*)$/;
const DICT_NAME = /\bDICT\s+displayName\s*=(?<v>.*)$/;
const HOSTNAME = /^Hostname\s*[=:]\s*(?<h>\S+)/;
// `.../vmfs/volumes/<ds>/<dir>/vmware.log` (also rotated `vmware-3.log`), as a path or member.
const VMFS_LOG = /(?:^|\/)vmfs\/volumes\/(?<ds>[^/]+)\/(?<dir>[^/]+)\/vmware(?:-\d+)?\.log$/;

/** Requests remembered to name the method of a bare `Completed GuestOps request.` line. */
const MAX_PENDING = 4096;

interface Header {
  readonly ts: string | undefined;
  readonly thread: string | undefined;
  readonly msg: string;
}

function splitHeader(text: string): Header | undefined {
  const g = (VMX8.exec(text) ?? VMX_OLD.exec(text) ?? VMX_NOYEAR.exec(text))?.groups;
  if (!g) return undefined;
  return { ts: g["ts"], thread: g["thread"], msg: g["msg"] ?? "" };
}

/** The VM directory the input's own location implies, if it sits under `vmfs/volumes`. */
export function vmDirFromSource(source: InputSource): string | undefined {
  for (const p of [source.member, source.path]) {
    if (!p) continue;
    const last = p.split("!").pop() ?? p;
    const g = VMFS_LOG.exec(last.replace(/\\/g, "/"))?.groups;
    if (g?.["ds"] && g["dir"]) return `/vmfs/volumes/${g["ds"]}/${g["dir"]}`;
  }
  return undefined;
}

const unquote = (v: string): string =>
  v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;

const dirName = (path: string): string => path.slice(0, Math.max(0, path.lastIndexOf("/")));
const baseName = (path: string): string => path.slice(path.lastIndexOf("/") + 1);

function openVmx(ctx: ReaderContext): LineParser {
  const pathDir = vmDirFromSource(ctx.source);
  let configVmx: string | undefined;
  let displayName: string | undefined;
  let section: string | undefined;
  let headerHost: string | undefined;
  const pending = new Map<string, { method: string; api?: string }>();

  const vmRef = (): VmRef | undefined => {
    const dir = configVmx ? dirName(configVmx) : pathDir;
    // Without a config dump the directory name stands in for the display name: vSphere names the
    // directory after the VM at creation, and it is all this log says about the VM.
    const name = displayName ?? (dir ? baseName(dir) : undefined);
    if (!dir && !name && !configVmx) return undefined;
    return {
      ...(name ? { name } : {}),
      ...(configVmx ? { vmx: configVmx } : {}),
      ...(dir ? { dir } : {}),
    };
  };

  const timeOf = (
    ts: string | undefined,
    envelope: Envelope | undefined,
    lineNo: number,
    text: string,
  ) => {
    if (ts !== undefined) {
      const t = parseIsoTime(ts, ctx.options.assumeTz);
      if (t) return t;
      ctx.issue(
        "bad_time",
        `vmware.log timestamp not understood: ${ts.slice(0, 40)}`,
        lineNo,
        excerpt(text),
      );
    }
    if (envelope?.time) return { time: envelope.time, assumed: envelope.timeAssumed ?? false };
    if (ts === undefined)
      ctx.issue("missing_time", "vmware.log line without a timestamp", lineNo, excerpt(text));
    return undefined;
  };

  const line = (text: string, lineNo: number, envelope?: Envelope): void => {
    // A routed line keeps its whole physical line (header included) as provenance.
    const raw = envelope?.line ?? text;
    const head = splitHeader(text);
    const msg = head?.msg ?? text;

    if (msg.includes("DICT")) {
      const sec = DICT_SECTION.exec(msg)?.groups?.["rest"];
      if (sec !== undefined) {
        const rest = sec.trim();
        if (rest.startsWith("CONFIGURATION")) {
          section = "CONFIGURATION";
          const path = rest.slice("CONFIGURATION".length).trim();
          if (path.endsWith(".vmx")) configVmx = path;
        } else section = rest;
        ctx.skip(lineNo, "section-header");
        return;
      }
      const name = DICT_NAME.exec(msg)?.groups?.["v"];
      if (name !== undefined) {
        if (section === undefined || section === "CONFIGURATION")
          displayName = unquote(name.trim());
        ctx.skip(lineNo, "dictionary");
        return;
      }
    }
    const host = HOSTNAME.exec(msg)?.groups?.["h"];
    if (host !== undefined && head) {
      headerHost = host;
      ctx.skip(lineNo, "hostname");
      return;
    }
    if (!msg.includes("Vigor")) {
      ctx.skip(lineNo, msg.includes("GuestOps") ? "guestops-other" : "other-message");
      return;
    }

    const rx = RX.exec(msg)?.groups;
    const tx = rx ? undefined : TX.exec(msg)?.groups;
    const g = rx ?? tx;
    if (!g) {
      if (msg.includes("GuestOps")) {
        ctx.issue(
          "unparsed_line",
          "VigorTransport GuestOps line not understood",
          lineNo,
          excerpt(raw),
        );
      } else ctx.skip(lineNo, "vigor-other");
      return;
    }
    if (g["svc"] !== "GuestOps") {
      ctx.skip(lineNo, "other-service"); // MKS.IssueTicket and other console traffic
      return;
    }
    const opId = g["opid"] ?? "";
    const seq = Number(g["seq"]);
    const key = `${opId} ${g["seq"] ?? ""}`;
    const op = g["op"];
    let method = op === undefined ? undefined : `GuestOps.${op}`;
    let api: string | undefined;
    if (op !== undefined) {
      api = lookupMethod(method ?? "")?.api;
      if (!api) {
        ctx.issue(
          "unknown_method",
          `unknown guest operation ${method ?? ""}`,
          lineNo,
          excerpt(raw),
        );
      }
    } else {
      const req = pending.get(key);
      if (req) {
        method = req.method;
        api = req.api;
      }
    }
    if (rx) {
      if (pending.size >= MAX_PENDING) {
        const oldest = pending.keys().next().value;
        if (oldest !== undefined) pending.delete(oldest);
      }
      pending.set(key, { method: method ?? "", ...(api ? { api } : {}) });
    } else pending.delete(key);

    const time = timeOf(head?.ts, envelope, lineNo, raw);
    const vm = vmRef();
    const hostName = headerHost ?? envelope?.host ?? ctx.source.hostHint;
    const us = tx?.["us"];
    const record: Observation = {
      type: "observation",
      kind: rx ? "vmx.request" : "vmx.response",
      time: time?.time,
      ...(time?.assumed ? { timeAssumed: true } : {}),
      ...(hostName ? { host: hostName } : {}),
      ...(vm ? { vm } : {}),
      ...(method ? { method } : {}),
      ...(api ? { api } : {}),
      opId,
      seq,
      ...(tx ? { outcome: "success" as const } : {}),
      ...(head?.thread ? { thread: head.thread } : {}),
      process: "vmx",
      ...(us !== undefined ? { durationUs: Number(us) } : {}),
      ...(tx?.["withmsg"] ? { detail: "with messages" } : {}),
      evidence: "verbatim",
      prov: { source: ctx.source, line: lineNo, lineCount: 1, raw },
    };
    ctx.emit(record);
  };

  return { line, end: () => pending.clear() };
}

/**
 * Lines that start like vmware.log lines: the ESXi 7/8 header, or the older `|` header with a
 * timestamp (digits first), or Workstation's year-less one.
 */
const VMX_OLD_SNIFF = /^\d[^|\s]*\|\s*[^|\s]+\|/;
const SNIFF_LINE = [VMX8, VMX_OLD_SNIFF, VMX_NOYEAR];
/** Text only vmware.log writes; it counts only on a line with a vmware.log header. */
const SNIFF_STRONG = /\bLog for VMware (?:ESX|Workstation|Fusion|Player)\b|VigorTransport/;

export const vmxReader = defineReader({
  name: "vmx",
  title: "Per-VM vmware.log (VMX): GuestOps requests and responses",
  shape: "lines",
  markers: ["GuestOps", "DICT ---", "displayName", "Hostname"],
  /**
   * Most non-empty lines of a vmware.log start with its header; prose or Markdown that quotes
   * vmware.log lines (a README, an issue) does not, and scores below the threshold.
   */
  sniff: (head) => {
    let strong = false;
    const f = shareOfLines(head, (l) => {
      if (!SNIFF_LINE.some((re) => re.test(l))) return false;
      if (SNIFF_STRONG.test(l)) strong = true;
      return true;
    });
    if (f === 0) return 0;
    if (f < 0.5) return 0.25 * f;
    return strong ? 0.95 : 0.85;
  },
  open: openVmx,
});
