/**
 * What happens in the simulated estate, day by day: benign life (admin scripts, the nightly
 * backup, the monitoring collector, patch evenings, a DR test, approved after-hours work) and the
 * switchable attacks. Each scenario turns into runs: one account calling a sequence of guest
 * operations on one VM. Placement depends on the period and the seed only.
 */
import { dayInfo, exists, hostOn, type Account, type Fleet, type Host, type Vm } from "./fleet.js";
import type { Rng } from "./random.js";

export interface ScenarioInfo {
  readonly id: string;
  readonly attack: boolean;
  /** Can be left out with `--scenarios` (the benign background always runs). */
  readonly switchable: boolean;
  readonly description: string;
}

export const SCENARIOS: readonly ScenarioInfo[] = [
  {
    id: "admin-scripts",
    attack: false,
    switchable: false,
    description: "Admins run PowerCLI Invoke-VMScript sequences in business hours",
  },
  {
    id: "backup",
    attack: false,
    switchable: false,
    description: "The backup product's nightly guest processing, one VM after another in job order",
  },
  {
    id: "monitoring",
    attack: false,
    switchable: false,
    description: "The monitoring collector lists processes on the monitored VMs every four hours",
  },
  {
    id: "patch-window",
    attack: false,
    switchable: false,
    description: "Weekly Tuesday-evening patching inside the approved patch window",
  },
  {
    id: "dr-test",
    attack: false,
    switchable: false,
    description:
      "A disaster-recovery test touching many VMs with fast polling (vCenter's burst filter), inside its change window",
  },
  {
    id: "after-hours-approved",
    attack: false,
    switchable: true,
    description: "After-hours admin work covered by a change window",
  },
  {
    id: "unc3886",
    attack: true,
    switchable: true,
    description:
      "Stolen vpxuser used straight against ESXi at night on a domain controller (UNC3886)",
  },
  {
    id: "vault-exfil",
    attack: true,
    switchable: true,
    description: "A compromised admin pulls files out of the vault VM in business hours",
  },
  {
    id: "new-account-fanout",
    attack: true,
    switchable: true,
    description: "An account nobody expects fans out across many VMs",
  },
  {
    id: "credential-spray",
    attack: true,
    switchable: true,
    description:
      "Guest credential spraying: bursts of guest authentication failures on several VMs",
  },
  {
    id: "low-slow-discovery",
    attack: true,
    switchable: true,
    description: "Low-and-slow discovery: a few listing calls a day by an admin account, over days",
  },
  {
    id: "after-hours-unapproved",
    attack: true,
    switchable: true,
    description: "After-hours admin work with no change window",
  },
];

export const scenarioInfo = (id: string): ScenarioInfo | undefined =>
  SCENARIOS.find((s) => s.id === id);

export interface Run {
  readonly scenario: string;
  readonly account: Account;
  readonly via: "vcenter" | "direct";
  readonly vm: Vm;
  readonly host: Host;
  readonly start: number;
  readonly calls: readonly string[];
  /** Gap between two ListProcesses polls, ms (default 2 s). */
  readonly pollMs?: number;
  /** The calls are failed guest authentications. */
  readonly failedAuth?: boolean;
  readonly paths?: { readonly to: string; readonly from: string };
  /** Day index (sessions are per account and day). */
  readonly day: number;
}

/** An Invoke-VMScript run as PowerCLI makes it. */
const invokeVmScript = (rnd: Rng): string[] => [
  "CreateTemporaryFileInGuest",
  "InitiateFileTransferToGuest",
  "StartProgramInGuest",
  ...Array.from({ length: rnd.int(1, 4) }, () => "ListProcessesInGuest"),
  "InitiateFileTransferFromGuest",
  "DeleteFileInGuest",
];

const ps1 = (rnd: Rng) => ({
  to: `C:\\Users\\Administrator\\AppData\\Local\\Temp\\powerclivmware${rnd.int(100, 999)}.ps1`,
  from: `C:\\Users\\Administrator\\AppData\\Local\\Temp\\powerclivmware${rnd.int(100, 999)}`,
});

/** Days on which each switchable scenario happens (deterministic for the period). */
export interface Plan {
  readonly unc3886: number;
  readonly vaultExfil: number;
  readonly fanout: number;
  readonly spray: number;
  readonly slowFrom: number;
  readonly approved: number;
  readonly unapproved: number;
  readonly dr: number;
  /** The syslog host that stops forwarding, and the day. */
  readonly gap?: {
    readonly host: Host;
    readonly day: number;
    readonly from: number;
    readonly to: number;
  };
}

/**
 * `history`: days of benign life only at the start (learning history for `evaluate
 * --learn-until`); the switchable scenarios and the DR test fall in the days after it, at the
 * same relative places as in a period without history.
 */
