/**
 * Which archive members are read, and which host a bundle or member path names.
 *
 * An ESXi support bundle (vm-support `.tgz`) holds thousands of files (command outputs, configs,
 * core dumps); a vCenter "Export System Logs" `.zip` holds one bundle per host plus vCenter's own.
 * Only members that can hold the logs guestops reads are opened; the others are counted
 * (`skippedMembers` in the summary) and never decompressed. Files named on the command line or
 * found in a named directory are always read: the filter applies inside archives only.
 */

/** Log families read from archives (the basename starts with one of these, any case). */
const LOG_PREFIXES = [
  "hostd", // ESXi hostd.log, rotated hostd.0.gz / hostd.log.1
  "vmware", // per-VM vmware.log, vmware-1.log ...
  "vpxd", // vCenter vpxd.log, vpxd-123.log.gz
  "vpxa", // ESXi vCenter agent
  "syslog", // ESXi syslog.log, receiver files
  "audit", // ESXi 8.0.3+ audit records, auditLog/
  "auth", // auth.log: sshd / hostd logins
  "messages", // receiver / appliance syslog
  "shell", // ESXi shell.log (commands run on the host)
  "vc-events",
  "vcevents",
  "events",
] as const;

/** Members of those families that are known not to hold relevant records (and can be huge). */
const EXCLUDED = /^(?:vpxd-profiler|vpxd-svcs-perf|vpxd-perf|hostd-probe|vmware-vmx-|vmware\.vmx)/i;

/** A log file name: `x.log`, `x.log.3`, `x.3`, `x-3.log`, `x.json`, `x.ndjson`, `x.txt`, `x`. */
const LOG_SUFFIX = /^(?:[-.]\d+)*(?:\.(?:log|txt|json|ndjson|out))?(?:[-.]\d+)*$/i;

/** Nested archives are opened (a vCenter export holds per-host bundles). */
const ARCHIVE = /\.(?:tgz|tar|tar\.gz|zip)$/i;

/** Event exports saved as JSON anywhere in an archive (`events.json`, `vc-events-2024.json`). */
const EVENT_JSON = /event[^/]*\.(?:nd)?json$/i;

/**
 * True when an archive member may hold relevant logs. `name` is the member path inside its
 * archive (`esx-h1-2024-06-04--21.58/var/run/log/hostd.0.gz`).
 */
export function isRelevantMember(name: string): boolean {
  const path = name.replace(/\\/g, "/");
  const base = path.slice(path.lastIndexOf("/") + 1);
  if (base === "") return false;
  if (ARCHIVE.test(base)) return true;
  if (EVENT_JSON.test(base)) return true;
  if (/(?:^|\/)auditLog\//i.test(path)) return true;
  const plain = base.replace(/\.gz$/i, "");
  const lower = plain.toLowerCase();
  if (EXCLUDED.test(plain)) return false;
  for (const prefix of LOG_PREFIXES) {
    if (lower.startsWith(prefix) && LOG_SUFFIX.test(plain.slice(prefix.length))) return true;
  }
  return false;
}

/** vm-support: `esx-<host>-<yyyy>-<mm>-<dd>--<hh>.<mm>[-<n>]`; vCenter: `vc-<host>-<date>...`. */
const BUNDLE = /^(?:esx|vc)-(?<host>.+?)-\d{4}-\d{2}-\d{2}--\d{2}\.\d{2}(?:[-.][^/]*)?$/i;

/**
 * The host a bundle file name or a member path names: the bundle's own name
 * (`esx-esx01.example.com-2024-06-04--21.58-12345.tgz` → `esx01.example.com`) or the top
 * directory of a member (`esx-esx01-2024-06-04--21.58-1/var/run/log/hostd.log`).
 */
export function hostHintFrom(name: string): string | undefined {
  const path = name.replace(/\\/g, "/");
  const candidates = [path.slice(path.lastIndexOf("/") + 1), path.split("/")[0] ?? ""];
  for (const c of candidates) {
    const stem = c.replace(/\.(?:tgz|tar\.gz|tar|zip|gz)$/i, "");
    const host = BUNDLE.exec(stem)?.groups?.["host"];
    if (host && /^[\w.-]+$/.test(host)) return host;
  }
  return undefined;
}

/**
 * Members of a support bundle that name its host, best first: `esxcli system hostname get`
 * output, `hostname` command output, `/etc/hostname`, `/etc/hosts`. Returns the rank (lower is
 * better), or undefined when the member is none of these.
 */
export function hostNameFileRank(name: string): number | undefined {
  const path = name.replace(/\\/g, "/").toLowerCase();
  const base = path.slice(path.lastIndexOf("/") + 1);
  if (/(?:^|\/)commands\/esxcli_system-hostname-get(?:\.txt)?$/.test(path)) return 0;
  if (/(?:^|\/)commands\//.test(path) && /^hostname(?:[_-][\w.-]*)?(?:\.txt)?$/.test(base))
    return 1;
  if (/(?:^|\/)etc\/hostname$/.test(path)) return 2;
  if (/(?:^|\/)etc\/hosts$/.test(path)) return 3;
  return undefined;
}

const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$/;

/**
 * The host a host-name member names (`hostNameFileRank`): the fully qualified name of `esxcli
 * system hostname get` (else its host name), the first word of `hostname` output, the one name
 * `/etc/hosts` gives a non-loopback address (none when it gives several hosts).
 */
export function hostFromHostNameFile(name: string, text: string): string | undefined {
  const rank = hostNameFileRank(name);
  const valid = (h: string | undefined): string | undefined =>
    h !== undefined && HOST_NAME.test(h) && h.toLowerCase() !== "localhost" ? h : undefined;
  if (rank === 0) {
    const field = (label: string) =>
      new RegExp(`^\\s*${label}:\\s*(\\S+)\\s*$`, "im").exec(text)?.[1];
    return valid(field("Fully Qualified Domain Name")) ?? valid(field("Host Name"));
  }
  if (rank === 1 || rank === 2) {
    const first = text.split("\n").find((l) => l.trim() !== "");
    return valid(first?.trim().split(/\s+/)[0]);
  }
  if (rank === 3) {
    const names = new Set<string>();
    let found: string | undefined;
    for (const line of text.split("\n")) {
      const [ip, host] = line.replace(/#.*/, "").trim().split(/\s+/);
      if (!ip || !host || /^(?:127\.|::1$|fe80:|ff0|0\.0\.0\.0)/i.test(ip)) continue;
      const h = valid(host);
      if (!h) continue;
      names.add(h.toLowerCase());
      found ??= h;
    }
    return names.size === 1 ? found : undefined;
  }
  return undefined;
}
