/**
 * The `guestops serve` dashboard in headless Chromium (playwright-core): an alert appears within
 * 2 s of the last line that raises it; after a server restart the page's event stream resumes from
 * `Last-Event-ID` with no gap and no repeat; nothing is requested from another origin and no script
 * fails. Without Chromium the test skips locally and fails in CI (CI set).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import BetterSqlite3 from "better-sqlite3";
import { framed, sendStream, startServe, until, type Served } from "../helpers/serve.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "guestops-serve-ui-"));
const running: Served[] = [];
after(async () => {
  for (const s of running) if (s.child.exitCode === null) await s.kill();
  rmSync(dir, { recursive: true, force: true });
});

function chromiumPath(): string | undefined {
  const candidates = [
    process.env["CHROMIUM_PATH"],
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
  ];
  return candidates.find((p): p is string => p !== undefined && p !== "" && existsSync(p));
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

/** The example syslog lines in time order. */
function exampleLines(): string[] {
  const lines: string[] = [];
  for (const f of ["esxi-hosts.log", "vcsa01-events.log"]) {
    const text = readFileSync(join(ROOT, "examples/logs/syslog", f), "utf8");
    for (const l of text.split("\n")) if (l !== "") lines.push(l);
  }
  return lines.sort((a, b) => timeOf(a) - timeOf(b));
}
const timeOf = (l: string): number => {
  const m = /\d{4}-\d\d-\d\dT[\d:.]+/.exec(l);
  return m ? Date.parse(m[0].endsWith("Z") ? m[0] : `${m[0]}Z`) : 0;
};

describe("the serve dashboard in headless Chromium", { timeout: 120_000 }, () => {
  it("shows a new alert within 2 s and resumes after a restart without gap or repeat", async (t) => {
    const executable = chromiumPath();
    if (executable === undefined) {
      if (process.env["CI"]) assert.fail("chromium is not installed (apt-get install -y chromium)");
      t.skip("chromium not found: browser test skipped");
      return;
    }
    const db = join(dir, "ui.db");
    const [syslogPort, httpPort] = [await freePort(), await freePort()];
    const config = {
      store: db,
      policy: join(ROOT, "examples/policy.yaml"),
      listeners: [{ name: "tcp", protocol: "tcp", port: syslogPort }],
      processing: { delay: "500ms", releaseStep: "100ms" },
      http: { port: httpPort },
    };
    let served = await startServe(dir, config, "ui.yaml");
    running.push(served);
    const lines = exampleLines();
    const cut1 = Date.parse("2026-03-11T15:00:00Z");
    const cut2 = Date.parse("2026-03-13T00:00:00Z");
    const phaseA = lines.filter((l) => timeOf(l) < cut1);
    const phaseB = lines.filter((l) => timeOf(l) >= cut1 && timeOf(l) < cut2);
    const phaseC = lines.filter((l) => timeOf(l) >= cut2);

    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: executable,
      args: ["--no-sandbox", "--disable-gpu"],
    });
    try {
      const page = await browser.newPage();
      const origin = new URL(served.http).origin;
      const foreign: string[] = [];
      const problems: string[] = [];
      page.on("request", (r) => {
        if (new URL(r.url()).origin !== origin) foreign.push(r.url());
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("console", (m) => {
        // the event stream's failed reconnects while the server is down are expected
        if (
          m.type() === "error" &&
          !/ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_INCOMPLETE_CHUNKED/.test(m.text())
        )
          problems.push(`console: ${m.text()}`);
      });
      await page.goto(served.http, { waitUntil: "load" });
      await page.locator("#status", { hasText: "live" }).waitFor({ timeout: 10_000 });
      const rows = () => page.locator("#alerts tbody tr").count();

      await sendStream(syslogPort, framed(phaseA, false));
      await page.locator("#alerts tbody tr").first().waitFor({ timeout: 10_000 });
      // more lines (an alert whose rule window closes with later lines), then a restart: the
      // page reconnects by itself and resumes after the last event it saw
      await sendStream(syslogPort, framed(phaseB, false));
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(await served.stop(), 0);
      await page.locator("#status", { hasText: "reconnecting" }).waitFor({ timeout: 10_000 });
      served = await startServe(dir, config, "ui.yaml");
      running.push(served);
      await page.locator("#status", { hasText: "live" }).waitFor({ timeout: 10_000 });
      // the critical alert's lines: it must be on the page within 2 s of the last one
      const before = await page.locator("#alerts tbody td.sev-critical").count();
      await sendStream(syslogPort, framed(phaseC, false));
      const sentAt = Date.now();
      await page.locator("#alerts tbody td.sev-critical").nth(before).waitFor({ timeout: 5_000 });
      const latency = Date.now() - sentAt;
      t.diagnostic(`alert on the page ${latency} ms after its last line was sent`);
      assert.ok(latency < 2000, `alert shown after ${latency} ms`);
      const d = new BetterSqlite3(db, { readonly: true });
      const allIds = (): number[] =>
        (d.prepare(`SELECT id FROM serve_events ORDER BY id`).all() as { id: number }[]).map(
          (r) => r.id,
        );
      await until(
        async () => {
          const events = (await page.locator("body").getAttribute("data-events")) ?? "";
          const ids = allIds();
          return ids.length > 0 && events === ids.join(" ") && (await rows()) >= 3;
        },
        15_000,
        "every event on the page, in order, once",
      );
      d.close();
      const critical = await page.locator("#alerts tbody td.sev-critical").count();
      assert.equal(critical, 1);
      // log strings are text: the title cells hold no elements
      assert.equal(await page.locator("#alerts tbody td:nth-child(2) *").count(), 0);
      assert.deepEqual(foreign, []);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
    assert.equal(await served.stop(), 0);
  });
});
