import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { METHODS, eventLabel, lookupMethod, methodKey, spellings, vmxName } from "./catalog.js";

describe("method catalog", () => {
  it("resolves every spelling a log uses for StartProgramInGuest", () => {
    for (const s of [
      "Start Program",
      "GuestOps.StartProgram",
      "vim.vm.guest.ProcessManager.startProgram",
      "StartProgramInGuest",
      "startprograminguest",
      "StartProgram",
    ]) {
      assert.equal(lookupMethod(s)?.api, "StartProgramInGuest", s);
    }
  });

  it("accepts ATT&CK's ListFileInGuest spelling", () => {
    assert.equal(lookupMethod("ListFileInGuest")?.api, "ListFilesInGuest");
  });

  it("derives the hostd labels seen in real logs", () => {
    const labels = METHODS.map(eventLabel);
    for (const l of [
      "Start Program",
      "Create Temporary File",
      "Initiate File Transfer From Guest",
      "Initiate File Transfer To Guest",
      "Delete File",
    ]) {
      assert.ok(labels.includes(l), l);
    }
  });

  it("has unique spellings across methods", () => {
    const seen = new Map<string, string>();
    for (const info of METHODS) {
      for (const s of spellings(info)) {
        const k = s.replace(/\s+/g, "").toLowerCase();
        const other = seen.get(k);
        assert.ok(other === undefined || other === info.api, `${s} names ${other} and ${info.api}`);
        seen.set(k, info.api);
      }
    }
  });

  it("covers all five managers with a privilege and ATT&CK T1675", () => {
    const managers = new Set(METHODS.map((i) => i.manager));
    for (const mgr of [
      "AuthManager",
      "ProcessManager",
      "FileManager",
      "WindowsRegistryManager",
      "AliasManager",
    ]) {
      assert.ok(managers.has(mgr as never), mgr);
    }
    for (const info of METHODS) {
      assert.match(info.privilege, /^VirtualMachine\.GuestOperations\./);
      assert.ok(info.attack.includes("T1675"));
      assert.match(methodKey(info), /^vim\.vm\.guest\./);
      assert.ok(vmxName(info).length > 0);
    }
  });

  it("ignores hostile spellings", () => {
    assert.equal(lookupMethod("constructor"), undefined);
    assert.equal(lookupMethod("__proto__"), undefined);
    assert.equal(lookupMethod(185)?.api, "StartProgramInGuest");
  });
});
