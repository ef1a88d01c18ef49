/**
 * A generated estate for store tests and measurements: syslog files of ESXi hosts, dense in guest
 * operations (hostd events with logins), seeded so the same arguments give the same bytes.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { mulberry32 } from "./random.js";

const LABELS = [
  "Start Program",
  "Create Temporary File",
  "List Processes",
  "Initiate File Transfer From Guest",
  "List Files",
  "Delete File",
];

export interface EstateOptions {
  readonly files: number;
  /** Guest-operation events per file. */
  readonly opsPerFile: number;
  readonly seed?: number;
  /** First timestamp (epoch ms). */
  readonly start?: number;
}

/** Writes `files` syslog files into `dir` and returns their paths. */
export function writeEstate(dir: string, options: EstateOptions): string[] {
  const rand = mulberry32(options.seed ?? 1675);
  const int = (n: number): number => Math.floor(rand() * n);
  const paths: string[] = [];
  let t = options.start ?? Date.parse("2026-03-01T00:00:00.000Z");
  let event = 1000;
  for (let f = 0; f < options.files; f++) {
    const host = `esx${String(f + 1).padStart(2, "0")}.corp.example`;
    const lines: string[] = [];
    for (let i = 0; i < options.opsPerFile; i++) {
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
        `<166>${at} ${host} Hostd[${pid}]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event ${event++} : Guest operation ${LABELS[int(LABELS.length)] ?? ""} performed on Virtual machine vm-${int(40)}.`,
      );
    }
    const path = join(dir, `${host}.log`);
    writeFileSync(path, `${lines.join("\n")}\n`);
    paths.push(path);
  }
  return paths;
}
