/**
 * The session chain: a vCenter session (the session key on vpxd LROs) and a hostd session (its
 * sid) belong to one account, so the exact operations of a session name the account of its other
 * operations (`correlated`); sessions whose exact operations name different accounts give
 * `ambiguous`; keys are scoped per vCenter and per host; nothing overrides an exact operation.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { CanonicalRecord, InputSource, Observation } from "../model/record.js";
import type { Operation } from "../model/operation.js";
import { readLines, source as harnessSource } from "../../test/helpers/reader-harness.js";
import { vpxdReader } from "../ingest/readers/vpxd/index.js";
import { correlate, createCorrelator, DEFAULT_WINDOWS } from "./correlate.js";
import { obs, sess, source } from "./fixtures/records.js";

const at = (base: string, ms: number): string => new Date(Date.parse(base) + ms).toISOString();
const T0 = "2026-03-12T01:08:51.000Z";
const S1 = "5285e7a0-47f4-7903-4dc8-1f11295a627b";
const S2 = "52ac7a00-b200-e609-3160-e6acfe2eb347";

const LABEL = new Map([
  ["InitiateFileTransferToGuest", "Initiate File Transfer To Guest"],
  ["StartProgramInGuest", "Start Program"],
  ["ListProcessesInGuest", "List Processes"],
  ["DeleteFileInGuest", "Delete File"],
]);

interface Estate {
  readonly vpxd: InputSource;
  readonly vmx: InputSource;
  readonly receiver: InputSource;
  readonly stream: InputSource;
}

let serial = 0;
const estate = (vcenter = "vcsa01", vm = "dc01"): Estate => ({
  vpxd: source(`${vcenter}/vpxd.log`, { hostHint: vcenter }),
  vmx: source(`esx01/vmfs/volumes/ds1/${vm}/vmware.log`, { hostHint: "esx01" }),
  receiver: source("syslog/esxi-hosts.log"),
  stream: source(`syslog/${vcenter}-events.log`),
});

/**
 * One call through vCenter, as the example dataset writes it: vpxd LRO BEGIN/FINISH with the
 * session key, vmware.log request/response with the hop-suffixed opID, and, when `user` is given,
 * the hostd event and the vCenter event naming that user (ListProcesses has neither).
 */
function call(
  e: Estate,
  time: string,
  api: string,
  session: string,
  user?: string,
  vm = "dc01",
): CanonicalRecord[] {
  const n = serial++;
  const opId = `149f${(0x8500 + n).toString(16)}-01`;
  const hostOpId = `${opId}-b9-e716`;
  const vcenter = e.vpxd.hostHint;
  const out: CanonicalRecord[] = [
    obs(e.vpxd, "vpxd.lro", {
      time,
      ...(vcenter ? { vcenter } : {}),
      api,
      opId,
      session: `${session}(521fa2ec-5c56-4e5c-442c-fb36e8928edd)`,
      eventKey: `lro-${1000 + n}`,
      line: 2 * n + 1,
    }),
    obs(e.vpxd, "vpxd.lro-end", {
      time: at(time, 90),
      ...(vcenter ? { vcenter } : {}),
      api,
      opId,
      session: `${session}(521fa2ec-5c56-4e5c-442c-fb36e8928edd)`,
      eventKey: `lro-${1000 + n}`,
      line: 2 * n + 2,
    }),
    obs(e.vmx, "vmx.request", { time: at(time, 16), api, opId: hostOpId, seq: n, line: 2 * n + 1 }),
    obs(e.vmx, "vmx.response", { time: at(time, 66), opId: hostOpId, seq: n, line: 2 * n + 2 }),
  ];
  if (user) {
    out.push(
      obs(e.receiver, "hostd.event", {
        time: at(time, 636),
        host: "esx01.corp.example",
        api,
        method: LABEL.get(api) ?? api,
        vm: { name: vm },
        eventKey: String(4000 + n),
        line: n + 1,
      }),
      obs(e.stream, "vc.event", {
        time: at(time, 641),
        vcenter: vcenter ?? "vcsa01",
        api,
        method: LABEL.get(api) ?? api,
        vm: { name: vm },
        user,
        eventKey: String(88000 + n),
        line: n + 1,
      }),
    );
  }
  return out;
}

