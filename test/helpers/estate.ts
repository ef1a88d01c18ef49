/** A generated estate for store tests: `scripts/gen-estate.mjs` (seeded syslog files, dense in guest operations). */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("../../scripts/gen-estate.mjs", import.meta.url));

export interface EstateOptions {
  readonly files: number;
  /** Guest-operation events (and logins) per file. */
  readonly opsPerFile: number;
  readonly seed?: number;
}

/** Writes the estate into `dir` and returns the paths of its files. */
export function writeEstate(dir: string, options: EstateOptions): string[] {
  const out = execFileSync(
    process.execPath,
    [script, dir, String(options.files), String(options.opsPerFile), String(options.seed ?? 1675)],
    { encoding: "utf8" },
  );
  return out.split("\n").filter(Boolean);
}
