/**
 * The CLI on a real terminal: `script` (util-linux) gives it a pseudo-terminal of 80 and then 200
 * columns; what it draws is compared with the golden files in test/golden/ (the text as the
 * terminal shows it, colour codes included). stderr goes to a file, so the screen holds the
 * result alone. `UPDATE_GOLDEN=1` rewrites the files after a deliberate change.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const GOLDEN = join(ROOT, "test", "golden");
const SCRIPT = "/usr/bin/script";
const skip = existsSync(SCRIPT) ? false : "util-linux script(1) is not installed";
const dir = mkdtempSync(join(tmpdir(), "guestops-pty-"));

const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/** Runs the CLI on a pseudo-terminal `columns` wide; returns what the terminal received. */
function onTerminal(columns: number, args: readonly string[]): { screen: string; stderr: string } {
  const err = join(dir, `stderr-${columns}.txt`);
  const cli = [process.execPath, "--import", "tsx", join(ROOT, "src", "cli", "main.ts"), ...args]
    .map(quote)
    .join(" ");
  const r = spawnSync(
    SCRIPT,
    ["-qfec", `stty cols ${columns} rows 60; ${cli} 2>${quote(err)}`, "/dev/null"],
    {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        HOME: process.env["HOME"] ?? "/tmp",
        TERM: "xterm-256color",
        TZ: "UTC",
      },
    },
  );
  assert.equal(r.status, 0, `${r.stderr}\n${existsSync(err) ? readFileSync(err, "utf8") : ""}`);
  return { screen: r.stdout.replaceAll("\r\n", "\n"), stderr: readFileSync(err, "utf8") };
}

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (process.env["UPDATE_GOLDEN"] === "1" || !existsSync(file)) writeFileSync(file, actual);
  assert.equal(actual, readFileSync(file, "utf8"), `differs from test/golden/${name}`);
}

const visibleWidth = (line: string): number =>
  // eslint-disable-next-line no-control-regex -- stripping SGR colour codes to measure
  Array.from(line.replace(/\u001b\[[0-9;]*m/g, "")).length;

const SCAN = ["scan", "examples/logs", "--policy", "examples/policy.yaml"];
const EVENTS = ["events", "examples/logs"];

describe("on a pseudo-terminal", { skip }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const columns of [80, 200]) {
    it(`scan at ${columns} columns: severity first, coloured, fitted`, () => {
      const { screen, stderr } = onTerminal(columns, SCAN);
      golden(`scan-${columns}.txt`, screen);
      for (const line of screen.split("\n")) {
        assert.ok(visibleWidth(line) <= columns, `fits ${columns} columns: ${line}`);
      }
      assert.ok(screen.includes("\u001b[1;31mCRITICAL"), "critical in bold red on a terminal");
      assert.ok(screen.indexOf("CRITICAL") < screen.indexOf("MEDIUM"), "most severe first");
      assert.match(screen, /raised from high to\s+critical/);
      assert.match(stderr, /^guestops \d+\.\d+\.\d+ scan/);
      assert.doesNotMatch(stderr, /wrote the table format/, "a terminal shows which format it is");
    });

    it(`events at ${columns} columns: important columns kept, values cut with …`, () => {
      const { screen } = onTerminal(columns, EVENTS);
      golden(`events-${columns}.txt`, screen);
      const lines = screen.split("\n").filter((l) => l !== "");
      for (const line of lines) {
        assert.ok(visibleWidth(line) <= columns, `fits ${columns} columns: ${line}`);
      }
      assert.match(lines[0] ?? "", /TIME \(UTC\).*METHOD.*PRINCIPAL/);
      assert.match(screen, /auth failure/);
      if (columns === 200) assert.match(screen, /via direct/);
      if (columns === 80)
        assert.match(screen, /left out to fit 80 columns: [^]*--wide shows\s+all/);
    });
  }

  it("--wide on a terminal keeps every column, --color never drops the colour", () => {
    const { screen } = onTerminal(80, [...EVENTS, "--wide", "--color", "never"]);
    // eslint-disable-next-line no-control-regex -- asserting there is no escape
    assert.doesNotMatch(screen, /\u001b/);
    assert.match(screen.split("\n")[0] ?? "", /GUEST$/);
    assert.ok(screen.split("\n").some((l) => Array.from(l).length > 80));
  });
});
