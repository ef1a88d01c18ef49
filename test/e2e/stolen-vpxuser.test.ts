/**
 * Stolen vpxuser straight to a host: an ESXi 8 host's local hostd.log (its lines name no host)
 * shows vpxuser logging in from a workstation with pyVmomi, then guest operations on a domain
 * controller that no vCenter record knows. The operations carry the session's address, user
 * agent and client, `via: "direct"`, and `direct-host-access` fires without a policy and
 * without vpxd.log, at full strength.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { run } from "../../src/cli/run.js";
import type { Alert } from "../../src/model/alert.js";
import { fakeIo } from "../helpers/cli.js";

const AGENT = "pyvmomi Python/3.11.6 (Linux; 6.1.0-18-amd64; x86_64)";

/** ESXi 8 local hostd.log lines (telemetry.md: `<time> <lvl>(<pri>) Hostd[<pid>]: [Originator@6876 …]`). */
const line = (time: string, pid: number, sub: string, text: string): string =>
  `2026-03-14T${time}Z In(166) Hostd[${pid}]: [Originator@6876 sub=${sub}] ${text}`;

function hostdLog(from: string): string {
  const guest = (time: string, n: number, label: string) =>
    line(
      time,
      2099460 + n,
      "Vimsvc.ha-eventmgr",
      `Event ${4396 + n} : Guest operation ${label} performed on Virtual machine dc01.`,
    );
  return `${[
    line(
      "02:01:37.218",
      2099452,
      "Vimsvc.HaSessionManager opID=25a2a00f sid=527923cf",
      `Accepted password for user vpxuser from ${from} - session=527923cf-6eb6-ea60-13e1-82e754c1d5f7`,
    ),
    // the login event carries no sid: the index holds two sessions of one login
    line(
      "02:01:37.221",
      2099445,
      "Vimsvc.ha-eventmgr",
      `Event 4396 : User vpxuser@${from} logged in as ${AGENT}`,
    ),
    guest("02:02:10.968", 1, "Initiate File Transfer To Guest"),
    guest("02:02:41.665", 2, "Start Program"),
    guest("02:03:02.001", 3, "List Processes"),
    guest("02:03:31.154", 4, "Initiate File Transfer From Guest"),
    guest("02:03:45.856", 5, "Delete File"),
  ].join("\n")}\n`;
}

interface OperationOut {
  readonly api: string;
  readonly host?: string;
  readonly attribution: { readonly level: string; readonly principal?: { readonly id: string } };
  readonly origin: {
    readonly via: string;
    readonly sourceIp?: string;
    readonly userAgent?: string;
    readonly client?: string;
    readonly basis?: string;
  };
}

describe("stolen vpxuser straight to a host (ESXi 8 local hostd.log)", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-vpxuser-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, from: string): string => {
    const file = join(dir, name);
    writeFileSync(file, hostdLog(from));
    return file;
  };

  it("each operation carries the session's address, user agent, client and via direct", async () => {
    const file = write("hostd.log", "10.10.99.50");
    const { io, out } = fakeIo(dir);
    assert.equal(await run(["events", file, "--format", "json"], io), 0);
    const ops = (JSON.parse(out.join("")) as { operations: OperationOut[] }).operations;
    assert.equal(ops.length, 5);
    for (const op of ops) {
      assert.equal(op.attribution.level, "inferred");
      assert.equal(op.attribution.principal?.id, "vpxuser");
      assert.deepEqual(op.origin, {
        via: "direct",
        sourceIp: "10.10.99.50",
        userAgent: AGENT,
        client: "pyVmomi",
        basis: "inferred",
      });
    }
  });

  it("scan without a policy and without vpxd.log raises direct-host-access at full strength", async () => {
    const file = write("hostd.log", "10.10.99.50");
    const { io, out } = fakeIo(dir);
    assert.equal(await run(["scan", file, "--format", "json"], io), 0);
    const alerts = (JSON.parse(out.join("")) as { alerts: Alert[] }).alerts;
    const direct = alerts.filter((a) => a.rules.includes("direct-host-access"));
    assert.equal(direct.length, 1);
    const [alert] = direct;
    assert.equal(alert?.severity, "high");
    assert.equal(alert?.operations.length, 5);
    const text = JSON.stringify(alert);
    assert.match(text, /vpxuser logged in from 10\.10\.99\.50, neither loopback nor a vCenter/);
    assert.doesNotMatch(text, /severity lowered/);
  });

  it("vpxuser from loopback (vpxa on the host) is not direct and raises nothing", async () => {
    const file = write("hostd-loopback.log", "127.0.0.1");
    const events = fakeIo(dir);
    assert.equal(await run(["events", file, "--format", "json"], events.io), 0);
    const ops = (JSON.parse(events.out.join("")) as { operations: OperationOut[] }).operations;
    assert.ok(ops.length > 0);
    assert.ok(ops.every((o) => o.origin.via !== "direct" && o.origin.sourceIp === "127.0.0.1"));
    const scan = fakeIo(dir);
    assert.equal(await run(["scan", file, "--format", "json"], scan.io), 0);
    const alerts = (JSON.parse(scan.out.join("")) as { alerts: Alert[] }).alerts;
    assert.equal(alerts.filter((a) => a.rules.includes("direct-host-access")).length, 0);
  });
});
