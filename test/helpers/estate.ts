/**
 * A generated vSphere estate on disk (`src/attribute/fixtures/estate.ts`: ESXi 8 hostd.log per
 * host or one syslog receiver file, the vCenter event stream, vpxd.log), for the store's tests,
 * `scripts/gen-estate.ts` and the benchmarks. Fixed seed: same options, same bytes.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { generateEstate } from "../../src/attribute/fixtures/estate.js";

/** A script run makes 7 guest operations on average (stage, start, 1-5 polls, collect, clean up). */
export const OPS_PER_RUN = 7;

export interface EstateOptions {
  /** ESXi hosts (default 20). */
  readonly hosts?: number;
  /** VMs per host (default 10). */
  readonly vmsPerHost?: number;
  /** Script runs (default 7000, about 49k operations). */
  readonly runs?: number;
  /** Length of the period, days (default: the fixture's 10 hours). */
  readonly days?: number;
  /** Hostd as one syslog receiver file with every host interleaved. */
  readonly syslog?: boolean;
  readonly seed?: number;
  /**
   * Shorthand (the store's tests): `files` hosts, about `files` x `opsPerFile` operations, written
   * as the hostd side alone in one syslog file (lines name their hosts; no vCenter files), so that
   * the records stay about one per operation.
   */
  readonly files?: number;
  readonly opsPerFile?: number;
}

export interface WrittenEstate {
  /** Guest operations in the estate (the generator's ground truth). */
  readonly operations: number;
  readonly bytes: number;
  readonly paths: readonly string[];
  /** `PATH=HOST` for the inputs whose lines name no host (`--input-host`, `inputHosts`). */
  readonly inputHosts: readonly string[];
}

/** Writes the estate into `dir` and returns the paths of its files. */
export function writeEstate(dir: string, options: EstateOptions = {}): WrittenEstate {
  const estate = generateEstate({
    seed: options.seed ?? 7,
    hosts: options.hosts ?? options.files ?? 20,
    vmsPerHost: options.vmsPerHost ?? 10,
    runs:
      options.runs ??
      (options.files !== undefined && options.opsPerFile !== undefined
        ? Math.ceil((options.files * options.opsPerFile) / OPS_PER_RUN)
        : 7000),
    directShare: 0.05,
    maxSkewMs: 2000,
    jsonShare: 0,
    ...(options.syslog || (options.files !== undefined && options.opsPerFile !== undefined)
      ? { syslog: true }
      : {}),
    ...(options.days !== undefined ? { periodMs: options.days * 86_400_000 } : {}),
  });
  const hostdOnly = options.files !== undefined && options.opsPerFile !== undefined;
  const files = hostdOnly
    ? estate.files.hostd
    : [...estate.files.hostd, estate.files.vcEvents, estate.files.vpxd];
  const paths: string[] = [];
  const inputHosts: string[] = [];
  let bytes = 0;
  for (const file of files) {
    const path = join(dir, file.name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, file.text);
    paths.push(path);
    if (file.hostHint !== undefined) inputHosts.push(`${path}=${file.hostHint}`);
    bytes += Buffer.byteLength(file.text);
  }
  return { operations: estate.truth.length, bytes, paths, inputHosts };
}
