import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isGuestOpsError } from "../shared/errors.js";
import { expandPaths } from "./sources.js";

const tree = (): string => {
  const d = mkdtempSync(join(tmpdir(), "guestops-sources-"));
  mkdirSync(join(d, "logs", "b"), { recursive: true });
  mkdirSync(join(d, "logs", "a"));
  writeFileSync(join(d, "logs", "b", "hostd.log"), "x");
  writeFileSync(join(d, "logs", "a", "vpxd.log"), "x");
  writeFileSync(join(d, "logs", "Z.log"), "x");
  writeFileSync(join(d, "logs", "a", "é.log"), "x");
  return d;
};

describe("expandPaths", () => {
  it("walks directories depth-first in code-unit order, relative to cwd", async () => {
    const d = tree();
    const entries = await expandPaths(["logs"], d);
    assert.deepEqual(
      entries.map((e) => e.path),
      [
        join("logs", "Z.log"),
        join("logs", "a", "vpxd.log"),
        join("logs", "a", "é.log"),
        join("logs", "b", "hostd.log"),
      ],
    );
    assert.ok(entries.every((e) => e.kind === "file" && e.size === 1 && e.mtime !== undefined));
  });

  it("reads a file once even when named twice or reached through a link", async () => {
    const d = tree();
    symlinkSync(join(d, "logs", "b"), join(d, "logs", "c-link"));
    symlinkSync(join(d, "logs"), join(d, "logs", "a", "loop")); // a loop back up the tree
    const entries = await expandPaths([join("logs", "b", "hostd.log"), "logs"], d);
    assert.deepEqual(
      entries.map((e) => e.path),
      [
        join("logs", "b", "hostd.log"),
        join("logs", "Z.log"),
        join("logs", "a", "vpxd.log"),
        join("logs", "a", "é.log"),
      ],
    );
  });

  it("keeps - for standard input, once", async () => {
    assert.deepEqual(await expandPaths(["-"]), [{ path: "-", kind: "stdin" }]);
    await assert.rejects(
      expandPaths(["-", "-"]),
      (e) => isGuestOpsError(e) && e.code === "ERR_USAGE",
    );
  });

  it("fails up front on a missing path, with a hint", async () => {
    const d = tree();
    await assert.rejects(expandPaths(["logs", "nope.log"], d), (e) => {
      assert.ok(isGuestOpsError(e));
      assert.equal(e.code, "ERR_INPUT_MISSING");
      assert.match(e.message, /"nope\.log"/);
      assert.ok(e.hint);
      return true;
    });
  });

  it("skips dangling links inside a directory", async () => {
    const d = tree();
    symlinkSync(join(d, "missing"), join(d, "logs", "dangling"));
    const entries = await expandPaths(["logs"], d);
    assert.equal(entries.length, 4);
  });
});
