/**
 * Fuzzing the CLI with a fixed seed: mutated real samples, reader fixtures, the example's logs,
 * policies and calendars go through `inspect`, `events`, `scan`, `coverage`, `report` and `policy check` in every output
 * format. Every case must end with exit code 0, 1 or 2 (never a thrown bug: `run` rethrows those),
 * print no stack trace, write output that parses (json, ndjson) and carries no raw terminal
 * controls (table), and stay within a bounded time and heap. The case count is fixed; the suite's
 * own time limit turns a hang into a failure.
 */
import assert from "node:assert/strict";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { run } from "../src/cli/run.js";
import { fakeIo } from "./helpers/cli.js";
import { mulberry32 } from "./helpers/random.js";
import { REAL_SAMPLES } from "./helpers/reader-harness.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "guestops-fuzz-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** CI runs the fixed seed; `FUZZ_SEED` and `FUZZ_CASES` (a multiplier) explore further by hand. */
const SEED = Number(process.env["FUZZ_SEED"] ?? 0x6f757a7a);
const SCALE = Number(process.env["FUZZ_CASES"] ?? 1);
const LOG_CASES = Math.round(60 * SCALE);
const POLICY_CASES = Math.round(40 * SCALE);
const COVERAGE_CASES = Math.round(20 * SCALE);
/** Per case: far above what any case needs here, far below a hang. */
const CASE_MS = 20_000;
const HEAP_BYTES = 1.5 * 1024 ** 3;

/** Every regular file below `path`. */
function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && !d.name.endsWith(".md"))
    .map((d) => join(d.parentPath ?? d.path, d.name))
    .sort();
}

const logCorpus = [
  ...filesUnder(REAL_SAMPLES),
  ...filesUnder(join(root, "examples/logs")),
  ...filesUnder(join(root, "src/ingest/readers")).filter((f) => f.includes("/fixtures/")),
].map((f) => readFileSync(f));

const policyCorpus = [
  join(root, "examples/policy.yaml"),
  ...filesUnder(join(root, "examples/policies")).filter((f) => f.endsWith(".yaml")),
  join(root, "src/detect/fixtures/site-policy.yaml"),
].map((f) => readFileSync(f, "utf8"));
const calendar = readFileSync(join(root, "examples/policies/changes.ics"), "utf8");

/** Strings logs may carry to break a parser, an output or a terminal. */
const HOSTILE = [
  "]",
  "] [",
  "[",
  "\u001b]0;owned\u0007",
  "\u001b[2J",
  "\u009b31m",
  "\u202e",
  "\u0000",
  "\u0000".repeat(300),
  "=cmd|' /c calc'!A1",
  "__proto__",
  "constructor",
  "<img src=x onerror=alert(1)>",
  "x".repeat(70_000),
  "\r",
  "\n-->",
  '"',
  "\\",
  "Guest operation Start Program performed on Virtual machine ",
  "[VpxLRO] -- ERROR lro-1 -- vm-1 -- vim.vm.guest.ProcessManager.startProgram: ",
  "Event 1 : ",
  "9999-99-99T99:99:99Z",
  "2026-03-29T02:30:00+99:00",
];

/** Hostile policy values: huge numbers, endless recurrences, bad zones, patterns, paths. */
const HOSTILE_VALUES = [
  "FREQ=DAILY;INTERVAL=99999999999",
  "FREQ=WEEKLY;BYMONTHDAY=31",
  "FREQ=HOURLY;COUNT=99999999",
  "FREQ=SECONDLY",
  "Mars/Olympus_Mons",
  "*".repeat(100),
  "/dev/zero",
  "99999999999999999999",
  "-1",
  "25:61",
  "__proto__",
  "2000-01-01T00:00",
  "'\u0000'",
  "{a: [b",
];

