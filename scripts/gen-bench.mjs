// Generates a synthetic ESXi 8 hostd.log for `npm run bench` (fixed seed: the same bytes every time).
//
//   node scripts/gen-bench.mjs OUT_FILE [SIZE_MB] [SEED]     (default 1024 MB, the fixed seed below;
//                                                            `npm run bench` gives seeds 1-4 to its
//                                                            four files read at once)
//
// The mix is modelled on real ESXi 8.0 hostd.log: Originator blocks with opIDs, session ids, users and
// sub-loggers; task, property-collector, adapter, vmsvc and socket noise; multi-line `[+]` dumps with
// `-->` continuations; a few logins/logouts; and exactly 1 guest-operation event line per 1000 lines
// (`Event N : Guest operation <Label> performed on Virtual machine <vm>.`), some followed by the
// GuestFileHandler path line. It prints the line counts as JSON on stdout.
import { closeSync, openSync, writeSync } from "node:fs";

const SEED =
  process.argv[4] === undefined ? 0x5eed1675 : (0x5eed1675 ^ Number(process.argv[4])) >>> 0;
const out = process.argv[2];
const sizeMb = Number(process.argv[3] ?? 1024);
if (!out || !Number.isFinite(sizeMb) || sizeMb <= 0) {
  console.error("usage: node scripts/gen-bench.mjs OUT_FILE [SIZE_MB]");
  process.exit(2);
}
const targetBytes = Math.round(sizeMb * 1024 * 1024);

// mulberry32: small, fast, good enough for test data.
let state = SEED >>> 0;
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rand() * n);
const pick = (arr) => arr[int(arr.length)];
const hex = (n) => {
  let s = "";
  for (let i = 0; i < n; i++) s += "0123456789abcdef"[int(16)];
  return s;
};

const VMS = [
  "web-01",
  "web-02",
  "db-primary",
  "db-replica",
  "jump-host",
  "build-agent-7",
  "dc01.corp.example",
  "Kali Linux - Foobar",
  "vCLS-7c1e2b3a-9d2f-4a6b-8e1f-0a1b2c3d4e5f",
  "file-server (old)",
  "sql-prod-ünïcode",
  "monitoring",
];
const DATASTORES = ["5f4d2a1e-8c2b3d4e-1a2b-001b21c3d4e5", "64a1b2c3-d4e5f607-8a9b-0050569a1b2c"];
const USERS = [
  "root",
  "vpxuser:VSPHERE.LOCAL\\Administrator",
  "vpxuser:<no user>",
  "vpxuser:VSPHERE.LOCAL\\vpxd-extension-6c2c8a60-3b3f-4c7f-a1d4-0f3e6a2b9c11",
  "dcui",
  "vpxuser:CORP\\svc-backup",
];
const IPS = ["192.168.127.10", "192.168.127.13", "10.20.30.40", "10.0.0.5", "172.16.8.21"];
const AGENTS = [
  "PowerCLI/13.2.1.22851661",
  "pyvmomi Python/3.11.4 (Linux; 5.15.0; x86_64)",
  "govc/0.37.3",
  "VMware-client/6.5.0",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",
];
const GUEST_LABELS = [
  "Start Program",
  "Start Program",
  "Start Program",
  "Initiate File Transfer From Guest",
  "Initiate File Transfer To Guest",
  "Create Temporary File",
  "Delete File",
];
const METHODS = [
  "vim.PropertyCollector.waitForUpdatesEx",
  "vim.HostSystem.retrieveInternalCapability",
  "vim.VirtualMachine.reconfigure",
  "vim.PerformanceManager.queryStats",
  "vim.host.DatastoreBrowser.search",
  "vim.SessionManager.sessionIsActive",
  "vim.VirtualMachine.createSnapshot",
];
const TARGETS = [
  "vim.HostSystem:ha-host",
  "vmodl.query.PropertyCollector:ha-property-collector",
  "vim.PerformanceManager:ha-perfmgr",
  "vim.SessionManager:ha-sessionmgr",
  "vim.VirtualMachine:12",
];

let clock = Date.parse("2024-06-03T00:00:00.000Z");
let eventKey = 1000;
let taskKey = 50000;
const pids = [1050230, 1050232, 1050233, 1050237, 1050265, 1050740, 1050748, 1050754];
const sessions = Array.from(
  { length: 16 },
  () => `52${hex(6)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`,
);

const ts = () => {
  clock += int(40);
  return new Date(clock).toISOString();
};
const opid = () =>
  pick([
    () => `${hex(8)}`,
    () => `esxui-${hex(4)}-${hex(4)}`,
    () => `${hex(8).toUpperCase()}-${hex(8).toUpperCase()}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(4)}`,
    () => `sps-Main-${int(999999)}-${int(99)}-${hex(2)}-${hex(2)}-${hex(4)}`,
  ])();
const ctx = () => {
  const sid = pick(sessions);
  return `opID=${opid()} sid=${sid.slice(0, 8)} user=${pick(USERS)}`;
};
const head = (lvl, cont = false) => `${ts()} ${lvl}${cont ? "[+]" : ""} Hostd[${pick(pids)}]: `;
const vmx = () => {
  const vm = pick(VMS);
  return `/vmfs/volumes/${pick(DATASTORES)}/${vm}/${vm}.vmx`;
};