const byApi = (ops: readonly Operation[], api: string): Operation[] =>
  ops.filter((o) => o.api === api);

describe("session chain", () => {
  it("the Veeam job: polls without a vCenter event take the account of their vCenter session", () => {
    const e = estate();
    const records = [
      ...call(e, T0, "InitiateFileTransferToGuest", S1, "CORP\\svc-veeam"),
      ...call(e, at(T0, 2_100), "StartProgramInGuest", S1, "CORP\\svc-veeam"),
      ...call(e, at(T0, 2_600), "ListProcessesInGuest", S1),
      ...call(e, at(T0, 4_600), "ListProcessesInGuest", S1),
      ...call(e, at(T0, 9_100), "DeleteFileInGuest", S1, "CORP\\svc-veeam"),
    ];
    const r = correlate(records);
    assert.equal(r.operations.length, 5);
    const exact = r.operations.filter((o) => o.attribution.level === "exact");
    assert.equal(exact.length, 3);
    const polls = byApi(r.operations, "ListProcessesInGuest");
    assert.equal(polls.length, 2);
    for (const op of polls) {
      const a = op.attribution;
      assert.equal(a.level, "correlated");
      assert.equal(a.principal?.id, "corp\\svc-veeam");
      assert.match(
        a.reason,
        new RegExp(
          `^vpxd LRO lro-\\d+ ran in vCenter session ${S1} of vcsa01, whose 3 other operations name CORP\\\\svc-veeam exactly \\(vCenter events \\d+, \\d+, \\d+\\)$`,
        ),
      );
      // the evidence is the poll's own LRO, which carries the session key
      assert.equal(a.evidence.length, 1);
      const [ev] = a.evidence;
      const lro = op.observations[Number(ev?.slice(4))];
      assert.equal(lro?.kind, "vpxd.lro");
      assert.ok(lro?.session?.startsWith(S1));
      // and the exact operations of the session it relies on
      assert.deepEqual(a.related, exact.map((o) => o.id).sort());
      assert.equal(op.origin.via, "vcenter");
    }
  });

  it("an exact operation of the session only counts within the session-chain window", () => {
    const e = estate();
    const far = DEFAULT_WINDOWS.sessionChain + 60_000;
    const r = correlate([
      ...call(e, T0, "StartProgramInGuest", S1, "CORP\\svc-veeam"),
      ...call(e, at(T0, far), "ListProcessesInGuest", S1),
    ]);
    const [poll] = byApi(r.operations, "ListProcessesInGuest");
    assert.equal(poll?.attribution.level, "unknown");
    // a smaller window (option) leaves even a close poll alone; a larger one reaches it
    const narrow = correlate(
      [
        ...call(e, T0, "StartProgramInGuest", S1, "CORP\\svc-veeam"),
        ...call(e, at(T0, 5_000), "ListProcessesInGuest", S1),
      ],
      { windows: { sessionChain: 1_000 } },
    );
    assert.equal(byApi(narrow.operations, "ListProcessesInGuest")[0]?.attribution.level, "unknown");
  });

  it("exact operations of one session naming different accounts: the others are ambiguous", () => {
    const e = estate();
    const r = correlate([
      ...call(e, T0, "StartProgramInGuest", S1, "CORP\\alice"),
      ...call(e, at(T0, 2_000), "ListProcessesInGuest", S1),
      ...call(e, at(T0, 4_000), "DeleteFileInGuest", S1, "CORP\\bob"),
    ]);
    const [start] = byApi(r.operations, "StartProgramInGuest");
    const [del] = byApi(r.operations, "DeleteFileInGuest");
    const [poll] = byApi(r.operations, "ListProcessesInGuest");
    // nothing overrides what a record of the call itself says
    assert.equal(start?.attribution.level, "exact");
    assert.equal(start?.attribution.principal?.id, "corp\\alice");
    assert.equal(del?.attribution.level, "exact");
    assert.equal(del?.attribution.principal?.id, "corp\\bob");
    assert.equal(poll?.attribution.level, "ambiguous");
    assert.equal(poll?.attribution.principal, undefined);
    assert.deepEqual(poll?.attribution.candidates?.map((p) => p.id).sort(), [
      "corp\\alice",
      "corp\\bob",
    ]);
    assert.match(poll?.attribution.reason ?? "", /several accounts/);
    assert.deepEqual(poll?.attribution.related, [start?.id, del?.id].sort());
  });

  it("a session chain never overrides an exact operation, and other sessions stay apart", () => {
    const e = estate();
    const r = correlate([
      ...call(e, T0, "StartProgramInGuest", S1, "CORP\\alice"),
      ...call(e, at(T0, 1_000), "DeleteFileInGuest", S1, "CORP\\alice"),
      // same vCenter, another session a minute later: bob's exact call and his poll
      ...call(e, at(T0, 60_000), "StartProgramInGuest", S2, "CORP\\bob"),
      ...call(e, at(T0, 61_000), "ListProcessesInGuest", S2),
    ]);
    const bobs = r.operations.filter((o) => o.attribution.principal?.id === "corp\\bob");
    assert.deepEqual(
      bobs.map((o) => [o.api, o.attribution.level]),
      [
        ["StartProgramInGuest", "exact"],
        ["ListProcessesInGuest", "correlated"],
      ],
    );
    assert.equal(
      r.operations.filter((o) => o.attribution.principal?.id === "corp\\alice").length,
      2,
    );
  });

  it("session keys of different vCenters are not mixed", () => {
    const vc1 = estate("vcsa01");
    const vc2 = estate("vcsa02", "dc02");
    const vc2Vpxd = vc2.vpxd;
    const r = correlate([
      ...call(vc1, T0, "StartProgramInGuest", S1, "CORP\\alice"),
      // the same key on another vCenter (keys are random; a hostile log may reuse one)
      ...call(vc2, at(T0, 2_000), "ListProcessesInGuest", S1, undefined, "dc02"),
      // and a login on that other vCenter naming bob for it
      sess(vc2Vpxd, "login", {
        time: at(T0, -60_000),
        vcenter: "vcsa02",
        user: "CORP\\bob",
        sourceIp: "192.0.2.7",
        session: S1,
        process: "vpxd",
      }),
      ...call(vc1, at(T0, 4_000), "ListProcessesInGuest", S1),
    ]);
    const polls = byApi(r.operations, "ListProcessesInGuest");
    const onVc1 = polls.find((o) => o.observations.some((x) => x.vcenter === "vcsa01"));
    const onVc2 = polls.find((o) => o.observations.some((x) => x.vcenter === "vcsa02"));
    assert.equal(onVc1?.attribution.level, "correlated");
    assert.equal(onVc1?.attribution.principal?.id, "corp\\alice");
    // vcsa02's session S1 is bob's (its own login), never alice's
    assert.equal(onVc2?.attribution.principal?.id, "corp\\bob");
    assert.match(onVc2?.attribution.reason ?? "", /vCenter session/);
  });

  it("without its login, a vCenter session of another vCenter lends nothing", () => {
    const vc1 = estate("vcsa01");
    const vc2 = estate("vcsa02", "dc02");
    const r = correlate([
      ...call(vc1, T0, "StartProgramInGuest", S1, "CORP\\alice"),
      ...call(vc2, at(T0, 2_000), "ListProcessesInGuest", S1, undefined, "dc02"),
    ]);
    const [poll] = byApi(r.operations, "ListProcessesInGuest");
    assert.equal(poll?.attribution.level, "unknown");
  });

  it("a vpxd.log login names its session: LROs of that session are correlated (reader to account)", () => {
    const lines = [
      `2026-03-12T00:59:40.100Z info vpxd[4127] [Originator@6876 sub=vpxLro opID=6f1e2d3c] [VpxLRO] -- BEGIN lro-1217100 -- SessionManager -- vim.SessionManager.login -- ${S1}(521fa2ec-5c56-4e5c-442c-fb36e8928edd)`,
      `2026-03-12T00:59:40.111Z info vpxd[4127] [Originator@6876 sub=User opID=6f1e2d3c] User CORP\\svc-veeam@10.10.2.40 logged in as Veeam Backup & Replication/12.3.1`,
      `2026-03-12T00:59:40.130Z info vpxd[4127] [Originator@6876 sub=vpxLro opID=6f1e2d3c] [VpxLRO] -- FINISH lro-1217100`,
      `2026-03-12T01:08:53.692Z info vpxd[4185] [Originator@6876 sub=vpxLro opID=149f852d-01] [VpxLRO] -- BEGIN lro-1217703 -- guestOperationsProcessManager -- vim.vm.guest.ProcessManager.listProcesses -- ${S1}(521fa2ec-5c56-4e5c-442c-fb36e8928edd)`,
      `2026-03-12T01:08:53.741Z info vpxd[4185] [Originator@6876 sub=vpxLro opID=149f852d-01] [VpxLRO] -- FINISH lro-1217703`,
    ].join("\n");
    const rec = readLines(
      vpxdReader,
      lines,
      harnessSource("vcsa01/vpxd.log", { hostHint: "vcsa01" }),
    );
    const [login] = rec.sessions();
    assert.equal(login?.session, S1);
    const r = correlate(rec.records);
    assert.equal(r.operations.length, 1);
    const [op] = r.operations;
    assert.equal(op?.attribution.level, "correlated");
    assert.equal(op?.attribution.principal?.id, "corp\\svc-veeam");
    assert.equal(op?.attribution.reason, `vCenter session ${S1} names CORP\\svc-veeam`);
    assert.deepEqual(op?.attribution.evidence, ["session:0"]);
    assert.equal(op?.sessions?.[0]?.kind, "login");
    assert.equal(op?.origin.sourceIp, "10.10.2.40");
    assert.equal(op?.origin.client, "Veeam");
  });
});

