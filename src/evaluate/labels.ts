/**
 * The labels file (docs/evaluation.md): NDJSON, one object a line. `guestops simulate` writes it
 * for its estate; a site can write one for its own red-team exercise. Lines:
 *
 * - `{"type":"fleet", ...}` (optional, first): what was simulated (hosts, period, inputs' hosts);
 * - `{"type":"scenario","id","attack","description"}`: one per scenario;
 * - `{"type":"operation","scenario","time","vm","api", ...}`: one per guest operation.
 *
 * Read line by line; a line that is not a valid label is a counted, reported problem, never a
 * crash. Strings from the file are kept as data (Maps, never object keys).
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { normaliseAccount } from "../attribute/identity.js";
import { GuestOpsError, isSystemError } from "../shared/errors.js";

export interface FleetLabel {
  readonly type: "fleet";
  readonly hosts?: number;
  readonly vms?: number;
  /** Period (UTC ISO 8601). */
  readonly start?: string;
  readonly end?: string;
  readonly zone?: string;
  readonly seed?: number;
  /** Inputs whose lines name no host, relative to the labels file's directory. */
  readonly inputHosts?: readonly { readonly path: string; readonly host: string }[];
}

export interface ScenarioLabel {
  readonly type: "scenario";
  readonly id: string;
  readonly attack: boolean;
  readonly description?: string;
}

export interface OperationLabel {
  readonly type: "operation";
  readonly scenario: string;
  /** When the call reached the host (UTC ISO 8601). */
  readonly time: string;
  readonly vm: string;
  /** Canonical API name (`StartProgramInGuest`). */
  readonly api: string;
  readonly host?: string;
  /** Account as the site writes it; compared after normalisation. */
  readonly principal?: string;
  readonly via?: "vcenter" | "direct";
  readonly outcome?: "success" | "failure";
  /**
   * Keys of the lines that record the call: `hostd|HOST|EVENTKEY`, `vmx|OPID|SEQ`, `lro|lro-N`,
   * `vc|EVENTKEY`. Without keys the operation is matched by VM, method and time.
   */
  readonly keys?: readonly string[];
  /** Formats of the lines written for it; `:I` marks a format no real sample confirms. */
  readonly formats?: readonly string[];
  /** Every line of the operation is in a format real samples confirm. */
  readonly verified?: boolean;
  /** vCenter's burst filter kept its event out of the event stream. */
  readonly hidden?: boolean;
  /** Its host was not forwarding: its hostd lines are missing. */
  readonly gap?: boolean;
}

export interface Labels {
  readonly fleet?: FleetLabel;
  readonly scenarios: ReadonlyMap<string, ScenarioLabel>;
  readonly operations: readonly OperationLabel[];
  /** Lines that were not valid labels (line number and why), at most 20 kept. */
  readonly problems: readonly { readonly line: number; readonly reason: string }[];
  readonly problemCount: number;
}

const str = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= 4096;
const strList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => str(x));

