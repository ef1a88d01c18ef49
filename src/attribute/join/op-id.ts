/** Passes that join by opID: host-side records of one opID, vpxd LROs to their opID family. */
import {
  addNote,
  apisCompatible,
  type Frag,
  fragOrder,
  fragTime,
  hasHostSide,
  hostsOk,
  merge,
  setAlternatives,
  slotsFree,
  vmRelation,
} from "../fragments.js";
import { opIdBelongsTo, opIdPrefixes } from "../identity.js";
import type { JoinPass } from "./pass.js";

/** Host-side records of one opID are one call (vmware.log request, hostd state/request lines). */
export const joinByOpId: JoinPass = {
  name: "join-by-op-id",
  run(frags, ctx) {
    const groups = new Map<string, Frag[]>();
    const out: Frag[] = [];
    for (const f of frags) {
      const [opId] = f.opIds;
      if (opId === undefined || f.opIds.size !== 1) {
        out.push(f);
        continue;
      }
      const list = groups.get(opId) ?? [];
      list.push(f);
      groups.set(opId, list);
    }
    for (const list of groups.values()) {
      const clusters: Frag[] = [];
      for (const f of list) {
        const fits = clusters.filter(
          (c) =>
            slotsFree(c, f) &&
            hostsOk(c, f) &&
            apisCompatible(c.api, f.api) &&
            vmRelation(c, f) !== "different" &&
            Math.abs(fragTime(c) - fragTime(f)) <= ctx.windows.sameOpId,
        );
        if (fits.length === 0) {
          clusters.push(f);
          continue;
        }
        const nearest = fits.reduce((a, b) =>
          Math.abs(fragTime(a) - fragTime(f)) <= Math.abs(fragTime(b) - fragTime(f)) ? a : b,
        );
        if (fits.length > 1) {
          // one opID is one client call chain: whichever call this is, its account is the same
          for (const slot of f.slots)
            setAlternatives(nearest, slot, { items: f.items, balanced: true });
          addNote(
            nearest,
            `opID ${f.items[0]?.opId ?? ""} fits ${fits.length} calls; joined to the nearest in time`,
          );
        }
        merge(nearest, f);
      }
      for (const c of clusters) out.push(c);
    }
    return out;
  },
};

/** vpxd LRO (vCenter opID) ↔ host-side call whose opID extends it with hop suffixes. */
export const joinLroToHost: JoinPass = {
  name: "join-lro-to-host",
  run(frags, ctx) {
    const w = ctx.windows;
    const byPrefix = new Map<string, Frag[]>();
    const hostCalls = frags.filter((f) => !f.slots.has("vpxd.lro") && hasHostSide(f));
    for (const f of hostCalls) {
      for (const opId of f.opIds) {
        for (const prefix of opIdPrefixes(opId)) {
          const list = byPrefix.get(prefix) ?? [];
          if (!list.includes(f)) list.push(f);
          byPrefix.set(prefix, list);
        }
      }
    }
    const lros = frags.filter((f) => f.slots.has("vpxd.lro") && f.vcOpIds.size > 0);
    const candidates = new Map<Frag, Frag[]>();
    for (const lro of lros) {
      const fits: Frag[] = [];
      for (const opId of lro.vcOpIds) {
        for (const call of byPrefix.get(opId) ?? []) {
          if (fits.includes(call)) continue;
          if (![...call.opIds].some((h) => opIdBelongsTo(h, opId))) continue;
          if (!apisCompatible(lro.api, call.api)) continue;
          const a = lro.start ?? lro.done;
          const b = fragTime(call);
          if (a !== undefined && Number.isFinite(b) && Math.abs(a - b) > w.lroToHost) continue;
          fits.push(call);
        }
      }
      if (fits.length) candidates.set(lro, fits);
    }
    const taken = new Set<Frag>();
    const consumed = new Set<Frag>();
    const sortedLros = [...candidates.keys()].sort(fragOrder);
    for (const lro of sortedLros) {
      const fits = (candidates.get(lro) ?? []).filter((c) => !taken.has(c)).sort(fragOrder);
      const [call] = fits;
      if (!call) continue;
      taken.add(call);
      if (fits.length > 1) {
        addNote(call, `vpxd opID family fits ${fits.length} host-side calls; paired in time order`);
        setAlternatives(call, "vpxd.lro", { items: lro.items, balanced: true });
      }
      merge(call, lro);
      consumed.add(lro);
    }
    return frags.filter((f) => !consumed.has(f));
  },
};
