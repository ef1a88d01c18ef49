/**
 * Byte-exact `raw` for records read from lines that were not UTF-8.
 *
 * A line reader works on text: a line whose bytes are not UTF-8 reaches it with U+FFFD in place of
 * each bad sequence, and the record's `raw` would carry that text, not what the file holds. The
 * line splitter's sink keeps the bytes of the last such lines here; when a record is emitted whose
 * `raw` holds one of them, its `raw` becomes the base64 of the exact bytes (`rawEncoding:
 * "base64"`), each other physical line being re-encoded from its text (valid UTF-8 round-trips).
 * A record whose bad lines cannot all be found (more than RECENT of them since, or folded from
 * lines too far apart) keeps its text; the line's `invalid_utf8` issue says so either way.
 */
import type { CanonicalRecord } from "../model/record.js";

/** Lines kept (the newest): a record is emitted soon after its last line. */
const RECENT = 64;

export class InvalidLines {
  /** Line number → the line as decoded and its bytes (insertion order = line order). */
  private readonly recent = new Map<number, { readonly text: string; readonly bytes: Buffer }>();

  /** Keeps a copy of a line's bytes (`buf[start, end)`, as handed to the reader). */
  add(lineNo: number, text: string, buf: Buffer, start: number, end: number): void {
    if (this.recent.size >= RECENT) {
      const oldest = this.recent.keys().next();
      if (!oldest.done) this.recent.delete(oldest.value);
    }
    this.recent.set(lineNo, { text, bytes: Buffer.from(buf.subarray(start, end)) });
  }

  /** The record, with its `raw` made byte-exact when it was read from lines kept here. */
  restore<R extends CanonicalRecord>(record: R): R {
    const prov = record.prov;
    if (this.recent.size === 0 || prov.rawEncoding !== undefined || !prov.raw.includes("\ufffd")) {
      return record;
    }
    const parts = prov.raw.split("\n");
    const bytes: Buffer[] = [];
    for (const [i, part] of parts.entries()) {
      if (!part.includes("\ufffd")) {
        bytes.push(Buffer.from(part, "utf8"));
        continue;
      }
      const found = this.find(prov.line + i, prov.line, part);
      // a U+FFFD that is not from a kept line: in the input itself, or a line no longer kept
      if (found === undefined) return record;
      bytes.push(found);
    }
    const raw = Buffer.concat(bytes.flatMap((b, i) => (i === 0 ? [b] : [NEWLINE, b]))).toString(
      "base64",
    );
    return { ...record, prov: { ...prov, raw, rawEncoding: "base64" } };
  }

  /** The kept line that reads as `text`: at `expected` if it is there, else the first after `from`. */
  private find(expected: number, from: number, text: string): Buffer | undefined {
    const at = this.recent.get(expected);
    if (at?.text === text) return at.bytes;
    for (const [lineNo, line] of this.recent) {
      if (lineNo >= from && line.text === text) return line.bytes;
    }
    return undefined;
  }
}

const NEWLINE = Buffer.from("\n");
