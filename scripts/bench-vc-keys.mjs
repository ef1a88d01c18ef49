// What vCenter events guestops has no use for cost: a generated stream of EVENTS such events
// (scripts/gen-vc-events.mjs, HOLES holes of 3 keys) through `ingest --db`, `coverage --db` and
// `coverage` on the file, each timed with its peak RSS, and the store's size and rows. After
// `npm run build` (or with CLI pointing at another build):
//
//   node scripts/bench-vc-keys.mjs [EVENTS] [HOLES]      (default 1000000 and 10)
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";

const events = process.argv[2] ?? "1000000";
const holes = process.argv[3] ?? "10";
const cli = process.env.CLI ?? "dist/cli/main.js";
const dir = mkdtempSync(join(tmpdir(), "guestops-bench-vc-keys-"));
/** Runs the CLI; seconds and peak RSS from the child's own resource usage. */
function run(args) {
  const started = process.hrtime.bigint();
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "data:text/javascript,process.on('exit',()=>process.stderr.write('maxrss='+process.resourceUsage().maxRSS+'\\n'))",
      cli,
      ...args,
    ],
    { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${args.join(" ")}: ${r.stderr}`);
  const rss = Number(/maxrss=(\d+)/.exec(r.stderr)?.[1] ?? 0) / 1024;
  return { seconds, rss, stdout: r.stdout };
}
try {
  const file = join(dir, "vcsa01-events.log");
  const gen = spawnSync(process.execPath, ["scripts/gen-vc-events.mjs", file, events, holes]);
  if (gen.status !== 0) throw new Error(String(gen.stderr));
  const db = join(dir, "bench.db");
  const line = (name, r, extra = "") =>
    console.log(
      `${name.padEnd(22)} ${r.seconds.toFixed(2).padStart(7)} s  ${r.rss.toFixed(0).padStart(5)} MB peak RSS${extra}`,
    );
  const ingest = run(["ingest", file, "--db", db]);
  const size = statSync(db).size;
  const store = new Database(db, { readonly: true });
  const tables = store
    .prepare(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND (name LIKE 'logging%' OR name LIKE '%key%' OR name = 'records')`,
    )
    .all()
    .map(({ name }) => `${name} ${store.prepare(`SELECT count(*) AS n FROM "${name}"`).get().n}`);
  store.close();
  line("ingest --db", ingest, `  store ${(size / 1e6).toFixed(1)} MB (${tables.join(", ")})`);
  const stored = run(["coverage", "--db", db, "--format", "json"]);
  const missing = (out) => JSON.parse(out).vcenterKeys?.[0]?.missing;
  line("coverage --db", stored, `  ${missing(stored.stdout)} keys missing`);
  const direct = run(["coverage", file, "--format", "json"]);
  line("coverage FILE", direct, `  ${missing(direct.stdout)} keys missing`);
  console.log(
    `${events} events, ${holes} holes; file ${(statSync(file).size / 1e6).toFixed(0)} MB`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
