/** `guestops ingest` in a real process, for the tests that kill it. */
import { spawn } from "node:child_process";

/** Runs `guestops ingest ARGS`; SIGKILLs it after `killAfterMs` unless it ends first. */
export function ingestProcess(
  args: readonly string[],
  killAfterMs?: number,
): Promise<"done" | "killed"> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", "ingest", ...args],
      { stdio: "ignore" },
    );
    const timer =
      killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal === "SIGKILL") resolve("killed");
      else if (code === 0) resolve("done");
      else reject(new Error(`ingest exited with ${code}`));
    });
  });
}
