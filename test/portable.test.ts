/**
 * Without WebAssembly (`node --jitless`) the input layer falls back to the portable scanner, the
 * read arena to a plain shared buffer and chunks are copied: the records, line counts and hashes
 * must be the same as on the fast path.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { readInputs } from "../src/ingest/read.js";

const root = join(fileURLToPath(import.meta.url), "..", "..");

/** readInputs over `paths`, as JSON: every record, and per input its counts and hash. */
const SCRIPT = `
const { readInputs } = await import(${JSON.stringify(join(root, "src", "ingest", "read.ts"))});
const records = [];
const s = await readInputs(JSON.parse(process.argv[1]), {}, { record: (r) => records.push(r) });
const inputs = s.inputs.map((i) => [i.source.path, i.source.format, i.lines, i.linesPassed, i.source.sha256]);
process.stdout.write(JSON.stringify({ records, inputs, wasm: typeof WebAssembly }));
`;

function readIn(paths: readonly string[], flags: readonly string[]): string {
  return execFileSync(
    process.execPath,
    [...flags, "--import", "tsx", "--input-type=module", "-e", SCRIPT, JSON.stringify(paths)],
    { cwd: root, maxBuffer: 64 << 20, stdio: ["ignore", "pipe", "ignore"] },
  ).toString();
}

describe("the portable path (no WebAssembly)", () => {
  it("reads the same records, lines and hashes as the fast path", async () => {
    // a file of several read chunks (4 MiB each), so that lines straddle chunk ends
    const event = (n: number): string =>
      `2024-06-04T21:58:00.${String(n % 1000).padStart(3, "0")}Z In(166) Hostd[1050740]: [Originator@6876 sub=Vimsvc.ha-eventmgr] Event ${n} : Guest operation Start Program performed on Virtual machine vm-${n % 7}.`;
    const noise = (n: number): string =>
      `2024-06-04T21:58:00.${String(n % 1000).padStart(3, "0")}Z Db(167) Hostd[1050265]: [Originator@6876 sub=PropertyProvider opID=x-${n}] RecordOp ASSIGN: info, haTask-${n}. Applied change to temp map.`;
    const lines: string[] = [];
    for (let n = 0; lines.length < 90_000; n++) {
      lines.push(n % 997 === 0 ? event(n) : noise(n));
    }
    const file = join(mkdtempSync(join(tmpdir(), "guestops-portable-")), "hostd.log");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const paths = [file, join(root, "examples", "logs")];
    const fast = JSON.parse(readIn(paths, [])) as { records: unknown[]; wasm: string };
    const portable = JSON.parse(readIn(paths, ["--jitless"])) as { wasm: string };
    assert.equal(fast.wasm, "object");
    assert.equal(portable.wasm, "undefined", "--jitless takes WebAssembly away");
    assert.ok(fast.records.length > 300, "the inputs hold records");
    assert.deepEqual(portable, { ...fast, wasm: "undefined" });
    // and the in-process run (the test runner's own) agrees with the child
    let n = 0;
    await readInputs(paths, {}, { record: () => n++ });
    assert.equal(n, fast.records.length);
  });
});
