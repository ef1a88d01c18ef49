import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, it } from "node:test";
import { HashService, openOuter, READ_BYTES } from "./outer.js";

function pattern(seed: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

describe("HashService", () => {
  for (const large of [false, true]) {
    it(`hashes the released chunks in order, buffers reused (${large ? "worker" : "inline"})`, async () => {
      const hashes = new HashService();
      try {
        for (const input of [1, 2]) {
          const hasher = hashes.hasher(large);
          const reference = createHash("sha256");
          for (let i = 0; i < 20; i++) {
            const target = await hasher.acquire();
            assert.equal(target.length, READ_BYTES);
            const n = 1000 + ((i * 7777 + input) % (READ_BYTES - 1000));
            pattern(i + input * 100, n).copy(target);
            if (i % 7 === 3) {
              hasher.discard(target.subarray(0, n)); // given back unhashed
              continue;
            }
            reference.update(target.subarray(0, n));
            hasher.release(target.subarray(0, n));
          }
          assert.equal(await hasher.digest(), reference.digest("hex"), `input ${input}`);
        }
      } finally {
        await hashes.close();
      }
    });
  }
});

describe("openOuter", () => {
  it("reads a file and standard input as chunks and hashes them", async () => {
    const d = mkdtempSync(join(tmpdir(), "guestops-outer-"));
    const data = pattern(3, 3 * READ_BYTES + 123);
    writeFileSync(join(d, "f"), data);
    const hashes = new HashService();
    try {
      const entries = [
        { path: "f", kind: "file" as const, absolute: join(d, "f"), size: data.length },
        { path: "-", kind: "stdin" as const },
      ];
      for (const entry of entries) {
        let seen = 0;
        const reads: number[] = [];
        const outer = openOuter(
          entry,
          () => Readable.from([data]),
          hashes,
          (n) => reads.push(n),
        );
        const copy = Buffer.alloc(data.length);
        for await (const chunk of outer.chunks) {
          chunk.copy(copy, seen);
          seen += chunk.length;
        }
        assert.equal(seen, data.length);
        assert.ok(copy.equals(data));
        assert.equal(outer.bytesRead(), data.length);
        assert.equal(
          reads.reduce((a, b) => a + b, 0),
          data.length,
        );
        assert.equal(await outer.digest(), createHash("sha256").update(data).digest("hex"));
      }
    } finally {
      await hashes.close();
    }
  });
});