export function makePlan(fleet: Fleet, history = 0): Plan {
  const days = fleet.dayStarts.length - 1;
  const from = Math.max(0, Math.min(history, days - 1));
  const span = days - from;
  const at = (share: number): number => from + Math.floor(span * share);
  const find = (from: number, ok: (weekday: number, holiday: boolean) => boolean): number => {
    for (let d = Math.max(0, Math.min(from, days - 1)); d < days; d++) {
      const i = dayInfo(fleet, d);
      if (ok(i.weekday, i.holiday)) return d;
    }
    return Math.max(0, Math.min(from, days - 1));
  };
  const workday = (w: number, h: boolean) => w <= 5 && !h;
  const weekend = (w: number) => w >= 6;
  const unc3886 = find(at(0.5), weekend);
  const vaultExfil = find(at(1 / 3), workday);
  const fanout = find(at(0.4), (w, h) => workday(w, h) && w !== 2);
  const spray = find(at(0.7), workday);
  const slowFrom = at(0.15);
  const approved = find(at(0.25), (w, h) => workday(w, h) && w !== 2);
  const unapproved = find(at(0.55), (w, h) => workday(w, h) && w !== 2);
  const dr = find(at(0.8), weekend);
  const syslogHost = fleet.hosts.find((h) => h.forwarding === "syslog");
  const gapDay = Math.max(0, Math.floor(days / 2) - 1);
  const gi = dayInfo(fleet, gapDay);
  return {
    unc3886,
    vaultExfil,
    fanout,
    spray,
    slowFrom,
    approved,
    unapproved,
    dr,
    ...(syslogHost
      ? { gap: { host: syslogHost, day: gapDay, from: gi.at(9), to: gi.at(15) } }
      : {}),
  };
}

