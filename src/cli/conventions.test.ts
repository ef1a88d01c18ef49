import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { fakeIo } from "../../test/helpers/cli.js";
import { displayWidth, truncateToWidth, wrapToWidth } from "../shared/width.js";
import { layoutTable } from "../report/table.js";
import { run } from "./run.js";
import { useColor } from "./terminal.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const LOGS = join(ROOT, "examples", "logs");
const dir = mkdtempSync(join(tmpdir(), "guestops-conv-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("output conventions", () => {
  it("infers the format from --out's extension and never overwrites without --force", async () => {
    const out = join(dir, "ops.ndjson");
    const first = fakeIo(dir);
    assert.equal(await run(["events", LOGS, "-o", out, "-q"], first.io), 0);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    assert.equal(lines.length, 52);
    assert.equal(
      (JSON.parse(lines[0] ?? "{}") as { schema: string }).schema,
      "guestops.operation/3",
    );
    assert.deepEqual(first.err, [], "-q: nothing on stderr");
    writeFileSync(out, "keep me");
    const again = fakeIo(dir);
    assert.equal(await run(["events", LOGS, "-o", out], again.io), 2);
    assert.match(
      again.err.join("\n"),
      /^guestops: ERR_OUTPUT: --out .* exists; not overwritten\n {2}hint: Add --force/,
    );
    assert.equal(readFileSync(out, "utf8"), "keep me");
    assert.equal(await run(["events", LOGS, "-o", out, "--force", "-q"], fakeIo(dir).io), 0);
    assert.notEqual(readFileSync(out, "utf8"), "keep me");
    const unknown = fakeIo(dir);
    assert.equal(await run(["scan", LOGS, "-o", join(dir, "x.log")], unknown.io), 2);
    assert.match(unknown.err.join("\n"), /cannot tell the format from --out's extension ".log"/);
    assert.equal(existsSync(join(dir, "x.log")), false);
  });

  it("says which format it wrote when nobody chose one and stdout is no terminal", async () => {
    const piped = fakeIo(dir);
    await run(["scan", LOGS], piped.io);
    assert.match(piped.err.at(-1) ?? "", /^guestops: wrote the table format/);
    const chosen = fakeIo(dir);
    await run(["scan", LOGS, "-f", "CSV"], chosen.io);
    assert.doesNotMatch(chosen.err.join("\n"), /wrote the/);
    assert.match(chosen.out.join("\n"), /^id,severity,rules/, "case-insensitive choice");
  });

  it("--json is the same as --format json on scan, events, inspect, ingest-less policy check", async () => {
    for (const args of [
      ["scan", LOGS, "--json"],
      ["events", LOGS, "--json"],
      ["inspect", LOGS, "--json"],
      ["policy", "check", join(ROOT, "examples", "policy.yaml"), "--json"],
    ]) {
      const r = fakeIo(dir);
      assert.equal(await run(args, r.io), 0, `${args.join(" ")}: ${r.err.join("\n")}`);
      assert.doesNotThrow(() => JSON.parse(r.out.join("\n")), args.join(" "));
    }
    const both = fakeIo(dir);
    assert.equal(await run(["scan", LOGS, "--json", "-f", "csv"], both.io), 2);
    assert.match(both.err.join("\n"), /ERR_USAGE: --json and --format csv/);
  });

  it("prints commander's own usage errors in the one error style", async () => {
    for (const [args, message] of [
      [
        ["scan", "--bogus"],
        /^guestops: ERR_USAGE: unknown option '--bogus'\n {2}hint: guestops scan --help/,
      ],
      [["evnts"], /^guestops: ERR_USAGE: unknown command 'evnts' \(Did you mean events\?\)/],
      [
        ["scan", LOGS, "--fail-on", "severe"],
        /^guestops: ERR_USAGE: --fail-on "severe" is not one of/,
      ],
      [
        ["policy", "check"],
        /^guestops: ERR_USAGE: missing required argument 'file'\n {2}hint: guestops policy check --help/,
      ],
    ] as const) {
      const r = fakeIo(dir);
      assert.equal(await run([...args], r.io), 2);
      assert.match(r.err.join("\n"), message);
    }
  });

  it("reads standard input when no path is given and stdin is no terminal; refuses at a terminal", async () => {
    const log = readFileSync(join(LOGS, "syslog", "vcsa01-events.log"));
    const piped = fakeIo(dir, log);
    assert.equal(await run(["events", "-f", "ndjson", "-q"], piped.io), 0);
    const byPath = fakeIo(dir);
    await run(["events", join(LOGS, "syslog", "vcsa01-events.log"), "-f", "ndjson"], byPath.io);
    const count = (t: string[]) => t.join("\n").trim().split("\n").length;
    assert.ok(count(piped.out) > 0);
    assert.equal(count(piped.out), count(byPath.out));
    const tty = fakeIo(dir);
    assert.equal(await run(["events"], { ...tty.io, isStdinTty: true }), 2);
    assert.match(tty.err.join("\n"), /ERR_USAGE: no input/);
  });

  it("--account takes a bare user; a filter matching nothing says so; inverted --since/--until is refused", async () => {
    const bare = fakeIo(dir);
    assert.equal(await run(["events", LOGS, "--account", "svc-aria", "-f", "ndjson"], bare.io), 0);
    assert.equal(bare.out.join("\n").trim().split("\n").length, 5);
    const none = fakeIo(dir);
    await run(["events", LOGS, "--account", "nobody"], none.io);
    assert.match(
      none.err.join("\n"),
      /the filters \(--account nobody\) matched none of the 52 operations[^]*accounts seen: CORP\\svc-veeam \(28\)/,
    );
    const inverted = fakeIo(dir);
    assert.equal(
      await run(["events", LOGS, "--since", "2026-03-14", "--until", "2026-03-10"], inverted.io),
      2,
    );
    assert.match(
      inverted.err.join("\n"),
      /ERR_USAGE: --until 2026-03-10 is not later than --since/,
    );
  });

  it("--tz shows table times in a zone; --local and --tz together are refused", async () => {
    const r = fakeIo(dir);
    await run(["events", LOGS, "--tz", "Europe/Paris"], r.io);
    assert.match(r.out.join("\n"), /^TIME \(Europe\/Paris\)/);
    assert.match(r.out.join("\n"), /2026-03-10 10:15:02\+01:00/);
    const both = fakeIo(dir);
    assert.equal(await run(["events", LOGS, "--tz", "UTC", "--local"], both.io), 2);
  });

  it("compact evidence by default, every session line with --evidence full; every key present", async () => {
    const compact = fakeIo(dir);
    await run(["events", LOGS, "-f", "ndjson"], compact.io);
    const full = fakeIo(dir);
    await run(["events", LOGS, "-f", "ndjson", "--evidence", "FULL"], full.io);
    type Ev = { id: string; raw: string | null; sha256: string; line: number };
    const parse = (t: string[]) =>
      t
        .join("\n")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as { evidence: Ev[]; host: unknown; opId: unknown });
    const c = parse(compact.out);
    const f = parse(full.out);
    const sessions = (ops: { evidence: Ev[] }[]) =>
      ops.flatMap((o) => o.evidence.filter((e) => e.id.startsWith("session:")));
    assert.ok(sessions(f).length > 0);
    assert.ok(
      sessions(c).every((e) => e.raw === null && /^[0-9a-f]{64}$/.test(e.sha256) && e.line > 0),
    );
    assert.ok(sessions(f).every((e) => typeof e.raw === "string"));
    assert.ok(
      c.every((o) =>
        o.evidence.filter((e) => e.id.startsWith("obs:")).every((e) => typeof e.raw === "string"),
      ),
    );
    assert.ok(
      c.every((o) => "host" in o && "opId" in o),
      "keys present",
    );
    assert.ok(compact.out.join("").length < full.out.join("").length);
  });
});

