/**
 * Reloading `guestops serve` (docs/serve.md, "Reload"): on SIGHUP or when a watched file changes,
 * the configuration and the policy are read and validated by the start-up loaders before anything
 * is applied. A bad file keeps what runs, logs one line naming the file, line and field, and is
 * counted (`Counters.reload`, `/api/health`, `/metrics`).
 *
 * Applied live: the policy (taken by the processor at its next step boundary), the allowlist, the
 * outputs, `watch`, and TLS certificates renewed at the same paths (listeners and HTTPS). Every other change
 * of the configuration (listeners, limits, spool, processing, HTTP, store) is reported as needing
 * a restart, in the log line and in health.
 *
 * Watching: `fs.watch` on each watched file's folder (an editor or a deployment that replaces the
 * file by a rename, or swaps a symlink, is seen there), debounced; events only prompt a check of
 * the files' contents, so a `touch` or an event for another file changes nothing, and a slow
 * poll catches file systems that send no events (docs/DESIGN.md, "Reload").
 */
import { createHash } from "node:crypto";
import { readFileSync, watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { defaultPolicy, parsePolicy, readIcsFile, readPolicyFile } from "../policy/load.js";
import type { Policy } from "../policy/types.js";
import { escapeTerminal } from "../report/escape.js";
import type { ListenerConfig, OutputConfig, ServeConfig } from "./config.js";
import type { Counters } from "./counters.js";

export type ReloadTrigger = "sighup" | "file";

export interface ReloadResult {
  readonly ok: boolean;
  /** What was applied (`policy`, `allow`, `outputs`, `tls`). */
  readonly applied: readonly string[];
  /** Fields changed on disk that only a restart applies. */
  readonly restartNeeded: readonly string[];
  readonly error?: string;
}

/** A loaded policy and the fingerprint of the files it was read from. */
export interface LoadedPolicy {
  readonly policy: Policy;
  /** SHA-256 over the policy file and every calendar it includes ("" for the built-in one). */
  readonly fingerprint: string;
  /** The files read: the policy and its calendars. */
  readonly files: readonly string[];
}

/** Loads the policy at `path` as start-up does (`loadPolicy`), noting what it read. */
export function loadPolicyFiles(path: string | undefined): LoadedPolicy {
  if (path === undefined) return { policy: defaultPolicy(), fingerprint: "", files: [] };
  const hash = createHash("sha256");
  const text = readPolicyFile(path);
  hash.update(`${path}\u0000${text}\u0000`);
  const files = [path];
  const policy = parsePolicy(text, {
    name: path,
    baseDir: dirname(path),
    readFile: (file) => {
      const ics = readIcsFile(file);
      hash.update(`${file}\u0000${ics}\u0000`);
      files.push(file);
      return ics;
    },
  });
  return { policy, fingerprint: hash.digest("hex"), files };
}

/**
 * What a new configuration changes, against the running one: fields applied live and fields
 * that need a restart (`listeners[0].port`, `processing.delay`).
 */
export function planReload(
  running: ServeConfig,
  next: ServeConfig,
  options: { readonly ignoreStore?: boolean } = {},
): { live: string[]; restart: string[] } {
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  const live: string[] = [];
  const restart: string[] = [];
  if (running.policy !== next.policy) live.push("policy");
  if (!same(running.allow, next.allow)) live.push("allow");
  if (!same(running.outputs, next.outputs)) live.push("outputs");
  if (running.watch !== next.watch) live.push("watch");
  if (!options.ignoreStore && running.store !== next.store) restart.push("store");
  if (running.listeners.length !== next.listeners.length) restart.push("listeners");
  else {
    running.listeners.forEach((l, i) =>
      restart.push(...changedKeys(`listeners[${i}]`, l, next.listeners[i] as ListenerConfig)),
    );
  }
  for (const section of ["limits", "spool", "processing", "http"] as const) {
    restart.push(...changedKeys(section, running[section], next[section]));
  }
  return { live, restart };
}

function changedKeys(prefix: string, a: object, b: object): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const av = new Map(Object.entries(a));
  const bv = new Map(Object.entries(b));
  return [...keys]
    .filter((k) => JSON.stringify(av.get(k)) !== JSON.stringify(bv.get(k)))
    .map((k) => `${prefix}.${k}`);
}

/** The first line of an error, with its first `file:line: field: problem` line when it lists some. */
export function reloadError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const lines = text.split("\n").map((l) => l.trim());
  const detail = lines.slice(1).filter((l) => l !== "");
  const head = lines[0] ?? "";
  if (detail.length === 0) return head;
  const more = detail.length > 1 ? ` (and ${detail.length - 1} more)` : "";
  return `${detail[0] ?? ""}${more}`;
}

