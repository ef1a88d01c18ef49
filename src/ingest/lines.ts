/**
 * The line splitter: cuts a byte stream into physical lines, drops the lines that hold none of the
 * reader's markers before they are decoded (see prefilter.ts), and hands the rest over as bytes.
 *
 * Lines end at `\n`; a `\r` before it is removed; a last line without `\n` still counts. Line
 * numbers are exact (1-based, every physical line counts, passed or not). A line longer than
 * `maxLineBytes` is cut at that length (on a UTF-8 character boundary) and reported; its remainder
 * is skipped without being buffered, so a 10 MB line costs no more memory than a short one.
 */
import { isUtf8 } from "node:buffer";
import {
  createMarkerScanner,
  LONG_LINE_EXAMPLES,
  type MarkerScanner,
  type ScanMemory,
} from "./prefilter.js";

/** Default longest line kept whole, in bytes. Longer lines are cut and counted (`line_too_long`). */
export const MAX_LINE_BYTES = 64 * 1024;
/** Default amount of input scanned per pass. */
export const CHUNK_BYTES = 1024 * 1024;

export interface LineSink {
  /**
   * A line that holds a marker (every line with `markers: "all"`): `buf[start, end)`, without its
   * terminator. `cut` when the line was longer than the limit and this is its head. The bytes are
   * only valid during the call.
   */
  readonly line: (buf: Buffer, start: number, end: number, lineNo: number, cut: boolean) => void;
  /**
   * A line longer than the limit (reported once per line, marker or not); `lineNo` is undefined
   * only past LONG_LINE_EXAMPLES such lines in one scanned range.
   */
  readonly tooLong: (lineNo: number | undefined) => void;
}

/**
 * Memory the input is read into (outer.ts) that the scanner can live in: chunks lent from it are
 * scanned where they lie instead of being copied (a gigabyte copied costs ~0.13 s).
 */
export interface InPlaceMemory extends ScanMemory {
  /**
   * For a chunk at `offset` in this memory: how many bytes just before it the splitter may
   * overwrite (to put the previous chunk's unfinished line there); -1 when `offset` is not in a
   * read area. Bytes at or after a read area's start are never overwritten: they are being hashed.
   */
  readonly carrySpace: (offset: number) => number;
}

export interface LineSplitterOptions {
  /** The reader's markers, or `"all"` to pass every line. */
  readonly markers: readonly string[] | "all";
  readonly maxLineBytes?: number;
  readonly chunkBytes?: number;
  /** Force the portable scanner (tests). */
  readonly engine?: "wasm" | "js";
  /** The input's first bytes: the prefilter picks its fingerprints for text like this. */
  readonly sample?: Buffer;
  /** The memory the chunks are read into, when they are scanned in place (see InPlaceMemory). */
  readonly inPlace?: InPlaceMemory;
}

export interface LineSplitter {
  /**
   * Feeds bytes. A chunk in the `inPlace` memory is scanned where it lies; any other is copied. The
   * caller may reuse the chunk's bytes after the call.
   */
  readonly push: (chunk: Buffer) => void;
  /** End of input: the last line (without `\n`) is handled. The splitter is then done. */
  readonly end: () => void;
  /** Physical lines seen so far. */
  readonly lines: () => number;
  /** Lines handed to the sink so far. */
  readonly passed: () => number;
  readonly engine: "wasm" | "js";
}

const NL = 0x0a;
const CR = 0x0d;

