/**
 * `guestops serve` assembled: the store, the listeners and spool, the live processor, the outputs
 * and the HTTP side, with backpressure between them (docs/serve.md). `startServe` resolves once
 * everything listens, with the bound ports; `close()` stops accepting, commits what is pending and
 * closes the store.
 */
import type { ServerType } from "@hono/node-server";
import { readFileSync } from "node:fs";
import type { Server as HttpsServer } from "node:https";
import { createSecureContext } from "node:tls";
import { loadBaseline } from "../store/baseline.js";
import { beginRun, finishRun } from "../store/baseline.js";
import { openStore, type Store } from "../store/open.js";
import { VERSION } from "../version.js";
import { loadServeConfig, type OutputConfig, type ServeConfig } from "./config.js";
import { Counters } from "./counters.js";
import { createApp, startHttp } from "./http.js";
import { Outputs } from "./outputs.js";
import { LiveProcessor } from "./processor.js";
import { Receiver, type BoundListener } from "./receiver.js";
import { loadPolicyFiles, Reloader, type ReloadResult, type ReloadTrigger } from "./reload.js";
import { Spool } from "./spool.js";

export interface RunningServe {
  readonly listeners: readonly BoundListener[];
  /** The HTTP port, when the HTTP side is enabled. */
  readonly httpPort: number | undefined;
  readonly store: Store;
  readonly counters: Counters;
  /** Reloads the configuration and the policy (SIGHUP; file changes reload by themselves). */
  readonly reload: (trigger: ReloadTrigger) => Promise<ReloadResult>;
  readonly close: () => Promise<void>;
}

export interface ServeOptions {
  readonly dbPath: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** The configuration file `config` was read from: reloads read it again. */
  readonly configFile?: string;
  /** The store was given on the command line: the file's `store` is not used. */
  readonly ignoreStore?: boolean;
  /** Where reload lines go (the CLI: stderr). */
  readonly log?: (line: string) => void;
}

export async function startServe(
  config: ServeConfig,
  options: ServeOptions,
): Promise<RunningServe> {
  const loaded = loadPolicyFiles(config.policy);
  const { policy } = loaded;
  const store = openStore(config.store ?? options.dbPath, {
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
  const { db } = store;
  const counters = new Counters();
  const baseline = loadBaseline(db)?.baseline;
  const runId = beginRun(db, "serve", [], VERSION);
  let running = true;

  /** Waiters for new events (SSE streams) and for new frames (the processing loop). */
  const eventWaiters = new Set<() => void>();
  const waitForEvents = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        eventWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      eventWaiters.add(done);
    });
  let wakeProcessor: (() => void) | undefined;

  const processor = new LiveProcessor(
    db,
    {
      policy,
      delayMs: config.processing.delay,
      releaseStepMs: config.processing.releaseStep,
      chainWaitMs: config.processing.chainWait,
      assumeTz: config.processing.assumeTz,
      batchFrames: config.processing.batchFrames,
      prune: config.spool.prune,
      runId,
      ...(baseline ? { baseline } : {}),
    },
    counters,
  );
  processor.start();
  const spoolLag = (): { spooled: number; processed: number; pending: number } => ({
    spooled: spool.lastId,
    processed: processor.processed,
    pending: spool.pending,
  });
  const backpressure = (): void => {
    const lag = spool.lastId - processor.processed + spool.pending;
    counters.processing.lagFrames = Math.max(0, lag);
    if (lag > config.spool.highWaterFrames) receiver.setPaused(true);
    else if (lag < config.spool.lowWaterFrames) receiver.setPaused(false);
  };
  const spool = new Spool(db, {
    commitIntervalMs: config.spool.commitInterval,
    commitFrames: config.spool.commitFrames,
    onCommit: (n) => {
      counters.spooled.frames += n;
      backpressure();
      wakeProcessor?.();
    },
  });
  const receiver = new Receiver(config, spool, counters, backpressure);
  let outputs = new Outputs(db, config.outputs, counters, options.env);
  const setOutputs = async (next: readonly OutputConfig[]): Promise<void> => {
    await outputs.stop();
    const names = new Set(next.map((o, i) => o.name ?? `${o.type}-${i}`));
    for (const name of [...counters.outputs.keys()]) {
      if (!names.has(name)) counters.outputs.delete(name);
    }
    // each output resumes behind its own cursor (a new one starts at the log's beginning)
    outputs = new Outputs(db, next, counters, options.env);
    outputs.start();
  };

  const lastEvent = db.prepare(`SELECT coalesce(max(id), 0) AS id FROM serve_events`);
  const eventId = (): number => (lastEvent.get() as { id: number }).id;
  const loop = (async () => {
    let seen = eventId();
    while (running) {
      let n = 0;
      try {
        n = await processor.step();
      } catch (error) {
        // a store failure: reported, retried at the next step
        process.emitWarning(error instanceof Error ? error.message : String(error));
      }
      const now = eventId();
      if (now !== seen) {
        seen = now;
        for (const wake of [...eventWaiters]) wake();
        outputs.notify();
      }
      backpressure();
      if (n >= config.processing.batchFrames) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(config.processing.releaseStep, 1000));
        function done(): void {
          clearTimeout(timer);
          wakeProcessor = undefined;
          resolve();
        }
        wakeProcessor = done;
      });
    }
  })();

  let http: { server: ServerType; port: number } | undefined;
  try {
    await receiver.start();
    spool.start();
    outputs.start();
    if (config.http.enabled) {
      const app = createApp({
        db,
        config,
        counters,
        processor,
        listeners: () => receiver.bound,
        spoolLag,
        waitForEvents,
        outputs,
        policy: () => policy,
      });
      http = await startHttp(app, config);
    }
  } catch (error) {
    running = false;
    wakeProcessor?.();
    await receiver.close().catch(() => undefined);
    spool.stop();
    await loop;
    await processor.close();
    store.close();
    throw error;
  }

  const reloader = new Reloader(config, loaded, {
    configFile: options.configFile,
    loadConfig: loadServeConfig,
    ignoreStore: options.ignoreStore ?? false,
    counters,
    log: options.log ?? ((line) => process.emitWarning(line)),
    setPolicy: (next) => processor.setPolicy(next),
    setAllow: (cidrs) => receiver.setAllow(cidrs),
    setOutputs,
    tlsRenewal: (running) => {
      const listeners = receiver.tlsRenewal(running.listeners);
      const { cert, key } = running.http;
      const server = http?.server as HttpsServer | undefined;
      if (cert === undefined || key === undefined || server?.setSecureContext === undefined) {
        return listeners;
      }
      const pair = { cert: readFileSync(cert), key: readFileSync(key) };
      createSecureContext(pair); // throws for a pair that does not match
      return {
        count: listeners.count + 1,
        apply: () => {
          listeners.apply();
          server.setSecureContext(pair);
        },
      };
    },
  });
  reloader.watch();

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= (async () => {
      await reloader.close();
      await receiver.close();
      spool.stop();
      running = false;
      wakeProcessor?.();
      await loop;
      for (const wake of [...eventWaiters]) wake();
      if (http) {
        const server = http.server;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // open event streams would hold close() forever
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        });
      }
      await outputs.stop();
      await processor.close();
      finishRun(db, runId, counters.toJSON());
      store.close();
    })());

  return {
    listeners: receiver.bound,
    httpPort: http?.port,
    store,
    counters,
    reload: (trigger) => reloader.reload(trigger),
    close,
  };
}
