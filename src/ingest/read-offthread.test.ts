/**
 * Reading in a worker thread (`worker: true`) against reading in this thread: the same hook calls
 * in the same order (every record with its provenance, every event key, issue, input summary,
 * progress report and watermark, and each source's fields as they were at each call), the same
 * final summary, the same errors, and one source object per input shared by all of them.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { gzip, tar } from "../../test/helpers/archives.js";
import { writeEstate } from "../../test/helpers/estate.js";
import { REAL_SAMPLES, realSamplesSkip } from "../../test/helpers/reader-harness.js";
import type { InputSource } from "../model/record.js";
import { isGuestOpsError } from "../shared/errors.js";
import { parseInputHost } from "../cli/read-options.js";
import { readInputs, type ReadHooks, type ReadInputsOptions } from "./read.js";
import type { ReadSummary } from "./summary.js";

interface Recorded {
  readonly calls: unknown[];
  readonly sources: Set<InputSource>;
}

interface Recorder extends Recorded {
  readonly hooks: ReadHooks;
}

/** Hooks that log every call, with a copy of its source's fields at the time of the call. */
function recorder(
  options: {
    readonly only?: readonly (keyof ReadHooks)[];
    readonly watermark?: (ms: number, n: number) => void | Promise<void>;
  } = {},
): Recorder {
  const calls: unknown[] = [];
  const sources = new Set<InputSource>();
  const seen = (s: InputSource): InputSource => {
    sources.add(s);
    return { ...s };
  };
  let watermarks = 0;
  const all: ReadHooks = {
    record: (r) => void calls.push(["record", r, seen(r.prov.source)]),
    eventKey: (source, key, time, ms, vcenter, line) =>
      void calls.push(["eventKey", seen(source), key, time, ms, vcenter, line]),
    progress: (p) => void calls.push(["progress", p]),
    issue: (i) => void calls.push(["issue", i, seen(i.source)]),
    input: (s) => void calls.push(["input", s, seen(s.source)]),
    watermark: (ms) => {
      calls.push(["watermark", ms]);
      return options.watermark?.(ms, ++watermarks);
    },
  };
  const only = options.only;
  const hooks = only
    ? (Object.fromEntries(
        Object.entries(all).filter(([k]) => k === "record" || only.includes(k as keyof ReadHooks)),
      ) as unknown as ReadHooks)
    : all;
  return { calls, sources, hooks };
}

const withoutDuration = ({ durationMs: _d, ...rest }: ReadSummary) => rest;

/** Reads both ways and asserts that the callers saw the same. */
async function bothWays(
  paths: readonly string[],
  options: ReadInputsOptions,
  make: () => Recorder = () => recorder(),
): Promise<{ summary: ReadSummary; recorded: Recorded }> {
  const here = make();
  const there = make();
  const inThread = await readInputs(paths, options, here.hooks);
  const inWorker = await readInputs(paths, { ...options, worker: true }, there.hooks);
  assert.ok(here.calls.length > 0);
  assert.equal(there.calls.length, here.calls.length, "as many hook calls");
  for (let i = 0; i < here.calls.length; i++) {
    assert.deepStrictEqual(there.calls[i], here.calls[i], `hook call ${i}`);
  }
  assert.deepStrictEqual(withoutDuration(inWorker), withoutDuration(inThread));
  // one object per input: every call's source is the summary's
  const byId = new Map(inWorker.inputs.map((s) => [s.source.id, s.source]));
  for (const source of there.sources) assert.equal(source, byId.get(source.id), "same object");
  return { summary: inWorker, recorded: there };
}