// Ordinary lines, with relative weights.
const NOISE = [
  [
    30,
    () =>
      `${head("Db(167)")}[Originator@6876 sub=AdapterServer ${ctx()}] New request: target='${pick(TARGETS)}', method='${pick(METHODS).split(".").pop()}', session='${pick(sessions)}'`,
  ],
  [
    20,
    () =>
      `${head("In(166)")}[Originator@6876 sub=PropertyProvider ${ctx()}] RecordOp ASSIGN: info, haTask-${int(100)}-${pick(METHODS)}-${taskKey}. Applied change to temp map.`,
  ],
  [
    12,
    () =>
      `${head("In(166)")}[Originator@6876 sub=Vimsvc.TaskManager ${ctx()}] Task Created : haTask-${int(100)}-${pick(METHODS)}-${++taskKey}`,
  ],
  [
    12,
    () =>
      `${head("In(166)")}[Originator@6876 sub=Vimsvc.TaskManager ${ctx()}] Task Completed : haTask-${int(100)}-${pick(METHODS)}-${taskKey} Status success`,
  ],
  [
    10,
    () =>
      `${head("Db(167)")}[Originator@6876 sub=Solo.Vmomi ${ctx()}] Activation finished; <<${pick(sessions)}, <TCP '127.0.0.1 : 8307'>, <TCP '127.0.0.1 : ${30000 + int(30000)}'>>, ha-host, ${pick(METHODS)}>`,
  ],
  [
    8,
    () =>
      `${head("In(166)")}[Originator@6876 sub=Vmsvc.vm:${vmx()} ${ctx()}] Send config update invoked`,
  ],
  [
    6,
    () =>
      `${head("Wa(164)")}[Originator@6876 sub=Libs] SOCKET ${int(200)} (${int(100)}) recv detected client closed connection`,
  ],
  [
    5,
    () =>
      `${head("In(166)")}[Originator@6876 sub=Hostsvc.VsanSystemProvider] Complete, nodeCount: 1, runtime info: (vim.vsan.host.VsanRuntimeInfo) { accessGenno = ${int(999)} }`,
  ],
  [
    4,
    () =>
      `${head("In(166)")}[Originator@6876 sub=Vimsvc.ha-eventmgr ${ctx()}] Event ${++eventKey} : Reconfigured ${pick(VMS)} on esx-01.example.invalid in ha-datacenter.`,
  ],
  [
    3,
    () =>
      `${head("Er(163)")}[Originator@6876 sub=Hostsvc.NetworkProvider] Failed to get IP config for vmk${int(4)}: vim.fault.NotFound`,
  ],
];
const TOTAL_WEIGHT = NOISE.reduce((a, [w]) => a + w, 0);
const noise = () => {
  let r = int(TOTAL_WEIGHT);
  for (const [w, f] of NOISE) {
    if (r < w) return f();
    r -= w;
  }
  return NOISE[0][1]();
};

// A multi-line `[+]` dump: header line, 3-6 continuation lines.
const dump = () => {
  const lines = [
    `${head("Db(167)")}[Originator@6876 sub=Solo.Vmomi ${ctx()}] Result:`,
    `${head("Db(167)", true)}--> (vim.TaskInfo) {`,
  ];
  const n = 2 + int(4);
  for (let i = 0; i < n; i++) {
    lines.push(
      `${head("Db(167)", true)}-->    key = "haTask-${int(100)}-${pick(METHODS)}-${int(99999)}",`,
    );
  }
  lines.push(`${head("Db(167)", true)}--> }`);
  return lines;
};

const fd = openSync(out, "w");
const BUF_SIZE = 4 * 1024 * 1024;
let buf = "";
let bytes = 0;
let lines = 0;
let guestLines = 0;
let sessionLines = 0;
const push = (line) => {
  buf += line + "\n";
  lines++;
  if (buf.length >= BUF_SIZE) flush();
};
const flush = () => {
  bytes += writeSync(fd, buf);
  buf = "";
};

while (bytes + buf.length < targetBytes) {
  // One block of 1000 lines holds exactly one guest-operation event line.
  const guestAt = int(1000);
  let inBlock = 0;
  while (inBlock < 1000) {
    if (inBlock === guestAt) {
      const label = pick(GUEST_LABELS);
      push(
        `${head("In(166)")}[Originator@6876 sub=Vimsvc.ha-eventmgr] Event ${++eventKey} : Guest operation ${label} performed on Virtual machine ${pick(VMS)}.`,
      );
      guestLines++;
      inBlock++;
      continue;
    }
    const r = rand();
    if (r < 0.0004) {
      push(
        `${head("In(166)")}[Originator@6876 sub=Vimsvc.ha-eventmgr ${ctx()}] Event ${++eventKey} : User root@${pick(IPS)} logged in as ${pick(AGENTS)}`,
      );
      sessionLines++;
      inBlock++;
    } else if (r < 0.0008) {
      push(
        `${head("In(166)")}[Originator@6876 sub=Vimsvc.ha-eventmgr ${ctx()}] Event ${++eventKey} : User root@${pick(IPS)} logged out (login time: Monday, 03 June, 2024 19:58:26 PM, number of API invocations: ${int(500)}, user agent: ${pick(AGENTS)})`,
      );
      sessionLines++;
      inBlock++;
    } else if (r < 0.0023 && inBlock + 8 <= 1000 && (guestAt < inBlock || guestAt >= inBlock + 8)) {
      const d = dump();
      for (const l of d) push(l);
      inBlock += d.length;
    } else {
      push(noise());
      inBlock++;
    }
  }
}
flush();
closeSync(fd);
process.stdout.write(
  `${JSON.stringify({ file: out, bytes, lines, guestOperationLines: guestLines, sessionLines })}\n`,
);
