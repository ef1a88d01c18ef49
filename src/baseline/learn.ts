/**
 * The learner: attributed operations in time order go in one at a time, a `Baseline` comes out
 * (docs/detection.md, "Learning"). Memory grows with accounts, VMs and the pairs of them, never
 * with operations: rates are kept as histograms of counts per window (the window being counted is
 * the only open one, since operations come in time order), days as "last day seen" markers. Pure:
 * no clock, no I/O; the caller says which operations to leave out (those of medium+ alerts).
 */
import type { Operation } from "../model/operation.js";
import { isAttributed } from "../detect/group.js";
import {
  accountKeyOf,
  DAY_MS,
  FANOUT_WINDOW_MS,
  HOUR_MS,
  localClockOf,
  median,
  RUN_GAP_MS,
  statsOf,
  vmKeyOf,
  type AccountProfile,
  type Baseline,
  type Cadence,
  type Seen,
  type VmProfile,
  type VmUse,
} from "./model.js";
import { SequenceTracker } from "./sequence.js";

/** The sequence window the learner and `exfil-sequence` share by default. */
export const SEQUENCE_WINDOW_MS = 30 * 60_000;

export interface LearnOptions {
  readonly zone: string;
  /** The policy's domain aliases (folded into account keys). */
  readonly aliases?: ReadonlyMap<string, string>;
  /** Operations to leave out (true: not learned). */
  readonly exclude?: (op: Operation) => boolean;
}

export interface Learner {
  /** One operation; those without a time or a principal are counted, not learned. */
  readonly add: (op: Operation) => void;
  readonly finish: (info?: { learnedAt?: number; excludedAlerts?: number }) => Baseline;
  /** Operations seen, learned, and left out so far. */
  readonly counts: () => { seen: number; learned: number; excluded: number; skipped: number };
}

class WindowCounter {
  readonly hist = new Map<number, number>();
  private cur = Number.NaN;
  private count = 0;
  add(bucket: number): void {
    if (bucket !== this.cur) {
      this.close();
      this.cur = bucket;
    }
    this.count++;
  }
  private close(): void {
    if (this.count > 0) this.hist.set(this.count, (this.hist.get(this.count) ?? 0) + 1);
    this.count = 0;
  }
  stats() {
    this.close();
    this.cur = Number.NaN;
    return statsOf(this.hist);
  }
}

class DistinctCounter {
  readonly hist = new Map<number, number>();
  private cur = Number.NaN;
  private readonly set = new Set<string>();
  add(bucket: number, value: string): void {
    if (bucket !== this.cur) {
      this.close();
      this.cur = bucket;
    }
    this.set.add(value);
  }
  private close(): void {
    const n = this.set.size;
    if (n > 0) this.hist.set(n, (this.hist.get(n) ?? 0) + 1);
    this.set.clear();
  }
  stats() {
    this.close();
    this.cur = Number.NaN;
    return statsOf(this.hist);
  }
}

class SeenAcc {
  ops = 0;
  first = Number.POSITIVE_INFINITY;
  last = Number.NEGATIVE_INFINITY;
  days = 0;
  private lastDay = Number.NaN;
  add(t: number, day: number): void {
    this.ops++;
    if (t < this.first) this.first = t;
    if (t > this.last) this.last = t;
    if (day !== this.lastDay) {
      this.days++;
      this.lastDay = day;
    }
  }
  value(): Seen {
    return { ops: this.ops, first: this.first, last: this.last, days: this.days };
  }
}

class DayMark {
  days = 0;
  private lastDay = Number.NaN;
  mark(day: number): void {
    if (day === this.lastDay) return;
    this.days++;
    this.lastDay = day;
  }
}

interface VmUseAcc {
  readonly name: string;
  readonly seen: SeenAcc;
  readonly hourly: WindowCounter;
  readonly sequences: DayMark;
}

interface AccountAcc {
  readonly display: string;
  readonly kind: AccountProfile["kind"];
  readonly seen: SeenAcc;
  readonly hourly: WindowCounter;
  readonly daily: WindowCounter;
  readonly fanout: DistinctCounter;
  readonly how: number[];
  readonly howLastDay: number[];
  readonly vms: Map<string, VmUseAcc>;
  readonly methods: Map<string, SeenAcc>;
  readonly sources: Map<string, SeenAcc>;
  readonly agents: Map<string, SeenAcc>;
  readonly sequences: DayMark;
  /** Runs: start (local wall ms), last op (epoch ms), distinct VMs. */
  readonly runs: { start: number; wallStart: number; last: number; vms: Set<string> }[];
}

interface VmAcc {
  readonly name: string;
  readonly seen: SeenAcc;
  readonly accounts: Map<string, number>;
  readonly hosts: Set<string>;
}

