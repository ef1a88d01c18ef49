/**
 * Incident linking (docs/alerts.md, "Incidents"): alerts that belong to one attack become one
 * incident. Pure: no clock, no I/O. `linkIncidents()` is the batch form; `createIncidentLinker()`
 * is the same algorithm fed one alert at a time, whose state is only the incidents that can still
 * grow (those with a link key inside its window), so a live feed can close incidents as time moves.
 *
 * Two alerts are linked when one *seeks* a key the other *marks* and the gap between them (end of
 * the earlier to start of the later, 0 when they overlap) is at most that key's window. Linking is
 * transitive (single linkage): alerts are taken in order of `firstSeen`, then id, so the result
 * does not depend on the order the alerts are given in.
 */
import { compareAlerts } from "./group.js";
import { createHash } from "node:crypto";
import { maxSeverity, severityRank, type Alert, type AlertPrincipal } from "../model/alert.js";
import type { Incident, IncidentEntry, IncidentLink, LinkKind } from "../model/incident.js";

export interface LinkOptions {
  /** Alerts of one principal, session or address (or unattributed on one VM) closer than this link. */
  readonly windowMs: number;
  /** The same finding by the same principal links when repeated within this gap; 0: never. */
  readonly repeatMs: number;
  /**
   * The account key of an attributed alert (default `principal.id`); the engine passes one that
   * folds the policy's domain aliases. `undefined`: the alert names no accountable principal.
   */
  readonly principalKey?: (principal: AlertPrincipal) => string | undefined;
  /**
   * True for addresses that do not identify a client: loopback (always) and vCenter's own
   * addresses (the engine passes the policy's), which every call through vCenter shares.
   */
  readonly sharedAddress?: (ip: string) => boolean;
}

/** Default linking window: one hour. */
export const DEFAULT_LINK_WINDOW_MS = 60 * 60 * 1000;
/** Default repeat window: seven days between two repeats of one finding. */
export const DEFAULT_REPEAT_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

/** Links alerts into incidents; incidents come most severe first, then by first time and id. */
export function linkIncidents(alerts: Iterable<Alert>, options: LinkOptions): Incident[] {
  const sorted = [...alerts].sort(compareAlerts);
  const linker = createIncidentLinker(options);
  for (const alert of sorted) linker.push(alert);
  return linker.flush().sort(compareIncidents);
}

export interface IncidentLinker {
  /** Adds one alert; alerts are expected in `compareAlerts` order (later ones are never lost). */
  push(alert: Alert): void;
  /**
   * Closes and returns the incidents no alert starting at or after `now` (epoch ms) could join;
   * without `now`, every open incident. Returned in order of their first alert.
   */
  flush(now?: number): Incident[];
  /** Incidents still open (the linker's whole state). */
  readonly open: number;
}

