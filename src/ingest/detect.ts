/**
 * Format detection: every registered reader scores the head of an input (its first lines) and
 * the best score above the threshold wins; ties go to the earlier reader in the registry.
 */
import type { Reader } from "./types.js";

/** Lines of an input's head shown to `sniff`. */
export const SNIFF_LINES = 200;
/** Bytes of an input's head read for detection (the head ends earlier at SNIFF_LINES lines). */
export const SNIFF_BYTES = 64 * 1024;
/** A reader must score above this to be chosen. */
export const SNIFF_THRESHOLD = 0.3;

export interface Detection {
  /** The chosen reader, if any scored above the threshold. */
  readonly reader: Reader | undefined;
  /** Every reader's score, best first (for `inspect` and the unknown-format message). */
  readonly scores: readonly { readonly name: string; readonly score: number }[];
}

export function detectFormat(head: readonly string[], readers: readonly Reader[]): Detection {
  const scored = readers.map((reader, order) => {
    const raw = reader.sniff(head);
    const score = Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : 0;
    return { reader, order, score };
  });
  scored.sort((a, b) => b.score - a.score || a.order - b.order);
  const best = scored[0];
  return {
    reader: best && best.score > SNIFF_THRESHOLD ? best.reader : undefined,
    scores: scored.map((s) => ({ name: s.reader.name, score: s.score })),
  };
}