/** Every run of day `day`, in no particular order. */
export function runsOfDay(
  fleet: Fleet,
  plan: Plan,
  day: number,
  enabled: ReadonlySet<string>,
  rnd: Rng,
): Run[] {
  const info = dayInfo(fleet, day);
  // attacks draw from their own generator: switching one off leaves the benign life unchanged
  const atk = rnd.fork();
  const runs: Run[] = [];
  const live = fleet.vms.filter((vm) => exists(vm, day));
  const ordinary = live.filter((vm) => !vm.critical);
  const acc = fleet.accounts;
  const run = (r: Omit<Run, "host" | "day">): void => {
    runs.push({ ...r, host: hostOn(r.vm, day), day });
  };
  const workday = info.weekday <= 5 && !info.holiday;

  // Admins, business hours.
  if (workday && ordinary.length) {
    for (const admin of acc.admins) {
      const n = rnd.int(1, 3 + Math.floor(live.length / 100));
      for (let i = 0; i < n; i++) {
        run({
          scenario: "admin-scripts",
          account: admin,
          via: "vcenter",
          vm: rnd.pick(ordinary),
          start: info.at(8, 30) + rnd.next() * (info.at(17, 30) - info.at(8, 30)),
          calls: invokeVmScript(rnd),
          paths: ps1(rnd),
        });
      }
    }
  }

  // The nightly backup: jobs of 40 VMs, each job one VM after another from 01:00.
  for (let j = 0; j * 40 < live.length; j++) {
    let t = info.at(1) + j * 7_000;
    for (const vm of live.slice(j * 40, j * 40 + 40)) {
      run({
        scenario: "backup",
        account: acc.backup,
        via: "vcenter",
        vm,
        start: t,
        calls: [
          "InitiateFileTransferToGuest",
          "StartProgramInGuest",
          ...Array.from({ length: rnd.int(2, 5) }, () => "ListProcessesInGuest"),
          "InitiateFileTransferFromGuest",
          "DeleteFileInGuest",
        ],
        paths: {
          to: "C:\\Windows\\Temp\\BackupGuestHelper\\GuestHelper.exe",
          from: "C:\\Windows\\Temp\\BackupGuestHelper\\GuestHelper.log",
        },
      });
      t += 150_000 + rnd.next() * 120_000;
    }
  }

  // Monitoring collector, every four hours, on the monitored roles.
  const monitored = live.filter((vm) => vm.role === "app" || vm.role === "db" || vm.role === "sql");
  for (let h = 2; h < 24; h += 4) {
    let t = info.at(h, 5);
    for (const vm of monitored) {
      run({
        scenario: "monitoring",
        account: acc.monitor,
        via: "vcenter",
        vm,
        start: t,
        calls: ["ListProcessesInGuest"],
      });
      t += 2_000 + rnd.next() * 2_000;
    }
  }

  // Tuesday evening patching by dave, inside the weekly patch window.
  if (info.weekday === 2 && !info.holiday) {
    const patched = ordinary.filter((vm) => vm.role === "web" || vm.role === "app");
    let t = info.at(19, 10);
    for (const vm of patched.filter(() => rnd.chance(0.3))) {
      run({
        scenario: "patch-window",
        account: acc.admins[3] ?? acc.backup,
        via: "vcenter",
        vm,
        start: t,
        calls: invokeVmScript(rnd),
        paths: ps1(rnd),
      });
      t += 60_000 + rnd.next() * 240_000;
    }
  }

  // The DR test: a fast-polling check on many VMs, inside its change window.
  if (day === plan.dr) {
    let t = info.at(9);
    for (const vm of live.slice(0, 40)) {
      run({
        scenario: "dr-test",
        account: acc.dr,
        via: "vcenter",
        vm,
        start: t,
        calls: ["StartProgramInGuest", ...Array.from({ length: 34 }, () => "ListProcessesInGuest")],
        pollMs: 500,
      });
      t += 45_000;
    }
  }

  const critical = live.filter((vm) => vm.critical);
  const dc = critical.find((vm) => vm.role === "dc");
  const vault = critical.find((vm) => vm.role === "vault");

  if (enabled.has("unc3886") && day === plan.unc3886 && dc) {
    run({
      scenario: "unc3886",
      account: acc.stolenVpxuser,
      via: "direct",
      vm: dc,
      start: info.at(2, 10),
      calls: [
        "CreateTemporaryFileInGuest",
        "InitiateFileTransferToGuest",
        "StartProgramInGuest",
        "InitiateFileTransferFromGuest",
        "DeleteFileInGuest",
      ],
      paths: { to: "C:\\Windows\\Temp\\c.bat", from: "C:\\Windows\\Temp\\ntds.zip" },
    });
  }
  if (enabled.has("vault-exfil") && day === plan.vaultExfil && vault) {
    run({
      scenario: "vault-exfil",
      account: acc.admins[2] ?? acc.backup,
      via: "vcenter",
      vm: vault,
      start: info.at(14, 20),
      calls: [
        "StartProgramInGuest",
        "InitiateFileTransferFromGuest",
        "InitiateFileTransferFromGuest",
        "InitiateFileTransferFromGuest",
        "DeleteFileInGuest",
      ],
      paths: { to: "C:\\Windows\\Temp\\x.ps1", from: "D:\\Vault\\export.7z" },
    });
  }
  if (enabled.has("new-account-fanout") && day === plan.fanout && ordinary.length) {
    let t = info.at(10, 5);
    const targets = ordinary
      .filter((_, i) => i % Math.max(1, Math.floor(ordinary.length / 12)) === 0)
      .slice(0, 12);
    for (const vm of targets) {
      run({
        scenario: "new-account-fanout",
        account: acc.newcomer,
        via: "vcenter",
        vm,
        start: t,
        calls: [
          "InitiateFileTransferToGuest",
          "StartProgramInGuest",
          "ListProcessesInGuest",
          "DeleteFileInGuest",
        ],
        paths: { to: "C:\\ProgramData\\agent.exe", from: "C:\\ProgramData\\agent.log" },
      });
      t += 40_000 + atk.next() * 50_000;
    }
  }
  if (enabled.has("credential-spray") && day === plan.spray && ordinary.length) {
    let t = info.at(11, 30);
    for (const vm of ordinary.slice(0, 6)) {
      run({
        scenario: "credential-spray",
        account: acc.admins[3] ?? acc.backup,
        via: "vcenter",
        vm,
        start: t,
        calls: Array.from({ length: 8 }, () => "StartProgramInGuest"),
        failedAuth: true,
        pollMs: 5_000,
      });
      t += 60_000;
    }
  }
  if (
    enabled.has("low-slow-discovery") &&
    day >= plan.slowFrom &&
    day < plan.slowFrom + 7 &&
    workday &&
    ordinary.length
  ) {
    for (let i = 0; i < 3; i++) {
      run({
        scenario: "low-slow-discovery",
        account: acc.admins[1] ?? acc.backup,
        via: "vcenter",
        vm: atk.pick(ordinary),
        start: info.at(9) + atk.next() * (info.at(17) - info.at(9)),
        calls: ["ListProcessesInGuest", "ListFilesInGuest"],
      });
    }
  }
  // an admin's evening work on a few VMs of one role, ten minutes apart (the window decides)
  const afterHours = (scenario: string, start: number, role: string, count: number): void => {
    let t = start;
    for (const vm of ordinary.filter((v) => v.role === role).slice(0, count)) {
      run({
        scenario,
        account: acc.admins[0] ?? acc.backup,
        via: "vcenter",
        vm,
        start: t,
        calls: invokeVmScript(atk),
        paths: ps1(atk),
      });
      t += 600_000;
    }
  };
  if (enabled.has("after-hours-approved") && day === plan.approved) {
    afterHours("after-hours-approved", info.at(21), "app", 3);
  }
  if (enabled.has("after-hours-unapproved") && day === plan.unapproved) {
    afterHours("after-hours-unapproved", info.at(22, 30), "web", 2);
  }
  return runs.sort((a, b) => a.start - b.start || a.vm.index - b.vm.index);
}
