/**
 * `simulate()`: writes a simulated vSphere estate's logs, its labels (every guest operation with
 * its scenario) and its site policy into a directory. Same options and seed, same bytes.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { DateTime, IANAZone } from "luxon";
import type { OperationLabel } from "../evaluate/labels.js";
import { GuestOpsError } from "../shared/errors.js";
import { buildFleet } from "./fleet.js";
import { Output, type WrittenFile } from "./output.js";
import { policyYaml } from "./policy.js";
import { Rng } from "./random.js";
import { hostdPath, PATHS, Renderer } from "./render.js";
import { makePlan, runsOfDay, SCENARIOS } from "./scenarios.js";

export interface SimulateOptions {
  readonly out: string;
  /** ESXi hosts (default 8). */
  readonly hosts?: number;
  /** VMs in the estate (default 60). */
  readonly vms?: number;
  /** Days simulated (default 28). */
  readonly days?: number;
  /**
   * Days of benign life only at the start, before any attack: the learning history for
   * `evaluate --learn-until` (default 15; the last 7 days, at least, hold the attacks).
   */
  readonly history?: number;
  readonly seed?: number;
  /** IANA zone of the site (default Europe/Paris). */
  readonly tz?: string;
  /** Local date of the first day (default 2026-03-16: the period holds the March DST change). */
  readonly start?: string;
  /** Switchable scenarios to include (default: all of them). */
  readonly scenarios?: readonly string[];
}

export const SIMULATE_DEFAULTS = {
  hosts: 8,
  vms: 60,
  days: 28,
  history: 15,
  seed: 1,
  tz: "Europe/Paris",
  start: "2026-03-16",
} as const;

export interface SimulateResult {
  readonly dir: string;
  readonly files: readonly WrittenFile[];
  readonly operations: number;
  readonly byScenario: ReadonlyMap<string, number>;
  /** `PATH=HOST` for the inputs whose lines name no host (relative to `dir`). */
  readonly inputHosts: readonly { readonly path: string; readonly host: string }[];
  readonly scenarios: readonly string[];
  /** Attack-free days at the start, and the instant they end (ISO 8601): `--learn-until`. */
  readonly history: number;
  readonly learnUntil: string;
}

/** Days left for the attacks after the history, at least (low-and-slow discovery lasts 7). */
const ATTACK_DAYS = 7;

const count = (name: string, v: number, lo: number, hi: number): number => {
  if (!Number.isInteger(v) || v < lo || v > hi) {
    throw new GuestOpsError("ERR_USAGE", `--${name} must be a whole number from ${lo} to ${hi}`);
  }
  return v;
};

export function simulate(options: SimulateOptions): SimulateResult {
  const hosts = count("hosts", options.hosts ?? SIMULATE_DEFAULTS.hosts, 1, 1000);
  const vms = count("vms", options.vms ?? SIMULATE_DEFAULTS.vms, 1, 100_000);
  const days = count("days", options.days ?? SIMULATE_DEFAULTS.days, 1, 400);
  const history = Math.min(
    count("history", options.history ?? SIMULATE_DEFAULTS.history, 0, 400),
    Math.max(0, days - ATTACK_DAYS),
  );
  const seed = count("seed", options.seed ?? SIMULATE_DEFAULTS.seed, 0, 2 ** 32 - 1);
  const tz = options.tz ?? SIMULATE_DEFAULTS.tz;
  if (!IANAZone.isValidZone(tz)) {
    throw new GuestOpsError("ERR_USAGE", `unknown time zone ${tz}`, {
      hint: "use an IANA zone such as Europe/Paris or UTC",
    });
  }
  const start = options.start ?? SIMULATE_DEFAULTS.start;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || !DateTime.fromISO(start, { zone: tz }).isValid) {
    throw new GuestOpsError("ERR_USAGE", `--start must be a date YYYY-MM-DD, not ${start}`);
  }
  const switchable = SCENARIOS.filter((s) => s.switchable).map((s) => s.id);
  const chosen = options.scenarios ?? switchable;
  for (const id of chosen) {
    if (!switchable.includes(id)) {
      throw new GuestOpsError("ERR_USAGE", `unknown scenario ${id}`, {
        hint: `use any of ${switchable.join(", ")}, or none`,
      });
    }
  }
  const enabled = new Set(chosen);

  const rnd = new Rng(seed);
  const fleet = buildFleet({ hosts, vms, days, start, tz }, rnd.fork());
  const plan = makePlan(fleet, history);
  mkdirSync(options.out, { recursive: true });
  const out = new Output(options.out);
  const labelsFd = openSync(join(options.out, PATHS.labels), "w");
  const byScenario = new Map<string, number>();
  let operations = 0;
  let pending: string[] = [];
  const flushLabels = (): void => {
    if (pending.length) writeSync(labelsFd, pending.join(""));
    pending = [];
  };
  const inputHosts = [
    ...fleet.hosts
      .filter((h) => h.forwarding === "local")
      .map((h) => ({ path: hostdPath(h), host: h.fqdn })),
    { path: PATHS.vpxd, host: fleet.vcenter },
  ];
  const scenarioIds = SCENARIOS.filter((s) => !s.switchable || enabled.has(s.id));
  pending.push(
    `${JSON.stringify({
      type: "fleet",
      generator: "guestops simulate",
      seed,
      hosts,
      vms,
      days,
      zone: tz,
      start: new Date(fleet.dayStarts[0] ?? 0).toISOString(),
      end: new Date(fleet.dayStarts[days] ?? 0).toISOString(),
      history,
      // the first instant after the attack-free history: `evaluate --learn-until`
      learnUntil: new Date(fleet.dayStarts[history] ?? 0).toISOString(),
      inputHosts,
    })}\n`,
  );
  for (const s of scenarioIds) {
    pending.push(
      `${JSON.stringify({ type: "scenario", id: s.id, attack: s.attack, description: s.description })}\n`,
    );
  }
  const label = (l: OperationLabel): void => {
    operations++;
    byScenario.set(l.scenario, (byScenario.get(l.scenario) ?? 0) + 1);
    pending.push(`${JSON.stringify(l)}\n`);
  };
  const renderer = new Renderer(fleet, plan, out, rnd.fork(), label);
  renderer.start();
  const dayRnd = rnd.fork();
  try {
    for (let day = 0; day < days; day++) {
      for (const r of runsOfDay(fleet, plan, day, enabled, dayRnd.fork())) renderer.run(r);
      out.flushBefore(renderer.safeBefore(day));
      flushLabels();
    }
  } finally {
    flushLabels();
    closeSync(labelsFd);
  }
  const files = out.close();
  writeFileSync(join(options.out, PATHS.policy), policyYaml(fleet, plan, enabled));
  return {
    dir: options.out,
    files,
    operations,
    byScenario,
    inputHosts,
    scenarios: scenarioIds.map((s) => s.id),
    history,
    learnUntil: new Date(fleet.dayStarts[history] ?? 0).toISOString(),
  };
}