/** One line of the file as a label, or the reason it is not one. */
export function parseLabel(text: string): FleetLabel | ScenarioLabel | OperationLabel | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not a JSON object";
  const o = v as Record<string, unknown>;
  if (o["type"] === "fleet") {
    const hosts = Array.isArray(o["inputHosts"])
      ? (o["inputHosts"] as unknown[]).filter(
          (h): h is { path: string; host: string } =>
            typeof h === "object" &&
            h !== null &&
            str((h as Record<string, unknown>)["path"]) &&
            str((h as Record<string, unknown>)["host"]),
        )
      : undefined;
    return {
      type: "fleet",
      ...(typeof o["hosts"] === "number" ? { hosts: o["hosts"] } : {}),
      ...(typeof o["vms"] === "number" ? { vms: o["vms"] } : {}),
      ...(str(o["start"]) && !Number.isNaN(Date.parse(o["start"])) ? { start: o["start"] } : {}),
      ...(str(o["end"]) && !Number.isNaN(Date.parse(o["end"])) ? { end: o["end"] } : {}),
      ...(str(o["zone"]) ? { zone: o["zone"] } : {}),
      ...(typeof o["seed"] === "number" ? { seed: o["seed"] } : {}),
      ...(hosts ? { inputHosts: hosts.map((h) => ({ path: h.path, host: h.host })) } : {}),
    };
  }
  if (o["type"] === "scenario") {
    if (!str(o["id"])) return "scenario without an id";
    if (typeof o["attack"] !== "boolean") return "scenario without attack: true or false";
    return {
      type: "scenario",
      id: o["id"],
      attack: o["attack"],
      ...(str(o["description"]) ? { description: o["description"] } : {}),
    };
  }
  if (o["type"] === "operation") {
    for (const k of ["scenario", "time", "vm", "api"])
      if (!str(o[k])) return `operation without ${k}`;
    const time = o["time"] as string;
    if (Number.isNaN(Date.parse(time))) return "operation time is not a date-time";
    if (o["keys"] !== undefined && !strList(o["keys"])) return "keys is not a list of strings";
    if (o["formats"] !== undefined && !strList(o["formats"]))
      return "formats is not a list of strings";
    const viaOf = o["via"];
    const via: Pick<OperationLabel, "via"> =
      viaOf === "vcenter" || viaOf === "direct" ? { via: viaOf } : {};
    const outcomeOf = o["outcome"];
    const outcome: Pick<OperationLabel, "outcome"> =
      outcomeOf === "success" || outcomeOf === "failure" ? { outcome: outcomeOf } : {};
    return {
      type: "operation",
      scenario: o["scenario"] as string,
      time: new Date(Date.parse(time)).toISOString(),
      vm: o["vm"] as string,
      api: o["api"] as string,
      ...(str(o["host"]) ? { host: o["host"] } : {}),
      ...(str(o["principal"]) ? { principal: o["principal"] } : {}),
      ...via,
      ...outcome,
      ...(o["keys"] !== undefined ? { keys: o["keys"] } : {}),
      ...(o["formats"] !== undefined ? { formats: o["formats"] } : {}),
      ...(typeof o["verified"] === "boolean" ? { verified: o["verified"] } : {}),
      ...(o["hidden"] === true ? { hidden: true } : {}),
      ...(o["gap"] === true ? { gap: true } : {}),
    };
  }
  return "type is not fleet, scenario or operation";
}

/** Reads a labels file line by line. */
export async function readLabels(path: string): Promise<Labels> {
  const scenarios = new Map<string, ScenarioLabel>();
  const operations: OperationLabel[] = [];
  const problems: { line: number; reason: string }[] = [];
  let problemCount = 0;
  let fleet: FleetLabel | undefined;
  let n = 0;
  const problem = (line: number, reason: string): void => {
    problemCount++;
    if (problems.length < 20) problems.push({ line, reason });
  };
  try {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    for await (const text of lines) {
      n++;
      if (text.trim() === "") continue;
      if (text.length > 65_536) {
        problem(n, "line longer than 64 KiB");
        continue;
      }
      const label = parseLabel(text);
      if (typeof label === "string") problem(n, label);
      else if (label.type === "fleet") fleet = label;
      else if (label.type === "scenario") {
        if (scenarios.has(label.id)) problem(n, "scenario listed twice");
        else scenarios.set(label.id, label);
      } else operations.push(label);
    }
  } catch (cause) {
    if (isSystemError(cause)) {
      throw new GuestOpsError("ERR_INPUT_UNREADABLE", `cannot read the labels file ${path}`, {
        cause,
        hint: "check the --truth path",
      });
    }
    throw cause;
  }
  for (const op of operations) {
    if (!scenarios.has(op.scenario)) {
      // an operation's scenario that no line describes: benign unless named otherwise
      scenarios.set(op.scenario, { type: "scenario", id: op.scenario, attack: false });
      problem(0, `scenario ${op.scenario.slice(0, 80)} is not described (counted as benign)`);
    }
  }
  return { ...(fleet ? { fleet } : {}), scenarios, operations, problems, problemCount };
}

/** The principal of a label as attribution normalises accounts. */
export const labelPrincipal = (label: OperationLabel): string | undefined =>
  label.principal === undefined ? undefined : normaliseAccount(label.principal).id;
