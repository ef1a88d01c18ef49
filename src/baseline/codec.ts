/**
 * The baseline as JSON rows: one per account profile, one per VM profile, one for the baseline
 * itself. Maps become arrays of entries (subjects are log-derived strings: never object keys).
 * A row that does not decode is reported, never silently dropped (`decodeProfiles`).
 */
import type { AccountProfile, Baseline, VmProfile } from "./model.js";

type Meta = Omit<Baseline, "accounts" | "vms">;

export const metaJson = (b: Baseline): string => {
  const { accounts: _a, vms: _v, ...meta } = b;
  void _a;
  void _v;
  return JSON.stringify(meta);
};

export const accountJson = (p: AccountProfile): string =>
  JSON.stringify({
    ...p,
    vms: [...p.vms],
    methods: [...p.methods],
    sources: [...p.sources],
    agents: [...p.agents],
  });

export const vmJson = (p: VmProfile): string => JSON.stringify({ ...p, accounts: [...p.accounts] });

const asMap = <V>(value: unknown): Map<string, V> => {
  if (!Array.isArray(value)) throw new Error("expected a list of entries");
  return new Map(value as [string, V][]);
};

export function decodeMeta(body: string): Meta {
  const meta = JSON.parse(body) as Meta;
  if (meta.version !== 1) throw new Error(`baseline version ${String(meta.version)} is not known`);
  return meta;
}

export function decodeAccount(body: string): AccountProfile {
  const raw = JSON.parse(body) as Record<string, unknown>;
  if (typeof raw["account"] !== "string" || !Array.isArray(raw["hourOfWeek"])) {
    throw new Error("not an account profile");
  }
  return {
    ...(raw as unknown as AccountProfile),
    vms: asMap(raw["vms"]),
    methods: asMap(raw["methods"]),
    sources: asMap(raw["sources"]),
    agents: asMap(raw["agents"]),
  };
}

export function decodeVm(body: string): VmProfile {
  const raw = JSON.parse(body) as Record<string, unknown>;
  if (typeof raw["vm"] !== "string") throw new Error("not a VM profile");
  return { ...(raw as unknown as VmProfile), accounts: asMap(raw["accounts"]) };
}
