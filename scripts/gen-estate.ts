// A generated vSphere estate on disk, for `npm run bench`, `npm run bench:store` and measuring
// `events`/`scan`/`ingest` at scale: ESXi 8 hostd.log per host (or one syslog receiver file), the
// vCenter event stream and vpxd.log, from the attribution proof's generator (fixed seed: same
// options, same bytes). Prints {operations, files, bytes, paths, inputHosts} as JSON (`inputHosts`:
// PATH=HOST for the files whose lines name no host, for `--input-host`).
//
//   node --import tsx scripts/gen-estate.ts OUT_DIR [RUNS=7000] [HOSTS=20]
//        [--ops N] [--hosts N] [--vms N] [--days N] [--seed N] [--syslog]
//
// About 7 operations per run: 7000 runs on 20 hosts give ~49k operations (40 MB); `--ops N` picks
// the runs for about N operations. The period is 10 hours unless `--days` is given.
import { OPS_PER_RUN, writeEstate } from "../test/helpers/estate.js";

const args = process.argv.slice(2);
const flags = new Map<string, string>();
const positional: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i] ?? "";
  if (a === "--syslog") flags.set("syslog", "1");
  else if (a.startsWith("--")) flags.set(a.slice(2), args[++i] ?? "");
  else positional.push(a);
}
const num = (v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) {
    process.stderr.write(`not a positive number: ${v}\n`);
    process.exit(2);
  }
  return n;
};
const [out, runsArg, hostsArg] = positional;
if (!out) {
  process.stderr.write(
    "usage: gen-estate.ts OUT_DIR [RUNS] [HOSTS] [--ops N] [--hosts N] [--vms N] [--days N] [--seed N] [--syslog]\n",
  );
  process.exit(2);
}
const ops = num(flags.get("ops"));
const runs = ops !== undefined ? Math.ceil(ops / OPS_PER_RUN) : num(runsArg);
const hosts = num(flags.get("hosts") ?? hostsArg);
const vms = num(flags.get("vms"));
const days = num(flags.get("days"));
const seed = num(flags.get("seed"));
const written = writeEstate(out, {
  ...(runs !== undefined ? { runs } : {}),
  ...(hosts !== undefined ? { hosts } : {}),
  ...(vms !== undefined ? { vmsPerHost: vms } : {}),
  ...(days !== undefined ? { days } : {}),
  ...(seed !== undefined ? { seed } : {}),
  ...(flags.has("syslog") ? { syslog: true } : {}),
});
process.stdout.write(
  `${JSON.stringify({ operations: written.operations, files: written.paths.length, bytes: written.bytes, paths: written.paths, inputHosts: written.inputHosts })}\n`,
);
