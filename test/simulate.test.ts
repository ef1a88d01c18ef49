/**
 * The simulator: same options, same bytes; every generated line is read by a reader without an
 * issue, and the readers that take its verified formats are those the real samples pass; labels
 * mark the [I] formats; switching an attack off leaves the benign life unchanged.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseLabel, type OperationLabel } from "../src/evaluate/labels.js";
import { readInputs } from "../src/ingest/read.js";
import { simulate } from "../src/simulate/index.js";
import { realSample, realSamplesSkip } from "./helpers/reader-harness.js";

const small = { hosts: 4, vms: 16, days: 5, seed: 3 } as const;

const files = (dir: string, base = dir): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name), base) : [join(dir, e.name).slice(base.length + 1)],
  );

const operations = (dir: string): OperationLabel[] =>
  readFileSync(join(dir, "labels.ndjson"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => parseLabel(l))
    .filter((l): l is OperationLabel => typeof l !== "string" && l.type === "operation");

describe("simulate", () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const tmp = (): string => {
    const d = mkdtempSync(join(tmpdir(), "guestops-sim-"));
    dirs.push(d);
    return d;
  };
  const a = tmp();
  simulate({ out: a, ...small });

  it("writes the same bytes for the same options and seed, others for another seed", () => {
    const b = tmp();
    simulate({ out: b, ...small });
    const names = files(a).sort();
    assert.deepEqual(files(b).sort(), names);
    for (const n of names) assert.ok(readFileSync(join(a, n)).equals(readFileSync(join(b, n))), n);
    const c = tmp();
    simulate({ out: c, ...small, seed: 4 });
    assert.notEqual(
      readFileSync(join(c, "labels.ndjson"), "utf8"),
      readFileSync(join(a, "labels.ndjson"), "utf8"),
    );
  });

  it("writes every format guestops reads, each line read without an issue", async () => {
    const seen = new Map<string, number>();
    const summary = await readInputs([join(a, "logs")], {}, { record: () => undefined });
    for (const input of summary.inputs) {
      assert.equal(input.status, "read", input.source.path);
      const format = input.source.format ?? "unknown";
      seen.set(format, (seen.get(format) ?? 0) + 1);
      assert.equal(input.notUnderstood.count, 0, `${input.source.path}: lines not understood`);
      assert.deepEqual(input.issues, [], input.source.path);
    }
    assert.deepEqual([...seen.keys()].sort(), [
      "hostd",
      "syslog",
      "vc-events",
      "vc-events-json",
      "vmx",
      "vpxd",
    ]);
  });

  it(
    "reads its verified formats with the readers the real samples pass",
    { skip: realSamplesSkip() },
    async () => {
      const real = await readInputs(
        [
          realSample("artefacts-help-esxi8-hostd.log"),
          realSample("artefacts-help-esxi8-vm-vmware-log.log"),
          realSample("broadcom-kb-416771-vpxd-lro-initiatefiletransferfromguest.log"),
          realSample("tenzir-changelog-esxi-hostd-rfc3164-structured-example.log"),
          realSample("microsoft-oms-agent-parser-vmware-logs-test-lines.log"),
        ],
        {},
        { record: () => undefined },
      );
      const realFormats = new Set<string>(real.inputs.map((i) => i.source.format ?? ""));
      const sim = await readInputs([join(a, "logs")], {}, { record: () => undefined });
      for (const input of sim.inputs) {
        const format = input.source.format ?? "";
        if (format === "vc-events" || format === "vc-events-json") continue; // their guest lines are [I]
        assert.ok(
          realFormats.has(format),
          `${format} (${input.source.path}) is read as no real sample is`,
        );
      }
    },
  );

  it("labels every operation with its scenario and marks the unconfirmed formats", () => {
    const ops = operations(a);
    assert.ok(ops.length > 500);
    for (const op of ops) {
      assert.equal(op.verified, !(op.formats ?? []).some((f) => f.endsWith(":I")));
      assert.ok((op.keys ?? []).length > 0);
    }
    const unc = ops.filter((o) => o.scenario === "unc3886");
    assert.ok(unc.length > 0 && unc.every((o) => o.verified && o.via === "direct"));
    // vCenter's event text for a guest operation is not in any real sample
    assert.ok(ops.some((o) => o.formats?.includes("vc-stream:I")));
  });

  it("switches an attack off without changing the benign life", () => {
    const d = tmp();
    simulate({ out: d, ...small, scenarios: ["unc3886"] });
    const ops = operations(d);
    const scenarios = new Set(ops.map((o) => o.scenario));
    assert.ok(scenarios.has("unc3886") && !scenarios.has("vault-exfil"));
    const benign = (list: OperationLabel[]) =>
      list.filter((o) => o.scenario === "backup" || o.scenario === "admin-scripts").length;
    assert.equal(benign(ops), benign(operations(a)));
  });

  it("refuses bad options with a usage error", () => {
    assert.throws(() => simulate({ out: tmp(), hosts: 0 }), /--hosts/);
    assert.throws(() => simulate({ out: tmp(), tz: "Mars/Olympus" }), /time zone/);
    assert.throws(() => simulate({ out: tmp(), scenarios: ["nope"] }), /unknown scenario/);
  });
});
