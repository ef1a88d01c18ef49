import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { Command } from "commander";
import { isGuestOpsError } from "../../shared/errors.js";
import type { ExitCode, Io } from "../types.js";
import { parseTimeBound } from "../time-bound.js";
import { buildFilters, eventsCommand } from "./events.js";
import { correlate } from "../../attribute/correlate.js";
import { vic3029, artefactsHostd } from "../../attribute/fixtures/records.js";
import { fakeIo } from "../../../test/helpers/cli.js";
import { realSample, realSamplesSkip } from "../../../test/helpers/reader-harness.js";

/** Runs `guestops events ...` through commander, as the CLI does. */
async function runEvents(args: string[], io: Io): Promise<ExitCode> {
  let code: ExitCode = 0;
  const program = new Command("guestops").exitOverride();
  eventsCommand.register(program, io, (c) => (code = c));
  await program.parseAsync(["events", ...args], { from: "user" });
  return code;
}

const skip = realSamplesSkip();

describe("guestops events", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-events-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(
    "prints the 8 operations of the two artefacts files as ndjson, the summary on stderr",
    { skip },
    async () => {
      const { io, out, err } = fakeIo(dir);
      const code = await runEvents(
        [
          realSample("artefacts-help-esxi8-hostd.log"),
          realSample("artefacts-help-esxi8-vm-vmware-log.log"),
          "--format",
          "ndjson",
        ],
        io,
      );
      assert.equal(code, 0);
      const lines = out.join("\n").split("\n");
      assert.equal(lines.length, 8);
      const first = JSON.parse(lines[0] ?? "{}") as {
        schema: string;
        api: string;
        evidence: { sha256: string }[];
      };
      assert.equal(first.schema, "guestops.operation/3");
      assert.equal(first.api, "InitiateFileTransferToGuest");
      assert.match(first.evidence[0]?.sha256 ?? "", /^[0-9a-f]{64}$/);
      const summary = err.join("\n");
      assert.match(summary, /8 operations from 2 inputs/);
      assert.match(summary, /^formats: hostd 1, vmx 1 \(-v lists every input/m);
      assert.match(summary, /coverage \(exact \+ correlated\) 0%/);
      assert.doesNotMatch(summary, /sha256 [0-9a-f]{64}/, "inputs listed only with --verbose");
      assert.match(summary, /forward vCenter events/);
    },
  );

  it("writes one JSON document with schema, context and summary to --out", { skip }, async () => {
    const { io, out, err } = fakeIo(dir);
    const code = await runEvents(
      [
        realSample("vmware-vic-issue-3029-hostd-esxi65-guestops.log"),
        "--format",
        "json",
        "--out",
        "ops.json",
      ],
      io,
    );
    assert.equal(code, 0);
    assert.equal(out.length, 0);
    assert.match(err.join("\n"), /2 operations/);
    const doc = JSON.parse(readFileSync(join(dir, "ops.json"), "utf8")) as {
      schema: string;
      context: {
        tool: { version: string };
        assumeTz: string;
        inputs: { sha256: string; format: string }[];
      };
      summary: { operations: number; coverage: number };
      operations: { attribution: { level: string; principal: { id: string } } }[];
    };
    assert.equal(doc.schema, "guestops.events/3");
    assert.equal(doc.context.assumeTz, "UTC");
    assert.equal(doc.context.inputs[0]?.format, "hostd");
    assert.match(doc.context.inputs[0]?.sha256 ?? "", /^[0-9a-f]{64}$/);
    assert.equal(doc.summary.operations, 2);
    assert.equal(doc.summary.coverage, 1);
    assert.equal(doc.operations[0]?.attribution.principal.id, "root");
  });

  it("filters by account, method and time, and says how many were left out", { skip }, async () => {
    const { io, out, err } = fakeIo(dir);
    const code = await runEvents(
      [
        realSample("artefacts-help-esxi8-vm-vmware-log.log"),
        "--method",
        "List Processes",
        "--since",
        "2024-06-04",
        "--format",
        "csv",
      ],
      io,
    );
    assert.equal(code, 0);
    const rows = out
      .join("\n")
      .split("\r\n")
      .filter((l) => l);
    assert.equal(rows.length, 3, "header and 2 ListProcesses");
    assert.match(err.join("\n"), /6 operations left out/);
  });

  it("escapes hostile VM names in the table", async () => {
    const file = join(dir, "evil-hostd.log");
    writeFileSync(
      file,
      "2024-06-04T21:58:00.975Z In(166) Hostd[1050232]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 246 : Guest operation Start Program performed on Virtual machine x\u001b[2Jy.\n",
    );
    const { io, out } = fakeIo(dir);
    assert.equal(await runEvents([file], io), 0);
    const text = out.join("\n");
    assert.match(text, /x\\x1B\[2Jy/);
    assert.ok(!text.includes("\u001b"));
  });

  it("refuses a time without a zone, with a hint", async () => {
    const { io } = fakeIo(dir);
    await assert.rejects(
      runEvents([join(dir, "evil-hostd.log"), "--since", "2024-06-04T10:00:00"], io),
      (e: unknown) => isGuestOpsError(e) && e.code === "ERR_USAGE" && /no zone/.test(e.message),
    );
  });

  it("a missing path is an input error", async () => {
    const { io } = fakeIo(dir);
    await assert.rejects(runEvents([join(dir, "nope.log")], io), (e: unknown) =>
      isGuestOpsError(e),
    );
  });
});

describe("events filters", () => {
  it("reads dates in the assumed zone and --until as the end of that day", () => {
    assert.equal(
      parseTimeBound("2024-06-04", "Europe/Paris", "since"),
      Date.parse("2024-06-03T22:00:00Z"),
    );
    assert.equal(parseTimeBound("2024-06-04", "UTC", "until"), Date.parse("2024-06-05T00:00:00Z"));
    assert.equal(
      parseTimeBound("2024-06-04T23:58:00+02:00", "UTC", "since"),
      Date.parse("2024-06-04T21:58:00Z"),
    );
  });

  it("matches accounts in any spelling, methods by spelling or category, hosts by any name", () => {
    const [op] = correlate(vic3029()).operations;
    assert.ok(op);
    assert.equal(buildFilters({ account: "ROOT" }, "UTC").test(op), true);
    assert.equal(buildFilters({ account: "CORP\\alice" }, "UTC").test(op), false);
    assert.equal(buildFilters({ method: "startProgram" }, "UTC").test(op), true);
    assert.equal(buildFilters({ method: "execute" }, "UTC").test(op), true);
    assert.equal(buildFilters({ method: "query" }, "UTC").test(op), false);
    assert.equal(buildFilters({ vm: "O5aVzp722s0Hq6O-*" }, "UTC").test(op), true);
    assert.throws(
      () => buildFilters({ method: "frobnicate" }, "UTC"),
      (e: unknown) => isGuestOpsError(e),
    );
    const inferred = correlate(artefactsHostd()).operations[0];
    assert.ok(inferred);
    assert.equal(buildFilters({ account: "root" }, "UTC").test(inferred), true);
    assert.equal(buildFilters({ host: "esx01" }, "UTC").test(inferred), false);
  });
});
