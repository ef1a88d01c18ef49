/**
 * Builders for attributed operations in rule and engine tests: one call per operation, with the
 * facts a test cares about and sensible defaults for the rest. Principals are normalised by the
 * product's own normaliser, so tests exercise the same identities as real runs.
 */
import { createHash } from "node:crypto";
import { normaliseAccount } from "../../src/attribute/identity.js";
import { lookupMethod } from "../../src/model/catalog.js";
import type { AttributionLevel, Operation, Origin } from "../../src/model/operation.js";
import type { InputSource, Observation, ObservationKind } from "../../src/model/record.js";

export interface OpSpec {
  /** UTC ISO 8601, or undefined for an operation without a time. */
  readonly time: string | undefined;
  /** Any spelling the catalog knows (`StartProgramInGuest`, `Start Program`). */
  readonly method?: string;
  readonly vm?: string;
  readonly host?: string;
  readonly vcenter?: string;
  /** Account as a log writes it; omitted: unknown principal. */
  readonly principal?: string;
  readonly level?: AttributionLevel;
  /** Candidates when `level` is ambiguous. */
  readonly candidates?: readonly string[];
  readonly via?: Origin["via"];
  readonly sourceIp?: string;
  readonly client?: string;
  readonly opId?: string;
  /** Session id the operation ran in. */
  readonly session?: string;
  /** Observation kinds (default: one `vmx.request`). */
  readonly kinds?: readonly ObservationKind[];
  readonly fault?: string;
  readonly outcome?: Operation["outcome"];
  readonly guestPath?: string;
  /** Input file the observations come from (default `hostd.log`) and the line of the first. */
  readonly file?: string;
  readonly line?: number;
}

const sources = new Map<string, InputSource>();

/** One input per file name, with a SHA-256 derived from the name (stable across runs). */
export function inputSource(path: string): InputSource {
  let source = sources.get(path);
  if (!source) {
    source = {
      id: sources.size,
      path,
      sha256: createHash("sha256").update(path).digest("hex"),
    };
    sources.set(path, source);
  }
  return source;
}

let counter = 0;

/** An attributed operation built from the facts given. */
export function op(spec: OpSpec): Operation {
  counter += 1;
  const info = lookupMethod(spec.method ?? "StartProgramInGuest");
  const api = info?.api ?? "unknown";
  const level: AttributionLevel = spec.level ?? (spec.principal ? "exact" : "unknown");
  const principal = spec.principal ? normaliseAccount(spec.principal) : undefined;
  const file = spec.file ?? "hostd.log";
  const line = spec.line ?? counter;
  const kinds = spec.kinds ?? ["vmx.request"];
  const observations: Observation[] = kinds.map((kind, i) => ({
    type: "observation",
    kind,
    time: spec.time,
    ...(spec.host !== undefined ? { host: spec.host } : {}),
    vm: { name: spec.vm ?? "vm01" },
    method: api,
    api,
    ...(spec.opId !== undefined ? { opId: spec.opId } : {}),
    ...(spec.fault !== undefined ? { fault: spec.fault, outcome: "failure" as const } : {}),
    evidence: "verbatim",
    prov: { source: inputSource(file), line: line + i, lineCount: 1, raw: `line ${line + i}` },
  }));
  const id = createHash("sha256").update(`${file}:${line}`).digest("hex").slice(0, 16);
  return {
    id,
    time: spec.time,
    ...(spec.host !== undefined ? { host: spec.host } : {}),
    ...(spec.vcenter !== undefined ? { vcenter: spec.vcenter } : {}),
    vm: { name: spec.vm ?? "vm01" },
    api,
    category: info?.category ?? "unknown",
    outcome: spec.outcome ?? (spec.fault !== undefined ? "failure" : "success"),
    attribution: {
      level,
      ...(principal && (level === "exact" || level === "correlated" || level === "inferred")
        ? { principal }
        : {}),
      ...(spec.candidates ? { candidates: spec.candidates.map(normaliseAccount) } : {}),
      reason:
        level === "inferred"
          ? "the only non-vCenter session open on the host then"
          : level === "unknown"
            ? "no record names the principal"
            : "a record of this operation names the principal",
      evidence: [],
    },
    origin: {
      via: spec.via ?? "unknown",
      ...(spec.sourceIp !== undefined ? { sourceIp: spec.sourceIp } : {}),
      ...(spec.client !== undefined ? { client: spec.client } : {}),
    },
    ...(spec.opId !== undefined ? { opId: spec.opId } : {}),
    ...(spec.session !== undefined ? { session: spec.session } : {}),
    ...(spec.guestPath !== undefined ? { guest: { path: spec.guestPath } } : {}),
    observations,
  };
}

/** Adds seconds to an ISO time. */
export const plus = (iso: string, seconds: number): string =>
  new Date(Date.parse(iso) + seconds * 1000).toISOString();
