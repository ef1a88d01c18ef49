// The estate section of `npm run bench`: a generated vSphere estate (scripts/gen-estate.ts, fixed
// seed: ESXi 8 hostd.log per host, the vCenter event stream, vpxd.log) timed as a user runs it,
// each command as a whole process under /usr/bin/time (wall time, peak RSS, CPU share):
//
//   guestops events --format ndjson --out /dev/null DIR
//   guestops scan   --format json   --out /dev/null DIR
//   guestops ingest DIR --db TMP.db                       (a fresh store)
//   guestops scan   DIR --db TMP.db --format json ...     (the stored period re-scanned: the files
//                                                          are known, nothing is added, every
//                                                          stored operation is judged)
//   guestops learn --db TMP.db                            (the baseline learned from the stored
//                                                          estate: two streamed passes, rules then
//                                                          learner; docs/detection.md)
//   guestops scan   DIR --db TMP.db ... (with baseline)   (the re-scan again, baseline rules on)
//   scripts/bench-attribute.mjs DIR                       (library: reading alone, then analyze();
//                                                          attribution + detection is the difference)
//
// Knobs (environment): BENCH_OPS (default 200000 guest operations), BENCH_HOSTS (20),
// BENCH_DAYS (30: a month), BENCH_SYSLOG=1 (hostd as one syslog receiver file), BENCH_TIMEOUT
// (seconds per command, default 900). The estate is kept in bench-data/ and reused. Targets
// (issue "Proof / Scale"): attribution + detection >= 50k operations/s; 1 million operations
// through events, scan and ingest in under a minute (>= 16.7k operations/s); peak RSS < 400 MB.
//
//   BENCH_READ=0 BENCH_OPS=1000000 npm run bench        (the million-operation run, estate only)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

if (process.env.BENCH_ESTATE === "0") process.exit(0);
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const ops = Number(process.env.BENCH_OPS ?? 200_000);
const hosts = Number(process.env.BENCH_HOSTS ?? 20);
const days = Number(process.env.BENCH_DAYS ?? 30);
const syslog = process.env.BENCH_SYSLOG === "1";
const timeoutS = Number(process.env.BENCH_TIMEOUT ?? 900);
const cli = join(root, "dist", "cli", "main.js");
const log = (s) => process.stderr.write(`${s}\n`);

// --- data ---------------------------------------------------------------------------------------
const dir = join(
  root,
  "bench-data",
  `estate-${ops}ops-${hosts}h-${days}d${syslog ? "-syslog" : ""}`,
);
const metaFile = `${dir}.json`;
if (!existsSync(metaFile)) {
  log(`generating ${dir} (about ${ops} operations, ${hosts} hosts, ${days} days, fixed seed) ...`);
  rmSync(dir, { recursive: true, force: true });
  const args = [
    "--max-old-space-size=16384",
    "--import",
    "tsx",
    join(root, "scripts", "gen-estate.ts"),
    dir,
    "--ops",
    String(ops),
    "--hosts",
    String(hosts),
    "--days",
    String(days),
    ...(syslog ? ["--syslog"] : []),
  ];
  const out = execFileSync(process.execPath, args, { cwd: root, maxBuffer: 64 << 20 });
  writeFileSync(`${metaFile}.tmp`, out);
  renameSync(`${metaFile}.tmp`, metaFile);
}
const meta = JSON.parse(readFileSync(metaFile, "utf8"));
const hostArgs = meta.inputHosts.flatMap((h) => ["--input-host", h]);

// --- measuring ----------------------------------------------------------------------------------
const timeF =
  existsSync("/usr/bin/time") && spawnSync("/usr/bin/time", ["-f", "%M", "true"]).status === 0;
// coreutils timeout kills node itself (killing /usr/bin/time would leave node running).
const killer = spawnSync("timeout", ["1", "true"]).status === 0;
const MARK = "GUESTOPS-BENCH-TIME";

