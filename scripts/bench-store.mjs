// The store's figures: first ingest of a generated estate (scripts/gen-estate.ts: FILES hosts,
// about FILES x OPS_PER_FILE guest operations, with their vCenter events and vpxd.log), re-ingest of
// the same files, and the same lines again as one new .gz (parsed, nothing new). After `npm run build`:
//
//   node scripts/bench-store.mjs [FILES] [OPS_PER_FILE]      (default 4 x 25000)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const files = Number(process.argv[2] ?? 4);
const ops = Number(process.argv[3] ?? 25000);
const dir = mkdtempSync(join(tmpdir(), "guestops-bench-store-"));
try {
  const estate = join(dir, "estate");
  const { paths } = JSON.parse(
    execFileSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "scripts/gen-estate.ts",
        estate,
        "--hosts",
        String(files),
        "--ops",
        String(files * ops),
      ],
      { encoding: "utf8" },
    ),
  );
  const db = join(dir, "bench.db");
  const ingest = (target) => {
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ["dist/cli/main.js", "ingest", target, "--db", db], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(r.stderr);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const records = /records: (\d+) read, (\d+) new/.exec(r.stdout);
    const opsLine = /operations: (\d+) new, (\d+) updated/.exec(r.stdout);
    return {
      seconds,
      read: Number(records?.[1]),
      added: Number(records?.[2]),
      ops: Number(opsLine?.[1]),
    };
  };
  const first = ingest(estate);
  const size = statSync(db).size;
  const again = ingest(estate);
  const gz = join(dir, "all.gz");
  writeFileSync(gz, gzipSync(Buffer.concat(paths.map((p) => readFileSync(p)))));
  const rotated = ingest(gz);
  const line = (name, r) =>
    `${name.padEnd(26)} ${r.seconds.toFixed(2).padStart(7)} s  ${String(r.read).padStart(8)} read  ${String(r.added).padStart(8)} new  ${Math.round(r.read / r.seconds)} records/s  ${Math.round(r.ops / r.seconds)} new ops/s`;
  console.log(line("first ingest", first));
  console.log(
    `store size                 ${(size / 1e6).toFixed(1)} MB (${Math.round(size / Math.max(1, first.ops))} B per operation)`,
  );
  console.log(line("same files again", again));
  console.log(line("same lines as one .gz", rotated));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