describe("terminal", () => {
  it("colour: always/never decide; NO_COLOR, FORCE_COLOR, then a terminal under auto", () => {
    const io = fakeIo().io;
    assert.equal(useColor("always", io), true);
    assert.equal(useColor("never", { ...io, isStdoutTty: true }), false);
    assert.equal(useColor("auto", io), false, "not a terminal");
    assert.equal(useColor(undefined, { ...io, isStdoutTty: true }), true);
    assert.equal(useColor("auto", { ...io, isStdoutTty: true, env: { NO_COLOR: "1" } }), false);
    assert.equal(useColor("auto", { ...io, env: { FORCE_COLOR: "1" } }), true);
    assert.equal(useColor("auto", { ...io, isStdoutTty: true, env: { FORCE_COLOR: "0" } }), false);
  });

  it("measures wide and combining characters by their columns", () => {
    assert.equal(displayWidth("虚拟机"), 6);
    assert.equal(displayWidth("e\u0301"), 1);
    assert.equal(truncateToWidth("虚拟机-01", 5), "虚拟…");
    assert.equal(displayWidth(truncateToWidth("虚拟机-01", 5)), 5);
    assert.deepEqual(wrapToWidth("aa bb  cc", 5), ["aa bb", "cc"]);
  });

  it("drops the least important columns first and keeps the important ones whole", () => {
    const cols = [
      { title: "A", priority: 0, value: (r: string) => r },
      { title: "B", priority: 2, min: 4, value: () => "bbbbbbbbbb" },
      { title: "C", priority: 1, min: 4, value: () => "cccccccccc" },
    ];
    const narrow = layoutTable(cols, ["x".repeat(20)], { width: 30, wide: false });
    assert.deepEqual(
      narrow.columns.map((c) => c.title),
      ["A", "C"],
    );
    assert.deepEqual(narrow.widths, [20, 8]);
    assert.deepEqual(narrow.dropped, ["B"]);
    const wide = layoutTable(cols, ["x".repeat(20)], { width: 30, wide: true });
    assert.equal(wide.columns.length, 3);
  });

  it("bash completion completes commands, options and choices", () => {
    const script = fakeIo();
    return run(["completion", "bash"], script.io).then((code) => {
      assert.equal(code, 0);
      const file = join(dir, "guestops.bash");
      writeFileSync(file, script.out.join("\n"));
      const complete = (words: string) =>
        spawnSync(
          "bash",
          [
            "-c",
            `source ${file}; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _guestops; echo "\${COMPREPLY[@]}"`,
          ],
          { encoding: "utf8" },
        ).stdout.trim();
      assert.equal(complete("guestops sc"), "scan");
      assert.match(complete("guestops scan --fo"), /--format/);
      assert.equal(complete("guestops scan --format nd"), "ndjson");
    });
  });
});
