import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  accountMatches,
  clientFromUserAgent,
  compareVm,
  hostKey,
  isIpAddress,
  mergeVmFacts,
  namesEndUser,
  normaliseAccount,
  opIdBelongsTo,
  opIdPrefixes,
  opIdShape,
  vmFacts,
  vmNameFromPath,
  isLoopback,
} from "./identity.js";

describe("normaliseAccount", () => {
  it("gives DOMAIN\\user and user@domain one id, case-insensitively", () => {
    const a = normaliseAccount("VSPHERE.LOCAL\\Administrator");
    const b = normaliseAccount("administrator@vsphere.local");
    assert.equal(a.id, "vsphere.local\\administrator");
    assert.equal(b.id, a.id);
    assert.equal(a.kind, "person");
    assert.equal(a.domain, "vsphere.local");
    assert.equal(a.user, "administrator");
    assert.equal(a.display, "VSPHERE.LOCAL\\Administrator");
  });

  it("records a vpxuser: prefix as via vCenter and keeps the end user", () => {
    const p = normaliseAccount("vpxuser:VSPHERE.LOCAL\\Administrator");
    assert.equal(p.id, "vsphere.local\\administrator");
    assert.equal(p.viaVcenter, true);
    assert.equal(p.kind, "person");
    assert.equal(p.display, "vpxuser:VSPHERE.LOCAL\\Administrator");
  });

  it("gives kind vpxuser when vCenter passed no end user", () => {
    for (const raw of ["vpxuser:<no user>", "vpxuser:vpxuser", "vpxuser:", "VPXUSER"]) {
      const p = normaliseAccount(raw);
      assert.equal(p.kind, "vpxuser", raw);
      assert.equal(p.id, "vpxuser", raw);
      assert.equal(namesEndUser(p), false);
    }
    assert.equal(normaliseAccount("vpxuser:<no user>").viaVcenter, true);
  });

  it("marks vCenter solution users as services", () => {
    for (const raw of [
      "VSPHERE.LOCAL\\vpxd-extension-0f8f3a2c-6e4b-4f7e-9a55-7d2b6e4b5a11",
      "vpxuser:VSPHERE.LOCAL\\vsphere-webclient-0f8f3a2c-6e4b-4f7e-9a55-7d2b6e4b5a11",
      "machine-0f8f3a2c-6e4b-4f7e-9a55-7d2b6e4b5a11@vsphere.local",
      "com.vmware.vim.eam@vsphere.local",
    ]) {
      assert.equal(normaliseAccount(raw).kind, "vcenter-solution", raw);
    }
    // a person whose name merely starts like a service is still a person
    assert.equal(normaliseAccount("CORP\\machine-learning").kind, "person");
  });

  it("marks root, dcui and other domain-less accounts as host-local", () => {
    assert.equal(normaliseAccount("root").kind, "host-local");
    assert.equal(normaliseAccount("dcui").kind, "host-local");
    assert.equal(normaliseAccount("localadmin").kind, "host-local");
  });

  it("drops an IP address written where a domain would be", () => {
    const p = normaliseAccount("root@192.168.127.13");
    assert.equal(p.id, "root");
    assert.equal(p.kind, "host-local");
  });

  it("treats an escaped backslash as one separator and trims quotes", () => {
    assert.equal(normaliseAccount('"CORP\\\\bob"').id, "corp\\bob");
  });

  it("gives kind unknown for an empty account", () => {
    const p = normaliseAccount("  ");
    assert.equal(p.kind, "unknown");
    assert.equal(p.id, "");
    assert.equal(namesEndUser(p), false);
  });

  it("is safe with hostile names", () => {
    assert.equal(normaliseAccount("__proto__").id, "__proto__");
    assert.equal(normaliseAccount("constructor@toString").id, "tostring\\constructor");
  });
});

