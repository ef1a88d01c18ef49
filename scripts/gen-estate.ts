// A generated vSphere estate on disk, for measuring `events` and `scan` at scale (`npm run bench`
// can point at it): ESXi 8 hostd.log per host (or one syslog receiver file), the vCenter event
// stream and vpxd.log, from the attribution proof's generator (fixed seed: same output).
//
//   node --import tsx scripts/gen-estate.ts OUT_DIR [RUNS=7000] [HOSTS=20] [--syslog]
//
// About 7 operations per run: 7000 runs on 20 hosts give ~49k operations (40 MB).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { generateEstate } from "../src/attribute/fixtures/estate.js";

const args = process.argv.slice(2);
const syslog = args.includes("--syslog");
const [out, runsArg, hostsArg] = args.filter((a) => a !== "--syslog");
if (!out) {
  process.stderr.write("usage: gen-estate.ts OUT_DIR [RUNS] [HOSTS] [--syslog]\n");
  process.exit(2);
}
const estate = generateEstate({
  seed: 7,
  hosts: Number(hostsArg ?? 20),
  vmsPerHost: 10,
  runs: Number(runsArg ?? 7000),
  directShare: 0.05,
  maxSkewMs: 2000,
  jsonShare: 0,
  syslog,
});
const files = [...estate.files.hostd, estate.files.vcEvents, estate.files.vpxd];
for (const file of files) {
  const path = join(out, file.name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, file.text);
}
process.stdout.write(
  `${JSON.stringify({ operations: estate.truth.length, files: files.length })}\n`,
);
