/**
 * An exception made in the `serve` dashboard, in headless Chromium: an analyst opens an alert,
 * fills in owner, ticket, expiry and reason, and the exception is listed (the text as typed, never
 * as markup); the same activity sent again afterwards is not raised but shown as excepted with the
 * exception's ticket and owner. Without Chromium the test skips locally and fails in CI (CI set).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { framed, sendStream, startServe, type Served } from "../helpers/serve.js";

const ROOT = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "guestops-serve-exceptions-ui-"));
const running: Served[] = [];
after(async () => {
  for (const s of running) if (s.child.exitCode === null) await s.kill();
  rmSync(dir, { recursive: true, force: true });
});

const chromiumPath = (): string | undefined =>
  [process.env["CHROMIUM_PATH"], "/usr/bin/chromium", "/usr/bin/chromium-browser"].find(
    (p): p is string => p !== undefined && p !== "" && existsSync(p),
  );

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

const timeOf = (l: string): number => {
  const m = /\d{4}-\d\d-\d\dT[\d:.]+/.exec(l);
  return m ? Date.parse(m[0].endsWith("Z") ? m[0] : `${m[0]}Z`) : 0;
};
const LINES = ["esxi-hosts.log", "vcsa01-events.log"]
  .flatMap((f) => readFileSync(join(ROOT, "examples/logs/syslog", f), "utf8").split("\n"))
  .filter((l) => l !== "")
  .sort((a, b) => timeOf(a) - timeOf(b));

describe("exceptions in the serve dashboard", { timeout: 120_000 }, () => {
  it("an analyst makes one from an alert; the repeat shows as excepted", async (t) => {
    const executable = chromiumPath();
    if (executable === undefined) {
      if (process.env["CI"]) assert.fail("chromium is not installed (apt-get install -y chromium)");
      t.skip("chromium not found: browser test skipped");
      return;
    }
    const [syslogPort, httpPort] = [await freePort(), await freePort()];
    const served = await startServe(
      dir,
      {
        store: join(dir, "ui.db"),
        policy: join(ROOT, "examples/policy.yaml"),
        listeners: [{ name: "tcp", protocol: "tcp", port: syslogPort }],
        processing: { delay: "500ms", releaseStep: "100ms" },
        http: { port: httpPort },
      },
      "ui.yaml",
    );
    running.push(served);
    const early = LINES.filter((l) => timeOf(l) < Date.parse("2026-03-11T14:00:00Z"));
    // svc-aria's program start on app01 again, four hours later (new event numbers)
    const again = LINES.filter((l) => /2026-03-11T13:00/.test(l)).map((l) =>
      l
        .replaceAll("2026-03-11T13:00", "2026-03-11T17:00")
        .replace(/\[882(\d\d)\]/g, "[892$1]")
        .replace("Event 1019 ", "Event 1519 "),
    );
    // a later line moves stream time past the grouping gap so the repeat's cluster closes
    const later = LINES.filter((l) => timeOf(l) >= Date.parse("2026-03-11T18:00:00Z"));

    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: executable,
      args: ["--no-sandbox", "--disable-gpu"],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console: ${m.text()}`);
      });
      await page.goto(served.http, { waitUntil: "load" });
      await page.locator("#status", { hasText: "live" }).waitFor({ timeout: 10_000 });
      await sendStream(syslogPort, framed(early, false));
      const row = page.locator("#alerts tbody tr", { hasText: "svc-aria" });
      await row.first().waitFor({ timeout: 10_000 });
      await row.first().getByRole("button", { name: "Open" }).click();
      await page.locator("#exception-form").waitFor({ state: "visible" });
      const ticket = "CHG-77 <img src=x onerror=alert(1)>";
      await page.fill("#ex-owner", "dana");
      await page.fill("#ex-ticket", ticket);
      await page.fill("#ex-expires", "2027-01-01");
      await page.fill("#ex-reason", "Aria's process check");
      await page.click("#exception-form button[type=submit]");
      await page.locator("#exception-result", { hasText: "made ex-1" }).waitFor({ timeout: 5_000 });
      const listed = page.locator("#exceptions tbody tr[data-id='ex-1']");
      await listed.waitFor({ timeout: 5_000 });
      assert.equal(await listed.locator("td").nth(1).textContent(), ticket);
      assert.equal(await listed.locator("td *").count(), 1, "only the Revoke button is markup");

      await sendStream(syslogPort, framed([...again, ...later], false));
      // the list refreshes every 10 s
      await page
        .locator("#excepted tbody tr", { hasText: "svc-aria" })
        .waitFor({ timeout: 25_000 });
      assert.equal(await page.locator("#excepted-total").textContent(), "(1)");
      assert.match(
        (await page.locator("#excepted tbody tr td").nth(3).textContent()) ?? "",
        /CHG-77 <img src=x onerror=alert\(1\)> \(dana\)/,
      );
      assert.equal(await row.count(), 1, "the repeat is not among the alerts");
      assert.equal(await page.locator("#excepted tbody td *").count(), 0);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
    assert.equal(await served.stop(), 0);
  });
});
