/** The last passes: what joins taught about an input (a vmware.log, a local hostd.log) spread. */
import type { Observation } from "../../model/record.js";
import { type Frag, sourceKey, VCENTER_SLOTS } from "../fragments.js";
import { hostKey } from "../identity.js";
import type { JoinPass } from "./pass.js";

/**
 * One vmware.log is one VM on one host: what a join taught about some of its calls (host, VM
 * name) holds for the others, when the joined calls agree.
 */
function propagateVmInputs(frags: readonly Frag[]): void {
  const learned = new Map<
    string,
    { hosts: Set<string>; scopes: Set<string>; names: Set<string> }
  >();
  for (const f of frags) {
    for (const input of f.vmInputs) {
      const entry = learned.get(input) ?? { hosts: new Set(), scopes: new Set(), names: new Set() };
      if (f.host) entry.hosts.add(f.host);
      if (f.scope) entry.scopes.add(f.scope);
      for (const n of f.vm.names) entry.names.add(n);
      learned.set(input, entry);
    }
  }
  for (const f of frags) {
    if (f.vmInputs.size !== 1) continue;
    const [input] = f.vmInputs;
    const entry = input === undefined ? undefined : learned.get(input);
    if (!entry) continue;
    const [host] = entry.hosts;
    const [scope] = entry.scopes;
    const [name] = entry.names;
    if (!f.host && entry.hosts.size === 1 && host) f.host = host;
    if (!f.scope && entry.scopes.size === 1 && scope) f.scope = scope;
    if (f.vm.names.length === 0 && entry.names.size === 1 && name)
      f.vm = { ...f.vm, names: [name] };
  }
}

/**
 * Host identity for inputs whose lines name no host (ESXi 8 local hostd.log, vmware.log) and to
 * which no `--input-host` or bundle name gave one: a directory of the input's path that names a
 * host other records of the run name (`esx01/hostd.log` when vCenter events name
 * `esx01.corp.example`), else the one host the input's joined operations (a vCenter event, a
 * vmware.log with a host) name. Joins are done: only the host the operations report changes.
 */
function assignInputHosts(frags: readonly Frag[]): void {
  const known = new Set<string>();
  for (const f of frags) for (const i of f.items) if (i.host) known.add(i.host);
  const inputs = new Map<string, { fromPath: string | undefined; joined: Set<string> }>();
  for (const f of frags) {
    for (const i of f.items) {
      if (i.host || VCENTER_SLOTS.has(i.slot)) continue;
      const key = sourceKey(i.obs);
      let entry = inputs.get(key);
      if (!entry) {
        // a hint the input got after its records were read (a bundle's host-name file) comes first
        const late = i.obs.prov.source.hostHint;
        const fromHint = late ? hostKey(late) || undefined : undefined;
        entry = {
          fromPath: fromHint ?? hostFromPath(i.obs.prov.source, known),
          joined: new Set(),
        };
        inputs.set(key, entry);
      }
      if (f.host && entry.joined.size < 4) entry.joined.add(f.host);
    }
  }
  if (inputs.size === 0) return;
  for (const f of frags) {
    if (f.host) continue;
    const found = new Set<string>();
    for (const i of f.items) {
      const entry = i.host ? undefined : inputs.get(sourceKey(i.obs));
      if (!entry) continue;
      const [only] = entry.joined;
      const host = entry.fromPath ?? (entry.joined.size === 1 ? only : undefined);
      if (host) found.add(host);
    }
    const [host] = found;
    if (found.size === 1 && host) f.host = host;
  }
}

/** The host key a directory of the input's path names, when other records name that host. */
function hostFromPath(
  src: Observation["prov"]["source"],
  known: ReadonlySet<string>,
): string | undefined {
  const parts = `${src.path}${src.member ? `/${src.member}` : ""}`.split(/[/\\!]/);
  parts.pop(); // the file's own name
  for (let i = parts.length - 1; i >= 0; i--) {
    const part = parts[i];
    if (!part || part === "." || part === "..") continue;
    const key = hostKey(part);
    if (key && known.has(key)) return key;
  }
  return undefined;
}

/** vmware.log facts a join taught (host, VM name) spread to the other calls of the same file. */
export const vmInputFacts: JoinPass = {
  name: "vm-inputs",
  run(frags) {
    propagateVmInputs(frags);
    return frags;
  },
};

/** Hosts for inputs whose lines name none, once every join is done. */
export const inputHosts: JoinPass = {
  name: "input-hosts",
  run(frags) {
    assignInputHosts(frags);
    return frags;
  },
};
