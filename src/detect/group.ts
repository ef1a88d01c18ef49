/**
 * Alert grouping (docs/alerts.md): operations of the same principal on the same VM whose gaps are
 * shorter than the grouping gap form one cluster; a cluster on which at least one rule fired is one
 * alert, carrying every rule and every reason. Pure: no clock, no I/O.
 */
import { createHash } from "node:crypto";
import { methodByApi } from "../model/catalog.js";
import { recordKey } from "../model/record-key.js";
import {
  maxSeverity,
  severityRank,
  shiftSeverity,
  type Alert,
  type AlertOperation,
  type AlertPrincipal,
  type AlertProvenance,
  type AlertSignal,
  type Severity,
} from "../model/alert.js";
import type { AttributionLevel, Operation, Principal } from "../model/operation.js";
import type { Signal } from "./types.js";

export interface GroupDeps {
  /** Operations closer than this (ms) join one cluster. */
  readonly gapMs: number;
  /** Short label per rule id, for titles. */
  readonly labels: ReadonlyMap<string, string>;
  /** Policy site name of an operation. */
  readonly siteOf: (operation: Operation) => string | undefined;
  /**
   * The account id grouping compares (default `principal.id`); the engine passes the policy's,
   * which folds domain aliases (`corp.example\alice` and `corp\alice` are one account).
   */
  readonly accountKey?: (principal: Principal) => string;
}

const LEVEL_RANK: ReadonlyMap<AttributionLevel, number> = new Map([
  ["exact", 0],
  ["correlated", 1],
  ["inferred", 2],
  ["ambiguous", 3],
  ["unknown", 4],
]);

/**
 * True when the operation names an accountable principal: attributed `exact`, `correlated` or
 * `inferred`, and not vCenter's own `vpxuser` acting through vCenter for an end user no record
 * names (that says "vCenter did it", not who). Rules that judge an account only see these.
 */
export function isAttributed(op: Operation): boolean {
  const { attribution } = op;
  const p = attribution.principal;
  if (!p || p.kind === "unknown" || p.id === "") return false;
  if (
    attribution.level !== "exact" &&
    attribution.level !== "correlated" &&
    attribution.level !== "inferred"
  ) {
    return false;
  }
  return !(p.kind === "vpxuser" && op.origin.via === "vcenter");
}

/** vCenter's `vpxuser` acting through vCenter for an unnamed end user. */
export const isVpxuserThroughVcenter = (op: Operation): boolean =>
  op.attribution.principal?.kind === "vpxuser" && op.origin.via === "vcenter";

const byId = (p: Principal): string => p.id;

/** The principal part of the grouping key. */
export function principalKey(op: Operation, accountKey: (p: Principal) => string = byId): string {
  const { attribution, origin } = op;
  if (isAttributed(op) && attribution.principal) return `p:${accountKey(attribution.principal)}`;
  if (attribution.level === "ambiguous" && attribution.candidates?.length) {
    return `a:${attribution.candidates.map(accountKey).sort().join(",")}`;
  }
  return `u:${origin.sourceIp ?? ""}`;
}

/**
 * The VM part of the grouping key: display name (case-folded), else .vmx path, else datastore
 * directory, else moref (scoped to its vCenter or host).
 */
export function vmKey(op: Operation): string {
  const { name, vmx, dir, moref } = op.vm;
  if (name) return `n:${name.toLowerCase()}`;
  if (vmx) return `x:${vmx}`;
  if (dir) return `d:${dir}`;
  if (moref) return `m:${op.vcenter ?? op.host ?? ""}/${moref}`;
  return "?";
}

/** How an operation names its VM for people. */
export const vmDisplay = (op: Operation): string =>
  op.vm.name ?? op.vm.vmx ?? op.vm.dir ?? op.vm.moref ?? "unknown VM";

const timeMs = (op: Operation): number | undefined => {
  if (op.time === undefined) return undefined;
  const ms = Date.parse(op.time);
  return Number.isNaN(ms) ? undefined : ms;
};

