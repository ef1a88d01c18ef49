import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fixtures,
  readLines,
  readRealSample,
  readRouted,
  realSamplesSkip,
} from "../../../../test/helpers/reader-harness.js";
import { matchSessionText, vcEventsReader } from "./index.js";

const fixture = fixtures(import.meta.url).text;

const skipReal = realSamplesSkip();

describe("vc-events reader: the syslog event stream", () => {
  const rec = readLines(vcEventsReader, fixture("stream.log"));
  const obs = rec.observations();
  const byKey = (key: string) => rec.records.find((r) => r.eventKey === key);

  it("recognises guest-operation events by their text, with user, vCenter, key and chain", () => {
    const ev = byKey("900102");
    assert.equal(ev?.type, "observation");
    if (ev?.type !== "observation") return;
    assert.equal(ev.kind, "vc.event");
    assert.equal(ev.method, "Start Program");
    assert.equal(ev.api, "StartProgramInGuest");
    assert.deepEqual(ev.vm, { name: "web 01 (prod)" });
    assert.equal(ev.user, "VSPHERE.LOCAL\\ops-admin");
    assert.equal(ev.vcenter, "vc01.example.invalid");
    assert.equal(ev.chainId, "900102");
    assert.equal(ev.time, "2024-09-02T09:20:11.050Z");
    assert.equal(ev.process, "vpxd");
    assert.equal(ev.evidence, "inferred");
  });

  it("reads an authentication failure leniently", () => {
    const ev = byKey("900103");
    assert.ok(ev?.type === "observation");
    assert.equal(ev.kind, "vc.auth-failure");
    assert.equal(ev.outcome, "failure");
    assert.equal(ev.api, "InitiateFileTransferFromGuest");
    assert.deepEqual(ev.vm, { name: "web 01 (prod)" });
  });

  it("joins a two-part event whose parts are interleaved with another event", () => {
    const ev = byKey("900104");
    assert.ok(ev?.type === "observation");
    assert.equal(ev.kind, "vc.event");
    assert.equal(ev.api, "InitiateFileTransferFromGuest");
    assert.deepEqual(ev.vm, { name: "a-very-long-name-split-across-two-parts" });
    assert.equal(ev.prov.line, 4);
    assert.equal(ev.prov.lineCount, 2);
    const lines = fixture("stream.log").split("\n");
    assert.equal(ev.prov.raw, `${lines[3]}\n${lines[5]}`);
  });

  it("keeps a burst record as the number of operations it hides", () => {
    const ev = byKey("900105");
    assert.ok(ev?.type === "observation");
    assert.equal(ev.kind, "vc.burst");
    assert.equal(ev.count, 57);
    assert.equal(ev.detail, "compressed");
    assert.equal(ev.api, undefined);
  });

  it("ignores an alarm that quotes a guest-operation text (only its key is kept)", () => {
    const ev = byKey("900106");
    assert.equal(ev?.type, "logging");
    assert.equal(ev?.type === "logging" ? ev.kind : undefined, "vc.event-key");
    assert.ok(!rec.observations().some((o) => o.eventKey === "900106"));
  });

  it("keeps an unknown operation label as written and reports it", () => {
    const ev = byKey("900107");
    assert.ok(ev?.type === "observation");
    assert.equal(ev.method, "Frobnicate Widget");
    assert.equal(ev.api, undefined);
    assert.ok(rec.issues.some((i) => i.code === "unknown_method" && i.line === 8));
  });

  it("turns login, logout and bad-user events into session records", () => {
    const s = rec.sessions();
    assert.deepEqual(
      s.map((x) => [x.kind, x.user, x.sourceIp, x.eventKey]),
      [
        ["login", "VSPHERE.LOCAL\\ops-admin", "192.0.2.10", "900101"],
        ["login-failed", "baduser", "198.51.100.7", "900108"],
        ["logout", "VSPHERE.LOCAL\\ops-admin", "192.0.2.10", "900110"],
      ],
    );
    assert.equal(s[0]?.userAgent, "PowerCLI/13.2.1.22851661");
    assert.equal(s[0]?.evidence, "verbatim");
    assert.equal(s[1]?.evidence, "inferred");
    assert.equal(s[2]?.apiInvocations, 42);
    assert.equal(s[2]?.userAgent, "pyvmomi Python/3.11.4 (Linux; 5.15.0; x86_64)");
  });

  it("falls back to the header time when the created column is not a time", () => {
    const ev = byKey("900111");
    assert.equal(ev?.time, "2024-09-02T09:25:01.000Z");
    assert.ok(rec.issues.some((i) => i.code === "bad_time" && i.line === 12));
  });

  it("reports the garbled line and the orphan part (whose text is still read)", () => {
    assert.ok(rec.issues.some((i) => i.code === "unparsed_line" && i.line === 13));
    const orphan = rec.issues.find((i) => i.code === "orphan_part");
    assert.equal(orphan?.line, 10);
    assert.match(orphan?.message ?? "", /900109.*1 of 3/);
    const partial = byKey("900109");
    assert.ok(partial?.type === "observation");
    assert.equal(partial.api, "ListProcessesInGuest");
  });

  it("emits nothing else", () => {
    assert.equal(obs.length, 7);
    assert.equal(rec.sessions().length, 3);
  });
});

