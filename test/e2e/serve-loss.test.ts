/**
 * Loss measured live: a sender over TCP skips vCenter event keys and an ESXi host reports that its
 * remote log host became unreachable; both become coverage findings at `/api/coverage` and series
 * in `/metrics` while the server runs, and a key that arrives late (within the attribution delay)
 * fills its hole before the hole is ever reported.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { framed, getJson, sendStream, startServe, until, type Served } from "../helpers/serve.js";

interface Coverage {
  readonly report: {
    readonly vcenterKeys: readonly {
      readonly vcenter: string;
      readonly received: number;
      readonly missing: number;
      readonly listed: readonly { readonly after: number; readonly before: number }[];
    }[];
    readonly loggingFailures: readonly { readonly host: string; readonly kind: string }[];
    readonly findings: readonly {
      readonly kind: string;
      readonly host?: string;
      readonly message: string;
    }[];
  };
}

const dir = mkdtempSync(join(tmpdir(), "guestops-serve-loss-"));
let served: Served | undefined;
after(async () => {
  if (served && served.child.exitCode === null) await served.kill();
  rmSync(dir, { recursive: true, force: true });
});

const BASE = Date.now() - 20_000;
const iso = (s: number): string => new Date(BASE + s * 1000).toISOString();
const vcEvent = (key: number, s: number): string =>
  `<14>1 ${iso(s)} vcsa-live.lab vpxd 58650 - -  Event [${key}] [1-1] [${iso(s)}] [vim.event.AlarmStatusChangedEvent] [info] [] [DC1] [${key}] [Alarm 'Host CPU usage' on esx-live.lab changed from Gray to Green]`;
const remoteFailure = (s: number): string =>
  `<14>${iso(s)} esx-live.lab vobd[2099]: [UserLevelCorrelator] 12480247076375us: [vob.user.vmsyslogd.remote.failure] The host "udp://10.9.9.9:514" has become unreachable. Remote logging to this host has stopped.`;

describe("guestops serve: loss as coverage findings", { timeout: 120_000 }, () => {
  it("reports skipped vCenter event keys and remote.failure in the API and /metrics", async () => {
    served = await startServe(dir, {
      store: join(dir, "loss.db"),
      listeners: [{ name: "tcp", protocol: "tcp", port: 0 }],
      processing: { delay: "5s", releaseStep: "200ms" },
      http: { port: 0 },
    });
    const s = served;
    const port = s.ports.get("tcp") ?? 0;
    const coverage = (): Promise<Coverage> => getJson<Coverage>(s, "/api/coverage");
    const keysOf = async () => (await coverage()).report.vcenterKeys[0];

    // 5002 is not sent yet: a hole below 5003 that the attribution delay keeps unreported
    await sendStream(port, framed([vcEvent(5000, 0), vcEvent(5001, 1), vcEvent(5003, 3)], false));
    await until(async () => (await keysOf())?.received === 3, 20_000, "three keys received");
    const early = await keysOf();
    assert.equal(early?.vcenter, "vcsa-live.lab");
    assert.equal(early?.missing, 0, "a hole the delay may still fill is not reported");

    // the late key comes, then keys that skip 5004-5005 and 5007, and the host's own report
    await sendStream(
      port,
      framed(
        [vcEvent(5002, 2), vcEvent(5006, 6), vcEvent(5008, 8), remoteFailure(7)],
        true, // octet counting on this connection
      ),
    );
    await until(
      async () => {
        const c = await coverage();
        return (
          c.report.vcenterKeys[0]?.missing === 3 &&
          c.report.findings.some((f) => f.kind === "remote-logging-failed")
        );
      },
      30_000,
      "the holes above 5003 settled and the remote failure read",
    );
    const c = await coverage();
    const keys = c.report.vcenterKeys[0];
    assert.equal(keys?.received, 6);
    assert.equal(keys?.missing, 3, "5004, 5005 and 5007; 5002 arrived in time");
    assert.deepEqual([...(keys?.listed ?? [])].map((h) => [h.after, h.before]).sort(), [
      [5003, 5006],
      [5006, 5008],
    ]);
    const gap = c.report.findings.find((f) => f.kind === "vcenter-event-gap");
    assert.equal(gap?.host, "vcsa-live.lab");
    assert.match(gap?.message ?? "", /3 event keys never received in 2 holes/);
    const failed = c.report.findings.find((f) => f.kind === "remote-logging-failed");
    assert.equal(failed?.host, "esx-live.lab");
    assert.match(failed?.message ?? "", /udp:\/\/10\.9\.9\.9:514/);
    assert.match(failed?.message ?? "", /vob\.user\.vmsyslogd\.remote\.failure/);

    const metrics = await (await fetch(new URL("/metrics", s.http))).text();
    assert.match(
      metrics,
      /^guestops_coverage_vcenter_event_keys_missing\{vcenter="vcsa-live\.lab"\} 3$/m,
    );
    assert.match(metrics, /^guestops_coverage_remote_logging_failures\{host="esx-live\.lab"\} 1$/m);
    assert.match(metrics, /^guestops_coverage_findings\{kind="vcenter-event-gap"\} 1$/m);
    assert.equal(await s.stop(), 0);
  });
});
