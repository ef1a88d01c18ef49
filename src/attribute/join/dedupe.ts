/** The first step of a join: copies of one record folded into one fragment. */
import { type Frag, type Item, MAX_KEPT_COPIES, newFrag } from "../fragments.js";
import { mergeVmFacts } from "../identity.js";
import type { PassContext } from "./pass.js";

/** Copies of one record (a vCenter event from the stream and from an export, a file read twice). */
export function dedupe(items: Item[], ctx: PassContext): Frag[] {
  const frags: Frag[] = [];
  const byKey = new Map<string, Frag[]>();
  for (const item of items) {
    if (item.dedupeKey === undefined) item.dedupeKey = dedupeKey(item) ?? null;
    const key = item.dedupeKey;
    const earlier = key === null ? undefined : byKey.get(key);
    if (earlier) {
      const existing = earlier.find((f) => {
        const first = f.items[0];
        if (!first) return false;
        const closeInTime =
          first.t === undefined || item.t === undefined
            ? first.t === item.t
            : Math.abs(first.t - item.t) <= ctx.windows.duplicate;
        return (
          closeInTime &&
          (first.host === undefined || item.host === undefined || first.host === item.host) &&
          (first.vcenter === undefined ||
            item.vcenter === undefined ||
            first.vcenter === item.vcenter)
        );
      });
      if (existing) {
        // a copy with other text (the export of a streamed event) is kept as evidence, a few
        // at most; an identical line, or one copy too many, is only counted
        const raw = item.obs.prov.raw;
        const kept =
          existing.items.length <= MAX_KEPT_COPIES &&
          !existing.items.some((i) => i.obs.prov.raw === raw);
        if (kept) existing.items.push(item);
        existing.unlisted += kept ? item.copies : 1 + item.copies;
        existing.copies += 1 + item.copies;
        ctx.duplicates++;
        existing.host ??= item.host;
        existing.vcenter ??= item.vcenter;
        existing.vm = mergeVmFacts(existing.vm, item.vm);
        existing.api ??= item.api;
        continue;
      }
    }
    const frag = newFrag(item);
    frags.push(frag);
    if (key !== null) {
      if (earlier) earlier.push(frag);
      else byKey.set(key, [frag]);
    }
  }
  return frags;
}

/** Key of records that are copies of one another; undefined when a kind has no such key. */
function dedupeKey(item: Item): string | undefined {
  const o = item.obs;
  switch (item.slot) {
    case "vc.event":
      return o.eventKey ? `vc\u0000${o.eventKey}` : undefined;
    case "hostd.event":
      return o.eventKey ? `he\u0000${o.eventKey}\u0000${o.time ?? ""}` : undefined;
    case "vmx.request":
    case "vmx.response":
      return o.seq !== undefined
        ? `${item.slot}\u0000${o.opId ?? ""}\u0000${o.seq}\u0000${o.time ?? ""}`
        : undefined;
    case "burst":
      return o.eventKey ? `burst\u0000${o.eventKey}` : undefined;
    case "vpxd.lro":
    case "vpxd.lro-end":
      return o.eventKey ? `${o.kind}\u0000${o.eventKey}\u0000${o.opId ?? ""}` : undefined;
    case "hostd.state":
    case "hostd.request":
    case "args":
    case "fault":
    case "file-path":
    case "audit":
      return `${item.slot}\u0000${o.time ?? ""}\u0000${o.opId ?? ""}\u0000${o.prov.raw.slice(-200)}`;
  }
}
