/** From fragments to operations: outcome, guest detail, VM and host names, bursts, order. */
import { hash } from "node:crypto";
import { methodByApi } from "../model/catalog.js";
import type { Attribution, Operation } from "../model/operation.js";
import { recordKey } from "../model/record-key.js";
import type { Observation, ObservationKind, Outcome } from "../model/record.js";
import { type Built, spanOf, uniqueById } from "./attribution.js";
import {
  compareOrder,
  type Frag,
  fragOrder,
  fragTime,
  isCrowd,
  type Item,
  merge,
  VCENTER_SLOTS,
  vcentersOk,
} from "./fragments.js";
import { accountOf, compareVm, hostKey } from "./identity.js";

function outcomeOf(observations: readonly Observation[]): Outcome {
  if (
    observations.some(
      (o) => o.kind === "hostd.fault" || o.kind === "vc.auth-failure" || o.outcome === "failure",
    )
  ) {
    return "failure";
  }
  if (
    observations.some(
      (o) => o.outcome === "success" || o.kind === "hostd.event" || o.kind === "vc.event",
    )
  ) {
    return "success";
  }
  return "unknown";
}

function guestOf(observations: readonly Observation[]): Observation["guest"] | undefined {
  const fields = ["path", "program", "arguments", "workingDirectory", "username"] as const;
  const out: Partial<Record<(typeof fields)[number], string>> = {};
  for (const field of fields) {
    for (const o of observations) {
      const value = o.guest?.[field];
      if (value !== undefined) {
        out[field] = value;
        break;
      }
    }
  }
  return Object.keys(out).length ? out : undefined;
}

function vmOf(frag: Frag, observations: readonly Observation[]): Operation["vm"] {
  let name: string | undefined;
  let vmx: string | undefined;
  let moref: string | undefined;
  let dir: string | undefined;
  for (const o of observations) {
    if (o.kind !== "vmx.request" && o.kind !== "vmx.response") name ??= o.vm?.name;
  }
  name ??= frag.vm.names[0];
  for (const o of observations) {
    name ??= o.vm?.name;
    vmx ??= o.vm?.vmx;
    if (o.kind === "vc.event" || o.kind === "vc.auth-failure" || o.kind === "vc.burst")
      moref ??= o.vm?.moref;
    dir ??= o.vm?.dir;
  }
  if (!moref) for (const o of observations) moref ??= o.vm?.moref;
  if (!dir && vmx) dir = vmx.slice(0, vmx.lastIndexOf("/")) || undefined;
  if (!dir) {
    for (const item of frag.items) {
      if (item.vmInput) {
        const path = item.obs.prov.source.member ?? item.obs.prov.source.path;
        const m = /^(.*\/vmfs\/volumes\/[^/]+\/[^/]+)\/vmware(?:-\d+)?\.log(?:\.gz)?$/.exec(path);
        if (m?.[1]) {
          dir = m[1].replace(/^.*?(\/vmfs\/)/, "$1");
          break;
        }
      }
    }
  }
  return {
    ...(name ? { name } : {}),
    ...(vmx ? { vmx } : {}),
    ...(moref ? { moref } : {}),
    ...(dir ? { dir } : {}),
  };
}

/** The host name a record gives for its item's host key, as written. */
function hostNameOf(item: Item): string | undefined {
  if (!item.host) return undefined;
  const o = item.obs;
  const raw = VCENTER_SLOTS.has(item.slot) ? o.host : (o.host ?? o.prov.source.hostHint);
  const name = raw?.trim();
  return name && hostKey(name) === item.host ? name : undefined;
}

const isQualified = (name: string): boolean => name.includes(".") && !/^\d/.test(name);

/** Every spelling of each host key seen in the run (`esx01` → esx01, esx01.corp.example). */
export type HostNames = Map<string, Set<string>>;

export function learnHostNames(frags: readonly Frag[], names: HostNames): void {
  for (const f of frags) {
    for (const item of f.items) {
      // a host hint the input got late (assignInputHosts) is a spelling of the fragment's host
      const late = item.host ? undefined : item.obs.prov.source.hostHint?.trim();
      const key = item.host ?? (late && hostKey(late) === f.host ? f.host : undefined);
      const name = item.host ? hostNameOf(item) : late;
      if (!name || !key) continue;
      const set = names.get(key);
      if (set) {
        if (set.size < 16) set.add(name);
      } else names.set(key, new Set([name]));
    }
  }
}

/**
 * The host as the sources write it, one spelling per host key in a run: a fully qualified name
 * seen for the key anywhere in the run (the first in sort order when several), else the
 * operation's own spelling.
 */
