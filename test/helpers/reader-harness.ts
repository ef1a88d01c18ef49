/**
 * Test harness for readers: runs a reader over text or a file with a recording context, the way
 * the input layer would (line by line for line readers, a byte stream for document readers).
 */
import { createReadStream, existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type {
  CanonicalRecord,
  InputSource,
  Observation,
  ReadIssueCode,
  SessionRecord,
} from "../../src/model/record.js";
import type {
  DocumentReader,
  Envelope,
  LineParser,
  LineReader,
  ReaderContext,
  ReadOptions,
} from "../../src/ingest/types.js";

export interface RecordedIssue {
  readonly code: ReadIssueCode;
  readonly message: string;
  readonly line: number | undefined;
  readonly excerpt: string | undefined;
}

export interface Recording {
  readonly records: CanonicalRecord[];
  readonly issues: RecordedIssue[];
  readonly skipped: number[];
  /** The kind each skipped line was given, in the order of `skipped`. */
  readonly skippedKinds: string[];
  readonly observations: () => Observation[];
  readonly sessions: () => SessionRecord[];
  readonly issueCodes: () => ReadIssueCode[];
}

export function source(path = "input.log", extra: Partial<InputSource> = {}): InputSource {
  return { id: 0, path, sha256: "", ...extra };
}

export function recorder(
  src: InputSource = source(),
  options: ReadOptions = { assumeTz: "UTC" },
): { ctx: ReaderContext; rec: Recording } {
  const records: CanonicalRecord[] = [];
  const issues: RecordedIssue[] = [];
  const skipped: number[] = [];
  const skippedKinds: string[] = [];
  const ctx: ReaderContext = {
    source: src,
    options,
    emit: (r) => records.push(r),
    issue: (code, message, line, excerpt) => issues.push({ code, message, line, excerpt }),
    skip: (line, kind) => {
      skipped.push(line);
      skippedKinds.push(kind);
    },
  };
  const rec: Recording = {
    records,
    issues,
    skipped,
    skippedKinds,
    observations: () => records.filter((r): r is Observation => r.type === "observation"),
    sessions: () => records.filter((r): r is SessionRecord => r.type === "session"),
    issueCodes: () => issues.map((i) => i.code),
  };
  return { ctx, rec };
}

/** Feed `text` line by line (CR stripped, as the input layer does). */
export function readLines(
  reader: LineReader,
  text: string,
  src?: InputSource,
  options?: ReadOptions,
): Recording {
  const { ctx, rec } = recorder(src, options);
  const parser: LineParser = reader.open(ctx);
  const lines = text.split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  lines.forEach((l, i) => parser.line(l.replace(/\r$/, ""), i + 1));
  parser.end();
  return rec;
}

/** Feed pre-split lines with envelopes, as a router would. */
export function readRouted(
  reader: LineReader,
  lines: ReadonlyArray<readonly [string, number, Envelope | undefined]>,
  src?: InputSource,
): Recording {
  const { ctx, rec } = recorder(src);
  const parser = reader.open(ctx);
  for (const [text, lineNo, env] of lines) parser.line(text, lineNo, env);
  parser.end();
  return rec;
}

async function* chunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) {
    await Promise.resolve();
    yield data.subarray(i, i + size);
  }
}

/** Run a document reader over bytes, cut into chunks of `chunkSize` (small sizes test joins). */
export async function readDocument(
  reader: DocumentReader,
  data: Buffer | string,
  src?: InputSource,
  chunkSize = 7,
): Promise<Recording> {
  const { ctx, rec } = recorder(src);
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  await reader.read(chunks(bytes, chunkSize), ctx);
  return rec;
}

/** Run a document reader over a file, streamed. */
export async function readDocumentFile(
  reader: DocumentReader,
  path: string,
  src?: InputSource,
): Promise<Recording> {
  const { ctx, rec } = recorder(src ?? source(path));
  await reader.read(createReadStream(path, { highWaterMark: 4096 }), ctx);
  return rec;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The real public samples, read in place beside the repository (never copied into it). */
export const REAL_SAMPLES = resolve(here, "../../../shared/samples/real");

export const realSamplesPresent = (): boolean => existsSync(REAL_SAMPLES);

/** Loud skip reason when the real samples are not beside the repository. */
export const REAL_SAMPLES_MISSING = `real samples not found at ${REAL_SAMPLES} (../shared/samples/real from the repository root); CI always has them`;

export const realSample = (name: string): string => join(REAL_SAMPLES, name);

export const readRealSample = (name: string): string => readFileSync(realSample(name), "utf8");

/** A loud notice on stderr, once per file, when the real samples are missing. */
export function warnIfNoRealSamples(): boolean {
  if (realSamplesPresent()) return true;
  process.stderr.write(`\n*** SKIPPED: ${REAL_SAMPLES_MISSING} ***\n\n`);
  return false;
}

/** A suite's `skip` option for tests on the real samples: false, or the loud reason they are missing. */
export const realSamplesSkip = (): false | string =>
  warnIfNoRealSamples() ? false : REAL_SAMPLES_MISSING;

/** The fixtures in the `fixtures/` folder beside the test module at `moduleUrl` (`import.meta.url`). */
export function fixtures(moduleUrl: string): {
  readonly path: (name: string) => string;
  readonly text: (name: string) => string;
} {
  const path = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, moduleUrl));
  return { path, text: (name) => readFileSync(path(name), "utf8") };
}
