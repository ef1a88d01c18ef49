/** Passes that pair records of one log: vmware.log request/response, vpxd LRO begin/end. */
import { apisCompatible, type Frag, type Item, merge, sourceKey } from "../fragments.js";
import type { JoinPass } from "./pass.js";

/** vmware.log: a request and its response share (input, opID, seq). */
export const pairVmx: JoinPass = {
  name: "pair-vmx",
  run(frags) {
    const requests = new Map<string, Frag>();
    const out: Frag[] = [];
    for (const f of frags) {
      const item = f.items[0];
      if (item?.slot === "vmx.request" && item.obs.seq !== undefined) {
        requests.set(`${item.vmInput}\u0000${item.opId}\u0000${item.obs.seq}`, f);
      }
    }
    for (const f of frags) {
      const item = f.items[0];
      if (item?.slot === "vmx.response" && item.obs.seq !== undefined) {
        const req = requests.get(`${item.vmInput}\u0000${item.opId}\u0000${item.obs.seq}`);
        if (req && !req.slots.has("vmx.response") && apisCompatible(req.api, f.api)) {
          merge(req, f);
          continue;
        }
      }
      out.push(f);
    }
    return out;
  },
};

/**
 * vpxd.log: BEGIN, FINISH and (for a failed call) ERROR of one LRO share its key (`lro-123`) in
 * one vCenter log. An ERROR without its BEGIN stands in for it.
 */
export const pairLro: JoinPass = {
  name: "pair-lro",
  run(frags) {
    const begins = new Map<string, Frag>();
    const keyOf = (item: Item): string =>
      `${item.vcenter ?? sourceKey(item.obs)}\u0000${item.obs.eventKey}`;
    const isError = (item: Item | undefined): boolean => item?.obs.kind === "vpxd.lro-error";
    for (const pass of [false, true]) {
      for (const f of frags) {
        const item = f.items[0];
        if (item?.slot !== "vpxd.lro" || !item.obs.eventKey || isError(item) !== pass) continue;
        if (!begins.has(keyOf(item))) begins.set(keyOf(item), f);
      }
    }
    const out: Frag[] = [];
    for (const f of frags) {
      const item = f.items[0];
      const end = item?.slot === "vpxd.lro-end";
      if (item && (end || isError(item)) && item.obs.eventKey) {
        const begin = begins.get(keyOf(item));
        const taken = end ? begin?.slots.has("vpxd.lro-end") : begin?.items.some(isError);
        if (begin && begin !== f && !taken) {
          merge(begin, f);
          continue;
        }
      }
      out.push(f);
    }
    return out;
  },
};
