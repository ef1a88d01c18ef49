/**
 * Which archive members are read, and which host a bundle or member path names.
 *
 * An ESXi support bundle (vm-support `.tgz`) holds thousands of files (command outputs, configs,
 * core dumps); a vCenter "Export System Logs" `.zip` holds one bundle per host plus vCenter's own.
 * Members are chosen by content, like files: every member is opened and its head goes through the
 * same detection (a receiver file called `esxi-hosts.log` is read whatever its name). The name
 * decides only as a fast path, for members that are surely not logs (binaries, core dumps, disk
 * and memory images, pictures, known noise logs): those are counted as skipped and never
 * decompressed. `--all-members` turns the fast path off.
 */

/** File name endings of data that is never a log (the name after an optional `.gz`). */
const NOT_LOG_SUFFIX =
  /\.(?:so(?:\.\d+)*|o|ko|a|bin|exe|dll|sys|elf|pyc|pyo|class|jar|war|whl|rpm|deb|vib|iso|img|vmdk|vmem|vmsn|vmss|vswp|nvram|sesparse|png|jpe?g|gif|bmp|ico|tiff?|webp|pcap(?:ng)?|dmp|dump|zdump|core|gcore|db|sqlite3?|mdb)$/i;

/** Core and crash dumps, and large noise logs that hold no guest operation. */
const NOT_LOG_NAME =
  /^(?:core(?:\.\d+|\.[\w-]+\.\d+)?|.*-zdump[.-].*|vmkernel-zdump.*|vpxd-profiler.*|vpxd-svcs-perf.*|vpxd-perf.*|hostd-probe.*)$/i;

/**
 * Why an archive member is skipped without being opened: `"not-log-name"` when its name says it
 * is surely not a log, else undefined (the member is opened and decided by content). `name` is
 * the member path inside its archive (`esx-h1-2024-06-04--21.58/var/run/log/hostd.0.gz`).
 */
export function memberNameSkip(name: string): "not-log-name" | undefined {
  const path = name.replace(/\\/g, "/");
  const base = path.slice(path.lastIndexOf("/") + 1);
  const plain = base.replace(/\.gz$/i, "");
  return NOT_LOG_SUFFIX.test(plain) || NOT_LOG_NAME.test(plain) ? "not-log-name" : undefined;
}

/** Log families guestops reads, by base name (`hostd.log`, `vpxd-12.log.gz`, `syslog.0`). */
const LOG_NAME =
  /^(?:hostd|vmware|vpxd|vpxa|syslog|audit|auth|messages|shell|vc-?events|events)(?:[-.]\d+)*(?:\.(?:log|txt|json|ndjson|out))?(?:[-.]\d+)*(?:\.gz)?$/i;

/**
 * Whether a member is named like a log guestops reads: when no reader recognises such a member,
 * that is an issue of its own (a format guestops does not know), not a quiet skip.
 */
export function namedLikeLog(name: string): boolean {
  const path = name.replace(/\\/g, "/");
  return LOG_NAME.test(path.slice(path.lastIndexOf("/") + 1));
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
