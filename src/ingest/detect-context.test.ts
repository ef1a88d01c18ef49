/**
 * Context files are not logs: prose and Markdown that quote log lines (the real samples'
 * SOURCES.md and EXPECTED.md) must be detected as no format at all, and yield nothing, whichever
 * reader looks at them (EXPECTED.md: "context files must be unrecognised or context-only").
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import type { CanonicalRecord } from "../model/record.js";
import {
  REAL_SAMPLES_MISSING,
  realSample,
  warnIfNoRealSamples,
} from "../../test/helpers/reader-harness.js";
import { detectFormat, SNIFF_LINES, SNIFF_THRESHOLD } from "./detect.js";
import { readInputs } from "./read.js";
import { readers } from "./registry.js";

const present = warnIfNoRealSamples();
const CONTEXT = ["SOURCES.md", "EXPECTED.md"];

const headOf = (text: string): string[] => text.split("\n").slice(0, SNIFF_LINES);

describe("context files are no log format", () => {
  it("Markdown quoting vmware.log, vpxd and hostd lines scores below the threshold everywhere", () => {
    const prose = [
      "# Samples",
      "",
      "The ESXi 8 vmware.log writes one line per request, for example",
      "`2024-06-04T21:58:00.929Z In(05) vmx - VigorTransportProcessClientPayload: opID=c4c97157 seq=3936: Receiving GuestOps.StartProgram request.`",
      "and vpxd.log writes the LRO:",
      "  `2024-03-05T10:00:01.000Z info vpxd[47530] [Originator@6876 sub=vpxLro opID=7e1280cf-01] [VpxLRO] -- BEGIN lro-900002 -- guestOperationsProcessManager -- vim.vm.guest.ProcessManager.startProgram -- 526861fc`",
      "- Shows: `[VpxLRO] -- BEGIN lro-<n> -- <moId> -- <vim.Type.method> -- <sessionKey>`",
      "- hostd: `[Originator@6876 sub=Vimsvc.ha-eventmgr] Event 246 : Guest operation Start Program performed on Virtual machine x.`",
      "| File | Kind |",
      "|---|---|",
      "| vmware.log | VigorTransport lines |",
    ];
    for (const reader of readers) {
      const score = reader.sniff(prose);
      assert.ok(score <= SNIFF_THRESHOLD, `${reader.name} scores ${score} on prose`);
    }
    assert.equal(detectFormat(prose, readers).reader, undefined);
  });

  describe(
    "the real samples' SOURCES.md and EXPECTED.md",
    { skip: present ? false : REAL_SAMPLES_MISSING },
    () => {
      for (const name of CONTEXT) {
        it(`${name}: no reader recognises it`, () => {
          const head = headOf(readFileSync(realSample(name), "utf8"));
          const d = detectFormat(head, readers);
          for (const s of d.scores) {
            assert.ok(s.score <= SNIFF_THRESHOLD, `${s.name} scores ${s.score} on ${name}`);
          }
          assert.equal(d.reader, undefined);
        });
      }

      it("read through the input layer: unknown format, no record", async () => {
        const records: CanonicalRecord[] = [];
        const summary = await readInputs(
          CONTEXT.map(realSample),
          {},
          { record: (r) => void records.push(r) },
        );
        assert.deepEqual(
          summary.inputs.map((i) => [
            i.source.path.split("/").pop(),
            i.status,
            i.source.format ?? null,
          ]),
          CONTEXT.map((n) => [n, "unknown_format", null]),
        );
        assert.equal(records.length, 0);
      });
    },
  );
});
