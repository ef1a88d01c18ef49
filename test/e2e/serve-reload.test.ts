/**
 * `guestops serve` reloads, in a real process on loopback: SIGHUP with a changed policy changes
 * how frames sent after it are judged; a bad policy keeps the running one and is reported in
 * health, `/metrics` and the log; a policy file replaced on disk (no signal) is picked up; a
 * configuration change applies its outputs live and reports what needs a restart; a TLS
 * certificate renewed at the same paths is served after a SIGHUP.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parse, stringify } from "yaml";
import { framed, getJson, sendStream, startServe, until, type Served } from "../helpers/serve.js";

const ROOT = new URL("../..", import.meta.url).pathname;

interface Reload {
  readonly ok: number;
  readonly failed: number;
  readonly lastError: string | null;
  readonly lastOk: string | null;
  readonly restartNeeded: readonly string[];
}
interface Health {
  readonly counters: {
    readonly reload: Reload;
    readonly received: Record<string, number>;
    readonly dropped: Record<string, number>;
  };
}
interface AlertList {
  readonly items: readonly {
    readonly id: string;
    readonly vm?: string;
    readonly severity: string;
  }[];
}

const dir = mkdtempSync(join(tmpdir(), "guestops-reload-"));
const running: Served[] = [];
after(async () => {
  for (const s of running) if (s.child.exitCode === null) await s.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** A vCenter event: CORP\svc-aria starts a program on `vm` (the example policy does not allow it). */
const startProgram = (key: number, vm: string, hour: number): string => {
  const t = `2026-03-11T${String(hour).padStart(2, "0")}:00:07.480`;
  return `<14>1 ${t}000+00:00 vcsa01 vpxd 4127 - -  Event [${key}] [1-1] [${t}000Z] [vim.event.EventEx] [info] [CORP\\svc-aria] [PAR-DC1] [${key}] [Guest operation Start Program performed on Virtual machine ${vm}.]`;
};

/** The example policy with the severity of `disallowed-method` set (or left at its default). */
const policyText = (severity?: string): string => {
  const doc = parse(readFileSync(join(ROOT, "examples/policy.yaml"), "utf8")) as {
    rules: Record<string, object>;
  };
  if (severity !== undefined) doc.rules["disallowed-method"] = { severity };
  return stringify(doc);
};

/** Replaces `file` the way editors and deployment tools do: a new file renamed over it. */
const replaceFile = (file: string, text: string): void => {
  writeFileSync(`${file}.new`, text);
  renameSync(`${file}.new`, file);
};

const health = async (s: Served): Promise<Reload> =>
  (await getJson<Health>(s, "/api/health")).counters.reload;

/** Sends one frame and waits for the alert on `vm`; returns its severity. */
async function alertOn(s: Served, frame: string, vm: string): Promise<string> {
  await sendStream(s.ports.get("tcp") ?? 0, framed([frame], false));
  let severity = "";
  await until(
    async () => {
      const list = await getJson<AlertList>(s, "/api/alerts");
      severity = list.items.find((a) => a.vm === vm)?.severity ?? "";
      return severity !== "";
    },
    20_000,
    `the alert on ${vm}`,
  );
  return severity;
}

