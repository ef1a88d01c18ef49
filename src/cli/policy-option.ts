/** `--policy FILE`: the site policy a command names, else the built-in one (loaded on demand). */
import { resolve } from "node:path";
import type { Policy } from "../policy/types.js";
import type { Io } from "./types.js";

/** Loads the policy `file` names (relative to the command's directory), or the built-in one. */
export async function policyOf(file: string | undefined, io: Io): Promise<Policy> {
  // the policy code (zod, yaml, ical.js) loads only when a command needs it
  const { defaultPolicy, loadPolicy } = await import("../policy/load.js");
  return file !== undefined ? loadPolicy(resolve(io.cwd, file)) : defaultPolicy();
}
