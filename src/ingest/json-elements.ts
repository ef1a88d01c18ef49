/**
 * A streaming splitter for JSON documents that hold many records: a top-level array
 * (`[ {...}, {...} ]`, PowerShell `ConvertTo-Json`), NDJSON, or concatenated objects (`govc -json`
 * prints one indented object per event). It yields each record's exact text with the line it
 * starts on, so a reader can `JSON.parse` records one at a time, point provenance at the right
 * line and keep going after a bad record.
 *
 * It tracks structure only (strings, escapes, nesting); it does not validate JSON, so a malformed
 * record is still cut out whole and left to `JSON.parse` to reject. Memory is bounded by
 * `maxElementChars`: a larger record is skipped (its structure still tracked) and reported.
 * Input may be UTF-8 (with or without a BOM) or UTF-16 (BOM, or detected from NUL bytes).
 */
import { TextDecoder } from "node:util";

/** One top-level record. */
export interface JsonElement {
  /** The record's text, exactly as in the input (after decoding). */
  readonly text: string;
  /** 1-based line where the record starts. */
  readonly line: number;
  /** Physical lines the record spans. */
  readonly lineCount: number;
}

/** Something the splitter had to skip or could not finish. */
export type JsonSplitProblem =
  /** A record longer than `maxElementChars`: skipped. */
  | { readonly kind: "oversized"; readonly line: number; readonly size: number }
  /** Text between records that cannot start a JSON value: skipped to the end of its line. */
  | { readonly kind: "unexpected"; readonly line: number; readonly excerpt: string }
  /** The input ended inside a record (`line` is where it started) or inside the array. */
  | { readonly kind: "truncated"; readonly line: number; readonly excerpt: string };

export interface JsonSplitOptions {
  /** Largest record kept, in UTF-16 code units. Default 1 MiB. */
  readonly maxElementChars?: number;
  readonly onProblem?: (problem: JsonSplitProblem) => void;
}

export const DEFAULT_MAX_ELEMENT_CHARS = 1024 * 1024;

const EXCERPT_CHARS = 200;

const LF = 0x0a;
const CR = 0x0d;
const TAB = 0x09;
const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const BOM = 0xfeff;

const isSpace = (c: number): boolean => c === SPACE || c === LF || c === CR || c === TAB;

/** First character of a JSON scalar other than a string: `-`, a digit, `t`, `f`, `n`. */
const startsScalar = (c: number): boolean =>
  c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x74 || c === 0x66 || c === 0x6e;

/** Characters that end a bare scalar. */
const endsScalar = (c: number): boolean =>
  isSpace(c) ||
  c === COMMA ||
  c === CLOSE_BRACKET ||
  c === CLOSE_BRACE ||
  c === OPEN_BRACE ||
  c === OPEN_BRACKET ||
  c === QUOTE;

type Encoding = "utf-8" | "utf-16le" | "utf-16be";

/** Pick the text encoding from the first bytes (BOM, else NUL-byte pattern of ASCII JSON). */
export function detectEncoding(head: Uint8Array): Encoding {
  const [b0, b1] = [head[0], head[1]];
  if (b0 === 0xff && b1 === 0xfe) return "utf-16le";
  if (b0 === 0xfe && b1 === 0xff) return "utf-16be";
  if (b0 === 0xef && b1 === 0xbb && head[2] === 0xbf) return "utf-8";
  if (head.length >= 2 && b0 !== 0 && b1 === 0) return "utf-16le";
  if (head.length >= 2 && b0 === 0 && b1 !== 0) return "utf-16be";
  return "utf-8";
}

