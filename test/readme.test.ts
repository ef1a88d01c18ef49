/**
 * Every `guestops` line of the README's "Examples" block runs as documented (exit 0, or 1 for the
 * `--fail-on` example), in a scratch copy of the working folder so that `-o` files land there.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { run } from "../src/cli/run.js";
import { fakeIo } from "./helpers/cli.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** The `guestops …` lines of the first sh block after `### Examples`. */
function examples(): string[][] {
  const section = README.slice(README.indexOf("### Examples"));
  const block = /```sh\n([^]*?)```/.exec(section)?.[1] ?? "";
  return block
    .split("\n")
    .filter((l) => l.startsWith("guestops "))
    .map((l) => l.trim().split(/\s+/).slice(1));
}

describe("README examples", () => {
  const dir = mkdtempSync(join(tmpdir(), "guestops-readme-"));
  cpSync(join(ROOT, "examples"), join(dir, "examples"), { recursive: true });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("has examples", () => assert.ok(examples().length >= 8));

  for (const args of examples()) {
    it(`guestops ${args.join(" ")}`, async () => {
      const { io, out, err } = fakeIo(dir);
      const code = await run(args, io);
      const expected = args.includes("--fail-on") ? 1 : 0;
      assert.equal(code, expected, err.join("\n"));
      const out_ = args[args.indexOf("-o") + 1];
      if (args.includes("-o") && out_ !== undefined) {
        assert.ok(existsSync(join(dir, out_)), `${out_} written`);
      } else assert.ok(out.join("").length > 0, "prints a result");
      if (args.includes("-q")) assert.deepEqual(err, []);
    });
  }
});