describe("reading in a worker thread", () => {
  let dir: string;
  let estate: ReturnType<typeof writeEstate>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "guestops-offthread-"));
    estate = writeEstate(join(dir, "estate"), { hosts: 4, vmsPerHost: 3, runs: 400, days: 2 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const order of ["input", "time"] as const) {
    it(`gives the same calls on examples/logs (order ${order})`, async () => {
      await bothWays(["examples/logs"], { order });
      await bothWays(["examples/logs"], { order }, () => recorder({ only: ["input"] }));
    });

    it(
      `gives the same calls on the real samples (order ${order})`,
      { skip: realSamplesSkip() },
      async () => {
        await bothWays([REAL_SAMPLES], { order, referenceTime: "2025-01-01T00:00:00Z" });
      },
    );

    it(`gives the same calls on a generated estate (order ${order})`, async () => {
      const { summary } = await bothWays(estate.paths, {
        order,
        inputHosts: estate.inputHosts.map(parseInputHost),
      });
      // more records than the batches the worker may post ahead: it had to wait for this thread
      assert.ok(summary.totals.records > 10_000, String(summary.totals.records));
    });
  }

  it("gives the same counted issues for hostile input (truncated gzip, binary, bad UTF-8, a bundle)", async () => {
    const text = readFileSync(join(estate.paths[0] ?? "", ""));
    const gz = gzipSync(text);
    const hostd = `2026-03-14T02:02:41.665Z In(166) Hostd[2099461]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 4398 : Guest operation Start Program performed on Virtual machine dc01.\n`;
    writeFileSync(join(dir, "cut.log.gz"), gz.subarray(0, Math.floor(gz.length / 2)));
    writeFileSync(join(dir, "noise.bin"), Buffer.from([0, 1, 2, 3, 0xff, 0, 0, 7, 8, 9]));
    writeFileSync(
      join(dir, "latin1.log"),
      Buffer.concat([
        Buffer.from(hostd),
        Buffer.from("2026-03-14T02:02:42Z caf\xe9 \xff\n", "latin1"),
      ]),
    );
    writeFileSync(
      join(dir, "support.tgz"),
      gzip(
        await tar([
          { name: "bundle/var/run/log/hostd.log", data: hostd },
          {
            name: "bundle/commands/esxcli_system-hostname-get.txt",
            data: "   Fully Qualified Domain Name: esx05.corp.example\n   Host Name: esx05\n",
          },
        ]),
      ),
    );
    const paths = ["cut.log.gz", "noise.bin", "latin1.log", "support.tgz"].map((n) => join(dir, n));
    for (const order of ["input", "time"] as const) {
      const { summary, recorded } = await bothWays(paths, { order });
      const codes = new Set(summary.inputs.flatMap((s) => s.issues.map((i) => i.code)));
      assert.ok(codes.has("truncated_input"), [...codes].join());
      assert.ok(codes.has("binary_data"), [...codes].join());
      assert.ok(recorded.calls.some((c) => (c as unknown[])[0] === "issue"));
      // the bundle's host, found after its log was read, reaches that log's source
      const log = summary.inputs.find((s) => s.source.member?.endsWith("hostd.log"));
      assert.equal(log?.source.hostHint, "esx05.corp.example");
    }
  });

  it("rejects a missing path, or a bad option, with the same error", async () => {
    const cases: [readonly string[], ReadInputsOptions][] = [
      [[join(dir, "nowhere.log")], {}],
      [["examples/logs"], { assumeTz: "Mars/Olympus" }],
      [["examples/logs"], { inputFormat: "nothing" }],
    ];
    for (const [paths, options] of cases) {
      const errors: unknown[] = [];
      for (const worker of [false, true]) {
        errors.push(
          await readInputs(paths, { ...options, worker }, recorder().hooks).then(
            () => assert.fail("resolved"),
            (e: unknown) => e,
          ),
        );
      }
      const [here, there] = errors;
      assert.ok(isGuestOpsError(here) && isGuestOpsError(there), String(there));
      assert.equal(there.code, here.code);
      assert.equal(there.message, here.message);
      assert.equal(there.hint, here.hint);
    }
  });

  it("replays in order behind a watermark hook's slow promises", async () => {
    let open = 0;
    const slow = () =>
      recorder({
        watermark: (_ms, n) =>
          n % 3 === 0
            ? new Promise<void>((resolve) => {
                open++;
                setTimeout(() => {
                  open--;
                  resolve();
                }, 2);
              })
            : undefined,
      });
    const { recorded } = await bothWays(
      estate.paths,
      { order: "time", inputHosts: estate.inputHosts.map(parseInputHost) },
      slow,
    );
    assert.ok(recorded.calls.filter((c) => (c as unknown[])[0] === "watermark").length > 3);
    assert.equal(open, 0);
  });

  it("fails the read and stops when a watermark promise rejects, or a hook throws", async () => {
    const boom = new Error("the sink failed");
    for (const hooks of [
      recorder({ watermark: (_ms, n) => (n === 3 ? Promise.reject(boom) : undefined) }).hooks,
      {
        ...recorder().hooks,
        input: () => {
          throw boom;
        },
      },
    ]) {
      let calls = 0;
      const counted: ReadHooks = {
        ...hooks,
        record: (r) => {
          calls++;
          hooks.record(r);
        },
      };
      await assert.rejects(
        readInputs(estate.paths, { order: "time", worker: true }, counted),
        (e) => e === boom,
      );
      const then = calls;
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(calls, then, "no hook is called after the failure");
    }
    // and the next read works (a fresh worker)
    await bothWays(["examples/logs"], {});
  });

  it("reads in this thread with custom readers or standard input", async () => {
    const { readers } = await import("./registry.js");
    await bothWays(["examples/logs"], { readers });
    const text = readFileSync("examples/logs/vcsa01/vpxd.log");
    await bothWays(["-", "examples/logs/syslog"], { stdin: () => Readable.from([text]) });
  });
});
