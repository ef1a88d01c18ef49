/** Passes that join host records without an opID by time: hostd events, ESXi audit records. */
import {
  apisCompatible,
  type Frag,
  hasHostSide,
  hostsOk,
  slotsFree,
  vmRelation,
} from "../fragments.js";
import { joinInto } from "../window-join.js";
import type { JoinPass } from "./pass.js";

/** hostd `Event N : Guest operation … performed` lines, logged when the call completes. */
export const joinHostdEvents: JoinPass = {
  name: "join-hostd-events",
  run(frags, ctx) {
    const w = ctx.windows;
    const isEventOnly = (f: Frag): boolean =>
      f.slots.has("hostd.event") &&
      !f.slots.has("vmx.request") &&
      !f.slots.has("hostd.state") &&
      !f.slots.has("hostd.request") &&
      !f.slots.has("vmx.response");
    const rights = frags.filter(isEventOnly);
    const lefts = frags.filter(
      (f) =>
        !f.slots.has("hostd.event") &&
        (f.slots.has("vmx.request") ||
          f.slots.has("hostd.state") ||
          f.slots.has("hostd.request") ||
          f.slots.has("vmx.response")),
    );
    return joinInto(frags, lefts, rights, {
      slot: "hostd.event",
      range: (l) => {
        const start = l.start ?? l.done;
        if (start === undefined) return undefined;
        const lo = start - w.eventBeforeStart;
        if (l.api === "InitiateFileTransferToGuest") return [lo, start + w.uploadDuration];
        if (l.done !== undefined && l.slots.has("vmx.response")) {
          return [lo, l.done + w.eventAfterCompletion];
        }
        return [lo, start + w.eventAfterStart];
      },
      time: (r) => r.event,
      grade: (l, r) =>
        hostsOk(l, r) && apisCompatible(l.api, r.api) && slotsFree(l, r) ? vmRelation(l, r) : false,
    });
  },
};

/** ESXi audit `api.call` records without an opID: same host, same method, close in time. */
export const joinAudit: JoinPass = {
  name: "join-audit",
  run(frags, ctx) {
    const w = ctx.windows;
    const rights = frags.filter((f) => f.slots.size === 1 && f.slots.has("audit"));
    const lefts = frags.filter((f) => !f.slots.has("audit") && hasHostSide(f));
    return joinInto(frags, lefts, rights, {
      slot: "audit",
      range: (l) => {
        const start = l.start ?? l.event ?? l.done;
        if (start === undefined) return undefined;
        return [start - w.audit, (l.done ?? start) + w.audit];
      },
      time: (r) => r.start,
      grade: (l, r) =>
        hostsOk(l, r) && l.api !== undefined && l.api === r.api && slotsFree(l, r)
          ? vmRelation(l, r)
          : false,
    });
  },
};
