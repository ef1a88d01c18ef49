// `npm start`'s build step: runs the (incremental) TypeScript build only when a source file, a
// tsconfig or package.json is newer than the last build's info file, so a second start is instant.
import { existsSync, readdirSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const INFO = "dist/.tsbuildinfo";
const newest = (dir) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith(".ts"))
    .reduce((t, d) => Math.max(t, statSync(join(d.parentPath ?? d.path, d.name)).mtimeMs), 0);

const built = existsSync(INFO) ? statSync(INFO).mtimeMs : -1;
const changed = Math.max(
  newest("src"),
  ...["tsconfig.json", "tsconfig.build.json", "package.json"].map((f) => statSync(f).mtimeMs),
);
if (built < changed || !existsSync("dist/cli/main.js")) {
  const tsc = spawnSync(
    process.execPath,
    ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"],
    {
      stdio: "inherit",
    },
  );
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  // tsc leaves its info file alone when nothing needed emitting: mark this build as checked
  const now = new Date();
  if (existsSync(INFO)) utimesSync(INFO, now, now);
}
