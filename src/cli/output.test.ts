import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, describe, it } from "node:test";
import { fakeIo } from "../../test/helpers/cli.js";
import { run } from "./run.js";

/** Runs the CLI with a real stdout stream and returns what reached it. */
async function streamed(args: readonly string[]): Promise<string> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on("data", (c: Buffer) => chunks.push(c));
  const { io } = fakeIo();
  const code = await run(args, { ...io, stdoutStream: stream });
  assert.equal(code, 0);
  return Buffer.concat(chunks).toString("utf8");
}

/** What the process's stdout got before streaming: each `io.stdout` text and a newline. */
async function gathered(args: readonly string[]): Promise<string> {
  const { io, out } = fakeIo();
  assert.equal(await run(args, io), 0);
  return out.map((t) => `${t}\n`).join("");
}

describe("record-by-record output", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-output-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const policy = ["--policy", "examples/policy.yaml"];

  for (const format of ["table", "ndjson", "json", "csv"]) {
    it(`events and scan --format ${format}: stdout stream, gathered stdout and --out agree`, async () => {
      for (const [command, extra] of [
        ["events", []],
        ["scan", policy],
      ] as const) {
        const args = [command, "examples/logs", ...extra, "--format", format];
        const viaStream = await streamed(args);
        assert.ok(viaStream.length > 1000, `${command} wrote its records`);
        assert.equal(viaStream, await gathered(args));
        const file = join(dir, `${command}.${format}`);
        await streamed([...args, "--out", file]);
        assert.equal(readFileSync(file, "utf8"), viaStream);
      }
    });
  }

  it("an --out that cannot be opened is an output error (exit 2), nothing written", async () => {
    const { io, err } = fakeIo();
    const code = await run(
      ["events", "examples/logs", "--out", join(dir, "missing", "x.ndjson")],
      io,
    );
    assert.equal(code, 2);
    assert.match(err.join("\n"), /ERR_OUTPUT: cannot write .*ENOENT/);
  });
});