describe("session chain: vpxuser and hostd sessions", () => {
  const hostd = (): InputSource => source("esx01/hostd.log", { hostHint: "esx01.corp.example" });

  it("hostd saw only vpxuser:<no user>: the session's exact end user is given (correlated)", () => {
    const e = estate();
    const h = hostd();
    const records: CanonicalRecord[] = [
      ...call(e, T0, "StartProgramInGuest", S1, "CORP\\alice"),
      ...call(e, at(T0, 2_000), "ListProcessesInGuest", S1),
    ];
    const pollLro = records.find(
      (x): x is Observation =>
        x.type === "observation" && x.kind === "vpxd.lro" && x.api === "ListProcessesInGuest",
    );
    records.push(
      obs(h, "hostd.request", {
        time: at(T0, 2_010),
        opId: `${pollLro?.opId ?? ""}-b9-e716`,
        user: "vpxuser:<no user>",
        api: "ListProcessesInGuest",
        method: "listProcesses",
      }),
    );
    const r = correlate(records);
    const [poll] = byApi(r.operations, "ListProcessesInGuest");
    assert.equal(poll?.attribution.level, "correlated");
    assert.equal(poll?.attribution.principal?.id, "corp\\alice");
    assert.match(poll?.attribution.reason ?? "", /\(hostd saw only vpxuser\)$/);
  });

  it("an operation exact only as vpxuser lends no account to its session", () => {
    const e = estate();
    const h = hostd();
    const records: CanonicalRecord[] = [
      ...call(e, T0, "StartProgramInGuest", S1),
      ...call(e, at(T0, 2_000), "ListProcessesInGuest", S1),
    ];
    const startLro = records.find(
      (x): x is Observation =>
        x.type === "observation" && x.kind === "vpxd.lro" && x.api === "StartProgramInGuest",
    );
    records.push(
      obs(h, "hostd.request", {
        time: at(T0, 10),
        opId: `${startLro?.opId ?? ""}-b9-e716`,
        user: "vpxuser:vpxuser",
        api: "StartProgramInGuest",
        method: "startProgram",
      }),
    );
    const r = correlate(records);
    const [start] = byApi(r.operations, "StartProgramInGuest");
    const [poll] = byApi(r.operations, "ListProcessesInGuest");
    assert.equal(start?.attribution.principal?.kind, "vpxuser");
    assert.equal(poll?.attribution.level, "unknown");
    assert.equal(poll?.attribution.principal, undefined);
  });

  it("a hostd sid of a direct session: its exact operation names the others", () => {
    const h = hostd();
    const r = correlate([
      obs(h, "hostd.state", {
        time: T0,
        opId: "ee13d46d",
        session: "52806149",
        user: "root",
        vm: { vmx: "/vmfs/volumes/ds1/web-01/web-01.vmx" },
      }),
      obs(h, "hostd.request", {
        time: at(T0, 5_000),
        opId: "ee13d483",
        session: "52806149",
        api: "ListProcessesInGuest",
        method: "listProcesses",
      }),
    ]);
    const list = byApi(r.operations, "ListProcessesInGuest")[0];
    assert.equal(list?.attribution.level, "correlated");
    assert.equal(list?.attribution.principal?.id, "root");
    assert.match(
      list?.attribution.reason ?? "",
      /^hostd request of opID ee13d483 ran in hostd session 52806149 of esx01, whose other operation names root exactly \(hostd state transition of opID ee13d46d\)$/,
    );
  });

  it("a hostd sid that carries vCenter's calls (vpxuser) belongs to no one", () => {
    const h = hostd();
    const r = correlate([
      sess(h, "password-accepted", {
        time: at(T0, -3_600_000),
        user: "vpxuser",
        sourceIp: "127.0.0.1",
        session: "52dead09-bbec-e348-3c53-0b3ee2caa9f7",
        process: "Hostd",
      }),
      obs(h, "hostd.request", {
        time: T0,
        opId: "539bc6dd-c7-c39c",
        session: "52dead09",
        user: "vpxuser:CORP\\alice",
        api: "StartProgramInGuest",
        method: "startProgram",
      }),
      obs(h, "hostd.request", {
        time: at(T0, 2_000),
        opId: "539bc6e0-c7-c39c",
        session: "52dead09",
        api: "ListProcessesInGuest",
        method: "listProcesses",
      }),
    ]);
    const [start] = byApi(r.operations, "StartProgramInGuest");
    const [list] = byApi(r.operations, "ListProcessesInGuest");
    assert.equal(start?.attribution.level, "exact");
    assert.equal(start?.attribution.principal?.id, "corp\\alice");
    assert.notEqual(list?.attribution.principal?.id, "corp\\alice");
    assert.notEqual(list?.attribution.level, "correlated");
  });
});