describe("vc-events reader: routed lines and bounds", () => {
  it("takes the vCenter from the router's envelope and keeps the whole line", () => {
    const body =
      "Event [7] [1-1] [2024-01-01T00:00:00Z] [vim.event.EventEx] [info] [root] [DC] [7] [Guest operation List Processes performed on Virtual machine db.]";
    const line = `<14>1 2024-01-01T00:00:00Z vcx vpxd 1 - - ${body}`;
    const rec = readRouted(vcEventsReader, [
      [body, 1, { body, host: "vcx", program: "vpxd", line }],
    ]);
    const [o] = rec.observations();
    assert.equal(o?.vcenter, "vcx");
    assert.equal(o?.api, "ListProcessesInGuest");
    assert.equal(o?.prov.raw, line);
  });

  it("keeps white space at a part boundary and trims it only at the end of the event", () => {
    const head = "[2024-01-01T00:00:00Z] [vim.event.EventEx] [info] [] [] [9] [";
    const rec = readLines(
      vcEventsReader,
      `Event [9] [1-2] ${head}Guest operation Delete File performed on Virtual \n` +
        `Event [9] [2-2] ${head}machine my vm .   ]   \n`,
    );
    const [o] = rec.observations();
    assert.equal(o?.api, "DeleteFileInGuest");
    assert.deepEqual(o?.vm, { name: "my vm " });
  });

  it("does not believe an absurd part count", () => {
    const rec = readLines(
      vcEventsReader,
      "Event [1] [1-99999999] [2024-01-01T00:00:00Z] [vim.event.EventEx] [info] [] [] [1] [x\n",
    );
    assert.deepEqual(rec.issueCodes(), ["unparsed_line"]);
  });

  it("evicts the oldest pending event when too many are open, as an orphan", () => {
    const lines: string[] = [];
    for (let k = 1; k <= 1001; k++) {
      lines.push(
        `Event [${k}] [1-2] [2024-01-01T00:00:00Z] [vim.event.EventEx] [info] [] [] [${k}] [Guest operation Delete File performed on Virtual machine v${k}`,
      );
    }
    const rec = readLines(vcEventsReader, lines.join("\n"));
    assert.equal(rec.issues.filter((i) => i.code === "orphan_part").length, 1001);
    assert.equal(rec.issues[0]?.message.includes("vCenter event 1:"), true);
  });
});

describe("matchSessionText", () => {
  it("keeps a UPN user whole: the IP is after the last @", () => {
    const s = matchSessionText(
      "User administrator@vsphere.local@10.0.0.5 logged in as govc/0.37.0",
    );
    assert.equal(s?.user, "administrator@vsphere.local");
    assert.equal(s?.ip, "10.0.0.5");
    assert.equal(s?.userAgent, "govc/0.37.0");
  });
});

