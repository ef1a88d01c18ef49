/**
 * A one-line progress display for long reads on a terminal: redrawn in place (cursor up, clear
 * line), at most a few times a second, and only once a run has lasted long enough to need it.
 * Everything it prints from the input (paths, member names) is escaped by the caller's `escape`.
 */
import { truncateMiddle } from "../shared/width.js";
import type { ReadProgress } from "./read.js";

export interface ProgressOptions {
  /** Writes one line (the caller adds the line break). */
  readonly write: (line: string) => void;
  /**
   * Writes text as it is (no line break added). Given, the line is redrawn with a carriage return
   * and erased when done, so nothing is left behind; else whole lines are written (cursor up).
   */
  readonly raw?: (text: string) => void;
  /** Makes a log-derived string safe to print. */
  readonly escape: (text: string) => string;
  readonly now?: () => number;
  /** Quiet for this long before the first line (ms). Default 1000. */
  readonly delayMs?: number;
  /** Least time between two lines (ms). Default 250. */
  readonly intervalMs?: number;
  /** Widest line, in characters. Default 100. */
  readonly width?: number;
}

export interface ProgressDisplay {
  readonly update: (progress: ReadProgress) => void;
  /** Shows a line of the caller's (a later phase: attribution), under the same delay and throttle. */
  readonly status: (line: string) => void;
  /** Replaces the progress line with a closing one (or prints nothing if none was shown). */
  readonly finish: (closing: string) => void;
}

const UP_AND_CLEAR = "\u001b[1A\u001b[2K";
const CLEAR_LINE = "\r\u001b[2K";

export function createProgressDisplay(options: ProgressOptions): ProgressDisplay {
  const now = options.now ?? Date.now;
  const start = now();
  const delay = options.delayMs ?? 1000;
  const interval = options.intervalMs ?? 250;
  const width = options.width ?? 100;
  let shown = false;
  let last = -Infinity;
  const show = (text: (elapsedMs: number) => string): void => {
    const t = now();
    if (t - start < delay || t - last < interval) return;
    last = t;
    const line = fit(text(t - start), width);
    if (options.raw) options.raw(`${CLEAR_LINE}${line}`);
    else options.write(shown ? `${UP_AND_CLEAR}${line}` : line);
    shown = true;
  };
  return {
    update: (p) => show((elapsed) => progressLine(p, elapsed, options.escape)),
    status: (line) => show(() => line),
    finish: (closing) => {
      if (!shown) return;
      if (options.raw) {
        options.raw(CLEAR_LINE);
        if (closing !== "") options.write(fit(closing, width));
      } else options.write(`${UP_AND_CLEAR}${fit(closing, width)}`);
    },
  };
}

export function progressLine(
  p: ReadProgress,
  elapsedMs: number,
  escape: (s: string) => string,
): string {
  const pct =
    p.totalBytes !== undefined && p.totalBytes > 0
      ? `${Math.min(100, Math.floor((p.bytesRead / p.totalBytes) * 100))}% `
      : "";
  const rate = elapsedMs > 0 ? ` ${formatBytes((p.bytesRead / elapsedMs) * 1000)}/s` : "";
  const size = `${formatBytes(p.bytesRead)}${p.totalBytes !== undefined ? `/${formatBytes(p.totalBytes)}` : ""}`;
  const where = `${p.path}${p.member !== undefined ? `!${p.member}` : ""}`;
  return `${pct}[${p.fileIndex + 1}/${p.files}] ${size}${rate}, ${p.records} records  ${escape(where)}`;
}

/** Bytes for people: `812 B`, `1.40 MiB`, `2.31 GiB` (powers of 1024, named as such). */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** Cuts a line to `width` columns, keeping the end (the path's file name) visible. */
const fit = (line: string, width: number): string => truncateMiddle(line, width);