describe("session chain: an LRO placed by time", () => {
  it("an LRO that fits a direct call and a vCenter call by time lends neither its session", () => {
    // ESXi 8: hostd events carry no opID, so vpxd LROs are placed on calls by method and time.
    // carol's call on esx05 and root's direct call on esx09 both fit carol's LRO.
    const vpxd = source("vc01/vpxd.log", { hostHint: "vc01" });
    const stream = source("vc01-events.log");
    const h5 = source("esx05/hostd.log", { hostHint: "esx05.corp.example" });
    const h9 = source("esx09/hostd.log", { hostHint: "esx09.corp.example" });
    const t = "2024-06-10T07:26:40.000Z";
    const start = "StartProgramInGuest";
    const r = correlate([
      sess(vpxd, "login", {
        time: at(t, -600_000),
        vcenter: "vc01",
        user: "CORP\\carol",
        sourceIp: "192.0.2.3",
        session: S1,
        process: "vpxd",
      }),
      // root, straight to esx09: vCenter reports the event without a user
      obs(h9, "hostd.event", {
        time: at(t, 2_831),
        api: start,
        method: "Start Program",
        vm: { name: "web-167" },
        eventKey: "262",
      }),
      obs(stream, "vc.event", {
        time: at(t, 4_536),
        vcenter: "vc01",
        api: start,
        method: "Start Program",
        vm: { name: "web-167" },
        user: "",
        eventKey: "576370",
      }),
      // carol's call through vCenter on esx05
      obs(vpxd, "vpxd.lro", {
        time: at(t, 4_574),
        vcenter: "vc01",
        api: start,
        opId: "5d1c0a3e",
        session: S1,
        eventKey: "lro-901358",
      }),
      obs(vpxd, "vpxd.lro-end", {
        time: at(t, 4_741),
        vcenter: "vc01",
        api: start,
        opId: "5d1c0a3e",
        session: S1,
        eventKey: "lro-901358",
      }),
      obs(stream, "vc.event", {
        time: at(t, 5_053),
        vcenter: "vc01",
        api: start,
        method: "Start Program",
        vm: { name: "db-100" },
        user: "CORP\\carol",
        eventKey: "576375",
      }),
      obs(h5, "hostd.event", {
        time: at(t, 5_518),
        api: start,
        method: "Start Program",
        vm: { name: "db-100" },
        eventKey: "271",
      }),
    ]);
    const root = r.operations.find((o) => o.vm.name === "web-167");
    const carol = r.operations.find((o) => o.vm.name === "db-100");
    assert.equal(carol?.attribution.level, "exact");
    assert.equal(carol?.attribution.principal?.id, "corp\\carol");
    assert.ok(root);
    assert.notEqual(root.attribution.principal?.id, "corp\\carol");
    assert.ok(!["exact", "correlated"].includes(root.attribution.level), root.attribution.reason);
  });
});

