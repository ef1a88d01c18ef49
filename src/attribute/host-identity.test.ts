/**
 * Host identity for inputs whose lines name no host (ESXi 8 local hostd.log, vmware.log): from
 * `--input-host`, the bundle's name, a directory of the path that names a host the run knows, a
 * vCenter or vmx record of the same operation; else the summary says which input and how to tell.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { run } from "../cli/run.js";
import { parseInputHost } from "../cli/read-options.js";
import { isGuestOpsError } from "../shared/errors.js";
import type { CanonicalRecord, InputSource } from "../model/record.js";
import { fakeIo } from "../../test/helpers/cli.js";
import { gzip, tar } from "../../test/helpers/archives.js";
import { hostFromHostNameFile } from "../ingest/archives/members.js";
import { correlate } from "./correlate.js";
import { obs, source } from "./fixtures/records.js";
import { hostlessLines, summarise } from "./summary.js";

const T = "2026-03-14T02:02:10.968Z";
const at = (ms: number): string => new Date(Date.parse(T) + ms).toISOString();

const hostdEvent = (src: InputSource, time: string, vm: string, key: string): CanonicalRecord =>
  obs(src, "hostd.event", {
    time,
    api: "StartProgramInGuest",
    method: "Start Program",
    vm: { name: vm },
    eventKey: key,
    process: "Hostd",
  });

const vcEvent = (time: string, vm: string, host: string, key: string): CanonicalRecord =>
  obs(source("events.json"), "vc.event", {
    time,
    api: "StartProgramInGuest",
    method: "Start Program",
    vm: { name: vm },
    host,
    vcenter: "vcsa01.corp.example",
    user: "CORP\\alice",
    eventKey: key,
  });

describe("host identity for inputs whose lines name no host", () => {
  it("a directory of the path that names a host other records name", () => {
    const local = source("logs/esx01/hostd.log");
    const r = correlate([
      hostdEvent(local, T, "dc01", "4397"),
      vcEvent(at(3_600_000), "app01", "esx01.corp.example", "88300"),
    ]);
    const dc01 = r.operations.find((o) => o.vm.name === "dc01");
    assert.equal(dc01?.host, "esx01.corp.example");
  });

  it("a directory that names no known host gives none", () => {
    const local = source("logs/esx03/hostd.log");
    const r = correlate([
      hostdEvent(local, T, "dc01", "4397"),
      vcEvent(at(3_600_000), "app01", "esx01.corp.example", "88300"),
    ]);
    assert.equal(r.operations.find((o) => o.vm.name === "dc01")?.host, undefined);
  });

  it("a vCenter record of one operation names the host of the input's others", () => {
    const local = source("collected/hostd.log");
    const r = correlate([
      hostdEvent(local, T, "web01", "501"),
      vcEvent(at(400), "web01", "esx02.corp.example", "88310"),
      hostdEvent(local, at(600_000), "db01", "502"),
    ]);
    assert.equal(r.operations.length, 2);
    for (const op of r.operations) assert.equal(op.host, "esx02.corp.example", op.vm.name);
  });

  it("two hosts named by the input's operations: none is chosen for the rest", () => {
    const local = source("collected/hostd.log");
    const r = correlate([
      hostdEvent(local, T, "web01", "501"),
      vcEvent(at(400), "web01", "esx02.corp.example", "88310"),
      hostdEvent(local, at(60_000), "web02", "502"),
      vcEvent(at(60_400), "web02", "esx03.corp.example", "88311"),
      hostdEvent(local, at(600_000), "db01", "503"),
    ]);
    assert.equal(r.operations.find((o) => o.vm.name === "db01")?.host, undefined);
  });

  it("the summary names the inputs still without a host and how to give one", () => {
    const local = source("collected/hostd.log");
    const s = summarise(
      correlate([
        hostdEvent(local, T, "dc01", "4397"),
        hostdEvent(local, at(60_000), "dc01", "4398"),
      ]),
    );
    assert.deepEqual(s.hostless, [{ input: "collected/hostd.log", operations: 2 }]);
    const [line] = hostlessLines(s);
    assert.match(line ?? "", /^collected\/hostd\.log: 2 operations with no host/);
    assert.match(line ?? "", /--input-host collected\/hostd\.log=<host>$/);
  });

  it("a vCenter-only operation (vpxd.log) is not an input without a host", () => {
    const vpxd = source("vpxd.log");
    const r = correlate([
      obs(vpxd, "vpxd.lro", {
        time: T,
        api: "StartProgramInGuest",
        method: "vim.vm.guest.ProcessManager.startProgram",
        eventKey: "lro-1",
        vm: { moref: "vm-42" },
      }),
    ]);
    assert.deepEqual(summarise(r).hostless, []);
  });
});

describe("--input-host", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-input-host-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const line = (time: string, key: string) =>
    `2026-03-14T${time}Z In(166) Hostd[2099461]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event ${key} : Guest operation Start Program performed on Virtual machine dc01.`;
  mkdirSync(join(dir, "a"));
  mkdirSync(join(dir, "b"));
  writeFileSync(join(dir, "a", "hostd.log"), `${line("02:02:41.665", "4398")}\n`);
  writeFileSync(join(dir, "b", "hostd.log"), `${line("03:02:41.665", "4399")}\n`);

  const hosts = async (args: string[]): Promise<(string | null)[]> => {
    const { io, out, err } = fakeIo(dir);
    assert.equal(await run(["events", "a", "b", "--format", "json", ...args], io), 0, err.join(""));
    const doc = JSON.parse(out.join("")) as { operations: { host: string | null }[] };
    return doc.operations.map((o) => o.host);
  };

  it("NAME for every input, PATH=NAME for the inputs at or under PATH (the last match wins)", async () => {
    assert.deepEqual(await hosts([]), [null, null], "unknown host: null (key present)");
    assert.deepEqual(await hosts(["--input-host", "esx09"]), ["esx09", "esx09"]);
    assert.deepEqual(
      await hosts(["--input-host", "esx09", "--input-host", "b=esx10.corp.example"]),
      ["esx09", "esx10.corp.example"],
    );
    assert.deepEqual(await hosts(["--input-host", "a/hostd.log=esx11"]), ["esx11", null]);
  });

  it("refuses what is not a host name", () => {
    for (const bad of ["", "a=", "=esx01", "a=b c", "a=$(x)"]) {
      assert.throws(
        () => parseInputHost(bad),
        (e) => isGuestOpsError(e) && e.code === "ERR_USAGE",
        bad,
      );
    }
    assert.deepEqual(parseInputHost("logs/esx01=esx01.corp.example"), {
      path: "logs/esx01",
      host: "esx01.corp.example",
    });
  });
});

describe("a support bundle's host-name files", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-bundle-host-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const hostd = `2026-03-14T02:02:41.665Z In(166) Hostd[2099461]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event 4398 : Guest operation Start Program performed on Virtual machine dc01.\n`;

  it("name the host of the bundle's logs, also when they come after the logs", async () => {
    const cases: [string, string, string][] = [
      [
        "commands/esxcli_system-hostname-get.txt",
        "   Domain Name: corp.example\n   Fully Qualified Domain Name: esx05.corp.example\n   Host Name: esx05\n",
        "esx05.corp.example",
      ],
      [
        "etc/hosts",
        "127.0.0.1 localhost.localdomain localhost\n::1 localhost\n10.10.0.25 esx06.corp.example esx06\n",
        "esx06.corp.example",
      ],
    ];
    for (const [member, text, host] of cases) {
      const file = join(dir, `${host}.tgz`);
      writeFileSync(
        file,
        gzip(
          await tar([
            { name: "bundle/var/run/log/hostd.log", data: hostd },
            { name: `bundle/${member}`, data: text },
          ]),
        ),
      );
      const { io, out, err } = fakeIo(dir);
      assert.equal(await run(["events", file, "--format", "json"], io), 0, err.join(""));
      const doc = JSON.parse(out.join("")) as {
        operations: { host?: string }[];
        summary: { hostless: unknown[] };
      };
      assert.deepEqual(
        doc.operations.map((o) => o.host),
        [host],
        member,
      );
      assert.deepEqual(doc.summary.hostless, []);
    }
  });

  it("are read for what they say, and say nothing when unclear", () => {
    const esxcli = "commands/esxcli_system-hostname-get.txt";
    assert.equal(hostFromHostNameFile(esxcli, "   Host Name: esx07\n"), "esx07");
    assert.equal(hostFromHostNameFile(esxcli, "Fully Qualified Domain Name: $(rm)\n"), undefined);
    assert.equal(
      hostFromHostNameFile("commands/hostname.txt", "\nesx08.corp.example\n"),
      "esx08.corp.example",
    );
    assert.equal(hostFromHostNameFile("etc/hosts", "127.0.0.1 localhost\n"), undefined);
    assert.equal(
      hostFromHostNameFile(
        "etc/hosts",
        "10.0.0.1 esx01.corp.example\n10.0.0.2 nas01.corp.example\n",
      ),
      undefined,
    );
    assert.equal(hostFromHostNameFile("var/run/log/hostd.log", "esx01"), undefined);
  });
});
