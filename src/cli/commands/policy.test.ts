import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { run } from "../run.js";
import { fakeIo } from "../../../test/helpers/cli.js";

const SITE_POLICY = fileURLToPath(new URL("../../../examples/policies/site.yaml", import.meta.url));

describe("guestops policy check", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-policy-cli-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the policy as understood with windows expanded in local time and UTC", async () => {
    const { io, out, err } = fakeIo();
    const code = await run(["policy", "check", SITE_POLICY, "--now", "2026-11-28T12:00:00Z"], io);
    assert.equal(code, 0, err.join("\n"));
    const text = out.join("\n");
    assert.match(text, /: valid$/m);
    assert.match(
      text,
      /^ {2}paris \(default\) {2}zone Europe\/Paris {2}now Sat 2026-11-28 13:00 UTC\+01:00$/m,
    );
    assert.match(text, /^ {2}CORP\\svc-veeam {2}backup {2}\(matches corp\\svc-veeam\)$/m);
    assert.match(text, /^ {2}critical: dc\*, pki-\*, vault\*$/m);
    assert.match(
      text,
      /vCenter addresses: 127\.0\.0\.0\/8 \(loopback\), ::1\/128 \(loopback\), 10\.10\.0\.10, 10\.20\.0\.10/,
    );
    assert.match(
      text,
      /^ {4}Sat 2026-11-28 22:00 – Sun 2026-11-29 03:00 Europe\/Paris {2}\[2026-11-28T21:00Z – 2026-11-29T02:00Z\]$/m,
    );
    // 14 days by default: the patch night of 12 December is outside, that of 5 December inside.
    assert.match(text, /Sat 2026-12-05 22:00 – Sun 2026-12-06 03:00 Europe\/Paris/);
    assert.doesNotMatch(text, /Sat 2026-12-12 22:00/);
  });

  it("expands further with --days", async () => {
    const { io, out } = fakeIo();
    const code = await run(
      ["policy", "check", SITE_POLICY, "--now", "2026-11-28T12:00:00Z", "--days", "30"],
      io,
    );
    assert.equal(code, 0);
    assert.match(out.join("\n"), /Sat 2026-12-12 22:00/);
    // the EXDATE of 26 December stays out
    assert.doesNotMatch(out.join("\n"), /Sat 2026-12-26 22:00/);
  });

  it("exits 2 with line:field messages for an invalid policy", async () => {
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "sites:\n  - name: x\n    zone: Europe/Nowhere\n    colour: red\n");
    const { io, out, err } = fakeIo();
    const code = await run(["policy", "check", file], io);
    assert.equal(code, 2);
    assert.deepEqual(out, []);
    const text = err.join("\n");
    assert.match(text, /ERR_POLICY_INVALID/);
    assert.ok(text.includes(`${file}:3: sites[0].zone: expected an IANA time zone`), text);
    assert.ok(text.includes(`${file}:4: sites[0].colour: unknown key "colour"`), text);
  });

  it("exits 2 for a missing file and for bad options", async () => {
    assert.equal(await run(["policy", "check", join(dir, "none.yaml")], fakeIo().io), 2);
    assert.equal(await run(["policy", "check", SITE_POLICY, "--days", "x"], fakeIo().io), 2);
    assert.equal(await run(["policy", "check", SITE_POLICY, "--now", "yesterday"], fakeIo().io), 2);
  });

  it("escapes hostile names when printing", async () => {
    const file = join(dir, "hostile.yaml");
    writeFileSync(
      file,
      'sites:\n  - name: "p\\u202eris"\n    zone: UTC\naccounts:\n  - name: "CORP\\\\a\\u200bb"\n    role: admin\n',
    );
    const { io, out, err } = fakeIo();
    assert.equal(
      await run(["policy", "check", file, "--now", "2026-01-01T00:00:00Z"], io),
      0,
      err.join("\n"),
    );
    const text = out.join("\n");
    assert.ok(!text.includes("\u202e") && !text.includes("\u200b"), text);
  });
});
