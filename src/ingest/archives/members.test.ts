import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { sniffContainer } from "./magic.js";
import { hostHintFrom, memberNameSkip, namedLikeLog } from "./members.js";

describe("memberNameSkip", () => {
  // decided by content: the name does not matter unless it surely names no log
  const opened = [
    "esx-h1-2024-06-04--21.58-1/var/run/log/hostd.log",
    "esx-h1-2024-06-04--21.58-1/var/run/log/hostd.0.gz",
    "vmfs/volumes/ds1/web-01/vmware-2.log.gz",
    "var/log/vmware/vpxd/vpxd-123.log.gz",
    "syslog/esxi-hosts.log",
    "receiver/10.0.0.5/messages-20240604",
    "commands/esxcfg-info_-a.txt",
    "etc/vmware/hostd/config.xml",
    "vmfs/volumes/ds1/web-01/web-01.vmx",
    "var/run/log/vmkernel.log",
    "scratch/auditLog/audit.0",
    "esx-h1.example.com-2024-06-04--21.58-123.tgz",
    "C:\\logs\\hostd.log",
    "core-services.log",
    "",
  ];
  const skipped = [
    "var/log/vmware/vpxd/vpxd-profiler-12.log.gz",
    "vmfs/volumes/ds1/web-01/vmware-vmx-zdump.000",
    "var/core/hostd-zdump.001",
    "var/core/core.hostd.12345",
    "core",
    "var/run/log/hostd-probe.log",
    "usr/lib/vmware/libvmkctl.so.1",
    "bin/hostd.bin",
    "vmfs/volumes/ds1/web-01/web-01-flat.vmdk",
    "vmfs/volumes/ds1/web-01/web-01-Snapshot1.vmsn",
    "images/logo.PNG",
    "tmp/capture.pcap.gz",
  ];
  for (const name of opened) {
    it(`opens ${JSON.stringify(name)}`, () => assert.equal(memberNameSkip(name), undefined));
  }
  for (const name of skipped) {
    it(`skips ${name}`, () => assert.equal(memberNameSkip(name), "not-log-name"));
  }
});

describe("hostHintFrom", () => {
  it("reads the host from a vm-support bundle name", () => {
    assert.equal(
      hostHintFrom("esx-esx01.example.com-2024-06-04--21.58-12345.tgz"),
      "esx01.example.com",
    );
    assert.equal(hostHintFrom("dir/esx-h1-2023-12-05--17.35.tgz"), "h1");
  });
  it("reads the host from a member's top directory", () => {
    assert.equal(hostHintFrom("esx-h2-2024-06-04--21.58-1/var/run/log/hostd.log"), "h2");
  });
  it("names no host for other paths", () => {
    assert.equal(hostHintFrom("var/run/log/hostd.log"), undefined);
    assert.equal(hostHintFrom("esx-notabundle.tgz"), undefined);
  });
});

describe("sniffContainer", () => {
  it("recognises containers by their magic bytes", () => {
    assert.equal(sniffContainer(Buffer.from([0x1f, 0x8b, 8, 0])), "gzip");
    assert.equal(sniffContainer(Buffer.from("PK\u0003\u0004rest", "latin1")), "zip");
    assert.equal(sniffContainer(Buffer.from("BZh91AY", "latin1")), "bzip2");
    assert.equal(sniffContainer(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), "xz");
    assert.equal(sniffContainer(Buffer.from("2024-06-04T21:58:00.975Z In(166) Hostd")), undefined);
  });
  it("recognises a ustar header and a v7 header by its checksum", () => {
    const header = Buffer.alloc(512);
    header.write("hostd.log", 0, "latin1");
    header.write("0000644\0", 100, "latin1");
    header.write("ustar\0", 257, "latin1");
    assert.equal(sniffContainer(header), "tar");
    const v7 = Buffer.alloc(512);
    v7.write("hostd.log", 0, "latin1");
    v7.write("0000644\0", 100, "latin1");
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (v7[i] ?? 0);
    v7.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    assert.equal(sniffContainer(v7), "tar");
    v7[0] = 0x68 + 1; // breaks the checksum
    assert.equal(sniffContainer(v7), undefined);
  });
});

describe("namedLikeLog", () => {
  it("knows the log families guestops reads, whatever the folder", () => {
    for (const name of [
      "var/run/log/hostd.log",
      "var/run/log/hostd.0.gz",
      "vmfs/volumes/ds1/web-01/vmware-2.log",
      "var/log/vmware/vpxd/vpxd-123.log.gz",
      "var/run/log/syslog.log",
      "exports/vc-events.json",
    ]) {
      assert.equal(namedLikeLog(name), true, name);
    }
    for (const name of ["commands/esxcfg-info.txt", "etc/hosts", "syslog/esxi-hosts.log"]) {
      assert.equal(namedLikeLog(name), false, name);
    }
  });
});