/** What a reload acts on: the running parts of `serve`. */
export interface ReloadDeps {
  /** The configuration file, when serve was started from one (else only the policy is read). */
  readonly configFile: string | undefined;
  /** Loads the configuration file (the start-up loader). */
  readonly loadConfig: (file: string) => ServeConfig;
  /** `--db` was given: the file's `store` is not used. */
  readonly ignoreStore: boolean;
  readonly counters: Counters;
  readonly log: (line: string) => void;
  readonly setPolicy: (policy: Policy) => void;
  readonly setAllow: (cidrs: readonly string[]) => void;
  readonly setOutputs: (outputs: readonly OutputConfig[]) => Promise<void>;
  /** Reads the TLS files of the running listeners and HTTPS (throws), to apply after. */
  readonly tlsRenewal: (config: ServeConfig) => { count: number; apply: () => void };
}

/** Debounce of file events: an editor's save is several events within a few milliseconds. */
const DEBOUNCE_MS = 250;
/** The slow poll, for file systems that send no events (NFS, some container mounts). */
const POLL_MS = 30_000;

export class Reloader {
  /** The running configuration: start-up values, with the live fields as last applied. */
  #config: ServeConfig;
  #policy: LoadedPolicy;
  readonly #deps: ReloadDeps;
  /** The serialised reloads (one at a time, in order). */
  #chain: Promise<unknown> = Promise.resolve();
  #queued = false;
  /** Contents of the watched files as last read by a reload: a change of these starts one. */
  #seen = new Map<string, string>();
  readonly #watchers = new Map<string, FSWatcher>();
  /** Per watched folder, the names of the watched files in it. */
  #names = new Map<string, Set<string>>();
  #timer: NodeJS.Timeout | undefined;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(config: ServeConfig, policy: LoadedPolicy, deps: ReloadDeps) {
    this.#config = config;
    this.#policy = policy;
    this.#deps = deps;
    this.#seen = this.snapshot();
  }

  /** Reloads now (serialised: a reload asked for during another runs once after it). */
  reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    const run = this.#chain.then(() => this.run(trigger));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** Watches the configuration, the policy and the TLS files, unless the configuration says not. */
  watch(): void {
    if (!this.#config.watch || this.#poll !== undefined || this.#closed) return;
    this.rewatch();
    this.#poll = setInterval(() => this.check(), POLL_MS);
    this.#poll.unref();
  }

  private unwatch(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    clearInterval(this.#poll);
    this.#poll = undefined;
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }

  /** Stops watching; resolves once a reload under way has finished. */
  async close(): Promise<void> {
    this.#closed = true;
    this.unwatch();
    await this.#chain;
  }

  /** The files a change of which reloads. */
  private files(): string[] {
    const c = this.#config;
    return [
      ...new Set([
        ...(this.#deps.configFile !== undefined ? [this.#deps.configFile] : []),
        ...this.#policy.files,
        ...(c.policy !== undefined ? [c.policy] : []),
        ...this.tlsFiles(),
      ]),
    ];
  }

  /** The certificate, key and CA files of the running TLS listeners and HTTPS. */
  private tlsFiles(): string[] {
    const c = this.#config;
    const of = (l: {
      cert?: string | undefined;
      key?: string | undefined;
      ca?: string | undefined;
    }): string[] => [l.cert, l.key, l.ca].filter((f): f is string => f !== undefined);
    return [...c.listeners.filter((l) => l.protocol === "tls").flatMap(of), ...of(c.http)];
  }

  private snapshot(): Map<string, string> {
    const out = new Map<string, string>();
    for (const f of this.files()) {
      let digest: string;
      try {
        digest = createHash("sha256").update(readFileSync(f)).digest("hex");
      } catch (error) {
        digest = `unreadable: ${(error as NodeJS.ErrnoException).code ?? "error"}`;
      }
      out.set(f, digest);
    }
    return out;
  }

  /**
   * One watcher per folder of a watched file (a rename onto the file is seen in its folder). Events
   * for other files of the folder (a store's journal beside the configuration) are ignored, except
   * names starting with `..`: the folder a Kubernetes volume swaps behind its symlinks.
   */
  private rewatch(): void {
    const names = new Map<string, Set<string>>();
    for (const f of this.files()) {
      const set = names.get(dirname(f)) ?? new Set<string>();
      set.add(basename(f));
      names.set(dirname(f), set);
    }
    this.#names = names;
    const dirs = new Set(names.keys());
    for (const [dir, w] of this.#watchers) {
      if (dirs.has(dir)) continue;
      w.close();
      this.#watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.#watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          const file = name === null ? undefined : String(name);
          if (file === undefined || file.startsWith("..") || this.#names.get(dir)?.has(file)) {
            this.soon();
          }
        });
        w.on("error", () => {
          w.close();
          this.#watchers.delete(dir);
        });
        this.#watchers.set(dir, w);
      } catch {
        // a folder that cannot be watched: the slow poll and SIGHUP still reload
      }
    }
  }

  /** A check after the debounce; events during it join it (they never postpone it). */
  private soon(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.check();
    }, DEBOUNCE_MS);
    this.#timer.unref();
  }

  /** Reloads when a watched file's content differs from what the last reload read. */
  private check(): void {
    if (this.#closed || this.#queued) return;
    const now = this.snapshot();
    const changed = [...now].some(([f, d]) => this.#seen.get(f) !== d);
    if (!changed) return;
    this.#queued = true;
    void this.reload("file").finally(() => {
      this.#queued = false;
      this.soon(); // a change made while that reload ran
    });
  }

  private async run(trigger: ReloadTrigger): Promise<ReloadResult> {
    const { counters, log } = this.#deps;
    const seen = this.snapshot();
    const names = [this.#deps.configFile, this.#config.policy]
      .filter((f): f is string => f !== undefined)
      .map((f) => basename(f))
      .join(", ");
    let result: ReloadResult;
    try {
      // everything is read and validated before anything is applied
      const next =
        this.#deps.configFile !== undefined
          ? this.#deps.loadConfig(this.#deps.configFile)
          : this.#config;
      const plan = planReload(this.#config, next, { ignoreStore: this.#deps.ignoreStore });
      const policy = loadPolicyFiles(next.policy);
      const tls = this.#deps.tlsRenewal(this.#config);
      const tlsChanged = this.tlsFiles().some((f) => seen.get(f) !== this.#seen.get(f));
      // applied: the policy at the processor's next step, then the rest
      const applied: string[] = [];
      if (policy.fingerprint !== this.#policy.fingerprint) {
        this.#deps.setPolicy(policy.policy);
        applied.push("policy");
      }
      this.#policy = policy;
      if (plan.live.includes("allow")) {
        this.#deps.setAllow(next.allow);
        applied.push("allow");
      }
      if (plan.live.includes("outputs")) {
        await this.#deps.setOutputs(next.outputs);
        applied.push("outputs");
      }
      if (plan.live.includes("watch")) applied.push("watch");
      // certificates renewed at the same paths: new handshakes use them
      tls.apply();
      if (tls.count > 0 && tlsChanged) applied.push("tls");
      this.#config = withLive(this.#config, next);
      counters.reload.ok++;
      counters.reload.lastOkMs = Date.now();
      counters.reload.lastError = null;
      counters.reload.restartNeeded = plan.restart;
      result = { ok: true, applied, restartNeeded: plan.restart };
      log(
        `reload (${trigger}): ${applied.length ? `applied ${applied.join(", ")}` : "nothing changed"}${
          plan.restart.length ? `; needs a restart: ${plan.restart.join(", ")}` : ""
        }`,
      );
    } catch (error) {
      const why = escapeTerminal(reloadError(error));
      counters.reload.failed++;
      counters.reload.lastFailedMs = Date.now();
      counters.reload.lastError = why;
      result = { ok: false, applied: [], restartNeeded: counters.reload.restartNeeded, error: why };
      log(`reload (${trigger}) failed, keeping the running ${names || "policy"}: ${why}`);
    }
    // the contents this reload read, good or bad: a bad file is not retried until it changes again
    // (a file that changed while it was read is seen as changed and read again)
    this.#seen = new Map([...this.snapshot()].map(([f, d]) => [f, seen.get(f) ?? d]));
    if (!this.#config.watch) this.unwatch();
    else if (this.#poll === undefined) this.watch();
    else if (!this.#closed) this.rewatch();
    return result;
  }
}

/** `running` with the fields a reload applies live taken from `next`. */
function withLive(running: ServeConfig, next: ServeConfig): ServeConfig {
  const out: ServeConfig = {
    ...running,
    allow: next.allow,
    outputs: next.outputs,
    watch: next.watch,
  };
  delete out.policy;
  return {
    ...out,
    ...(next.policy !== undefined ? { policy: next.policy } : {}),
  };
}
