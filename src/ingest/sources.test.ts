import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isGuestOpsError } from "../shared/errors.js";
import { expandPaths, type SkippedEntry } from "./sources.js";

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

  it("counts dangling links inside a directory as skipped, with their kind", async () => {
    const d = tree();
    symlinkSync(join(d, "missing"), join(d, "logs", "dangling"));
    const skipped: SkippedEntry[] = [];
    const entries = await expandPaths(["logs"], d, (e) => skipped.push(e));
    assert.equal(entries.length, 4);
    assert.deepEqual(skipped, [{ path: join("logs", "dangling"), kind: "dangling-link" }]);
  });

  it("walks a DAG of links once per real directory and file", async () => {
    // level i holds a file and two links to level i+1: 2^20 paths lead to the last level
    const d = mkdtempSync(join(tmpdir(), "guestops-dag-"));
    const depth = 20;
    for (let i = 0; i <= depth; i++) {
      mkdirSync(join(d, `l${i}`));
      writeFileSync(join(d, `l${i}`, "hostd.log"), "x");
    }
    for (let i = 0; i < depth; i++) {
      symlinkSync(join(d, `l${i + 1}`), join(d, `l${i}`, "a"));
      symlinkSync(join(d, `l${i + 1}`), join(d, `l${i}`, "b"));
    }
    const entries = await expandPaths(["l0"], d);
    assert.equal(entries.length, depth + 1);
    assert.ok(entries.some((e) => e.path === join("l0", "hostd.log")));
    assert.ok(
      entries.some((e) => e.path === join("l0", "a", "hostd.log")),
      "first path found",
    );
    assert.equal(new Set(entries.map((e) => e.absolute)).size, depth + 1);
  });

  it("reads a hard-linked file once", async () => {
    const d = tree();
    linkSync(join(d, "logs", "Z.log"), join(d, "logs", "b", "Z-again.log"));
    const entries = await expandPaths(["logs"], d);
    assert.equal(entries.length, 4);
  });

  it("counts FIFOs and sockets inside a directory as skipped, with their kind", async (t) => {
    if (process.platform === "win32") return t.skip("no FIFOs or Unix sockets");
    const d = tree();
    execFileSync("mkfifo", [join(d, "logs", "a", "pipe")]);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(d, "logs", "sock"), resolve));
    try {
      const skipped: SkippedEntry[] = [];
      const entries = await expandPaths(["logs"], d, (e) => skipped.push(e));
      assert.equal(entries.length, 4, "nothing is opened (a FIFO would block)");
      assert.deepEqual(skipped, [
        { path: join("logs", "a", "pipe"), kind: "fifo" },
        { path: join("logs", "sock"), kind: "socket" },
      ]);
    } finally {
      server.close();
    }
  });
});
