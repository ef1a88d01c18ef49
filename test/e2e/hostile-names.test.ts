/**
 * A vCenter account name that holds `]`, `] [` or an escape sequence, end to end: the example
 * dataset with one account renamed in its vCenter event stream, through `events` and `scan`.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { run } from "../../src/cli/run.js";
import type { Alert } from "../../src/model/alert.js";
import type { Operation } from "../../src/model/operation.js";
import { hasTerminalUnsafe } from "../../src/report/escape.js";
import { fakeIo } from "../helpers/cli.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const EVENTS = join("syslog", "vcsa01-events.log");

/** The example logs with `[from]` in the event stream's user column written `[to]`. */
function renamed(from: string, to: string): string {
  const d = mkdtempSync(join(tmpdir(), "guestops-names-"));
  cpSync(join(ROOT, "examples", "logs"), d, { recursive: true });
  const text = readFileSync(join(d, EVENTS), "utf8");
  assert.ok(text.includes(`] [${from}] [`), `the stream names ${from}`);
  writeFileSync(join(d, EVENTS), text.replaceAll(`] [${from}] [`, `] [${to}] [`));
  return d;
}

async function operations(dir: string): Promise<Operation[]> {
  const { io, out } = fakeIo(ROOT);
  assert.equal(await run(["events", dir, "--format", "json"], io), 0);
  return (JSON.parse(out.join("\n")) as { operations: Operation[] }).operations;
}

async function alerts(dir: string): Promise<Alert[]> {
  const { io, out } = fakeIo(ROOT);
  const args = ["scan", dir, "--policy", join(ROOT, "examples", "policy.yaml"), "--format", "json"];
  assert.equal(await run(args, io), 0);
  return (JSON.parse(out.join("\n")) as { alerts: Alert[] }).alerts;
}

/** Operations whose own vCenter event names the account (by event, not by session chain). */
const namedByEvent = (ops: readonly Operation[]): Map<string, string | undefined> =>
  new Map(
    ops
      .filter((o) => /^vCenter (?:auth-failure )?event \d+/.test(o.attribution.reason))
      .map((o) => [o.id, o.attribution.principal?.display]),
  );

describe("a vCenter account name with brackets or escape sequences", () => {
  const original = join(ROOT, "examples", "logs");

  for (const name of ["CORP\\al]ice", "CORP\\al[i]ce", "CORP\\al\u001b]0;x\u0007ice\u009b"]) {
    it(`is still the principal of its operations (${JSON.stringify(name)})`, async () => {
      const before = namedByEvent(await operations(original));
      const after = await operations(renamed("CORP\\alice", name));
      const byId = new Map(after.map((o) => [o.id, o]));
      let alice = 0;
      for (const [id, who] of before) {
        const op = byId.get(id);
        if (who !== "CORP\\alice") continue;
        alice++;
        assert.equal(op?.attribution.level, "exact", id);
        assert.equal(op?.attribution.principal?.display, name, id);
      }
      assert.ok(alice >= 4, `alice's operations: ${alice}`);
    });
  }

  it("keeps the alert of an account whose name holds `]`", async () => {
    const principals = (list: readonly Alert[]) => list.map((a) => a.principal.display).sort();
    const before = principals(await alerts(original));
    assert.ok(before.includes("CORP\\jsmith"));
    const after = principals(await alerts(renamed("CORP\\jsmith", "CORP\\js]mith")));
    assert.deepEqual(after, before.map((p) => (p === "CORP\\jsmith" ? "CORP\\js]mith" : p)).sort());
  });

  it("reads VM and target names holding brackets, OSC/CSI sequences and C1 controls", async () => {
    const vm = "app]0 [1\u009b\u001b]0;x\u0007\u001b[31m";
    const d = renamed("CORP\\alice", "CORP\\alice");
    const text = readFileSync(join(d, EVENTS), "utf8")
      .split("\n")
      .map((l) =>
        l.includes("[CORP\\alice] [PAR-DC1]")
          ? l
              .replace("[PAR-DC1]", "[PAR]DC1 \u009d0;t\u009c]")
              .replace("Virtual machine app01.", `Virtual machine ${vm}.`)
          : l,
      )
      .join("\n");
    writeFileSync(join(d, EVENTS), text);
    const ops = (await operations(d)).filter((o) => o.vm.name === vm);
    assert.ok(ops.length >= 4, `operations on the renamed VM: ${ops.length}`);
    for (const op of ops) {
      assert.equal(op.attribution.level, "exact");
      assert.equal(op.attribution.principal?.display, "CORP\\alice");
    }
    const { io, out } = fakeIo(ROOT);
    assert.equal(await run(["events", d], io), 0);
    const table = out.join("\n");
    assert.ok(table.includes("app]0 [1\\x9B\\x1B]0;x"), "shown escaped (and cut to its column)");
    for (const l of table.split("\n")) assert.equal(hasTerminalUnsafe(l), false, "no raw control");
  });

  it("names no one else for operations whose event user cannot be read (`] [` in it)", async () => {
    const before = namedByEvent(await operations(original));
    const after = new Map(
      (await operations(renamed("CORP\\alice", "CORP\\al] [ice"))).map((o) => [o.id, o]),
    );
    let checked = 0;
    for (const [id, who] of before) {
      if (who !== "CORP\\alice") continue;
      checked++;
      const op = after.get(id);
      assert.equal(op?.attribution.level, "unknown", `${id}: not vpxuser (inferred)`);
      assert.equal(op?.attribution.principal, null);
      assert.match(op?.attribution.reason ?? "", /names an account that could not be read/);
    }
    assert.ok(checked >= 4);
  });
});