export function createLineSplitter(options: LineSplitterOptions, sink: LineSink): LineSplitter {
  const maxLine = options.maxLineBytes ?? MAX_LINE_BYTES;
  const capacity = (options.chunkBytes ?? CHUNK_BYTES) + maxLine;
  const all = options.markers === "all";
  const scanner: MarkerScanner = createMarkerScanner(all ? [] : options.markers, capacity, {
    maxLineBytes: maxLine,
    ...(options.engine ? { engine: options.engine } : {}),
    ...(options.sample ? { sample: options.sample } : {}),
    ...(options.inPlace ? { shared: options.inPlace } : {}),
  });
  // The scanner's memory: copied bytes go to its input area at 0, where the unfinished last line
  // (the carry) waits too; chunks read into it elsewhere are scanned where they lie.
  const buf = scanner.memory;
  const inPlace =
    options.inPlace && buf.buffer === options.inPlace.buffer ? options.inPlace : undefined;
  let filled = 0; // bytes in buf[0, filled): the carry, then copied bytes
  let lines = 0; // complete lines so far (the next line is lines + 1)
  let passed = 0;
  let skipping = false; // inside the remainder of an over-long line
  let ended = false;

  const deliver = (start: number, end: number, lineNo: number, cut: boolean): void => {
    let e = end;
    if (cut) e = utf8Boundary(buf, start, start + maxLine);
    else if (e > start && buf[e - 1] === CR) e--;
    passed++;
    sink.line(buf, start, e, lineNo, cut);
  };

  const markerBytes = options.markers === "all" ? [] : options.markers.map((m) => Buffer.from(m));
  /**
   * Whether the over-long line at `lineStart` passes: it is read as its kept head, so the head must
   * hold a marker (rare: no hurry, and the scanner's hit list may be in use).
   */
  const headHasMarker = (lineStart: number): boolean => {
    if (all) return true;
    const head = buf.subarray(lineStart, utf8Boundary(buf, lineStart, lineStart + maxLine));
    return markerBytes.some((m) => head.includes(m));
  };

  /** Scans buf[start, end), which starts at a line start; `final`: the range ends the input. */
  const scanRange = (start: number, end: number, final: boolean): void => {
    const hits = scanner.scanRange(start, end);
    const nl = scanner.newlines();
    const longCount = scanner.longLines();
    // Long complete lines (a range holds fewer than LONG_LINE_EXAMPLES of them unless the limit
    // is tiny; beyond that they are counted without a line number).
    for (let i = 0; i < longCount; i++) {
      const idx = i < LONG_LINE_EXAMPLES ? scanner.longLine(i) : -1;
      sink.tooLong(idx < 0 ? undefined : lines + idx + 1);
    }
    if (all) {
      let from = start;
      for (let idx = 0; from < end; idx++) {
        const e = buf.indexOf(NL, from);
        if (e < 0 || e >= end) {
          if (final) deliver(from, end, lines + idx + 1, end - from > maxLine);
          break;
        }
        deliver(from, e, lines + idx + 1, e - from > maxLine);
        from = e + 1;
      }
    } else {
      for (let i = 0; i < hits; i++) {
        const pos = scanner.hitPos(i);
        const lineStart = pos === start ? start : Math.max(start, buf.lastIndexOf(NL, pos) + 1);
        const e = buf.indexOf(NL, pos);
        const lineEnd = e < 0 || e >= end ? end : e;
        const cut = lineEnd - lineStart > maxLine;
        // an over-long line is read as its head: it passes only if the head holds a marker
        if (cut && !headHasMarker(lineStart)) continue;
        deliver(lineStart, lineEnd, lines + scanner.hitLine(i) + 1, cut);
      }
    }
    lines += nl;
    if (final) {
      // the last line had no terminator
      const lastStart = end === start ? start : Math.max(start, buf.lastIndexOf(NL, end - 1) + 1);
      if (end > lastStart) {
        lines++;
        if (end - lastStart > maxLine) sink.tooLong(lines);
      }
    }
  };

  /** Processes complete lines in the buffer; keeps the partial last line (cut if over-long). */
  const drain = (): void => {
    if (filled === 0) return;
    const lastNl = buf.lastIndexOf(NL, filled - 1);
    let carryStart = 0;
    if (lastNl >= 0) {
      scanRange(0, lastNl + 1, false);
      carryStart = lastNl + 1;
    }
    const carry = filled - carryStart;
    if (carryStart > 0 && carry > 0) buf.copy(buf, 0, carryStart, filled);
    filled = carry;
    if (filled > maxLine) cutCarry();
  };

  /** The partial line in the buffer is already over the limit: keep its head, skip the rest. */
  const cutCarry = (): void => {
    const lineNo = lines + 1;
    sink.tooLong(lineNo);
    if (headHasMarker(0)) deliver(0, filled, lineNo, true);
    lines++;
    filled = 0;
    skipping = true;
  };

  /**
   * Scans `buf[at, at + n)`, lent from the in-place memory, where it lies: the carry goes just
   * before it, the unfinished last line back to the carry. False (nothing done) when the chunk
   * cannot be scanned in place: no room for the carry, or no line end in it.
   */
  const pushInPlace = (at: number, n: number): boolean => {
    if (!inPlace || n === 0 || inPlace.carrySpace(at) < filled) return false;
    const end = at + n;
    const rel = buf.subarray(at, end).lastIndexOf(NL);
    if (rel < 0) return false;
    const lastNl = at + rel;
    if (filled > 0) buf.copy(buf, at - filled, 0, filled);
    scanRange(at - filled, lastNl + 1, false);
    // Only the head of an over-long unfinished line is needed: cutCarry reports and skips the rest.
    const keep = Math.min(end - (lastNl + 1), maxLine + 1);
    if (keep > 0) buf.copy(buf, 0, lastNl + 1, lastNl + 1 + keep);
    filled = keep;
    if (filled > maxLine) cutCarry();
    return true;
  };

  const push = (chunk: Buffer): void => {
    if (ended) throw new Error("LineSplitter: push after end");
    let off = 0;
    while (off < chunk.length) {
      if (skipping) {
        const e = chunk.indexOf(NL, off);
        if (e < 0) return;
        skipping = false;
        off = e + 1;
        continue;
      }
      if (chunk.buffer === buf.buffer && pushInPlace(chunk.byteOffset + off, chunk.length - off)) {
        return;
      }
      const n = Math.min(capacity - filled, chunk.length - off);
      chunk.copy(buf, filled, off, off + n);
      filled += n;
      off += n;
      if (filled === capacity) drain();
    }
    drain();
  };

  const end = (): void => {
    if (ended) return;
    ended = true;
    if (!skipping && filled > 0) {
      scanRange(0, filled, true);
      filled = 0;
    }
    skipping = false;
    scanner.release();
  };

  return { push, end, lines: () => lines, passed: () => passed, engine: scanner.engine };
}