/** Sort key: time order, operations without a time last, ties by id (input order never matters). */
export function compareOperations(a: Operation, b: Operation): number {
  const ta = timeMs(a);
  const tb = timeMs(b);
  if (ta !== tb) {
    if (ta === undefined) return 1;
    if (tb === undefined) return -1;
    return ta - tb;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

interface Cluster {
  readonly key: string;
  readonly pKey: string;
  readonly vKey: string;
  readonly ops: Operation[];
  readonly signals: Signal[];
  last: number | undefined;
  /** Takes no more operations (a later one came after the gap); may still take signals. */
  sealed: boolean;
  /** Its alert changed since `changed()` was last asked. */
  dirty: boolean;
}

/**
 * Groups operations, fed in time order (operations without a time last), and their signals into
 * alerts, incrementally. A cluster takes operations of one principal and VM while the gaps stay
 * under `gapMs`; it is final once no operation can join it (the stream's time has passed its last
 * operation by the gap) and no rule can still report on its operations (`heldSince`, the earliest
 * operation time a rule may still report on). Memory: the open clusters and their operations, not
 * the stream.
 */
export class AlertGrouper {
  readonly #deps: GroupDeps;
  readonly #open = new Map<string, Cluster>();
  /** Clusters not yet final, in the order they were opened. */
  #live: Cluster[] = [];
  readonly #byOp = new Map<string, Cluster>();

  constructor(deps: GroupDeps) {
    this.#deps = deps;
  }

  /** One operation, in time order. */
  add(op: Operation): void {
    const pKey = principalKey(op, this.#deps.accountKey);
    const vKey = vmKey(op);
    const t = timeMs(op);
    // Operations without a time cluster apart from timed ones (they cannot be placed in time).
    const key = `${pKey}\u0000${vKey}\u0000${t === undefined ? "untimed" : "timed"}`;
    const current = this.#open.get(key);
    if (
      current &&
      (t === undefined || (current.last !== undefined && t - current.last < this.#deps.gapMs))
    ) {
      current.ops.push(op);
      current.last = t;
      if (current.signals.length > 0) current.dirty = true;
      this.#byOp.set(op.id, current);
      return;
    }
    if (current) current.sealed = true;
    const cluster: Cluster = {
      key,
      pKey,
      vKey,
      ops: [op],
      signals: [],
      last: t,
      sealed: false,
      dirty: false,
    };
    this.#open.set(key, cluster);
    this.#live.push(cluster);
    this.#byOp.set(op.id, cluster);
  }

  /** A finding on an operation already added (and not yet in a final alert). */
  signal(s: Signal): boolean {
    const cluster = this.#byOp.get(s.operationId);
    if (!cluster) return false;
    cluster.signals.push(s);
    cluster.dirty = true;
    return true;
  }

  /**
   * Alerts that became final: every cluster whose last operation lies a gap before `now` and
   * before `heldSince` (epoch ms; omit when no rule holds operations back).
   */
  flush(now: number, heldSince = Number.POSITIVE_INFINITY): Alert[] {
    const bound = Math.min(now - this.#deps.gapMs, heldSince);
    return this.#close((c) => c.last !== undefined && c.last < bound);
  }

  /** Every remaining alert, final. */
  end(): Alert[] {
    return this.#close(() => true);
  }

  /** Epoch ms of the first operation of the oldest cluster not yet final (timed ones only). */
  oldest(): number | undefined {
    let min: number | undefined;
    for (const c of this.#live) {
      const t = c.ops[0] ? timeMs(c.ops[0]) : undefined;
      if (t !== undefined && (min === undefined || t < min)) min = t;
    }
    return min;
  }

  /** What is held: clusters not yet final and their operations. */
  held(): { clusters: number; operations: number } {
    let operations = 0;
    for (const c of this.#live) operations += c.ops.length;
    return { clusters: this.#live.length, operations };
  }

  /** Alerts of clusters not yet final whose content changed since the last call. */
  changed(): Alert[] {
    const out: Alert[] = [];
    for (const c of this.#live) {
      if (!c.dirty) continue;
      c.dirty = false;
      out.push(this.#build(c));
    }
    return out;
  }

  #close(done: (c: Cluster) => boolean): Alert[] {
    const alerts: Alert[] = [];
    const keep: Cluster[] = [];
    for (const c of this.#live) {
      if (!done(c)) {
        keep.push(c);
        continue;
      }
      if (this.#open.get(c.key) === c) this.#open.delete(c.key);
      for (const op of c.ops) this.#byOp.delete(op.id);
      if (c.signals.length > 0) alerts.push(this.#build(c));
    }
    this.#live = keep;
    return alerts.sort(compareAlerts);
  }

  #build(c: Cluster): Alert {
    const byOp = new Map<string, Signal[]>();
    for (const s of c.signals) {
      const list = byOp.get(s.operationId);
      if (list) list.push(s);
      else byOp.set(s.operationId, [s]);
    }
    // signals in operation order, as they would have been found in one pass over the cluster
    const ordered = c.ops.flatMap((op) => byOp.get(op.id) ?? []);
    return buildAlert(c, ordered, byOp, this.#deps);
  }
}

/** Alert order: first operation time (alerts without one last), then id. */
export function compareAlerts(a: Alert, b: Alert): number {
  if (a.firstSeen !== b.firstSeen) {
    if (a.firstSeen === undefined) return 1;
    if (b.firstSeen === undefined) return -1;
    return a.firstSeen < b.firstSeen ? -1 : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Groups operations (already sorted with `compareOperations`) and their signals into alerts.
 * Clusters without a signal produce no alert.
 */
export function groupAlerts(
  operations: readonly Operation[],
  signals: readonly Signal[],
  deps: GroupDeps,
): Alert[] {
  const grouper = new AlertGrouper(deps);
  for (const op of operations) grouper.add(op);
  for (const s of signals) grouper.signal(s);
  return grouper.end();
}

interface MutableSignal {
  rule: string;
  key: string;
  severity: Severity;
  reason: string;
  attack: Set<string>;
  operations: string[];
  order: number;
}

function buildAlert(
  cluster: Cluster,
  signals: readonly Signal[],
  byOp: ReadonlyMap<string, readonly Signal[]>,
  deps: GroupDeps,
): Alert {
  // Merge findings of the same rule with the same key.
  const merged = new Map<string, MutableSignal>();
  for (const s of signals) {
    const k = `${s.rule}\u0000${s.key}`;
    const m = merged.get(k);
    if (m) {
      m.severity = maxSeverity(m.severity, s.severity);
      for (const a of s.attack) m.attack.add(a);
      if (!m.operations.includes(s.operationId)) m.operations.push(s.operationId);
    } else {
      merged.set(k, {
        rule: s.rule,
        key: s.key,
        severity: s.severity,
        reason: s.reason,
        attack: new Set(s.attack),
        operations: [s.operationId],
        order: merged.size,
      });
    }
  }
  const ordered = [...merged.values()].sort(
    (a, b) => severityRank(b.severity) - severityRank(a.severity) || a.order - b.order,
  );
  const alertSignals: AlertSignal[] = ordered.map((m) => ({
    rule: m.rule,
    severity: m.severity,
    reason: m.reason,
    attack: [...m.attack].sort(),
    operations: m.operations,
  }));
  const apiOf = new Map(cluster.ops.map((op) => [op.id, op.api]));
  const reasons = ordered.map((m) => {
    if (m.operations.length < 2) return m.reason;
    const others = [...new Set(m.operations.slice(1).map((id) => apiOf.get(id) ?? "unknown"))];
    const named = others.filter((api) => api !== "unknown");
    const n = m.operations.length - 1;
    const list = named.length > 0 ? `: ${named.join(", ")}` : "";
    return `${m.reason} (and ${n} more operation${n > 1 ? "s" : ""}${list})`;
  });

  const rules: string[] = [];
  for (const m of ordered) if (!rules.includes(m.rule)) rules.push(m.rule);

  const top = ordered.reduce<Severity>((acc, m) => maxSeverity(acc, m.severity), "info");
  // Independent signals agree: two or more different rules fired on the cluster.
  const severity = rules.length >= 2 ? shiftSeverity(top, 1) : top;

  const attack = new Set<string>(["T1675"]);
  for (const m of ordered) for (const a of m.attack) attack.add(a);
  for (const op of cluster.ops) for (const a of methodByApi(op.api)?.attack ?? []) attack.add(a);

  const first = cluster.ops[0] as Operation;
  const principal = alertPrincipal(cluster.ops);
  const vm = vmDisplay(cluster.ops.find((op) => op.vm.name !== undefined) ?? first);

  const hosts: string[] = [];
  for (const op of cluster.ops) if (op.host && !hosts.includes(op.host)) hosts.push(op.host);
  const methods: string[] = [];
  for (const op of cluster.ops) if (!methods.includes(op.api)) methods.push(op.api);
  const times = cluster.ops.map((op) => op.time).filter((t): t is string => t !== undefined);

  const labels = rules.map((r) => deps.labels.get(r) ?? r);
  const site = deps.siteOf(first);

  return {
    id: alertId(cluster.pKey, cluster.vKey, first),
    rules,
    severity,
    title: `${principal.display} on ${vm}: ${labels.join(", ")}`,
    reasons,
    signals: alertSignals,
    attack: [...attack].sort(),
    principal,
    vm,
    ...(hosts[0] !== undefined ? { host: hosts[0] } : {}),
    ...(hosts.length > 1 ? { hosts } : {}),
    ...(site !== undefined ? { site } : {}),
    ...(times.length > 0
      ? { firstSeen: times[0] as string, lastSeen: times.at(-1) as string }
      : {}),
    count: cluster.ops.length,
    methods,
    operations: cluster.ops.map((op) => alertOperation(op, byOp.get(op.id) ?? [])),
  };
}

function alertPrincipal(ops: readonly Operation[]): AlertPrincipal {
  let weakest: AttributionLevel = "exact";
  for (const op of ops) {
    if ((LEVEL_RANK.get(op.attribution.level) ?? 4) > (LEVEL_RANK.get(weakest) ?? 4)) {
      weakest = op.attribution.level;
    }
  }
  const named = ops.find(isAttributed)?.attribution.principal;
  if (named) {
    return { id: named.id, display: named.display, level: weakest, kind: named.kind };
  }
  if (ops.some(isVpxuserThroughVcenter)) {
    return {
      display: "vpxuser through vCenter (end user unknown)",
      level: weakest,
      kind: "vpxuser",
    };
  }
  const candidates = ops.find((op) => op.attribution.candidates?.length)?.attribution.candidates;
  if (weakest === "ambiguous" && candidates) {
    return {
      display: `ambiguous (${candidates.map((c) => c.display).join(", ")})`,
      level: weakest,
    };
  }
  return { display: "unknown", level: weakest };
}

/**
 * `al-` + 16 hex digits of SHA-256 over the principal key, the VM key and the first operation's
 * first observation (input SHA-256 or path, archive member, line). Same data, same id, whatever the
 * order of the inputs on the command line.
 */
export function alertId(pKey: string, vKey: string, first: Operation): string {
  const obs = first.observations[0];
  // by content (model/record-key.ts): the same lines read through another file give the same id
  const prov = obs ? recordKey(obs) : `op:${first.id}`;
  const digest = createHash("sha256").update(`${pKey}\n${vKey}\n${prov}`).digest("hex");
  return `al-${digest.slice(0, 16)}`;
}

function alertOperation(op: Operation, signals: readonly Signal[]): AlertOperation {
  const rules: string[] = [];
  for (const s of signals) if (!rules.includes(s.rule)) rules.push(s.rule);
  const provenance: AlertProvenance[] = op.observations.map((o) => ({
    path: o.prov.source.path,
    ...(o.prov.source.member !== undefined ? { member: o.prov.source.member } : {}),
    sha256: o.prov.source.sha256,
    line: o.prov.line,
    kind: o.kind,
  }));
  const { attribution } = op;
  const named =
    attribution.level === "exact" ||
    attribution.level === "correlated" ||
    attribution.level === "inferred";
  const principal = named ? attribution.principal?.display : undefined;
  return {
    id: op.id,
    ...(op.time !== undefined ? { time: op.time } : {}),
    method: op.api,
    category: op.category,
    outcome: op.outcome,
    vm: vmDisplay(op),
    ...(op.host !== undefined ? { host: op.host } : {}),
    ...(op.vcenter !== undefined ? { vcenter: op.vcenter } : {}),
    ...(principal !== undefined ? { principal } : {}),
    attribution: {
      level: attribution.level,
      reason: attribution.reason,
      ...(attribution.candidates?.length
        ? { candidates: attribution.candidates.map((c) => c.display) }
        : {}),
    },
    origin: op.origin,
    ...(op.opId !== undefined ? { opId: op.opId } : {}),
    ...(op.session !== undefined ? { session: op.session } : {}),
    ...(op.guest !== undefined ? { guest: op.guest } : {}),
    rules,
    provenance,
  };
}