type Rand = () => number;
const pick = <T>(rand: Rand, list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;

/** One mutation of a log: flips, hostile strings, cut lines, repeats and splices. */
function mutateLog(rand: Rand, input: Buffer, other: Buffer): Buffer {
  let bytes = Buffer.from(input);
  const rounds = 1 + Math.floor(rand() * 4);
  for (let r = 0; r < rounds; r++) {
    const at = Math.floor(rand() * (bytes.length + 1));
    switch (Math.floor(rand() * 6)) {
      case 0: // flip bytes
        for (let i = 0; i < 1 + rand() * 8; i++) {
          const p = Math.floor(rand() * bytes.length);
          if (bytes.length > 0) bytes[p] = Math.floor(rand() * 256);
        }
        break;
      case 1: // a hostile string
        bytes = Buffer.concat([
          bytes.subarray(0, at),
          Buffer.from(pick(rand, HOSTILE)),
          bytes.subarray(at),
        ]);
        break;
      case 2: // truncate
        bytes = bytes.subarray(0, at);
        break;
      case 3: {
        // repeat a slice many times (replayed files, duplicating receivers)
        const slice = bytes.subarray(at, Math.min(bytes.length, at + 1 + Math.floor(rand() * 400)));
        const copies = Array.from({ length: 1 + Math.floor(rand() * 200) }, () => slice);
        bytes = Buffer.concat([bytes.subarray(0, at), ...copies, bytes.subarray(at)]);
        break;
      }
      case 4: // splice another input in
        bytes = Buffer.concat([
          bytes.subarray(0, at),
          other.subarray(Math.floor(rand() * other.length)),
          bytes.subarray(at),
        ]);
        break;
      default: {
        // shuffle two lines
        const lines = bytes.toString("latin1").split("\n");
        const a = Math.floor(rand() * lines.length);
        const b = Math.floor(rand() * lines.length);
        [lines[a], lines[b]] = [lines[b] ?? "", lines[a] ?? ""];
        bytes = Buffer.from(lines.join("\n"), "latin1");
      }
    }
  }
  return bytes;
}

/** One mutation of a policy: a scalar replaced by a hostile value, or the text cut. */
function mutatePolicy(rand: Rand, text: string): string {
  const lines = text.split("\n");
  const rounds = 1 + Math.floor(rand() * 3);
  for (let r = 0; r < rounds; r++) {
    const i = Math.floor(rand() * lines.length);
    const line = lines[i] ?? "";
    const colon = line.indexOf(": ");
    const value = pick(rand, HOSTILE_VALUES);
    if (rand() < 0.15) {
      lines.splice(i); // cut
      break;
    }
    lines[i] =
      colon > 0 ? `${line.slice(0, colon + 2)}${JSON.stringify(value)}` : `${line}${value}`;
  }
  return lines.join("\n");
}

/** Valid but hostile rules: endless or dense recurrences, hostile names, heavy globs. */
const RRULES = [
  "FREQ=HOURLY",
  "FREQ=DAILY;INTERVAL=1000",
  "FREQ=DAILY;INTERVAL=99999999999",
  "FREQ=WEEKLY;BYMONTHDAY=31",
  "FREQ=MONTHLY;BYMONTHDAY=31",
  "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
  "FREQ=MINUTELY",
  "FREQ=HOURLY;COUNT=100000",
];

/** A small valid policy with one hostile window, account and calendar. */
function hostilePolicy(rand: Rand): string {
  const name = JSON.stringify(pick(rand, HOSTILE));
  const glob = JSON.stringify(pick(rand, ["*".repeat(100), "*a?".repeat(40), pick(rand, HOSTILE)]));
  return [
    "sites:",
    "  - { name: s, zone: Europe/Paris, default: true, businessHours: [{ days: mon-fri, start: '08:00', end: '18:00' }] }",
    "accounts:",
    `  - { name: ${name}, role: admin, vms: [${glob}] }`,
    "windows:",
    "  - ref: FUZZ",
    `    start: ${pick(rand, ["2000-01-01T00:00", "2026-03-29T02:30", "2026-03-10T09:00"])}`,
    "    end: 2000-01-01T01:00",
    `    rrule: ${JSON.stringify(pick(rand, RRULES))}`,
    "  - ics: changes.ics",
  ].join("\n");
}

interface Outcome {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function cli(argv: readonly string[], cwd: string): Promise<Outcome> {
  const { io, out, err } = fakeIo(cwd);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CASE_MS} ms`)), CASE_MS);
  });
  try {
    const code = await Promise.race([run(argv, io), timeout]);
    return { code, out: out.join(""), err: err.join("") };
  } catch (error) {
    // run() rethrows only bugs: that is a failure of the case
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    assert.fail(`guestops ${argv.join(" ")} threw: ${text.slice(0, 2000)}`);
  } finally {
    clearTimeout(timer);
  }
}

const codes = new Map<string, number>();
function check(argv: readonly string[], r: Outcome, format: string): void {
  const k = `${argv[0]} ${r.code}`;
  codes.set(k, (codes.get(k) ?? 0) + 1);
  const what = `guestops ${argv.join(" ")}`;
  assert.ok([0, 1, 2].includes(r.code), `${what}: exit ${r.code}`);
  assert.doesNotMatch(r.err, /\n\s+at .+:\d+:\d+\)?\n/, `${what}: stack trace on stderr`);
  // no raw terminal controls in what a terminal shows
  // eslint-disable-next-line no-control-regex
  const controls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
  assert.doesNotMatch(
    r.err.replace(/\r?\n/g, ""),
    controls,
    `${what}: control character on stderr`,
  );
  if (r.code === 2) return;
  if (format === "json") JSON.parse(r.out);
  else if (format === "ndjson") {
    for (const line of r.out.split("\n")) if (line.trim() !== "") JSON.parse(line);
  } else if (format === "table") {
    assert.doesNotMatch(
      r.out.replace(/\r?\n/g, ""),
      controls,
      `${what}: control character in the table`,
    );
  }
  assert.ok(process.memoryUsage().heapUsed < HEAP_BYTES, `${what}: heap above ${HEAP_BYTES} bytes`);
}

describe("fuzzing the CLI (fixed seed)", { timeout: 600_000 }, () => {
  it(`${LOG_CASES} mutated logs through inspect, events and scan`, async () => {
    assert.ok(logCorpus.length > 10);
    const rand = mulberry32(SEED);
    for (let n = 0; n < LOG_CASES; n++) {
      const caseDir = join(dir, `log-${n}`);
      mkdirSync(caseDir);
      const base = pick(rand, logCorpus);
      writeFileSync(
        join(caseDir, rand() < 0.5 ? "hostd.log" : "input.log"),
        mutateLog(rand, base, pick(rand, logCorpus)),
      );
      if (rand() < 0.3)
        writeFileSync(join(caseDir, "other.log"), mutateLog(rand, pick(rand, logCorpus), base));
      const format = pick(rand, ["table", "ndjson", "json", "csv"]);
      const command = pick(rand, ["inspect", "events", "scan"]);
      const argv =
        command === "inspect"
          ? ["inspect", caseDir, ...(format === "json" ? ["--json"] : [])]
          : command === "events"
            ? ["events", caseDir, "--format", format]
            : ["scan", caseDir, "--format", format, "--policy", join(root, "examples/policy.yaml")];
      check(
        argv,
        await cli(argv, caseDir),
        command === "inspect" ? (format === "json" ? "json" : "table") : format,
      );
    }
  });

  it(`${POLICY_CASES} mutated policies and calendars through policy check and scan`, async () => {
    const rand = mulberry32(SEED + 1);
    for (let n = 0; n < POLICY_CASES; n++) {
      const caseDir = join(dir, `policy-${n}`);
      mkdirSync(caseDir);
      const text =
        rand() < 0.5 ? hostilePolicy(rand) : mutatePolicy(rand, pick(rand, policyCorpus));
      writeFileSync(join(caseDir, "policy.yaml"), text);
      // calendars the policies name: mutated too
      const ics = mutateLog(rand, Buffer.from(calendar), Buffer.from(pick(rand, HOSTILE_VALUES)));
      writeFileSync(join(caseDir, "changes.ics"), ics);
      const check1 = ["policy", "check", join(caseDir, "policy.yaml")];
      check(check1, await cli(check1, caseDir), "text");
      const format = pick(rand, ["table", "json"]);
      const scan = [
        "scan",
        join(root, "examples/logs"),
        "--policy",
        join(caseDir, "policy.yaml"),
        "--format",
        format,
      ];
      check(scan, await cli(scan, caseDir), format);
    }
  });

  it(`${COVERAGE_CASES} mutated logs through coverage and report`, async () => {
    const rand = mulberry32(SEED + 2);
    for (let n = 0; n < COVERAGE_CASES; n++) {
      const caseDir = join(dir, `coverage-${n}`);
      mkdirSync(caseDir);
      const base = pick(rand, logCorpus);
      writeFileSync(join(caseDir, "input.log"), mutateLog(rand, base, pick(rand, logCorpus)));
      const policy = ["--policy", join(root, "examples/policy.yaml")];
      if (rand() < 0.5) {
        const format = pick(rand, ["table", "json", "md"]);
        const argv = ["coverage", caseDir, ...policy, "--format", format];
        check(argv, await cli(argv, caseDir), format);
      } else {
        const format = pick(rand, ["html", "md", "json"]);
        const out = join(caseDir, `report.${format}`);
        const argv = ["report", caseDir, ...policy, "--format", format, "--out", out];
        const r = await cli(argv, caseDir);
        check(argv, r, "text");
        if (r.code !== 2) {
          const text = readFileSync(out, "utf8");
          if (format === "json") JSON.parse(text);
          if (format === "html") assert.doesNotMatch(text, /<script|<img|<[a-z]+[^>]*\son\w+=/i);
        }
      }
    }
  });

  it("reached both the success and the refusal paths (the mutations are not all fatal)", () => {
    for (const k of ["inspect 0", "events 0", "scan 0", "policy 0", "policy 2"]) {
      assert.ok((codes.get(k) ?? 0) > 0, `no case ended with ${k}: ${JSON.stringify([...codes])}`);
    }
  });
});
