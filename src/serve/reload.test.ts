import assert from "node:assert/strict";
import {
  copyFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { GuestOpsError } from "../shared/errors.js";
import { validateServeConfig } from "./config.js";
import { Counters } from "./counters.js";
import { loadPolicyFiles, planReload, Reloader, reloadError } from "./reload.js";

const EXAMPLES = new URL("../../examples/policies", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "guestops-reload-unit-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const config = (doc: object): ReturnType<typeof validateServeConfig> =>
  validateServeConfig(
    { listeners: [{ name: "tcp", protocol: "tcp", port: 1514 }], ...doc },
    "/etc",
  );

describe("serve reload", () => {
  it("applies the policy, the allowlist and the outputs live; names what needs a restart", () => {
    const running = config({ policy: "p.yaml" });
    assert.deepEqual(planReload(running, config({ policy: "p.yaml" })), { live: [], restart: [] });
    const next = config({
      policy: "q.yaml",
      allow: ["10.0.0.0/8"],
      outputs: [{ type: "ndjson", path: "a.ndjson" }],
      listeners: [{ name: "tcp", protocol: "tcp", port: 1515 }],
      processing: { delay: "5s" },
      http: { port: 9000 },
      store: "other.db",
    });
    assert.deepEqual(planReload(running, next), {
      live: ["policy", "allow", "outputs"],
      restart: ["store", "listeners[0].port", "processing.delay", "http.port"],
    });
    assert.deepEqual(planReload(running, next, { ignoreStore: true }).restart, [
      "listeners[0].port",
      "processing.delay",
      "http.port",
    ]);
    const two = config({
      listeners: [
        { protocol: "tcp", port: 1514 },
        { protocol: "udp", port: 1514 },
      ],
    });
    assert.deepEqual(planReload(running, two).restart, ["listeners"]);
    assert.deepEqual(planReload(running, config({ policy: "p.yaml", watch: false })).live, [
      "watch",
    ]);
  });

  it("tells a bad file in one line: the first problem with its line, and how many more", () => {
    const error = new GuestOpsError(
      "ERR_POLICY_INVALID",
      "invalid policy p.yaml (2 problems):\n  p.yaml:3: rules.x: unknown rule\n  p.yaml:9: sites: bad",
    );
    assert.equal(reloadError(error), "p.yaml:3: rules.x: unknown rule (and 1 more)");
    assert.equal(
      reloadError(new Error("cannot read p.yaml (ENOENT)")),
      "cannot read p.yaml (ENOENT)",
    );
  });

  it("fingerprints the policy with the calendars it includes", () => {
    const policy = join(dir, "site.yaml");
    const ics = join(dir, "changes.ics");
    copyFileSync(join(EXAMPLES, "site.yaml"), policy);
    const calendar = readFileSync(join(EXAMPLES, "changes.ics"), "utf8");
    writeFileSync(ics, calendar);
    const first = loadPolicyFiles(policy);
    assert.deepEqual(first.files, [policy, ics]);
    assert.equal(loadPolicyFiles(policy).fingerprint, first.fingerprint);
    writeFileSync(ics, calendar.replace(/SUMMARY:/, "SUMMARY:renamed "));
    assert.notEqual(loadPolicyFiles(policy).fingerprint, first.fingerprint);
    assert.equal(loadPolicyFiles(undefined).fingerprint, "");
  });

  it("reloads on a replaced file among a busy folder's writes, not on a touch", async () => {
    const policy = join(dir, "watched.yaml");
    const noise = join(dir, "store.db-wal");
    const text = readFileSync(join(EXAMPLES, "..", "policy.yaml"), "utf8");
    writeFileSync(policy, text);
    const taken: unknown[] = [];
    const lines: string[] = [];
    const counters = new Counters();
    const running = config({ policy });
    const reloader = new Reloader(running, loadPolicyFiles(policy), {
      configFile: undefined,
      loadConfig: () => running,
      ignoreStore: false,
      counters,
      log: (line) => lines.push(line),
      setPolicy: (p) => taken.push(p),
      setAllow: () => undefined,
      setOutputs: () => Promise.resolve(),
      tlsRenewal: () => ({ count: 0, apply: () => undefined }),
    });
    reloader.watch();
    // a neighbour written every 20 ms (a store's journal) must not hold the check off
    let n = 0;
    const busy = setInterval(() => writeFileSync(noise, String(n++)), 20);
    const wait = async (ok: () => boolean, ms: number): Promise<boolean> => {
      const end = Date.now() + ms;
      while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      return ok();
    };
    try {
      writeFileSync(policy, text); // the same content: nothing to do
      assert.equal(await wait(() => counters.reload.ok > 0, 1000), false);
      writeFileSync(`${policy}.new`, text.replace("gap: 30m", "gap: 10m"));
      renameSync(`${policy}.new`, policy);
      assert.ok(await wait(() => counters.reload.ok === 1, 5000), "reloaded");
      assert.equal(taken.length, 1);
      assert.deepEqual(lines, ["reload (file): applied policy"]);
    } finally {
      clearInterval(busy);
      await reloader.close();
    }
  });
});