describe("vc-events reader: real samples", { skip: skipReal }, () => {
  it("Elastic vSphere sample: 0 observations; sessions with user agents and API counts", () => {
    const rec = readLines(
      vcEventsReader,
      readRealSample("elastic-integrations-vsphere-test-format-common.log"),
    );
    assert.equal(rec.observations().length, 0);
    const s = rec.sessions();
    assert.equal(s.filter((x) => x.kind === "login").length, 7);
    assert.equal(s.filter((x) => x.kind === "logout").length, 6);
    assert.ok(s.every((x) => x.userAgent && x.sourceIp && x.user));
    assert.ok(
      s.filter((x) => x.kind === "logout").every((x) => x.apiInvocations === 3),
      "every logout states 3 API invocations",
    );
    assert.ok(s.filter((x) => x.eventKey !== "513220451").every((x) => x.vcenter === "vcenter"));
    assert.equal(s.find((x) => x.eventKey === "513220451")?.userAgent, "VMware-client/6.5.0");
    assert.deepEqual(rec.issues, []);
  });
});

describe("vc-events reader: hostile user and VM names", () => {
  const HEAD = "<14>1 2024-09-02T09:20:11.100000+00:00 vc01.example.invalid vpxd 58650 - -  ";
  const line = (user: string, target: string, vm: string, chain = "900102"): string =>
    `${HEAD}Event [900102] [1-1] [2024-09-02T09:20:11.05Z] [vim.event.EventEx] [info] [${user}] [${target}] [${chain}] [Guest operation Start Program performed on Virtual machine ${vm}.]`;
  const one = (text: string) => {
    const rec = readLines(vcEventsReader, text);
    const obs = rec.observations();
    assert.equal(obs.length, 1, "the event is read");
    return { ev: obs[0], rec };
  };

  const names = [
    ["a `]`", "CORP\\js]mith"],
    ["a `[`", "CORP\\js[mith"],
    ["`][`", "CORP\\]js[mith]"],
    ["an OSC sequence", "CORP\\evil\u001b]0;title\u0007x"],
    ["an OSC sequence ended by ST", "CORP\\evil\u001b]8;;http://x\u001b\\x"],
    ["a CSI sequence", "CORP\\\u001b[31mred\u001b[0m"],
    ["C1 controls (CSI, OSC, ST)", "CORP\\a\u009b2J\u009d0;t\u009cb"],
    ["a bidi override", "CORP\\\u202eadmin"],
  ] as const;
  for (const [what, user] of names) {
    it(`reads a user name holding ${what} whole`, () => {
      const { ev, rec } = one(line(user, "Lab DC", "web01"));
      assert.equal(ev?.user, user);
      assert.equal(ev?.userUnreadable, undefined);
      assert.equal(ev?.api, "StartProgramInGuest");
      assert.deepEqual(rec.issueCodes(), []);
    });
    it(`reads a VM name holding ${what} whole, in the target and the description`, () => {
      const vm = user.replace("CORP\\", "vm-");
      const { ev, rec } = one(line("CORP\\ops", vm, vm));
      assert.equal(ev?.user, "CORP\\ops");
      assert.deepEqual(ev?.vm, { name: vm });
      assert.deepEqual(rec.issueCodes(), []);
    });
  }

  it("reads a description holding `] [`, a fake chain column and an OSC sequence", () => {
    const vm = "web] [900102] [Guest operation List Processes performed on x\u001b]0;t\u0007";
    const { ev } = one(line("CORP\\ops", "Lab DC", vm));
    assert.equal(ev?.user, "CORP\\ops");
    assert.equal(ev?.api, "StartProgramInGuest");
    assert.deepEqual(ev?.vm, { name: vm });
  });

  it("keeps an event whose user cannot be told from its target without a user, marked", () => {
    for (const [user, target] of [
      ["CORP\\js] [mith", "Lab DC"],
      ["CORP\\ops", "Lab] [DC"],
      ["CORP\\x] [900102] [y", "Lab DC"],
    ] as const) {
      const { ev, rec } = one(line(user, target, "web01"));
      assert.equal(ev?.user, undefined, `${user} / ${target}: no user is guessed`);
      assert.equal(ev?.userUnreadable, true);
      assert.equal(ev?.api, "StartProgramInGuest", "the operation, VM and time are still read");
      assert.deepEqual(ev?.vm, { name: "web01" });
      assert.equal(ev?.time, "2024-09-02T09:20:11.050Z");
      assert.deepEqual(rec.issueCodes(), ["unparsed_line"]);
      assert.match(rec.issues[0]?.message ?? "", /user column cannot be told/);
    }
  });

  it("reads a guest operation from a line whose chain column is not a number, without its user", () => {
    const { ev, rec } = one(line("CORP\\ops", "Lab DC", "web01", "x]y"));
    assert.equal(ev?.userUnreadable, true);
    assert.equal(ev?.user, undefined);
    assert.deepEqual(ev?.vm, { name: "web01" });
    assert.deepEqual(rec.issueCodes(), ["unparsed_line"]);
  });

  it("marks an authentication failure and a burst whose user cannot be read", () => {
    const auth = `${HEAD}Event [7] [1-1] [2024-09-02T09:20:12.000Z] [vim.event.EventEx] [warning] [a] [b] [c] [7] [Guest operation authentication failure for operation Start Program on Virtual machine web01.]`;
    const burst = `${HEAD}Event [8] [1-1] [2024-09-02T09:20:13.100Z] [vim.event.EventEx] [info] [a] [b] [c] [8] [Event burst of 'com.vmware.vc.guestOperations.GuestOperation' on vm-42 compressed: count 57]`;
    const rec = readLines(vcEventsReader, `${auth}\n${burst}`);
    const obs = rec.observations();
    assert.deepEqual(
      obs.map((o) => [o.kind, o.user, o.userUnreadable]),
      [
        ["vc.auth-failure", undefined, true],
        ["vc.burst", undefined, true],
      ],
    );
  });
});

