// Generates an estate for the store's tests and `scripts/bench-store.mjs`: FILES syslog files of ESXi
// hosts, dense in guest operations (hostd events, a login every 50 lines), seeded (same arguments,
// same bytes). Prints the paths written, one a line.
//
//   node scripts/gen-estate.mjs OUT_DIR FILES OPS_PER_FILE [SEED]
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, filesArg, opsArg, seedArg] = process.argv.slice(2);
const files = Number(filesArg);
const opsPerFile = Number(opsArg);
if (!dir || !(files > 0) || !(opsPerFile > 0)) {
  console.error("usage: node scripts/gen-estate.mjs OUT_DIR FILES OPS_PER_FILE [SEED]");
  process.exit(2);
}
let state = Number(seedArg ?? 1675) >>> 0;
// mulberry32, as test/helpers/random.ts
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rand() * n);
const LABELS = [
  "Start Program",
  "Create Temporary File",
  "List Processes",
  "Initiate File Transfer From Guest",
  "List Files",
  "Delete File",
];
mkdirSync(dir, { recursive: true });
let t = Date.parse("2026-03-01T00:00:00.000Z");
let event = 1000;
for (let f = 0; f < files; f++) {
  const host = `esx${String(f + 1).padStart(2, "0")}.corp.example`;
  const lines = [];
  for (let i = 0; i < opsPerFile; i++) {
    t += 1 + int(20_000);
    const at = new Date(t).toISOString();
    const pid = 2_000_000 + int(99_999);
    if (i % 50 === 0) {
      const sid = (0x52000000 + int(0xffffff)).toString(16);
      lines.push(
        `<166>${at} ${host} Hostd[${pid}]: [Originator@6876 sub=Vimsvc.ha-eventmgr sid=${sid}] Event ${event++} : User svc${int(5)}@10.0.0.${int(250)} logged in as pyvmomi/8.0`,
      );
      continue;
    }
    lines.push(
      `<166>${at} ${host} Hostd[${pid}]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event ${event++} : Guest operation ${LABELS[int(LABELS.length)]} performed on Virtual machine vm-${int(40)}.`,
    );
  }
  const path = join(dir, `${host}.log`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  console.log(path);
}