/** Runs node with args; wall seconds, peak RSS (MB), CPU share (%), stdout, stderr, failure. */
function measure(args) {
  const node = killer
    ? ["timeout", "-s", "KILL", String(timeoutS), process.execPath, ...args]
    : [process.execPath, ...args];
  const cmd = timeF
    ? ["/usr/bin/time", ["-f", `${MARK} %e %M %P`, ...node]]
    : [node[0], node.slice(1)];
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd[0], cmd[1], {
    cwd: root,
    encoding: "utf8",
    maxBuffer: 256 << 20,
    timeout: (timeoutS + 30) * 1000,
    killSignal: "SIGKILL",
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const stderr = String(r.stderr ?? "");
  const t = new RegExp(`${MARK} ([\\d.]+) (\\d+) (\\d+)%`).exec(stderr);
  let failed;
  const killed = r.error?.code === "ETIMEDOUT" || r.signal === "SIGKILL" || r.status === 137;
  if (killed) failed = `killed after ${timeoutS} s (BENCH_TIMEOUT)`;
  else if (/Command exited with non-zero status|heap out of memory/.test(stderr) || r.status !== 0)
    failed =
      (/(FATAL ERROR[^\n]*|JavaScript heap out of memory|error: [^\n]*)/.exec(stderr)?.[1] ??
        `exit ${r.status}`) + (t ? ` after ${Number(t[1]).toFixed(0)} s` : "");
  return {
    seconds,
    // /usr/bin/time sees the timeout wrapper, not the killed node, when the command is killed
    rssMb: t && !killed ? Number(t[2]) / 1024 : NaN,
    cpu: t && !killed ? Number(t[3]) : NaN,
    stdout: String(r.stdout ?? ""),
    stderr,
    failed,
  };
}

const tmp = mkdtempSync(join(tmpdir(), "guestops-bench-estate-"));
const db = join(tmp, "bench.db");
const rows = [];
try {
  execFileSync("sh", ["-c", `cat ${meta.paths.map((p) => `'${p}'`).join(" ")} > /dev/null`]);
  // the stored month judged again: the files are known, nothing is added
  const storedScan = [
    cli,
    "scan",
    "--db",
    db,
    "--format",
    "json",
    "--out",
    "/dev/null",
    "--force",
    ...hostArgs,
    dir,
  ];
  const steps = [
    [
      "events (ndjson)",
      [cli, "events", "--format", "ndjson", "--out", "/dev/null", "--force", ...hostArgs, dir],
    ],
    [
      "scan (json)",
      [cli, "scan", "--format", "json", "--out", "/dev/null", "--force", ...hostArgs, dir],
    ],
    ["ingest (new store)", [cli, "ingest", ...hostArgs, dir, "--db", db]],
    ["scan --db (re-scan stored)", storedScan],
    ["learn (stored estate)", [cli, "learn", "--db", db]],
    ["scan --db (with baseline)", storedScan],
  ];
  for (const [name, args] of steps) {
    log(`${name} ...`);
    const m = measure(args);
    const counted =
      Number(/: (\d+) operations from/.exec(m.stderr)?.[1] ?? NaN) ||
      Number(/operations: (\d+) new/.exec(m.stdout)?.[1] ?? NaN) ||
      Number(/learned: (\d+) operation/.exec(m.stdout)?.[1] ?? NaN);
    rows.push({ name, ...m, counted });
  }
  log("library: attribution and detection alone ...");
  const lib = measure([join(root, "scripts", "bench-attribute.mjs"), ...hostArgs, dir]);
  const libOut = lib.failed ? undefined : JSON.parse(lib.stdout);

  // --- report -----------------------------------------------------------------------------------
  const met = (ok) => (ok ? "met" : "NOT MET");
  const fmt = (n) => Math.round(n).toLocaleString("en-US");
  const mb = (n) => (Number.isNaN(n) ? "n/a" : `${n.toFixed(0)} MB`);
  const lines = [
    "",
    `guestops estate benchmark — ${fmt(meta.operations)} guest operations (generated, fixed seed), ${meta.files} files (${hosts} hosts${syslog ? " in one syslog file" : " hostd.log"}, vCenter events, vpxd.log), ${(meta.bytes / 1e6).toFixed(0)} MB, over ${days} days`,
    `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 1024 ** 3).toFixed(0)} GB RAM, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}; one run each, warm page cache`,
    "",
    `${"command".padEnd(28)} ${"time".padStart(8)} ${"ops/s".padStart(8)} ${"peak RSS".padStart(9)} ${"CPU".padStart(5)}  targets (1M ops < 60 s = 16.7k ops/s; RSS < 400 MB)`,
  ];
  for (const r of rows) {
    const rate = meta.operations / r.seconds;
    const count =
      !r.failed && !Number.isNaN(r.counted) && r.counted !== meta.operations
        ? ` (${fmt(r.counted)} operations reported)`
        : "";
    lines.push(
      `${r.name.padEnd(28)} ${`${r.seconds.toFixed(1)} s`.padStart(8)} ${(r.failed ? "-" : fmt(rate)).padStart(8)} ${mb(r.rssMb).padStart(9)} ${(Number.isNaN(r.cpu) ? "" : `${r.cpu}%`).padStart(5)}  ${
        r.failed
          ? `FAILED: ${r.failed}`
          : r.name.startsWith("learn")
            ? `learning ${days} stored days < 60 s: ${met(r.seconds < 60)}; memory ${met(r.rssMb < 400)}`
            : r.name.startsWith("scan --db")
              ? `re-scan of ${days} stored days; memory ${met(r.rssMb < 400)}`
              : `speed ${met(rate >= 1e6 / 60)}, memory ${met(r.rssMb < 400)}`
      }${count}`,
    );
  }
  if (libOut) {
    const both = libOut.operations / libOut.attributeDetectSeconds;
    lines.push(
      "",
      `library, streamed as the CLI runs it: ${fmt(libOut.records)} records, ${fmt(libOut.operations)} operations, ${libOut.alerts} alerts, peak RSS ${mb(libOut.maxRssMb)}:`,
      `  reading alone (readInputs in stream time)   ${libOut.readSeconds.toFixed(1)} s`,
      `  the pipeline (analyze: read, attribute, detect) ${libOut.pipelineSeconds.toFixed(1)} s`,
      `  attribution + detection (the difference)    ${libOut.attributeDetectSeconds.toFixed(1)} s  ${fmt(both)} ops/s (target >= 50,000: ${met(both >= 50_000)})`,
    );
  } else lines.push("", `library attribution/detection FAILED: ${lib.failed}`);
  if (!timeF) lines.push("(no /usr/bin/time: peak RSS and CPU share not measured)");
  lines.push("CPU above 100% means more than one core was busy.");
  process.stdout.write(`${lines.join("\n")}\n`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