describe("vc-events reader: what the logging path itself says", () => {
  const rec = readLines(vcEventsReader, fixtures(import.meta.url).text("loss.log"));
  const logging = rec.records.filter((r) => r.type === "logging");

  it("keeps the key of every event, even one guestops has no other use for", () => {
    const keys = rec.records.map((r) => r.eventKey).sort();
    assert.deepEqual(keys, ["1000", "1001", "1002", "1003", "1007", "1008"]);
    const other = logging.find((r) => r.eventKey === "1001");
    assert.equal(other?.kind, "vc.event-key");
    assert.equal(other?.vcenter, "vcsa01.lab");
    assert.equal(other?.time, "2026-03-02T12:00:01.000Z");
    assert.deepEqual(rec.skipped, [], "no line is skipped: each shows a key");
  });

  it("reads ESXi's remote-logging failure relayed as an EventEx", () => {
    const failure = logging.find((r) => r.eventKey === "1003");
    assert.equal(failure?.kind, "esx.remote-failure");
    assert.equal(failure?.target, "udp://10.0.0.5:514");
    assert.equal(failure?.evidence, "inferred");
  });

  it("reads 'vmsyslog logger … lost N log messages' with the host it names", () => {
    const lost = logging.find((r) => r.eventKey === "1007");
    assert.equal(lost?.kind, "esx.messages-lost");
    assert.equal(lost?.host, "esx-a.lab");
    assert.equal(lost?.count, 1200);
    assert.equal(lost?.target, "10.0.0.5:514");
  });

  it("does not count an alarm quoting that event as a second loss", () => {
    assert.equal(logging.find((r) => r.eventKey === "1008")?.kind, "vc.event-key");
  });
});
