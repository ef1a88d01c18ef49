import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { isGuestOpsError } from "../shared/errors.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadServeConfig, tokenRequired, validateServeConfig } from "./config.js";

const fails = (doc: unknown, pattern: RegExp): void =>
  assert.throws(
    () => validateServeConfig(doc, "/base", "serve.yaml"),
    (e: unknown) => isGuestOpsError(e) && e.code === "ERR_USAGE" && pattern.test(e.message),
  );

describe("serve configuration", () => {
  it("fills the defaults: loopback, limits, spool, delay", () => {
    const c = validateServeConfig({ listeners: [{ protocol: "tcp", port: 0 }] }, "/base");
    assert.equal(c.listeners[0]?.address, "127.0.0.1");
    assert.equal(c.limits.maxFrameBytes, 65536);
    assert.equal(c.spool.commitInterval, 50);
    assert.equal(c.processing.delay, 30_000);
    assert.equal(c.http.address, "127.0.0.1");
    assert.equal(tokenRequired(c), false);
  });

  it("names the field of every problem", () => {
    fails({ listeners: [{ protocol: "sctp", port: 1 }] }, /serve\.yaml: listeners\[0\]\.protocol/);
    fails(
      { listeners: [{ protocol: "tcp", port: 70000 }] },
      /listeners\[0\]\.port: expected a port/,
    );
    fails({ listeners: [] }, /at least one listener/);
    fails({ listeners: [{ protocol: "tcp", port: 1, bogus: 1 }] }, /listeners\[0\]/);
    fails({ listeners: [{ protocol: "tcp", port: 1 }], allow: ["10.0.0.0/33"] }, /allow\[0\]/);
    fails(
      { listeners: [{ protocol: "tcp", port: 1 }], processing: { delay: "soon" } },
      /processing\.delay: expected a duration/,
    );
  });

  it("needs cert and key for TLS, and refuses a port used twice", () => {
    fails({ listeners: [{ protocol: "tls", port: 1 }] }, /a tls listener needs cert and key/);
    fails(
      {
        listeners: [
          { protocol: "tcp", port: 1514 },
          { protocol: "tls", port: 1514, cert: "c", key: "k" },
        ],
      },
      /used twice/,
    );
  });

  it("resolves paths against the configuration's directory", () => {
    const c = validateServeConfig(
      {
        store: "g.db",
        listeners: [{ protocol: "tls", port: 0, cert: "c.pem", key: "k.pem" }],
        outputs: [{ type: "ndjson", path: "out/alerts.ndjson" }],
      },
      "/etc/guestops",
    );
    assert.equal(c.store, "/etc/guestops/g.db");
    assert.equal(c.listeners[0]?.cert, "/etc/guestops/c.pem");
    assert.equal(
      c.outputs[0]?.type === "ndjson" && c.outputs[0].path,
      "/etc/guestops/out/alerts.ndjson",
    );
  });

  it("demands tokens when the HTTP side is bound beyond loopback", () => {
    const c = validateServeConfig(
      { listeners: [{ protocol: "udp", port: 0 }], http: { address: "0.0.0.0" } },
      "/",
    );
    assert.equal(tokenRequired(c), true);
  });

  it("gives the file's line of every problem", () => {
    const dir = mkdtempSync(join(tmpdir(), "guestops-serve-config-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "serve.yaml");
    const load = (text: string, pattern: RegExp): void => {
      writeFileSync(file, text);
      assert.throws(
        () => loadServeConfig(file),
        (e: unknown) => isGuestOpsError(e) && pattern.test(e.message),
      );
    };
    load(
      "listeners:\n  - protocol: tcp\n    port: 70000\nprocessing:\n  delay: soon\n",
      /serve\.yaml:3: listeners\[0\]\.port: expected a port[^]*serve\.yaml:5: processing\.delay/,
    );
    load(
      "listeners:\n  - { protocol: tcp, port: 1 }\n  - { protocol: tcp, port: 1 }\n",
      /serve\.yaml:3: listeners\[1\]: tcp:127\.0\.0\.1:1 is used twice/,
    );
    load("listeners:\n  - protocol: tcp\n   port: 1\n", /serve\.yaml:3: YAML: /);
  });
});
