// Runs every *.test.ts under src/ and test/ with node's built-in test runner (tsx loads TypeScript).
// Node 20 does not expand globs for --test, so the files are listed here.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const roots = ["src", "test"];
const files = roots.flatMap((root) =>
  readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith(".test.ts"))
    .map((d) => join(d.parentPath ?? d.path, d.name)),
);
files.sort();
const filter = process.argv.slice(2);
const selected = filter.length ? files.filter((f) => filter.some((x) => f.includes(x))) : files;
if (selected.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
const reporter = process.env.CI ? "spec" : "spec";
const r = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", `--test-reporter=${reporter}`, ...selected],
  { stdio: "inherit" },
);
process.exit(r.status ?? 1);
