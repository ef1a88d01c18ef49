/**
 * The simulated estate: one vCenter, ESXi 7.x and 8.x hosts (each logging locally or forwarding
 * over syslog), VMs with their life (created, removed, moved), the accounts that use guest
 * operations, and the site calendar (zone, business days, a holiday). Built from the options and
 * the seed alone.
 */
import { DateTime } from "luxon";
import type { Rng } from "./random.js";

export interface Host {
  readonly index: number;
  readonly fqdn: string;
  readonly short: string;
  readonly version: 7 | 8;
  /** `local`: hostd.log collected from the host; `syslog`: forwarded to the receiver. */
  readonly forwarding: "local" | "syslog";
  readonly pid: number;
  /** Clock offset from true time, ms. */
  readonly skew: number;
  /** Next hostd event key (each host has its own range). */
  eventKey: number;
}

export interface Vm {
  readonly index: number;
  readonly name: string;
  readonly role: string;
  /** Critical tier (domain controllers, the vault). */
  readonly critical: boolean;
  readonly moref: string;
  /** Host before `movedOnDay` (and after it when the VM never moves). */
  readonly home: Host;
  /** Host after the move. */
  readonly movedTo?: Host;
  readonly movedOnDay?: number;
  /** Day the VM appears (0 when present from the start). */
  readonly createdOnDay: number;
  /** Day the VM is removed (absent: never). */
  readonly removedOnDay?: number;
  /** Datastore path of its directory, under the home host's volumes. */
  readonly datastore: string;
  seq: number;
}

export interface Account {
  /** As written by vCenter (`CORP\alice`), or a host-local account (`root`, `vpxuser`). */
  readonly name: string;
  readonly ip: string;
  readonly agent: string;
}

export interface Fleet {
  readonly vcenter: string;
  readonly vcenterIp: string;
  readonly datacenter: string;
  readonly zone: string;
  /** Local midnight of each simulated day, epoch ms (one more entry: the end of the period). */
  readonly dayStarts: readonly number[];
  readonly hosts: readonly Host[];
  readonly vms: readonly Vm[];
  /** Local date of the site holiday (`YYYY-MM-DD`), a weekday inside the period. */
  readonly holiday?: string;
  readonly accounts: {
    readonly admins: readonly Account[];
    readonly backup: Account;
    readonly monitor: Account;
    readonly dr: Account;
    readonly newcomer: Account;
    readonly stolenVpxuser: Account;
  };
}

export interface FleetOptions {
  readonly hosts: number;
  readonly vms: number;
  readonly days: number;
  /** Local date of the first day (`YYYY-MM-DD`). */
  readonly start: string;
  readonly tz: string;
}

const ROLES = ["web", "app", "db", "file", "build", "sql", "print"];

