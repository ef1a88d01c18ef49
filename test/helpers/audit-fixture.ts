/**
 * A small vCenter estate for the report's tests, written as an EventEx export (one event per guest
 * operation, each naming its user, host and VM) with its policy, and the figures the report must
 * state, computed here from the event list alone (not through guestops).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export const HOSTILE_VM = "<img src=x onerror=alert(1)>";
export const HOSTILE_ACCOUNT = "=cmd|' /c calc'!A1";
/** A VM name carrying a terminal escape sequence (clear screen) and a bidi override. */
export const TERMINAL_VM = "evil\u001b[2J\u202eexe.vm";

export interface FixtureEvent {
  readonly time: string;
  /** Empty: the event names no user (the operation cannot be attributed). */
  readonly user: string;
  readonly host: string;
  readonly vm: string;
  readonly label: string;
}

const EVENTS: readonly FixtureEvent[] = (() => {
  const out: FixtureEvent[] = [];
  // Monday 2026-03-02 .. Sunday 2026-03-08, UTC site: business hours Mon–Fri 08:00–18:00
  const plan: [string, string, string, string, string][] = [
    ["2026-03-02T09:10:00Z", "VSPHERE.LOCAL\\alice", "esx01.lab.example", "web01", "Start Program"],
    [
      "2026-03-02T09:12:00Z",
      "VSPHERE.LOCAL\\alice",
      "esx01.lab.example",
      "web01",
      "List Processes",
    ],
    ["2026-03-02T14:00:00Z", "VSPHERE.LOCAL\\alice", "esx01.lab.example", "db01", "List Processes"],
    ["2026-03-03T02:00:00Z", "CORP\\svc-backup", "esx02.lab.example", "db01", "Start Program"],
    [
      "2026-03-03T02:05:00Z",
      "CORP\\svc-backup",
      "esx02.lab.example",
      "db01",
      "Initiate File Transfer From Guest",
    ],
    ["2026-03-04T02:00:00Z", "CORP\\svc-backup", "esx02.lab.example", "web01", "Start Program"],
    ["2026-03-05T11:30:00Z", "VSPHERE.LOCAL\\alice", "esx01.lab.example", "app01", "Delete File"],
    ["2026-03-07T03:14:00Z", HOSTILE_ACCOUNT, "esx02.lab.example", HOSTILE_VM, "Start Program"],
    [
      "2026-03-07T03:15:00Z",
      HOSTILE_ACCOUNT,
      "esx02.lab.example",
      HOSTILE_VM,
      "Initiate File Transfer From Guest",
    ],
    ["2026-03-07T03:20:00Z", HOSTILE_ACCOUNT, "esx02.lab.example", "db02", "Start Program"],
    ["2026-03-08T22:40:00Z", "", "esx01.lab.example", TERMINAL_VM, "List Processes"],
  ];
  for (const [time, user, host, vm, label] of plan) out.push({ time, user, host, vm, label });
  return out;
})();

export const POLICY = `version: 1
sites:
  - name: lab
    zone: UTC
    vcenters: ["*"]
accounts:
  - name: VSPHERE.LOCAL\\alice
    role: admin
  - name: CORP\\svc-backup
    role: backup
tiers:
  - name: critical
    vms: ["db*"]
coverage:
  retention: 30d
`;

/** What the report must say, from the event list alone. */
export interface Expected {
  readonly operations: number;
  readonly principals: number;
  readonly vms: number;
  readonly afterHours: number;
  readonly critical: number;
  readonly attributed: number;
  /** Days from the first to the last event's date, both included. */
  readonly days: number;
  readonly firstEvidence: string;
}

export function expectedFigures(events: readonly FixtureEvent[] = EVENTS): Expected {
  const business = (iso: string): boolean => {
    const d = new Date(iso);
    const day = d.getUTCDay(); // 0 Sunday
    const minutes = d.getUTCHours() * 60 + d.getUTCMinutes();
    return day >= 1 && day <= 5 && minutes >= 8 * 60 && minutes < 18 * 60;
  };
  const dates = events.map((e) => e.time.slice(0, 10)).sort();
  const span = (Date.parse(dates.at(-1)!) - Date.parse(dates[0]!)) / 86_400_000 + 1;
  return {
    operations: events.length,
    principals: new Set(events.filter((e) => e.user !== "").map((e) => e.user.toLowerCase())).size,
    vms: new Set(events.map((e) => e.vm)).size,
    afterHours: events.filter((e) => !business(e.time)).length,
    critical: events.filter((e) => /^db/i.test(e.vm)).length,
    attributed: events.filter((e) => e.user !== "").length,
    days: span,
    firstEvidence: [...events.map((e) => e.time)].sort()[0]!,
  };
}

function eventEx(e: FixtureEvent, key: number): object {
  return {
    _typeName: "EventEx",
    key,
    chainId: key,
    createdTime: e.time,
    userName: e.user,
    host: { _typeName: "HostEventArgument", name: e.host },
    vm: {
      _typeName: "VmEventArgument",
      name: e.vm,
      vm: { _typeName: "ManagedObjectReference", type: "VirtualMachine", value: `vm-${key}` },
    },
    fullFormattedMessage: `Guest operation ${e.label} performed on Virtual machine ${e.vm}.`,
    eventTypeId: "com.vmware.vc.guestOperations.GuestOperation",
    severity: "info",
    arguments: [
      {
        _typeName: "KeyAnyValue",
        key: "operationName",
        value: { _typeName: "string", _value: e.label },
      },
    ],
    objectType: "VirtualMachine",
    objectName: e.vm,
  };
}

/** Writes `vc01-events.json` and `policy.yaml` into `dir`; returns their paths. */
export function writeAuditFixture(dir: string): { events: string; policy: string } {
  const events = join(dir, "vc01-events.json");
  const policy = join(dir, "policy.yaml");
  writeFileSync(
    events,
    JSON.stringify(
      EVENTS.map((e, i) => eventEx(e, 5000 + i)),
      null,
      1,
    ),
  );
  writeFileSync(policy, POLICY);
  return { events, policy };
}