/** Decode a byte stream to text chunks, honouring a BOM or UTF-16 without one. */
export async function* decodeText(
  input: AsyncIterable<Uint8Array | string>,
): AsyncGenerator<string> {
  let decoder: TextDecoder | undefined;
  let head: Uint8Array = new Uint8Array(0);
  for await (const chunk of input) {
    if (typeof chunk === "string") {
      yield chunk;
      continue;
    }
    if (decoder === undefined) {
      head = concat(head, chunk);
      if (head.length < 4) continue;
      decoder = new TextDecoder(detectEncoding(head)); // strips the BOM itself
      const text = decoder.decode(head, { stream: true });
      if (text) yield text;
      continue;
    }
    const text = decoder.decode(chunk, { stream: true });
    if (text) yield text;
  }
  if (decoder === undefined) {
    if (head.length === 0) return;
    decoder = new TextDecoder(detectEncoding(head));
    const text = decoder.decode(head);
    if (text) yield text;
    return;
  }
  const tail = decoder.decode();
  if (tail) yield tail;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * Yield every top-level record of `input`: each element of a top-level array, each top-level
 * object (NDJSON or concatenated), each top-level scalar. Several top-level arrays in a row are
 * read one after the other. Problems go to `onProblem`; nothing throws on bad input.
 */
export async function* splitJsonElements(
  input: AsyncIterable<Uint8Array | string>,
  options: JsonSplitOptions = {},
): AsyncGenerator<JsonElement> {
  const max = options.maxElementChars ?? DEFAULT_MAX_ELEMENT_CHARS;
  const report = options.onProblem ?? (() => undefined);

  let line = 1;
  let first = true;
  let inArray = false;
  let arrayLine = 0;

  // The record being cut out.
  type Kind = "none" | "container" | "string" | "scalar";
  let kind = "none" as Kind;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: string[] = [];
  let size = 0;
  let oversized = false;
  let startLine = 0;

  // Unexpected text being skipped to the end of its line.
  let junk: string | undefined;
  let junkLine = 0;

  const flushJunk = (): void => {
    if (junk === undefined) return;
    report({ kind: "unexpected", line: junkLine, excerpt: junk.slice(0, EXCERPT_CHARS) });
    junk = undefined;
  };

  const keep = (piece: string): void => {
    if (oversized) {
      size += piece.length;
      return;
    }
    size += piece.length;
    if (size > max) {
      oversized = true;
      parts = [];
    } else if (piece) parts.push(piece);
  };

  // Set once a top-level record (outside an array) began and ended on one line: NDJSON.
  let ndjson = false;

  /** Finish the current record; returns it unless it was oversized. */
  const finish = (): JsonElement | undefined => {
    if (!inArray && kind === "container" && line === startLine) ndjson = true;
    const text = oversized ? undefined : parts.join("");
    const element =
      text === undefined ? undefined : { text, line: startLine, lineCount: line - startLine + 1 };
    if (oversized) report({ kind: "oversized", line: startLine, size });
    kind = "none";
    depth = 0;
    inString = false;
    escaped = false;
    parts = [];
    size = 0;
    oversized = false;
    return element;
  };

  const begin = (k: "container" | "string" | "scalar"): void => {
    kind = k;
    startLine = line;
    depth = k === "container" ? 1 : 0;
    inString = k === "string";
    escaped = false;
  };

  for await (const chunk of decodeText(input)) {
    let s = chunk;
    if (first) {
      first = false;
      if (s.charCodeAt(0) === BOM) s = s.slice(1);
    }
    const n = s.length;
    let i = 0;
    // Start of the current record's text within this chunk.
    let from = kind === "none" ? -1 : 0;
    /** The current record, ending before `end` in this chunk, finished. */
    const cut = (end: number): JsonElement | undefined => {
      keep(s.slice(from, end));
      from = -1;
      return finish();
    };

    while (i < n) {
      const c = s.charCodeAt(i);

      if (kind !== "none") {
        if (c === LF && ndjson && !inArray) {
          // NDJSON: a record never spans lines, so a record still open at a line end is cut there
          // (JSON.parse will reject it) instead of swallowing the records after it.
          const el = cut(i);
          if (el) yield el;
          continue;
        }
        if (inString) {
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) {
            inString = false;
            if (kind === "string") {
              const el = cut(i + 1);
              if (el) yield el;
            }
          } else if (c === LF) line++;
          i++;
          continue;
        }
        if (kind === "scalar") {
          if (endsScalar(c)) {
            const el = cut(i);
            if (el) yield el;
            continue; // look at c again as a separator
          }
          i++;
          continue;
        }
        // container
        if (c === QUOTE) inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          depth--;
          if (depth === 0) {
            const el = cut(i + 1);
            if (el) yield el;
          }
        } else if (c === LF) line++;
        i++;
        continue;
      }

      // Between records.
      if (junk !== undefined) {
        if (c === LF) {
          flushJunk();
          line++;
        } else if (junk.length < EXCERPT_CHARS) junk += s[i];
        i++;
        continue;
      }
      if (isSpace(c) || c === BOM) {
        if (c === LF) line++;
        i++;
        continue;
      }
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c === OPEN_BRACKET && !inArray) {
        inArray = true;
        arrayLine = line;
        i++;
        continue;
      }
      if (c === CLOSE_BRACKET && inArray) {
        inArray = false;
        i++;
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        begin("container");
        from = i;
        i++;
        continue;
      }
      if (c === QUOTE) {
        begin("string");
        from = i;
        i++;
        continue;
      }
      if (startsScalar(c)) {
        begin("scalar");
        from = i;
        i++;
        continue;
      }
      // `:` or a stray `}`/`]`, or text that is not JSON at all (a PowerShell warning line).
      junk = c === COLON ? ":" : s[i];
      junkLine = line;
      i++;
    }

    if (kind !== "none" && from >= 0) keep(s.slice(from));
  }

  flushJunk();
  if (kind === "scalar") {
    const el = finish();
    if (el) yield el;
  } else if (kind !== "none") {
    report({ kind: "truncated", line: startLine, excerpt: parts.join("").slice(0, EXCERPT_CHARS) });
  } else if (inArray) {
    report({ kind: "truncated", line: arrayLine, excerpt: "[" });
  }
}