/** Caps that keep memory bounded on hostile input (a VM on thousands of hosts, a run of millions of VMs). */
const MAX_HOSTS_PER_VM = 64;
const MAX_RUNS = 20_000;

export function createLearner(options: LearnOptions): Learner {
  const { zone } = options;
  const accounts = new Map<string, AccountAcc>();
  const vms = new Map<string, VmAcc>();
  const tracker = new SequenceTracker<undefined>(SEQUENCE_WINDOW_MS);
  let seen = 0;
  let learned = 0;
  let excluded = 0;
  let skipped = 0;
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  let lastForget = Number.NEGATIVE_INFINITY;

  const bump = (map: Map<string, SeenAcc>, key: string | undefined, t: number, day: number) => {
    if (key === undefined || key === "") return;
    let acc = map.get(key);
    if (!acc) {
      acc = new SeenAcc();
      map.set(key, acc);
    }
    acc.add(t, day);
  };

  const add = (op: Operation): void => {
    seen++;
    const t = op.time === undefined ? Number.NaN : Date.parse(op.time);
    const principal = op.attribution.principal;
    if (Number.isNaN(t) || !principal || !isAttributed(op)) {
      skipped++;
      return;
    }
    if (options.exclude?.(op)) {
      excluded++;
      return;
    }
    learned++;
    if (t < from) from = t;
    if (t > to) to = t;
    const key = accountKeyOf(principal, options.aliases);
    const clock = localClockOf(zone, t);
    let a = accounts.get(key);
    if (!a) {
      a = {
        display: principal.display,
        kind: principal.kind,
        seen: new SeenAcc(),
        hourly: new WindowCounter(),
        daily: new WindowCounter(),
        fanout: new DistinctCounter(),
        how: new Array<number>(168).fill(0),
        howLastDay: new Array<number>(168).fill(Number.NaN),
        vms: new Map(),
        methods: new Map(),
        sources: new Map(),
        agents: new Map(),
        sequences: new DayMark(),
        runs: [],
      };
      accounts.set(key, a);
    }
    const vmKey = vmKeyOf(op.vm);
    const vmName = op.vm.name ?? op.vm.vmx ?? op.vm.dir ?? op.vm.moref ?? "unknown VM";
    a.seen.add(t, clock.day);
    a.hourly.add(Math.floor(t / HOUR_MS));
    a.daily.add(clock.day);
    a.fanout.add(Math.floor(t / FANOUT_WINDOW_MS), vmKey);
    if (a.howLastDay[clock.hourOfWeek] !== clock.day) {
      a.howLastDay[clock.hourOfWeek] = clock.day;
      a.how[clock.hourOfWeek] = (a.how[clock.hourOfWeek] ?? 0) + 1;
    }
    let use = a.vms.get(vmKey);
    if (!use) {
      use = {
        name: vmName,
        seen: new SeenAcc(),
        hourly: new WindowCounter(),
        sequences: new DayMark(),
      };
      a.vms.set(vmKey, use);
    }
    use.seen.add(t, clock.day);
    use.hourly.add(Math.floor(t / HOUR_MS));
    bump(a.methods, op.api, t, clock.day);
    bump(a.sources, op.origin.sourceIp, t, clock.day);
    bump(a.agents, op.origin.userAgent ?? op.origin.client, t, clock.day);
    const run = a.runs.at(-1);
    if (run && t - run.last <= RUN_GAP_MS) {
      run.last = t;
      run.vms.add(vmKey);
    } else if (a.runs.length < MAX_RUNS) {
      a.runs.push({ start: t, wallStart: clock.wallMs, last: t, vms: new Set([vmKey]) });
    }
    if (tracker.add(`${key}\u0000${vmKey}`, op.api, t, undefined)) {
      use.sequences.mark(clock.day);
      a.sequences.mark(clock.day);
    }
    if (t - lastForget > HOUR_MS) {
      tracker.forget(t);
      lastForget = t;
    }

    let v = vms.get(vmKey);
    if (!v) {
      v = { name: vmName, seen: new SeenAcc(), accounts: new Map(), hosts: new Set() };
      vms.set(vmKey, v);
    }
    v.seen.add(t, clock.day);
    v.accounts.set(key, (v.accounts.get(key) ?? 0) + 1);
    if (op.host !== undefined && v.hosts.size < MAX_HOSTS_PER_VM)
      v.hosts.add(op.host.toLowerCase());
  };

  const finish: Learner["finish"] = (info = {}) => {
    const accountProfiles = new Map<string, AccountProfile>();
    for (const [key, a] of accounts) {
      const vmUses = new Map<string, VmUse>();
      for (const [vk, u] of a.vms) {
        vmUses.set(vk, {
          ...u.seen.value(),
          name: u.name,
          hourly: u.hourly.stats(),
          sequenceDays: u.sequences.days,
        });
      }
      const cadence = learnCadence(a.runs);
      const profile: AccountProfile = {
        account: key,
        display: a.display,
        kind: a.kind,
        seen: a.seen.value(),
        hourly: a.hourly.stats(),
        daily: a.daily.stats(),
        fanout: a.fanout.stats(),
        hourOfWeek: a.how,
        vms: vmUses,
        methods: valuesOf(a.methods),
        sources: valuesOf(a.sources),
        agents: valuesOf(a.agents),
        sequenceDays: a.sequences.days,
        ...(cadence ? { cadence } : {}),
      };
      accountProfiles.set(key, profile);
    }
    const vmProfiles = new Map<string, VmProfile>();
    for (const [key, v] of vms) {
      vmProfiles.set(key, {
        vm: key,
        name: v.name,
        seen: v.seen.value(),
        accounts: v.accounts,
        hosts: v.hosts.size,
      });
    }
    return {
      version: 1,
      zone,
      from: Number.isFinite(from) ? from : 0,
      to: Number.isFinite(to) ? to : 0,
      learnedAt: info.learnedAt ?? 0,
      operations: learned,
      excluded: { operations: excluded, alerts: info.excludedAlerts ?? 0 },
      accounts: accountProfiles,
      vms: vmProfiles,
    };
  };

  return { add, finish, counts: () => ({ seen, learned, excluded, skipped }) };
}

