/**
 * The reader contract, checked on every fixture beside each reader and on every real sample: each
 * line the input layer hands to a line reader ends up in a record (the lines of its provenance),
 * an issue naming that line (not understood, bad time, ...) or a skip with a named kind. A line
 * that gets none of these would vanish silently; the input layer would count it as not understood
 * with a "reader bug" message, and this test names it.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { readInputs } from "../src/ingest/read.js";
import { readers } from "../src/ingest/registry.js";
import type { Reader } from "../src/ingest/types.js";
import type { InputSource } from "../src/model/record.js";
import { REAL_SAMPLES, realSamplesSkip } from "./helpers/reader-harness.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const READERS_DIR = join(ROOT, "src", "ingest", "readers");

interface Accounting {
  readonly reader: string;
  readonly handed: Set<number>;
  readonly accounted: Set<number>;
  readonly kinds: Map<string, number>;
}

/** The readers, each line reader's context and parser watched. */
function instrumented(log: Map<InputSource, Accounting>): Reader[] {
  return readers.map((reader): Reader => {
    if (reader.shape !== "lines") return reader;
    return {
      ...reader,
      open: (ctx) => {
        const acc: Accounting = {
          reader: reader.name,
          handed: new Set(),
          accounted: new Set(),
          kinds: new Map(),
        };
        log.set(ctx.source, acc);
        const parser = reader.open({
          ...ctx,
          emit: (record) => {
            // a record folds lineCount lines: its first line and the next ones not yet accounted
            // for (other lines may interleave a multi-line record)
            let left = record.prov.lineCount;
            if (!acc.accounted.has(record.prov.line)) {
              acc.accounted.add(record.prov.line);
              left--;
            }
            for (const l of [...acc.handed].sort((a, b) => a - b)) {
              if (left === 0) break;
              if (l > record.prov.line && !acc.accounted.has(l)) {
                acc.accounted.add(l);
                left--;
              }
            }
            ctx.emit(record);
          },
          issue: (code, message, line, excerpt) => {
            if (line !== undefined) acc.accounted.add(line);
            ctx.issue(code, message, line, excerpt);
          },
          skip: (line, kind) => {
            assert.match(kind, /^[a-z][a-z0-9.-]*$/, `${reader.name}: a skip kind is a plain word`);
            acc.accounted.add(line);
            acc.kinds.set(kind, (acc.kinds.get(kind) ?? 0) + 1);
            ctx.skip(line, kind);
          },
        });
        return {
          line: (text, lineNo, envelope) => {
            acc.handed.add(lineNo);
            parser.line(text, lineNo, envelope);
          },
          end: () => parser.end(),
        };
      },
    };
  });
}

const filesIn = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => !n.endsWith(".md"))
        .sort()
        .map((n) => join(dir, n))
    : [];

const FIXTURES = readdirSync(READERS_DIR, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => filesIn(join(READERS_DIR, d.name, "fixtures")));

async function check(file: string): Promise<Accounting[]> {
  const log = new Map<InputSource, Accounting>();
  const summary = await readInputs([file], { readers: instrumented(log) }, { record: () => {} });
  const watched: Accounting[] = [];
  for (const input of summary.inputs) {
    const acc = log.get(input.source);
    if (!acc) continue; // a document reader, or no reader recognised the input
    watched.push(acc);
    const silent = [...acc.handed].filter((l) => !acc.accounted.has(l));
    assert.deepEqual(silent, [], `${acc.reader} said nothing about these lines of ${file}`);
    assert.equal(input.linesPassed, acc.handed.size, "lines handed over, as the summary counts");
    // handed over = in records + not understood or otherwise reported + ignored (by kind)
    const ignored = [...acc.kinds.values()].reduce((a, b) => a + b, 0);
    assert.equal(input.linesSkipped, ignored);
    assert.deepEqual(
      (input.ignoredBy ?? []).map((k) => [k.kind, k.count]).sort(),
      [...acc.kinds].sort(),
      "the summary names the ignored kinds",
    );
    const bug = input.issues
      .find((i) => i.code === "unparsed_line")
      ?.examples.filter((x) => x.message.includes("a reader bug"));
    assert.deepEqual(bug ?? [], []);
  }
  return watched;
}

describe("every line handed to a reader is accounted for: fixtures", () => {
  it("has fixtures to check", () => assert.ok(FIXTURES.length >= 15, `${FIXTURES.length}`));
  for (const file of FIXTURES) {
    it(file.slice(READERS_DIR.length + 1), async () => {
      const watched = await check(file);
      if (!/\.(?:json|ndjson)$/.test(file)) assert.ok(watched.length > 0, "read by a line reader");
    });
  }
});

describe(
  "every line handed to a reader is accounted for: real samples",
  {
    skip: realSamplesSkip(),
  },
  () => {
    for (const file of filesIn(REAL_SAMPLES)) {
      it(file.slice(REAL_SAMPLES.length + 1), async () => {
        await check(file);
      });
    }
  },
);
