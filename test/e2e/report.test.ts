/**
 * `guestops report` and `guestops coverage` end to end (no browser): the same inputs or store give
 * the same bytes, stateless and stored answers agree, hostile names are escaped in HTML, Markdown,
 * CSV and terminal output, large estates are aggregated, and bad usage is a clear error.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { run } from "../../src/cli/run.js";
import type { CoverageReport } from "../../src/coverage/findings.js";
import type { AuditReport } from "../../src/report/audit/model.js";
import { fakeIo } from "../helpers/cli.js";
import {
  expectedFigures,
  HOSTILE_ACCOUNT,
  HOSTILE_VM,
  TERMINAL_VM,
  writeAuditFixture,
} from "../helpers/audit-fixture.js";
import { writeEstate } from "../helpers/estate.js";

async function cli(
  cwd: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const { io, out, err } = fakeIo(cwd);
  const code = await run(args, io);
  return { code, out: out.join(""), err: err.join("") };
}

function fixture() {
  const dir = mkdtempSync(join(tmpdir(), "guestops-report-"));
  return { dir, ...writeAuditFixture(dir) };
}

describe("guestops report", () => {
  it("gives the same bytes for the same inputs, and for the same store", async () => {
    const { dir, events, policy } = fixture();
    const outputs: Record<string, string> = {};
    for (const format of ["html", "md", "json"]) {
      for (const name of ["a", "b"]) {
        const out = join(dir, `${name}.${format}`);
        const args = ["report", events, "--policy", policy, "--format", format, "--out", out];
        assert.equal((await cli(dir, args)).code, 0);
        outputs[`${name}.${format}`] = readFileSync(out, "utf8");
      }
      assert.equal(outputs[`a.${format}`], outputs[`b.${format}`], `${format} is deterministic`);
    }
    const db = join(dir, "store.db");
    for (const name of ["s1", "s2"]) {
      const out = join(dir, `${name}.html`);
      const args = ["report", events, "--db", db, "--policy", policy, "--out", out];
      assert.equal((await cli(dir, args)).code, 0);
      outputs[name] = readFileSync(out, "utf8");
    }
    assert.equal(outputs["s1"], outputs["s2"], "a second run on the store gives the same bytes");
    assert.equal(outputs["s1"], outputs["a.html"], "stored and stateless reports agree");
    // the store alone, without paths
    const alone = join(dir, "alone.html");
    assert.equal(
      (await cli(dir, ["report", "--db", db, "--policy", policy, "--out", alone])).code,
      0,
    );
    assert.equal(readFileSync(alone, "utf8"), outputs["a.html"]);
  });

  it("states the figures computed from the fixture in its JSON form", async () => {
    const { dir, events, policy } = fixture();
    const out = join(dir, "r.json");
    const args = ["report", events, "--policy", policy, "--format", "json", "--out", out];
    assert.equal((await cli(dir, args)).code, 0);
    const r = JSON.parse(readFileSync(out, "utf8")) as AuditReport;
    const x = expectedFigures();
    assert.equal(r.schema, "guestops.report/1");
    assert.equal(r.headline.operations, x.operations);
    assert.equal(r.headline.principals, x.principals);
    assert.equal(r.headline.vms, x.vms);
    assert.equal(r.headline.afterHours.count, x.afterHours);
    assert.equal(r.headline.critical.count, x.critical);
    assert.equal(r.headline.attributed.count, x.attributed);
    assert.equal(r.timeline.points.length, x.days);
    assert.equal(
      r.heatmap.flat().reduce((a, b) => a + b, 0),
      x.operations,
    );
    // critical tiers first
    assert.deepEqual(
      r.vms.slice(0, 3).map((v) => v.tier),
      ["critical", "critical", undefined],
    );
    // incidents most severe first
    const ranks = r.incidents.map((i) =>
      ["info", "low", "medium", "high", "critical"].indexOf(i.severity),
    );
    assert.deepEqual(
      ranks,
      [...ranks].sort((a, b) => b - a),
    );
    assert.ok(r.answers.some((a) => a.includes(`${x.operations} guest operations`)));
    // --since/--until cut the operations
    const cut = join(dir, "cut.json");
    const range = [
      ...args.slice(0, -2),
      "--out",
      cut,
      "--since",
      "2026-03-07",
      "--until",
      "2026-03-07",
    ];
    assert.equal((await cli(dir, range)).code, 0);
    const day = JSON.parse(readFileSync(cut, "utf8")) as AuditReport;
    assert.equal(day.headline.operations, 3);
    assert.equal(day.since, "2026-03-07T00:00:00.000Z");
  });

  it("escapes hostile names in HTML, Markdown, CSV and terminal output", async () => {
    const { dir, events, policy } = fixture();
    const html = join(dir, "r.html");
    const md = join(dir, "r.md");
    assert.equal((await cli(dir, ["report", events, "--policy", policy, "--out", html])).code, 0);
    const page = readFileSync(html, "utf8");
    assert.ok(!page.includes("<img"), "no raw tag from a log");
    assert.ok(!/<script/i.test(page), "no script at all");
    assert.ok(page.includes("&lt;img src=x onerror=alert(1)&gt;"));
    assert.ok(page.includes("=cmd|&#39; /c calc&#39;!A1"));
    assert.ok(!page.includes("\u001b") && !page.includes("\u202e"), "controls made visible");
    assert.ok(page.includes("evil\\x1B[2J\\u{202E}exe.vm"));
    assert.match(page, /Content-Security-Policy" content="default-src 'none'/);

    const mdArgs = ["report", events, "--policy", policy, "--format", "md", "--out", md];
    assert.equal((await cli(dir, mdArgs)).code, 0);
    const text = readFileSync(md, "utf8");
    assert.ok(!text.includes("<img"));
    assert.ok(text.includes("&lt;img src=x onerror=alert(1)&gt;"));
    assert.ok(text.includes("\\=cmd\\|' /c calc'!A1"), "the account's | cannot split a cell");
    assert.ok(!text.includes(HOSTILE_ACCOUNT), "never written raw");
    for (const line of text.split("\n").filter((l) => l.startsWith("| ") && l.includes("cmd"))) {
      const header = text.split("\n").find((l) => l.startsWith("| Principal |"));
      if (line.includes("calc") && header && line.includes("exact")) {
        assert.equal(line.split(/(?<!\\)\|/).length, header.split("|").length, "cells intact");
      }
    }

    const csv = await cli(dir, ["events", events, "--format", "csv"]);
    assert.equal(csv.code, 0);
    assert.ok(csv.out.includes(`'${HOSTILE_ACCOUNT}`), "the formula is neutralised");
    for (const field of csv.out.split(/,|\r\n/)) {
      assert.ok(!/^"?[=+@]/.test(field), `no field opens a formula: ${field}`);
    }
    assert.ok(!csv.out.includes("\u001b"));

    for (const args of [
      ["events", events, "--format", "table"],
      ["coverage", events, "--policy", policy],
      ["scan", events, "--policy", policy],
    ]) {
      const r = await cli(dir, args);
      const all = r.out + r.err;
      // eslint-disable-next-line no-control-regex -- the controls are what is checked
      assert.ok(!/[\u001b\u202e\u0007]/.test(all), `${args[0]}: no raw control on the terminal`);
    }
    const table = await cli(dir, ["events", events, "--format", "table"]);
    assert.ok(table.out.includes("evil\\x1B[2J"), "the escape is shown, not run");
    assert.ok(table.out.includes(HOSTILE_VM.slice(0, 10)), "HTML in a terminal is plain text");
    assert.ok(TERMINAL_VM.includes("\u001b"));
  });

  it("aggregates a large estate instead of listing every row", async () => {
    const dir = mkdtempSync(join(tmpdir(), "guestops-estate-"));
    const estate = writeEstate(dir, { hosts: 12, vmsPerHost: 6, runs: 120 });
    const out = join(dir, "r.json");
    const args = ["report", ...estate.paths, "--format", "json", "--out", out];
    assert.equal((await cli(dir, args)).code, 0);
    const r = JSON.parse(readFileSync(out, "utf8")) as AuditReport;
    assert.ok(r.headline.vms > 50, `${r.headline.vms} VMs`);
    assert.equal(r.vms.length, 50);
    assert.equal(r.vmsRest?.rows, r.headline.vms - 50);
    const listed = r.vms.reduce((n, v) => n + v.operations, 0);
    assert.equal(listed + (r.vmsRest?.operations ?? 0), r.headline.operations);
  });

  it("refuses bad usage with a clear error", async () => {
    const { dir, events } = fixture();
    assert.equal((await cli(dir, ["report", events])).code, 2, "--out is required");
    const none = await cli(dir, ["report", "--out", join(dir, "x.html")]);
    assert.equal(none.code, 2);
    assert.match(none.err, /paths to read, or a store/);
    const since = ["report", events, "--out", join(dir, "x.html"), "--since", "2026-03-08"];
    assert.equal((await cli(dir, [...since, "--until", "2026-03-01"])).code, 2);
  });
});

describe("guestops coverage", () => {
  it("gives the same findings from the paths and from the store", async () => {
    const { dir, events, policy } = fixture();
    const stateless = await cli(dir, ["coverage", events, "--policy", policy, "--format", "json"]);
    assert.equal(stateless.code, 0);
    const a = JSON.parse(stateless.out) as CoverageReport & { schema: string };
    assert.equal(a.schema, "guestops.coverage/1");
    const db = join(dir, "c.db");
    const args = ["coverage", events, "--db", db, "--policy", policy, "--format", "json"];
    const stored = await cli(dir, args);
    assert.equal(stored.code, 0);
    assert.deepEqual(JSON.parse(stored.out), a);
    assert.equal(a.firstEvidence, `${expectedFigures().firstEvidence.slice(0, 19)}.000Z`);
    // events only, no host logs: hostd and audit records are absent, each with its fix
    const absent = a.findings.filter((f) => f.kind === "source-absent").map((f) => f.source);
    assert.deepEqual(absent.sort(), ["audit records", "hostd", "vmware.log", "vpxd"]);
    assert.ok(a.findings.every((f) => f.kind === "hostd-restart" || f.fix.length > 0));
    // the policy's 30 days, measured back from the newest event
    assert.equal(a.retentionDays, 30);
    assert.ok(a.findings.some((f) => f.kind === "retention-short"));
    const md = await cli(dir, ["coverage", events, "--policy", policy, "--format", "md"]);
    assert.ok(md.out.startsWith("# Logging coverage"));
    assert.ok(!md.out.includes("<img"));
  });

  it("needs paths or a store, and a known format", async () => {
    const { dir, events } = fixture();
    assert.equal((await cli(dir, ["coverage"])).code, 2);
    assert.equal((await cli(dir, ["coverage", events, "--format", "xml"])).code, 2);
    const late = await cli(dir, ["coverage", events, "--as-of", "2026-06-01", "--format", "json"]);
    assert.equal((JSON.parse(late.out) as CoverageReport).asOf, "2026-06-01T00:00:00.000Z");
  });
});