function hostDisplay(frag: Frag, hostNames: HostNames): string | undefined {
  if (!frag.host) return undefined;
  const seen = [...(hostNames.get(frag.host) ?? [])].sort();
  // a qualified name seen in the run wins: the operation's own spellings are then not needed
  const qualified = seen.find(isQualified);
  if (qualified !== undefined) return qualified;
  const own = frag.items.map(hostNameOf).filter((n): n is string => n !== undefined);
  return own.find(isQualified) ?? own[0] ?? seen[0] ?? frag.host;
}

function vcenterDisplay(observations: readonly Observation[]): string | undefined {
  for (const o of observations) if (o.vcenter) return o.vcenter;
  return undefined;
}

const KIND_RANK: ReadonlyMap<ObservationKind, number> = new Map(
  (
    [
      "vpxd.lro",
      "hostd.request",
      "hostd.state",
      "vmx.request",
      "audit.api-call",
      "hostd.args",
      "hostd.fault",
      "vmx.response",
      "hostd.event",
      "hostd.file-path",
      "vpxd.lro-end",
      "vpxd.lro-error",
      "vc.event",
      "vc.auth-failure",
      "vc.burst",
    ] as const
  ).map((k, i) => [k, i]),
);

/**
 * The record an operation's id derives from, by content (`recordKey`): the earliest host-side
 * record (hostd, vmware.log, audit), else the earliest vCenter one, so that the same lines read
 * through another file give the same id, and vCenter evidence read later keeps it.
 */
function idAnchor(items: readonly Item[]): Item | undefined {
  let best: Item | undefined;
  let bestRank = 0;
  // the content key breaks ties of rank and time only: computed when one is needed
  let bestKey: string | undefined;
  for (const item of items) {
    const rank = VCENTER_SLOTS.has(item.slot) ? 1 : 0;
    const t = item.t ?? Number.POSITIVE_INFINITY;
    const bt = best?.t ?? Number.POSITIVE_INFINITY;
    let better = !best || rank < bestRank || (rank === bestRank && t < bt);
    let key: string | undefined;
    if (!better && best && rank === bestRank && t === bt) {
      key = recordKey(item.obs);
      bestKey ??= recordKey(best.obs);
      better = key < bestKey;
    }
    if (better) {
      best = item;
      bestRank = rank;
      bestKey = key;
    }
  }
  return best;
}

interface BuildContext {
  readonly hostNames: HostNames;
}

/** What an operation is without its attribution: built once, whichever pass attributes it. */
interface Prepared {
  /** A burst record's operation, complete (no pass changes it). */
  readonly burst?: Operation;
  readonly observations: Observation[];
  /** The operation's members before `attribution`. */
  readonly head: Omit<Operation, "attribution" | "origin" | "observations">;
  /** Its members between `origin` and `observations`. */
  readonly middle: Partial<Pick<Operation, "opId" | "session" | "guest">>;
  /** `{ copies }` when identical copies were read and not listed. */
  readonly copies: Partial<Pick<Operation, "copies">>;
  readonly notes: readonly string[];
}

/** The prepared operation with an attribution (the members in the order they always had). */
export function attributed(p: Prepared, built: Built): Operation {
  return {
    ...p.head,
    attribution: built.attribution,
    origin: built.origin,
    ...p.middle,
    observations: p.observations,
    ...p.copies,
    ...(built.sessions.length ? { sessions: built.sessions } : {}),
    ...(p.notes.length || built.notes.length ? { notes: [...p.notes, ...built.notes] } : {}),
  };
}

