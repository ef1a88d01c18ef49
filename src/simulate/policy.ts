/** The site policy of the simulated estate: what its benign life is allowed to do (docs/policy.md). */
import { DateTime } from "luxon";
import { dayInfo, type Fleet } from "./fleet.js";
import type { Plan } from "./scenarios.js";

const local = (fleet: Fleet, ms: number): string =>
  DateTime.fromMillis(ms, { zone: fleet.zone }).toFormat("yyyy-LL-dd'T'HH:mm");

export function policyYaml(fleet: Fleet, plan: Plan, enabled: ReadonlySet<string>): string {
  const a = fleet.accounts;
  const approved = dayInfo(fleet, plan.approved);
  const dr = dayInfo(fleet, plan.dr);
  const windows = [
    `  - ref: CHG-PATCH-TUESDAY
    description: Weekly patching of the web and application servers
    accounts: ['${a.admins[3]?.name ?? ""}']
    vms: ["web-*", "app-*"]
    weekly:
      - { days: tue, start: "19:00", end: "23:59" }`,
    `  - ref: CHG-DR-TEST
    description: Disaster-recovery test
    accounts: ['${a.dr.name}']
    start: ${local(fleet, dr.at(8, 30))}
    end: ${local(fleet, dr.at(13))}`,
  ];
  if (enabled.has("after-hours-approved")) {
    windows.push(`  - ref: CHG-APP-UPGRADE
    description: Application upgrade after hours
    accounts: ['${a.admins[0]?.name ?? ""}']
    vms: ["app-*"]
    start: ${local(fleet, approved.at(20, 30))}
    end: ${local(fleet, approved.at(23, 30))}`);
  }
  return `# Site policy of the simulated estate (guestops simulate; docs/policy.md, docs/evaluation.md).
version: 1

domains:
  - [CORP, corp.example]

sites:
  - name: sim
    zone: ${fleet.zone}
    default: true
    vcenters: [vc01, ${fleet.vcenter}]
    hosts: ["esx*.corp.example"]
    businessHours:
      - { days: mon-fri, start: "08:00", end: "18:00" }
${fleet.holiday !== undefined ? `    holidays:\n      - { date: "${fleet.holiday}", name: Site holiday }\n` : ""}
schedules:
  - name: backup-night
    spans:
      - { days: daily, start: "00:30", end: "07:00" }
  - name: windows-only
    spans: []

accounts:
${a.admins.map((p) => `  - name: '${p.name}'\n    role: admin`).join("\n")}
  - name: '${a.backup.name}'
    role: backup
    vms: ["*"]
    tiers: [critical]
    methods: [execute, query, modify, InitiateFileTransferFromGuest]
    allowedHours: backup-night
    sources: [${a.backup.ip}]
  - name: '${a.monitor.name}'
    role: monitoring
    methods: [ListProcessesInGuest]
    sources: [10.0.30.0/24]
  - name: '${a.dr.name}'
    role: automation
    vms: ["*"]
    tiers: [critical]
    allowedHours: windows-only
    sources: [${a.dr.ip}]

tiers:
  - name: critical
    description: Domain controllers and the vault
    vms: ["dc-*", "vault-*"]

vcenterAddresses: [${fleet.vcenterIp}]

windows:
${windows.join("\n")}

rules:
  auth-failure-burst:
    threshold: 5
    window: 10m
`;
}