describe("session chain in live use (flushBefore)", () => {
  it("an operation waits for its session's later exact operations: same result as one batch", () => {
    const e = estate();
    const records: CanonicalRecord[] = [];
    // a session-chain window longer than the join windows, so that the session's exact call
    // (2 h after the polls) has not been read when the polls would otherwise be released
    const windows = { sessionChain: 3 * 3_600_000 };
    for (let job = 0; job < 8; job++) {
      const t = at(T0, job * 4 * 3_600_000);
      const key = `52${String(job).padStart(6, "0")}-47f4-7903-4dc8-1f11295a627b`;
      records.push(
        ...call(e, t, "ListProcessesInGuest", key),
        ...call(e, at(t, 2_000), "ListProcessesInGuest", key),
        ...call(e, at(t, 2 * 3_600_000), "StartProgramInGuest", key, `CORP\\user${job % 3}`),
      );
    }
    const timeOf = (r: CanonicalRecord): number => (r.time ? Date.parse(r.time) : 0);
    const ordered = [...records].sort((a, b) => timeOf(a) - timeOf(b));
    const live = createCorrelator({ windows });
    const flushed: Operation[] = [];
    let releases = 0;
    for (const record of ordered) {
      live.add(record);
      const part = live.flushBefore(timeOf(record));
      if (part.operations.length) releases++;
      flushed.push(...part.operations);
    }
    flushed.push(...live.finish().operations);
    assert.ok(releases > 1, "operations were released before the end");
    const fingerprint = (ops: readonly Operation[]): string =>
      ops
        .map((o) => `${o.id} ${o.api} ${o.attribution.level} ${o.attribution.principal?.id ?? ""}`)
        .sort()
        .join("\n");
    const batch = correlate(records, { windows }).operations;
    assert.equal(batch.filter((o) => o.attribution.level === "correlated").length, 16);
    assert.equal(fingerprint(flushed), fingerprint(batch));
  });
});

describe("one spelling per host", () => {
  it("a bundle's short host name and syslog's qualified one print as the qualified one", () => {
    const e = estate();
    const r = correlate([
      ...call(e, T0, "StartProgramInGuest", S1, "CORP\\svc-veeam"),
      ...call(e, at(T0, 2_000), "ListProcessesInGuest", S1),
    ]);
    // the poll is seen only by vmware.log (bundle path: esx01) and vpxd; the call by syslog too
    const [poll] = byApi(r.operations, "ListProcessesInGuest");
    assert.ok(poll?.observations.every((o) => o.host === undefined));
    assert.deepEqual(
      r.operations.map((o) => o.host),
      ["esx01.corp.example", "esx01.corp.example"],
    );
  });

  it("without a qualified name in the run, the short name stays", () => {
    const e = estate();
    const r = correlate(call(e, T0, "ListProcessesInGuest", S1));
    assert.equal(r.operations[0]?.host, "esx01");
  });
});