describe("accountMatches", () => {
  const admin = normaliseAccount("vpxuser:VSPHERE.LOCAL\\Administrator");
  const bob = normaliseAccount("bob@corp.example.com");
  const root = normaliseAccount("root");

  it("matches any spelling of the same account", () => {
    assert.equal(accountMatches(admin, "administrator@vsphere.local"), true);
    assert.equal(accountMatches(admin, "VSPHERE.LOCAL\\ADMINISTRATOR"), true);
    assert.equal(accountMatches(root, "root"), true);
    assert.equal(accountMatches(root, "dcui"), false);
  });

  it("matches a NetBIOS domain to the DNS domain it starts", () => {
    assert.equal(accountMatches(bob, "CORP\\bob"), true);
    assert.equal(accountMatches(bob, "OTHER\\bob"), false);
    assert.equal(accountMatches(bob, "bob"), false);
  });

  it("supports wildcards in user and domain", () => {
    const svc = normaliseAccount("CORP\\svc-veeam");
    assert.equal(accountMatches(svc, "CORP\\svc-*"), true);
    assert.equal(accountMatches(svc, "*\\svc-veeam"), true);
    assert.equal(accountMatches(svc, "svc-*@corp"), true);
    assert.equal(accountMatches(svc, "svc-*"), false);
    assert.equal(accountMatches(svc, "*"), true);
    assert.equal(accountMatches(root, "r??t"), true);
    assert.equal(accountMatches(bob, "*\\bob"), true);
  });

  it("does not treat regex characters in patterns as regex", () => {
    const dotted = normaliseAccount("CORP\\a.b");
    assert.equal(accountMatches(dotted, "CORP\\a.*"), true);
    assert.equal(accountMatches(normaliseAccount("CORP\\axb"), "CORP\\a.b"), false);
  });

  it("never matches an unknown principal", () => {
    assert.equal(accountMatches(normaliseAccount(""), "*"), false);
  });
});

describe("hostKey", () => {
  it("folds FQDN, short name and case into one key", () => {
    assert.equal(hostKey("ESX01"), "esx01");
    assert.equal(hostKey("esx01.corp.local"), "esx01");
    assert.equal(hostKey("ESX01.CORP.LOCAL."), "esx01");
  });

  it("keeps IP addresses whole", () => {
    assert.equal(hostKey("192.168.127.13"), "192.168.127.13");
    assert.equal(hostKey("[FE80::1]"), "fe80::1");
    assert.equal(isIpAddress("10.0.0.1"), true);
    assert.equal(isIpAddress("esx01"), false);
  });
});

describe("VM identity", () => {
  const vmx =
    "/vmfs/volumes/577bad39-46bacc3a-720b-0050569c9c22/O5aVzp722s0Hq6O-9d7d/O5aVzp722s0Hq6O-9d7d.vmx";

  it("derives the folder and a name from a vmx path", () => {
    const f = vmFacts({ vmx });
    assert.equal(f.dir, "O5aVzp722s0Hq6O-9d7d");
    assert.equal(f.vmx, "O5aVzp722s0Hq6O-9d7d/O5aVzp722s0Hq6O-9d7d.vmx");
    assert.equal(vmNameFromPath(vmx), "O5aVzp722s0Hq6O-9d7d");
  });

  it("treats a datastore by name and by UUID as the same file", () => {
    const a = vmFacts({ vmx: "/vmfs/volumes/datastore1/web/web.vmx" });
    const b = vmFacts({ vmx: "/vmfs/volumes/5f3e-aa/web/web.vmx" });
    assert.equal(compareVm(a, b), "same");
  });

  it("scopes morefs to their vCenter", () => {
    const a = vmFacts({ moref: "vm-42" }, "vc1.corp");
    const b = vmFacts({ moref: "vm-42" }, "VC1");
    const c = vmFacts({ moref: "vm-42" }, "vc2");
    assert.equal(compareVm(a, b), "same");
    assert.equal(compareVm(a, c), "different");
    // a host-side moref (a number) is not comparable with a vCenter one
    assert.equal(compareVm(vmFacts({ moref: "12" }, "esx01"), a), "unknown");
  });

  it("lets a display name never contradict a folder (a renamed VM keeps its folder)", () => {
    const folder = vmFacts({ dir: "/vmfs/volumes/ds1/old-name" });
    const renamed = vmFacts({ name: "new-name" });
    assert.equal(compareVm(folder, renamed), "unknown");
    assert.equal(compareVm(folder, vmFacts({ name: "old-name" })), "likely");
    assert.equal(compareVm(vmFacts({ name: "a" }), vmFacts({ name: "b" })), "different");
    assert.equal(compareVm(vmFacts({ name: "a" }), vmFacts({ name: "a" })), "same");
  });

  it("merges facts", () => {
    const m = mergeVmFacts(vmFacts({ name: "a" }), vmFacts({ vmx, name: "b" }));
    assert.deepEqual(m.names, ["a", "b"]);
    assert.equal(m.dir, "O5aVzp722s0Hq6O-9d7d");
  });
});