export function prepareOperation(frag: Frag, ctx: BuildContext): Prepared {
  const items = [...frag.items].sort(
    (a, b) =>
      (a.t ?? Number.POSITIVE_INFINITY) - (b.t ?? Number.POSITIVE_INFINITY) ||
      (KIND_RANK.get(a.obs.kind) ?? 99) - (KIND_RANK.get(b.obs.kind) ?? 99) ||
      compareOrder(a.order, b.order),
  );
  const observations = items.map((i) => i.obs);
  const anchor = idAnchor(items);
  // one-shot `hash`: the same digest as `createHash().update().digest()`, without a Hash object
  const id = hash("sha256", anchor ? recordKey(anchor.obs) : "", "hex").slice(0, 16);
  const span = spanOf(frag);
  const time = span ? new Date(span[0]).toISOString() : undefined;
  const end = span ? new Date(span[1]).toISOString() : undefined;
  const api = frag.api ?? "unknown";
  const info = methodByApi(api);
  const notes = [...new Set(frag.notes)];
  if (time === undefined) notes.push("no time: the source does not give one (redacted or missing)");
  const host = hostDisplay(frag, ctx.hostNames);
  const vcenter = vcenterDisplay(observations);
  // When and where: the same for a burst record and for a call.
  const placed = {
    id,
    time,
    ...(end && end !== time ? { end } : {}),
    ...(host ? { host } : {}),
    ...(vcenter ? { vcenter } : {}),
    vm: vmOf(frag, observations),
  };
  const copies = frag.unlisted > 0 ? { copies: frag.unlisted } : {};

  if (frag.slots.has("burst")) {
    const counts = observations.map((o) => o.count).filter((c): c is number => c !== undefined);
    const most = counts.reduce((m, c) => Math.max(m, c), 0);
    const phases = [...new Set(observations.map((o) => o.detail).filter((d): d is string => !!d))];
    const users = uniqueById(
      observations
        .flatMap((o) => (o.user?.trim() ? [accountOf(o.user)] : []))
        .filter((p) => p.kind !== "unknown"),
    );
    const [p] = users;
    const attribution: Attribution =
      users.length === 1 && p
        ? {
            level: "exact",
            principal: p,
            reason: `the burst record names ${p.display}`,
            evidence: observations.map((_, i) => `obs:${i}`),
          }
        : users.length > 1
          ? {
              level: "ambiguous",
              candidates: users,
              reason: "burst records name several accounts",
              evidence: [],
            }
          : { level: "unknown", reason: "the burst record names no account", evidence: [] };
    const burst: Operation = {
      ...placed,
      api: "unknown",
      category: "unknown",
      outcome: "unknown",
      attribution,
      origin: { via: "vcenter" },
      observations,
      ...copies,
      hidden: {
        ...(counts.length ? { count: most } : {}),
        ...(phases.length ? { phase: phases.join(",") } : {}),
      },
      notes: [
        `operations hidden by vCenter's event burst filter${counts.length ? `: ${most}` : ""}`,
        ...notes,
      ],
    };
    return { burst, observations, head: burst, middle: {}, copies, notes };
  }

  // a vpxd LRO placed by time among several does not lend its opID or session to the call
  const lroAlts = frag.alternatives.get("vpxd.lro");
  const trusted = observations.filter((o) => !(isCrowd(lroAlts) && o.kind.startsWith("vpxd.lro")));
  const opId =
    [...frag.opIds][0] ??
    (trusted.some((o) => o.kind === "vpxd.lro" || o.kind === "vpxd.lro-error")
      ? [...frag.vcOpIds][0]
      : undefined);
  const opIdRaw = trusted.find((o) => o.opId && o.opId.toLowerCase() === opId)?.opId;
  const session = trusted.find((o) => o.session)?.session;
  const guest = guestOf(observations);
  return {
    observations,
    head: {
      ...placed,
      api,
      category: info?.category ?? "unknown",
      outcome: outcomeOf(observations),
    },
    middle: {
      ...(opIdRaw ? { opId: opIdRaw } : {}),
      ...(session ? { session } : {}),
      ...(guest ? { guest } : {}),
    },
    copies,
    notes,
  };
}

/** Burst records of one vCenter, VM and account close in time are one burst. */
export function groupBursts(frags: Frag[]): Frag[] {
  const out: Frag[] = [];
  const bursts = frags.filter((f) => f.slots.has("burst")).sort(fragOrder);
  const open: Frag[] = [];
  for (const f of bursts) {
    const t = fragTime(f);
    const user = f.items[0]?.obs.user?.trim().toLowerCase() ?? "";
    const target = open.find((g) => {
      const gu = g.items[0]?.obs.user?.trim().toLowerCase() ?? "";
      const last = g.items.at(-1)?.t ?? fragTime(g);
      return (
        gu === user &&
        vcentersOk(g, f) &&
        compareVm(g.vm, f.vm) !== "different" &&
        Number.isFinite(t) &&
        t - last <= 30 * 60_000 &&
        !(g.items.at(-1)?.obs.detail === "ended")
      );
    });
    if (target) merge(target, f);
    else {
      open.push(f);
      out.push(f);
    }
  }
  return [...frags.filter((f) => !f.slots.has("burst")), ...out];
}

export const operationOrder = (a: Operation, b: Operation): number => {
  const ta = a.time ?? "\uffff";
  const tb = b.time ?? "\uffff";
  return ta < tb ? -1 : ta > tb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
};