function valuesOf(map: ReadonlyMap<string, SeenAcc>): Map<string, Seen> {
  const out = new Map<string, Seen>();
  for (const [k, v] of map) out.set(k, v.value());
  return out;
}

/** Runs needed before a schedule is believed. */
export const MIN_CADENCE_RUNS = 5;

/**
 * A regular schedule from run starts (docs/detection.md, "Cadence"): the period is the median
 * interval between starts, regular when the intervals' MAD is within 10% of it (or 10 minutes)
 * at least 90% of the expected slots between the first and last run had one, and the starts lie
 * within a median 5 minutes (or 0.2% of the period) of their phase: the median start within the
 * period (local wall clock). The tolerance is four robust deviations of the starts around it, at
 * least 30 minutes and at most a quarter of the period.
 */
export function learnCadence(
  runs: readonly { wallStart: number; vms: ReadonlySet<string> }[],
): Cadence | undefined {
  if (runs.length < MIN_CADENCE_RUNS) return undefined;
  const intervals: number[] = [];
  for (let i = 1; i < runs.length; i++) {
    intervals.push((runs[i]?.wallStart ?? 0) - (runs[i - 1]?.wallStart ?? 0));
  }
  const p0 = median(intervals);
  if (p0 < 15 * 60_000) return undefined;
  const mad = median(intervals.map((d) => Math.abs(d - p0)));
  if (mad > Math.max(0.1 * p0, 10 * 60_000)) return undefined;
  // A period within 5% of a whole number of hours is that number (jobs are scheduled on the clock).
  const hours = Math.round(p0 / HOUR_MS);
  const periodMs = hours >= 1 && Math.abs(p0 - hours * HOUR_MS) <= 0.05 * p0 ? hours * HOUR_MS : p0;
  const first = runs[0]?.wallStart ?? 0;
  const last = runs.at(-1)?.wallStart ?? 0;
  const expected = Math.floor((last - first) / periodMs + 0.5) + 1;
  const coverage = Math.min(1, runs.length / Math.max(1, expected));
  if (coverage < 0.9) return undefined;
  const ref = ((first % periodMs) + periodMs) % periodMs;
  const residuals = runs.map((r) => {
    const x = (((r.wallStart - ref) % periodMs) + periodMs) % periodMs;
    return x > periodMs / 2 ? x - periodMs : x;
  });
  const shift = median(residuals);
  const spread = median(residuals.map((x) => Math.abs(x - shift)));
  // Scheduled jobs start on the clock; people start their day minutes apart.
  if (spread > Math.max(5 * 60_000, 0.002 * periodMs)) return undefined;
  const toleranceMs = Math.min(periodMs / 4, Math.max(30 * 60_000, 4 * 1.4826 * spread));
  return {
    periodMs,
    phaseMs: (((ref + shift) % periodMs) + periodMs) % periodMs,
    toleranceMs,
    runs: runs.length,
    coverage,
    vmsPerRun: median(runs.map((r) => r.vms.size)),
  };
}

/** Learns a baseline from operations (any order: sorted by time first). For tests and small sets. */
export function learnBaseline(ops: Iterable<Operation>, options: LearnOptions): Baseline {
  const sorted = [...ops].sort((a, b) => (a.time ?? "\uffff").localeCompare(b.time ?? "\uffff"));
  const learner = createLearner(options);
  for (const op of sorted) learner.add(op);
  return learner.finish();
}

export { DAY_MS };
