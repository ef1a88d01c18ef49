/** Passes that join vCenter records by time: events to calls, LROs to calls, events to LROs. */
import {
  apisCompatible,
  type Frag,
  hasHostSide,
  hostSideSpan,
  hostsOk,
  slotsFree,
  vcentersOk,
  vmRelation,
} from "../fragments.js";
import { joinInto } from "../window-join.js";
import type { JoinPass } from "./pass.js";

/** vCenter events (the principal's name) ↔ the host-side call they report: host, VM, method, time. */
export const joinVcenterEvents: JoinPass = {
  name: "join-vcenter-events",
  run(frags, ctx) {
    const w = ctx.windows;
    const rights = frags.filter(isVcEventOnly);
    const lefts = frags.filter((f) => !f.slots.has("vc.event") && hasHostSide(f));
    return joinInto(frags, lefts, rights, {
      slot: "vc.event",
      range: (l) => hostSideSpan(l, w.vcenterSkew),
      time: (r) => r.vcTime,
      grade: (l, r) =>
        hostsOk(l, r) && vcentersOk(l, r) && apisCompatible(l.api, r.api) && slotsFree(l, r)
          ? vmRelation(l, r)
          : false,
    });
  },
};

/**
 * vpxd LROs whose opID reached no host-side record (ESXi 8 hostd event lines carry none) ↔
 * host-side calls, by method and time. A call that already has a vCenter event is placed on
 * vCenter's own clock: the LRO ends before the event is created.
 */
export const joinLroByTime: JoinPass = {
  name: "join-lro-by-time",
  run(frags, ctx) {
    const w = ctx.windows;
    const isLroOnly = (f: Frag): boolean =>
      f.slots.has("vpxd.lro") && !(hasHostSide(f) || f.slots.has("vc.event"));
    const rights = frags.filter(isLroOnly);
    const lefts = frags.filter((f) => !f.slots.has("vpxd.lro") && hasHostSide(f));
    return joinInto(frags, lefts, rights, {
      slot: "vpxd.lro",
      range: (l) => {
        if (l.vcTime !== undefined) {
          const upload = l.api === "InitiateFileTransferToGuest" ? w.uploadDuration : 0;
          return [l.vcTime - w.eventDelivery - upload, l.vcTime + w.duplicate];
        }
        return hostSideSpan(l, w.vcenterSkew);
      },
      time: (r) => r.done ?? r.start,
      grade: (l, r) =>
        vcentersOk(l, r) && apisCompatible(l.api, r.api) && slotsFree(l, r) ? "unknown" : false,
      bestGrade: "unknown",
    });
  },
};

/** vCenter events left over ↔ vpxd LROs without a host-side record (vCenter-only data). */
export const joinVcenterEventsToLro: JoinPass = {
  name: "join-vcenter-events-to-lro",
  run(frags, ctx) {
    const w = ctx.windows;
    const rights = frags.filter(isVcEventOnly);
    const lefts = frags.filter(
      (f) => f.slots.has("vpxd.lro") && !f.slots.has("vc.event") && !hasHostSide(f),
    );
    return joinInto(frags, lefts, rights, {
      slot: "vc.event",
      range: (l) => {
        const start = l.start ?? l.done;
        if (start === undefined) return undefined;
        const upload = l.api === "InitiateFileTransferToGuest" ? w.uploadDuration : 0;
        return [start - w.duplicate, (l.done ?? start) + w.eventDelivery + upload];
      },
      time: (r) => r.vcTime,
      grade: (l, r) =>
        vcentersOk(l, r) && apisCompatible(l.api, r.api) && slotsFree(l, r) ? "unknown" : false,
      bestGrade: "unknown",
    });
  },
};

const isVcEventOnly = (f: Frag): boolean => f.slots.size === 1 && f.slots.has("vc.event");
