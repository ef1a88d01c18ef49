import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createProgressDisplay, formatBytes } from "./progress.js";
import type { ReadProgress } from "./read.js";

const at = (bytesRead: number, path = "esx\u001b[2J.tgz"): ReadProgress => ({
  files: 2,
  fileIndex: 0,
  path,
  member: "var/run/log/hostd.log",
  bytesRead,
  totalBytes: 4096,
  records: 3,
});

describe("createProgressDisplay", () => {
  it("stays quiet at first, then redraws one line in place, throttled and escaped", () => {
    let now = 0;
    const lines: string[] = [];
    const display = createProgressDisplay({
      write: (l) => lines.push(l),
      escape: (t) => t.split("\u001b").join("\\x1B"),
      now: () => now,
    });
    display.update(at(100));
    assert.equal(lines.length, 0, "nothing during the first second");
    now = 1500;
    display.update(at(2048));
    now = 1600;
    display.update(at(3000)); // throttled
    now = 2000;
    display.update(at(4096));
    assert.equal(lines.length, 2);
    assert.match(
      lines[0] ?? "",
      /^50% \[1\/2\] 2\.00 KiB\/4\.00 KiB .*3 records {2}esx\\x1B\[2J\.tgz!var\/run\/log\/hostd\.log$/,
    );
    assert.ok(
      lines[1]?.startsWith("\u001b[1A\u001b[2K100% "),
      "the second line replaces the first",
    );
    display.finish("done");
    assert.equal(lines[2], "\u001b[1A\u001b[2Kdone");
  });

  it("with a raw writer: redraws with a carriage return, fits the width, erases itself at the end", () => {
    let now = 0;
    const raw: string[] = [];
    const lines: string[] = [];
    const display = createProgressDisplay({
      write: (l) => lines.push(l),
      raw: (t) => raw.push(t),
      escape: (t) => t,
      now: () => now,
      width: 40,
    });
    now = 1500;
    display.update(at(2048, "a/very/long/path/to/an/esxi/support/bundle.tgz"));
    now = 2000;
    display.update(at(4096));
    assert.equal(raw.length, 2);
    for (const r of raw) {
      assert.ok(r.startsWith("\r\u001b[2K"), "redrawn in place");
      assert.ok(!r.includes("\n"), "no line break: nothing left behind");
      assert.ok(Array.from(r.slice(5)).length <= 40, r);
    }
    assert.match(raw[0] ?? "", /…/, "cut in the middle");
    display.finish("");
    assert.equal(raw.at(-1), "\r\u001b[2K", "erased");
    assert.deepEqual(lines, [], "no closing line for an empty one");
  });

  it("shows a later phase's own line in the same place, under the same throttle", () => {
    let now = 0;
    const lines: string[] = [];
    const display = createProgressDisplay({
      write: (l) => lines.push(l),
      escape: (t) => t,
      now: () => now,
    });
    now = 1500;
    display.update(at(2048));
    now = 1600;
    display.status("attributing 10%"); // throttled: 100 ms after the last line
    now = 2000;
    display.status("attributing 40%");
    assert.equal(lines.length, 2);
    assert.equal(lines[1], "\u001b[1A\u001b[2Kattributing 40%");
  });

  it("prints nothing at the end of a short run", () => {
    const lines: string[] = [];
    const display = createProgressDisplay({
      write: (l) => lines.push(l),
      escape: (t) => t,
      now: () => 0,
    });
    display.update(at(1));
    display.finish("done");
    assert.deepEqual(lines, []);
  });
});

describe("formatBytes", () => {
  it("uses short binary units", () => {
    assert.equal(formatBytes(812), "812 B");
    assert.equal(formatBytes(1536), "1.50 KiB");
    assert.equal(formatBytes(3.5 * 1024 ** 3), "3.50 GiB");
    assert.equal(formatBytes(123 * 1024 ** 2), "123.0 MiB");
  });
});
