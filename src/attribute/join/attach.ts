/** The pass that attaches loose pieces (guest file paths, argument and fault dumps) to a call. */
import { methodByApi } from "../../model/catalog.js";
import {
  apisCompatible,
  type Frag,
  fragOrder,
  hasHostSide,
  hostsOk,
  merge,
  type Ms,
} from "../fragments.js";
import { lowerBound } from "../window-join.js";
import type { JoinPass } from "./pass.js";

/**
 * Guest file paths and Solo.Vmomi dumps name no call: each goes to the one call it can belong
 * to, or, when several fit equally, to none (kept as unattached evidence).
 */
export const attach: JoinPass = {
  name: "attach",
  run(frags, ctx) {
    const w = ctx.windows;
    const isLoose = (f: Frag): boolean =>
      f.slots.size === 1 &&
      (f.slots.has("file-path") || f.slots.has("args") || f.slots.has("fault"));
    const loose = frags.filter(isLoose).sort(fragOrder);
    const calls = frags.filter((f) => !isLoose(f) && hasHostSide(f));
    const consumed = new Set<Frag>();
    const byTime = [...calls].sort((a, b) => refTime(a) - refTime(b));
    const times = byTime.map(refTime);
    for (const piece of loose) {
      const item = piece.items[0];
      if (!item || item.t === undefined) {
        if (item) ctx.unattached.push({ observation: item.obs, reason: "no time to place it" });
        consumed.add(piece);
        continue;
      }
      const t = item.t;
      const isPath = item.slot === "file-path";
      const lo = t - (isPath ? w.filePathAfterEvent : w.dumpAfterStart);
      const hi = t + (isPath ? 1_000 : 5);
      const fits: Frag[] = [];
      for (let i = lowerBound(times, lo); i < byTime.length; i++) {
        const call = byTime[i];
        if (!call || refTime(call) > hi) break;
        if (!hostsOk(call, piece)) continue;
        if (piece.scope && call.scope && piece.scope !== call.scope && !piece.host) {
          // a local hostd.log names no host: its pieces belong to calls of the same input or host
          if (call.scope.startsWith("input:")) continue;
        }
        if (isPath) {
          if (call.slots.has("file-path")) continue;
          if (call.api && !methodByApi(call.api)?.transfer) continue;
          if (!call.api && !call.slots.has("hostd.event")) continue;
        } else {
          if (!apisCompatible(call.api, piece.api)) continue;
          if (item.slot === "fault" && call.slots.has("fault")) continue;
        }
        fits.push(call);
      }
      const ref = (f: Frag): Ms => (isPath ? refTime(f) : (f.start ?? refTime(f)));
      let chosen: Frag | undefined;
      if (fits.length === 1) chosen = fits[0];
      else if (fits.length > 1) {
        // the latest call before the piece wins only when it is clearly the nearest
        const sorted = [...fits].sort((a, b) => Math.abs(t - ref(a)) - Math.abs(t - ref(b)));
        const [first, second] = sorted;
        if (
          first &&
          second &&
          Math.abs(t - ref(first)) <= 1_000 &&
          Math.abs(t - ref(second)) > 5_000
        ) {
          chosen = first;
        }
      }
      consumed.add(piece);
      if (chosen) merge(chosen, piece);
      else {
        ctx.unattached.push({
          observation: item.obs,
          reason:
            fits.length === 0
              ? `no ${isPath ? "file transfer" : "guest operation"} on this host fits in time`
              : `${fits.length} operations fit; none is chosen`,
        });
      }
    }
    return frags.filter((f) => !consumed.has(f));
  },
};

/** The time a loose piece is placed against: the hostd event, else completion, else start. */
const refTime = (f: Frag): Ms => f.event ?? f.done ?? f.start ?? Number.POSITIVE_INFINITY;
