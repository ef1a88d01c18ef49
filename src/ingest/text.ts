/**
 * What kind of text an input holds, decided from its head: UTF-8 (with or without a BOM),
 * UTF-16 (Windows PowerShell's `Out-File` / `ConvertTo-Json > file` default), or binary data that
 * no reader should see.
 */

export type TextEncoding = "utf8" | "utf16le" | "utf16be";

export interface TextKind {
  readonly encoding: TextEncoding;
  /** Length of the byte order mark at the start (0 when none). */
  readonly bom: number;
}

/** Head bytes looked at for the encoding and binary checks. */
export const TEXT_SNIFF_BYTES = 64 * 1024;

/**
 * The encoding of an input from its first bytes. UTF-16 is recognised by its BOM, or without one
 * by the zero high bytes of ASCII text (every other byte zero in the first 4 KiB).
 */
export function detectEncoding(head: Buffer): TextKind {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: "utf8", bom: 3 };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: "utf16le", bom: 2 };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: "utf16be", bom: 2 };
  const n = Math.min(head.length, 4096) & ~1;
  if (n >= 8) {
    let evenZero = 0;
    let oddZero = 0;
    for (let i = 0; i < n; i += 2) {
      if (head[i] === 0) evenZero++;
      if (head[i + 1] === 0) oddZero++;
    }
    const pairs = n / 2;
    if (oddZero > pairs * 0.9 && evenZero < pairs * 0.1) return { encoding: "utf16le", bom: 0 };
    if (evenZero > pairs * 0.9 && oddZero < pairs * 0.1) return { encoding: "utf16be", bom: 0 };
  }
  return { encoding: "utf8", bom: 0 };
}

/**
 * Whether UTF-8 text looks like binary data: more than 10% control bytes other than tab, line
 * feed, carriage return, form feed and escape (ANSI colours do occur in logs) among the bytes that
 * are not NUL, NUL bytes scattered through the data (more NUL runs than a quarter of the lines),
 * or nothing but NUL bytes. A few NUL runs between text lines are not binary: that is how a log
 * looks after a crash or power loss (the file system zero-fills what was never written); the
 * runs are skipped while reading ({@link NulRuns}).
 */
export function looksBinary(head: Buffer): boolean {
  const n = Math.min(head.length, TEXT_SNIFF_BYTES);
  if (n === 0) return false;
  let control = 0;
  let nul = 0;
  let runs = 0;
  let newlines = 0;
  let inRun = false;
  for (let i = 0; i < n; i++) {
    const b = head[i] ?? 0;
    if (b === 0) {
      nul++;
      if (!inRun) runs++;
      inRun = true;
      continue;
    }
    inRun = false;
    if (b === 0x0a) newlines++;
    else if (b < 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0c && b !== 0x1b) control++;
  }
  const text = n - nul;
  if (text === 0) return true;
  if (control > text * 0.1) return true;
  return runs > 4 && runs > newlines / 4;
}

/** One NUL byte: what a skipped run leaves in the text, so that it still splits the line. */
const ONE_NUL = Buffer.of(0);

/**
 * Removes runs of NUL bytes from a byte stream, chunk by chunk (a run may span chunks): each run
 * becomes a single NUL byte, which the line reader then treats as a break inside the line (the
 * text after a zero-filled gap starts a new record). `onRun` is called at the start of each run
 * with its byte offset in the input. A chunk without NUL is passed on as it is (one `indexOf`).
 */
export class NulRuns {
  private inRun = false;
  private offset = 0;
  /** Runs seen so far. */
  runs = 0;

  constructor(private readonly onRun: (offset: number) => void) {}

  push(chunk: Buffer, out: (piece: Buffer) => void): void {
    const base = this.offset;
    this.offset += chunk.length;
    let i = chunk.indexOf(0);
    if (i < 0) {
      this.inRun = false;
      out(chunk);
      return;
    }
    let from = 0;
    while (i >= 0) {
      if (!this.inRun || i > from) {
        this.runs++;
        this.onRun(base + i);
        if (i > from) out(chunk.subarray(from, i));
        out(ONE_NUL);
      }
      let j = i;
      while (j < chunk.length && chunk[j] === 0) j++;
      this.inRun = j === chunk.length;
      if (this.inRun) return;
      from = j;
      i = chunk.indexOf(0, j);
    }
    out(chunk.subarray(from));
  }
}

/**
 * UTF-16 bytes as UTF-8, streaming: a code unit or a surrogate pair split between chunks is
 * joined. The BOM becomes a UTF-8 BOM, so a document reader still sees that there was one. An
 * unpaired surrogate or a dangling last byte becomes U+FFFD.
 */
export async function* transcodeUtf16(
  source: AsyncIterable<Buffer>,
  encoding: "utf16le" | "utf16be",
): AsyncGenerator<Buffer> {
  let odd: number | undefined; // a byte left over from the previous chunk
  let high = ""; // a high surrogate waiting for its pair
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    const joined = odd === undefined ? Buffer.from(chunk) : Buffer.concat([Buffer.of(odd), chunk]);
    const even = joined.length & ~1;
    odd = even < joined.length ? joined[even] : undefined;
    const units = joined.subarray(0, even);
    if (encoding === "utf16be") units.swap16();
    let text = high + units.toString("utf16le");
    high = "";
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      high = text.slice(-1);
      text = text.slice(0, -1);
    }
    if (text.length > 0) yield Buffer.from(text, "utf8");
  }
  const rest = `${high}${odd === undefined ? "" : "\ufffd"}`;
  if (rest.length > 0) yield Buffer.from(rest, "utf8");
}
