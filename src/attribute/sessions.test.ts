import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SessionIndex, sessionKey } from "./sessions.js";
import { sess, source } from "./fixtures/records.js";

const H = 3_600_000;
const at = (ms: number): string => new Date(Date.parse("2025-01-01T00:00:00Z") + ms).toISOString();
const T0 = Date.parse("2025-01-01T00:00:00Z");

describe("SessionIndex", () => {
  const src = source("hostd.log", { hostHint: "esx01.corp.example" });

  it("keys hostd sessions by the first 8 hex of the session key", () => {
    assert.equal(sessionKey("52f0e556-5be4-83d4-8d71-8f9d8a43791c", "host"), "52f0e556");
    assert.equal(sessionKey("52F0E556", "host"), "52f0e556");
    assert.equal(sessionKey("220e52c7-aaaa(52bb)", "vcenter"), "220e52c7-aaaa");
    const index = new SessionIndex();
    index.add(
      sess(src, "password-accepted", {
        time: at(0),
        user: "root",
        sourceIp: "10.0.0.9",
        session: "52f0e556-5be4-83d4-8d71-8f9d8a43791c",
        process: "hostd",
      }),
    );
    index.add(
      sess(src, "login", {
        time: at(1),
        user: "root",
        userAgent: "PowerCLI/13",
        session: "52f0e556",
        process: "hostd",
      }),
    );
    assert.equal(index.size, 1);
    const s = index.byKey("esx01", "52f0e556", "host");
    assert.equal(s?.principal?.id, "root");
    assert.equal(s?.sourceIp, "10.0.0.9");
    assert.equal(s?.userAgent, "PowerCLI/13");
    assert.equal(s?.records.length, 2);
  });

  it("knows which sessions may be open: logout closes, no logout stays open for the horizon", () => {
    const index = new SessionIndex();
    index.add(
      sess(src, "login", { time: at(0), user: "root", session: "aaaaaaaa", process: "hostd" }),
    );
    index.add(
      sess(src, "logout", { time: at(H), user: "root", session: "aaaaaaaa", process: "hostd" }),
    );
    index.add(
      sess(src, "login", {
        time: at(2 * H),
        user: "CORP\\bob",
        session: "bbbbbbbb",
        process: "hostd",
      }),
    );
    const ids = (t: number) => index.openAt("esx01", T0 + t, 48 * H).map((s) => s.principal?.id);
    assert.deepEqual(ids(30 * 60_000), ["root"]);
    assert.deepEqual(ids(90 * 60_000), []);
    assert.deepEqual(ids(3 * H), ["corp\\bob"]);
    assert.deepEqual(ids(49 * H), ["corp\\bob"]);
    assert.deepEqual(ids(51 * H), []);
    assert.deepEqual(index.openAt("esx02", T0 + 3 * H, 48 * H), []);
  });

  it("closes a session without id with the matching logout", () => {
    const vc = source("vc.log");
    const index = new SessionIndex();
    index.add(
      sess(vc, "login", {
        time: at(0),
        vcenter: "vc01",
        user: "VSPHERE.LOCAL\\Administrator",
        sourceIp: "10.0.0.5",
        process: "vpxd",
      }),
    );
    index.add(
      sess(vc, "logout", {
        time: at(10_000),
        vcenter: "vc01",
        user: "VSPHERE.LOCAL\\Administrator",
        sourceIp: "10.0.0.5",
        process: "vpxd",
      }),
    );
    index.add(
      sess(vc, "login", {
        time: at(20_000),
        vcenter: "vc01",
        user: "VSPHERE.LOCAL\\Administrator",
        sourceIp: "10.0.0.5",
        process: "vpxd",
      }),
    );
    assert.equal(index.size, 2);
    assert.equal(index.openAt("vc:vc01", T0 + 15_000, 48 * H).length, 0);
    assert.equal(index.openAt("vc:vc01", T0 + 25_000, 48 * H).length, 1);
  });

  it("finds the records of an opID family", () => {
    const vc = source("vpxd.log");
    const index = new SessionIndex();
    index.add(
      sess(vc, "auth", {
        time: at(0),
        vcenter: "vc01",
        user: "CORP\\alice",
        opId: "58B46869-0000005E-46",
        process: "vpxd",
      }),
    );
    assert.equal(
      index.claimsFor("58b46869-0000005e-46-3d-df-5944")[0]?.principal.id,
      "corp\\alice",
    );
    assert.equal(index.claimsFor("58b46869-0000005e-47").length, 0);
  });

  it("forgets what ended before a time", () => {
    const index = new SessionIndex();
    index.add(
      sess(src, "login", {
        time: at(0),
        user: "root",
        session: "aaaaaaaa",
        opId: "c4c96306",
        process: "hostd",
      }),
    );
    index.add(
      sess(src, "logout", { time: at(H), user: "root", session: "aaaaaaaa", process: "hostd" }),
    );
    index.add(
      sess(src, "login", { time: at(5 * H), user: "root", session: "cccccccc", process: "hostd" }),
    );
    index.pruneBefore(T0 + 2 * H);
    assert.equal(index.size, 1);
    assert.equal(index.byKey("esx01", "aaaaaaaa", "host"), undefined);
    assert.equal(index.claimsFor("c4c96306").length, 0);
  });
});