/** Most severe first, then first time (untimed last), then id. */
export function compareIncidents(a: Incident, b: Incident): number {
  const bySeverity = severityRank(b.severity) - severityRank(a.severity);
  if (bySeverity !== 0) return bySeverity;
  if (a.firstSeen !== b.firstSeen) {
    if (a.firstSeen === undefined) return 1;
    if (b.firstSeen === undefined) return -1;
    return a.firstSeen < b.firstSeen ? -1 : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** `in-` + 16 hex digits of SHA-256 over `incident` and the first alert's id. */
export function incidentId(firstAlertId: string): string {
  const digest = createHash("sha256").update(`incident\n${firstAlertId}`).digest("hex");
  return `in-${digest.slice(0, 16)}`;
}

/** A link key an alert carries: the key, its window, and how people read it. */
interface Key {
  readonly key: string;
  readonly windowMs: number;
  readonly by: LinkKind;
  readonly value: string;
}

interface Node {
  parent: Node | undefined;
  /** Members (in no particular order: `buildIncident` sorts them). */
  readonly alerts: Alert[];
  /** The earliest member (`compareAlerts`): the incident's id derives from it. */
  first: Alert;
  readonly links: Map<string, { by: LinkKind; value: string; alerts: Set<string> }>;
  /** Latest instant a new alert can still link to this incident (epoch ms). */
  expires: number;
  closed: boolean;
}

/** Who last marked a key, per incident: enough to test a later alert's gap. */
interface Mark {
  readonly node: Node;
  last: number;
  alert: string;
}

const LOOPBACK = /^(?:127\.|::1$|::ffff:127\.)/i;

const msOf = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
};

/** The root of a node (iterative, with path compression: no recursion). */
function find(node: Node): Node {
  let root = node;
  while (root.parent) root = root.parent;
  let cur = node;
  while (cur.parent) {
    const next: Node = cur.parent;
    cur.parent = root;
    cur = next;
  }
  return root;
}

export function createIncidentLinker(options: LinkOptions): IncidentLinker {
  const principalKey = options.principalKey ?? ((p: AlertPrincipal) => p.id);
  const shared = (ip: string): boolean =>
    LOOPBACK.test(ip) || (options.sharedAddress?.(ip) ?? false);
  /** Key → the marks of the incidents that may still link through it. */
  const index = new Map<string, Mark[]>();
  const open = new Set<Node>();

  const keysOf = (alert: Alert): { marks: Key[]; seeks: Key[] } => {
    const marks: Key[] = [];
    const seeks: Key[] = [];
    const both = (k: Key): void => {
      marks.push(k);
      seeks.push(k);
    };
    const w = options.windowMs;
    const pk = principalKey(alert.principal);
    const who = alert.principal.display;
    if (pk !== undefined) {
      both({ key: `p\u0000${pk}`, windowMs: w, by: "principal", value: who });
      if (options.repeatMs > 0) {
        const methodOf = new Map(alert.operations.map((o) => [o.id, o.method]));
        const seen = new Set<string>();
        for (const s of alert.signals) {
          for (const id of s.operations) {
            const method = methodOf.get(id) ?? "unknown";
            const key = `r\u0000${pk}\u0000${s.rule}\u0000${method}`;
            if (seen.has(key)) continue;
            seen.add(key);
            both({
              key,
              windowMs: options.repeatMs,
              by: "repeat",
              value: `${s.rule} ${method} by ${who}`,
            });
          }
        }
      }
    }
    const sessions = new Set<string>();
    const addresses = new Set<string>();
    const throughVcenter = alert.principal.kind === "vpxuser" && pk === undefined;
    for (const o of alert.operations) {
      if (o.session !== undefined && o.session !== "") sessions.add(o.session);
      const ip = o.origin.sourceIp;
      // vpxuser acting through vCenter comes from vCenter's address, whoever asked vCenter.
      if (ip === undefined || ip === "" || shared(ip)) continue;
      if (throughVcenter && o.origin.via === "vcenter") continue;
      addresses.add(ip.toLowerCase());
    }
    for (const s of sessions) both({ key: `s\u0000${s}`, windowMs: w, by: "session", value: s });
    for (const ip of addresses) {
      both({ key: `a\u0000${ip}`, windowMs: w, by: "address", value: ip });
    }
    // Unattributed alerts link to any alert on the same VM close in time; two attributed alerts
    // on one VM link only through their principal, session or address.
    const vm = alert.vm.toLowerCase();
    const unattributed = { key: `vu\u0000${vm}`, windowMs: w, by: "vm" as const, value: alert.vm };
    const attributed = { key: `vn\u0000${vm}`, windowMs: w, by: "vm" as const, value: alert.vm };
    if (pk === undefined) {
      both(unattributed);
      seeks.push(attributed);
    } else {
      marks.push(attributed);
      seeks.push(unattributed);
    }
    return { marks, seeks };
  };

  /**
   * The marks of a key that an alert starting at `start` can still link to, pruned in place of
   * closed incidents and of marks older than the key's window (alerts come in time order, so
   * those link nothing later): each list stays as short as the incidents open in the window.
   */
  const live = (k: Key, start: number): Mark[] => {
    const list = index.get(k.key);
    if (!list) return [];
    let keep = 0;
    for (const m of list) {
      if (find(m.node).closed || start - m.last > k.windowMs) continue;
      list[keep++] = m;
    }
    list.length = keep;
    if (keep === 0) index.delete(k.key);
    return list;
  };

  const close = (node: Node): void => {
    node.closed = true;
    open.delete(node);
  };

  const push = (alert: Alert): void => {
    const start = msOf(alert.firstSeen);
    const node: Node = {
      parent: undefined,
      alerts: [alert],
      first: alert,
      links: new Map(),
      expires: Number.NEGATIVE_INFINITY,
      closed: false,
    };
    open.add(node);
    // An alert without a time cannot be placed near another: it is an incident of its own.
    if (start === undefined) return;
    const end = Math.max(start, msOf(alert.lastSeen) ?? start);
    const { marks, seeks } = keysOf(alert);

    // Which open incidents this alert joins, and through what.
    const joined = new Map<Node, { key: Key; alert: string }[]>();
    for (const k of seeks) {
      for (const m of live(k, start)) {
        const root = find(m.node);
        const why = joined.get(root);
        if (why) why.push({ key: k, alert: m.alert });
        else joined.set(root, [{ key: k, alert: m.alert }]);
      }
    }

    // Merge the smaller into the larger (no member is copied more than log n times); the
    // incident keeps the earliest first alert, so its id survives.
    let root: Node = node;
    let first = node.first;
    for (const other of joined.keys()) {
      if (other.alerts.length > root.alerts.length) root = other;
      if (compareAlerts(other.first, first) < 0) first = other.first;
    }
    root.first = first;
    const members = [node, ...joined.keys()];
    for (const other of members) {
      if (other === root) continue;
      other.parent = root;
      for (const a of other.alerts) root.alerts.push(a);
      other.alerts.length = 0;
      for (const [k, l] of other.links) {
        const mine = root.links.get(k);
        if (!mine) root.links.set(k, l);
        else for (const id of l.alerts) mine.alerts.add(id);
      }
      other.links.clear();
      root.expires = Math.max(root.expires, other.expires);
      open.delete(other);
    }
    for (const [, why] of joined) {
      for (const { key, alert: markedBy } of why) {
        const lk = `${key.by}\u0000${key.value}`;
        const l = root.links.get(lk) ?? { by: key.by, value: key.value, alerts: new Set<string>() };
        l.alerts.add(markedBy);
        l.alerts.add(alert.id);
        root.links.set(lk, l);
      }
    }

    // Record this alert's marks under the merged incident.
    for (const k of marks) {
      root.expires = Math.max(root.expires, end + k.windowMs);
      const list = live(k, start);
      if (list.length === 0) {
        index.set(k.key, [{ node: root, last: end, alert: alert.id }]);
        continue;
      }
      const mine = list.find((m) => find(m.node) === root);
      if (mine) {
        if (end >= mine.last) {
          mine.last = end;
          mine.alert = alert.id;
        }
      } else {
        list.push({ node: root, last: end, alert: alert.id });
      }
    }
  };

  const flush = (now?: number): Incident[] => {
    const done: Node[] = [];
    for (const node of open) if (now === undefined || node.expires < now) done.push(node);
    for (const node of done) close(node);
    if (now === undefined) index.clear();
    done.sort((a, b) => compareAlerts(a.first, b.first));
    return done.map(buildIncident);
  };

  return {
    push,
    flush,
    get open() {
      return open.size;
    },
  };
}

function buildIncident(node: Node): Incident {
  const alerts = [...node.alerts].sort(compareAlerts);
  const first = alerts[0] as Alert;
  let severity = first.severity;
  const principals: AlertPrincipal[] = [];
  const seenPrincipals = new Set<string>();
  const vms = new Set<string>();
  const hosts = new Set<string>();
  const attack = new Set<string>();
  let firstSeen: string | undefined;
  let lastSeen: string | undefined;
  let operations = 0;
  for (const a of alerts) {
    severity = maxSeverity(severity, a.severity);
    const pk = `${a.principal.id ?? ""}\u0000${a.principal.display}`;
    if (!seenPrincipals.has(pk)) {
      seenPrincipals.add(pk);
      principals.push(a.principal);
    }
    vms.add(a.vm);
    for (const h of a.hosts ?? (a.host !== undefined ? [a.host] : [])) hosts.add(h);
    for (const t of a.attack) attack.add(t);
    if (a.firstSeen !== undefined && (firstSeen === undefined || a.firstSeen < firstSeen)) {
      firstSeen = a.firstSeen;
    }
    if (a.lastSeen !== undefined && (lastSeen === undefined || a.lastSeen > lastSeen)) {
      lastSeen = a.lastSeen;
    }
    operations += a.count;
  }
  const rules = new Set<string>();
  const bySeverity = [...alerts].sort(
    (a, b) => severityRank(b.severity) - severityRank(a.severity) || compareAlerts(a, b),
  );
  for (const a of bySeverity) for (const r of a.rules) rules.add(r);

  const order = new Map(alerts.map((a, i) => [a.id, i]));
  const links: IncidentLink[] = [...node.links.values()]
    .map((l) => ({
      by: l.by,
      value: l.value,
      alerts: [...l.alerts].sort((x, y) => (order.get(x) ?? 0) - (order.get(y) ?? 0)),
    }))
    .sort(
      (x, y) =>
        (order.get(x.alerts[0] ?? "") ?? 0) - (order.get(y.alerts[0] ?? "") ?? 0) ||
        (x.by < y.by ? -1 : x.by > y.by ? 1 : 0) ||
        (x.value < y.value ? -1 : x.value > y.value ? 1 : 0),
    );

  const timeline: IncidentEntry[] = alerts.map((a) => ({
    alert: a.id,
    severity: a.severity,
    ...(a.firstSeen !== undefined ? { firstSeen: a.firstSeen } : {}),
    ...(a.lastSeen !== undefined ? { lastSeen: a.lastSeen } : {}),
    title: a.title,
    principal: a.principal.display,
    vm: a.vm,
    ...(a.host !== undefined ? { host: a.host } : {}),
    rules: a.rules,
    count: a.count,
  }));

  return {
    id: incidentId(first.id),
    severity,
    title: incidentTitle(principals, [...vms], [...rules]),
    principals,
    vms: [...vms],
    hosts: [...hosts],
    ...(firstSeen !== undefined ? { firstSeen } : {}),
    ...(lastSeen !== undefined ? { lastSeen } : {}),
    alerts: alerts.map((a) => a.id),
    operations,
    rules: [...rules],
    attack: [...attack].sort(),
    links,
    timeline,
  };
}

const listed = (items: readonly string[], noun: string): string => {
  if (items.length === 1) return items[0] as string;
  const shown = items.slice(0, 3).join(", ");
  return `${items.length} ${noun} (${shown}${items.length > 3 ? ", …" : ""})`;
};

function incidentTitle(
  principals: readonly AlertPrincipal[],
  vms: readonly string[],
  rules: readonly string[],
): string {
  const who = listed(
    principals.map((p) => p.display),
    "principals",
  );
  return `${who} on ${listed(vms, "VMs")}: ${rules.join(", ")}`;
}