/** The largest offset <= `limit` that does not split a UTF-8 sequence begun at or after `start`. */
export function utf8Boundary(buf: Buffer, start: number, limit: number): number {
  let e = limit;
  // back over continuation bytes (10xxxxxx) to the lead byte of the character that straddles
  for (let k = 0; k < 3 && e > start && ((buf[e] ?? 0) & 0xc0) === 0x80; k++) e--;
  return e;
}

/**
 * Decodes `buf[start, end)` as UTF-8. `valid` is false when the bytes were not UTF-8: the text then
 * holds U+FFFD in place of each bad sequence (a U+FFFD that was in the input is not a false alarm).
 */
export function decodeLine(
  buf: Buffer,
  start: number,
  end: number,
): { text: string; valid: boolean } {
  const text = buf.toString("utf8", start, end);
  const valid = !text.includes("\ufffd") || isUtf8(buf.subarray(start, end));
  return { text, valid };
}

/**
 * The first lines of a head buffer, for sniffing: CR removed, at most `maxLines`, each cut at
 * `maxLineBytes`. The last piece is dropped unless `complete` (it may be a partial line).
 */
export function headLines(
  head: Buffer,
  maxLines: number,
  complete: boolean,
  maxLineBytes = MAX_LINE_BYTES,
): string[] {
  const out: string[] = [];
  let start = 0;
  while (out.length < maxLines && start < head.length) {
    const e = head.indexOf(NL, start);
    if (e < 0 && !complete) break;
    let end = e < 0 ? head.length : e;
    if (end > start && head[end - 1] === CR) end--;
    if (end - start > maxLineBytes) end = utf8Boundary(head, start, start + maxLineBytes);
    out.push(head.toString("utf8", start, end));
    if (e < 0) break;
    start = e + 1;
  }
  return out;
}