describe("guestops serve reload", { timeout: 120_000 }, () => {
  it("applies a policy on SIGHUP and on a file change; keeps the running one when bad", async () => {
    const policy = join(dir, "policy.yaml");
    writeFileSync(policy, policyText());
    const db = join(dir, "reload.db");
    // not watched at first: what the SIGHUPs do is theirs alone
    const config = {
      store: db,
      policy: "policy.yaml",
      watch: false,
      listeners: [{ name: "tcp", protocol: "tcp", port: 0 }],
      processing: { delay: "1s", releaseStep: "200ms" },
      http: { port: 0 },
    };
    const s = await startServe(dir, config);
    running.push(s);

    // the example policy: a disallowed method is a medium alert
    assert.equal(await alertOn(s, startProgram(9001, "app21", 9), "app21"), "medium");

    // SIGHUP with a changed policy: frames sent after it are judged by it
    writeFileSync(policy, policyText("high"));
    s.child.kill("SIGHUP");
    await until(async () => (await health(s)).ok === 1, 10_000, "the reload");
    assert.match(s.stderr(), /^reload \(sighup\): applied policy$/m);
    assert.equal(await alertOn(s, startProgram(9002, "app22", 11), "app22"), "high");
    // what was stored before the reload stays as it was
    const before = await getJson<AlertList>(s, "/api/alerts");
    assert.equal(before.items.find((a) => a.vm === "app21")?.severity, "medium");

    // a bad policy: the running one is kept, and the failure is reported with its line
    const bad = policyText("high").replace("severity: high", "severity: extreme");
    const badLine = bad.split("\n").findIndex((l) => l.includes("severity: extreme")) + 1;
    writeFileSync(policy, bad);
    s.child.kill("SIGHUP");
    await until(async () => (await health(s)).failed === 1, 10_000, "the failed reload");
    const failed = await health(s);
    assert.equal(failed.ok, 1);
    assert.match(
      failed.lastError ?? "",
      new RegExp(`policy\\.yaml:${badLine}: rules\\.disallowed-method\\.severity: `),
    );
    assert.match(
      s.stderr(),
      new RegExp(
        `^reload \\(sighup\\) failed, keeping the running serve\\.yaml, policy\\.yaml: .*policy\\.yaml:${badLine}: `,
        "m",
      ),
    );
    const metrics = await (await fetch(new URL("/metrics", s.http))).text();
    assert.match(metrics, /^guestops_reloads_total\{result="ok"\} 1$/m);
    assert.match(metrics, /^guestops_reloads_total\{result="failed"\} 1$/m);
    assert.match(metrics, /^guestops_reload_last_failed 1$/m);
    assert.match(metrics, /^guestops_reload_last_success_timestamp_seconds [1-9][\d.]*$/m);
    assert.equal(await alertOn(s, startProgram(9003, "app23", 13), "app23"), "high");

    // watching turned on by a SIGHUP; the policy as it runs again: it is not switched
    const watched = { ...config, watch: true };
    writeFileSync(policy, policyText("high"));
    replaceFile(join(dir, "serve.yaml"), stringify(watched));
    s.child.kill("SIGHUP");
    await until(async () => (await health(s)).ok === 2, 10_000, "watching on");
    assert.match(s.stderr(), /^reload \(sighup\): applied watch$/m);
    assert.equal((await health(s)).lastError, null);

    // a bad file replaced on disk, no signal: seen, refused, and not read again until it changes
    replaceFile(policy, bad);
    await until(async () => (await health(s)).failed === 2, 10_000, "the bad file refused");
    assert.match(s.stderr(), /^reload \(file\) failed, keeping the running /m);
    // a good one replaced on disk, no signal: applied
    replaceFile(policy, policyText("low"));
    await until(async () => (await health(s)).ok === 3, 10_000, "the reload on a file change");
    assert.match(s.stderr(), /^reload \(file\): applied policy$/m);
    assert.equal((await health(s)).failed, 2);
    assert.equal(await alertOn(s, startProgram(9004, "app24", 15), "app24"), "low");

    // the configuration: a new output applied live; a changed delay needs a restart
    const out = join(dir, "alerts.ndjson");
    replaceFile(
      join(dir, "serve.yaml"),
      stringify({
        ...watched,
        processing: { ...config.processing, delay: "2s" },
        outputs: [{ type: "ndjson", path: "alerts.ndjson" }],
      }),
    );
    await until(async () => (await health(s)).ok === 4, 10_000, "the configuration reload");
    assert.match(
      s.stderr(),
      /^reload \(file\): applied outputs; needs a restart: processing\.delay$/m,
    );
    assert.deepEqual((await health(s)).restartNeeded, ["processing.delay"]);
    // the new output delivers the event log from its beginning
    await until(
      () => {
        try {
          return readFileSync(out, "utf8").includes('"vm":"app24"');
        } catch {
          return false;
        }
      },
      10_000,
      "the new output",
    );

    // a new allowlist applies to the connections that follow
    replaceFile(
      join(dir, "serve.yaml"),
      stringify({
        ...watched,
        processing: { ...config.processing, delay: "2s" },
        outputs: [{ type: "ndjson", path: "alerts.ndjson" }],
        allow: ["10.0.0.0/8"],
      }),
    );
    await until(async () => (await health(s)).ok === 5, 10_000, "the allowlist reload");
    assert.match(
      s.stderr(),
      /^reload \(file\): applied allow; needs a restart: processing\.delay$/m,
    );
    const received = (await getJson<Health>(s, "/api/health")).counters.received["tcp"];
    // the connection is closed as soon as it is accepted (a reset, for the sender)
    await sendStream(
      s.ports.get("tcp") ?? 0,
      framed([startProgram(9005, "app25", 17)], false),
    ).catch(() => undefined);
    await until(
      async () => (await getJson<Health>(s, "/api/health")).counters.dropped["not-allowed"] === 1,
      10_000,
      "the refused connection",
    );
    assert.equal((await getJson<Health>(s, "/api/health")).counters.received["tcp"], received);
    assert.equal(await s.stop(), 0);
  });

  it("serves a renewed TLS certificate after SIGHUP", async (t) => {
    if (spawnSync("openssl", ["version"]).status !== 0) {
      t.skip("openssl not found");
      return;
    }
    const p = (n: string): string => join(dir, n);
    const run = (args: string[]): void => void execFileSync("openssl", args, { stdio: "ignore" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    writeFileSync(p("srv.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    for (const name of ["old", "new"]) {
      run([
        "req", "-x509", ...ec, "-keyout", p(`${name}-ca.key`), "-out", p(`${name}-ca.pem`),
        "-days", "2", "-subj", `/CN=guestops test ${name} ca`,
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
      ]); // prettier-ignore
      run(["req", ...ec, "-keyout", p(`${name}.key`), "-out", p(`${name}.csr`), "-subj", "/CN=localhost"]); // prettier-ignore
      run([
        "x509", "-req", "-in", p(`${name}.csr`), "-CA", p(`${name}-ca.pem`),
        "-CAkey", p(`${name}-ca.key`), "-CAcreateserial", "-out", p(`${name}.pem`),
        "-days", "2", "-extfile", p("srv.ext"),
      ]); // prettier-ignore
    }
    writeFileSync(p("tls.pem"), readFileSync(p("old.pem")));
    writeFileSync(p("tls.key"), readFileSync(p("old.key")));
    const s = await startServe(
      dir,
      {
        store: p("tls.db"),
        watch: false,
        listeners: [{ name: "tls", protocol: "tls", port: 0, cert: "tls.pem", key: "tls.key" }],
        http: { port: 0 },
      },
      "tls.yaml",
    );
    running.push(s);
    const port = s.ports.get("tls") ?? 0;
    const send = (ca: string): Promise<void> =>
      sendStream(port, framed(["<14>1 - - - - - - x"], true), { ca: readFileSync(p(ca)) });
    await send("old-ca.pem");
    await assert.rejects(send("new-ca.pem"));
    // the renewed pair at the same paths: a half-written pair is refused, the old one kept
    writeFileSync(p("tls.pem"), readFileSync(p("new.pem")));
    s.child.kill("SIGHUP");
    await until(async () => (await health(s)).failed === 1, 10_000, "the refused pair");
    await send("old-ca.pem");
    writeFileSync(p("tls.key"), readFileSync(p("new.key")));
    s.child.kill("SIGHUP");
    await until(async () => (await health(s)).ok >= 1, 10_000, "the renewal");
    assert.match(s.stderr(), /^reload \(sighup\): applied tls$/m);
    await send("new-ca.pem");
    await assert.rejects(send("old-ca.pem"));
    assert.equal(await s.stop(), 0);
  });
});