export function buildFleet(options: FleetOptions, rnd: Rng): Fleet {
  const first = DateTime.fromISO(options.start, { zone: options.tz }).startOf("day");
  const dayStarts = Array.from({ length: options.days + 1 }, (_, d) =>
    first.plus({ days: d }).toMillis(),
  );
  const hosts: Host[] = Array.from({ length: options.hosts }, (_, i) => {
    const short = `esx${String(i + 1).padStart(2, "0")}`;
    return {
      index: i,
      fqdn: `${short}.corp.example`,
      short,
      version: i % 2 === 0 ? 8 : 7,
      forwarding: i % 4 < 2 ? "local" : "syslog",
      pid: i % 2 === 0 ? 2_099_000 + rnd.int(0, 900) : 1_053_000 + rnd.int(0, 900),
      skew: rnd.int(-1500, 1500),
      eventKey: (i + 1) * 1_000_000 + rnd.int(100, 900),
    };
  });
  const vms: Vm[] = [];
  const counts = new Map<string, number>();
  for (let i = 0; i < options.vms; i++) {
    const role =
      i === 0
        ? "dc"
        : i === 1
          ? "vault"
          : i === 2 && options.vms > 10
            ? "dc"
            : (ROLES[i % ROLES.length] ?? "app");
    const n = (counts.get(role) ?? 0) + 1;
    counts.set(role, n);
    const home = hosts[i % hosts.length] as Host;
    const special = role === "dc" || role === "vault";
    const life = special || options.days < 4 ? 1 : rnd.next();
    const moved = life < 0.04 && hosts.length > 1;
    const created = life >= 0.04 && life < 0.07;
    const removed = life >= 0.07 && life < 0.1;
    const lifeDay = 1 + Math.floor(rnd.next() * (options.days - 2));
    vms.push({
      index: i,
      name: `${role}-${String(n).padStart(2, "0")}`,
      role,
      critical: special,
      moref: `vm-${1000 + i}`,
      home,
      ...(moved
        ? { movedTo: hosts[(home.index + 1) % hosts.length] as Host, movedOnDay: lifeDay }
        : {}),
      createdOnDay: created ? lifeDay : 0,
      ...(removed ? { removedOnDay: lifeDay } : {}),
      datastore: `/vmfs/volumes/ds-${home.short}-01/${role}-${String(n).padStart(2, "0")}`,
      seq: rnd.int(1000, 90_000),
    });
  }
  let holiday: string | undefined;
  for (let d = 3; d < options.days - 1; d++) {
    const day = first.plus({ days: d });
    if (day.weekday <= 5) {
      holiday = day.toISODate() ?? undefined;
      break;
    }
  }
  return {
    vcenter: "vc01.corp.example",
    vcenterIp: "10.0.0.10",
    datacenter: "DC1",
    zone: options.tz,
    dayStarts,
    hosts,
    vms,
    ...(holiday !== undefined ? { holiday } : {}),
    accounts: {
      admins: [
        { name: "CORP\\alice", ip: "10.0.10.21", agent: "PowerCLI/13.2.1.22851661" },
        { name: "CORP\\bob", ip: "10.0.10.33", agent: "PowerCLI/13.3.0.24145081" },
        { name: "CORP\\carol", ip: "10.0.10.40", agent: "PowerCLI/13.2.1.22851661" },
        { name: "CORP\\dave", ip: "10.0.10.45", agent: "govc/0.37.3" },
      ],
      backup: { name: "CORP\\svc-backup", ip: "10.0.20.50", agent: "VMware vim-java 1.0" },
      monitor: {
        name: "CORP\\svc-monitor",
        ip: "10.0.30.15",
        agent: "pyvmomi Python/3.11.4 (Linux; 5.15; x86_64)",
      },
      dr: { name: "CORP\\svc-srm", ip: "10.0.40.5", agent: "VMware vim-java 1.0" },
      newcomer: { name: "CORP\\svc-deploy", ip: "10.0.10.77", agent: "PowerCLI/13.3.0.24145081" },
      stolenVpxuser: {
        name: "vpxuser",
        ip: "10.0.99.50",
        agent: "pyvmomi Python/3.11.6 (Linux; 6.1.0-18-amd64; x86_64)",
      },
    },
  };
}

/** The host a VM runs on during day `day`. */
export const hostOn = (vm: Vm, day: number): Host =>
  vm.movedTo !== undefined && vm.movedOnDay !== undefined && day >= vm.movedOnDay
    ? vm.movedTo
    : vm.home;

/** The VM exists during day `day`. */
export const exists = (vm: Vm, day: number): boolean =>
  day >= vm.createdOnDay && (vm.removedOnDay === undefined || day < vm.removedOnDay);

/** Local calendar facts of day `day`. */
export function dayInfo(
  fleet: Fleet,
  day: number,
): { weekday: number; date: string; holiday: boolean; at: (hh: number, mm?: number) => number } {
  const start = DateTime.fromMillis(fleet.dayStarts[day] ?? 0, { zone: fleet.zone });
  const date = start.toISODate() ?? "";
  return {
    weekday: start.weekday,
    date,
    holiday: date === fleet.holiday,
    // local wall time of that day (luxon resolves DST gaps forward)
    at: (hh, mm = 0) => start.set({ hour: hh, minute: mm }).toMillis(),
  };
}
