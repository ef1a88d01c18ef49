import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fakeIo } from "../../test/helpers/cli.js";
import { hasTerminalUnsafe } from "../report/escape.js";
import { run } from "./run.js";

/** A C1 control sequence introducer, a right-to-left override and an escape character. */
const HOSTILE = "x\u009b2J\u202eevil\u001b]0;t\u0007";

const assertEscaped = (err: readonly string[]): string => {
  const text = err.join("\n");
  for (const line of text.split("\n")) {
    assert.equal(hasTerminalUnsafe(line), false, `no raw control or bidi character: ${line}`);
  }
  return text;
};

describe("error messages on stderr", () => {
  it("escape a missing path the way every other output does", async () => {
    const d = mkdtempSync(join(tmpdir(), "guestops-err-"));
    const { io, err } = fakeIo(d);
    assert.equal(await run(["inspect", `${HOSTILE}.log`], io), 2);
    const text = assertEscaped(err);
    assert.match(text, /ERR_INPUT_MISSING/);
    assert.ok(text.includes("x\\x9B2J\\u{202E}evil\\u001b]0;t\\u0007.log"), text);
    assert.match(text, /\n {2}hint: /, "the message's own line break is kept");
  });

  it("escape a policy path and the values a policy holds", async () => {
    const d = mkdtempSync(join(tmpdir(), "guestops-err-"));
    const missing = fakeIo(d);
    assert.equal(await run(["policy", "check", `${HOSTILE}.yaml`], missing.io), 2);
    assert.ok(assertEscaped(missing.err).includes("\\u{202E}"));
    writeFileSync(
      join(d, "p.yaml"),
      `version: 1\nsites:\n  - name: "${HOSTILE}"\n    zone: "Eu\u202ero/Paris"\n`,
    );
    const invalid = fakeIo(d);
    assert.equal(await run(["policy", "check", join(d, "p.yaml")], invalid.io), 2);
    const text = assertEscaped(invalid.err);
    assert.match(text, /ERR_POLICY_INVALID/);
    assert.ok(text.split("\n").length > 2, "one problem per line, as before");
  });

  it("escape an argument commander rejects", async () => {
    const { io, err } = fakeIo();
    assert.equal(await run(["inspect", `--${HOSTILE}`], io), 2);
    assert.match(assertEscaped(err), /unknown option '--x\\x9B2J\\u\{202E\}evil/);
  });
});