describe("clients and opIDs", () => {
  it("recognises user agents", () => {
    assert.equal(clientFromUserAgent("PowerCLI/13.2.1.22851661"), "PowerCLI");
    assert.equal(clientFromUserAgent("pyvmomi Python/3.11"), "pyVmomi");
    assert.equal(clientFromUserAgent("govc/0.37.0"), "govc");
    assert.equal(clientFromUserAgent("Go-http-client/1.1"), "govmomi (Go)");
    assert.equal(
      clientFromUserAgent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Edg/119"),
      "browser",
    );
    assert.equal(clientFromUserAgent("something else"), undefined);
    assert.equal(clientFromUserAgent(undefined), undefined);
  });

  it("reads the caller from the opID shape", () => {
    assert.deepEqual(opIdShape("esxui-8c02-9b39"), { client: "Host Client", via: "direct" });
    assert.deepEqual(opIdShape("vim-cmd-09-a45d"), {
      client: "vim-cmd (ESXi shell)",
      via: "direct",
    });
    for (const id of [
      "58B46869-0000005E-46-3d-df-5944",
      "539bc6dd-c7-c39c",
      "sps-Main-843896-42-2c-c5-c86f",
      "24c670de-01-01-01-14-0ef2",
    ]) {
      assert.deepEqual(opIdShape(id), { via: "vcenter" }, id);
    }
    assert.deepEqual(opIdShape("c4c97157"), {});
    assert.deepEqual(opIdShape("531c52d7-9d8a"), {});
  });

  it("relates host-side opIDs to the vCenter opID they extend", () => {
    assert.equal(opIdBelongsTo("58B46869-0000005E-46-3d-df-5944", "58b46869-0000005E-46"), true);
    assert.equal(opIdBelongsTo("58B46869-0000005E-46", "58B46869-0000005E-46"), true);
    assert.equal(opIdBelongsTo("58B46869-0000005E-461", "58B46869-0000005E-46"), false);
    assert.equal(opIdBelongsTo("c4c97157", "c4c9"), false);
    assert.equal(opIdBelongsTo("ab-cd", "ab"), false);
    assert.deepEqual(opIdPrefixes("58B46869-0000005E-46-3d"), [
      "58b46869",
      "58b46869-0000005e",
      "58b46869-0000005e-46",
      "58b46869-0000005e-46-3d",
    ]);
  });
});

describe("isLoopback", () => {
  it("is vpxa's own address in every spelling, and nothing else", () => {
    for (const ip of [
      "127.0.0.1",
      "127.1.2.3",
      "::1",
      "[::1]",
      "0:0:0:0:0:0:0:1",
      "::ffff:127.0.0.1",
    ])
      assert.equal(isLoopback(ip), true, ip);
    for (const ip of ["10.10.99.50", "128.0.0.1", "::2", "fe80::1", "1127.0.0.1", "localhost"])
      assert.equal(isLoopback(ip), false, ip);
  });
});
