/**
 * A generated estate (ESXi 8 hostd of four hosts as one syslog receiver file, and the vCenter event
 * stream, over two days) replayed through `guestops serve` over TCP gives the alerts `guestops scan`
 * gives for the same lines written as one receiver file: the same ids, none missing, none extra,
 * with the live default chain wait (0) and with the batch one (2 h). A real server process on
 * loopback; the stream is sent as fast as TCP takes it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { writeEstate } from "../helpers/estate.js";
import {
  framed,
  getJson,
  receiverLines,
  scanAlertIds,
  sendStream,
  startServe,
  until,
} from "../helpers/serve.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const POLICY = join(ROOT, "examples/policy.yaml");
const dir = mkdtempSync(join(tmpdir(), "guestops-serve-estate-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("serve: a generated estate over syslog", () => {
  const estate = writeEstate(join(dir, "estate"), {
    hosts: 4,
    vmsPerHost: 3,
    runs: 300,
    days: 2,
    syslog: true,
    seed: 5,
  });
  // what one receiver gets from every sender: the syslog files, interleaved by time
  const lines = receiverLines(estate.paths.filter((p) => !p.endsWith("vpxd.log")));
  const expected = scanAlertIds(lines, join(dir, "received.log"), POLICY);

  for (const chainWait of ["0s", "2h"]) {
    it(`gives scan's alert ids with chainWait ${chainWait}`, async () => {
      assert.ok(expected.length >= 20, `scan raised ${expected.length} alerts`);
      const db = join(dir, `serve-${chainWait}.db`);
      const served = await startServe(
        dir,
        {
          store: db,
          policy: POLICY,
          listeners: [{ name: "tcp", protocol: "tcp", port: 0 }],
          processing: { delay: "2s", releaseStep: "200ms", chainWait },
          http: { port: 0 },
        },
        `serve-${chainWait}.yaml`,
      );
      // the stream's last operations go out once the wall clock has moved the watermark past them
      const stored = (): string[] => {
        const d = new BetterSqlite3(db, { readonly: true });
        try {
          return (d.prepare(`SELECT id FROM alerts ORDER BY id`).all() as { id: string }[]).map(
            (r) => r.id,
          );
        } finally {
          d.close();
        }
      };
      try {
        await sendStream(served.ports.get("tcp") ?? 0, framed(lines, true));
        await until(
          async () => {
            const h = await getJson<{ spool: { processed: number; spooled: number } }>(
              served,
              "/api/health",
            );
            return h.spool.spooled >= lines.length && h.spool.processed === h.spool.spooled;
          },
          60_000,
          "every frame processed",
        );
        await until(() => stored().length >= expected.length, 30_000, "the alerts");
      } finally {
        // a failed wait must not leave the server running (the test process would wait for it)
        if (served.child.exitCode === null && served.child.signalCode === null) await served.stop();
      }
      assert.equal(served.child.exitCode, 0);
      assert.deepEqual(stored(), expected);
    });
  }
});
